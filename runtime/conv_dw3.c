/* conv_dw3.c — 3x3 depthwise convolutions, padding 1, stride 1 or 2: the
 * depthwise layers of MobileNet (v1, v2) and its kin.
 *
 * conv_depthwise.c's general kernels copy each plane into a zero-padded one
 * and then run one loop per tap (nine load-add-store passes over the
 * output) and, for stride 2, a strided inner loop per row that does not
 * vectorize. Here the plane is first rewritten as NINE TAP VIEWS: for every
 * tap k = (a, b), a contiguous array p[k] with p[k][t] = the input pixel
 * that tap reads for output pixel t (zero where it falls in the padding).
 * The views share storage — three column-shifted copies of the plane, with
 * a zero row above and below — so building them costs about three plane
 * copies, and afterwards
 *
 *   forward      y[t]   = sum_k w[k] * p[k][t]        one pass, nine loads, one store
 *   weight grad  gw[k] += sum_t gy[t] * p[k][t]       one pass, nine accumulators
 *
 * are single flat loops over the output plane with no borders, no strides
 * and no junk columns, whatever the plane's width (4 to 32 in MobileNetV2
 * on 32x32 inputs: too narrow for per-row loops to fill a vector).
 *
 * Stride 2 without gathers: tap (a, b) reads x[2i + a - 1, 2j + b - 1], so
 * the column-shifted copies are also de-interleaved (copy b holds columns
 * b - 1, b + 1, b + 3, ...) and split by row parity (a = 1 reads the even
 * rows 2i, a = 0 and a = 2 the odd rows 2i - 1 and 2i + 1: one array of
 * odd rows serves both, offset by a row). Output t = i*ow + j then reads
 * element t of the view, as at stride 1.
 *
 * Data gradient: at stride 1 with padding 1 it IS a forward convolution of
 * gy with the kernel rotated by 180 degrees, so it reuses the forward. At
 * stride 2 every gx pixel gets 1, 2 or 4 taps by the parity of its row and
 * column (even row: a = 1 from gy row r/2; odd row: a = 2 from row (r-1)/2
 * and a = 0 from row (r+1)/2; columns alike), so each gx row is written
 * once from one or two gy rows, even and odd columns in the same loop.
 *
 * Forwards with 4x4 output planes (4x4 at stride 1, 8x8 at stride 2) skip
 * the views: conv_dw3_tiny.c computes each plane as one vector in registers;
 * so do those 8, 16 or 32 wide (stride 1) or 16 or 32 wide in (stride 2)
 * on AVX-512 CPUs: conv_dw3_rows.c holds their rows in registers, for the
 * weight gradient too. The views remain for other widths and other CPUs.
 *
 * Parallel over (image, channel) planes for forward and data gradient (so
 * over channels at batch 1), over channels for the weight gradient (it sums
 * over images; each thread owns whole gw rows, in image order, so the bits
 * do not depend on the thread count). Compiled for AVX-512, AVX2 and
 * baseline x86-64 and chosen at load time, as the rest of the runtime. */
#include <omp.h>
#include <string.h>

#include "conv_dw3_internal.h"
#include "conv_dw3_rows_internal.h"
#include "conv_dw3_tiny_internal.h"
#include "scratch_internal.h"

/* DW3_BASELINE_ONLY: no clones, for tests/unit/test_dw3_baseline.c, which
 * compiles this file again to test the baseline x86-64 code on any CPU. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(DW3_BASELINE_ONLY)
/* Rows here are 4 to 32 floats: GCC would turn the copy and zero loops into
 * memmove/memset calls, which cost more than the copies (a profile showed
 * them at twice the arithmetic). */
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#define DW3_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DW3_CLONES
#endif
/* The helpers below are inlined into the cloned drivers, so each clone gets
 * them compiled for its ISA (out of line they would be baseline x86-64). */
#define DW3_INLINE static inline __attribute__((always_inline))

/* Below this many multiply-adds in the whole call, one thread is faster
 * (the same bound as conv_depthwise.c's). */
#define DW3_PAR_MACS 65536

int dl_dw3_applies(const dl_conv2d_geom *g)
{
    const int64_t s = g->sh;
    return g->kh == 3 && g->kw == 3 && g->pt == 1 && g->pb == 1 && g->pl == 1 && g->pr == 1 && g->dh == 1 &&
           g->dw == 1 && g->groups == g->c && g->oc == g->c && g->sw == s && (s == 1 || s == 2) && g->h > 0 &&
           g->w > 0 && g->oh == (g->h - 1) / s + 1 && g->ow == (g->w - 1) / s + 1;
}

