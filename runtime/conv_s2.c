/* conv_s2.c — stride-2 convolutions (kernels up to 3x3: ResNet's downsampling
 * layers) as stride-1 direct convolutions of phase planes, with no im2col
 * columns and no col2im. (1x1 kernels work too, but conv.c keeps them on
 * im2col + GEMM, where they measured faster.)
 *
 * Why: im2col + GEMM wrote K x P columns from the input and the GEMM read
 * them back; inside a training step the input comes from memory, so making
 * im2col faster did not move the step (docs/performance.md, "Stride-2
 * im2col/col2im by half rows"). Here the input is read once.
 *
 * Phases. Pad the input (ph x pw) and split it into its four phases
 * (even/odd rows x even/odd columns): phase (pr, pc) holds padded element
 * (2u + pr, 2v + pc) at (u, v). Output (i, j) through tap (a, b) reads
 * padded (2i + a, 2j + b) = phase (a&1, b&1) at (i + a/2, j + b/2): a
 * stride-1 read of one phase plane shifted by (a/2, b/2). So
 *
 *   forward      y[o][i][j] = sum_{c,a,b} w[o][c][a][b] X_{a&1,b&1}[c][i + a/2][j + b/2]
 *   data grad    gx at padded (2u + pr, 2v + pc) = sum over the taps a = pr + 2ta,
 *                b = pc + 2tb and o of w[o][c][a][b] gy[o][u - ta][v - tb]: each gx
 *                phase is a stride-1 correlation of gy with a 2x2, 2x1, 1x2 or 1x1
 *                sub-kernel (for 3x3), every gx element written once, no memset
 *   weight grad  gw[o][c][a][b] = sum_{i,j} gy[o][i][j] X_{a&1,b&1}[c][i + a/2][j + b/2]
 *
 * and each is one kernel over taps given by flat offsets: the planes are
 * addressed flat with row width W, output p = i*W + j, a tap is one
 * constant offset, and the W - ow columns past each output row are computed
 * and thrown away (forward, data gradient) or meet zeros in gy (weight
 * gradient). W = ow + 1 for a 3x3 kernel: 6% extra work on 16-wide rows,
 * 12% on 8-wide ones. When the output rows are 16 or 8 wide (ResNet-20's
 * layers), a vector holds one or two whole rows instead (px_base): no lane
 * is wasted and the outputs are stored compact.
 *
 *   forward/data  ob output channels x 32 pixels (AVX-512; 16 pixels and
 *                 fewer channels with 16 vector registers) of accumulators;
 *                 per tap two loads and 2*ob FMAs with broadcast weights.
 *   weight grad   4 output channels x 6 taps of 16-lane accumulators, run
 *                 over WG_IMAGES images' pixels before they go to memory;
 *                 the lanes are summed once per range of images.
 *
 * Each output element is a sum in a fixed order that depends on the
 * geometry only, so 1 and 2 threads agree. Compiled for AVX-512, AVX with
 * FMA and baseline x86-64, chosen at load time (as conv_direct_small.c). */
#pragma GCC optimize("O3", "fp-contract=fast", "no-tree-loop-distribute-patterns")
#include <string.h>

#include "conv_s2_internal.h"

/* S2D_BASELINE_ONLY: tests/unit/test_conv_s2.c compiles this file again
 * without clones, so the baseline build is tested on any machine. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(S2D_BASELINE_ONLY)
#define S2D_CLONES __attribute__((target_clones("avx512f", "fma", "default")))
#else
#define S2D_CLONES
#endif
#define INLINE inline __attribute__((always_inline))

#define VL 16        /* floats per vector: pixels per step */
#define OB_WIDE 8    /* output channels per tile, 32 pixels, 32 vector registers */
#define OB_NARROW 6  /* the same with 16 pixels and 16 registers (AVX2: 12 ymm accumulators) */
#define WG_OB 4      /* weight gradient tile: output channels */
#define WG_TB 6      /* ... and taps */
#define WG_IMAGES 4  /* images whose pixels one weight-gradient tile runs over */
#define MAX_TAPS 4608

typedef float s2_v __attribute__((vector_size(VL * sizeof(float))));

static int wide(void) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(S2D_BASELINE_ONLY)
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

static int64_t lines(int64_t floats) { return (floats + 15) / 16 * 16; }
static int64_t round_vl(int64_t n) { return (n + VL - 1) / VL * VL; }

typedef float s2_h __attribute__((vector_size(VL / 2 * sizeof(float))));

/* A short row copied in line, in whole vectors where it can: a memcpy call
 * per 8- or 16-float row cost a fifth of the forward. */
static INLINE void copy_row(float *restrict d, const float *restrict s, int64_t n) {
    int64_t k = 0;
    for (; k + VL <= n; k += VL) memcpy(d + k, s + k, sizeof(s2_v));
    if (k + VL / 2 <= n) memcpy(d + k, s + k, sizeof(s2_h)), k += VL / 2;
    for (; k < n; k++) d[k] = s[k];
}

/* The forward's phase planes and flat output grid for one image. */
typedef struct s2_geom {
    int64_t A, B;          /* (kh-1)/2, (kw-1)/2: the largest shift of a tap inside its phase */
    int64_t nrp, ncp;      /* row and column phases the kernel reads: 1 for a 1-tall / 1-wide kernel */
    int64_t H2, W2, plane; /* a phase plane: rows, columns (the flat row width), H2*W2 */
    int64_t K, np, npr;    /* taps c*kh*kw; flat outputs oh*W2, rounded up to VL */
    int64_t xfloats;       /* the phase planes and the zeros the last vectors read past them */
} s2_geom;

