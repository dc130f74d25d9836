/* gemm.c — single-precision matrix multiply, C = alpha * op(A) op(B) + beta * C.
 *
 * Dense layers, convolutions (as im2col) and attention all end up here, so
 * this is the one kernel worth making fast. The structure is the classic
 * Goto/BLIS one:
 *
 *   for jc over N in NC-wide slabs             (B slab sized for L3)
 *     for pc over K in KC-deep slices          (pack B[pc, jc] into NR-wide panels)
 *       for ic over M in MC-high blocks        (pack A[ic, pc] into MR-high panels, L2)
 *         for chunks of NR panels (in L2), for each MR panel, for each NR
 *         panel of the chunk: micro-kernel
 *
 * The micro-kernel keeps an MR x 16 tile of C in registers and does a rank-1
 * update per k from two contiguous packed panels. It is plain C over GCC's
 * vector extension, compiled several times with different `target`
 * attributes and chosen at run time with __builtin_cpu_supports, so the
 * library needs no -march flag yet uses AVX2/FMA or AVX-512 where present:
 * AVX2 and portable kernels hold a row of the tile in two 8-float vectors,
 * the AVX-512 ones in one 16-float (zmm) vector, which doubles the FLOPs per
 * instruction and, with 32 registers, allows tiles up to 24 high. Packing pads the edges with
 * zeros, so the kernel never branches on size inside its k loop; edge tiles
 * are written through a small buffer.
 *
 * Parallelism: C is cut into independent tiles, each a serial product as
 * above, claimed by the threads of one OpenMP region from an atomic counter
 * with no barriers inside (see dl_tile_grid); the threads then spin until all
 * tiles are done, so none sleeps in OpenMP's closing barrier (see
 * dl_spin_until_done). Never nested: inside an existing parallel region (e.g.
 * a per-sample loop in generated code) we run serially.
 *
 * Tiny products skip packing entirely (a simple row-times-panel loop), and
 * matrix-vector shapes (M = 1 or N = 1: batch-1 inference) become contiguous
 * dot products eight rows at a time (gemm_small.c), since packing would cost
 * as much as the multiply there.
 * Building with -DDL_USE_CBLAS sends everything to cblas_sgemm instead. */
#pragma GCC optimize("O3", "fp-contract=fast")
#include "dlnrt.h"
#include "gemm_internal.h"
#include "scratch_internal.h"
#include "transpose8_internal.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef DL_USE_CBLAS
#include <cblas.h>
#include <limits.h>
#endif

static int dl_gemm_check(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                         int64_t lda, int64_t ldb, int64_t ldc)
{
    if (M < 0 || N < 0 || K < 0) {
        dl_set_error("dl_sgemm: negative size M=%lld N=%lld K=%lld", (long long)M, (long long)N, (long long)K);
        return -1;
    }
    int64_t a_cols = trans_a ? M : K, b_cols = trans_b ? K : N;
    if ((M > 0 && K > 0 && lda < (a_cols > 1 ? a_cols : 1)) || (K > 0 && N > 0 && ldb < (b_cols > 1 ? b_cols : 1)) ||
        (M > 0 && N > 0 && ldc < (N > 1 ? N : 1))) {
        dl_set_error("dl_sgemm: leading dimension too small (lda=%lld ldb=%lld ldc=%lld for M=%lld N=%lld K=%lld)",
                     (long long)lda, (long long)ldb, (long long)ldc, (long long)M, (long long)N, (long long)K);
        return -1;
    }
    return 0;
}

/* C = beta * C, reading C only when beta != 0 (so NaN garbage in an output
 * buffer with beta = 0 does not survive, as in BLAS). */
static void dl_scale_c(int64_t M, int64_t N, float beta, float *C, int64_t ldc)
{
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f) memset(c, 0, (size_t)N * sizeof *c);
        else if (beta != 1.0f) for (int64_t j = 0; j < N; j++) c[j] *= beta;
    }
}

/* What every dl_sgemm does first: 1 when the arguments are bad (error set)
 * or nothing is left to multiply (C scaled by beta if needed), else 0. */
