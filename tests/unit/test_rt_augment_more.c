/* test_rt_augment_more.c — random_affine, random_grayscale, gaussian_blur
 * and random_erasing, solarize, posterize, autocontrast and equalize against references written here from torchvision's
 * definitions in double (the inverse affine matrix, affine_grid and
 * grid_sample with align_corners = False and the fill mask; the grey
 * weights; the 2-D kernel as an outer product over a reflect-padded image;
 * RandomErasing.get_params), applied with the parameters the runtime drew
 * (a copy of the per-sample generator replays the documented draws); the
 * batches are the same at 1 and 2 threads; bad configurations are errors. */
#include "augment_internal.h"
#include "dlnrt.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

static double max_diff(const float *a, const double *b, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

static void fill(float *x, int64_t n, unsigned seed)
{
    for (int64_t i = 0; i < n; i++) x[i] = (float)((i * 2654435761u + seed * 40503u) % 1000u) / 999.0f;
}

/* torchvision: _get_inverse_affine_matrix(center = [0, 0], angle, translate, scale, [shear, 0]),
 * then _gen_affine_grid, grid_sample(bilinear, zeros, align_corners = False) and, fill = 0,
 * img * mask with mask the same sampling of an all-ones plane. */
static void ref_affine(const float *in, double *out, int64_t c, int64_t h, int64_t w, const double p[5])
{
    const double rot = p[0] * PI / 180, sx = p[4] * PI / 180, sy = 0, tx = p[1], ty = p[2], s = p[3];
    const double a = cos(rot - sy) / cos(sy), b = -cos(rot - sy) * tan(sx) / cos(sy) - sin(rot);
    const double cc = sin(rot - sy) / cos(sy), d = -sin(rot - sy) * tan(sx) / cos(sy) + cos(rot);
    double m[6] = {d / s, -b / s, 0, -cc / s, a / s, 0};
    m[2] += m[0] * (-0 - tx) + m[1] * (-0 - ty);
    m[5] += m[3] * (-0 - tx) + m[4] * (-0 - ty);
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < w; j++) {
            const double gx = -w * 0.5 + 0.5 + j, gy = -h * 0.5 + 0.5 + i;   /* linspace(-w/2 + d, w/2 + d - 1) */
            const double nx = (m[0] * gx + m[1] * gy + m[2]) / (0.5 * w), ny = (m[3] * gx + m[4] * gy + m[5]) / (0.5 * h);
            const double ix = ((nx + 1) * w - 1) / 2, iy = ((ny + 1) * h - 1) / 2;   /* unnormalize, align_corners False */
            const double x0 = floor(ix), y0 = floor(iy);
            double mask = 0;
            for (int64_t k = 0; k < c; k++) {
                double v = 0;
                mask = 0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) {
                        const double yy = y0 + dy, xx = x0 + dx;
                        const double wt = (dy ? iy - y0 : 1 - (iy - y0)) * (dx ? ix - x0 : 1 - (ix - x0));
                        if (yy < 0 || yy > h - 1 || xx < 0 || xx > w - 1) continue;
                        v += wt * in[(k * h + (int64_t)yy) * w + (int64_t)xx];
                        mask += wt;
                    }
                out[(k * h + i) * w + j] = v * mask + (1 - mask) * 0.0;
            }
        }
}

static void test_affine(void)
{
    enum { C = 2, H = 7, W = 9 };
    float x[C * H * W], src[C * H * W], tmp[C * H * W];
    double want[C * H * W];
    fill(src, C * H * W, 1);
    const double cases[][5] = {{0, 0, 0, 1, 0}, {30, 0, 0, 1, 0}, {-17.5, 2, -1, 1, 0}, {12, -1, 3, 0.8, 0},
                               {5, 0, 0, 1.3, 20}, {-40, 1, 1, 0.9, -35}, {90, 0, 0, 1, 0}};
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        memcpy(x, src, sizeof x);
        dl_aug_affine(x, C, H, W, cases[t], tmp);
        ref_affine(src, want, C, H, W, cases[t]);
        CU_ASSERT(max_diff(x, want, C * H * W) < 1e-6);
    }
    /* the identity map leaves the image exactly */
    memcpy(x, src, sizeof x);
    dl_aug_affine(x, C, H, W, cases[0], tmp);
    CU_ASSERT(memcmp(x, src, sizeof x) == 0);
    /* the draws: RandomAffine.get_params's order and Python's round(), from the sample's generator */
    const dl_augment_config a = {.affine = 1, .affine_deg = 25, .affine_translate = {0.1f, 0.3f},
                                 .affine_scale = {0.8f, 1.2f}, .affine_shear = 10};
    int in_range = 1;
    for (int s = 0; s < 200; s++) {
        dl_rng r, q;
        dl_aug_rng(&r, 9, 0, s, 0);
        q = r;
        double p[5];
        dl_aug_affine_params(&r, &a, H, W, p);
        const double angle = -25 + 50.0 * dl_rng_uniform(&q);
        const double txr = -0.1 * W + 0.2 * W * (double)dl_rng_uniform(&q), tyr = -0.3 * H + 0.6 * H * (double)dl_rng_uniform(&q);
        const double sc = 0.8f + (1.2f - 0.8f) * (double)dl_rng_uniform(&q), sh = -10 + 20.0 * dl_rng_uniform(&q);
        in_range &= fabs(p[0] - angle) < 1e-5 && p[1] == nearbyint(txr) && p[2] == nearbyint(tyr) &&
                    fabs(p[3] - sc) < 1e-6 && fabs(p[4] - sh) < 1e-5 && fabs(p[1]) <= 1 && fabs(p[2]) <= 2;
    }
    CU_ASSERT(in_range);
}

