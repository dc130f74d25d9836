/* source_segment.c — images(path, masks = ...) (data_image.c) as a source of
 * named-field batches, image f32[C, H, W] and label i32[H, W] a sample (a
 * class id per pixel, ignore_index where none), and the driver's evaluation
 * of a segmentation model on the test pairs: the mean loss, the pixel
 * accuracy over the pixels whose label is a class, and the mean IoU. The
 * pairs are a table of rows (source_rows.c); the train section's `augment`
 * list transforms each batch the row source copies out, the geometric
 * transforms moving the mask with the image (augment_mask.c: nearest,
 * ignore_index where the image was not). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "augment_internal.h"
#include "step_internal.h"

/* The row source's batch, then each sample transformed: draws from (the
 * source's seed, epoch, sample row), as dl_batcher's, so the same at any
 * thread count. */
static int64_t seg_next(dl_source *s, dl_batch *b)
{
    const int64_t pos = s->rows_pos, n = s->seg_rows_next(s, b);
    const dl_field *x = &b->field[0];
    const int64_t c = x->shape[0], h = x->shape[1], w = x->shape[2];
#pragma omp parallel for schedule(dynamic, 1) if (n * c * h * w > 65536)
    for (int64_t i = 0; i < n; i++) {
        const dl_aug_mask mk = {(int32_t *)b->field[1].data + i * h * w, s->seg_fill, s->seg_mtmp + i * h * w};
        dl_aug_view(s->seg_aug, s->seg_augment, s->rows_seed, s->rows_epoch, s->rows_first + s->rows_order[pos + i], 0,
                    (float *)x->data + i * c * h * w, c, h, w, NULL, 0, s->seg_augment ? &mk : NULL,
                    s->seg_tmp + i * c * h * w);
    }
    return n;
}

static void seg_close(dl_source *s)
{
    free(s->seg_tmp);
    free(s->seg_mtmp);
    s->seg_tmp = NULL, s->seg_mtmp = NULL;
    s->seg_rows_close(s);
}

int dl_source_segment(dl_source *s, const dl_segment_data *d, int64_t first, int64_t count, int64_t batch, int shuffle,
                      uint64_t seed, const dl_augment_config *aug, int augment, int32_t fill)
{
    const void *from[2] = {d->image, d->label};
    const dl_field fields[2] = {
        {.name = "image", .dtype = DL_F32, .rank = 3, .shape = {d->C, d->H, d->W}},
        {.name = "label", .dtype = DL_I32, .rank = 2, .shape = {d->H, d->W}},
    };
    if (dl_source_rows(s, "segmentation", from, fields, 2, d->n_train + d->n_test, first, count, batch, shuffle, seed))
        return -1;
    if (!dl_aug_active(aug, augment)) return 0;
    if (dl_aug_check(aug, augment, d->C, d->H, d->W, 1)) {
        s->close(s);
        return -1;
    }
    const int64_t n = s->bounds.n, hw = d->H * d->W;
    s->seg_tmp = malloc((size_t)(n * d->C * hw) * sizeof *s->seg_tmp);
    s->seg_mtmp = malloc((size_t)(n * hw) * sizeof *s->seg_mtmp);
    s->seg_aug = aug, s->seg_augment = augment, s->seg_fill = fill;
    s->seg_rows_next = s->next, s->seg_rows_close = s->close;
    s->next = seg_next, s->close = seg_close;
    if (!s->seg_tmp || !s->seg_mtmp) {
        s->close(s);
        dl_set_error("segmentation batches: out of memory");
        return -1;
    }
    return 0;
}

/* Pixel accuracy and IoU read the first output as logits f32[N, K, H, W]
 * (classes on axis 1, PyTorch's layout): the arg-max class of each pixel
 * whose label is not `ignore` (ties to the lower class). For class k,
 * inter[k] counts the pixels predicted k and labelled k, uni[k] those
 * predicted k or labelled k. */
void dl_segment_scores(const float *logits, const int32_t *label, int64_t n, int64_t k, int64_t hw, int ignore,
                       int64_t *inter, int64_t *uni, int64_t *right, int64_t *counted)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t p = 0; p < hw; p++) {
            const int32_t t = label[i * hw + p];
            if (t == ignore) continue;
            const float *o = logits + i * k * hw + p;
            int64_t best = 0;
            for (int64_t q = 1; q < k; q++)
                if (o[q * hw] > o[best * hw]) best = q;
            *right += best == t;
            ++*counted;
            inter[best] += best == t;
            uni[best]++;
            if (t != best && t >= 0 && t < k) uni[t]++;
        }
}

/* The mean of inter / uni over the classes whose union is not empty (a class
 * neither predicted nor labelled is left out); NaN when none is. */
double dl_mean_iou(const int64_t *inter, const int64_t *uni, int64_t k)
{
    double sum = 0;
    int64_t present = 0;
    for (int64_t q = 0; q < k; q++)
        if (uni[q] > 0) sum += (double)inter[q] / uni[q], present++;
    return present ? sum / present : NAN;
}

int dl_evaluate_segment(void *m, const dl_segment_data *d, int64_t batch, dl_stepper *st, const dl_augment_config *aug,
                        int ignore, double *loss, double *acc, double *miou)
{
    dl_source src;
    if (dl_source_segment(&src, d, d->n_train, d->n_test, batch, 0, 0, aug, 0, ignore)) return -1;
    const int64_t hw = d->H * d->W, per = st->out_numel[0], K = per / hw;
    const int scored = K > 0 && per == K * hw;
    int64_t *inter = calloc(2 * (size_t)(K > 0 ? K : 1), sizeof *inter), *uni = inter + (K > 0 ? K : 1);
    double loss_sum = 0;
    int64_t seen = 0, right = 0, counted = 0, n;
    int rc = -1;
    dl_batch b;
    if (!inter) {
        dl_set_error("segmentation scores: out of memory");
        goto done;
    }
    while ((n = src.next(&src, &b)) > 0) {
        dl_clear_error();
        const float l = dl_stepper_bind(st, &b) ? NAN : dl_stepper_eval(st, m);
        if (isnan(l) && dl_last_error()[0]) goto done;
        loss_sum += (double)l * n;
        seen += n;
        if (scored) dl_segment_scores(st->out[0], b.field[1].data, n, K, hw, ignore, inter, uni, &right, &counted);
    }
    *loss = seen ? loss_sum / seen : NAN;
    *acc = counted ? (double)right / counted : NAN;
    if (miou) *miou = scored ? dl_mean_iou(inter, uni, K) : NAN;
    rc = 0;
done:
    free(inter);
    src.close(&src);
    return rc;
}