static int dl_sgemm_trivial(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, int64_t lda,
                            int64_t ldb, float beta, float *C, int64_t ldc)
{
    if (dl_gemm_check(trans_a, trans_b, M, N, K, lda, ldb, ldc) || M == 0 || N == 0) return 1;
    if (K == 0 || alpha == 0.0f) {
        dl_scale_c(M, N, beta, C, ldc);
        return 1;
    }
    return 0;
}

#ifdef DL_USE_CBLAS
void dl_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
              float *C, int64_t ldc)
{
    if (dl_sgemm_trivial(trans_a, trans_b, M, N, K, alpha, lda, ldb, beta, C, ldc)) return;
    if (M > INT_MAX || N > INT_MAX || K > INT_MAX || lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX) {
        dl_set_error("dl_sgemm: size exceeds the BLAS int range");
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}
#else

enum {
    DL_NR = 16,                           /* micro-tile width: two 8-float vectors */
    DL_MR_MAX = 24,                       /* tallest micro-tile (AVX-512 variant) */
    DL_KC = DL_GEMM_KC,                   /* k slice: an MR x KC + KC x NR pair fits L1 */
    DL_MC = 144,                          /* rows of A per packed block (multiple of every MR) */
    DL_NC = 4096,                         /* columns of B per packed slab */
    DL_CHUNK_FLOATS = 64 * 1024,          /* B panels a row panel sweeps (floats; in L2) */
    DL_SMALL_FLOPS = 16 * 16 * 16,        /* below this, M*N*K, no packing */
    /* Below these M*N*K, stay on one thread: waking the second one under
     * OMP_WAIT_POLICY=passive costs 20-30 us. Measured at 2 threads vs 1
     * (gemm_bench --vs1, best of 5): square n = 96 1.0-1.25x, 112 1.1-1.2x,
     * 128 1.35-1.5x; gemv (memory-bound) 1x512x784 0.53x, 1x1024x1024 1.0x,
     * 1x1024x2048 1.3x. Inside a model the partner thread has gone back to
     * sleep between products (im2col, elementwise work in between), so the
     * break-even is higher: ResNet-20 batch-1 inference, whose convolutions
     * are ~2.4M each, took 0.60-0.78 ms at 2 threads with 128^3 and 0.54 ms
     * (= 1 thread) with 192^3 (bench_main, OMP_PROC_BIND=true): that is
     * DL_GEMM_PARALLEL_FLOPS, in dlnrt.h for the generated batch loops. */
    DL_PARALLEL_GEMV_FLOPS = 2048 * 1024,
};

typedef float dl_v8 __attribute__((vector_size(32)));

typedef void (*dl_ukernel_fn)(int64_t kc, const float *restrict a, const float *restrict b, int64_t bs,
                              float *restrict c, int64_t ldc, float alpha, float beta, int m, int n);

/* The micro-kernel, written once: MR is a compile-time constant in every
 * caller, so the i loops unroll fully and acc lives in registers.
 * a: packed MR x kc (a[p*MR + i]), b: kc rows of 16 floats, row p at
 * b + p*bs (bs = 16 when packed, ldb when B is read in place);
 * writes the top-left m x n corner of C. */
static inline __attribute__((always_inline)) void
dl_ukernel_body(const int MR, int64_t kc, const float *restrict a, const float *restrict b, int64_t bs,
                float *restrict c, int64_t ldc, float alpha, float beta, int m, int n)
{
    dl_v8 acc[DL_MR_MAX][2];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = (dl_v8){0};
    for (int64_t p = 0; p < kc; p++) {
        dl_v8 b0, b1;
        memcpy(&b0, b + p * bs, sizeof b0);
        memcpy(&b1, b + p * bs + 8, sizeof b1);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            dl_v8 ai = (dl_v8){0} + a[p * MR + i];
            acc[i][0] += ai * b0;
            acc[i][1] += ai * b1;
        }
    }
    if (m == MR && n == DL_NR) {
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            float *ci = c + i * ldc;
            dl_v8 c0 = acc[i][0] * alpha, c1 = acc[i][1] * alpha, t0, t1;
            if (beta != 0.0f) {
                memcpy(&t0, ci, sizeof t0);
                memcpy(&t1, ci + 8, sizeof t1);
                c0 += t0 * beta;
                c1 += t1 * beta;
            }
            memcpy(ci, &c0, sizeof c0);
            memcpy(ci + 8, &c1, sizeof c1);
        }
        return;
    }
    float tile[DL_MR_MAX * DL_NR];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        memcpy(tile + i * DL_NR, &acc[i][0], sizeof acc[i][0]);
        memcpy(tile + i * DL_NR + 8, &acc[i][1], sizeof acc[i][1]);
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float v = alpha * tile[i * DL_NR + j];
            c[i * ldc + j] = beta == 0.0f ? v : v + beta * c[i * ldc + j];
        }
}

