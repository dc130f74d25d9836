/* test_rt_augment_craft.c — random_resized_crop, color_jitter's saturation
 * and hue, and CutMix: each transform on values worked by hand, the random
 * boxes within their stated ranges and the same for the same seed, and
 * CutMix's labels mixed exactly by the area of the pasted box. */
#include "augment_internal.h"
#include "dlnrt.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_resized_box(void)
{
    const float scale[2] = {0.08f, 1.0f}, ratio[2] = {0.75f, 4.0f / 3};
    int in_range = 1, same = 1;
    for (int s = 0; s < 500; s++) {
        dl_rng r1, r2;
        dl_aug_rng(&r1, 5, 0, s, 0);
        dl_aug_rng(&r2, 5, 0, s, 0);
        int64_t b[4], b2[4];
        dl_aug_resized_box(&r1, 32, 32, scale, ratio, b);
        dl_aug_resized_box(&r2, 32, 32, scale, ratio, b2);
        same &= memcmp(b, b2, sizeof b) == 0;
        /* inside the image; area within the scale range and aspect within the ratio range, up to rounding */
        const double area = (double)b[2] * b[3] / (32 * 32), aspect = (double)b[3] / b[2];
        in_range &= b[0] >= 0 && b[1] >= 0 && b[0] + b[2] <= 32 && b[1] + b[3] <= 32;
        in_range &= area >= 0.06 && area <= 1.0 && aspect >= 0.75 * 0.8 && aspect <= 4.0 / 3 * 1.25;
    }
    CU_ASSERT(same);
    CU_ASSERT(in_range);
    /* an impossible aspect (every box too wide) falls back to the centred crop of the nearest allowed one */
    const float wide[2] = {4.0f, 5.0f}, all[2] = {1.0f, 1.0f};
    dl_rng r;
    dl_aug_rng(&r, 1, 0, 0, 0);
    int64_t b[4];
    dl_aug_resized_box(&r, 10, 10, all, wide, b);
    CU_ASSERT(b[0] == 4 && b[1] == 0 && b[2] == 2 && b[3] == 10);   /* round(10 / 4) = 2 rows (half to even, as Python), centred */
}