static s2_geom s2_of(const dl_conv2d_geom *g) {
    s2_geom s;
    s.A = (g->kh - 1) / 2, s.B = (g->kw - 1) / 2;
    s.nrp = g->kh < 2 ? 1 : 2, s.ncp = g->kw < 2 ? 1 : 2;
    s.H2 = g->oh + s.A, s.W2 = g->ow + s.B, s.plane = s.H2 * s.W2;
    s.K = g->c * g->kh * g->kw;
    s.np = g->oh * s.W2, s.npr = round_vl(s.np);
    /* the last vector of the last tap reads to A*W2 + B + npr - 1 < plane + npr in the last plane */
    s.xfloats = g->c * s.nrp * s.ncp * s.plane + s.npr;
    return s;
}

int dl_conv_s2_fits(const dl_conv2d_geom *g) {
    if (g->groups != 1 || g->sh != 2 || g->sw != 2 || g->dh != 1 || g->dw != 1) return 0;
    if (g->kh < 1 || g->kh > 3 || g->kw < 1 || g->kw > 3) return 0;
    if (g->pt < 0 || g->pb < 0 || g->pl < 0 || g->pr < 0 || g->c < 1 || g->oc < 1 || g->h < 1 || g->w < 1) return 0;
    int64_t eh = g->h + g->pt + g->pb - g->kh, ew = g->w + g->pl + g->pr - g->kw;
    if (eh < 0 || ew < 0 || g->oh != eh / 2 + 1 || g->ow != ew / 2 + 1) return 0;
    s2_geom s = s2_of(g);
    /* tap offsets are int32; the data gradient has up to 4*oc taps per phase */
    return s.K <= MAX_TAPS && 4 * g->oc <= MAX_TAPS && s.xfloats < (1LL << 30) &&
           g->oc * (g->oh + 2) * (g->ow + 2) < (1LL << 30);
}

/* ---- the kernel: y[o][p] = sum_t w[o*K + t] * X[off[t] + p] ----------------------------- */

/* Pixels. Flat (rw 0): the 16 pixels from p are X[p .. p + 16) past a tap's
 * offset. In rows (rw 16 or 8, the output row width): pixel p is output row
 * p / rw, column p % rw, at X[(p / rw) * W + p % rw] for X's row pitch W —
 * a vector is one 16-wide row or two 8-wide rows, so no lane computes a
 * column past the row and the outputs are stored compact, straight into y. */
static INLINE int64_t px_base(const int rw, int64_t p, int64_t W) { return rw ? p / rw * W : p; }

static INLINE void px_load(const int rw, const float *at, int64_t W, s2_v *v) {
    if (rw == 8) {
        s2_h a, b;
        memcpy(&a, at, sizeof a);
        memcpy(&b, at + W, sizeof b);
        *v = __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    } else {
        memcpy(v, at, sizeof *v);
    }
}

/* nv (1 or 2) vectors of pixels from p for ob output channels. */
static INLINE void taps_span(const int ob, const int nv, const int rw, int64_t K, const float *restrict X,
                             const int32_t *restrict off, const float *restrict w, int64_t p, int64_t W,
                             float *restrict y, int64_t ldy) {
    s2_v acc[OB_WIDE][2];
    int64_t base[2];
#pragma GCC unroll 2
    for (int k = 0; k < nv; k++) base[k] = px_base(rw, p + k * VL, W);
#pragma GCC unroll 8
    for (int o = 0; o < ob; o++)
#pragma GCC unroll 2
        for (int k = 0; k < nv; k++) acc[o][k] = (s2_v){0};
    for (int64_t t = 0; t < K; t++) {
        s2_v xv[2];
#pragma GCC unroll 2
        for (int k = 0; k < nv; k++) px_load(rw, X + off[t] + base[k], W, &xv[k]);
#pragma GCC unroll 8
        for (int o = 0; o < ob; o++)
#pragma GCC unroll 2
            for (int k = 0; k < nv; k++) acc[o][k] += w[o * K + t] * xv[k];
    }
#pragma GCC unroll 8
    for (int o = 0; o < ob; o++)
#pragma GCC unroll 2
        for (int k = 0; k < nv; k++) memcpy(y + o * ldy + p + k * VL, &acc[o][k], sizeof acc[o][k]);
}

/* All pixels p < n (a multiple of VL) for ob channels; two vectors a step when wide. */
static INLINE void taps_tile(const int ob, const int rw, int wd, int64_t K, const float *X, const int32_t *off,
                             const float *w, int64_t n, int64_t W, float *y, int64_t ldy) {
    int64_t p = 0;
    if (wd)
        for (; p + 2 * VL <= n; p += 2 * VL) taps_span(ob, 2, rw, K, X, off, w, p, W, y, ldy);
    for (; p < n; p += VL) taps_span(ob, 1, rw, K, X, off, w, p, W, y, ldy);
}

/* taps_tile with ob a constant in each case, so the accumulators live in registers. */
static INLINE void taps_rw(const int rw, int ob, int wd, int64_t K, const float *X, const int32_t *off,
                           const float *w, int64_t n, int64_t W, float *y, int64_t ldy) {
    switch (ob) {
    case 1: taps_tile(1, rw, wd, K, X, off, w, n, W, y, ldy); break;
    case 2: taps_tile(2, rw, wd, K, X, off, w, n, W, y, ldy); break;
    case 3: taps_tile(3, rw, wd, K, X, off, w, n, W, y, ldy); break;
    case 4: taps_tile(4, rw, wd, K, X, off, w, n, W, y, ldy); break;
    case 5: taps_tile(5, rw, wd, K, X, off, w, n, W, y, ldy); break;
    case 6: taps_tile(6, rw, wd, K, X, off, w, n, W, y, ldy); break;
    case 7: taps_tile(7, rw, wd, K, X, off, w, n, W, y, ldy); break;
    default: taps_tile(8, rw, wd, K, X, off, w, n, W, y, ldy); break;
    }
}