#if defined(__x86_64__) && defined(__GNUC__)
typedef float dl_v16 __attribute__((vector_size(64)));

/* The AVX-512 micro-kernel: as dl_ukernel_body, but a row of the tile is one
 * 16-float vector, so each k step is one B load and MR FMAs whose A operand
 * is an embedded broadcast (vfmadd231ps mem{1to16}). The 8-float version,
 * even compiled for AVX-512, ran at the 256-bit peak (~117 GFLOP/s on one
 * core); this one reaches ~225 on packed panels in L1 (MR = 16..24). Only
 * inlined into functions compiled with target("avx512f"). */
static inline __attribute__((always_inline)) void
dl_ukernel_body_zmm(const int MR, int64_t kc, const float *restrict a, const float *restrict b, int64_t bs,
                    float *restrict c, int64_t ldc, float alpha, float beta, int m, int n)
{
    dl_v16 acc[DL_MR_MAX];
#pragma GCC unroll 24
    for (int i = 0; i < MR; i++) acc[i] = (dl_v16){0};
    for (int64_t p = 0; p < kc; p++) {
        dl_v16 b0;
        memcpy(&b0, b + p * bs, sizeof b0);
#pragma GCC unroll 24
        for (int i = 0; i < MR; i++) acc[i] += a[p * MR + i] * b0;
    }
    if (m == MR && n == DL_NR) {
#pragma GCC unroll 24
        for (int i = 0; i < MR; i++) {
            float *ci = c + i * ldc;
            dl_v16 c0 = acc[i] * alpha, t0;
            if (beta != 0.0f) {
                memcpy(&t0, ci, sizeof t0);
                c0 += t0 * beta;
            }
            memcpy(ci, &c0, sizeof c0);
        }
        return;
    }
    float tile[DL_MR_MAX * DL_NR];
#pragma GCC unroll 24
    for (int i = 0; i < MR; i++) memcpy(tile + i * DL_NR, &acc[i], sizeof acc[i]);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float v = alpha * tile[i * DL_NR + j];
            c[i * ldc + j] = beta == 0.0f ? v : v + beta * c[i * ldc + j];
        }
}
#endif

#define DL_UKERNEL_ARGS int64_t kc, const float *restrict a, const float *restrict b, int64_t bs, \
                        float *restrict c, int64_t ldc, float alpha, float beta, int m, int n
#define DL_UKERNEL(MR, name, target_attr) \
    target_attr static void name(DL_UKERNEL_ARGS) { dl_ukernel_body(MR, kc, a, b, bs, c, ldc, alpha, beta, m, n); }

DL_UKERNEL(4, dl_ukernel_4x16, )

#if defined(__x86_64__) && defined(__GNUC__)
#define DL_HAVE_X86_CLONES 1
#define DL_AVX2 __attribute__((target("avx2,fma")))
#define DL_AVX512 __attribute__((target("avx512f,avx512vl,fma")))
DL_UKERNEL(4, dl_ukernel_4x16_avx2, DL_AVX2)
DL_UKERNEL(6, dl_ukernel_6x16_avx2, DL_AVX2)
#define DL_UKERNEL_ZMM(MR, name) \
    DL_AVX512 static void name(DL_UKERNEL_ARGS) { dl_ukernel_body_zmm(MR, kc, a, b, bs, c, ldc, alpha, beta, m, n); }
DL_UKERNEL_ZMM(4, dl_ukernel_4x16_avx512)
DL_UKERNEL_ZMM(6, dl_ukernel_6x16_avx512)
DL_UKERNEL_ZMM(8, dl_ukernel_8x16_avx512)
DL_UKERNEL_ZMM(12, dl_ukernel_12x16_avx512)
DL_UKERNEL_ZMM(16, dl_ukernel_16x16_avx512)
DL_UKERNEL_ZMM(24, dl_ukernel_24x16_avx512)
#endif

