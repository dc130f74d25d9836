/* nms.c — greedy non-maximum suppression, the one implementation behind the
 * nms op of generated code (compiler/emit_movement.c) and the decoding that
 * metrics = [map] scores (detect_map.c).
 *
 * It is torchvision.ops.nms (and batched_nms with class ids): boxes in
 * score order, highest first, equal scores in order of index (a stable
 * sort, so the result does not depend on the sort's whims); a box is
 * dropped when its IoU with an already kept box of the same class is
 * greater than the threshold. A box whose score is below min_score (or
 * NaN) is never kept, and at most max_out are. The sort is a merge sort,
 * n log n, since a model may hand it thousands of anchors per image. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"

/* before(i, j): i's score comes first — higher, or equal and lower index */
static int before(const float *s, int64_t ss, int64_t i, int64_t j)
{
    return s[i * ss] > s[j * ss] || (s[i * ss] == s[j * ss] && i < j);
}

/* bottom-up merge sort of idx[0..n) with tmp[0..n) as room */
static void sort_by_score(const float *s, int64_t ss, int64_t *idx, int64_t *tmp, int64_t n)
{
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            const int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi) tmp[k++] = before(s, ss, idx[b], idx[a]) ? idx[b++] : idx[a++];
            while (a < mid) tmp[k++] = idx[a++];
            while (b < hi) tmp[k++] = idx[b++];
        }
        memcpy(idx, tmp, (size_t)n * sizeof *idx);
    }
}

int64_t dl_nms_keep(const dl_nms_view *v, int64_t n, float iou, float min_score, int64_t max_out, int64_t *idx)
{
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (v->scores[i * v->score_stride] >= min_score) idx[m++] = i;   /* NaN fails the test */
    sort_by_score(v->scores, v->score_stride, idx, idx + n, m);
    int64_t kept = 0;
    for (int64_t i = 0; i < m && kept < max_out; i++) {
        const int64_t a = idx[i];
        int keep = 1;
        for (int64_t j = 0; j < kept && keep; j++) {
            const int64_t b = idx[j];
            if (v->cls && v->cls[a * v->cls_stride] != v->cls[b * v->cls_stride]) continue;
            if (dl_box_iou(v->boxes + a * v->box_stride, v->boxes + b * v->box_stride) > iou) keep = 0;
        }
        if (keep) idx[kept++] = a;
    }
    return kept;
}

int dl_nms_mask(const float *boxes, const float *scores, const int32_t *cls, float *keep, int64_t N, int64_t A,
                float iou, float min_score, int64_t max_out)
{
    int64_t *idx = malloc((size_t)(2 * (A > 0 ? A : 1)) * sizeof *idx);
    if (!idx) {
        dl_set_error("nms: out of memory for %lld boxes", (long long)A);
        return -1;
    }
    memset(keep, 0, (size_t)(N * A) * sizeof *keep);
    for (int64_t n = 0; n < N; n++) {
        const dl_nms_view v = {boxes + n * A * 4, 4, scores + n * A, 1, cls ? cls + n * A : NULL, 1};
        const int64_t k = dl_nms_keep(&v, A, iou, min_score, max_out, idx);
        for (int64_t i = 0; i < k; i++) keep[n * A + idx[i]] = 1.0f;
    }
    free(idx);
    return 0;
}