static int dw3_parallel(const dl_conv2d_geom *g)
{
    return (double)g->n * (double)g->c * (double)(g->oh * g->ow) * 9.0 >= DW3_PAR_MACS && !DL_IN_PARALLEL();
}

/* dst[j] = xr[2*j + off] where that column exists, else 0 (j < n); a NULL
 * xr is a padding row. Inlined into build_views' clones: an out-of-line
 * call per row (through the clone dispatcher) cost more than the copy on
 * the 4- and 8-wide planes. GCC de-interleaves with shuffles, not gathers;
 * simdlen(8): with 16-lane vectors an 8- or 4-float row would run entirely
 * in the scalar remainder. */
DW3_INLINE void gather_row2(float *restrict dst, const float *restrict xr, int64_t w, int64_t n, int64_t off)
{
    int64_t lo = off < 0 ? (-off + 1) / 2 : 0, hi = (w - off + 1) / 2;
    if (!xr) lo = hi = n;
    if (hi > n) hi = n;
    if (lo > hi) lo = hi;
    for (int64_t j = 0; j < lo; j++) dst[j] = 0.0f;
    if (xr) {
        const float *restrict xs = xr + off;
#pragma omp simd simdlen(8)
        for (int64_t j = lo; j < hi; j++) dst[j] = xs[2 * j];
    }
    for (int64_t j = hi; j < n; j++) dst[j] = 0.0f;
}

/* Stride 1's view of column shift b - 1 (v: h + 2 rows of w): the plane
 * copied whole, shifted by one float, then the column that wrapped round
 * zeroed — long loops, where a copy per 4- or 8-float row ran in the
 * vector loop's scalar remainder. */
DW3_INLINE void shifted_plane(float *restrict v, const float *restrict x, int64_t h, int64_t w, int64_t b)
{
    const int64_t hw = h * w;
    float *restrict in = v + w;
    for (int64_t j = 0; j < w; j++) v[j] = 0.0f, in[hw + j] = 0.0f;
    if (b == 1) {
#pragma omp simd
        for (int64_t t = 0; t < hw; t++) in[t] = x[t];
        return;
    }
    if (b == 0) {
        in[0] = 0.0f;
#pragma omp simd
        for (int64_t t = 1; t < hw; t++) in[t] = x[t - 1];
        for (int64_t r = 0; r < h; r++) in[r * w] = 0.0f;
        return;
    }
    in[hw - 1] = 0.0f;
#pragma omp simd
    for (int64_t t = 0; t < hw - 1; t++) in[t] = x[t + 1];
    for (int64_t r = 0; r < h; r++) in[r * w + w - 1] = 0.0f;
}

/* Floats of scratch the nine views of one plane take. */
static int64_t views_floats(const dl_conv2d_geom *g)
{
    return g->sh == 1 ? 3 * (g->h + 2) * g->w : 3 * (2 * g->oh + 1) * g->ow;
}

/* Stride 2, even w: x row r split once into its even columns (view b = 1)
 * and odd columns (b = 2), and the odd ones again shifted right by one
 * (b = 0, a zero in column 0): one de-interleave per row instead of three
 * strided gathers. d[b] is the destination row of view b. */
DW3_INLINE void split_row(float *const d[3], const float *restrict xr, int64_t ow)
{
    float *restrict d0 = d[0], *restrict d1 = d[1], *restrict d2 = d[2];
#pragma omp simd simdlen(8)
    for (int64_t j = 0; j < ow; j++) {
        d1[j] = xr[2 * j];
        d2[j] = xr[2 * j + 1];
    }
    d0[0] = 0.0f;
#pragma omp simd simdlen(8)
    for (int64_t j = 1; j < ow; j++) d0[j] = xr[2 * j - 1];
}

/* The nine tap views of the h x w plane x in buf (views_floats long):
 * p[a*3 + b][t] is what tap (a, b) reads for output t < oh*ow. */
