/* conv_dw3_rows.c — 3x3 depthwise forwards (padding 1) whose output rows
 * fill 16-lane vectors: planes 8, 16 or 32 wide at stride 1, 16 or 32 wide
 * at stride 2 (MobileNetV2's 32x32, 16x16 and 8x8 layers), computed with
 * the rows in registers.
 *
 * conv_dw3.c first writes three column-shifted copies of every input plane
 * and then reads nine tap views: at batch 1, where a layer is one pass over
 * a few hundred planes that sit in L1 or L2, those copies cost as much as
 * the arithmetic. Here nothing is copied. Each output vector is summed from
 * the input rows above, at and below it, loaded as vectors, in three column
 * sums
 *
 *   L = k0 u + k3 m + k6 d     (left taps,   b = 0)
 *   M = k1 u + k4 m + k7 d     (middle taps, b = 1)
 *   R = k2 u + k5 m + k8 d     (right taps,  b = 2)
 *
 *   y = (L shifted right by one column) + M + (R shifted left by one)
 *
 * so the column taps cost two lane shuffles per output vector whatever the
 * width, and the shuffles bring in zeros at the row ends: the left and
 * right padding. Rows above and below the plane are zero vectors, or zero
 * halves, where an 8-wide layout has two rows in a vector. Layouts:
 *
 *   stride 1, 16 wide   one vector per row; u, m, d are rows i - 1, i, i + 1
 *   stride 1, 32 wide   two vectors per row; the shifts carry one lane from
 *                       the left half to the right one and back
 *   stride 1, 8 wide    rows 2t and 2t + 1 in one vector; u and d are the
 *                       loads one row (8 floats) before and after it, and
 *                       the shifts stop at the middle lane as at the ends
 *   stride 2            output (i, j) reads input row 2i + a - 1 and column
 *                       2j + b - 1: each input row is de-interleaved once
 *                       into its even columns E (tap b = 1) and odd ones O
 *                       (b = 2 as is, b = 0 shifted right by one). 32
 *                       wide in: one 16-wide output row per vector, and an
 *                       odd input row, read by two output rows, is split
 *                       once; 16 wide in: two 8-wide output rows per
 *                       vector, each half from its own input rows.
 *
 * Each plane is computed on its own, the taps summed in a fixed order, so
 * the result does not depend on the thread count. Variants: AVX-512, AVX2 +
 * FMA and baseline x86-64 from the same source (a 16-lane GCC vector is one
 * zmm, two ymm or four xmm registers), all tested; conv_dw3.c runs the
 * AVX-512 one only (dl_dw3_rows_pays: the others were slower than the
 * views). The weight gradient of the same layouts is at the end of the
 * file. */
#pragma GCC optimize("O3", "fp-contract=fast")
#include <string.h>

#include "conv_dw3_internal.h"
#include "conv_dw3_rows_internal.h"
#include "conv_dw3_tiny_internal.h"
#include "conv_pointwise_internal.h"

#pragma GCC diagnostic ignored "-Wpsabi" /* 64-byte vectors only inside always-inlined helpers */
#define DR_INLINE static inline __attribute__((always_inline))
typedef float dr_v __attribute__((vector_size(64)));

