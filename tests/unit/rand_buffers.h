/* rand_buffers.h — random operands, NaN-filled outputs and a tolerance
 * check for the kernel tests that compare against a double-precision loop
 * (test_conv_s2.c, test_conv_s2_wgrad.c). Header-only: each test file
 * defines RAND_BUFFERS_SEED before including it and gets its own sequence. */
#ifndef TESTS_RAND_BUFFERS_H
#define TESTS_RAND_BUFFERS_H
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

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

static inline int close_to(const float *got, const double *want, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= 1e-4 * (1.0 + fabs(want[i])))) return 0;
    return 1;
}

#endif
