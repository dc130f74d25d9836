/* test_rt_augment_rand.c — rand_augment against a reference written here
 * from torchvision's definition (transforms.v2.RandAugment and the v2
 * functional ops it calls, num_magnitude_bins = 31, NEAREST, fill 0), with
 * the draws the runtime made: a copy of the sample's generator replays them
 * (per op: the op index uniform over the 14, then for a signed op the sign,
 * negative when U <= 0.5).
 *
 * The reference goes the way torchvision does: magnitudes from the bins'
 * formulas (linspace(lo, hi, 31)[m] = lo + (hi - lo) m / 30, posterize's
 * round(8 - m / 7.5)), the geometric ops through _get_inverse_affine_matrix
 * (center = [0, 0] for the shears, i.e. center_f = -size / 2), _affine_grid's
 * normalized base grid and grid_sample's unnormalization (align_corners =
 * False) rounded to the nearest pixel, 0 outside; the photometric ops as
 * _blend of the image with 0 (brightness), its grey image (color), the grey
 * image's mean (contrast) or its 3x3 [1 1 1; 1 5 1; 1 1 1] / 13 smoothing,
 * borders kept (sharpness). posterize, solarize, autocontrast and equalize
 * are augment_tone.c's, tested against torchvision in rt_augment_more.
 * Every op is drawn at least once; the mask follows each geometric op
 * exactly; the same batch at 1 and 2 threads; bad arguments refused. */
#include "augment_internal.h"
#include "dlnrt.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846
enum { C = 3, H = 13, W = 17 };

static void fill_image(float *x, int64_t n, unsigned seed)
{
    for (int64_t i = 0; i < n; i++) x[i] = (float)((i * 2654435761u + seed * 40503u) % 1000u) / 999.0f;
}

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

/* torchvision's _get_inverse_affine_matrix */
static void ref_inverse(const double center[2], double angle, const double tr[2], double scale, const double shear[2],
                        double m[6])
{
    const double rot = angle * PI / 180, sx = shear[0] * PI / 180, sy = shear[1] * PI / 180;
    const double cx = center[0], cy = center[1], tx = tr[0], ty = tr[1];
    const double a = cos(rot - sy) / cos(sy), b = -cos(rot - sy) * tan(sx) / cos(sy) - sin(rot);
    const double c = sin(rot - sy) / cos(sy), d = -sin(rot - sy) * tan(sx) / cos(sy) + cos(rot);
    m[0] = d / scale, m[1] = -b / scale, m[2] = 0, m[3] = -c / scale, m[4] = a / scale, m[5] = 0;
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
    m[2] += cx;
    m[5] += cy;
}

/* A source position exactly halfway between two pixels (e.g. rotating by 30
 * degrees: sin = 1/2) rounds either way depending on the last bit of the
 * arithmetic (torchvision's grid is float32): such samples are not compared. */
static int tie;

/* _affine_grid + grid_sample(mode = "nearest", padding_mode = "zeros", align_corners = False) */
static void ref_warp(const float *in, double *out, const double m[6])
{
    for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < W; j++) {
            const double bx = -W * 0.5 + 0.5 + j, by = -H * 0.5 + 0.5 + i;   /* base grid */
            const double gx = (m[0] * bx + m[1] * by + m[2]) / (0.5 * W), gy = (m[3] * bx + m[4] * by + m[5]) / (0.5 * H);
            const double fx = ((gx + 1) * W - 1) / 2, fy = ((gy + 1) * H - 1) / 2;
            const double ix = nearbyint(fx), iy = nearbyint(fy);
            tie |= fabs(fabs(fx - ix) - 0.5) < 1e-9 || fabs(fabs(fy - iy) - 0.5) < 1e-9;
            const int inside = ix >= 0 && ix < W && iy >= 0 && iy < H;
            for (int64_t k = 0; k < C; k++)
                out[(k * H + i) * W + j] = inside ? in[(k * H + (int64_t)iy) * W + (int64_t)ix] : 0.0;
        }
}

static const int is_signed[14] = {0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};