DR_INLINE dr_v dr_load(const float *p)
{
    dr_v v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* All 16 lanes of v to p, or with `half` the low 8 (constant sizes: no memcpy call). */
DR_INLINE void dr_store(float *p, dr_v v, int half)
{
    if (half) memcpy(p, &v, 8 * sizeof(float));
    else memcpy(p, &v, sizeof v);
}

/* The affine epilogue (dl_conv_affine) of one plane, whose channel gives s
 * and b: finished as conv_pointwise.c's tiles are, with the same formula.
 * Which parts apply is the constant EP (0: plain store; 1 affine, 2 the
 * residual, 4 the clamp), so the plain kernels are unchanged. */
typedef struct dr_fin {
    float s, b, lo, hi;
    const float *res; /* the plane's residual, like y, or NULL */
} dr_fin;

typedef int32_t dr_vi __attribute__((vector_size(64)));

DR_INLINE dr_v dr_select(dr_vi m, dr_v a, dr_v b) { return (dr_v)((m & (dr_vi)a) | (~m & (dr_vi)b)); }

/* v, the output vector at p of the plane starting at y0, finished and
 * stored (with `half`, 8 lanes: the residual is read as far, no further). */
DR_INLINE void dr_put(const int EP, const dr_fin *f, const float *y0, float *p, dr_v v, int half)
{
    if (EP & 1) v = v * f->s + f->b;
    if (EP & 2) {
        dr_v r = {0};
        memcpy(&r, f->res + (p - y0), (half ? 8 : 16) * sizeof(float));
        v += r;
    }
    if (EP & 4) {
        const dr_v lo = (dr_v){0} + f->lo, hi = (dr_v){0} + f->hi;
#ifdef DL_CLAMP_ZMM_ASM
        DL_CLAMP_ZMM(v, lo, hi); /* the EP copies are AVX-512 ones only */
#else
        v = dr_select(v > lo, dr_select(v < hi, v, hi), lo);
#endif
    }
    dr_store(p, v, half);
}

/* The lane moves, in two forms of the same result: shuffles of whole
 * 16-lane vectors (one instruction each under AVX-512), or, with `hv`, of
 * their 8-lane halves (for AVX2 and baseline x86-64, where GCC lowered the
 * 16-lane shuffles lane by lane: five hundred scalar moves). The kernels
 * below write SHR16(v) and so on; hv is a constant in each variant. */
typedef float dr_h __attribute__((vector_size(32)));
#define H8(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
/* Halves by memcpy: a shuffle of the 16-lane vector would be lowered lane by lane too. */
DR_INLINE dr_h lo_of(dr_v v)
{
    dr_h r;
    memcpy(&r, &v, sizeof r);
    return r;
}
DR_INLINE dr_h hi_of(dr_v v)
{
    dr_h r;
    memcpy(&r, (const char *)&v + sizeof r, sizeof r);
    return r;
}
DR_INLINE dr_v join(dr_h a, dr_h b)
{
    dr_v r;
    memcpy(&r, &a, sizeof a);
    memcpy((char *)&r + sizeof a, &b, sizeof b);
    return r;
}
/* One lane right (zeros in): over all 16, or within each 8-lane half. */
DR_INLINE dr_v dr_shr16(dr_v v, int hv)
{
    const dr_v z = {0};
    const dr_h zh = {0};
    if (!hv) return __builtin_shufflevector(v, z, 16, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14);
    return join(H8(lo_of(v), zh, 8, 0, 1, 2, 3, 4, 5, 6), H8(hi_of(v), lo_of(v), 15, 0, 1, 2, 3, 4, 5, 6));
}
DR_INLINE dr_v dr_shr8(dr_v v, int hv)
{
    const dr_v z = {0};
    const dr_h zh = {0};
    if (!hv) return __builtin_shufflevector(v, z, 16, 0, 1, 2, 3, 4, 5, 6, 16, 8, 9, 10, 11, 12, 13, 14);
    return join(H8(lo_of(v), zh, 8, 0, 1, 2, 3, 4, 5, 6), H8(hi_of(v), zh, 8, 0, 1, 2, 3, 4, 5, 6));
}
/* One lane left (zeros in): over all 16, or within each half. */
DR_INLINE dr_v dr_shl16(dr_v v, int hv)
{
    const dr_v z = {0};
    const dr_h zh = {0};
    if (!hv) return __builtin_shufflevector(v, z, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    return join(H8(lo_of(v), hi_of(v), 1, 2, 3, 4, 5, 6, 7, 8), H8(hi_of(v), zh, 1, 2, 3, 4, 5, 6, 7, 8));
}
DR_INLINE dr_v dr_shl8(dr_v v, int hv)
{
    const dr_v z = {0};
    const dr_h zh = {0};
    if (!hv) return __builtin_shufflevector(v, z, 1, 2, 3, 4, 5, 6, 7, 16, 9, 10, 11, 12, 13, 14, 15, 16);
    return join(H8(lo_of(v), zh, 1, 2, 3, 4, 5, 6, 7, 8), H8(hi_of(v), zh, 1, 2, 3, 4, 5, 6, 7, 8));
}
/* A 32-wide row as halves (a, b): b shifted right by one with a's last
 * lane in front, a shifted left by one with b's first lane behind. */
DR_INLINE dr_v dr_shr_hi(dr_v a, dr_v b, int hv)
{
    if (!hv) return __builtin_shufflevector(a, b, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30);
    return join(H8(lo_of(b), hi_of(a), 15, 0, 1, 2, 3, 4, 5, 6), H8(hi_of(b), lo_of(b), 15, 0, 1, 2, 3, 4, 5, 6));
}
DR_INLINE dr_v dr_shl_lo(dr_v a, dr_v b, int hv)
{
    if (!hv) return __builtin_shufflevector(a, b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    return join(H8(lo_of(a), hi_of(a), 1, 2, 3, 4, 5, 6, 7, 8), H8(hi_of(a), lo_of(b), 1, 2, 3, 4, 5, 6, 7, 8));
}
/* The even (odd) lanes of the 32 lanes (a, b). */
DR_INLINE dr_v dr_evens(dr_v a, dr_v b, int hv)
{
    if (!hv) return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return join(H8(lo_of(a), hi_of(a), 0, 2, 4, 6, 8, 10, 12, 14), H8(lo_of(b), hi_of(b), 0, 2, 4, 6, 8, 10, 12, 14));
}
DR_INLINE dr_v dr_odds(dr_v a, dr_v b, int hv)
{
    if (!hv) return __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    return join(H8(lo_of(a), hi_of(a), 1, 3, 5, 7, 9, 11, 13, 15), H8(lo_of(b), hi_of(b), 1, 3, 5, 7, 9, 11, 13, 15));
}
#define SHR16(v) dr_shr16(v, hv)
#define SHL16(v) dr_shl16(v, hv)
#define SHR8(v) dr_shr8(v, hv)
#define SHL8(v) dr_shl8(v, hv)
#define SHR_HI(a, b) dr_shr_hi(a, b, hv)
#define SHL_LO(a, b) dr_shl_lo(a, b, hv)
#define EVENS(a, b) dr_evens(a, b, hv)
#define ODDS(a, b) dr_odds(a, b, hv)

/* The three column sums of the taps k over the rows u (a = 0), m (a = 1)
 * and d (a = 2). */
typedef struct dr_cols {
    dr_v l, m, r;
} dr_cols;

DR_INLINE dr_cols dr_taps(const float *k, dr_v u, dr_v m, dr_v d)
{
    dr_cols c;
    c.l = k[0] * u + k[3] * m + k[6] * d;
    c.m = k[1] * u + k[4] * m + k[7] * d;
    c.r = k[2] * u + k[5] * m + k[8] * d;
    return c;
}

/* ---- stride 1 ----------------------------------------------------------- */

/* Row r of a plane of h rows, w floats apart, from column `col`; zero
 * outside the plane. */
DR_INLINE dr_v row_at(const float *x, int64_t r, int64_t h, int64_t w, int64_t col)
{
    const dr_v z = {0};
    return r >= 0 && r < h ? dr_load(x + r * w + col) : z;
}

/* h rows of 16. */
DR_INLINE void s1_w16(const float *x, int64_t h, const float *k, float *y, int hv, const int EP, const dr_fin *f)
{
    for (int64_t i = 0; i < h; i++) {
        const dr_cols c = dr_taps(k, row_at(x, i - 1, h, 16, 0), dr_load(x + i * 16), row_at(x, i + 1, h, 16, 0));
        dr_put(EP, f, y, y + i * 16, SHR16(c.l) + c.m + SHL16(c.r), 0);
    }
}

/* h rows of 32: halves 0 (columns 0-15) and 1 (16-31). */
DR_INLINE void s1_w32(const float *x, int64_t h, const float *k, float *y, int hv, const int EP, const dr_fin *f)
{
    for (int64_t i = 0; i < h; i++) {
        const dr_cols c0 = dr_taps(k, row_at(x, i - 1, h, 32, 0), dr_load(x + i * 32), row_at(x, i + 1, h, 32, 0));
        const dr_cols c1 = dr_taps(k, row_at(x, i - 1, h, 32, 16), dr_load(x + i * 32 + 16), row_at(x, i + 1, h, 32, 16));
        dr_put(EP, f, y, y + i * 32, SHR16(c0.l) + c0.m + SHL_LO(c0.r, c1.r), 0);
        dr_put(EP, f, y, y + i * 32 + 16, SHR_HI(c0.l, c1.l) + c1.m + SHL16(c1.r), 0);
    }
}

/* Rows r and r + 1 of an 8-wide plane of h rows as one vector, zero where
 * a row is outside the plane (never read). */
DR_INLINE dr_v rows8(const float *x, int64_t r, int64_t h)
{
    if (r >= 0 && r + 1 < h) return dr_load(x + r * 8);
    float v[16] = {0};
    if (r >= 0 && r < h) memcpy(v, x + r * 8, 8 * sizeof(float));
    if (r + 1 >= 0 && r + 1 < h) memcpy(v + 8, x + (r + 1) * 8, 8 * sizeof(float));
    return dr_load(v);
}

/* m (rows r, r + 1) with the row above the plane, zeros, in front: rows
 * r - 1 and r; or with the row below it behind: rows r + 1 and r + 2. */
DR_INLINE dr_v rows8_top(dr_v m, int hv)
{
    const dr_v z = {0};
    const dr_h zh = {0};
    if (!hv) return __builtin_shufflevector(z, m, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    return join(zh, lo_of(m));
}
DR_INLINE dr_v rows8_bottom(dr_v m, int hv)
{
    const dr_v z = {0};
    const dr_h zh = {0};
    if (!hv) return __builtin_shufflevector(m, z, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23);
    return join(hi_of(m), zh);
}

/* h rows of 8, two per vector (an odd h leaves the last vector half used).
 * With h even the rows outside the plane are the halves of the first and
 * last vectors moved by a shuffle: assembling them through rows8's stack
 * copy cost a store-forwarding stall at both ends of every plane, which
 * on 8x8 planes (four vectors) was most of the time (docs/performance.md,
 * "MobileNetV2 batch-1 inference: 8-wide planes ..."). */
DR_INLINE void s1_w8(const float *x, int64_t h, const float *k, float *y, int hv, const int EP, const dr_fin *f)
{
    if (h % 2 == 0) {
        for (int64_t r = 0; r < h; r += 2) {
            const dr_v m = dr_load(x + r * 8);
            const dr_v u = r == 0 ? rows8_top(m, hv) : dr_load(x + (r - 1) * 8);
            const dr_v d = r + 2 == h ? rows8_bottom(m, hv) : dr_load(x + (r + 1) * 8);
            const dr_cols c = dr_taps(k, u, m, d);
            dr_put(EP, f, y, y + r * 8, SHR8(c.l) + c.m + SHL8(c.r), 0);
        }
        return;
    }
    for (int64_t r = 0; r < h; r += 2) {
        const dr_cols c = dr_taps(k, rows8(x, r - 1, h), rows8(x, r, h), rows8(x, r + 1, h));
        dr_put(EP, f, y, y + r * 8, SHR8(c.l) + c.m + SHL8(c.r), r + 1 >= h);
    }
}

/* ---- stride 2 ----------------------------------------------------------- */

/* An input row split into even (e) and odd (o) columns. */
typedef struct dr_split {
    dr_v e, o;
} dr_split;

/* Output vector from the split rows above (a = 0), at (a = 1) and below
 * (a = 2) its input rows; shr is the right shift of the odd columns for tap
 * b = 0 (SHR16 or SHR8). */
#define S2_SUM(k, u, m, d, shr) \
    (shr(k[0] * u.o + k[3] * m.o + k[6] * d.o) + (k[1] * u.e + k[4] * m.e + k[7] * d.e) + (k[2] * u.o + k[5] * m.o + k[8] * d.o))

/* Row r of a 32-wide plane of h rows, split; zero outside the plane. */
DR_INLINE dr_split split32(const float *x, int64_t r, int64_t h, int hv)
{
    const dr_v a = row_at(x, r, h, 32, 0), b = row_at(x, r, h, 32, 16);
    return (dr_split){EVENS(a, b), ODDS(a, b)};
}

/* h rows of 32 in, (h + 1) / 2 rows of 16 out. */
DR_INLINE void s2_w32(const float *x, int64_t h, const float *k, float *y, int hv, const int EP, const dr_fin *f)
{
    dr_split u = split32(x, -1, h, hv);
    for (int64_t i = 0; 2 * i < h; i++) {
        const dr_split m = split32(x, 2 * i, h, hv), d = split32(x, 2 * i + 1, h, hv);
        dr_put(EP, f, y, y + i * 16, S2_SUM(k, u, m, d, SHR16), 0);
        u = d;
    }
}

/* Rows r and r + 2 of a 16-wide plane of h rows, split into two 8-lane
 * halves each (row r low, r + 2 high); zero outside the plane. */
DR_INLINE dr_split split16x2(const float *x, int64_t r, int64_t h, int hv)
{
    const dr_v a = row_at(x, r, h, 16, 0), b = row_at(x, r + 2, h, 16, 0);
    return (dr_split){EVENS(a, b), ODDS(a, b)};
}

/* h rows of 16 in, oh = (h + 1) / 2 rows of 8 out, two per vector: output
 * rows i and i + 1 read input rows 2i - 1, 2i, 2i + 1 and 2i + 1, 2i + 2,
 * 2i + 3 (row 2i + 1 is split twice: sharing it would take as many
 * shuffles to move between halves). */
DR_INLINE void s2_w16(const float *x, int64_t h, const float *k, float *y, int hv, const int EP, const dr_fin *f)
{
    const int64_t oh = (h + 1) / 2;
    for (int64_t i = 0; i < oh; i += 2) {
        const dr_split u = split16x2(x, 2 * i - 1, h, hv), m = split16x2(x, 2 * i, h, hv), d = split16x2(x, 2 * i + 1, h, hv);
        dr_put(EP, f, y, y + i * 8, S2_SUM(k, u, m, d, SHR8), i + 1 >= oh);
    }
}

/* ---- planes and variants ------------------------------------------------ */

/* Planes [p0, p1) through `plane` (one of the above). */
#define DR_PLANES(plane)                                                                \
    for (int64_t p = p0; p < p1; p++) {                                                 \
        const float *k = w + (p % g->c) * 9;                                            \
        float turned[9];                                                                \
        for (int t = 0; t < 9; t++) turned[t] = k[8 - t];                               \
        dr_fin f = {0};                                                                 \
        if (EP) {                                                                       \
            f.s = a->scale[p % g->c], f.b = a->shift[p % g->c], f.lo = a->lo, f.hi = a->hi; \
            f.res = a->residual ? a->residual + p * plane_out : NULL;                   \
        }                                                                               \
        plane(x + p * plane_in, g->h, rotate ? turned : k, y + p * plane_out, hv, EP, &f); \
    }

DR_INLINE void dr_range_body(const dl_conv2d_geom *g, const float *x, const float *w, float *y, int rotate,
                             int64_t p0, int64_t p1, int hv, const int EP, const dl_conv_affine *a)
{
    const int64_t plane_in = g->h * g->w, plane_out = g->oh * g->ow;
    if (g->sh == 2 && g->w == 32) {
        DR_PLANES(s2_w32);
    } else if (g->sh == 2) {
        DR_PLANES(s2_w16);
    } else if (g->w == 32) {
        DR_PLANES(s1_w32);
    } else if (g->w == 16) {
        DR_PLANES(s1_w16);
    } else {
        DR_PLANES(s1_w8);
    }
}

#define DR_ARGS \
    const dl_conv2d_geom *g, const float *x, const float *w, float *y, int rotate, int64_t p0, int64_t p1
typedef void (*dr_fn)(DR_ARGS);
static void dr_portable(DR_ARGS) { dr_range_body(g, x, w, y, rotate, p0, p1, 1, 0, NULL); }
#if defined(__x86_64__) && defined(__GNUC__)
#define DR_X86 1
__attribute__((target("avx2,fma"))) static void dr_avx2(DR_ARGS) { dr_range_body(g, x, w, y, rotate, p0, p1, 1, 0, NULL); }
__attribute__((target("avx512f,avx512vl,fma"))) static void dr_avx512(DR_ARGS)
{
    dr_range_body(g, x, w, y, rotate, p0, p1, 0, 0, NULL);
}
/* The forward with the epilogue, AVX-512 only (where conv_dw3.c runs these
 * kernels at all: dl_dw3_rows_pays); one copy per EP. */
typedef void (*dr_ep_fn)(DR_ARGS, const dl_conv_affine *a);
#define DR_EP_VARIANT(EP) \
    __attribute__((target("avx512f,avx512vl,fma"))) static void dr_ep##EP##_avx512(DR_ARGS, const dl_conv_affine *a) \
    { dr_range_body(g, x, w, y, rotate, p0, p1, 0, EP, a); }
DR_EP_VARIANT(1)
DR_EP_VARIANT(3)
DR_EP_VARIANT(5)
DR_EP_VARIANT(7)
#endif

int dl_dw3_rows_applies(const dl_conv2d_geom *g)
{
    if (!dl_dw3_applies(g)) return 0;
    if (g->sh == 1) return g->w == 8 || g->w == 16 || g->w == 32;
    return g->sh == 2 && (g->w == 16 || g->w == 32);
}

/* AVX-512 only: on MobileNetV2's batch-1 shapes the AVX2 and baseline
 * variants measured slower than conv_dw3.c's views (AVX-512 clone, same
 * CPU) on four of the five shapes, 1.2 to 22 times (docs/results/
 * dwb_isa.log: their time goes to vectors assembled lane by lane on the
 * stack; which operation GCC lowers so was not found), so on those CPUs
 * the views stay. */
int dl_dw3_rows_pays(const dl_conv2d_geom *g) { return dl_dw3_rows_applies(g) && dl_isa_level(DL_GEMV_AVX512) == 2; }

int dl_dw3_rows_range_isa(dl_gemv_isa isa, const dl_conv2d_geom *g, const float *x, const float *w, float *y,
                          int rotate, int64_t p0, int64_t p1)
{
#ifdef DR_X86
    static const dr_fn fns[] = {dr_portable, dr_avx2, dr_avx512};
#else
    static const dr_fn fns[] = {dr_portable};
#endif
    const int v = dl_isa_level(isa);
    if (v < 0) return -1;
    fns[v](g, x, w, y, rotate, p0, p1);
    return 0;
}

int dl_dw3_rows_range_affine(const dl_conv2d_geom *g, const float *x, const float *w, float *y, int64_t p0, int64_t p1,
                             const dl_conv_affine *a)
{
#ifdef DR_X86
    static const dr_ep_fn fns[] = {dr_ep1_avx512, dr_ep3_avx512, dr_ep5_avx512, dr_ep7_avx512};
    if (dl_isa_level(DL_GEMV_AVX512) != 2) return -1;
    fns[(a->residual != NULL) + 2 * (a->clamp != 0)](g, x, w, y, 0, p0, p1, a);
    return 0;
#else
    (void)g, (void)x, (void)w, (void)y, (void)p0, (void)p1, (void)a;
    return -1;
#endif
}

/* ---- weight gradient ---------------------------------------------------- */

/* gw[a*3 + b] = sum over images and output pixels of gy times the input
 * pixel tap (a, b) reads, for the same layouts as the forwards above. The
 * column shift moves onto gy: sum_j gy[j] x[j + b - 1] is sum_j gy'[j] x[j]
 * with gy' = gy shifted left by one (b = 0) or right by one (b = 2), zeros
 * in, so the input rows are used as loaded (stride 2: split) and each
 * output vector costs two shuffles of gy and nine multiply-adds into nine
 * 16-lane sums held in registers for the plane. conv_dw3.c's tap views
 * (three shifted copies of every plane, then nine loads per vector, a
 * channel's planes visited image by image, n * c planes apart) ran these
 * layers at 6-13% of the FMA peak. Here a thread owns channels [c0, c1),
 * walks images outside and its channels inside (x and gy read in memory
 * order), and keeps each channel's nine sums in `acc` between images; the
 * lanes are added once at the end, in order. A channel's sums take the same
 * images in the same order at any thread count: the bits do not depend on it. */

DR_INLINE void dr_pf(const float *p) { __builtin_prefetch(p); }

/* Stride 1: one output vector g (shifted for b = 0 and b = 2: gl, gr) with
 * the input rows above (u), at (m) and below (d) it. */
DR_INLINE void wg_add(dr_v s[9], dr_v gl, dr_v g, dr_v gr, dr_v u, dr_v m, dr_v d)
{
    s[0] += gl * u, s[1] += g * u, s[2] += gr * u;
    s[3] += gl * m, s[4] += g * m, s[5] += gr * m;
    s[6] += gl * d, s[7] += g * d, s[8] += gr * d;
}

/* Stride 2: b = 0 reads the odd columns one to the left (gy shifted left
 * instead), b = 1 the even ones, b = 2 the odd ones. */
DR_INLINE void wg_add2(dr_v s[9], dr_v gl, dr_v g, dr_split u, dr_split m, dr_split d)
{
    s[0] += gl * u.o, s[1] += g * u.e, s[2] += g * u.o;
    s[3] += gl * m.o, s[4] += g * m.e, s[5] += g * m.o;
    s[6] += gl * d.o, s[7] += g * d.e, s[8] += g * d.o;
}

/* Rows slide through registers: each input row is loaded once. */
DR_INLINE void wg_s1_w16(const float *x, const float *gy, int64_t h, dr_v s[9], int hv, const float *nx, const float *ng)
{
    dr_v u = {0}, m = dr_load(x);
    for (int64_t i = 0; i < h; i++) {
        dr_pf(nx + i * 16), dr_pf(ng + i * 16);
        const dr_v g = dr_load(gy + i * 16), d = row_at(x, i + 1, h, 16, 0);
        wg_add(s, SHL16(g), g, SHR16(g), u, m, d);
        u = m, m = d;
    }
}

DR_INLINE void wg_s1_w32(const float *x, const float *gy, int64_t h, dr_v s[9], int hv, const float *nx, const float *ng)
{
    dr_v u0 = {0}, u1 = {0}, m0 = dr_load(x), m1 = dr_load(x + 16);
    for (int64_t i = 0; i < h; i++) {
        dr_pf(nx + i * 32), dr_pf(nx + i * 32 + 16), dr_pf(ng + i * 32), dr_pf(ng + i * 32 + 16);
        const dr_v g0 = dr_load(gy + i * 32), g1 = dr_load(gy + i * 32 + 16);
        const dr_v d0 = row_at(x, i + 1, h, 32, 0), d1 = row_at(x, i + 1, h, 32, 16);
        wg_add(s, SHL_LO(g0, g1), g0, SHR16(g0), u0, m0, d0);
        wg_add(s, SHL16(g1), g1, SHR_HI(g0, g1), u1, m1, d1);
        u0 = m0, u1 = m1, m0 = d0, m1 = d1;
    }
}

/* Two 8-wide rows per vector, as s1_w8 (an odd h: the last gy vector's
 * high half zero, so the rows past the plane add nothing). */
DR_INLINE void wg_s1_w8(const float *x, const float *gy, int64_t h, dr_v s[9], int hv, const float *nx, const float *ng)
{
    if (h % 2 == 0) {
        for (int64_t r = 0; r < h; r += 2) {
            dr_pf(nx + r * 8), dr_pf(ng + r * 8);
            const dr_v m = dr_load(x + r * 8), g = dr_load(gy + r * 8);
            const dr_v u = r == 0 ? rows8_top(m, hv) : dr_load(x + (r - 1) * 8);
            const dr_v d = r + 2 == h ? rows8_bottom(m, hv) : dr_load(x + (r + 1) * 8);
            wg_add(s, SHL8(g), g, SHR8(g), u, m, d);
        }
        return;
    }
    for (int64_t r = 0; r < h; r += 2) {
        const dr_v g = rows8(gy, r, h);
        wg_add(s, SHL8(g), g, SHR8(g), rows8(x, r - 1, h), rows8(x, r, h), rows8(x, r + 1, h));
    }
}

DR_INLINE void wg_s2_w32(const float *x, const float *gy, int64_t h, dr_v s[9], int hv, const float *nx, const float *ng)
{
    dr_split u = split32(x, -1, h, hv);
    for (int64_t i = 0; 2 * i < h; i++) {
        dr_pf(nx + 2 * i * 32), dr_pf(nx + 2 * i * 32 + 16), dr_pf(ng + i * 16);
        if (2 * i + 1 < h) dr_pf(nx + 2 * i * 32 + 32), dr_pf(nx + 2 * i * 32 + 48);
        const dr_split m = split32(x, 2 * i, h, hv), d = split32(x, 2 * i + 1, h, hv);
        const dr_v g = dr_load(gy + i * 16);
        wg_add2(s, SHL16(g), g, u, m, d);
        u = d;
    }
}

DR_INLINE void wg_s2_w16(const float *x, const float *gy, int64_t h, dr_v s[9], int hv, const float *nx, const float *ng)
{
    const int64_t oh = (h + 1) / 2;
    for (int64_t i = 0; i < oh; i += 2) {
        dr_pf(ng + i * 8);
        for (int64_t r = 2 * i; r < 2 * i + 4 && r < h; r++) dr_pf(nx + r * 16);
        const dr_split u = split16x2(x, 2 * i - 1, h, hv), m = split16x2(x, 2 * i, h, hv), d = split16x2(x, 2 * i + 1, h, hv);
        const dr_v g = rows8(gy, i, oh);
        wg_add2(s, SHL8(g), g, u, m, d);
    }
}

/* Every image's planes of channels [c0, c1) through `plane` (one of the
 * above), which asks for the plane after it in memory (nx, ng: x's and
 * gy's), a part per row: a plane is one to four pages, where the hardware
 * prefetcher stops and starts again cold. MobileNetV2's 96-channel 32x32
 * layer at batch 64: 4.5-4.8 -> 3.7-3.8 ms (docs/performance.md). */
#define DR_WG_PLANES(plane)                                                              \
    for (int64_t img = 0; img < g->n; img++)                                             \
        for (int64_t c = c0; c < c1; c++) {                                              \
            const int64_t p = img * g->c + c;                                            \
            float *a = acc + (c - c0) * 9 * 16;                                          \
            dr_v s[9];                                                                   \
            for (int k = 0; k < 9; k++) s[k] = dr_load(a + 16 * k);                      \
            const int64_t q = p + 1 < g->n * g->c ? p + 1 : p;                           \
            plane(x + p * plane_in, gy + p * plane_out, g->h, s, hv, x + q * plane_in,   \
                  gy + q * plane_out);                                                   \
            memcpy(a, s, sizeof s);                                                      \
        }

DR_INLINE void dr_wgrad_body(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, int64_t c0,
                             int64_t c1, float *acc, int hv)
{
    const int64_t plane_in = g->h * g->w, plane_out = g->oh * g->ow;
    memset(acc, 0, sizeof(float) * 16 * 9 * (size_t)(c1 - c0));
    if (g->sh == 2 && g->w == 32) {
        DR_WG_PLANES(wg_s2_w32);
    } else if (g->sh == 2) {
        DR_WG_PLANES(wg_s2_w16);
    } else if (g->w == 32) {
        DR_WG_PLANES(wg_s1_w32);
    } else if (g->w == 16) {
        DR_WG_PLANES(wg_s1_w16);
    } else {
        DR_WG_PLANES(wg_s1_w8);
    }
    dl_dw3_wgrad_lanes(acc, gw, c0, c1);
}

#define DR_WG_ARGS \
    const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, int64_t c0, int64_t c1, float *acc
typedef void (*dr_wg_fn)(DR_WG_ARGS);
static void dr_wg_portable(DR_WG_ARGS) { dr_wgrad_body(g, x, gy, gw, c0, c1, acc, 1); }
#ifdef DR_X86
__attribute__((target("avx2,fma"))) static void dr_wg_avx2(DR_WG_ARGS) { dr_wgrad_body(g, x, gy, gw, c0, c1, acc, 1); }
__attribute__((target("avx512f,avx512vl,fma"))) static void dr_wg_avx512(DR_WG_ARGS)
{
    dr_wgrad_body(g, x, gy, gw, c0, c1, acc, 0);
}
#endif

int dl_dw3_rows_wgrad_isa(dl_gemv_isa isa, const dl_conv2d_geom *g, const float *x, const float *gy, float *gw,
                          int64_t c0, int64_t c1, float *acc)
{
#ifdef DR_X86
    static const dr_wg_fn fns[] = {dr_wg_portable, dr_wg_avx2, dr_wg_avx512};
#else
    static const dr_wg_fn fns[] = {dr_wg_portable};
#endif
    const int v = dl_isa_level(isa);
    if (v < 0) return -1;
    fns[v](g, x, gy, gw, c0, c1, acc);
    return 0;
}
