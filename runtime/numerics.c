/* numerics.c — finding non-finite floats, for the three places that refuse
 * them: the training driver's per-epoch parameter scan (train.c), the
 * checkpoint writer (safetensors.c), and the per-kernel checks that
 * `dlnc --check-numerics` compiles into a model's step functions.
 *
 * The scan runs over every parameter once per epoch and once per save, so it
 * must cost next to nothing: it reads the floats as bits, where "non-finite"
 * is "exponent all ones", i.e. |bits| >= 0x7f800000, and a max over the
 * masked words vectorizes (an early exit or isfinite() per element would
 * not). Only a block that contains one is searched again for the index. */
#include "dlnrt.h"

#include <math.h>
#include <string.h>

enum { DL_SCAN_BLOCK = 4096 };

/* 1 if x[0..n) holds a NaN or an infinity. */
static int dl_block_nonfinite(const float *x, int64_t n)
{
    uint32_t worst = 0;
#pragma omp simd reduction(max : worst)
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        bits &= 0x7fffffffu;
        worst = bits > worst ? bits : worst;
    }
    return worst >= 0x7f800000u;
}

int64_t dl_find_nonfinite(const float *x, int64_t n)
{
    for (int64_t b = 0; b < n; b += DL_SCAN_BLOCK) {
        const int64_t len = n - b < DL_SCAN_BLOCK ? n - b : DL_SCAN_BLOCK;
        if (!dl_block_nonfinite(x + b, len)) continue;
        for (int64_t i = b; i < b + len; i++)
            if (!isfinite(x[i])) return i;
    }
    return -1;
}

/* glibc prints a NaN with its sign bit set as "-nan", which says nothing useful. */
const char *dl_nonfinite_name(float v)
{
    return isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
}

int dl_check_finite(const float *y, int64_t n, const char *what, const char *during, int64_t step)
{
    const int64_t i = dl_find_nonfinite(y, n);
    if (i < 0) return 0;
    dl_set_error("non-finite value (%s) in %s during %s %lld", dl_nonfinite_name(y[i]), what, during, (long long)step);
    return -1;
}