/* One op of the list on in (float) into out (double), as torchvision. */
static void ref_op(const float *in, double *out, int op, double mag)
{
    const int64_t hw = H * W, n = C * hw;
    const double zero[2] = {0, 0}, corner[2] = {-0.5 * W, -0.5 * H};
    double m[6], grey[H * W], mean = 0;
    for (int64_t p = 0; p < hw; p++) grey[p] = (float)(0.2989 * in[p] + 0.587 * in[hw + p] + 0.114 * in[2 * hw + p]);
    for (int64_t p = 0; p < hw; p++) mean += grey[p];
    mean /= hw;
    for (int64_t i = 0; i < n; i++) out[i] = in[i];
    switch (op) {
    case 1: ref_inverse(corner, 0, zero, 1, (double[2]){atan(mag) * 180 / PI, 0}, m); ref_warp(in, out, m); break;
    case 2: ref_inverse(corner, 0, zero, 1, (double[2]){0, atan(mag) * 180 / PI}, m); ref_warp(in, out, m); break;
    case 3: ref_inverse(zero, 0, (double[2]){(double)(int)mag, 0}, 1, zero, m); ref_warp(in, out, m); break;
    case 4: ref_inverse(zero, 0, (double[2]){0, (double)(int)mag}, 1, zero, m); ref_warp(in, out, m); break;
    case 5: ref_inverse(zero, -mag, zero, 1, zero, m); ref_warp(in, out, m); break;   /* F.rotate passes -angle */
    case 6: for (int64_t i = 0; i < n; i++) out[i] = clamp01((1 + mag) * in[i]); break;
    case 7: for (int64_t i = 0; i < n; i++) out[i] = clamp01((1 + mag) * in[i] - mag * grey[i % hw]); break;
    case 8: for (int64_t i = 0; i < n; i++) out[i] = clamp01((1 + mag) * in[i] - mag * mean); break;
    case 9:
        for (int64_t k = 0; k < C; k++)
            for (int64_t i = 1; i < H - 1; i++)
                for (int64_t j = 1; j < W - 1; j++) {
                    double s = 0;
                    for (int di = -1; di <= 1; di++)
                        for (int dj = -1; dj <= 1; dj++)
                            s += in[(k * H + i + di) * W + j + dj] * (di == 0 && dj == 0 ? 5.0 : 1.0) / 13.0;
                    out[(k * H + i) * W + j] = clamp01((1 + mag) * in[(k * H + i) * W + j] - mag * s);
                }
        break;
    default: {   /* the tone ops: augment_tone.c's */
        float t[C * H * W];
        memcpy(t, in, sizeof t);
        if (op == 10) dl_aug_posterize(t, n, (int)mag);
        if (op == 11) dl_aug_solarize(t, n, (float)mag);
        if (op == 12) dl_aug_autocontrast(t, C, hw);
        if (op == 13) dl_aug_equalize(t, C, hw);
        for (int64_t i = 0; i < n; i++) out[i] = t[i];
    }
    }
}

static double ref_magnitude(int op, int m)
{
    switch (op) {
    case 1: case 2: return 0.3 * m / 30;
    case 3: return 150.0 / 331.0 * W * m / 30;
    case 4: return 150.0 / 331.0 * H * m / 30;
    case 5: return 30.0 * m / 30;
    case 6: case 7: case 8: case 9: return 0.9 * m / 30;
    case 10: return nearbyint(8 - m / 7.5);
    case 11: return 1.0 - (double)m / 30;
    default: return 0;
    }
}

static void test_reference(void)
{
    static const int mags[] = {0, 9, 17, 30};
    int seen[14] = {0}, ties = 0;
    double worst = 0;
    for (size_t q = 0; q < sizeof mags / sizeof *mags; q++)
        for (int64_t sample = 0; sample < 120; sample++) {
            const dl_augment_config a = {.ra_ops = 2, .ra_magnitude = mags[q]};
            float x[C * H * W], tmp[C * H * W], cur[C * H * W];
            double ref[C * H * W];
            fill_image(x, C * H * W, (unsigned)sample);
            memcpy(cur, x, sizeof x);
            tie = 0;
            dl_rng r, replay;
            dl_aug_rng(&r, 11, 2, sample, 0);
            replay = r;
            dl_augment_sample(&a, x, C, H, W, NULL, 0, NULL, &r, tmp);
            for (int t = 0; t < a.ra_ops; t++) {
                const int op = (int)(dl_rng_next(&replay) % 14);
                double mag = ref_magnitude(op, a.ra_magnitude);
                if (is_signed[op] && dl_rng_uniform(&replay) <= 0.5) mag = -mag;
                ref_op(cur, ref, op, mag);
                for (int64_t i = 0; i < C * H * W; i++) cur[i] = (float)ref[i];
                seen[op]++;
            }
            ties += tie;
            for (int64_t i = 0; !tie && i < C * H * W; i++) worst = fmax(worst, fabs(x[i] - ref[i]));
        }
    CU_ASSERT(worst <= 2e-6);
    CU_ASSERT(ties < 4 * 120 / 10);
    for (int op = 0; op < 14; op++) CU_ASSERT(seen[op] > 0);
}

