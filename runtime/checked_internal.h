/* checked_internal.h — size arithmetic on numbers that come from files (runtime only).
 *
 * Every reader computes sizes from what a file claims (IDX dimensions,
 * safetensors shapes and offsets, record counts, image sizes), and a damaged
 * or forged file can claim anything: 256 x 2^28 x 2^28 wraps a plain int64
 * product to 0 (undefined behaviour, in practice a small number that passes
 * every later bound). So a reader multiplies only through these helpers, which
 * turn overflow into a result it can report, and then compares the product
 * with what the file can actually hold before allocating. */
#ifndef DLNRT_CHECKED_INTERNAL_H
#define DLNRT_CHECKED_INTERNAL_H
#include <stdint.h>

/* *out = a * b; returns -1 (and leaves *out unspecified) if it overflows int64. */
static inline int dl_mul_i64(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}

/* *out = a + b; returns -1 if it overflows int64. */
static inline int dl_add_i64(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_add_overflow(a, b, out) ? -1 : 0;
}

/* *out = dims[0] * ... * dims[n-1] (1 when n = 0); -1 if a dimension is
 * negative or the product overflows int64 or exceeds limit. */
static inline int dl_numel_checked(const int64_t *dims, int n, int64_t limit, int64_t *out)
{
    int64_t p = 1;
    for (int d = 0; d < n; d++)
        if (dims[d] < 0 || dl_mul_i64(p, dims[d], &p) || p > limit) return -1;
    *out = p;
    return 0;
}

#endif