S2D_CLONES static void taps_block(int rw, int ob, int wd, int64_t K, const float *X, const int32_t *off,
                                  const float *w, int64_t n, int64_t W, float *y, int64_t ldy) {
    switch (rw) {
    case 16: taps_rw(16, ob, wd, K, X, off, w, n, W, y, ldy); break;
    case 8: taps_rw(8, ob, wd, K, X, off, w, n, W, y, ldy); break;
    default: taps_rw(0, ob, wd, K, X, off, w, n, W, y, ldy); break;
    }
}

/* The row width the kernels run rows-of (16 or 8) for outputs rows x cols, or 0: flat. */
static int row_mode(int64_t rows, int64_t cols) {
    if (cols == VL) return VL;
    if (cols == VL / 2 && rows % 2 == 0) return VL / 2;
    return 0;
}

/* y (rows x ldy) = the taps kernel over n pixels (rw: see px_base; X's row
 * pitch W) for `rows` output channels, in tiles as even as the register
 * budget allows. */
static void taps_all(int64_t rows, int rw, int64_t K, const float *X, const int32_t *off, const float *w, int64_t n,
                     int64_t W, float *y, int64_t ldy) {
    int wd = wide();
    int64_t most = wd ? OB_WIDE : OB_NARROW, tiles = (rows + most - 1) / most, ob = (rows + tiles - 1) / tiles;
    for (int64_t o0 = 0; o0 < rows; o0 += ob) {
        int64_t r = rows - o0 < ob ? rows - o0 : ob;
        taps_block(rw, (int)r, wd, K, X, off, w + o0 * K, n, W, y + o0 * ldy, ldy);
    }
}

/* ---- phase planes ------------------------------------------------------------------------ */

/* Half rows: ev[k] = src[2k], od[k] = src[2k + 1] for k < n/2 (n even, in
 * chunks of 32 then 16 input floats), written at ev and od whole vectors at a
 * time; the caller places ev and od so that those stores land in its rows. */
#define JUNK 1024 /* floats of a half row split_phases can throw away through the vector path */

static INLINE void deinterleave(const float *restrict src, int64_t n, float *ev, float *od) {
    int64_t k = 0;
    for (; 2 * k + 2 * VL <= n; k += VL) {
        s2_v a, b;
        memcpy(&a, src + 2 * k, sizeof a);
        memcpy(&b, src + 2 * k + VL, sizeof b);
        s2_v e = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        s2_v o = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        memcpy(ev + k, &e, sizeof e);
        memcpy(od + k, &o, sizeof o);
    }
    for (; 2 * k + VL <= n; k += VL / 2) {
        s2_h a, b;
        memcpy(&a, src + 2 * k, sizeof a);
        memcpy(&b, src + 2 * k + VL / 2, sizeof b);
        s2_h e = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
        s2_h o = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
        memcpy(ev + k, &e, sizeof e);
        memcpy(od + k, &o, sizeof o);
    }
    for (; 2 * k < n; k++) ev[k] = src[2 * k], od[k] = src[2 * k + 1];
}

/* xs[(c*nrp + pr)*ncp + pc] = phase (pr, pc) of channel c of the padded x,
 * H2 x W2 (zeros in the padding), then zeros up to xfloats. Each input row is split once into its even and odd columns by
 * vector shuffles, stored straight into the two phase rows (a strided scalar
 * copy took 30% of the forward, and one through a padded row buffer with
 * memcpy 45%: perf, ResNet-20's 16->32 layer). Padded column 2v + pc is x
 * column 2v + pc - pl: with pl = 2m, phase pc is x's even (pc 0) or odd
 * half shifted right by m; with pl = 2m + 1, phase 0 is the odd half
 * shifted by m + 1 and phase 1 the even half by m. */
S2D_CLONES static void split_phases(const dl_conv2d_geom *g, const s2_geom *s, const float *restrict x,
                                    float *restrict xs, int zeroed) {
    const int64_t m = g->pl / 2, odd = g->pl & 1, we = g->w & ~(int64_t)1;
    const int64_t ne = (g->w + 1) / 2, no = g->w / 2; /* even and odd columns of x */
    /* phase pc: its half of x (0 even, 1 odd), that half's length, its shift */
    const int64_t half[2] = {odd, !odd}, len[2] = {odd ? no : ne, odd ? ne : no}, sh[2] = {m + odd, m};
    /* rows with more columns than the phase rows keep (padding below the kernel's reach) go element by element */
    const int vec = len[0] + sh[0] <= s->W2 && (s->ncp == 1 ? no <= JUNK : len[1] + sh[1] <= s->W2);
    float junk[JUNK + VL]; /* a one-column phase's unused half */
    /* the padding and the columns no row of x reaches stay zero: one memset
     * (zeroing them row by row cost more than splitting the rows), and stay
     * zero for the next image split into the same buffer (zeroed) */
    if (!zeroed) memset(xs, 0, sizeof(float) * (size_t)s->xfloats);
    for (int64_t c = 0; c < g->c; c++)
        for (int64_t r = 0; r < g->h; r++) { /* x's rows in order */
            int64_t pr = (r + g->pt) & 1, u = (r + g->pt) >> 1;
            if (pr >= s->nrp || u >= s->H2) continue; /* a row no output reads */
            const float *src = x + (c * g->h + r) * g->w;
            float *d[2] = {xs, xs}; /* the phase rows, and where each half of x starts in them */
            for (int64_t pc = 0; pc < s->ncp; pc++) d[pc] = xs + ((c * s->nrp + pr) * s->ncp + pc) * s->plane + u * s->W2;
            if (!vec) {
                for (int64_t pc = 0; pc < s->ncp; pc++)
                    for (int64_t v = 0; v < s->W2; v++) {
                        int64_t q = 2 * v + pc - g->pl;
                        if (q >= 0 && q < g->w) d[pc][v] = src[q];
                    }
                continue;
            }
            float *dh[2];
            dh[half[0]] = d[0] + sh[0];
            dh[half[1]] = s->ncp == 2 ? d[1] + sh[1] : junk;
            deinterleave(src, we, dh[0], dh[1]);
            if (we < g->w) dh[0][ne - 1] = src[we];
        }
}

