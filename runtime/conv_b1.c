/* conv_b1.c — batch-1 forward of the 3x3-class convolutions whose planes
 * fit in cache (ResNet-20's 64-channel 8x8 stage at inference, until Winograd F(2x2)
 * with kept filters and 16-tile products measured faster there: conv_winograd.c).
 *
 * At batch 1 a 64 -> 64 3x3 layer on 8x8 is y[64 x 64] = W[64 x 576] @
 * cols[576 x 64]: dl_sgemm spent a third of its time packing both sides
 * into panels (the weights again on every call) for a product this small,
 * plus im2col writing nine copies of the input; Winograd's 16 tiles are
 * too few. Here the input is copied kw times (once per tap column b), each
 * copy a plane of R = oh + dh*(kh-1) rows of ow, shifted by b columns with
 * zeros where the padding is:
 *
 *   S[c][b][r][q] = x[c][r - pt][q + b*dw - pl]
 *
 * so that tap (a, b) of output pixel p = y*ow + q is S[c][b][p + a*dh*ow]:
 * for every tap the output plane's pixels read one contiguous run of S.
 * An MR x (NV x 16) register tile of y (MR output channels, NV vectors of
 * pixels; on AVX-512 6 x 4, the whole 8x8 plane) is then summed over
 * (c, a, b): per tap NV loads and MR broadcast weights, read in place
 * ([oc][c][kh][kw], no packing). kw copies instead of im2col's kh*kw.
 *
 * Pixels past the last whole vector are computed in a vector whose lanes
 * beyond the plane are dropped at the store (S has a vector of zeros past
 * its end for them to read). Plain C over GCC's vector extension, compiled
 * for AVX-512, AVX2 + FMA and baseline x86-64 (target attributes, chosen at
 * run time as conv_pointwise.c does).
 *
 * Threads: with more than one and an image as big as dl_sgemm would split,
 * its output channels are cut into ranges of whole MR-row tiles, one per
 * thread, after one thread built S; every output is still one tile's sum
 * in one order, the same bits at any thread count. */
#pragma GCC optimize("O3", "fp-contract=fast")
#include <omp.h>
#include <string.h>

#include "conv_b1_internal.h"
#include "conv_pointwise_internal.h"

/* Helpers taking or returning 64-byte vectors are always inlined into one
 * target's function, so no call passes one (GCC's ABI note does not apply). */
#pragma GCC diagnostic ignored "-Wpsabi"
#define B1_INLINE static inline __attribute__((always_inline))
#define B1_LANES 16
#define B1_MR_MAX 6
#define B1_NV_MAX 4
#define B1_UNROLL _Pragma("GCC unroll 8")
typedef float b1_v __attribute__((vector_size(B1_LANES * sizeof(float))));

/* Output channels per thread come in multiples of this (the largest tile's rows). */
#define B1_ROWS B1_MR_MAX
/* Split an image over the threads from dl_sgemm's threshold, as the path
 * it replaces did: ResNet-20's layers (2.4M multiply-adds) stay serial, so
 * batch-1 inference at 2 threads forks no more often than before. */
#define B1_PAR_MACS DL_GEMM_PARALLEL_FLOPS

int dl_conv_b1_applies(const dl_conv2d_geom *g) {
    const int64_t P = g->oh * g->ow;
    return g->n == 1 && g->groups == 1 && g->kh * g->kw > 1 && g->sh == 1 && g->sw == 1 && g->c >= 32 &&
           g->oc >= 32 && P <= 64;
}

static int64_t rows_of(const dl_conv2d_geom *g) { return g->oh + g->dh * (g->kh - 1); }
static int64_t copy_floats(const dl_conv2d_geom *g) { return rows_of(g) * g->ow; }

int64_t dl_conv_b1_floats(const dl_conv2d_geom *g) { return g->c * g->kw * copy_floats(g) + B1_LANES; }

/* One copy s (R rows of ow) of input plane xc shifted `shift` columns,
 * when every input row lands inside the copy, ow == w and |shift| < w: the
 * input rows are one flat copy (a row's edge reads its neighbour's, then
 * zeroed), the rows around them zero. Rows of 8 in tiny loops each cost as
 * much as the copy itself. */
