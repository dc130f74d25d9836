/* conv_depthwise.c — direct kernels for depthwise convolutions (groups == c).
 *
 * Why not im2col + GEMM, as conv.c does for everything else: in a depthwise
 * layer every group has ONE input channel, so each group's GEMM is
 * [og x kh*kw] @ [kh*kw x oh*ow] — a 1 x 9 matrix times a 9 x P one. That is
 * all packing and call overhead and no arithmetic: in MobileNet the im2col
 * copies and the tiny GEMMs cost more than the pointwise layers around them.
 * The arithmetic is only kh*kw multiply-adds per output pixel, so the right
 * kernel is the plain loop, written so that the innermost loop runs along a
 * row of the image (contiguous for stride 1) and vectorizes:
 *
 *   forward      y[o, i, :]            += w[o, a, b] * xp[c, i*sh + a*dh, b*dw + :*sw]
 *   data grad    gxp[c, i*sh + a*dh, b*dw + :*sw] += w[o, a, b] * gy[o, i, :]
 *   weight grad  gw[o, a, b]          += dot(gy[o, i, :], xp[c, i*sh + a*dh, b*dw + :*sw])
 *
 * where c = o / og is the input channel of output channel o (og = oc / c,
 * the channel multiplier, usually 1) and xp is the input plane copied into
 * a zero-padded buffer, so the loops carry no bounds tests at all (the copy
 * is one plane, the loops read it kh*kw times). The data gradient likewise
 * accumulates into a padded plane and copies its interior out.
 *
 * Parallelism: the forward and data-gradient kernels are independent per
 * (image, input channel) pair — each pair owns its output planes — so the
 * pairs are one flat OpenMP loop. The weight gradient sums over images, so
 * it is parallel over input channels only (each thread owns whole gw rows
 * and there is nothing to reduce afterwards); depthwise layers have tens to
 * hundreds of channels, plenty for the threads of this machine.
 *
 * The plane kernels are compiled for AVX-512, AVX2 and baseline x86-64 and
 * chosen at load time (target_clones), as gemm.c does: the runtime library
 * itself is built without -march.
 *
 * The commonest case, 3x3 with padding 1 at stride 1 or 2 and one output
 * channel per input channel, goes to conv_dw3.c's tap-view kernels instead;
 * these general ones cover the rest (other sizes, dilation, multipliers). */
#include <omp.h>
#include <string.h>

#include "conv_dw3_internal.h"
#include "dlnrt.h"
#include "scratch_internal.h"

/* Below this many multiply-adds in the whole call, one thread is faster. */
#define DW_PAR_MACS 65536

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DW_CLONES
#endif

int dl_conv2d_is_depthwise(const dl_conv2d_geom *g)
{
    return g->groups > 1 && g->groups == g->c && g->oc % g->c == 0 && g->pt >= 0 && g->pb >= 0 && g->pl >= 0 &&
           g->pr >= 0 && g->sh > 0 && g->sw > 0 && g->dh > 0 && g->dw > 0;
}

/* The padded plane's geometry. */
typedef struct dw_dims {
    int64_t og, ph, pw, plane_in, plane_out, taps;
} dw_dims;

static dw_dims dw_dims_of(const dl_conv2d_geom *g)
{
    dw_dims d;
    d.og = g->oc / g->c;
    d.ph = g->h + g->pt + g->pb;
    d.pw = g->w + g->pl + g->pr;
    d.plane_in = g->h * g->w;
    d.plane_out = g->oh * g->ow;
    d.taps = g->kh * g->kw;
    return d;
}

static int dw_parallel(const dl_conv2d_geom *g, const dw_dims *d)
{
    return (double)g->n * (double)g->oc * (double)d->plane_out * (double)d->taps >= DW_PAR_MACS && !omp_in_parallel();
}