/* off[t] for tap t = (c, a, b): phase (a&1, b&1) of channel c, shifted by (a/2, b/2). */
static void phase_offsets(const dl_conv2d_geom *g, const s2_geom *s, int32_t *off) {
    int64_t t = 0;
    for (int64_t c = 0; c < g->c; c++)
        for (int64_t a = 0; a < g->kh; a++)
            for (int64_t b = 0; b < g->kw; b++)
                off[t++] = (int32_t)(((c * s->nrp + (a & 1)) * s->ncp + (b & 1)) * s->plane + (a >> 1) * s->W2 +
                                     (b >> 1));
}

/* ---- forward ------------------------------------------------------------------------------ */

/* Output rows 8 wide (ResNet's 32->64 layer): in rows, a vector of pixels
 * is two 8-float halves of two phase rows W2 = 9 apart, put together by a
 * vinsertf64x4 per vector per tap — on Intel's AVX-512 cores a port-5
 * shuffle beside the two FMA ports (the 16->32 layer, 16-wide rows, ran its
 * kernel at ~85% of the FMA peak, this one at ~74%: perf, Intel Xeon). So
 * there the forward first copies the phase planes into "tap columns": for
 * each kernel column b, Xb[c][pr][u][v] = phase (pr, b&1) at (u, v + b/2),
 * rows ow floats apart with nothing between them — kw planes per row phase
 * instead of two, 8-float row copies from the phase planes in L1 — and a
 * vector of two output rows is one load at a tap's offset. The same taps
 * in the same order: the same sums, bit for bit. Elsewhere (AMD: one
 * 512-bit load is two 256-bit ones there anyway; not measured on AMD, so it
 * keeps the old form) the rows as before. Hook for the tests and benches. */
static int tap_cols_mode = -1;
void dl_conv_s2_tap_cols(int mode) { tap_cols_mode = mode; }

static int tap_cols(const dl_conv2d_geom *g) {
    if (row_mode(g->oh, g->ow) != VL / 2 || g->kw != 3 || g->pl != 1 || g->w != VL) return 0;
    if (tap_cols_mode >= 0) return tap_cols_mode;
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(S2D_BASELINE_ONLY)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_is("intel");
#else
    return 0;
#endif
}

/* Floats of one tap-column plane: whole cache lines, so that row 0's loads are aligned. */
static int64_t tap_col_plane(const dl_conv2d_geom *g, const s2_geom *s) { return lines(s->H2 * g->ow); }

static int64_t tap_cols_floats(const dl_conv2d_geom *g, const s2_geom *s) {
    return g->c * s->nrp * g->kw * tap_col_plane(g, s);
}

/* xc = the tap-column planes straight from x, for kw = 3, pl = 1 and 16-wide
 * input rows (8-wide output rows): per input row one load and the even and
 * odd columns by shuffles — b = 1 reads x's even columns, b = 2 its odd ones,
 * b = 0 the odd ones one to the right behind the left padding. Rows no input
 * row reaches (the padding) are zeroed unless still zero from an earlier
 * image in this buffer (zeroed). */
S2D_CLONES static void split_tap_cols(const dl_conv2d_geom *g, const s2_geom *s, const float *restrict x,
                                      float *restrict xc, int zeroed) {
    const int64_t cp = tap_col_plane(g, s);
    const s2_h zh = {0};
    if (!zeroed) memset(xc, 0, sizeof(float) * (size_t)tap_cols_floats(g, s));
    for (int64_t c = 0; c < g->c; c++)
        for (int64_t r = 0; r < g->h; r++) {
            int64_t pr = (r + g->pt) & 1, u = (r + g->pt) >> 1;
            if (pr >= s->nrp || u >= s->H2) continue; /* a row no output reads */
            s2_v a;
            memcpy(&a, x + (c * g->h + r) * g->w, sizeof a);
            s2_h ev = __builtin_shufflevector(a, a, 0, 2, 4, 6, 8, 10, 12, 14);
            s2_h od = __builtin_shufflevector(a, a, 1, 3, 5, 7, 9, 11, 13, 15);
            s2_h od0 = __builtin_shufflevector(od, zh, 8, 0, 1, 2, 3, 4, 5, 6);
            float *d = xc + (c * s->nrp + pr) * 3 * cp + u * VL / 2;
            memcpy(d, &od0, sizeof od0);
            memcpy(d + cp, &ev, sizeof ev);
            memcpy(d + 2 * cp, &od, sizeof od);
        }
}

/* off[t] for tap t = (c, a, b) in the tap-column planes: plane (c, a&1, b), a/2 rows down. */
static void tap_col_offsets(const dl_conv2d_geom *g, const s2_geom *s, int32_t *off) {
    int64_t t = 0;
    for (int64_t c = 0; c < g->c; c++)
        for (int64_t a = 0; a < g->kh; a++)
            for (int64_t b = 0; b < g->kw; b++)
                off[t++] = (int32_t)(((c * s->nrp + (a & 1)) * g->kw + b) * tap_col_plane(g, s) + (a >> 1) * g->ow);
}