typedef struct dl_ukernel { int mr; dl_ukernel_fn fn; } dl_ukernel;

/* Among the tile heights this CPU can run, the one that pads M least (ties:
 * the taller tile, more reuse per B load). Convolutions have M = 6, 16, 32,
 * 64 output channels: a 12-high tile wasted a third of the work at M = 16
 * and half at M = 6, a 16- or 6-high one none. */
static dl_ukernel dl_pick_ukernel(int64_t M)
{
    dl_ukernel options[6] = {{4, dl_ukernel_4x16}};
    int count = 1;
#ifdef DL_HAVE_X86_CLONES
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) {
        options[0] = (dl_ukernel){24, dl_ukernel_24x16_avx512};
        options[1] = (dl_ukernel){16, dl_ukernel_16x16_avx512};
        options[2] = (dl_ukernel){12, dl_ukernel_12x16_avx512};
        options[3] = (dl_ukernel){8, dl_ukernel_8x16_avx512};
        options[4] = (dl_ukernel){6, dl_ukernel_6x16_avx512};
        options[5] = (dl_ukernel){4, dl_ukernel_4x16_avx512};
        count = 6;
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        options[0] = (dl_ukernel){6, dl_ukernel_6x16_avx2};
        options[1] = (dl_ukernel){4, dl_ukernel_4x16_avx2};
        count = 2;
    }
#endif
    dl_ukernel best = options[0];
    int64_t best_rows = (M + best.mr - 1) / best.mr * best.mr;
    for (int i = 1; i < count; i++) {
        int64_t rows = (M + options[i].mr - 1) / options[i].mr * options[i].mr;
        if (rows < best_rows) best = options[i], best_rows = rows;
    }
    return best;
}

typedef float dl_v4 __attribute__((vector_size(16)));

/* dst[p * ld_dst + i] = src[i * ld_src + p] for i < rows, p < kc: the
 * transposing copy both packs need (A row-major into MR-high panels, B^T
 * into 16-wide panels). Done as 4x4 register transposes (SSE shuffles, so
 * no target flags needed): element-wise it ran at about one float per
 * cycle and took a tenth of a training step. Shuffles are spelled
 * __builtin_shufflevector (constant lanes), which GCC 12+ and clang share. */

/* Cloned for AVX2/AVX-512 (ifunc), where the 8x8 blocks are single 256-bit
 * shuffles: about twice the 4x4 SSE version's speed on the transposed packs
 * of the convolution weight gradient (A = dY, B = columns^T). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void dl_pack_transposed(const float *src, int64_t ld_src, int64_t rows, int64_t kc, float *dst, int64_t ld_dst)
{
    int64_t i = 0;
    for (; i + 8 <= rows; i += 8) {
        int64_t p = 0;
        for (; p + 8 <= kc; p += 8) dl_transpose_8x8(src + i * ld_src + p, ld_src, dst + p * ld_dst + i, ld_dst);
        for (; p < kc; p++)
            for (int k = 0; k < 8; k++) dst[p * ld_dst + i + k] = src[(i + k) * ld_src + p];
    }
    for (; i + 4 <= rows; i += 4) {
        const float *s0 = src + i * ld_src, *s1 = s0 + ld_src, *s2 = s1 + ld_src, *s3 = s2 + ld_src;
        int64_t p = 0;
        for (; p + 4 <= kc; p += 4) {
            dl_v4 r0, r1, r2, r3;
            memcpy(&r0, s0 + p, sizeof r0);
            memcpy(&r1, s1 + p, sizeof r1);
            memcpy(&r2, s2 + p, sizeof r2);
            memcpy(&r3, s3 + p, sizeof r3);
            const dl_v4 t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5);
            const dl_v4 t1 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);
            const dl_v4 t2 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5);
            const dl_v4 t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
            const dl_v4 c0 = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
            const dl_v4 c1 = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
            const dl_v4 c2 = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
            const dl_v4 c3 = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
            float *d = dst + p * ld_dst + i;
            memcpy(d, &c0, sizeof c0);
            memcpy(d + ld_dst, &c1, sizeof c1);
            memcpy(d + 2 * ld_dst, &c2, sizeof c2);
            memcpy(d + 3 * ld_dst, &c3, sizeof c3);
        }
        for (; p < kc; p++) {
            float *d = dst + p * ld_dst + i;
            d[0] = s0[p], d[1] = s1[p], d[2] = s2[p], d[3] = s3[p];
        }
    }
    for (; i < rows; i++)
        for (int64_t p = 0; p < kc; p++) dst[p * ld_dst + i] = src[i * ld_src + p];
}

/* d[p * W + i] = s[p * ld + i] for p < kc, i < W: rows of W floats, copied
 * with a constant size so they become a few vector moves. A variable-size
 * memcpy here compiled to `rep movsq` (or a libc call) per 64-byte row and
 * was two thirds of all packing time. */
