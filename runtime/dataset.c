/* dataset.c — owning datasets, the seeded train/validation split, and the
 * batcher that feeds a training loop.
 *
 * The batcher owns a permutation of sample indices, reshuffled (Fisher–Yates,
 * from its own seeded dl_rng) at every reset, and gathers each batch into
 * its own contiguous buffers, so the model sees dense x[batch, ...] and
 * y[batch] arrays and the dataset itself is never reordered. The last,
 * partial batch of an epoch is kept (its size is returned). Same seed, same
 * batches — on any machine. With dl_batcher_set_augment, each gathered
 * batch is transformed in augment.c (which also counts epochs by resets). */
#include "dlnrt.h"
#include "augment_internal.h"

#include <stdlib.h>
#include <string.h>

void dl_dataset_free(dl_dataset *d)
{
    if (!d) return;
    free(d->x);
    free(d->y_class);
    free(d->y_dense);
    free(d->weight);
    memset(d, 0, sizeof *d);
}

static void dl_shuffle(int64_t *perm, int64_t n, dl_rng *rng)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(dl_rng_next(rng) % (uint64_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* Copies samples idx[0..m) of d into x/yc/yd (whichever label array d has)
 * and their weights into w when d has them. */
static void dl_gather(const dl_dataset *d, const int64_t *idx, int64_t m, float *x, int32_t *yc, float *yd, float *w)
{
    for (int64_t i = 0; i < m; i++) {
        int64_t s = idx[i];
        if (d->weight && w) w[i] = d->weight[s];
        memcpy(x + i * d->x_numel, d->x + s * d->x_numel, (size_t)d->x_numel * sizeof *x);
        if (d->label_kind == DL_LABEL_CLASS) yc[i] = d->y_class[s];
        else memcpy(yd + i * d->y_numel, d->y_dense + s * d->y_numel, (size_t)d->y_numel * sizeof *yd);
    }
}

/* Allocates arrays for m samples shaped like d. */
static int dl_dataset_alloc_like(const dl_dataset *d, int64_t m, dl_dataset *out)
{
    *out = *d;
    out->n = m;
    out->x = malloc((size_t)(m * d->x_numel) * sizeof(float) + 1);
    out->y_class = d->label_kind == DL_LABEL_CLASS ? malloc((size_t)m * sizeof(int32_t) + 1) : NULL;
    out->y_dense = d->label_kind == DL_LABEL_DENSE ? malloc((size_t)(m * d->y_numel) * sizeof(float) + 1) : NULL;
    out->weight = d->weight ? malloc((size_t)m * sizeof(float) + 1) : NULL;
    if (!out->x || (d->label_kind == DL_LABEL_CLASS ? !out->y_class : !out->y_dense) || (d->weight && !out->weight)) {
        dl_dataset_free(out);
        dl_set_error("dl_dataset_split: out of memory");
        return -1;
    }
    return 0;
}

int dl_dataset_split(dl_dataset *d, double fraction, uint64_t seed, dl_dataset *val)
{
    memset(val, 0, sizeof *val);
    int64_t n_val = (int64_t)(d->n * fraction + 0.5);
    if (!(fraction > 0 && fraction < 1) || n_val < 1 || n_val >= d->n) {
        dl_set_error("dl_dataset_split: fraction %g of %lld samples leaves an empty training or validation set",
                     fraction, (long long)d->n);
        return -1;
    }
    int64_t *perm = malloc((size_t)d->n * sizeof *perm);
    dl_dataset train;
    if (!perm) { dl_set_error("dl_dataset_split: out of memory"); return -1; }
    for (int64_t i = 0; i < d->n; i++) perm[i] = i;
    dl_rng rng;
    dl_rng_seed(&rng, seed);
    dl_shuffle(perm, d->n, &rng);
    const int64_t n_train = d->n - n_val;
    if (dl_dataset_alloc_like(d, n_train, &train)) { free(perm); return -1; }
    if (dl_dataset_alloc_like(d, n_val, val)) { dl_dataset_free(&train); free(perm); return -1; }
    dl_gather(d, perm, n_train, train.x, train.y_class, train.y_dense, train.weight);
    dl_gather(d, perm + n_train, n_val, val->x, val->y_class, val->y_dense, val->weight);
    free(perm);
    dl_dataset_free(d);
    *d = train;
    return 0;
}

/* Keeps the samples of the listed classes, relabelled 0..n_classes-1 in the
 * listed order; then, when 0 < fraction < 1, of each kept class
 * round(fraction x its count) samples (at least 1), chosen by a shuffle
 * seeded by seed. Kept samples stay in file order. classes NULL: all, unchanged. */
int dl_dataset_subset(dl_dataset *d, const int *classes, int n_classes, double fraction, uint64_t seed)
{
    if (d->label_kind != DL_LABEL_CLASS) {
        dl_set_error("classes / fraction: the data's labels are not classes");
        return -1;
    }
    if (!classes) n_classes = d->num_classes;
    int32_t *map = malloc(((size_t)d->num_classes + 1) * sizeof *map);   /* old label -> new, -1: dropped */
    int64_t *count = calloc((size_t)n_classes + 1, sizeof *count), *want = calloc((size_t)n_classes + 1, sizeof *want);
    int64_t *perm = malloc(((size_t)d->n + 1) * sizeof *perm);
    unsigned char *keep = calloc((size_t)d->n + 1, 1);
    int rc = -1;
    dl_dataset out;
    if (!map || !count || !want || !perm || !keep) { dl_set_error("classes / fraction: out of memory"); goto done; }
    for (int c = 0; c < d->num_classes; c++) map[c] = classes ? -1 : c;
    for (int k = 0; classes && k < n_classes; k++) {
        if (classes[k] < 0 || classes[k] >= d->num_classes) {
            dl_set_error("classes: class %d is not in the data (its labels are 0..%d)", classes[k], d->num_classes - 1);
            goto done;
        }
        map[classes[k]] = k;
    }
    for (int64_t i = 0; i < d->n; i++) {
        int32_t y = d->y_class[i];
        if (y >= 0 && y < d->num_classes && map[y] >= 0) count[map[y]]++;
    }
    for (int k = 0; k < n_classes; k++) {
        want[k] = fraction > 0 && fraction < 1 ? (int64_t)(count[k] * fraction + 0.5) : count[k];
        if (want[k] < 1 && count[k] > 0) want[k] = 1;
    }
    for (int64_t i = 0; i < d->n; i++) perm[i] = i;
    dl_rng rng;
    dl_rng_seed(&rng, seed);
    dl_shuffle(perm, d->n, &rng);
    int64_t m = 0;
    for (int64_t i = 0; i < d->n; i++) {
        int32_t y = d->y_class[perm[i]];
        if (y < 0 || y >= d->num_classes || map[y] < 0 || want[map[y]] == 0) continue;
        want[map[y]]--;
        keep[perm[i]] = 1;
        m++;
    }
    if (m == 0) { dl_set_error("classes: no sample of the data has one of the listed classes"); goto done; }
    for (int64_t i = 0, j = 0; i < d->n; i++)
        if (keep[i]) perm[j++] = i;
    if (dl_dataset_alloc_like(d, m, &out)) goto done;
    dl_gather(d, perm, m, out.x, out.y_class, out.y_dense, out.weight);
    for (int64_t i = 0; i < m; i++) out.y_class[i] = map[out.y_class[i]];
    out.num_classes = n_classes;
    dl_dataset_free(d);
    *d = out;
    rc = 0;
done:
    free(map);
    free(count);
    free(want);
    free(perm);
    free(keep);
    return rc;
}

int dl_batcher_init(dl_batcher *b, const dl_dataset *d, int64_t batch, int shuffle, uint64_t seed)
{
    memset(b, 0, sizeof *b);
    if (batch <= 0 || d->n <= 0) {
        dl_set_error("dl_batcher_init: need a positive batch size and a non-empty dataset (batch %lld, %lld samples)",
                     (long long)batch, (long long)d->n);
        return -1;
    }
    b->d = d;
    b->batch = batch;
    b->shuffle = shuffle;
    b->seed = seed;
    dl_rng_seed(&b->rng, seed);
    b->perm = malloc((size_t)d->n * sizeof *b->perm);
    b->xbuf = malloc((size_t)(batch * d->x_numel) * sizeof(float) + 1);
    b->ybuf = d->label_kind == DL_LABEL_CLASS ? malloc((size_t)batch * sizeof(int32_t))
                                              : malloc((size_t)(batch * d->y_numel) * sizeof(float) + 1);
    b->wbuf = d->weight ? malloc((size_t)batch * sizeof(float)) : NULL;
    if (!b->perm || !b->xbuf || !b->ybuf || (d->weight && !b->wbuf)) {
        dl_batcher_free(b);
        dl_set_error("dl_batcher_init: out of memory");
        return -1;
    }
    for (int64_t i = 0; i < d->n; i++) b->perm[i] = i;
    dl_batcher_reset(b);
    return 0;
}

void dl_batcher_reset(dl_batcher *b)
{
    b->pos = 0;
    b->epoch++;
    if (b->shuffle) dl_shuffle(b->perm, b->d->n, &b->rng);
}

int64_t dl_batcher_next(dl_batcher *b, const float **x, const void **y)
{
    int64_t m = b->d->n - b->pos < b->batch ? b->d->n - b->pos : b->batch;
    if (m <= 0) return 0;
    dl_gather(b->d, b->perm + b->pos, m, b->xbuf, b->ybuf, b->ybuf, b->wbuf);
    if (b->x2buf) memcpy(b->x2buf, b->xbuf, (size_t)(m * b->d->x_numel) * sizeof(float)); /* dl_aug_batch transforms it */
    *x = b->xbuf;
    *y = b->aug || b->one_hot > 0 ? dl_aug_batch(b, b->perm + b->pos, m) : b->ybuf;
    b->pos += m;
    return m;
}

void dl_batcher_free(dl_batcher *b)
{
    free(b->perm);
    free(b->xbuf);
    free(b->ybuf);
    free(b->yhot);
    free(b->xmix);
    free(b->ymix);
    free(b->scratch);
    free(b->wbuf);
    free(b->x2buf);
    memset(b, 0, sizeof *b);
}

int dl_dataset_to_masks(dl_dataset *d, float threshold)
{
    float *mask = malloc((size_t)(d->n * d->x_numel) * sizeof *mask + 1);
    if (!mask) { dl_set_error("dl_dataset_to_masks: out of memory"); return -1; }
    for (int64_t i = 0; i < d->n * d->x_numel; i++) mask[i] = d->x[i] > threshold ? 1.0f : 0.0f;
    free(d->y_class);
    free(d->y_dense);
    d->y_class = NULL;
    d->y_dense = mask;
    d->label_kind = DL_LABEL_DENSE;
    d->y_numel = d->x_numel;
    d->num_classes = 0;
    return 0;
}