int64_t dl_conv_s2_fwd_floats(const dl_conv2d_geom *g) {
    s2_geom s = s2_of(g);
    /* the tap-column planes, when 8-wide rows may use them, in place of the phase planes */
    int64_t phases = lines(s.xfloats) + g->oc * s.npr, cols = row_mode(g->oh, g->ow) == VL / 2 ? tap_cols_floats(g, &s) : 0;
    return cols > phases ? cols : phases;
}

void dl_conv_s2_image(const dl_conv2d_geom *g, const float *x, const float *w, float *y, float *buf, int reuse) {
    s2_geom s = s2_of(g);
    float *xs = buf, *yb = buf + lines(s.xfloats);
    int32_t off[MAX_TAPS];
    phase_offsets(g, &s, off);
    if (tap_cols(g)) { /* two 8-wide output rows a load: flat over the tap-column planes, straight into y */
        split_tap_cols(g, &s, x, xs, reuse);
        tap_col_offsets(g, &s, off);
        taps_all(g->oc, 0, s.K, xs, off, w, g->oh * g->ow, g->ow, y, g->oh * g->ow);
        return;
    }
    split_phases(g, &s, x, xs, reuse);
    int rw = row_mode(g->oh, g->ow);
    if (rw) { /* compact outputs: straight into y */
        taps_all(g->oc, rw, s.K, xs, off, w, g->oh * g->ow, s.W2, y, g->oh * g->ow);
        return;
    }
    taps_all(g->oc, 0, s.K, xs, off, w, s.npr, s.W2, yb, s.npr);
    for (int64_t o = 0; o < g->oc; o++)
        for (int64_t i = 0; i < g->oh; i++) copy_row(y + (o * g->oh + i) * g->ow, yb + o * s.npr + i * s.W2, g->ow);
}

/* ---- data gradient ------------------------------------------------------------------------ */

/* Taps of the kernel in phase ph along an axis of k taps: ph, ph + 2, ... < k. */
static int64_t phase_taps(int64_t k, int64_t ph) { return (k - ph + 1) / 2; }

/* Where phase ph covers the unpadded axis [pad, pad + n) of the padded one: phase rows [*lo, *hi). */
static void phase_span(int64_t pad, int64_t n, int64_t ph, int64_t *lo, int64_t *hi) {
    *lo = (pad - ph + 1) / 2, *hi = (pad + n - ph + 1) / 2;
    if (*hi < *lo) *hi = *lo;
}

/* Phases (pr, pc) in order, each w[o][c][pr + 2ta][pc + 2tb] as [c][o][ta][tb]. */
void dl_conv_s2_phase_weight(const dl_conv2d_geom *g, const float *w, float *wp) {
    for (int64_t pr = 0; pr < 2; pr++)
        for (int64_t pc = 0; pc < 2; pc++) {
            int64_t na = phase_taps(g->kh, pr), nb = phase_taps(g->kw, pc);
            for (int64_t c = 0; c < g->c; c++)
                for (int64_t o = 0; o < g->oc; o++)
                    for (int64_t ta = 0; ta < na; ta++)
                        for (int64_t tb = 0; tb < nb; tb++)
                            *wp++ = w[((o * g->c + c) * g->kh + pr + 2 * ta) * g->kw + pc + 2 * tb];
        }
}

/* The padded gy one column phase reads: width nv + B, rows gy[r - A] for r < Hg. */
typedef struct gy_grid {
    int64_t A, B, Hg, Wg, v0, nv, floats;
} gy_grid;

static gy_grid grid_of(const dl_conv2d_geom *g, int64_t pc) {
    gy_grid q;
    int64_t u0, u1, v1;
    q.A = (g->kh - 1) / 2, q.B = (g->kw - 1) / 2;
    phase_span(g->pt, g->h, 0, &u0, &u1); /* phase row 0 reaches furthest down */
    phase_span(g->pl, g->w, pc, &q.v0, &v1);
    q.nv = v1 - q.v0, q.Hg = u1 + q.A, q.Wg = q.nv + q.B;
    /* a vector past the last valid output reads up to B + VL - 1 beyond the last plane */
    q.floats = g->oc * q.Hg * q.Wg + q.B + 2 * VL;
    return q;
}

/* The data gradient's form of the tap-column planes (see tap_cols): when
 * the forward uses them, each gx phase is 8 wide (pl = 1, 16-wide rows)
 * and its taps read gy columns v + v0 - tb = v or v + 1 only. So gy goes
 * into two planes per output channel, column shift 0 and 1 (zeros past
 * gy), rows 8 floats apart with the padded gy's rows (Hg, gy row r - A):
 * a vector of two gx rows is one load at a tap's offset, where the padded
 * gy's rows 9 apart took two half loads and a vinsertf64x4. Needs an even
 * count of rows in each row phase (whole vectors). Same taps in the same
 * order: the same bits. */
static int gy_cols(const dl_conv2d_geom *g) {
    if (!tap_cols(g)) return 0;
    for (int64_t pr = 0; pr < 2; pr++) {
        int64_t u0, u1;
        phase_span(g->pt, g->h, pr, &u0, &u1);
        if ((u1 - u0) % 2) return 0;
    }
    return 1;
}

/* Floats of one gy column plane (Hg rows of 8): whole cache lines. */
static int64_t gy_col_plane(const gy_grid *q) { return lines(q->Hg * VL / 2); }

int64_t dl_conv_s2_bwd_data_floats(const dl_conv2d_geom *g) {
    int64_t f = 0, res = 0;
    for (int64_t pc = 0; pc < 2; pc++) { /* a padded gy and the phase results, per column phase */
        gy_grid q = grid_of(g, pc);
        f += lines(q.floats);
        res += g->c * round_vl((q.Hg - q.A) * q.Wg); /* Hg - A: phase rows at most */
    }
    if (gy_cols(g)) { /* the gy column planes in place of the padded gys, when larger */
        gy_grid q = grid_of(g, 0);
        int64_t cols = g->oc * 2 * gy_col_plane(&q);
        if (cols > f) f = cols;
    }
    return f + res + g->oc * g->kh * g->kw; /* and the tap offsets (int32) */
}