#define DL_DEFINE_COPY_ROWS(W) \
    static void dl_copy_rows_##W(const float *restrict s, int64_t ld, int64_t kc, float *restrict d) \
    { \
        for (int64_t p = 0; p < kc; p++) memcpy(d + p * (W), s + p * ld, (W) * sizeof(float)); \
    }
DL_DEFINE_COPY_ROWS(4)
DL_DEFINE_COPY_ROWS(6)
DL_DEFINE_COPY_ROWS(8)
DL_DEFINE_COPY_ROWS(12)
DL_DEFINE_COPY_ROWS(16)
DL_DEFINE_COPY_ROWS(24)

/* Copies kc rows of w floats (stride ld) into rows of W (stride W); returns 0
 * if w == W is one of the constant widths, else -1 (caller copies). */
static int dl_copy_rows(const float *s, int64_t ld, int64_t kc, int64_t w, int W, float *d)
{
    if (w != W) return -1;
    switch (W) {
    case 4: dl_copy_rows_4(s, ld, kc, d); return 0;
    case 6: dl_copy_rows_6(s, ld, kc, d); return 0;
    case 8: dl_copy_rows_8(s, ld, kc, d); return 0;
    case 12: dl_copy_rows_12(s, ld, kc, d); return 0;
    case 16: dl_copy_rows_16(s, ld, kc, d); return 0;
    case 24: dl_copy_rows_24(s, ld, kc, d); return 0;
    default: return -1;
    }
}

/* Pack rows [0, mc) x k-slice [0, kc) of op(A) (A already offset to the
 * block's corner) into MR-high panels: panel r holds dst[p*MR + i]. */
void dl_gemm_pack_a(int trans_a, const float *A, int64_t lda, int64_t mc, int64_t kc, int MR, float *dst)
{
    for (int64_t r = 0; r < mc; r += MR) {
        int64_t mr = mc - r < MR ? mc - r : MR;
        float *d = dst + r * kc;
        if (!trans_a) {
            dl_pack_transposed(A + r * lda, lda, mr, kc, d, MR);
        } else if (dl_copy_rows(A + r, lda, kc, mr, MR, d)) {
            for (int64_t p = 0; p < kc; p++) memcpy(d + p * MR, A + p * lda + r, (size_t)mr * sizeof *d);
        }
        for (int64_t i = mr; i < MR; i++)
            for (int64_t p = 0; p < kc; p++) d[p * MR + i] = 0.0f;
    }
}

/* Pack one 16-wide panel (columns [j0, j0+nr)) of the k-slice of op(B). */
static void dl_pack_b_panel(int trans_b, const float *B, int64_t ldb, int64_t kc, int64_t j0, int64_t nr, float *d)
{
    if (!trans_b) {
        if (dl_copy_rows(B + j0, ldb, kc, nr, DL_NR, d) == 0) return;
        for (int64_t p = 0; p < kc; p++) {
            memcpy(d + p * DL_NR, B + p * ldb + j0, (size_t)nr * sizeof *d);
            for (int64_t j = nr; j < DL_NR; j++) d[p * DL_NR + j] = 0.0f;
        }
    } else {
        dl_pack_transposed(B + j0 * ldb, ldb, nr, kc, d, DL_NR);
        for (int64_t j = nr; j < DL_NR; j++)
            for (int64_t p = 0; p < kc; p++) d[p * DL_NR + j] = 0.0f;
    }
}

/* Unpacked path for small products: row i of C accumulates rows of op(B)
 * scaled by op(A)[i, p] (or dot products when B is transposed). */