DW3_INLINE void build_views(const dl_conv2d_geom *g, const float *x, float *buf, const float *p[9])
{
    const int64_t h = g->h, w = g->w, oh = g->oh, ow = g->ow, vs = (2 * oh + 1) * ow;
    if (g->sh == 1) {
        for (int64_t b = 0; b < 3; b++) { /* rows -1 .. h, columns shifted by b - 1 */
            float *v = buf + b * (h + 2) * w;
            shifted_plane(v, x, h, w, b);
            for (int64_t a = 0; a < 3; a++) p[a * 3 + b] = v + a * w;
        }
        return;
    }
    /* view b: oh rows 2i (a = 1), then oh + 1 rows 2i - 1 (a = 0; a = 2 one row on) */
    for (int64_t b = 0; b < 3; b++) {
        float *even = buf + b * vs, *odd = even + oh * ow;
        p[b] = odd, p[3 + b] = even, p[6 + b] = odd + ow;
    }
    if (w % 2) { /* the last odd column is padding: the general gather */
        for (int64_t b = 0; b < 3; b++) {
            float *even = buf + b * vs, *odd = even + oh * ow;
            for (int64_t i = 0; i < oh; i++) gather_row2(even + i * ow, x + 2 * i * w, w, ow, b - 1);
            for (int64_t i = 0; i <= oh; i++) {
                const int64_t r = 2 * i - 1;
                gather_row2(odd + i * ow, r >= 0 && r < h ? x + r * w : NULL, w, ow, b - 1);
            }
        }
        return;
    }
    for (int64_t r = 0; r < h; r++) {
        const int64_t row = r % 2 ? oh + (r + 1) / 2 : r / 2;
        float *const d[3] = {buf + row * ow, buf + vs + row * ow, buf + 2 * vs + row * ow};
        split_row(d, x + r * w, ow);
    }
    for (int64_t b = 0; b < 3; b++) { /* row -1, and row h when h is odd */
        float *odd = buf + b * vs + oh * ow;
        for (int64_t j = 0; j < ow; j++) odd[j] = 0.0f;
        if (h % 2)
            for (int64_t j = 0; j < ow; j++) odd[oh * ow + j] = 0.0f;
    }
}

/* y[t] = sum over the taps of w[k] * p[k][t], t < len. Three partial sums so
 * the adds are not one nine-long dependency chain. */
DW3_INLINE void taps_sum(const float *const p[9], const float *w, int64_t len, float *restrict y)
{
    const float *restrict p0 = p[0], *restrict p1 = p[1], *restrict p2 = p[2], *restrict p3 = p[3];
    const float *restrict p4 = p[4], *restrict p5 = p[5], *restrict p6 = p[6], *restrict p7 = p[7];
    const float *restrict p8 = p[8];
    const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
#pragma omp simd
    for (int64_t t = 0; t < len; t++) {
        const float r0 = w0 * p0[t] + w1 * p1[t] + w2 * p2[t];
        const float r1 = w3 * p3[t] + w4 * p4[t] + w5 * p5[t];
        const float r2 = w6 * p6[t] + w7 * p7[t] + w8 * p8[t];
        y[t] = r0 + r1 + r2;
    }
}

/* acc[k] += gy[t] * p[k][t] over t < len: the nine sums kept as 8-lane
 * vectors (GCC's vector extension: registers on AVX2 and AVX-512, pairs of
 * SSE registers on baseline x86-64; GCC does not vectorize an omp simd
 * reduction of nine scalars) across all the images of a channel, so the
 * lanes are added up once per channel, not once per 4x4 plane. A len that
 * is not a multiple of 8 leaves its last columns to tail[k]. */
typedef float dw3_vec __attribute__((vector_size(32)));
typedef float dw3_uvec __attribute__((vector_size(32), aligned(4), may_alias)); /* an unaligned load */
#define DW3_LANES 8
#define vload(p) (*(const dw3_uvec *)(p))

DW3_INLINE void taps_dot(const float *const p[9], const float *restrict gy, int64_t len, dw3_vec *acc, float *tail)
{
    dw3_vec s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3], s4 = acc[4], s5 = acc[5], s6 = acc[6], s7 = acc[7];
    dw3_vec s8 = acc[8];
    int64_t t = 0;
    for (; t + DW3_LANES <= len; t += DW3_LANES) {
        const dw3_vec d = vload(gy + t);
        s0 += d * vload(p[0] + t), s1 += d * vload(p[1] + t), s2 += d * vload(p[2] + t);
        s3 += d * vload(p[3] + t), s4 += d * vload(p[4] + t), s5 += d * vload(p[5] + t);
        s6 += d * vload(p[6] + t), s7 += d * vload(p[7] + t), s8 += d * vload(p[8] + t);
    }
    acc[0] = s0, acc[1] = s1, acc[2] = s2, acc[3] = s3, acc[4] = s4, acc[5] = s5, acc[6] = s6, acc[7] = s7;
    acc[8] = s8;
    for (int k = 0; k < 9; k++)
        for (int64_t u = t; u < len; u++) tail[k] += gy[u] * p[k][u];
}

