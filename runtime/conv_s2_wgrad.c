/* conv_s2_wgrad.c — the weight gradient of a stride-2 convolution (kernels
 * up to 3x3: ResNet's downsampling layers) as outer products: output
 * channels in the vector lanes, input values broadcast, the sum over an
 * image's pixels in registers.
 *
 *   gw[o][c][a][b] = sum_{n,i,j} gy[n][o][i][j] * xpad[n][c][2i + a][2j + b]
 *
 * Why not conv_s2.c's kernel (pixels in the lanes): its 16-lane partials
 * (oc x K x 16 floats, 1.2 MB for ResNet's 32->64 layer) went to memory
 * after every few images and had to be summed across lanes, and it needed
 * the input split into phase planes (16% of its time). Here a lane is an
 * output channel, so an accumulator is one gw element per lane, summed over
 * a whole image before it leaves the registers; the input is read as
 * scalars at stride 2 straight from a padded copy (rows memcpy'd, no
 * shuffles), every tap a constant offset from a pixel's base 2i*Wp + 2j.
 * The price is gy transposed to pixel-major [p][oc] once per image (8x8
 * blocks of shuffles): oc*P floats against oc*K*P multiply-adds.
 *
 * Tiles: NOV vectors of 16 output channels x NT taps of accumulators (AVX-512:
 * 2 x 9, one input channel's 3x3 taps, 18 of the 32 registers; with 16
 * registers 1 x 3), per pixel NOV loads of gy and NT broadcast inputs.
 * Each gw element is a sum in a fixed order (per image its pixels in order,
 * then images in order), so 1 and 2 threads agree. Compiled for AVX-512,
 * AVX with FMA and baseline x86-64, chosen at load time. */
#pragma GCC optimize("O3", "fp-contract=fast", "no-tree-loop-distribute-patterns")
#include <string.h>

#include "conv_s2_internal.h"
#include "conv_s2_wgrad_internal.h"
#include "transpose8_internal.h"

/* S2W_BASELINE_ONLY: tests/unit/test_conv_s2_wgrad.c compiles this file
 * again without clones, so the baseline build is tested on any machine. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(S2W_BASELINE_ONLY)
#define S2W_CLONES __attribute__((target_clones("avx512f", "fma", "default")))
#else
#define S2W_CLONES
#endif
#define INLINE inline __attribute__((always_inline))

#define VL 16        /* output channels per vector */
#define NOV_MAX 2    /* vectors of output channels per tile */
#define NT_WIDE 9    /* taps per tile with 32 vector registers */
#define NT_NARROW 3  /* ... with 16 (a 16-float vector is two registers there) */
#define MAX_S2W_TAPS 4608 /* taps c*kh*kw: dl_conv_s2_fits allows no more */

typedef float s2w_v __attribute__((vector_size(VL * sizeof(float))));

static int wide(void) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(S2W_BASELINE_ONLY)
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

static int64_t lines(int64_t floats) { return (floats + 15) / 16 * 16; }

/* The padded input the kernel reads: rows 2(oh-1) + kh, columns 2(ow-1) + kw. */
typedef struct s2w_geom {
    int64_t Hp, Wp, plane, K, P, ocr; /* ocr: oc rounded up to whole vectors */
} s2w_geom;

static s2w_geom s2w_of(const dl_conv2d_geom *g) {
    s2w_geom s;
    s.Hp = 2 * (g->oh - 1) + g->kh, s.Wp = 2 * (g->ow - 1) + g->kw, s.plane = s.Hp * s.Wp;
    s.K = g->c * g->kh * g->kw, s.P = g->oh * g->ow, s.ocr = (g->oc + VL - 1) / VL * VL;
    return s;
}

int dl_conv_s2w_fits(const dl_conv2d_geom *g) {
    if (!dl_conv_s2_fits(g)) return 0;
    s2w_geom s = s2w_of(g);
    return s.K <= MAX_S2W_TAPS && g->c * s.plane < (1LL << 30) && s.P * s.ocr < (1LL << 30);
}

