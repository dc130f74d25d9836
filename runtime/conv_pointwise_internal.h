/* conv_pointwise_internal.h — unpacked kernels for 1x1 convolutions with
 * few input or output channels (runtime only; conv.c dispatches to them). */
#ifndef DLNRT_CONV_POINTWISE_INTERNAL_H
#define DLNRT_CONV_POINTWISE_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"
#include "gemm_internal.h"

/* True when conv.c should run g's forward, data gradient and weight
 * gradient here instead of through dl_sgemm: a 1x1, stride-1, unpadded,
 * ungrouped convolution whose per-image GEMM is short on one side (see
 * conv_pointwise.c for the measured rule). */
int dl_pw_applies(const dl_conv2d_geom *g);

/* y[M x P] = A[M x K] @ x[K x P], A(i, k) = a[i * rs + k * ks]; x and y are
 * row-major with rows P floats apart. Forward: a = W[oc x c] (rs = c,
 * ks = 1); data gradient: a = W^T (rs = 1, ks = c). Serial. Returns -1,
 * doing nothing, if this CPU cannot run the variant asked for. */
int dl_pw_matmul_isa(dl_gemv_isa isa, int64_t M, int64_t K, int64_t P, const float *a, int64_t rs, int64_t ks,
                     const float *x, float *y);

/* gw[M x N] = sum over images [0, n) of gy_i[M x P] @ x_i[N x P]^T, image i
 * at gy + i * M * P and x + i * N * P. The sum's order depends on the shapes
 * alone. Serial. Returns -1 as above. */
int dl_pw_wgrad_isa(dl_gemv_isa isa, int64_t M, int64_t N, int64_t P, int64_t n, const float *gy, const float *x,
                    float *gw);

#endif