static void dl_sgemm_small(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                           const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                           float *C, int64_t ldc)
{
    dl_scale_c(M, N, beta, C, ldc);
    for (int64_t i = 0; i < M; i++) {
        float *restrict c = C + i * ldc;
        for (int64_t p = 0; p < K; p++) {
            float a = alpha * (trans_a ? A[p * lda + i] : A[i * lda + p]);
            if (!trans_b) {
                const float *restrict b = B + p * ldb;
                for (int64_t j = 0; j < N; j++) c[j] += a * b[j];
            } else {
                for (int64_t j = 0; j < N; j++) c[j] += a * B[j * ldb + p];
            }
        }
    }
}

/* Handles M == 1 with B transposed and N == 1 with A not transposed, the
 * cases where each output is a dot product of contiguous rows (a strided
 * vector operand is first copied). Returns 0 if it did the work. */
static int dl_sgemm_gemv(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc)
{
    int parallel = 0;
#ifdef _OPENMP
    parallel = (double)M * N * K >= DL_PARALLEL_GEMV_FLOPS && !omp_in_parallel();
#endif
    const float *v;
    float *copy = NULL;
    if (M == 1 && trans_b) {              /* C[0, j] = op(A)[0, :] . B[j, :] */
        v = A;
        if (trans_a && lda != 1) {
            if (!(copy = malloc((size_t)K * sizeof *copy))) return -1;
            for (int64_t p = 0; p < K; p++) copy[p] = A[p * lda];
            v = copy;
        }
        dl_gemv_dot_isa(DL_GEMV_BEST, N, K, alpha, B, ldb, v, beta, C, 1, parallel);
    } else if (N == 1 && !trans_a) {      /* C[i, 0] = A[i, :] . op(B)[:, 0] */
        v = B;
        if (!trans_b && ldb != 1) {
            if (!(copy = malloc((size_t)K * sizeof *copy))) return -1;
            for (int64_t p = 0; p < K; p++) copy[p] = B[p * ldb];
            v = copy;
        }
        dl_gemv_dot_isa(DL_GEMV_BEST, M, K, alpha, A, lda, v, beta, C, ldc, parallel);
    } else {
        return -1;
    }
    free(copy);
    return 0;
}

/* One thread's blocked product: the Goto loop nest over its own packed
 * buffers. Returns -1 (with the error set) only if the buffers cannot be had. */