static void copy_flat(const dl_conv2d_geom *g, const float *xc, int64_t shift, float *s) {
    const int64_t R = rows_of(g), ow = g->ow, r0 = g->pt, r1 = g->pt + g->h, n = g->h * g->w;
    memset(s, 0, sizeof(float) * (size_t)(r0 * ow));
    memset(s + r1 * ow, 0, sizeof(float) * (size_t)((R - r1) * ow));
    float *d = s + r0 * ow; /* d[i] = xc[i + shift] for i + shift inside the plane */
    const int64_t lo = shift < 0 ? -shift : 0, hi = shift > 0 ? n - shift : n;
    for (int64_t i = lo; i < hi; i++) d[i] = xc[i + shift];
    for (int64_t r = 0; r < g->h; r++) /* the columns outside the input (the ends skipped above among them) */
        for (int64_t q = shift < 0 ? 0 : ow - shift; q < (shift < 0 ? -shift : ow); q++) d[r * ow + q] = 0.0f;
}

static int flat_fits(const dl_conv2d_geom *g, int64_t shift) {
    return g->ow == g->w && g->pt >= 0 && g->pt + g->h <= rows_of(g) && shift < g->w && -shift < g->w;
}

/* The same for any ow, row by row. */
static void copy_rows(const dl_conv2d_geom *g, const float *xc, int64_t shift, float *s) {
    const int64_t R = rows_of(g), ow = g->ow;
    for (int64_t r = 0; r < R; r++, s += ow) {
        const int64_t yy = r - g->pt;
        if (yy < 0 || yy >= g->h) {
            memset(s, 0, sizeof(float) * (size_t)ow);
            continue;
        }
        const float *xr = xc + yy * g->w + shift;
        const int64_t lo = shift < 0 ? (-shift < ow ? -shift : ow) : 0;
        const int64_t hi = g->w - shift < ow ? (g->w - shift > lo ? g->w - shift : lo) : ow;
        for (int64_t q = 0; q < lo; q++) s[q] = 0.0f;
        for (int64_t q = lo; q < hi; q++) s[q] = xr[q]; /* the columns inside the input */
        for (int64_t q = hi; q < ow; q++) s[q] = 0.0f;
    }
}

/* S (see the top) of one image; every float of the buffer written. */
static void shifted_copies(const dl_conv2d_geom *g, const float *x, float *S) {
    const int64_t plane = copy_floats(g);
    for (int64_t c = 0; c < g->c; c++)
        for (int64_t b = 0; b < g->kw; b++) {
            const int64_t shift = b * g->dw - g->pl;
            float *s = S + (c * g->kw + b) * plane;
            if (flat_fits(g, shift)) copy_flat(g, x + c * g->h * g->w, shift, s);
            else copy_rows(g, x + c * g->h * g->w, shift, s);
        }
    memset(S + g->c * g->kw * plane, 0, sizeof(float) * B1_LANES);
}

