/* rand_buffers.h — random operands, NaN-filled outputs and a tolerance
 * check for the kernel tests that compare against a double-precision loop
 * (test_conv_s2.c, test_conv_s2_wgrad.c). Header-only: each test file
 * defines RAND_BUFFERS_SEED before including it and gets its own sequence. */
#ifndef TESTS_RAND_BUFFERS_H
#define TESTS_RAND_BUFFERS_H
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "dlnrt.h"
#include "emitted.h"

static uint64_t state = RAND_BUFFERS_SEED;

static inline int64_t pick(int64_t lo, int64_t hi) {
    return lo + (int64_t)(emitted_urand(&state) * (double)(hi - lo + 1));
}

static inline float *values(int64_t n) {
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) v[i] = (float)(2.0 * emitted_urand(&state) - 1.0);
    return v;
}

static inline float *nans(int64_t n) {
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) v[i] = NAN;
    return v;
}

/* A 64-byte aligned scratch buffer, filled with NaN (the kernels must not read what they did not write). */
static inline float *scratch_nans(int64_t floats) {
    size_t bytes = (sizeof(float) * (size_t)floats + 63) / 64 * 64;
    float *v = aligned_alloc(64, bytes ? bytes : 64);
    for (size_t i = 0; i < bytes / sizeof(float); i++) v[i] = NAN;
    return v;
}

/* A square stride-2 geometry: n images of c channels, h x h, a k x k kernel padded by p on
 * every side, oc output channels (the ResNet-like shapes both stride-2 tests sweep). */
static inline dl_conv2d_geom stride2_square(int64_t n, int64_t c, int64_t oc, int64_t h, int64_t k, int64_t p) {
    dl_conv2d_geom g = {.n = n, .c = c, .oc = oc, .h = h, .w = h, .kh = k, .kw = k, .sh = 2, .sw = 2, .dh = 1, .dw = 1,
                        .groups = 1, .pt = p, .pb = p, .pl = p, .pr = p};
    g.oh = g.ow = (h + 2 * p - k) / 2 + 1;
    return g;
}

static inline int close_to(const float *got, const double *want, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= 1e-4 * (1.0 + fabs(want[i])))) return 0;
    return 1;
}

#endif
