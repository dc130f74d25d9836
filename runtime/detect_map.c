/* detect_map.c — scoring a detector: decoding a grid output (or per-anchor
 * boxes) into scored boxes, non-maximum suppression over dl_detection
 * records (nms.c's, which the nms op shares), and COCO-style mean average
 * precision.
 *
 * The conventions are pycocotools' (COCOeval with its default parameters)
 * where they matter to the figure: detections are matched greedily by
 * score, each to the unmatched ground-truth box of highest IoU at or above
 * the threshold; precision is made monotone from the right and read at the
 * 101 recalls 0, 0.01, .., 1; a class without ground truth does not count
 * in the mean. What differs: boxes are continuous (no +1 pixel), there are
 * no crowd or area ranges, and the detection limit is dl_detect_decode's
 * top_k per image. tests/parity/detect_map_ref.py is the same written in
 * numpy, and test_rt_detect.c checks both against cases computed by hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"

float dl_box_iou(const float *a, const float *b)
{
    const float w = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), h = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    const float inter = w > 0 && h > 0 ? w * h : 0;
    const float uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return uni > 0 ? inter / uni : 0;
}

int64_t dl_nms(dl_detection *d, int64_t n, float iou)
{
    _Static_assert(sizeof(dl_detection) == 6 * sizeof(float) && sizeof(int) == sizeof(int32_t), "dl_detection's layout");
    if (n <= 0) return 0;
    int64_t *idx = malloc((size_t)(2 * n) * sizeof *idx);
    dl_detection *copy = malloc((size_t)n * sizeof *copy);
    int64_t kept = -1;
    if (!idx || !copy) {
        dl_set_error("nms: out of memory for %lld detections", (long long)n);
        goto done;
    }
    const dl_nms_view v = {d->box, 6, &d->score, 6, (const int32_t *)&d->cls, 6};
    kept = dl_nms_keep(&v, n, iou, -INFINITY, n, idx);
    memcpy(copy, d, (size_t)n * sizeof *d);
    for (int64_t i = 0; i < kept; i++) d[i] = copy[idx[i]];
done:
    free(idx);
    free(copy);
    return kept;
}

int64_t dl_detect_decode(const float *out, int64_t G, int64_t C, int64_t S, float min_score, float nms_iou,
                         int64_t top_k, dl_detection *d)
{
    const int64_t K = 5 + C;
    const float cell = (float)S / (float)G;
    int64_t n = 0;
    for (int64_t r = 0; r < G; r++)
        for (int64_t c = 0; c < G; c++) {
            const float *v = out + (r * G + c) * K;
            int64_t best = 0;
            for (int64_t k = 1; k < C; k++)
                if (v[5 + k] > v[5 + best]) best = k;
            double z = 0;
            for (int64_t k = 0; k < C; k++) z += exp((double)(v[5 + k] - v[5 + best]));
            const float score = (float)(1.0 / (1.0 + exp(-(double)v[0])) / z);
            if (!(score >= min_score)) continue;
            const float cx = ((float)c + v[1]) * cell, cy = ((float)r + v[2]) * cell;
            const float w = fmaxf(v[3], 0) * (float)S, h = fmaxf(v[4], 0) * (float)S;   /* a negative size is none */
            d[n++] = (dl_detection){{cx - 0.5f * w, cy - 0.5f * h, cx + 0.5f * w, cy + 0.5f * h}, score, (int)best};
        }
    n = dl_nms(d, n, nms_iou);
    return n < top_k ? n : top_k;
}

int64_t dl_detect_decode_boxes(const float *out, int64_t A, int64_t C, float min_score, float nms_iou, int64_t top_k,
                               dl_detection *d)
{
    int64_t n = 0;
    for (int64_t a = 0; a < A; a++) {
        const float *v = out + a * (5 + C), *logit = v + 4;
        float top = logit[0];
        for (int64_t k = 1; k <= C; k++) top = fmaxf(top, logit[k]);
        double z = 0;
        for (int64_t k = 0; k <= C; k++) z += exp((double)(logit[k] - top));
        for (int64_t k = 1; k <= C; k++) {
            const float score = (float)(exp((double)(logit[k] - top)) / z);
            if (score >= min_score) d[n++] = (dl_detection){{v[0], v[1], v[2], v[3]}, score, (int)(k - 1)};
        }
    }
    n = dl_nms(d, n, nms_iou);
    return n < top_k ? n : top_k;
}

