/* test_rt_augment_mask.c — images(path, masks = ...)'s augmentation and
 * scores: each geometric transform drawn by dl_augment_sample moves a
 * class-id mask with its image (nearest, the ignore value where the image was
 * not), the photometric ones leave the mask alone, the segmentation source's
 * batches are the same at 1 and 2 threads; the mean IoU of
 * dl_segment_scores/dl_mean_iou against numpy on a tiny fixture.
 *
 * How "the mask follows the image" is checked without a second
 * implementation of each map: the image has two channels, channel 0 the
 * pixel's class as one of the values 1, 10, 100 (far apart, so a bilinear
 * blend of two classes is never one of them) and channel 1 all ones (after
 * the transform: how much of the pixel came from inside the image). Where
 * channel 1 is 1 and channel 0 is exactly a class's value, every tap the
 * image blended is of that class, so the nearest one is too: the mask must
 * hold that class. Where channel 1 is 0 nothing came from inside: the mask
 * must hold the fill. Shifts and flips are checked at every pixel. */
#include "augment_internal.h"
#include "dlnrt.h"
#include "step_internal.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

enum { H = 20, W = 24, FILL = 255 };
static const float class_value[3] = {1, 10, 100};

static int32_t class_at(int64_t i, int64_t j) { return (int32_t)((i / 5 + j / 6 + (i / 10) * (j / 12)) % 3); }

/* The two-channel image and its mask. */
static void scene(float *x, int32_t *m)
{
    for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < W; j++) {
            m[i * W + j] = class_at(i, j);
            x[i * W + j] = class_value[m[i * W + j]];
            x[H * W + i * W + j] = 1;
        }
}

/* The pixels checked (see the top); -1 on a mismatch. exact: every pixel. */
static int64_t check_follows(const float *x, const int32_t *m, int exact)
{
    int64_t checked = 0;
    for (int64_t p = 0; p < H * W; p++) {
        const float v = x[p], cover = x[H * W + p];
        int k = -1;
        for (int q = 0; q < 3; q++)
            if (fabsf(v - class_value[q]) <= 1e-4f * class_value[q]) k = q;
        if (m[p] != FILL && (m[p] < 0 || m[p] > 2)) return -1;
        if (cover > 1 - 1e-6f && k >= 0) {
            if (m[p] != k) return -1;
            checked++;
        } else if (cover < 1e-6f) {
            if (m[p] != FILL) return -1;
            checked++;
        } else if (exact) {
            return -1;
        }
    }
    return checked;
}

static void test_geometric(void)
{
    static const struct {
        const char *name;
        dl_augment_config a;
        int exact;
    } ops[] = {
        {"hflip", {.hflip = 1}, 1},
        {"vflip", {.vflip = 1}, 1},
        {"random_crop", {.crop_pad = 4}, 1},
        {"rotate", {.rotate_deg = 40}, 0},
        {"random_affine", {.affine = 1, .affine_deg = 30, .affine_translate = {0.2f, 0.2f}, .affine_scale = {0.7f, 1.3f},
                           .affine_shear = 15}, 0},
        {"random_resized_crop", {.rrc_scale = {0.2f, 1.0f}, .rrc_ratio = {0.75f, 4.0f / 3}}, 0},
    };
    float x[2 * H * W], tmp[2 * H * W];
    int32_t m[H * W], mtmp[H * W], m0[H * W];
    for (size_t o = 0; o < sizeof ops / sizeof *ops; o++) {
        int64_t checked = 0, moved = 0;
        for (int64_t sample = 0; sample < 16; sample++) {
            scene(x, m);
            memcpy(m0, m, sizeof m);
            dl_rng r;
            dl_aug_rng(&r, 7, 1, sample, 0);
            const dl_aug_mask mk = {m, FILL, mtmp};
            dl_augment_sample(&ops[o].a, x, 2, H, W, NULL, 0, &mk, &r, tmp);
            const int64_t c = check_follows(x, m, ops[o].exact);
            if (c < 0) CU_FAIL(ops[o].name);
            checked += c;
            moved += memcmp(m, m0, sizeof m) != 0;
        }
        /* not vacuous: most pixels are checked, and the masks did move */
        CU_ASSERT(checked > 16 * H * W * 6 / 10);
        CU_ASSERT(moved >= 8);
    }
}