/* gc[o][sh][r] = gy row r - A of channel o shifted left by sh (0 or 1; zeros
 * past gy), rows 8 floats apart, two rows a load. Rows outside gy are zeroed
 * unless still zero from an earlier image in this buffer (zeroed). */
S2D_CLONES static void split_gy_cols(const dl_conv2d_geom *g, const gy_grid *q, const float *restrict gy,
                                     float *restrict gc, int zeroed) {
    const int64_t cp = gy_col_plane(q), hw = VL / 2;
    const s2_v z = {0};
    if (!zeroed) memset(gc, 0, sizeof(float) * (size_t)(g->oc * 2 * cp));
    for (int64_t o = 0; o < g->oc; o++) {
        float *d = gc + o * 2 * cp + q->A * hw;
        const float *src = gy + o * g->oh * hw;
        int64_t i = 0;
        for (; i + 1 < g->oh && i + 1 + q->A < q->Hg; i += 2) {
            s2_v a;
            memcpy(&a, src + i * hw, sizeof a);
            s2_v b = __builtin_shufflevector(a, z, 1, 2, 3, 4, 5, 6, 7, 16, 9, 10, 11, 12, 13, 14, 15, 16);
            memcpy(d + i * hw, &a, sizeof a);
            memcpy(d + cp + i * hw, &b, sizeof b);
        }
        for (; i < g->oh && i + q->A < q->Hg; i++)
            for (int64_t j = 0; j < hw; j++) d[i * hw + j] = src[i * hw + j], d[cp + i * hw + j] = j + 1 < hw ? src[i * hw + j + 1] : 0.0f;
    }
}

/* gyp[o][r][s] = gy[o][r - A][s - B + v0], zeros outside gy, then zeros to q->floats. */
static void pad_gy_phase(const dl_conv2d_geom *g, const gy_grid *q, const float *restrict gy, float *restrict gyp,
                         int zeroed) {
    if (!zeroed) memset(gyp, 0, sizeof(float) * (size_t)q->floats);
    int64_t s0 = q->B - q->v0 > 0 ? q->B - q->v0 : 0, s1 = g->ow + q->B - q->v0; /* gy columns [s0, s1) of gyp */
    if (s1 > q->Wg) s1 = q->Wg;
    for (int64_t o = 0; o < g->oc; o++)
        for (int64_t i = 0; i < g->oh && i + q->A < q->Hg; i++)
            if (s1 > s0)
                copy_row(gyp + (o * q->Hg + i + q->A) * q->Wg + s0, gy + (o * g->oh + i) * g->ow + s0 - q->B + q->v0,
                         s1 - s0);
}