static int dl_sgemm_blocked(dl_ukernel uk, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                            const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                            float *C, int64_t ldc, const dl_packed_b *pre, int64_t j_pre)
{
    const int MR = uk.mr;
    /* With at most two row panels each packed B panel would be read once or
     * twice: packing costs more than it saves, so full 16-wide panels are
     * read straight from B (row stride ldb); only a ragged last panel is packed. */
    const int b_in_place = !trans_b && M <= 2 * MR;
    const int64_t nc_max = N < DL_NC ? (N + DL_NR - 1) / DL_NR * DL_NR : DL_NC;
    const int64_t kc_max = K < DL_KC ? K : DL_KC;
    const int64_t mc_max = M < DL_MC ? (M + MR - 1) / MR * MR : DL_MC;
    const int64_t b_floats = (nc_max * kc_max + 15) / 16 * 16;
    float *bpack = dl_scratch(DL_SCRATCH_GEMM_PACK, b_floats + mc_max * kc_max), *apack = bpack ? bpack + b_floats : NULL;
    if (!bpack) {
        dl_set_error("dl_sgemm: out of memory for packing buffers (M=%lld N=%lld K=%lld)",
                     (long long)M, (long long)N, (long long)K);
        return -1;
    }
    for (int64_t jc = 0; jc < N; jc += DL_NC) {
        const int64_t nc = N - jc < DL_NC ? N - jc : DL_NC;
        for (int64_t pc = 0; pc < K; pc += DL_KC) {
            const int64_t kc = K - pc < DL_KC ? K - pc : DL_KC;
            const float beta_eff = pc == 0 ? beta : 1.0f;
            const float *Bk = trans_b ? B + jc * ldb + pc : B + pc * ldb + jc;
            /* B packed ahead (dl_gemm_pack_b): this slice's panels, from this tile's first column */
            const float *bp = pre ? pre->data + pc * pre->n_pad + (j_pre + jc) * kc : bpack;
            for (int64_t j0 = 0; !pre && j0 < nc; j0 += DL_NR)
                if (!b_in_place || nc - j0 < DL_NR)
                    dl_pack_b_panel(trans_b, Bk, ldb, kc, j0, nc - j0 < DL_NR ? nc - j0 : DL_NR, bpack + j0 * kc);
            for (int64_t ic = 0; ic < M; ic += DL_MC) {
                const int64_t mc = M - ic < DL_MC ? M - ic : DL_MC;
                dl_gemm_pack_a(trans_a, trans_a ? A + pc * lda + ic : A + ic * lda + pc, lda, mc, kc, MR, apack);
                /* Row panels inside chunks of jb columns: the A micro-panel
                 * stays in L1 across the chunk's B panels (together in L2),
                 * and C is written row by row a chunk wide. Panel-major order
                 * (all rows of one 16-column strip) stored one cache line per
                 * row at stride ldc: with ldc a multiple of 1024 (conv outputs
                 * of 32x32 images) every store of the strip hit the same L1
                 * set, and 144x1024x16 ran at 64 GFLOP/s instead of 175. */
                const int64_t jb_fit = DL_CHUNK_FLOATS / kc / DL_NR * DL_NR, jb = jb_fit > DL_NR ? jb_fit : DL_NR;
                for (int64_t jb0 = 0; jb0 < nc; jb0 += jb)
                    for (int64_t r = 0; r < mc; r += MR) {
                        const int m = (int)(mc - r < MR ? mc - r : MR);
                        for (int64_t j0 = jb0; j0 < nc && j0 < jb0 + jb; j0 += DL_NR) {
                            const int n = (int)(nc - j0 < DL_NR ? nc - j0 : DL_NR);
                            const int inplace = !pre && b_in_place && n == DL_NR;
                            uk.fn(kc, apack + r * kc, inplace ? Bk + j0 : bp + j0 * kc, inplace ? ldb : DL_NR,
                                  C + (ic + r) * ldc + jc + j0, ldc, alpha, beta_eff, m, n);
                        }
                    }
            }
        }
    }
    return 0;
}

/* Waits, spinning, until every claimed tile is finished, so the threads reach
 * the end of the parallel region together. Under OMP_WAIT_POLICY=passive a
 * thread that reaches OpenMP's closing barrier first sleeps in the kernel,
 * and on this kind of (virtual) machine waking it took from 30 us to several
 * ms (its CPU had gone idle): n = 512 products of 1.2 ms at 2 threads
 * sometimes returned after 4.5 ms. A thread here waits at most for one tile
 * that another thread is computing; it yields the CPU after a while, in case
 * that thread has lost its core to other work. */
static void dl_spin_until_done(atomic_llong *done, int64_t ntiles)
{
    for (long spins = 0; atomic_load_explicit(done, memory_order_acquire) < ntiles; spins++) {
        if (spins > 20000) sched_yield();
#if defined(__x86_64__) || defined(__i386__)
        else __builtin_ia32_pause();
#endif
    }
}

/* Parallel plan: C is cut into a tm x tn grid of independent tiles, each a
 * complete serial product with its own packing, taken by threads
 * dynamically. No barrier inside: a thread that loses its core (a busy
 * machine) delays only its own tile, not every k-slice of everyone. The grid
 * minimizes the redundant packing K*(M*tn + N*tm) for about two tiles per
 * thread, keeping tiles at least 2*MR rows and one NR panel wide. */
static void dl_tile_grid(int64_t M, int64_t N, int MR, int nthreads, int64_t *tm, int64_t *tn)
{
    int64_t target = 2 * (int64_t)nthreads, best_tm = 1, best_tn = 1;
    double best = -1;
    for (int64_t a = 1; a <= target; a++) {
        if (target % a) continue;
        int64_t b = target / a;
        if (M / a < 2 * MR || N / b < DL_NR) continue;
        double cost = (double)M * b + (double)N * a;
        if (best < 0 || cost < best) { best = cost; best_tm = a; best_tn = b; }
    }
    *tm = best_tm;
    *tn = best_tn;
}

int dl_gemm_blocked_shape(int64_t M, int64_t N, int64_t K)
{
    return M > 1 && N > 1 && K > 0 && (double)M * (double)N * (double)K >= DL_SMALL_FLOPS;
}