static void test_photometric(void)
{
    const dl_augment_config a = {.brightness = 0.5f, .contrast = 0.5f, .noise_std = 0.1f, .solarize_threshold = 0.5f,
                                 .solarize_p = 1, .posterize_bits = 3, .posterize_p = 1, .equalize_p = 1,
                                 .blur_kernel = 3, .blur_sigma = {0.5f, 1.0f}, .blur_p = 1};
    float x[2 * H * W], tmp[2 * H * W];
    int32_t m[H * W], mtmp[H * W], m0[H * W];
    scene(x, m);
    for (int64_t p = 0; p < H * W; p++) x[p] /= 100;
    memcpy(m0, m, sizeof m);
    dl_rng r;
    dl_aug_rng(&r, 7, 1, 3, 0);
    const dl_aug_mask mk = {m, FILL, mtmp};
    dl_augment_sample(&a, x, 2, H, W, NULL, 0, &mk, &r, tmp);
    CU_ASSERT(memcmp(m, m0, sizeof m) == 0);
}

/* The source's batches: hflip(p = 1) flips image and mask alike; the same at 1 and 2 threads. */
static void test_source(void)
{
    enum { N = 24, C = 3, SH = 32, SW = 40 };
    dl_segment_data d = {.n_train = N, .n_test = 0, .C = C, .H = SH, .W = SW};
    d.image = malloc(sizeof(float) * N * C * SH * SW);
    d.label = malloc(sizeof(int32_t) * N * SH * SW);
    CU_ASSERT_FATAL(d.image && d.label);
    for (int64_t i = 0; i < N * C * SH * SW; i++) d.image[i] = (float)((i * 2654435761u) % 1000u) / 999.0f;
    for (int64_t i = 0; i < N * SH * SW; i++) d.label[i] = (int32_t)((i * 40503u) % 5u);
    const dl_augment_config flip = {.hflip = 1};
    dl_source s;
    dl_batch b;
    CU_ASSERT_FATAL(dl_source_segment(&s, &d, 0, N, 8, 0, 1, &flip, 1, FILL) == 0);
    CU_ASSERT_EQUAL(s.next(&s, &b), 8);
    const float *x = b.field[0].data;
    const int32_t *y = b.field[1].data;
    int same = 1;
    for (int64_t i = 0; i < 8; i++)
        for (int64_t r = 0; r < SH; r++)
            for (int64_t j = 0; j < SW; j++) {
                same &= y[(i * SH + r) * SW + j] == d.label[(i * SH + r) * SW + SW - 1 - j];
                same &= x[((i * C + 2) * SH + r) * SW + j] == d.image[((i * C + 2) * SH + r) * SW + SW - 1 - j];
            }
    CU_ASSERT(same);
    s.close(&s);
    const dl_augment_config mix = {.rotate_deg = 20, .affine = 1, .affine_deg = 10, .rrc_scale = {0.3f, 1},
                                   .rrc_ratio = {0.75f, 4.0f / 3}, .brightness = 0.3f, .crop_pad = 3,
                                   .norm_channels = 1, .norm_mean = {0.5f}, .norm_std = {0.25f}};
    float *xs[2];
    int32_t *ys[2];
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        CU_ASSERT_FATAL(dl_source_segment(&s, &d, 0, N, N, 1, 5, &mix, 1, FILL) == 0);
        s.reset(&s);   /* the second epoch's draws */
        CU_ASSERT_EQUAL(s.next(&s, &b), N);
        xs[t] = malloc(sizeof(float) * N * C * SH * SW);
        ys[t] = malloc(sizeof(int32_t) * N * SH * SW);
        memcpy(xs[t], b.field[0].data, sizeof(float) * N * C * SH * SW);
        memcpy(ys[t], b.field[1].data, sizeof(int32_t) * N * SH * SW);
        s.close(&s);
    }
    omp_set_num_threads(1);
    CU_ASSERT(memcmp(xs[0], xs[1], sizeof(float) * N * C * SH * SW) == 0);
    CU_ASSERT(memcmp(ys[0], ys[1], sizeof(int32_t) * N * SH * SW) == 0);
    for (int t = 0; t < 2; t++) free(xs[t]), free(ys[t]);
    /* a bad list is an error naming it */
    const dl_augment_config gray = {.gray_p = 0.5f};
    d.C = 1;
    CU_ASSERT_EQUAL(dl_source_segment(&s, &d, 0, N, 8, 0, 1, &gray, 1, FILL), -1);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), "augment: random_grayscale turns RGB images grey, but these have 1 channel");
    free(d.image);
    free(d.label);
}