/* Fewer than 16 output channels leave lanes empty: 8 measured 0.76x against
 * im2col + GEMM, 16 and 24 1.03-2.3x (docs/results/s2w_other_shapes.log). */
int dl_conv_s2w_pays(const dl_conv2d_geom *g) { return dl_conv_s2w_fits(g) && g->oc >= VL; }

int64_t dl_conv_s2w_floats(const dl_conv2d_geom *g) {
    s2w_geom s = s2w_of(g);
    return lines(s.K * s.ocr) + lines(g->c * s.plane) + s.P * s.ocr;
}

/* ---- one image's operands ------------------------------------------------------------------ */

static INLINE void copy_row(float *restrict d, const float *restrict s, int64_t n) {
    int64_t k = 0;
    for (; k + VL <= n; k += VL) memcpy(d + k, s + k, sizeof(s2w_v));
    for (; k < n; k++) d[k] = s[k];
}

/* xp[c][r][q] = x[c][r - pt][q - pl], zeros outside x (padding >= 0: dl_conv_s2_fits). */
S2W_CLONES static void pad_input(const dl_conv2d_geom *g, const s2w_geom *s, const float *restrict x,
                                 float *restrict xp) {
    const int64_t left = g->pl < s->Wp ? g->pl : s->Wp;
    const int64_t n = g->w < s->Wp - left ? g->w : s->Wp - left;
    for (int64_t c = 0; c < g->c; c++)
        for (int64_t r = 0; r < s->Hp; r++) {
            float *d = xp + c * s->plane + r * s->Wp;
            int64_t xr = r - g->pt;
            if (xr < 0 || xr >= g->h) {
                memset(d, 0, sizeof(float) * (size_t)s->Wp);
                continue;
            }
            for (int64_t q = 0; q < left; q++) d[q] = 0.0f;
            copy_row(d + left, x + (c * g->h + xr) * g->w, n);
            for (int64_t q = left + n; q < s->Wp; q++) d[q] = 0.0f;
        }
}

/* gt[p][o] = gy[o][p] for o < oc, zeros up to ocr: 8x8 blocks by shuffles, the edges one by one. */
S2W_CLONES static void transpose_gy(const dl_conv2d_geom *g, const s2w_geom *s, const float *restrict gy,
                                    float *restrict gt) {
    const int64_t P = s->P, ld = s->ocr, oc8 = g->oc & ~(int64_t)7, P8 = P & ~(int64_t)7;
    for (int64_t o0 = 0; o0 < oc8; o0 += 8)
        for (int64_t p0 = 0; p0 < P8; p0 += 8) dl_transpose_8x8(gy + o0 * P + p0, P, gt + p0 * ld + o0, ld);
    for (int64_t p = 0; p < P; p++) {
        float *d = gt + p * ld;
        for (int64_t o = p < P8 ? oc8 : 0; o < g->oc; o++) d[o] = gy[o * P + p];
        for (int64_t o = g->oc; o < ld; o++) d[o] = 0.0f;
    }
}

/* ---- the kernel ------------------------------------------------------------------------------ */

/* out[t*ldg + 16k + l] += sum over the image's pixels of gt[p][16k + l] *
 * X[2i*Wp + 2j + off[t]], k < nov, t < nv (taps nv .. nt-1 repeat a real
 * one and are dropped). */
