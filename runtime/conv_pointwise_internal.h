/* conv_pointwise_internal.h — the unpacked kernel of 1x1 convolutions,
 * forward and data gradient (runtime only; conv.c dispatches to it). */
#ifndef DLNRT_CONV_POINTWISE_INTERNAL_H
#define DLNRT_CONV_POINTWISE_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"
#include "gemm_internal.h"

/* True when conv.c should run g's forward and data gradient here instead
 * of through dl_sgemm: a 1x1, stride-1, unpadded, ungrouped convolution
 * with at most 64 channels on one side (see conv_pointwise.c for the
 * measured rule). */
int dl_pw_applies(const dl_conv2d_geom *g);

/* One image of g (the dl_pw_applies kind): y = W @ x, or gx = W^T @ gy. */
void dl_pw_forward_image(const dl_conv2d_geom *g, const float *x, const float *w, float *y);
/* The same forward with the affine epilogue applied to each output tile in
 * registers (ep's residual offset to this image). */
void dl_pw_forward_image_affine(const dl_conv2d_geom *g, const float *x, const float *w, float *y,
                                const dl_conv_affine *ep);
void dl_pw_bwd_data_image(const dl_conv2d_geom *g, const float *gy, const float *w, float *gx);

/* y[M x P] = A[M x K] @ x[K x P], A(i, k) = a[i * rs + k * ks]; x and y are
 * row-major with rows P floats apart. Forward: a = W[oc x c] (rs = c,
 * ks = 1); data gradient: a = W^T (rs = 1, ks = c). `stream`: write y
 * around the cache (the same values). Serial. Returns -1, doing nothing, if
 * this CPU cannot run the variant asked for. */
int dl_pw_matmul_isa(dl_gemv_isa isa, int64_t M, int64_t K, int64_t P, const float *a, int64_t rs, int64_t ks,
                     const float *x, float *y, int stream);

/* dl_pw_matmul_isa finishing each output with ep (scale and shift per row
 * of y, the residual like y): the same products, then the epilogue. */
int dl_pw_matmul_affine_isa(dl_gemv_isa isa, int64_t M, int64_t K, int64_t P, const float *a, int64_t rs,
                            int64_t ks, const float *x, float *y, int stream, const dl_conv_affine *ep);

/* dst[M x P] = ep applied to src[M x P] (rows P apart; scale and shift per
 * row, the residual like dst): the same formula as the tiles above, for the
 * convolutions that write their output first (conv_affine.c). dst may be
 * src or the residual. Serial; -1, doing nothing, if this CPU cannot run
 * the variant asked for. */
int dl_affine_rows_isa(dl_gemv_isa isa, int64_t M, int64_t P, const float *src, float *dst, const dl_conv_affine *ep);

/* v (a 16-lane float vector in a zmm register) clamped to [lo, hi] by
 * vmaxps then vminps: v > lo ? v : lo, then that < hi ? it : hi, the same
 * values as the kernels' compare-and-select clamp (NaN gives lo, -0 gives
 * +0 when lo is 0), in two instructions instead of two compares and two
 * blends, which GCC does not turn into max and min. Written as asm because
 * the intrinsics cannot appear in the helpers the portable and AVX2 copies
 * share; use only where the code is an AVX-512 copy (a constant flag), so
 * the asm is never emitted elsewhere. MobileNetV2's ReLU6 clamps are one
 * per 9 multiply-adds in the depthwise kernels (docs/performance.md).
 * GCC only: clang checks a zmm operand against the enclosing function's
 * target when it parses the helper, before the AVX-512 copy inlines it, so
 * its builds (the fuzz harnesses) keep the select. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DL_CLAMP_ZMM_ASM 1
#define DL_CLAMP_ZMM(v, lo, hi) __asm__("vmaxps %1, %0, %0\n\tvminps %2, %0, %0" : "+v"(v) : "v"(lo), "v"(hi))
#endif

/* Which variant of a kernel compiled for several ISAs to run: 0 portable,
 * 1 AVX2 + FMA, 2 AVX-512; -1 if this CPU cannot run the one asked for
 * (DL_GEMV_BEST: the best it can). Shared with conv_dw3_tiny.c. */
int dl_isa_level(dl_gemv_isa isa);

#endif
