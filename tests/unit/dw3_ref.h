/* dw3_ref.h — the plain reference the 3x3 depthwise register kernels are
 * compared against (test_conv_dw3_tiny.c, test_conv_dw3_rows.c): the
 * definition, one output at a time, in double. */
#ifndef DLNC_TESTS_DW3_REF_H
#define DLNC_TESTS_DW3_REF_H
#include <stdint.h>

#include "dlnrt.h"

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

#endif