static void test_grayscale(void)
{
    enum { HW = 10 };
    float x[3 * HW], src[3 * HW];
    fill(src, 3 * HW, 2);
    memcpy(x, src, sizeof x);
    dl_aug_grayscale(x, HW);
    double want[3 * HW];
    for (int i = 0; i < HW; i++)
        want[i] = want[HW + i] = want[2 * HW + i] = 0.2989 * src[i] + 0.587 * src[HW + i] + 0.114 * src[2 * HW + i];
    CU_ASSERT(max_diff(x, want, 3 * HW) < 1e-6);
}

/* torchvision's gaussian_blur: kernel2d = outer(k1, k1), the image reflect-padded by k / 2, conv2d. */
static void ref_blur(const float *in, double *out, int64_t c, int64_t h, int64_t w, int k, double sigma)
{
    double k1[DL_AUG_MAX_BLUR_KERNEL], sum = 0;
    for (int q = 0; q < k; q++) {
        const double xq = -(k - 1) * 0.5 + q * ((k - 1) * 1.0 / (k > 1 ? k - 1 : 1));   /* linspace */
        k1[q] = exp(-0.5 * (xq / sigma) * (xq / sigma));
        sum += k1[q];
    }
    for (int q = 0; q < k; q++) k1[q] /= sum;
    const int64_t ph = h + k - 1, pw = w + k - 1, half = k / 2;
    double *pad = malloc((size_t)(ph * pw) * sizeof *pad);
    for (int64_t ch = 0; ch < c; ch++) {
        for (int64_t i = 0; i < ph; i++)
            for (int64_t j = 0; j < pw; j++) {   /* np.pad(mode = "reflect") */
                int64_t si = i - half, sj = j - half;
                si = si < 0 ? -si : si >= h ? 2 * (h - 1) - si : si;
                sj = sj < 0 ? -sj : sj >= w ? 2 * (w - 1) - sj : sj;
                pad[i * pw + j] = in[(ch * h + si) * w + sj];
            }
        for (int64_t i = 0; i < h; i++)
            for (int64_t j = 0; j < w; j++) {
                double v = 0;
                for (int u = 0; u < k; u++)
                    for (int q = 0; q < k; q++) v += k1[u] * k1[q] * pad[(i + u) * pw + j + q];
                out[(ch * h + i) * w + j] = v;
            }
    }
    free(pad);
}

static void test_blur(void)
{
    enum { C = 3, H = 6, W = 8 };
    float x[C * H * W], src[C * H * W], tmp[C * H * W];
    double want[C * H * W];
    fill(src, C * H * W, 3);
    const int ks[] = {1, 3, 5, 7, 11};
    const double sigmas[] = {0.1, 0.7, 1.5, 2.0, 5.0};
    for (int t = 0; t < 5; t++) {
        if (ks[t] / 2 >= H) continue;
        memcpy(x, src, sizeof x);
        dl_aug_blur(x, C, H, W, ks[t], sigmas[t], tmp);
        ref_blur(src, want, C, H, W, ks[t], sigmas[t]);
        CU_ASSERT(max_diff(x, want, C * H * W) < 1e-6);
    }
    /* through dl_augment_sample: the p draw, then sigma ~ U[lo, hi] */
    const dl_augment_config a = {.blur_kernel = 5, .blur_sigma = {0.1f, 2.0f}, .blur_p = 0.5f};
    int agree = 1, blurred = 0;
    for (int s = 0; s < 20; s++) {
        dl_rng r, q;
        dl_aug_rng(&r, 4, 1, s, 0);
        q = r;
        memcpy(x, src, sizeof x);
        dl_augment_sample(&a, x, C, H, W, NULL, 0, NULL, &r, tmp);
        if (dl_rng_uniform(&q) < 0.5f) {
            ref_blur(src, want, C, H, W, 5, 0.1f + (2.0f - 0.1f) * dl_rng_uniform(&q));
            blurred++;
        } else
            for (int i = 0; i < C * H * W; i++) want[i] = src[i];
        agree &= max_diff(x, want, C * H * W) < 1e-6;
    }
    CU_ASSERT(agree);
    CU_ASSERT(blurred > 3 && blurred < 17);
}

