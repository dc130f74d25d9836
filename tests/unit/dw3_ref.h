/* dw3_ref.h — the plain reference the 3x3 depthwise register kernels are
 * compared against (test_conv_dw3_tiny.c, test_conv_dw3_rows.c): the
 * definition, one output at a time, in double. */
#ifndef DLNC_TESTS_DW3_REF_H
#define DLNC_TESTS_DW3_REF_H
#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "gemm_internal.h"

/* Output (i, j) of plane p of a 3x3 depthwise convolution with padding 1:
 * sum over taps of k[t] * x[s*i + a - 1][s*j + b - 1], zero outside the
 * plane; with `rotate`, the taps turned by 180 degrees (the stride-1 data
 * gradient). */
static inline double dw3_ref_out(const dl_conv2d_geom *g, const float *x, const float *w, int rotate, int64_t p,
                                 int64_t i, int64_t j)
{
    const float *xp = x + p * g->h * g->w, *k = w + (p % g->c) * 9;
    double s = 0;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            const int64_t r = g->sh * i + a - 1, q = g->sw * j + b - 1;
            if (r < 0 || r >= g->h || q < 0 || q >= g->w) continue;
            s += (double)(rotate ? k[8 - (a * 3 + b)] : k[a * 3 + b]) * xp[r * g->w + q];
        }
    return s;
}

/* Tap (a, b) of channel c's weight gradient: the sum over images and outputs
 * (i, j) of gy[i][j] * x[s*i + a - 1][s*j + b - 1], in double. */
static inline double dw3_ref_wgrad(const dl_conv2d_geom *g, const float *x, const float *gy, int64_t c, int a, int b)
{
    double s = 0;
    for (int64_t img = 0; img < g->n; img++) {
        const int64_t p = img * g->c + c;
        for (int64_t i = 0; i < g->oh; i++)
            for (int64_t j = 0; j < g->ow; j++) {
                const int64_t r = g->sh * i + a - 1, q = g->sw * j + b - 1;
                if (r < 0 || r >= g->h || q < 0 || q >= g->w) continue;
                s += (double)gy[(p * g->oh + i) * g->ow + j] * x[p * g->h * g->w + r * g->w + q];
            }
    }
    return s;
}

/* A variant-selecting weight-gradient kernel: gw rows [c0, c1) over all
 * images, acc scratch of 16 * 9 * c floats; -1 if this CPU cannot run isa. */
typedef int (*dw3_wgrad_fn)(dl_gemv_isa isa, const dl_conv2d_geom *g, const float *x, const float *gy, float *gw,
                            int64_t c0, int64_t c1, float *acc);

/* One shape of the weight-gradient tests (test_conv_dw3_tiny.c,
 * test_conv_dw3_rows.c): fn in every variant on channels [1, c - 1) (NaN
 * canaries outside must stay), then dl_conv2d_bwd_weight at 1 and 2
 * threads (asserted the same bits), all against the double sums. Returns
 * the count of wrong values; *ran counts the variants run. */
static inline int dw3_check_wgrad(const dl_conv2d_geom *g, dw3_wgrad_fn fn, unsigned seed, int *ran)
{
    static const dl_gemv_isa isas[] = {DL_GEMV_PORTABLE, DL_GEMV_AVX2, DL_GEMV_AVX512, DL_GEMV_BEST};
    const int64_t planes = g->n * g->c, nx = planes * g->h * g->w, ny = planes * g->oh * g->ow, c0 = 1, c1 = g->c - 1;
    const int saved = omp_get_max_threads();
    float *x = malloc(sizeof(float) * (size_t)nx), *gy = malloc(sizeof(float) * (size_t)ny);
    float *gw[3], *acc = malloc(sizeof(float) * 16 * 9 * (size_t)g->c);
    int bad = 0;
    dl_fill_normal(x, nx, seed, 1);
    dl_fill_normal(gy, ny, seed + 2, 1);
    for (int t = 0; t < 3; t++) gw[t] = malloc(sizeof(float) * 9 * (size_t)g->c);
    for (size_t q = 0; q < sizeof isas / sizeof *isas; q++) {
        for (int64_t e = 0; e < g->c * 9; e++) gw[0][e] = NAN;
        if (fn(isas[q], g, x, gy, gw[0], c0, c1, acc)) continue;
        ++*ran;
        for (int64_t c = 0; c < g->c; c++)
            for (int k = 0; k < 9; k++) {
                const float got = gw[0][c * 9 + k];
                if (c < c0 || c >= c1) bad += !isnan(got);
                else bad += !(fabs(got - dw3_ref_wgrad(g, x, gy, c, k / 3, k % 3)) <= 1e-4 * (1 + fabs(got)));
            }
    }
    for (int t = 1; t < 3; t++) {
        omp_set_num_threads(t);
        CU_ASSERT_EQUAL(dl_conv2d_bwd_weight(g, x, gy, gw[t]), 0);
    }
    omp_set_num_threads(saved);
    CU_ASSERT_EQUAL(memcmp(gw[1], gw[2], sizeof(float) * 9 * (size_t)g->c), 0);
    for (int64_t c = 0; c < g->c; c++)
        for (int k = 0; k < 9; k++)
            bad += !(fabs(gw[1][c * 9 + k] - dw3_ref_wgrad(g, x, gy, c, k / 3, k % 3)) <= 1e-4 * (1 + fabs(gw[1][c * 9 + k])));
    free(x), free(gy), free(acc);
    for (int t = 0; t < 3; t++) free(gw[t]);
    return bad;
}

#endif
