/* test_rt_augment.c — each augmentation transform on a tiny image checked
 * by hand; the batcher's augmented batches are reproducible (same seed, any
 * thread count) and change per epoch; masks move with their images; mixup
 * labels are one-hot mixtures summing to 1; normalization applies to
 * evaluation batches too; bad configurations are errors. */
#include "augment_internal.h"
#include "dlnrt.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static void expect_floats(const float *got, const float *want, int n, float tol)
{
    for (int i = 0; i < n; i++) {
        if (fabsf(got[i] - want[i]) > tol) {
            CU_FAIL("value differs");
            fprintf(stderr, "\n  [%d] got %g want %g\n", i, got[i], want[i]);
            return;
        }
    }
    CU_PASS("values match");
}

static const float img3[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};   /* 1x3x3 */

static void test_shift_is_padded_crop(void)
{
    float x[9], tmp[9];
    memcpy(x, img3, sizeof x);
    dl_aug_shift(x, 1, 3, 3, 1, 0, tmp);   /* content moves up one row */
    expect_floats(x, (const float[]){4, 5, 6, 7, 8, 9, 0, 0, 0}, 9, 0);
    memcpy(x, img3, sizeof x);
    dl_aug_shift(x, 1, 3, 3, -1, 2, tmp);
    expect_floats(x, (const float[]){0, 0, 0, 3, 0, 0, 6, 0, 0}, 9, 0);
}

static void test_flips(void)
{
    float x[12] = {1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60};   /* 2 channels of 2x3 */
    dl_aug_hflip(x, 2, 2, 3);
    expect_floats(x, (const float[]){3, 2, 1, 6, 5, 4, 30, 20, 10, 60, 50, 40}, 12, 0);
    dl_aug_hflip(x, 2, 2, 3);
    dl_aug_vflip(x, 2, 2, 3);
    expect_floats(x, (const float[]){4, 5, 6, 1, 2, 3, 40, 50, 60, 10, 20, 30}, 12, 0);
}

static void test_rotate(void)
{
    float x[9], tmp[9];
    memcpy(x, img3, sizeof x);
    dl_aug_rotate(x, 1, 3, 3, 90, tmp);   /* counter-clockwise: the right column becomes the top row */
    expect_floats(x, (const float[]){3, 6, 9, 2, 5, 8, 1, 4, 7}, 9, 1e-5f);
    memcpy(x, img3, sizeof x);
    dl_aug_rotate(x, 1, 3, 3, 0, tmp);
    expect_floats(x, img3, 9, 1e-6f);
    /* 45 degrees: the centre stays; the corner (0,0) samples outside → 0 */
    memcpy(x, img3, sizeof x);
    dl_aug_rotate(x, 1, 3, 3, 45, tmp);
    CU_ASSERT_DOUBLE_EQUAL(x[4], 5, 1e-5);
    /* corner (0,0) samples at row -0.414, column 1: 0.586 of pixel (0,1), the rest zero fill */
    CU_ASSERT_DOUBLE_EQUAL(x[0], (1 - 0.41421356) * 2, 1e-4);
}

static void test_jitter_and_cutout(void)
{
    float x[4] = {0.1f, 0.6f, 0.2f, 0.3f};
    dl_aug_jitter(x, 4, 2.0f, 1.0f);   /* brightness x2, clamped */
    expect_floats(x, (const float[]){0.2f, 1.0f, 0.4f, 0.6f}, 4, 1e-6f);
    float y[2] = {0.0f, 1.0f};
    dl_aug_jitter(y, 2, 1.0f, 0.5f);   /* contrast halves the distance to the mean 0.5 */
    expect_floats(y, (const float[]){0.25f, 0.75f}, 2, 1e-6f);
    float z[9];
    memcpy(z, img3, sizeof z);
    dl_aug_cutout(z, 1, 3, 3, 1, 1, 2);   /* 2x2 square with top-left (0, 0) */
    expect_floats(z, (const float[]){0, 0, 3, 0, 0, 6, 7, 8, 9}, 9, 0);
    memcpy(z, img3, sizeof z);
    dl_aug_cutout(z, 1, 3, 3, 2, 2, 3);   /* clipped at the border */
    expect_floats(z, (const float[]){1, 2, 3, 4, 0, 0, 7, 0, 0}, 9, 0);
}

static void test_normalize(void)
{
    dl_augment_config a = {.norm_channels = 2, .norm_mean = {0.5f, 1.0f}, .norm_std = {0.5f, 2.0f}};
    float x[4] = {0.0f, 1.0f, 3.0f, 5.0f};   /* 2 channels of 2 pixels */
    dl_aug_normalize(x, 2, 2, &a);
    expect_floats(x, (const float[]){-1, 1, 1, 2}, 4, 1e-6f);
    dl_augment_config b = {.norm_channels = 1, .norm_mean = {1.0f}, .norm_std = {4.0f}};
    float y[2] = {1.0f, 5.0f};
    dl_aug_normalize(y, 2, 1, &b);
    expect_floats(y, (const float[]){0, 1}, 2, 1e-6f);
}