/* RandomErasing.get_params, written out: 10 tries, log-uniform aspect, h = round(sqrt(area * aspect)). */
static int ref_erase_box(dl_rng *r, int64_t h, int64_t w, const float sc[2], const float ra[2], int64_t box[4])
{
    const double area = (double)h * w, l0 = log(ra[0]), l1 = log(ra[1]);
    for (int t = 0; t < 10; t++) {
        const double ea = area * (sc[0] + (sc[1] - sc[0]) * (double)dl_rng_uniform(r));
        const double ar = exp(l0 + (l1 - l0) * (double)dl_rng_uniform(r));
        const int64_t eh = (int64_t)nearbyint(sqrt(ea * ar)), ew = (int64_t)nearbyint(sqrt(ea / ar));
        if (!(eh < h && ew < w)) continue;
        box[0] = (int64_t)(dl_rng_next(r) % (uint64_t)(h - eh + 1));
        box[1] = (int64_t)(dl_rng_next(r) % (uint64_t)(w - ew + 1));
        box[2] = eh, box[3] = ew;
        return 1;
    }
    return 0;
}

/* n samples of c x h x w, class 0, pixels from fill(). */
static void image_set(dl_dataset *d, int64_t n, int64_t c, int64_t h, int64_t w)
{
    memset(d, 0, sizeof *d);
    d->n = n, d->x_numel = c * h * w, d->x_rank = 3;
    d->x_shape[0] = c, d->x_shape[1] = h, d->x_shape[2] = w;
    d->x = malloc((size_t)(n * c * h * w) * sizeof(float));
    fill(d->x, n * c * h * w, 5);
    d->y_class = calloc((size_t)n, sizeof(int32_t));
    d->label_kind = DL_LABEL_CLASS, d->y_numel = 1, d->num_classes = 2;
}

static void test_erasing(void)
{
    enum { N = 16, C = 3, H = 8, W = 10 };
    dl_dataset d;
    image_set(&d, N, C, H, W);
    for (int random = 0; random < 2; random++) {
        const dl_augment_config a = {.erase_p = 0.7f, .erase_scale = {0.02f, 0.33f}, .erase_ratio = {0.3f, 3.3f},
                                     .erase_value = 0.25f, .erase_random = random};
        dl_batcher b;
        CU_ASSERT_FATAL(dl_batcher_init(&b, &d, N, 0, 13) == 0);
        CU_ASSERT_FATAL(dl_batcher_set_augment(&b, &a, 1, 0) == 0);
        const float *x;
        const void *y;
        CU_ASSERT_EQUAL_FATAL(dl_batcher_next(&b, &x, &y), N);
        int agree = 1, erased = 0;
        for (int s = 0; s < N; s++) {
            dl_rng q;
            dl_aug_rng(&q, b.seed, b.epoch, s, 0);
            double want[C * H * W];
            for (int i = 0; i < C * H * W; i++) want[i] = d.x[s * C * H * W + i];
            int64_t box[4];
            if (dl_rng_uniform(&q) < 0.7f && ref_erase_box(&q, H, W, a.erase_scale, a.erase_ratio, box)) {
                erased++;
                for (int k = 0; k < C; k++)
                    for (int64_t i = box[0]; i < box[0] + box[2]; i++)
                        for (int64_t j = box[1]; j < box[1] + box[3]; j++)
                            want[(k * H + i) * W + j] = random ? dl_rng_normal(&q) : 0.25;
            }
            agree &= max_diff(x + s * C * H * W, want, C * H * W) == 0;
        }
        CU_ASSERT(agree);
        CU_ASSERT(erased > 4 && erased < N);
        dl_batcher_free(&b);
    }
    /* an impossible box (every try as large as the image) erases nothing */
    dl_rng r;
    dl_aug_rng(&r, 1, 0, 0, 0);
    int64_t box[4];
    const float all[2] = {1.0f, 1.0f}, square[2] = {1.0f, 1.0f};
    CU_ASSERT_EQUAL(dl_aug_erase_box(&r, 6, 6, all, square, box), 0);
    dl_dataset_free(&d);
}