/* dst[2k] = ev[k], dst[2k + 1] = od[k] over n floats of dst, in whole vectors where it can. */
static INLINE void interleave(const float *restrict ev, const float *restrict od, int64_t n, float *restrict dst) {
    int64_t k = 0;
    for (; 2 * k + 2 * VL <= n; k += VL) {
        s2_v e, o;
        memcpy(&e, ev + k, sizeof e);
        memcpy(&o, od + k, sizeof o);
        s2_v lo = __builtin_shufflevector(e, o, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        s2_v hi = __builtin_shufflevector(e, o, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        memcpy(dst + 2 * k, &lo, sizeof lo);
        memcpy(dst + 2 * k + VL, &hi, sizeof hi);
    }
    for (; 2 * k + VL <= n; k += VL / 2) {
        s2_h e, o;
        memcpy(&e, ev + k, sizeof e);
        memcpy(&o, od + k, sizeof o);
        s2_h lo = __builtin_shufflevector(e, o, 0, 8, 1, 9, 2, 10, 3, 11);
        s2_h hi = __builtin_shufflevector(e, o, 4, 12, 5, 13, 6, 14, 7, 15);
        memcpy(dst + 2 * k, &lo, sizeof lo);
        memcpy(dst + 2 * k + VL / 2, &hi, sizeof hi);
    }
    for (; 2 * k < n; k++) {
        dst[2 * k] = ev[k];
        if (2 * k + 1 < n) dst[2 * k + 1] = od[k];
    }
}

/* gx's rows of row phase pr, phase rows [u0, u1): each row interleaves the
 * two column phases' results (yb[pc], nr[pc] floats per channel, rows rp[pc]
 * apart). x column q is phase (q + pl) & 1 at phase column (q + pl) >> 1, and
 * both phases' results start at the first column inside x, so row q's even
 * columns are phase pl & 1 from its start and the odd ones the other phase. */
S2D_CLONES static void gx_rows(const dl_conv2d_geom *g, int64_t pr, int64_t u0, int64_t u1, float *const *yb,
                               const int64_t *nr, const int64_t *rp, float *gx) {
    const int64_t pe = g->pl & 1, po = 1 - pe;
    for (int64_t c = 0; c < g->c; c++)
        for (int64_t u = u0; u < u1; u++)
            interleave(yb[pe] + c * nr[pe] + (u - u0) * rp[pe], yb[po] + c * nr[po] + (u - u0) * rp[po], g->w,
                       gx + (c * g->h + 2 * u + pr - g->pt) * g->w);
}

void dl_conv_s2_bwd_data_image(const dl_conv2d_geom *g, const float *gy, const float *wp, float *gx, float *buf,
                               int reuse) {
    gy_grid q[2];
    float *gyp[2], *yb[2], *at = buf;
    int64_t Wg[2];
    for (int64_t pc = 0; pc < 2; pc++) q[pc] = grid_of(g, pc), Wg[pc] = q[pc].Wg, gyp[pc] = at, at += lines(q[pc].floats);
    const int cols = gy_cols(g);
    if (cols) { /* the gy column planes, then the phase results past the larger of the two layouts */
        int64_t n = g->oc * 2 * gy_col_plane(&q[0]);
        if (buf + n > at) at = buf + n;
        split_gy_cols(g, &q[0], gy, buf, reuse);
    }
    int shared = -1; /* the column phase whose padded gy is the other's, one float on */
    for (int64_t pc = 0; pc < 2; pc++)
        if (q[pc].Wg == q[1 - pc].Wg && q[pc].Hg == q[1 - pc].Hg && q[pc].v0 == q[1 - pc].v0 + 1 &&
            q[1 - pc].v0 < q[1 - pc].B && q[pc].Wg - 1 - q[pc].B + q[pc].v0 >= g->ow)
            shared = (int)pc;
    for (int64_t pc = 0; pc < 2; pc++) {
        yb[pc] = at, at += g->c * round_vl((q[pc].Hg - q[pc].A) * q[pc].Wg);
        if (q[pc].nv > 0 && pc != shared && !cols) pad_gy_phase(g, &q[pc], gy, gyp[pc], reuse);
    }
    /* gyp[s][r][c] = gy[r - A][c - B + v0] is gyp[o][r][c + 1] when v0 is one
     * more, as long as gyp[o]'s first column and gyp[s]'s last lie outside gy
     * (then each row's last float is the next row's first, a zero): ResNet's
     * two layers, whose column phases start one gy column apart. Padding gy
     * once instead of twice. */
    if (shared >= 0) gyp[shared] = gyp[1 - shared] + 1;
    int32_t *off = (int32_t *)at; /* the phases' tap offsets, kept in buf for the later images (reuse) */
    const float *wcur = wp; /* wp's phases run (0,0), (0,1), (1,0), (1,1) */
    for (int64_t pr = 0; pr < 2; pr++) {
        int64_t u0, u1, nr[2], rp[2];
        phase_span(g->pt, g->h, pr, &u0, &u1);
        for (int64_t pc = 0; pc < 2; pc++) {
            int64_t na = phase_taps(g->kh, pr), nb = phase_taps(g->kw, pc), Kp = g->oc * na * nb;
            int rw = row_mode(u1 - u0, q[pc].nv); /* rows: the results compact, nv apart */
            nr[pc] = rw ? (u1 - u0) * q[pc].nv : round_vl((u1 - u0) * Wg[pc]);
            rp[pc] = rw ? q[pc].nv : Wg[pc];
            if (u1 > u0 && q[pc].nv > 0) {
                if (Kp) {
                    /* tap (o, ta, tb) at o*po + (c0 - tb)*pb + (A - ta)*pa: in the gy column planes
                     * shift v0 - tb; in the padded gy column B - tb. Built with the first image. */
                    const int64_t cp = gy_col_plane(&q[pc]), po = cols ? 2 * cp : q[pc].Hg * Wg[pc];
                    const int64_t c0 = cols ? q[pc].v0 : q[pc].B, pb = cols ? cp : 1, pa = cols ? VL / 2 : Wg[pc];
                    int64_t t = 0;
                    if (!reuse)
                        for (int64_t o = 0; o < g->oc; o++)
                            for (int64_t ta = 0; ta < na; ta++)
                                for (int64_t tb = 0; tb < nb; tb++)
                                    off[t++] = (int32_t)(o * po + (c0 - tb) * pb + (q[pc].A - ta) * pa);
                    taps_all(g->c, cols ? 0 : rw, Kp, (cols ? buf : gyp[pc]) + u0 * pa, off, wcur, nr[pc], pa, yb[pc],
                             nr[pc]);
                } else { /* no tap lands in this phase (a 1-tall or 1-wide kernel) */
                    memset(yb[pc], 0, sizeof(float) * (size_t)(g->c * nr[pc]));
                }
            }
            wcur += g->c * Kp, off += Kp;
        }
        if (u1 > u0) gx_rows(g, pr, u0, u1, yb, nr, rp, gx);
    }
}

/* ---- weight gradient ---------------------------------------------------------------------- */

/* vacc[o*K + t] += lane-wise sum over the m images' n pixels of gy[o][p] *
 * X[off[t] + p] (pixels as px_base says; image im's X at xs + im*xstride,
 * its gy planes at G + im*gstride, ldg apart), o < ob, t < nt (taps t >= nt
 * repeat a real one and are dropped). */
static INLINE void wg_tile(const int ob, const int rw, int64_t m, const float *restrict xs, int64_t xstride,
                           int64_t W, const int32_t *restrict off, const float *restrict G, int64_t gstride,
                           int64_t ldg, int64_t n, s2_v *restrict vacc, int64_t K, int nt) {
    s2_v acc[WG_OB][WG_TB];
#pragma GCC unroll 4
    for (int o = 0; o < ob; o++)
#pragma GCC unroll 6
        for (int t = 0; t < WG_TB; t++) acc[o][t] = (s2_v){0};
    for (int64_t im = 0; im < m; im++) {
        const float *X = xs + im * xstride, *Gi = G + im * gstride;
        for (int64_t p = 0; p < n; p += VL) {
            s2_v gv[WG_OB];
            const int64_t base = px_base(rw, p, W);
#pragma GCC unroll 4
            for (int o = 0; o < ob; o++) memcpy(&gv[o], Gi + o * ldg + p, sizeof gv[o]);
#pragma GCC unroll 6
            for (int t = 0; t < WG_TB; t++) {
                s2_v xv;
                px_load(rw, X + off[t] + base, W, &xv);
#pragma GCC unroll 4
                for (int o = 0; o < ob; o++) acc[o][t] += gv[o] * xv;
            }
        }
    }
    for (int o = 0; o < ob; o++)
        for (int t = 0; t < nt; t++) vacc[o * K + t] += acc[o][t];
}

#define WG_ARGS m, xs, xstride, W, off, G, gstride, ldg, n, vacc, K, nt
static INLINE void wg_rw(const int rw, int ob, int64_t m, const float *xs, int64_t xstride, int64_t W,
                         const int32_t *off, const float *G, int64_t gstride, int64_t ldg, int64_t n, s2_v *vacc,
                         int64_t K, int nt) {
    switch (ob) {
    case 1: wg_tile(1, rw, WG_ARGS); break;
    case 2: wg_tile(2, rw, WG_ARGS); break;
    case 3: wg_tile(3, rw, WG_ARGS); break;
    default: wg_tile(4, rw, WG_ARGS); break;
    }
}

S2D_CLONES static void wg_block(int rw, int ob, int64_t m, const float *xs, int64_t xstride, int64_t W,
                                const int32_t *off, const float *G, int64_t gstride, int64_t ldg, int64_t n,
                                s2_v *vacc, int64_t K, int nt) {
    switch (rw) {
    case 16: wg_rw(16, ob, WG_ARGS); break;
    case 8: wg_rw(8, ob, WG_ARGS); break;
    default: wg_rw(0, ob, WG_ARGS); break;
    }
}
#undef WG_ARGS

/* Against im2col + GEMM (conv_bench cpu, batch 64, 1 thread): ResNet-20's
 * 16->32 layer (16-wide rows) 1.15x on the flat grid, the same in rows; its
 * 32->64 layer (8-wide rows) 0.78x flat (npr 80 for 64 outputs), 0.85x even
 * in rows, where no lane is wasted: the 16-lane partials of 64 x 288 taps
 * (1.2 MB) no longer stay in L2 between image groups. So: output rows at
 * least 16 wide, and a flat grid wasting at most a tenth. */
int dl_conv_s2_wgrad_pays(const dl_conv2d_geom *g) {
    s2_geom s = s2_of(g);
    return dl_conv_s2_fits(g) && g->ow >= VL && 10 * s.npr <= 11 * g->oh * g->ow;
}

int64_t dl_conv_s2_wgrad_floats(const dl_conv2d_geom *g) {
    s2_geom s = s2_of(g);
    return VL * g->oc * s.K + WG_IMAGES * (lines(s.xfloats) + g->oc * s.npr);
}

/* gp[o] = gy's plane o on the flat grid of width W2: zeros at j >= ow and p >= np. */
static void flat_gy(const dl_conv2d_geom *g, const s2_geom *s, const float *restrict gy, float *restrict gp) {
    for (int64_t o = 0; o < g->oc; o++) {
        float *restrict d = gp + o * s->npr;
        for (int64_t i = 0; i < g->oh; i++) {
            copy_row(d + i * s->W2, gy + (o * g->oh + i) * g->ow, g->ow);
            for (int64_t j = g->ow; j < s->W2; j++) d[i * s->W2 + j] = 0.0f;
        }
        for (int64_t p = s->np; p < s->npr; p++) d[p] = 0.0f;
    }
}

void dl_conv_s2_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, float *buf,
                           int64_t lo, int64_t hi) {
    s2_geom s = s2_of(g);
    s2_v *vacc = (s2_v *)buf; /* 64-byte aligned scratch */
    int64_t xstride = lines(s.xfloats), gstride = g->oc * s.npr;
    float *xs = buf + VL * g->oc * s.K, *gyp = xs + WG_IMAGES * xstride;
    int32_t off[MAX_TAPS];
    phase_offsets(g, &s, off);
    memset(vacc, 0, sizeof(s2_v) * (size_t)(g->oc * s.K));
    const int64_t ob = (g->oc + ((g->oc + WG_OB - 1) / WG_OB) - 1) / ((g->oc + WG_OB - 1) / WG_OB);
    const int rw = row_mode(g->oh, g->ow);
    const int64_t P = g->oh * g->ow;
    for (int64_t i0 = lo; i0 < hi; i0 += WG_IMAGES) {
        int64_t m = hi - i0 < WG_IMAGES ? hi - i0 : WG_IMAGES;
        for (int64_t im = 0; im < m; im++) {
            split_phases(g, &s, x + (i0 + im) * g->c * g->h * g->w, xs + im * xstride, i0 > lo);
            if (!rw) flat_gy(g, &s, gy + (i0 + im) * g->oc * g->oh * g->ow, gyp + im * gstride);
        }
        /* rows: gy as it is; flat: its copies on the flat grid */
        const float *G = rw ? gy + i0 * g->oc * P : gyp;
        const int64_t gs = rw ? g->oc * P : gstride, ldg = rw ? P : s.npr, n = rw ? P : s.npr;
        for (int64_t o0 = 0; o0 < g->oc; o0 += ob) {
            int rows = (int)(g->oc - o0 < ob ? g->oc - o0 : ob);
            for (int64_t t0 = 0; t0 < s.K; t0 += WG_TB) {
                int32_t o6[WG_TB];
                int nt = (int)(s.K - t0 < WG_TB ? s.K - t0 : WG_TB);
                for (int t = 0; t < WG_TB; t++) o6[t] = off[t < nt ? t0 + t : t0];
                wg_block(rw, rows, m, xs, xstride, s.W2, o6, G + o0 * ldg, gs, ldg, n, vacc + o0 * s.K + t0, s.K, nt);
            }
        }
    }
    for (int64_t k = 0; k < g->oc * s.K; k++) {
        float sum = 0.0f;
        for (int l = 0; l < VL; l++) sum += vacc[k][l];
        gw[k] = sum;
    }
}