static void test_beta(void)
{
    dl_rng r;
    dl_rng_seed(&r, 7);
    double sum = 0, sum_small = 0;
    int ok = 1;
    for (int i = 0; i < 4000; i++) {
        float v = dl_aug_beta(&r, 2.0f), s = dl_aug_beta(&r, 0.2f);
        ok &= v >= 0 && v <= 1 && s >= 0 && s <= 1;
        sum += v;
        sum_small += fabsf(s - 0.5f);
    }
    CU_ASSERT(ok);
    CU_ASSERT_DOUBLE_EQUAL(sum / 4000, 0.5, 0.02);
    /* Beta(0.2, 0.2) piles up near 0 and 1: E|l - 0.5| is about 0.39 */
    CU_ASSERT(sum_small / 4000 > 0.33);
}

/* 16 samples of 1x6x6 with distinct pixels, class label i % 3. */
static void make_set(dl_dataset *d)
{
    memset(d, 0, sizeof *d);
    d->n = 16;
    d->x_numel = 36;
    d->x_rank = 3;
    d->x_shape[0] = 1, d->x_shape[1] = 6, d->x_shape[2] = 6;
    d->x = malloc(16 * 36 * sizeof(float));
    d->y_class = malloc(16 * sizeof(int32_t));
    for (int i = 0; i < 16 * 36; i++) d->x[i] = (float)((i * 37) % 101) / 100.0f;
    for (int i = 0; i < 16; i++) d->y_class[i] = i % 3;
    d->label_kind = DL_LABEL_CLASS;
    d->y_numel = 1;
    d->num_classes = 3;
}

static const dl_augment_config everything = {
    .crop_pad = 2, .hflip = 0.5f, .vflip = 0.5f, .rotate_deg = 15, .brightness = 0.2f, .contrast = 0.2f,
    .noise_std = 0.05f, .norm_channels = 1, .norm_mean = {0.5f}, .norm_std = {0.25f}, .cutout_size = 2,
    .cutout_count = 1, .mixup_alpha = 0.4f};

/* All x and y of two epochs with `threads` OpenMP threads. */
static void run_epochs(const dl_dataset *d, const dl_augment_config *a, int threads, float *xs, float *ys)
{
    int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    dl_batcher b;
    CU_ASSERT_FATAL(dl_batcher_init(&b, d, 5, 1, 99) == 0);
    CU_ASSERT_FATAL(dl_batcher_set_augment(&b, a, 1, 3) == 0);
    const float *x;
    const void *y;
    int64_t n, k = 0;
    for (int e = 0; e < 2; e++) {
        if (e) dl_batcher_reset(&b);
        while ((n = dl_batcher_next(&b, &x, &y)) > 0) {
            memcpy(xs + k * 36, x, (size_t)n * 36 * sizeof(float));
            memcpy(ys + k * 3, y, (size_t)n * 3 * sizeof(float));
            k += n;
        }
    }
    CU_ASSERT_EQUAL(k, 32);
    dl_batcher_free(&b);
    omp_set_num_threads(saved);
}

static void test_batcher_reproducible(void)
{
    dl_dataset d;
    make_set(&d);
    static float x1[32 * 36], y1[32 * 3], x2[32 * 36], y2[32 * 3];
    run_epochs(&d, &everything, 1, x1, y1);
    run_epochs(&d, &everything, 2, x2, y2);
    CU_ASSERT(memcmp(x1, x2, sizeof x1) == 0);
    CU_ASSERT(memcmp(y1, y2, sizeof y1) == 0);
    /* the second epoch is augmented differently from the first */
    CU_ASSERT(memcmp(x1, x1 + 16 * 36, 16 * 36 * sizeof(float)) != 0);
    /* mixup: every label row is a mixture summing to 1, mostly not one-hot */
    int sums_ok = 1, mixed = 0;
    for (int i = 0; i < 32; i++) {
        float s = y1[i * 3] + y1[i * 3 + 1] + y1[i * 3 + 2];
        sums_ok &= fabsf(s - 1) < 1e-5f && y1[i * 3] >= 0 && y1[i * 3 + 1] >= 0 && y1[i * 3 + 2] >= 0;
        mixed += y1[i * 3] > 1e-3f && y1[i * 3] < 0.999f;
    }
    CU_ASSERT(sums_ok);
    CU_ASSERT(mixed > 0);
    dl_dataset_free(&d);
}

/* Without mixup, one-hot labels are exact and the geometric transforms of
 * a mask follow the image: the mask stays (image > threshold) throughout. */
