/* test_conv_affine.c — dl_conv2d_affine (runtime/conv_affine.c) and the
 * epilogue-as-data kernels of conv_pointwise.c against plain loops in double.
 *
 * The reference is y = clamp(conv(x, w) * scale[c] + shift[c] + residual),
 * clamp(v) = v > lo ? (v < hi ? v : hi) : lo, computed in double. Checked:
 *   - the 1x1 tiles finishing in registers (dl_pw_matmul_affine_isa), every
 *     variant this CPU runs (portable, AVX2, AVX-512), each combination of
 *     residual and clamp (relu6's [0, 6] and relu's [0, inf)), row counts
 *     around the tile heights, planes with and without a partial vector;
 *   - the per-row epilogue of the other convolutions (dl_affine_rows_isa),
 *     also in place and onto its own residual (the plan may share them);
 *   - the entry point on pointwise geometries (fused), every depthwise 3x3
 *     form conv_dw3_rows.c computes (finished in registers) and the 4x4
 *     planes (by chunks), a 9x9 depthwise, a 3x3 and a stride-2 1x1
 *     (written first, then finished), batches 1 to 5,
 *     bit for bit the same at 1 and 2 threads. Outputs start as NaN so a
 *     missed element fails. */
#include "conv_pointwise_internal.h"
#include "dlnrt.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static const dl_gemv_isa isas[] = {DL_GEMV_PORTABLE, DL_GEMV_AVX2, DL_GEMV_AVX512, DL_GEMV_BEST};

static float *randn(int64_t n, uint64_t seed)
{
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    dl_fill_normal(p, n, seed, 1);
    return p;
}

static float *nans(int64_t n)
{
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) p[i] = NAN;
    return p;
}

static double clampd(double v, const dl_conv_affine *a)
{
    return !a->clamp ? v : v > a->lo ? (v < a->hi ? v : a->hi) : a->lo;
}

/* The epilogue of pre-activation t at channel c, element e of the residual. */
static double finish(double t, const dl_conv_affine *a, int64_t c, int64_t e)
{
    double v = t * a->scale[c] + a->shift[c];
    if (a->residual) v += a->residual[e];
    return clampd(v, a);
}

/* Rounding of a sum of `depth` products of N(0,1) values, then an affine of scale ~1. */
static int close_to(float got, double ref, int64_t depth)
{
    return fabs(got - ref) <= 1e-5 * (1.0 + sqrt((double)depth)) * 8 + 1e-6 * fabs(ref);
}

/* The four forms: residual or not, clamp or not (two clamps). */
static dl_conv_affine form(int k, const float *scale, const float *shift, const float *res)
{
    dl_conv_affine a = {.scale = scale, .shift = shift, .residual = (k & 1) ? res : NULL, .clamp = (k & 2) != 0};
    a.lo = 0.0f, a.hi = (k & 4) ? INFINITY : 6.0f;
    return a;
}

