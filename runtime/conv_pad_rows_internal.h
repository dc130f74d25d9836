/* conv_pad_rows_internal.h — rows of a plane copied into a wider plane
 * (runtime only; conv_pad_rows.c), for Winograd's zero-bordered planes. */
#ifndef DLNRT_CONV_PAD_ROWS_INTERNAL_H
#define DLNRT_CONV_PAD_ROWS_INTERNAL_H
#include <stdint.h>

/* The widest vector path dl_pad_rows_isa may take (the CPU permitting). */
enum { DL_PAD_ROWS_PLAIN, DL_PAD_ROWS_AVX2, DL_PAD_ROWS_AVX512 };

/* dst[r * ds + q] = src[r * ss + q] for r < rows, q < n (no overlap); other
 * floats of dst untouched. dl_pad_rows takes the widest path this CPU has;
 * _isa caps it (the tests run every path). */
void dl_pad_rows(const float *src, int64_t ss, float *dst, int64_t ds, int64_t rows, int64_t n);
void dl_pad_rows_isa(int isa, const float *src, int64_t ss, float *dst, int64_t ds, int64_t rows, int64_t n);

#endif