/* xp = x with the padding as zeros around it. */
static void pad_plane(const dl_conv2d_geom *g, const dw_dims *d, const float *restrict x, float *restrict xp)
{
    if (d->ph * d->pw == d->plane_in) {
        memcpy(xp, x, sizeof(float) * (size_t)d->plane_in);
        return;
    }
    memset(xp, 0, sizeof(float) * (size_t)(g->pt * d->pw));
    for (int64_t r = 0; r < g->h; r++) {
        float *row = xp + (g->pt + r) * d->pw;
        memset(row, 0, sizeof(float) * (size_t)g->pl);
        memcpy(row + g->pl, x + r * g->w, sizeof(float) * (size_t)g->w);
        memset(row + g->pl + g->w, 0, sizeof(float) * (size_t)g->pr);
    }
    memset(xp + (g->pt + g->h) * d->pw, 0, sizeof(float) * (size_t)(g->pb * d->pw));
}

/* One output plane y from the padded input plane xp and the taps w. */
DW_CLONES static void fwd_plane(const dl_conv2d_geom *g, int64_t pw, const float *restrict xp,
                                const float *restrict w, float *restrict y)
{
    const int64_t ow = g->ow, sw = g->sw;
    for (int64_t i = 0; i < g->oh; i++) {
        float *restrict yr = y + i * ow;
        for (int64_t j = 0; j < ow; j++) yr[j] = 0.0f;
        for (int64_t a = 0; a < g->kh; a++) {
            const float *restrict xr = xp + (i * g->sh + a * g->dh) * pw;
            for (int64_t b = 0; b < g->kw; b++) {
                const float wv = w[a * g->kw + b];
                const float *restrict xs = xr + b * g->dw;
                if (sw == 1) {
#pragma omp simd
                    for (int64_t j = 0; j < ow; j++) yr[j] += wv * xs[j];
                } else {
                    for (int64_t j = 0; j < ow; j++) yr[j] += wv * xs[j * sw];
                }
            }
        }
    }
}

/* gxp (padded, accumulated) += the data gradient of one output plane gy. */
DW_CLONES static void bwd_data_plane(const dl_conv2d_geom *g, int64_t pw, const float *restrict gy,
                                     const float *restrict w, float *restrict gxp)
{
    const int64_t ow = g->ow, sw = g->sw;
    for (int64_t i = 0; i < g->oh; i++) {
        const float *restrict gr = gy + i * ow;
        for (int64_t a = 0; a < g->kh; a++) {
            float *restrict xr = gxp + (i * g->sh + a * g->dh) * pw;
            for (int64_t b = 0; b < g->kw; b++) {
                const float wv = w[a * g->kw + b];
                float *restrict xs = xr + b * g->dw;
                if (sw == 1) {
#pragma omp simd
                    for (int64_t j = 0; j < ow; j++) xs[j] += wv * gr[j];
                } else {
                    for (int64_t j = 0; j < ow; j++) xs[j * sw] += wv * gr[j];
                }
            }
        }
    }
}

/* gw (kh*kw taps) += the weight gradient of one (image, channel) pair. */
DW_CLONES static void bwd_weight_plane(const dl_conv2d_geom *g, int64_t pw, const float *restrict xp,
                                       const float *restrict gy, float *restrict gw)
{
    const int64_t ow = g->ow, sw = g->sw;
    for (int64_t i = 0; i < g->oh; i++) {
        const float *restrict gr = gy + i * ow;
        for (int64_t a = 0; a < g->kh; a++) {
            const float *restrict xr = xp + (i * g->sh + a * g->dh) * pw;
            for (int64_t b = 0; b < g->kw; b++) {
                const float *restrict xs = xr + b * g->dw;
                float s = 0.0f;
                if (sw == 1) {
#pragma omp simd reduction(+ : s)
                    for (int64_t j = 0; j < ow; j++) s += gr[j] * xs[j];
                } else {
                    for (int64_t j = 0; j < ow; j++) s += gr[j] * xs[j * sw];
                }
                gw[a * g->kw + b] += s;
            }
        }
    }
}

/* Stride 1: whole planes as one flat loop. With stride 1 an output row is
 * exactly pw - (kw-1)*dw wide, so if the output is laid out with the padded
 * row stride pw (t = i*pw + j), tap (a, b) reads xp[t + a*dh*pw + b*dw] for
 * EVERY t: one long contiguous loop per tap over the whole plane instead of
 * kh*kw short ones per row (planes here are 7 to 32 wide, shorter than a
 * vector register's worth of loop overhead). The pw - ow columns past each
 * row's end are junk in the forward (never copied out) and zeros in the
 * gradients' gy copy (so they contribute nothing). flat_len is the extent of
 * t that holds real outputs: (oh - 1) * pw + ow, and the largest index read,
 * flat_len - 1 + (kh-1)*dh*pw + (kw-1)*dw, is ph*pw - 1. */