/* Two images of 2 x 3 pixels, 4 classes (class 3 neither predicted nor
 * labelled), 255 ignored. The expected figures are numpy's:
 *
 *   import numpy as np
 *   lg = np.array(LOGITS).reshape(2, 4, 2, 3); t = np.array(LABELS).reshape(2, 2, 3)
 *   p = lg.argmax(1); keep = t != 255; p, t = p[keep], t[keep]
 *   iou = [((p == k) & (t == k)).sum() / ((p == k) | (t == k)).sum() for k in range(4)
 *          if ((p == k) | (t == k)).any()]
 *   print(np.mean(iou), (p == t).mean())      # 0.5222222222222223 0.6666666666666666
 */
static void test_mean_iou(void)
{
    /* logits [2, 4, 2, 3]: per image, class planes of 6 pixels; the arg-max classes are
     * image 0: 0 0 1 / 1 2 2, image 1: 0 1 1 / 2 2 0 */
    static const float logits[2 * 4 * 6] = {
        5, 5, 0, 0, 0, 0,   0, 0, 5, 5, 0, 0,   0, 0, 0, 0, 5, 5,   -1, -1, -1, -1, -1, -1,
        5, 0, 0, 0, 0, 5,   0, 5, 5, 0, 0, 0,   0, 0, 0, 5, 5, 0,   -1, -1, -1, -1, -1, -1,
    };
    static const int32_t labels[2 * 6] = {0, 1, 1, 1, 2, 255, 0, 0, 255, 2, 1, 255};
    int64_t inter[4] = {0}, uni[4] = {0}, right = 0, counted = 0;
    dl_segment_scores(logits, labels, 2, 4, 6, 255, inter, uni, &right, &counted);
    CU_ASSERT_EQUAL(counted, 9);   /* 12 pixels, 3 ignored */
    CU_ASSERT_DOUBLE_EQUAL((double)right / counted, 0.6666666666666666, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(dl_mean_iou(inter, uni, 4), 0.5222222222222223, 1e-12);
    CU_ASSERT_EQUAL(uni[3], 0);   /* left out of the mean */
    int64_t none[2] = {0};
    CU_ASSERT(isnan(dl_mean_iou(none, none, 2)));
}

void suite_rt_augment_mask(void)
{
    CU_pSuite s = CU_add_suite("rt_augment_mask", NULL, NULL);
    CU_add_test(s, "each geometric transform moves the mask with the image", test_geometric);
    CU_add_test(s, "photometric transforms leave the mask", test_photometric);
    CU_add_test(s, "the segmentation source: masks flipped with images, same at 1 and 2 threads", test_source);
    CU_add_test(s, "mean IoU and pixel accuracy = numpy's", test_mean_iou);
}