/* torchvision v2's float branches: solarize_image, posterize_image, autocontrast_image; and
 * equalize_image on to_dtype(uint8, scale = True) written as v2 writes it (the step from the pixels
 * not at the channel's maximum, the cumulative table shifted by one bin), back / 255. */
static void ref_tone(const float *in, double *out, int64_t c, int64_t hw, int op, double arg)
{
    for (int64_t k = 0; k < c; k++) {
        const float *p = in + k * hw;
        double *o = out + k * hw;
        if (op == 0)
            for (int64_t i = 0; i < hw; i++) o[i] = p[i] >= (float)arg ? 1.0 - p[i] : p[i];
        if (op == 1)
            for (int64_t i = 0; i < hw; i++) o[i] = fmin(fmax(floor(p[i] * arg), 0), arg - 1) / arg;
        if (op == 2) {
            double mn = p[0], mx = p[0];
            for (int64_t i = 0; i < hw; i++) mn = fmin(mn, p[i]), mx = fmax(mx, p[i]);
            const double inv = mx - mn;
            for (int64_t i = 0; i < hw; i++) o[i] = inv == 0 ? fmin(fmax(p[i], 0), 1) : fmin(fmax((p[i] - mn) / inv, 0), 1);
        }
        if (op == 3) {
            long q[4096], hist[256] = {0}, cum[256], lut[256], top = 0;
            for (int64_t i = 0; i < hw; i++) {
                q[i] = (long)(p[i] * (255 + 1.0 - 1e-3));
                hist[q[i]]++;
                top = q[i] > top ? q[i] : top;
            }
            const long step = (hw - hist[top]) / 255;
            for (int b = 0; b < 256; b++) cum[b] = hist[b] + (b ? cum[b - 1] : 0);
            for (int b = 0; b < 256; b++) {
                const long v = b == 0 ? 0 : (cum[b - 1] + step / 2) / (step ? step : 1);
                lut[b] = v > 255 ? 255 : v;
            }
            for (int64_t i = 0; i < hw; i++) o[i] = (step ? lut[q[i]] : q[i]) / 255.0;
        }
    }
}

static void test_tone(void)
{
    enum { C = 3, HW = 600 };
    static float x[C * HW], src[C * HW];
    static double want[C * HW];
    for (int t = 0; t < 3; t++) {
        fill(src, C * HW, 7 + t);
        if (t == 1)
            for (int i = 0; i < C * HW; i++) src[i] = 0.3f + 0.2f * src[i];   /* a narrow range: equalize spreads it */
        if (t == 2)
            for (int i = 0; i < HW; i++) src[i] = 0.4f;                       /* a constant channel */
        memcpy(x, src, sizeof x), dl_aug_solarize(x, C * HW, 0.6f), ref_tone(src, want, C, HW, 0, 0.6f);
        CU_ASSERT(max_diff(x, want, C * HW) < 1e-7);
        for (int bits = 1; bits <= 8; bits++) {
            memcpy(x, src, sizeof x), dl_aug_posterize(x, C * HW, bits), ref_tone(src, want, C, HW, 1, 1 << bits);
            CU_ASSERT(max_diff(x, want, C * HW) < 1e-7);
        }
        memcpy(x, src, sizeof x), dl_aug_autocontrast(x, C, HW), ref_tone(src, want, C, HW, 2, 0);
        CU_ASSERT(max_diff(x, want, C * HW) < 1e-6);
        memcpy(x, src, sizeof x), dl_aug_equalize(x, C, HW), ref_tone(src, want, C, HW, 3, 0);
        CU_ASSERT(max_diff(x, want, C * HW) < 1e-7);
    }
    /* through dl_augment_sample: one probability draw each, in the documented order */
    const dl_augment_config a = {.solarize_threshold = 0.5f, .solarize_p = 0.5f, .posterize_bits = 3,
                                 .posterize_p = 0.5f, .autocontrast_p = 0.5f, .equalize_p = 0.5f};
    int agree = 1;
    static float tmp[C * HW];
    static double cur[C * HW];
    static float curf[C * HW];
    fill(src, C * HW, 3);
    for (int s = 0; s < 16; s++) {
        dl_rng r, q;
        dl_aug_rng(&r, 2, 0, s, 0);
        q = r;
        memcpy(x, src, sizeof x);
        dl_augment_sample(&a, x, C, 20, 30, NULL, 0, NULL, &r, tmp);
        memcpy(curf, src, sizeof curf);
        const double args[4] = {0.5f, 8, 0, 0};
        for (int op = 0; op < 4; op++)
            if (dl_rng_uniform(&q) < 0.5f) {
                ref_tone(curf, cur, C, HW, op, args[op]);
                for (int i = 0; i < C * HW; i++) curf[i] = (float)cur[i];
            }
        for (int i = 0; i < C * HW; i++) cur[i] = curf[i];
        agree &= max_diff(x, cur, C * HW) < 1e-6;
    }
    CU_ASSERT(agree);
}