static INLINE void tile(const int nov, const int nt, int64_t oh, int64_t ow, int64_t Wp, const float *restrict X,
                        const int32_t *restrict off, const float *restrict gt, int64_t ldg, float *restrict out,
                        int nv) {
    s2w_v acc[NOV_MAX][NT_WIDE];
    int32_t o[NT_WIDE];
#pragma GCC unroll 9
    for (int t = 0; t < nt; t++) o[t] = off[t];
#pragma GCC unroll 2
    for (int k = 0; k < NOV_MAX; k++)
#pragma GCC unroll 9
        for (int t = 0; t < NT_WIDE; t++) acc[k][t] = (s2w_v){0}; /* all: GCC cannot tell nv <= nt */
    const float *gp = gt;
    for (int64_t i = 0; i < oh; i++) {
        const float *xr = X + 2 * i * Wp;
        for (int64_t j = 0; j < ow; j++, gp += ldg) {
            s2w_v gv[NOV_MAX];
#pragma GCC unroll 2
            for (int k = 0; k < nov; k++) memcpy(&gv[k], gp + k * VL, sizeof gv[k]);
            const float *xb = xr + 2 * j;
#pragma GCC unroll 9
            for (int t = 0; t < nt; t++) {
                const float v = xb[o[t]];
#pragma GCC unroll 2
                for (int k = 0; k < nov; k++) acc[k][t] += gv[k] * v;
            }
        }
    }
    for (int t = 0; t < nv; t++)
        for (int k = 0; k < nov; k++) {
            s2w_v cur;
            memcpy(&cur, out + t * ldg + k * VL, sizeof cur);
            cur += acc[k][t];
            memcpy(out + t * ldg + k * VL, &cur, sizeof cur);
        }
}

/* One image: gwt[K][ocr] += its gradient, tiles of nov x nt over all output channels and taps. */
static INLINE void image_tiles(const int nt, int nov_most, const dl_conv2d_geom *g, const s2w_geom *s,
                               const float *xp, const int32_t *off, const float *gt, float *gwt) {
    for (int64_t o0 = 0; o0 < s->ocr; o0 += nov_most * VL) {
        int nov = s->ocr - o0 < nov_most * VL ? (int)((s->ocr - o0) / VL) : nov_most;
        for (int64_t t0 = 0; t0 < s->K; t0 += nt) {
            int32_t ot[NT_WIDE];
            int nv = (int)(s->K - t0 < nt ? s->K - t0 : nt);
            for (int t = 0; t < nt; t++) ot[t] = off[t < nv ? t0 + t : t0];
            float *out = gwt + t0 * s->ocr + o0;
            if (nov == 2)
                tile(2, nt, g->oh, g->ow, s->Wp, xp, ot, gt + o0, s->ocr, out, nv);
            else
                tile(1, nt, g->oh, g->ow, s->Wp, xp, ot, gt + o0, s->ocr, out, nv);
        }
    }
}

S2W_CLONES static void image_grad(int wd, const dl_conv2d_geom *g, const s2w_geom *s, const float *xp,
                                  const int32_t *off, const float *gt, float *gwt) {
    if (wd)
        image_tiles(NT_WIDE, NOV_MAX, g, s, xp, off, gt, gwt);
    else
        image_tiles(NT_NARROW, 1, g, s, xp, off, gt, gwt);
}

void dl_conv_s2w_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, float *buf,
                            int64_t lo, int64_t hi) {
    s2w_geom s = s2w_of(g);
    float *gwt = buf, *xp = gwt + lines(s.K * s.ocr), *gt = xp + lines(g->c * s.plane);
    int32_t off[MAX_S2W_TAPS];
    for (int64_t c = 0, t = 0; c < g->c; c++) /* taps in gw's order */
        for (int64_t a = 0; a < g->kh; a++)
            for (int64_t b = 0; b < g->kw; b++) off[t++] = (int32_t)(c * s.plane + a * s.Wp + b);
    memset(gwt, 0, sizeof(float) * (size_t)(s.K * s.ocr));
    const int wd = wide();
    for (int64_t n = lo; n < hi; n++) {
        pad_input(g, &s, x + n * g->c * g->h * g->w, xp);
        transpose_gy(g, &s, gy + n * g->oc * s.P, gt);
        image_grad(wd, g, &s, xp, off, gt, gwt);
    }
    for (int64_t o = 0; o < g->oc; o++)
        for (int64_t k = 0; k < s.K; k++) gw[o * s.K + k] = gwt[k * s.ocr + o];
}