static void test_resize_box(void)
{
    /* the whole image is the identity; a 2x2 box of a 4x4 image doubled: half-pixel centres
     * sample 0.25 / 0.75 of the way, so row 0 of the box [1 2] becomes 1, 1.25, 1.75, 2 */
    float x[16], tmp[16];
    for (int i = 0; i < 16; i++) x[i] = (float)i;
    const int64_t whole[4] = {0, 0, 4, 4};
    dl_aug_resize_box(x, 1, 4, 4, whole, tmp);
    for (int i = 0; i < 16; i++) CU_ASSERT_DOUBLE_EQUAL(x[i], i, 1e-6);
    const int64_t b[4] = {0, 1, 2, 2};
    dl_aug_resize_box(x, 1, 4, 4, b, tmp);
    const float want_row0[4] = {1, 1.25f, 1.75f, 2}, want_row3[4] = {5, 5.25f, 5.75f, 6};
    for (int j = 0; j < 4; j++) {
        CU_ASSERT_DOUBLE_EQUAL(x[j], want_row0[j], 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(x[12 + j], want_row3[j], 1e-6);
    }
}

static void test_saturation_hue(void)
{
    /* one pixel per plane: R, G, B */
    float p[3] = {0.8f, 0.4f, 0.2f};
    dl_aug_saturation(p, 1, 1.0f);
    CU_ASSERT_DOUBLE_EQUAL(p[0], 0.8, 1e-6);
    dl_aug_saturation(p, 1, 0.0f);   /* grey: 0.2989 * .8 + .587 * .4 + .114 * .2 = .49672 */
    for (int k = 0; k < 3; k++) CU_ASSERT_DOUBLE_EQUAL(p[k], 0.49672, 1e-5);
    float red[3] = {1, 0, 0};
    dl_aug_hue(red, 1, 1.0f / 3);    /* a third of a turn: red to green */
    CU_ASSERT_DOUBLE_EQUAL(red[0], 0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(red[1], 1, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(red[2], 0, 1e-6);
    float q[3] = {0.8f, 0.4f, 0.2f};
    dl_aug_hue(q, 1, 0.0f);          /* no shift: the round trip through HSV */
    CU_ASSERT_DOUBLE_EQUAL(q[0], 0.8, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(q[1], 0.4, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(q[2], 0.2, 1e-6);
    dl_aug_hue(q, 1, -0.5f);         /* half a turn: the complementary colour, same value and saturation */
    CU_ASSERT_DOUBLE_EQUAL(q[0], 0.2, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(q[1], 0.6, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(q[2], 0.8, 1e-6);
}

static void test_cutmix_box(void)
{
    dl_rng r;
    dl_aug_rng(&r, 3, 0, 0, 2);
    int64_t b[4];
    dl_aug_cutmix_box(&r, 8, 8, 1.0f, b);   /* lambda 1: nothing is cut */
    CU_ASSERT_EQUAL(b[2] * b[3], 0);
    float dst[16] = {0}, src[16];
    for (int i = 0; i < 16; i++) src[i] = 1;
    const int64_t box[4] = {1, 2, 2, 1};
    dl_aug_paste(dst, src, 1, 4, 4, box);
    int pasted = 0;
    for (int i = 0; i < 16; i++) pasted += dst[i] == 1;
    CU_ASSERT_EQUAL(pasted, 2);
    CU_ASSERT(dst[1 * 4 + 2] == 1 && dst[2 * 4 + 2] == 1);
}

/* n class-labelled images of c x h x w (pixels and labels left to the caller). */
static void image_set(dl_dataset *d, int64_t n, int64_t c, int64_t h, int64_t w, int classes)
{
    memset(d, 0, sizeof *d);
    d->n = n, d->x_numel = c * h * w, d->x_rank = 3;
    d->x_shape[0] = c, d->x_shape[1] = h, d->x_shape[2] = w;
    d->x = malloc((size_t)(n * c * h * w) * sizeof(float));
    d->y_class = calloc((size_t)n, sizeof(int32_t));
    d->label_kind = DL_LABEL_CLASS, d->y_numel = 1, d->num_classes = classes;
}

/* 12 samples of 1x6x6, sample i all pixels i + 1, class i % 3. CutMix with
 * p = 1: in every sample the pixels that are not its own value came from
 * its partner, and its label weight on its own class is exactly the share of
 * its own pixels (when the partner is of another class). */
static void test_cutmix_batch(void)
{
    dl_dataset d;
    image_set(&d, 12, 1, 6, 6, 3);
    for (int i = 0; i < 12; i++) {
        for (int k = 0; k < 36; k++) d.x[i * 36 + k] = (float)(i + 1);
        d.y_class[i] = i % 3;
    }
    const dl_augment_config a = {.cutmix_alpha = 1.0f, .cutmix_p = 1.0f};
    dl_batcher b;
    CU_ASSERT_FATAL(dl_batcher_init(&b, &d, 12, 0, 7) == 0);
    CU_ASSERT_FATAL(dl_batcher_set_augment(&b, &a, 1, 3) == 0);
    const float *x;
    const void *yv;
    CU_ASSERT_EQUAL_FATAL(dl_batcher_next(&b, &x, &yv), 12);
    const float *y = yv;
    int sums = 1, areas = 1, cut = 0;
    for (int i = 0; i < 12; i++) {
        int own = 0;
        for (int k = 0; k < 36; k++) own += x[i * 36 + k] == (float)(i + 1);
        cut += own < 36;
        sums &= fabsf(y[i * 3] + y[i * 3 + 1] + y[i * 3 + 2] - 1.0f) < 1e-6f;
        /* own class weight >= own share (a partner of the same class adds to it) */
        areas &= y[i * 3 + i % 3] >= own / 36.0f - 1e-6f;
        if (own < 36) {
            int partner_class = -1;
            for (int k = 0; k < 36; k++)
                if (x[i * 36 + k] != (float)(i + 1)) partner_class = ((int)x[i * 36 + k] - 1) % 3;
            if (partner_class != i % 3) areas &= fabsf(y[i * 3 + i % 3] - own / 36.0f) < 1e-6f;
        }
    }
    CU_ASSERT(sums);
    CU_ASSERT(areas);
    CU_ASSERT(cut >= 6);   /* Beta(1, 1): most samples get a box of at least one pixel */
    dl_batcher_free(&b);
    /* saturation on grey images is refused */
    const dl_augment_config s = {.saturation = 0.4f};
    CU_ASSERT_FATAL(dl_batcher_init(&b, &d, 4, 0, 7) == 0);
    CU_ASSERT_EQUAL(dl_batcher_set_augment(&b, &s, 1, 0), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "RGB"));
    dl_batcher_free(&b);
    dl_dataset_free(&d);
}

/* 3-channel samples through the batcher: saturation and hue keep values in
 * [0, 1], leave a grey image (R = G = B) as it is, and are the same for the
 * same seed; random_resized_crop of a constant image is that constant. */
static void test_colour_batch(void)
{
    dl_dataset d;
    image_set(&d, 6, 3, 4, 4, 1);
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 48; k++)
            /* samples 0..2 in colour, 3..5 grey (the same value in every channel) */
            d.x[i * 48 + k] = i < 3 ? (float)((i * 48 + k) * 37 % 101) / 100.0f : 0.1f * (float)i + 0.01f * (float)(k % 16);
    const dl_augment_config a = {.saturation = 0.8f, .hue = 0.3f, .rrc_scale = {0.3f, 1.0f}, .rrc_ratio = {0.75f, 4.0f / 3}};
    const dl_augment_config grey = {.saturation = 0.8f, .hue = 0.3f};
    float first[6 * 48];
    for (int run = 0; run < 3; run++) {
        dl_batcher b;
        CU_ASSERT_FATAL(dl_batcher_init(&b, &d, 6, 0, 11) == 0);
        CU_ASSERT_FATAL(dl_batcher_set_augment(&b, run < 2 ? &a : &grey, 1, 0) == 0);
        const float *x;
        const void *y;
        CU_ASSERT_EQUAL_FATAL(dl_batcher_next(&b, &x, &y), 6);
        int in01 = 1, changed = 0, grey_kept = 1;
        for (int k = 0; k < 6 * 48; k++) in01 &= x[k] >= 0 && x[k] <= 1;
        for (int k = 0; k < 3 * 48; k++) changed += fabsf(x[k] - d.x[k]) > 1e-3f;
        if (run == 0) memcpy(first, x, sizeof first);
        if (run == 1) CU_ASSERT(memcmp(first, x, sizeof first) == 0);
        if (run == 2)
            for (int k = 3 * 48; k < 6 * 48; k++) grey_kept &= fabsf(x[k] - d.x[k]) < 2e-4f;   /* the grey weights sum to 0.9999, as torchvision's */
        CU_ASSERT(in01);
        CU_ASSERT(changed > 20);
        CU_ASSERT(grey_kept);
        dl_batcher_free(&b);
    }
    /* a constant image stays constant through any resized crop */
    float c[48], tmp[48];
    for (int k = 0; k < 48; k++) c[k] = 0.25f;
    const int64_t box[4] = {1, 1, 2, 3};
    dl_aug_resize_box(c, 3, 4, 4, box, tmp);
    for (int k = 0; k < 48; k++) CU_ASSERT_DOUBLE_EQUAL(c[k], 0.25, 1e-7);
    dl_dataset_free(&d);
}

void suite_rt_augment_craft(void)
{
    CU_pSuite s = CU_add_suite("rt_augment_craft", NULL, NULL);
    CU_add_test(s, "random_resized_crop boxes", test_resized_box);
    CU_add_test(s, "resizing a box", test_resize_box);
    CU_add_test(s, "saturation and hue", test_saturation_hue);
    CU_add_test(s, "cutmix box and paste", test_cutmix_box);
    CU_add_test(s, "cutmix batch: labels by area", test_cutmix_batch);
    CU_add_test(s, "colour and resized crops in the batcher", test_colour_batch);
}