/* Ask for the next image's planes while this one is computed: a channel's
 * planes lie n*c*plane apart, each on its own pages, where the hardware
 * prefetcher stops and restarts cold (the weight gradient ran at a third of
 * its speed on data not already in cache). */
static void prefetch_plane(const float *v, int64_t floats)
{
    for (int64_t i = 0; i < floats; i += 16) __builtin_prefetch(v + i);
}

/* One gx row r (w wide) at stride 2 from gy rows g0 = gy[r/2] and, for an
 * odd r, g1 = gy[r/2 + 1]; gy rows carry one zero past their end (and g1 is
 * a zero row past the last one), so n + 1 needs no test. */
DW3_INLINE void s2_data_row(int64_t r, int64_t w, const float *restrict g0, const float *restrict g1, const float *k,
                            float *restrict gxr)
{
    const int64_t half = w / 2;
    if (r % 2 == 0) {
        const float k3 = k[3], k4 = k[4], k5 = k[5];
#pragma omp simd simdlen(8)
        for (int64_t n = 0; n < half; n++) {
            gxr[2 * n] = k4 * g0[n];
            gxr[2 * n + 1] = k5 * g0[n] + k3 * g0[n + 1];
        }
        if (w % 2) gxr[w - 1] = k4 * g0[half];
        return;
    }
    const float k0 = k[0], k1 = k[1], k2 = k[2], k6 = k[6], k7 = k[7], k8 = k[8];
#pragma omp simd simdlen(8)
    for (int64_t n = 0; n < half; n++) {
        gxr[2 * n] = k7 * g0[n] + k1 * g1[n];
        gxr[2 * n + 1] = (k8 * g0[n] + k6 * g0[n + 1]) + (k2 * g1[n] + k0 * g1[n + 1]);
    }
    if (w % 2) gxr[w - 1] = k7 * g0[half] + k1 * g1[half];
}

/* Planes [p0, p1) of the forward (rotate: with each kernel turned by 180
 * degrees, the stride-1 data gradient); buf is the thread's scratch. One
 * clone dispatch per thread, not per plane: at batch 1 a plane is 16 to
 * 1024 outputs. */
DW3_CLONES static void forward_range(const dl_conv2d_geom *g, const float *x, const float *w, float *y, int rotate,
                                     int64_t p0, int64_t p1, float *buf)
{
    const int64_t plane_in = g->h * g->w, plane_out = g->oh * g->ow;
    for (int64_t p = p0; p < p1; p++) {
        const float *v[9], *k = w + (p % g->c) * 9;
        float turned[9];
        for (int t = 0; t < 9; t++) turned[t] = k[8 - t];
        build_views(g, x + p * plane_in, buf, v);
        taps_sum(v, rotate ? turned : k, plane_out, y + p * plane_out);
    }
}

/* This thread's share [*p0, *p1) of `count` items, split as schedule(static) would. */
static void thread_share(int64_t count, int64_t *p0, int64_t *p1)
{
    const int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
    *p0 = count * id / nt, *p1 = count * (id + 1) / nt;
}

static int forward_planes(const dl_conv2d_geom *g, const float *x, const float *w, float *y, int rotate)
{
    int failed = 0;
#pragma omp parallel if (dw3_parallel(g)) reduction(| : failed)
    {
        int64_t p0, p1;
        thread_share(g->n * g->c, &p0, &p1);
        if (dl_dw3_tiny_applies(g)) { /* 4x4 outputs in registers: conv_dw3_tiny.c */
            dl_dw3_tiny_range_isa(DL_GEMV_BEST, g, x, w, y, rotate, p0, p1);
        } else if (dl_dw3_rows_pays(g)) { /* 8-, 16- and 32-wide rows in registers: conv_dw3_rows.c */
            dl_dw3_rows_range_isa(DL_GEMV_AVX512, g, x, w, y, rotate, p0, p1);
        } else {
            float *buf = p1 > p0 ? dl_scratch(DL_SCRATCH_CONV, views_floats(g)) : NULL;
            if (buf) forward_range(g, x, w, y, rotate, p0, p1, buf);
            failed = p1 > p0 && !buf;
        }
    }
    return failed ? -1 : 0;
}

int dl_dw3_forward(const dl_conv2d_geom *g, const float *x, const float *w, float *y)
{
    return forward_planes(g, x, w, y, 0);
}

/* Stride 2's data gradient, planes [p0, p1): each plane's gy padded by a
 * zero column and a zero row in gp, then gx row by row. */