static void test_matmul_affine_variants(void)
{
    static const int64_t Ms[] = {1, 5, 6, 7, 8, 13, 15, 24};
    static const int64_t Ks[] = {1, 16, 23};
    static const int64_t Ps[] = {1, 15, 16, 17, 64, 100};
    int ran = 0, bad = 0;
    for (size_t vi = 0; vi < sizeof isas / sizeof *isas; vi++)
        for (size_t mi = 0; mi < sizeof Ms / sizeof *Ms; mi++)
            for (size_t ki = 0; ki < sizeof Ks / sizeof *Ks; ki++)
                for (size_t pi = 0; pi < sizeof Ps / sizeof *Ps; pi++)
                    for (int k = 0; k < 8; k++) {
                        const int64_t M = Ms[mi], K = Ks[ki], P = Ps[pi];
                        float *a = randn(M * K, 1 + mi), *x = randn(K * P, 2 + ki), *r = randn(M * P, 3 + pi);
                        float *s = randn(M, 4), *b = randn(M, 5), *y = nans(M * P);
                        for (int64_t i = 0; i < M; i++) s[i] *= 3.0f; /* values on both sides of 0 and 6 */
                        const dl_conv_affine ep = form(k, s, b, r);
                        if (dl_pw_matmul_affine_isa(isas[vi], M, K, P, a, K, 1, x, y, k == 5, &ep) == 0) {
                            ran++;
                            for (int64_t i = 0; i < M; i++)
                                for (int64_t q = 0; q < P; q++) {
                                    double t = 0;
                                    for (int64_t kk = 0; kk < K; kk++) t += (double)a[i * K + kk] * x[kk * P + q];
                                    bad += !close_to(y[i * P + q], finish(t, &ep, i, i * P + q), K);
                                }
                        }
                        free(a), free(x), free(r), free(s), free(b), free(y);
                    }
    CU_ASSERT(ran > 0);
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_rows_variants(void)
{
    static const int64_t Ps[] = {1, 16, 17, 49, 64};
    int ran = 0, bad = 0;
    for (size_t vi = 0; vi < sizeof isas / sizeof *isas; vi++)
        for (size_t pi = 0; pi < sizeof Ps / sizeof *Ps; pi++)
            for (int k = 0; k < 8; k++)
                for (int where = 0; where < 3; where++) { /* dst apart, dst = src, dst = residual */
                    const int64_t M = 7, P = Ps[pi];
                    float *src = randn(M * P, 11 + pi), *r = randn(M * P, 12), *s = randn(M, 13), *b = randn(M, 14);
                    float *keep_src = malloc(sizeof(float) * (size_t)(M * P)), *keep_r = malloc(sizeof(float) * (size_t)(M * P));
                    memcpy(keep_src, src, sizeof(float) * (size_t)(M * P));
                    memcpy(keep_r, r, sizeof(float) * (size_t)(M * P));
                    for (int64_t i = 0; i < M * P; i++) src[i] = keep_src[i] *= 4.0f;
                    float *apart = nans(M * P);
                    float *dst = where == 0 ? apart : where == 1 ? src : r;
                    if (where == 2 && !(k & 1)) dst = apart; /* no residual to write onto */
                    dl_conv_affine ep = form(k, s, b, r);
                    dl_conv_affine ref = form(k, s, b, keep_r);
                    if (dl_affine_rows_isa(isas[vi], M, P, src, dst, &ep) == 0) {
                        ran++;
                        for (int64_t i = 0; i < M; i++)
                            for (int64_t q = 0; q < P; q++)
                                bad += !close_to(dst[i * P + q], finish(keep_src[i * P + q], &ref, i, i * P + q), 1);
                    }
                    free(src), free(r), free(s), free(b), free(keep_src), free(keep_r), free(apart);
                }
    CU_ASSERT(ran > 0);
    CU_ASSERT_EQUAL(bad, 0);
}

/* conv(x, w)[i, o, p] in double, any geometry (groups included). */
static double ref_conv(const dl_conv2d_geom *g, const float *x, const float *w, int64_t i, int64_t o, int64_t oy,
                       int64_t ox)
{
    const int64_t cg = g->c / g->groups, og = g->oc / g->groups, grp = o / og;
    double t = 0;
    for (int64_t c = 0; c < cg; c++)
        for (int64_t ky = 0; ky < g->kh; ky++)
            for (int64_t kx = 0; kx < g->kw; kx++) {
                const int64_t iy = oy * g->sh - g->pt + ky * g->dh, ix = ox * g->sw - g->pl + kx * g->dw;
                if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                t += (double)x[((i * g->c + grp * cg + c) * g->h + iy) * g->w + ix] *
                     w[((o * cg + c) * g->kh + ky) * g->kw + kx];
            }
    return t;
}

static void test_entry_point(void)
{
    /* {n, c, h, w, oc, k, stride, pad, groups} */
    static const int64_t cases[][9] = {
        {1, 16, 32, 32, 96, 1, 1, 0, 1},  /* MobileNetV2's expand, batch 1 */
        {1, 96, 8, 8, 24, 1, 1, 0, 1},    /* project */
        {5, 24, 4, 4, 144, 1, 1, 0, 1},   /* batch above the threads, 4x4 planes */
        {3, 20, 5, 7, 12, 1, 1, 0, 1},    /* odd plane: partial vectors */
        {1, 32, 8, 8, 32, 3, 1, 1, 32},   /* depthwise 3x3, 8 wide (conv_dw3_rows.c under AVX-512) */
        {1, 16, 7, 8, 16, 3, 1, 1, 16},   /* 8 wide, odd height: a half vector last */
        {2, 8, 2, 8, 8, 3, 1, 1, 8},      /* 8 wide, 2 rows: above and below from one vector */
        {1, 8, 6, 8, 8, 3, 1, 1, 8},      /* 8 wide, even height */
        {1, 64, 4, 4, 60, 1, 1, 0, 1},    /* 4x4 planes: tiles of 8 rows, then 4 */
        {1, 8, 16, 16, 8, 3, 1, 1, 8},    /* 16 wide */
        {2, 8, 32, 32, 8, 3, 1, 1, 8},    /* 32 wide */
        {2, 16, 32, 32, 16, 3, 2, 1, 16}, /* stride 2, 32 -> 16 */
        {3, 8, 16, 16, 8, 3, 2, 1, 8},    /* stride 2, 16 -> 8 */
        {2, 24, 4, 4, 24, 3, 1, 1, 24},   /* 4x4 planes (conv_dw3_tiny.c): by chunks of planes */
        {1, 40, 8, 8, 40, 3, 2, 1, 40},   /* stride 2, 8 -> 4 */
        {5, 8, 9, 9, 8, 3, 2, 1, 8},      /* depthwise elsewhere: written first, then finished */
        {2, 3, 12, 12, 16, 3, 1, 1, 1},   /* a 3x3 */
        {3, 16, 8, 8, 32, 1, 2, 0, 1},    /* 1x1 stride 2 */
    };
    const int saved = omp_get_max_threads();
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++)
        for (int k = 0; k < 8; k++) {
            const int64_t *q = cases[ci];
            const int64_t pad = q[7], oh = (q[2] + 2 * pad - q[5]) / q[6] + 1, ow = (q[3] + 2 * pad - q[5]) / q[6] + 1;
            const dl_conv2d_geom g = {.n = q[0], .c = q[1], .h = q[2], .w = q[3], .oc = q[4], .oh = oh, .ow = ow,
                                      .kh = q[5], .kw = q[5], .sh = q[6], .sw = q[6], .pt = pad, .pb = pad,
                                      .pl = pad, .pr = pad, .dh = 1, .dw = 1, .groups = q[8]};
            const int64_t xn = g.n * g.c * g.h * g.w, wn = g.oc * (g.c / g.groups) * g.kh * g.kw,
                          yn = g.n * g.oc * oh * ow;
            float *x = randn(xn, 21 + ci), *w = randn(wn, 22), *r = randn(yn, 23), *s = randn(g.oc, 24),
                  *b = randn(g.oc, 25);
            for (int64_t i = 0; i < g.oc; i++) s[i] *= 0.5f;
            const dl_conv_affine ep = form(k, s, b, r);
            float *y[2], *yc[2];
            for (int t = 0; t < 2; t++) {
                y[t] = nans(yn), yc[t] = nans(yn);
                omp_set_num_threads(t + 1);
                CU_ASSERT_EQUAL(dl_conv2d_affine(&g, x, w, yc[t], y[t], &ep), 0);
            }
            omp_set_num_threads(saved);
            CU_ASSERT_EQUAL(memcmp(y[0], y[1], sizeof(float) * (size_t)yn), 0);
            int bad = 0;
            for (int64_t i = 0; i < g.n; i++)
                for (int64_t o = 0; o < g.oc; o++)
                    for (int64_t p = 0; p < oh * ow; p++) {
                        const int64_t e = (i * g.oc + o) * oh * ow + p;
                        const double t = ref_conv(&g, x, w, i, o, p / ow, p % ow);
                        bad += !close_to(y[0][e], finish(t, &ep, o, e), g.c / g.groups * g.kh * g.kw);
                    }
            CU_ASSERT_EQUAL(bad, 0);
            free(x), free(w), free(r), free(s), free(b);
            for (int t = 0; t < 2; t++) free(y[t]), free(yc[t]);
        }
}

void suite_conv_affine(void)
{
    CU_pSuite s = CU_add_suite("conv_affine", NULL, NULL);
    CU_add_test(s, "1x1 tiles with the epilogue in registers vs loops", test_matmul_affine_variants);
    CU_add_test(s, "per-row epilogue, apart, in place, onto the residual", test_rows_variants);
    CU_add_test(s, "dl_conv2d_affine vs loops, 1 = 2 threads", test_entry_point);
}