int64_t dl_gemm_packed_b_floats(int64_t K, int64_t N) { return K * ((N + DL_NR - 1) / DL_NR * DL_NR); }

void dl_gemm_pack_b(int trans_b, int64_t K, int64_t N, const float *B, int64_t ldb, float *dst)
{
    const int64_t n_pad = (N + DL_NR - 1) / DL_NR * DL_NR;
    for (int64_t pc = 0; pc < K; pc += DL_KC) {
        const int64_t kc = K - pc < DL_KC ? K - pc : DL_KC;
        const float *Bk = trans_b ? B + pc : B + pc * ldb;
        for (int64_t j0 = 0; j0 < N; j0 += DL_NR)
            dl_pack_b_panel(trans_b, Bk, ldb, kc, j0, N - j0 < DL_NR ? N - j0 : DL_NR, dst + pc * n_pad + j0 * kc);
    }
}

/* The blocked product, on one thread or cut into tiles: everything of
 * dl_sgemm after the shape checks. With `pre`, B's panels come from there
 * (B itself is then only used for its shape), with the same arithmetic. */
static void dl_sgemm_run(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc, const dl_packed_b *pre)
{
    const double flops = (double)M * (double)N * (double)K;
    const dl_ukernel uk = dl_pick_ukernel(M);
    int nthreads = 1;
#ifdef _OPENMP
    if (flops >= DL_GEMM_PARALLEL_FLOPS && !omp_in_parallel()) nthreads = omp_get_max_threads();
#endif
    int64_t tm = 1, tn = 1;
    if (nthreads > 1) dl_tile_grid(M, N, uk.mr, nthreads, &tm, &tn);
    if (tm * tn == 1) {
        dl_sgemm_blocked(uk, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pre, 0);
        return;
    }
    /* Tile edges on MR rows and NR columns, so only the last tiles have ragged micro-tiles. */
    const int64_t rows = ((M + tm - 1) / tm + uk.mr - 1) / uk.mr * uk.mr;
    const int64_t cols = ((N + tn - 1) / tn + DL_NR - 1) / DL_NR * DL_NR;
    const int64_t ntiles = tm * tn;
    atomic_llong next = 0, done = 0;
    atomic_int failed = 0;
#pragma omp parallel num_threads(nthreads)
    {
        for (int64_t t; (t = atomic_fetch_add(&next, 1)) < ntiles; atomic_fetch_add(&done, 1)) {
            const int64_t i0 = (t / tn) * rows, j0 = (t % tn) * cols;
            if (i0 >= M || j0 >= N) continue;
            const int64_t mt = M - i0 < rows ? M - i0 : rows, nt = N - j0 < cols ? N - j0 : cols;
            if (dl_sgemm_blocked(uk, trans_a, trans_b, mt, nt, K, alpha, trans_a ? A + i0 : A + i0 * lda, lda,
                                 trans_b ? B + j0 * ldb : B + j0, ldb, beta, C + i0 * ldc + j0, ldc, pre, j0))
                atomic_store(&failed, 1);
        }
        dl_spin_until_done(&done, ntiles);
    }
    if (atomic_load(&failed)) dl_set_error("dl_sgemm: out of memory for packing buffers (M=%lld N=%lld K=%lld)",
                                           (long long)M, (long long)N, (long long)K);
}

void dl_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
              float *C, int64_t ldc)
{
    if (dl_sgemm_trivial(trans_a, trans_b, M, N, K, alpha, lda, ldb, beta, C, ldc)) return;
    if ((M == 1 || N == 1) && dl_sgemm_gemv(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) == 0)
        return;
    if ((double)M * (double)N * (double)K < DL_SMALL_FLOPS) {
        dl_sgemm_small(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    dl_sgemm_run(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL);
}

void dl_sgemm_prepacked(int trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                        const dl_packed_b *pre, float beta, float *C, int64_t ldc)
{
    /* (B is read only through pre: its pointer and stride just pass the checks) */
    if (dl_gemm_check(trans_a, 0, M, N, K, lda, N, ldc) || !dl_gemm_blocked_shape(M, N, K)) return;
    dl_sgemm_run(trans_a, 0, M, N, K, alpha, A, lda, pre->data, N, beta, C, ldc, pre);
}
#endif /* DL_USE_CBLAS */