double dl_average_precision(const dl_detection *dets, const int64_t *img, int64_t n_dets, const float *gt,
                            const int64_t *gt_img, int64_t n_gt, int64_t n_images, float thr)
{
    (void)n_images;
    if (n_gt == 0) return NAN;
    int64_t *order = malloc((size_t)(n_dets + 1) * sizeof *order);
    unsigned char *used = calloc((size_t)n_gt + 1, 1);
    double *prec = malloc((size_t)(n_dets + 1) * sizeof *prec), *rec = malloc((size_t)(n_dets + 1) * sizeof *rec);
    double ap = NAN;
    if (!order || !used || !prec || !rec) {
        dl_set_error("average precision: out of memory");
        goto done;
    }
    /* by score, highest first; ties by index (a stable insertion into place) */
    for (int64_t i = 0; i < n_dets; i++) {
        int64_t j = i;
        while (j > 0 && dets[order[j - 1]].score < dets[i].score) order[j] = order[j - 1], j--;
        order[j] = i;
    }
    int64_t tp = 0;
    for (int64_t i = 0; i < n_dets; i++) {
        const dl_detection *x = &dets[order[i]];
        int64_t best = -1;
        float best_iou = thr;
        for (int64_t g = 0; g < n_gt; g++) {
            if (used[g] || gt_img[g] != img[order[i]]) continue;
            const float u = dl_box_iou(x->box, gt + 4 * g);
            if (u >= best_iou && (best < 0 || u > best_iou)) best = g, best_iou = u;
        }
        if (best >= 0) used[best] = 1, tp++;
        prec[i] = (double)tp / (double)(i + 1);
        rec[i] = (double)tp / (double)n_gt;
    }
    for (int64_t i = n_dets - 1; i > 0; i--)
        if (prec[i] > prec[i - 1]) prec[i - 1] = prec[i];
    double sum = 0;
    int64_t i = 0;
    for (int k = 0; k <= 100; k++) {
        const double r = k / 100.0;
        while (i < n_dets && rec[i] < r) i++;
        if (i < n_dets) sum += prec[i];
    }
    ap = sum / 101.0;
done:
    free(order);
    free(used);
    free(prec);
    free(rec);
    return ap;
}

/* grows an array of items of size sz to hold need; -1 when out of memory */
static int grow(void **p, int64_t *cap, int64_t need, size_t sz)
{
    if (need <= *cap) return 0;
    int64_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * sz);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

int dl_map_add(dl_map_tally *t, const dl_detection *d, int64_t n, const float *boxes, const int32_t *classes,
               const float *mask, int64_t M)
{
    int64_t cap_img = t->cap_dets, cap_gi = t->cap_gt, cap_gc = t->cap_gt;
    if (grow((void **)&t->dets, &t->cap_dets, t->n_dets + n, sizeof *t->dets) ||
        grow((void **)&t->det_img, &cap_img, t->n_dets + n, sizeof *t->det_img) ||
        grow((void **)&t->gt, &t->cap_gt, t->n_gt + M, 4 * sizeof *t->gt) ||
        grow((void **)&t->gt_img, &cap_gi, t->n_gt + M, sizeof *t->gt_img) ||
        grow((void **)&t->gt_cls, &cap_gc, t->n_gt + M, sizeof *t->gt_cls)) {
        dl_set_error("mAP: out of memory");
        return -1;
    }
    for (int64_t i = 0; i < n; i++) t->dets[t->n_dets] = d[i], t->det_img[t->n_dets++] = t->images;
    for (int64_t j = 0; j < M; j++) {
        if (!(mask[j] > 0)) continue;
        memcpy(t->gt + 4 * t->n_gt, boxes + 4 * j, 4 * sizeof *boxes);
        t->gt_img[t->n_gt] = t->images;
        t->gt_cls[t->n_gt++] = classes[j];
    }
    t->images++;
    return 0;
}

void dl_map_result(const dl_map_tally *t, double *map50, double *map50_95)
{
    double s50 = 0, s = 0;
    int classes = 0;
    dl_detection *d = malloc((size_t)(t->n_dets + 1) * sizeof *d);
    int64_t *di = malloc((size_t)(t->n_dets + 1) * sizeof *di), *gi = malloc((size_t)(t->n_gt + 1) * sizeof *gi);
    float *g = malloc((size_t)(t->n_gt + 1) * 4 * sizeof *g);
    *map50 = *map50_95 = NAN;
    if (!d || !di || !gi || !g) goto done;
    for (int64_t c = 0; c < t->C; c++) {
        int64_t nd = 0, ng = 0;
        for (int64_t i = 0; i < t->n_dets; i++)
            if (t->dets[i].cls == c) d[nd] = t->dets[i], di[nd++] = t->det_img[i];
        for (int64_t j = 0; j < t->n_gt; j++)
            if (t->gt_cls[j] == c) memcpy(g + 4 * ng, t->gt + 4 * j, 4 * sizeof *g), gi[ng++] = t->gt_img[j];
        if (ng == 0) continue;
        classes++;
        for (int k = 0; k < 10; k++) {
            const double ap = dl_average_precision(d, di, nd, g, gi, ng, t->images, 0.5f + 0.05f * (float)k);
            s += ap;
            if (k == 0) s50 += ap;
        }
    }
    if (classes) *map50 = s50 / classes, *map50_95 = s / (10.0 * classes);
done:
    free(d);
    free(di);
    free(gi);
    free(g);
}

void dl_map_free(dl_map_tally *t)
{
    free(t->dets);
    free(t->det_img);
    free(t->gt);
    free(t->gt_img);
    free(t->gt_cls);
    memset(t, 0, sizeof *t);
}