/* All four (and the rest of a SimCLR list) at 1 and 2 threads: the same bytes. */
static void test_threads(void)
{
    enum { N = 24, C = 3, H = 32, W = 32 };
    dl_dataset d;
    image_set(&d, N, C, H, W);
    const dl_augment_config a = {.rrc_scale = {0.3f, 1.0f}, .rrc_ratio = {0.75f, 4.0f / 3}, .hflip = 0.5f,
                                 .affine = 1, .affine_deg = 15, .affine_translate = {0.1f, 0.1f},
                                 .affine_scale = {0.9f, 1.1f}, .affine_shear = 5, .gray_p = 0.3f,
                                 .blur_kernel = 3, .blur_sigma = {0.1f, 2.0f}, .blur_p = 0.5f,
                                 .norm_channels = 1, .norm_mean = {0.5f}, .norm_std = {0.25f},
                                 .erase_p = 0.5f, .erase_scale = {0.02f, 0.33f}, .erase_ratio = {0.3f, 3.3f},
                                 .erase_random = 1, .solarize_threshold = 0.7f, .solarize_p = 0.3f,
                                 .posterize_bits = 4, .posterize_p = 0.3f, .autocontrast_p = 0.3f, .equalize_p = 0.3f};
    static float out[2][N * C * H * W];
    const int saved = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        dl_batcher b;
        CU_ASSERT_FATAL(dl_batcher_init(&b, &d, N, 1, 21) == 0);
        CU_ASSERT_FATAL(dl_batcher_set_augment(&b, &a, 1, 0) == 0);
        const float *x;
        const void *y;
        CU_ASSERT_EQUAL_FATAL(dl_batcher_next(&b, &x, &y), N);
        memcpy(out[t], x, sizeof out[t]);
        dl_batcher_free(&b);
    }
    omp_set_num_threads(saved);
    CU_ASSERT(memcmp(out[0], out[1], sizeof out[0]) == 0);
    dl_dataset_free(&d);
}

static void test_bad(void)
{
    dl_dataset grey, rgb;
    image_set(&grey, 4, 1, 6, 6);
    image_set(&rgb, 4, 3, 4, 4);
    dl_batcher b;
    const dl_augment_config g = {.gray_p = 0.1f}, big = {.blur_kernel = 9, .blur_sigma = {0.1f, 2.0f}, .blur_p = 1},
                            even = {.blur_kernel = 4, .blur_sigma = {0.1f, 2.0f}, .blur_p = 1};
    CU_ASSERT_FATAL(dl_batcher_init(&b, &grey, 4, 0, 0) == 0);
    CU_ASSERT_EQUAL(dl_batcher_set_augment(&b, &g, 1, 0), -1);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), "augment: random_grayscale turns RGB images grey, but these have 1 channel");
    dl_batcher_free(&b);
    CU_ASSERT_FATAL(dl_batcher_init(&b, &rgb, 4, 0, 0) == 0);
    CU_ASSERT_EQUAL(dl_batcher_set_augment(&b, &big, 1, 0), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "reflect padding"));
    dl_batcher_free(&b);
    CU_ASSERT_FATAL(dl_batcher_init(&b, &rgb, 4, 0, 0) == 0);
    CU_ASSERT_EQUAL(dl_batcher_set_augment(&b, &even, 1, 0), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "must be odd"));
    dl_batcher_free(&b);
    dl_dataset_free(&grey);
    dl_dataset_free(&rgb);
}

void suite_rt_augment_more(void)
{
    CU_pSuite s = CU_add_suite("rt_augment_more", NULL, NULL);
    CU_add_test(s, "random_affine = torchvision's affine", test_affine);
    CU_add_test(s, "random_grayscale", test_grayscale);
    CU_add_test(s, "gaussian_blur = torchvision's", test_blur);
    CU_add_test(s, "random_erasing = torchvision's get_params", test_erasing);
    CU_add_test(s, "solarize, posterize, autocontrast, equalize = torchvision v2's", test_tone);
    CU_add_test(s, "the same batches at 1 and 2 threads", test_threads);
    CU_add_test(s, "bad configurations", test_bad);
}