static int64_t flat_len(const dl_conv2d_geom *g, int64_t pw) { return (g->oh - 1) * pw + g->ow; }

/* yt[0, flat_len) = sum over taps of w[a, b] * xp[t + a*dh*pw + b*dw]. */
DW_CLONES static void fwd_plane_flat(const dl_conv2d_geom *g, int64_t pw, const float *restrict xp,
                                     const float *restrict w, float *restrict yt)
{
    const int64_t len = flat_len(g, pw);
    for (int64_t t = 0; t < len; t++) yt[t] = 0.0f;
    for (int64_t a = 0; a < g->kh; a++)
        for (int64_t b = 0; b < g->kw; b++) {
            const float wv = w[a * g->kw + b];
            const float *restrict xs = xp + a * g->dh * pw + b * g->dw;
#pragma omp simd
            for (int64_t t = 0; t < len; t++) yt[t] += wv * xs[t];
        }
}

/* gxp[t + a*dh*pw + b*dw] += w[a, b] * gyt[t]  (gyt: zeros past each row). */
DW_CLONES static void bwd_data_plane_flat(const dl_conv2d_geom *g, int64_t pw, const float *restrict gyt,
                                          const float *restrict w, float *restrict gxp)
{
    const int64_t len = flat_len(g, pw);
    for (int64_t a = 0; a < g->kh; a++)
        for (int64_t b = 0; b < g->kw; b++) {
            const float wv = w[a * g->kw + b];
            float *restrict xs = gxp + a * g->dh * pw + b * g->dw;
#pragma omp simd
            for (int64_t t = 0; t < len; t++) xs[t] += wv * gyt[t];
        }
}

/* gw[a, b] += dot(gyt, xp + a*dh*pw + b*dw) over flat_len. */
DW_CLONES static void bwd_weight_plane_flat(const dl_conv2d_geom *g, int64_t pw, const float *restrict xp,
                                            const float *restrict gyt, float *restrict gw)
{
    const int64_t len = flat_len(g, pw);
    for (int64_t a = 0; a < g->kh; a++)
        for (int64_t b = 0; b < g->kw; b++) {
            const float *restrict xs = xp + a * g->dh * pw + b * g->dw;
            float s = 0.0f;
#pragma omp simd reduction(+ : s)
            for (int64_t t = 0; t < len; t++) s += gyt[t] * xs[t];
            gw[a * g->kw + b] += s;
        }
}

static int is_flat(const dl_conv2d_geom *g) { return g->sh == 1 && g->sw == 1; }

/* gy's plane re-laid with the padded row stride pw, zeros past each row. */
static void widen_plane(const dl_conv2d_geom *g, int64_t pw, const float *restrict gy, float *restrict gyt)
{
    for (int64_t i = 0; i < g->oh; i++) {
        memcpy(gyt + i * pw, gy + i * g->ow, sizeof(float) * (size_t)g->ow);
        memset(gyt + i * pw + g->ow, 0, sizeof(float) * (size_t)(pw - g->ow));
    }
}

/* Per-thread scratch: the padded plane (ph*pw) and, for the flat path, one
 * output-sized plane with the padded row stride (oh*pw). */
static float *dw_scratch(const dl_conv2d_geom *g, const dw_dims *d)
{
    return dl_scratch(DL_SCRATCH_CONV, d->ph * d->pw + g->oh * d->pw);
}