B1_INLINE b1_v b1_load(const float *p) {
    b1_v v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* y[0:MR][p0 : p0 + NV*16) (only `last` lanes of the last vector stored,
 * 1..16), the sum over (c, a, b) in that order. */
B1_INLINE void b1_tile(const int MR, const int NV, const dl_conv2d_geom *g, const float *restrict S,
                       const float *restrict w, float *restrict y, int64_t p0, int64_t last) {
    const int64_t P = g->oh * g->ow, plane = copy_floats(g), K = g->c * g->kh * g->kw, step = g->dh * g->ow;
    b1_v acc[B1_MR_MAX][B1_NV_MAX];
    B1_UNROLL
    for (int i = 0; i < MR; i++)
        B1_UNROLL
        for (int v = 0; v < NV; v++) acc[i][v] = (b1_v){0};
    for (int64_t c = 0; c < g->c; c++)
        for (int64_t a = 0; a < g->kh; a++)
            for (int64_t b = 0; b < g->kw; b++) {
                const float *src = S + (c * g->kw + b) * plane + a * step + p0;
                const float *wk = w + (c * g->kh + a) * g->kw + b;
                b1_v xv[B1_NV_MAX];
                B1_UNROLL
                for (int v = 0; v < NV; v++) xv[v] = b1_load(src + v * B1_LANES);
                B1_UNROLL
                for (int i = 0; i < MR; i++) {
                    const float s = wk[i * K];
                    B1_UNROLL
                    for (int v = 0; v < NV; v++) acc[i][v] += s * xv[v];
                }
            }
    B1_UNROLL
    for (int i = 0; i < MR; i++)
        B1_UNROLL
        for (int v = 0; v < NV; v++)
            memcpy(y + i * P + p0 + v * B1_LANES, &acc[i][v], sizeof(float) * (size_t)(v == NV - 1 ? last : B1_LANES));
}

/* Output channels [lo, hi) over all pixels: blocks of NV vectors, then single vectors. */
B1_INLINE void b1_rows(const int MR, const int NV, const dl_conv2d_geom *g, const float *S, const float *w, float *y,
                       int64_t lo, int64_t hi) {
    const int64_t P = g->oh * g->ow, K = g->c * g->kh * g->kw;
    for (int64_t p = 0; p < P;) {
        const int nv = P - p >= NV * B1_LANES ? NV : 1;
        const int64_t left = P - p, last = left >= B1_LANES ? B1_LANES : left;
        int64_t i = lo;
#define B1_TILES(nvc)                                                                                              \
    do {                                                                                                           \
        for (; i + MR <= hi; i += MR) b1_tile(MR, nvc, g, S, w + i * K, y + i * P, p, last);                        \
        if (MR > 4 && i + 4 <= hi) b1_tile(4, nvc, g, S, w + i * K, y + i * P, p, last), i += 4;                    \
        if (MR > 2 && i + 2 <= hi) b1_tile(2, nvc, g, S, w + i * K, y + i * P, p, last), i += 2;                    \
        for (; i < hi; i++) b1_tile(1, nvc, g, S, w + i * K, y + i * P, p, last);                                   \
    } while (0)
        if (nv == NV) B1_TILES(NV);
        else B1_TILES(1);
#undef B1_TILES
        p += nv == NV ? NV * B1_LANES : B1_LANES;
    }
}

#define B1_ARGS const dl_conv2d_geom *g, const float *S, const float *w, float *y, int64_t lo, int64_t hi
typedef void (*b1_fn)(B1_ARGS);
#define B1_VARIANT(sfx, target_attr, MR, NV) \
    target_attr static void b1_rows_##sfx(B1_ARGS) { b1_rows(MR, NV, g, S, w, y, lo, hi); }
/* A 16-lane vector is four xmm registers here, two ymm under AVX2, one zmm under AVX-512. */
B1_VARIANT(portable, , 3, 1)
#if defined(__x86_64__) && defined(__GNUC__)
B1_VARIANT(avx2, __attribute__((target("avx2,fma"))), 6, 1)
B1_VARIANT(avx512, __attribute__((target("avx512f,avx512vl,fma"))), 6, 4)
static const b1_fn b1_fns[] = {b1_rows_portable, b1_rows_avx2, b1_rows_avx512};
#else
static const b1_fn b1_fns[] = {b1_rows_portable};
#endif

int dl_conv_b1_forward(dl_gemv_isa isa, const dl_conv2d_geom *g, const float *x, const float *w, float *y,
                       float *buf, dl_conv_epilogue ep, void *ctx) {
    const int level = dl_isa_level(isa);
    if (level < 0) return -1;
    const b1_fn rows = b1_fns[level];
    const int64_t P = g->oh * g->ow, tiles = (g->oc + B1_ROWS - 1) / B1_ROWS;
    const double macs = (double)g->oc * (double)(g->c * g->kh * g->kw) * (double)P;
    const int par = omp_get_max_threads() > 1 && !omp_in_parallel() && macs >= B1_PAR_MACS;
    for (int64_t i = 0; i < g->n; i++) {
        float *yi = y + i * g->oc * P;
        shifted_copies(g, x + i * g->c * g->h * g->w, buf);
        if (par) {
#pragma omp parallel
            {
                const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
                const int64_t lo = tiles * t / nt * B1_ROWS, hi = tiles * (t + 1) / nt * B1_ROWS;
                rows(g, buf, w, yi, lo, hi < g->oc ? hi : g->oc);
            }
        } else {
            rows(g, buf, w, yi, 0, g->oc);
        }
        if (ep) ep(ctx, i, yi);
    }
    return 0;
}
