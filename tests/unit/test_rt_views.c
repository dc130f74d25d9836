/* test_rt_views.c — views = 2 in the batcher and the dataset source: every
 * sample comes twice, each view transformed with its own draws. The views
 * differ, each is the same bits for the same seed (and the first view is
 * exactly what the batcher gives without views), the labels are those of the
 * samples, evaluation batches carry the second view unchanged, and the
 * source names it image2 with the first field's shape. Mixup is refused. */
#include "dlnrt.h"
#include "step_internal.h"

#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

enum { VN = 8, VC = 1, VH = 6, VW = 6, VX = VC * VH * VW };

/* VN samples of 1x6x6 with distinct pixels, class i % 3. */
static void view_set(dl_dataset *d)
{
    memset(d, 0, sizeof *d);
    d->n = VN, d->x_numel = VX, d->x_rank = 3;
    d->x_shape[0] = VC, d->x_shape[1] = VH, d->x_shape[2] = VW;
    d->x = malloc(sizeof(float) * VN * VX);
    d->y_class = malloc(sizeof(int32_t) * VN);
    d->label_kind = DL_LABEL_CLASS, d->y_numel = 1, d->num_classes = 3;
    for (int i = 0; i < VN; i++) {
        for (int k = 0; k < VX; k++) d->x[i * VX + k] = (float)((i * VX + k) * 29 % 97) / 97.0f;
        d->y_class[i] = i % 3;
    }
}

static const dl_augment_config aug2 = {.hflip = 0.5f, .vflip = 0.5f, .crop_pad = 2, .noise_std = 0.1f, .views = 2};

/* One shuffled batch of all VN samples: both views and the labels. */
static void one_batch(const dl_dataset *d, const dl_augment_config *a, int augment, uint64_t seed, float *x1, float *x2,
                      int32_t *y)
{
    dl_batcher b;
    CU_ASSERT_FATAL(dl_batcher_init(&b, d, VN, 1, seed) == 0);
    CU_ASSERT_FATAL(dl_batcher_set_augment(&b, a, augment, 0) == 0);
    const float *x;
    const void *yv;
    CU_ASSERT_EQUAL_FATAL(dl_batcher_next(&b, &x, &yv), VN);
    memcpy(x1, x, sizeof(float) * VN * VX);
    if (x2) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(b.x2buf);
        memcpy(x2, b.x2buf, sizeof(float) * VN * VX);
    } else {
        CU_ASSERT_PTR_NULL(b.x2buf);
    }
    /* the labels are those of the samples in the batch's order (the permutation) */
    memcpy(y, yv, sizeof(int32_t) * VN);
    for (int i = 0; i < VN; i++) CU_ASSERT(y[i] == d->y_class[b.perm[i]]);
    dl_batcher_free(&b);
}

static void test_views_batcher(void)
{
    dl_dataset d;
    view_set(&d);
    float a1[VN * VX], a2[VN * VX], b1[VN * VX], b2[VN * VX], one[VN * VX];
    int32_t ya[VN], yb[VN], yo[VN];
    one_batch(&d, &aug2, 1, 5, a1, a2, ya);
    one_batch(&d, &aug2, 1, 5, b1, b2, yb);
    CU_ASSERT(memcmp(a1, b1, sizeof a1) == 0);   /* deterministic for a seed */
    CU_ASSERT(memcmp(a2, b2, sizeof a2) == 0);
    CU_ASSERT(memcmp(ya, yb, sizeof ya) == 0);
    int differ = 0;
    for (int i = 0; i < VN; i++) differ += memcmp(a1 + i * VX, a2 + i * VX, sizeof(float) * VX) != 0;
    CU_ASSERT_EQUAL(differ, VN);                 /* noise alone makes every pair differ */
    /* the first view is the batch the same list gives without views: a second view draws from its own stream */
    dl_augment_config single = aug2;
    single.views = 1;
    one_batch(&d, &single, 1, 5, one, NULL, yo);
    CU_ASSERT(memcmp(one, a1, sizeof one) == 0);
    CU_ASSERT(memcmp(yo, ya, sizeof yo) == 0);
    /* another seed, other views */
    one_batch(&d, &aug2, 1, 6, b1, b2, yb);
    CU_ASSERT(memcmp(a2, b2, sizeof a2) != 0);
    /* evaluation batches: no random transforms, the second view is the first */
    one_batch(&d, &aug2, 0, 5, b1, b2, yb);
    CU_ASSERT(memcmp(b1, b2, sizeof b1) == 0);
    /* mixup blends samples and labels: refused with views */
    dl_augment_config mix = aug2;
    mix.mixup_alpha = 0.2f;
    dl_batcher b;
    CU_ASSERT_FATAL(dl_batcher_init(&b, &d, 4, 0, 1) == 0);
    CU_ASSERT_EQUAL(dl_batcher_set_augment(&b, &mix, 1, 3), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "views = 2"));
    dl_batcher_free(&b);
    dl_dataset_free(&d);
}

/* The dataset source hands the second view out as image2, shaped like image. */
static void test_views_source(void)
{
    dl_dataset d;
    view_set(&d);
    dl_source s;
    CU_ASSERT_FATAL(dl_source_dataset(&s, &d, "image", 4, 0, 3, &aug2, 1, 0) == 0);
    const dl_field *bound = dl_batch_find(&s.bounds, "image2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bound);
    CU_ASSERT(bound->rank == 3 && bound->shape[0] == VC && bound->shape[1] == VH && bound->shape[2] == VW);
    dl_batch b;
    CU_ASSERT_EQUAL_FATAL(s.next(&s, &b), 4);
    const dl_field *x1 = dl_batch_find(&b, "image"), *x2 = dl_batch_find(&b, "image2"), *y = dl_batch_find(&b, "label");
    CU_ASSERT_PTR_NOT_NULL_FATAL(x1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT(x2->dtype == DL_F32 && x2->data == s.batcher.x2buf && x2->data != x1->data);
    CU_ASSERT(memcmp(x1->data, x2->data, sizeof(float) * 4 * VX) != 0);
    for (int i = 0; i < 4; i++) CU_ASSERT(((const int32_t *)y->data)[i] == i % 3);   /* no shuffle: samples 0..3 */
    s.close(&s);
    dl_dataset_free(&d);
}

void suite_rt_views(void)
{
    CU_pSuite s = CU_add_suite("rt_views", NULL, NULL);
    CU_add_test(s, "two views: differ, deterministic, labels kept, eval copy, mixup refused", test_views_batcher);
    CU_add_test(s, "the dataset source's image2 field", test_views_source);
}