DW3_CLONES static void s2_data_range(const dl_conv2d_geom *g, const float *gy, const float *w, float *gx, int64_t p0,
                                     int64_t p1, float *gp)
{
    const int64_t oh = g->oh, ow = g->ow, gs = ow + 1;
    for (int64_t p = p0; p < p1; p++) {
        const float *gyp = gy + p * oh * ow;
        for (int64_t i = 0; i < oh; i++) {
#pragma omp simd simdlen(8)
            for (int64_t j = 0; j < ow; j++) gp[i * gs + j] = gyp[i * ow + j];
            gp[i * gs + ow] = 0.0f;
        }
        for (int64_t j = 0; j < gs; j++) gp[oh * gs + j] = 0.0f;
        float *gxp = gx + p * g->h * g->w;
        for (int64_t r = 0; r < g->h; r++) {
            const float *g0 = gp + (r / 2) * gs;
            s2_data_row(r, g->w, g0, g0 + gs, w + (p % g->c) * 9, gxp + r * g->w);
        }
    }
}

static int s2_bwd_data(const dl_conv2d_geom *g, const float *gy, const float *w, float *gx)
{
    int failed = 0;
#pragma omp parallel if (dw3_parallel(g)) reduction(| : failed)
    {
        int64_t p0, p1;
        thread_share(g->n * g->c, &p0, &p1);
        float *gp = p1 > p0 ? dl_scratch(DL_SCRATCH_CONV, (g->oh + 1) * (g->ow + 1)) : NULL;
        if (gp) s2_data_range(g, gy, w, gx, p0, p1, gp);
        failed = p1 > p0 && !gp;
    }
    return failed ? -1 : 0;
}

int dl_dw3_bwd_data(const dl_conv2d_geom *g, const float *gy, const float *w, float *gx)
{
    if (g->sh == 2) return s2_bwd_data(g, gy, w, gx);
    return forward_planes(g, gy, w, gx, 1); /* stride 1: gy convolved with the turned kernel */
}

/* gw's row for channel c: the nine sums over every image. */
DW3_CLONES static void wgrad_channel(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, int64_t c,
                                     float *buf)
{
    const int64_t plane_in = g->h * g->w, plane_out = g->oh * g->ow;
    dw3_vec acc[9];
    float tail[9] = {0};
    memset(acc, 0, sizeof acc);
    for (int64_t img = 0; img < g->n; img++) {
        const float *v[9];
        const int64_t p = img * g->c + c;
        if (img + 1 < g->n) {
            prefetch_plane(x + (p + g->c) * plane_in, plane_in);
            prefetch_plane(gy + (p + g->c) * plane_out, plane_out);
        }
        build_views(g, x + p * plane_in, buf, v);
        taps_dot(v, gy + p * plane_out, plane_out, acc, tail);
    }
    for (int k = 0; k < 9; k++) {
        float sum = tail[k];
        for (int l = 0; l < DW3_LANES; l++) sum += acc[k][l];
        gw[c * 9 + k] = sum;
    }
}

int dl_dw3_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw)
{
    int failed = 0;
    /* 4x4 outputs in registers (conv_dw3_tiny.c), or rows of 8, 16 and 32 (conv_dw3_rows.c) */
    const int tiny = dl_dw3_tiny_applies(g);
    if (tiny || dl_dw3_rows_pays(g)) {
#pragma omp parallel if (dw3_parallel(g)) reduction(| : failed)
        {
            int64_t c0, c1;
            thread_share(g->c, &c0, &c1);
            float *acc = c1 > c0 ? dl_scratch(DL_SCRATCH_CONV, 16 * 9 * (c1 - c0)) : NULL;
            if (acc && tiny)
                dl_dw3_tiny_wgrad_isa(DL_GEMV_BEST, g, x, gy, gw, c0, c1, acc);
            else if (acc)
                dl_dw3_rows_wgrad_isa(DL_GEMV_AVX512, g, x, gy, gw, c0, c1, acc);
            failed = c1 > c0 && !acc;
        }
        return failed ? -1 : 0;
    }
#pragma omp parallel for schedule(static) if (dw3_parallel(g)) reduction(| : failed)
    for (int64_t c = 0; c < g->c; c++) {
        float *buf = dl_scratch(DL_SCRATCH_CONV, views_floats(g));
        if (buf)
            wgrad_channel(g, x, gy, gw, c, buf);
        else
            failed = 1;
    }
    return failed ? -1 : 0;
}