int dl_conv2d_depthwise(const dl_conv2d_geom *g, const float *x, const float *w, float *y)
{
    if (dl_dw3_applies(g)) return dl_dw3_forward(g, x, w, y); /* MobileNet's 3x3: conv_dw3.c */
    const dw_dims d = dw_dims_of(g);
    const int64_t pairs = g->n * g->c;
    int failed = 0;
#pragma omp parallel for schedule(static) if (dw_parallel(g, &d)) reduction(| : failed)
    for (int64_t p = 0; p < pairs; p++) {
        float *xp = dw_scratch(g, &d), *yt = xp ? xp + d.ph * d.pw : NULL;
        if (!xp) {
            failed = 1;
            continue;
        }
        pad_plane(g, &d, x + p * d.plane_in, xp);
        const int64_t c = p % g->c, img = p / g->c;
        for (int64_t k = 0; k < d.og; k++) {
            const int64_t o = c * d.og + k;
            float *yo = y + (img * g->oc + o) * d.plane_out;
            if (!is_flat(g)) {
                fwd_plane(g, d.pw, xp, w + o * d.taps, yo);
                continue;
            }
            fwd_plane_flat(g, d.pw, xp, w + o * d.taps, yt);
            for (int64_t r = 0; r < g->oh; r++) memcpy(yo + r * g->ow, yt + r * d.pw, sizeof(float) * (size_t)g->ow);
        }
    }
    return failed ? -1 : 0;
}

int dl_conv2d_depthwise_bwd_data(const dl_conv2d_geom *g, const float *gy, const float *w, float *gx)
{
    if (dl_dw3_applies(g)) return dl_dw3_bwd_data(g, gy, w, gx); /* MobileNet's 3x3: conv_dw3.c */
    const dw_dims d = dw_dims_of(g);
    const int64_t pairs = g->n * g->c;
    int failed = 0;
#pragma omp parallel for schedule(static) if (dw_parallel(g, &d)) reduction(| : failed)
    for (int64_t p = 0; p < pairs; p++) {
        float *gxp = dw_scratch(g, &d), *gyt = gxp ? gxp + d.ph * d.pw : NULL;
        if (!gxp) {
            failed = 1;
            continue;
        }
        memset(gxp, 0, sizeof(float) * (size_t)(d.ph * d.pw));
        const int64_t c = p % g->c, img = p / g->c;
        for (int64_t k = 0; k < d.og; k++) {
            const int64_t o = c * d.og + k;
            const float *gyo = gy + (img * g->oc + o) * d.plane_out;
            if (!is_flat(g)) {
                bwd_data_plane(g, d.pw, gyo, w + o * d.taps, gxp);
                continue;
            }
            widen_plane(g, d.pw, gyo, gyt);
            bwd_data_plane_flat(g, d.pw, gyt, w + o * d.taps, gxp);
        }
        float *gxo = gx + p * d.plane_in;
        for (int64_t r = 0; r < g->h; r++)
            memcpy(gxo + r * g->w, gxp + (g->pt + r) * d.pw + g->pl, sizeof(float) * (size_t)g->w);
    }
    return failed ? -1 : 0;
}

int dl_conv2d_depthwise_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw)
{
    if (dl_dw3_applies(g)) return dl_dw3_bwd_weight(g, x, gy, gw); /* MobileNet's 3x3: conv_dw3.c */
    const dw_dims d = dw_dims_of(g);
    int failed = 0;
    memset(gw, 0, sizeof(float) * (size_t)(g->oc * d.taps));
#pragma omp parallel for schedule(static) if (dw_parallel(g, &d)) reduction(| : failed)
    for (int64_t c = 0; c < g->c; c++) {
        float *xp = dw_scratch(g, &d), *gyt = xp ? xp + d.ph * d.pw : NULL;
        if (!xp) {
            failed = 1;
            continue;
        }
        for (int64_t img = 0; img < g->n; img++) {
            pad_plane(g, &d, x + (img * g->c + c) * d.plane_in, xp);
            for (int64_t k = 0; k < d.og; k++) {
                const int64_t o = c * d.og + k;
                const float *gyo = gy + (img * g->oc + o) * d.plane_out;
                if (!is_flat(g)) {
                    bwd_weight_plane(g, d.pw, xp, gyo, gw + o * d.taps);
                    continue;
                }
                widen_plane(g, d.pw, gyo, gyt);
                bwd_weight_plane_flat(g, d.pw, xp, gyt, gw + o * d.taps);
            }
        }
    }
    return failed ? -1 : 0;
}