/* Each geometric op moves a class-id mask exactly as the image (both nearest). */
static void test_mask(void)
{
    float x[H * W], tmp[H * W];
    int32_t m[H * W], mtmp[H * W];
    int ok = 1;
    for (int op = DL_RA_SHEAR_X; op <= DL_RA_ROTATE; op++)
        for (int bin = 1; bin < DL_RA_BINS; bin += 7)
            for (int sign = -1; sign <= 1; sign += 2) {
                for (int64_t p = 0; p < H * W; p++) m[p] = (int32_t)((p / W / 3 + p % W / 4) % 4), x[p] = (float)(m[p] + 1);
                double M[6];
                const double mag = sign * (op <= DL_RA_SHEAR_Y ? 0.01 * bin : op == DL_RA_ROTATE ? bin : 0.3 * bin);
                CU_ASSERT_FATAL(dl_aug_rand_matrix(op, mag, H, W, M));
                dl_aug_rand_apply(x, 1, H, W, op, mag, tmp);
                dl_aug_mask_map(m, H, W, M, 255, mtmp);
                for (int64_t p = 0; p < H * W; p++) ok &= x[p] == 0 ? m[p] == 255 : m[p] == (int32_t)x[p] - 1;
            }
    CU_ASSERT(ok);
    CU_ASSERT_FALSE(dl_aug_rand_matrix(DL_RA_BRIGHTNESS, 0.3, H, W, (double[6]){0}));
    /* through dl_augment_sample: a dense label (0 outside) and a class-id mask (255 outside) move alike */
    const dl_augment_config a = {.ra_ops = 3, .ra_magnitude = 20};
    int moved = 0;
    for (int64_t sample = 0; sample < 40; sample++) {
        float img[C * H * W], y[H * W], t3[C * H * W];
        fill_image(img, C * H * W, (unsigned)sample);
        for (int64_t p = 0; p < H * W; p++) m[p] = (int32_t)((p / W / 3 + p % W / 4) % 4), y[p] = (float)(m[p] + 1);
        dl_rng r;
        dl_aug_rng(&r, 3, 0, sample, 0);
        const dl_aug_mask mk = {m, 255, mtmp};
        dl_augment_sample(&a, img, C, H, W, y, 1, &mk, &r, t3);
        for (int64_t p = 0; p < H * W; p++) {
            ok &= y[p] == (m[p] == 255 ? 0.0f : (float)(m[p] + 1));
            moved |= m[p] != (int32_t)((p / W / 3 + p % W / 4) % 4);
        }
    }
    CU_ASSERT(ok);
    CU_ASSERT(moved);
}

/* A batch of RGB images through the batcher: the same bytes at 1 and 2 threads. */
static void test_threads(void)
{
    enum { N = 64, S = 40 };
    dl_dataset d = {.n = N, .x_rank = 3, .x_shape = {3, S, S}, .x_numel = 3 * S * S, .label_kind = DL_LABEL_CLASS,
                    .num_classes = 2};
    d.x = malloc(sizeof(float) * N * 3 * S * S);
    d.y_class = calloc(N, sizeof(int32_t));
    CU_ASSERT_FATAL(d.x && d.y_class);
    fill_image(d.x, N * 3 * S * S, 5);
    const dl_augment_config a = {.ra_ops = 3, .ra_magnitude = 15, .hflip = 0.5f};
    float *out[2];
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        dl_batcher b;
        const float *x;
        const void *y;
        CU_ASSERT_FATAL(dl_batcher_init(&b, &d, N, 1, 9) == 0);
        CU_ASSERT_FATAL(dl_batcher_set_augment(&b, &a, 1, 0) == 0);
        CU_ASSERT_EQUAL(dl_batcher_next(&b, &x, &y), N);
        out[t] = malloc(sizeof(float) * N * 3 * S * S);
        memcpy(out[t], x, sizeof(float) * N * 3 * S * S);
        dl_batcher_free(&b);
    }
    omp_set_num_threads(1);
    CU_ASSERT(memcmp(out[0], out[1], sizeof(float) * N * 3 * S * S) == 0);
    const dl_augment_config bad = {.ra_ops = 2, .ra_magnitude = 31};
    dl_batcher b;
    CU_ASSERT_FATAL(dl_batcher_init(&b, &d, N, 1, 9) == 0);
    CU_ASSERT_EQUAL(dl_batcher_set_augment(&b, &bad, 1, 0), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "rand_augment"));
    dl_batcher_free(&b);
    free(out[0]);
    free(out[1]);
    free(d.x);
    free(d.y_class);
}

void suite_rt_augment_rand(void)
{
    CU_pSuite s = CU_add_suite("rt_augment_rand", NULL, NULL);
    CU_add_test(s, "rand_augment = torchvision's RandAugment with the same draws", test_reference);
    CU_add_test(s, "a mask follows each geometric op", test_mask);
    CU_add_test(s, "the same batch at 1 and 2 threads; bad arguments", test_threads);
}