static void test_masks_follow_images(void)
{
    dl_dataset d;
    make_set(&d);
    CU_ASSERT_FATAL(dl_dataset_to_masks(&d, 0.5f) == 0);
    CU_ASSERT_EQUAL(d.label_kind, DL_LABEL_DENSE);
    CU_ASSERT_EQUAL(d.y_numel, 36);
    dl_augment_config a = {.crop_pad = 2, .hflip = 0.5f, .vflip = 0.5f};
    dl_batcher b;
    CU_ASSERT_FATAL(dl_batcher_init(&b, &d, 16, 1, 3) == 0);
    CU_ASSERT_FATAL(dl_batcher_set_augment(&b, &a, 1, 0) == 0);
    const float *x;
    const void *y;
    CU_ASSERT_EQUAL(dl_batcher_next(&b, &x, &y), 16);
    const float *m = y;
    int agree = 1, changed = 0;
    for (int i = 0; i < 16 * 36; i++) {
        agree &= m[i] == (x[i] > 0.5f ? 1.0f : 0.0f);
        changed += x[i] != d.x[b.perm[i / 36] * 36 + i % 36];
    }
    CU_ASSERT(agree);
    CU_ASSERT(changed > 0);
    dl_batcher_free(&b);
    dl_dataset_free(&d);
}

/* Evaluation batches: normalization and one-hot labels only. */
static void test_eval_normalizes_only(void)
{
    dl_dataset d;
    make_set(&d);
    dl_batcher b;
    CU_ASSERT_FATAL(dl_batcher_init(&b, &d, 4, 0, 0) == 0);
    CU_ASSERT_FATAL(dl_batcher_set_augment(&b, &everything, 0, 4) == 0);
    const float *x;
    const void *y;
    CU_ASSERT_EQUAL(dl_batcher_next(&b, &x, &y), 4);
    int ok = 1;
    for (int i = 0; i < 4 * 36; i++) ok &= fabsf(x[i] - (d.x[i] - 0.5f) / 0.25f) < 1e-6f;
    CU_ASSERT(ok);
    const float *h = y;
    expect_floats(h, (const float[]){1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0}, 16, 0);
    CU_ASSERT_EQUAL(((const int32_t *)b.ybuf)[1], 1);   /* class labels still there */
    dl_batcher_free(&b);
    dl_dataset_free(&d);
}

static void test_bad_configs(void)
{
    dl_dataset d;
    make_set(&d);
    dl_batcher b;
    dl_augment_config three = {.norm_channels = 3, .norm_mean = {0.5f, 0.5f, 0.5f}, .norm_std = {1, 1, 1}};
    CU_ASSERT_FATAL(dl_batcher_init(&b, &d, 4, 0, 0) == 0);
    CU_ASSERT_EQUAL(dl_batcher_set_augment(&b, &three, 0, 0), -1);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), "augment: normalize gives 3 means/stds but the images have 1 channel");
    dl_batcher_free(&b);
    dl_augment_config mix = {.mixup_alpha = 0.2f};
    CU_ASSERT_FATAL(dl_batcher_init(&b, &d, 4, 0, 0) == 0);
    CU_ASSERT_EQUAL(dl_batcher_set_augment(&b, &mix, 1, 0), -1);
    CU_ASSERT(strstr(dl_last_error(), "mixup") != NULL);
    dl_batcher_free(&b);
    CU_ASSERT_FATAL(dl_batcher_init(&b, &d, 4, 0, 0) == 0);
    CU_ASSERT_EQUAL(dl_batcher_set_augment(&b, NULL, 0, 2), -1);   /* 3 classes do not fit 2 columns */
    CU_ASSERT(strstr(dl_last_error(), "labels go up to 2") != NULL);
    dl_batcher_free(&b);
    dl_dataset_free(&d);
}

void suite_rt_augment(void)
{
    CU_pSuite s = CU_add_suite("rt_augment", NULL, NULL);
    CU_add_test(s, "shift = padded crop", test_shift_is_padded_crop);
    CU_add_test(s, "horizontal and vertical flips", test_flips);
    CU_add_test(s, "rotation (bilinear, zero fill)", test_rotate);
    CU_add_test(s, "brightness, contrast, cutout", test_jitter_and_cutout);
    CU_add_test(s, "per-channel normalization", test_normalize);
    CU_add_test(s, "Beta draws for mixup", test_beta);
    CU_add_test(s, "batches reproducible across thread counts; mixup labels sum to 1", test_batcher_reproducible);
    CU_add_test(s, "masks move with their images", test_masks_follow_images);
    CU_add_test(s, "evaluation batches are only normalized", test_eval_normalizes_only);
    CU_add_test(s, "bad configurations are errors", test_bad_configs);
}
