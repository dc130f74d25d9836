/* conv.c — 2-D convolution and pooling kernels for generated code (NCHW,
 * float32, PyTorch semantics; see dl_conv2d_geom in dlnrt.h).
 *
 * Convolutions are lowered to GEMM. For one image and one group:
 *
 *   forward      y_g[og, P]  = W_g[og, K] @ cols[K, P]       cols = im2col(x_g)
 *   data grad    cols[K, P]  = W_g^T @ gy_g,                 gx_g = col2im(cols)
 *   weight grad  gW_g[og, K] += gy_g[og, P] @ cols^T
 *
 * with K = (c/groups) * kh * kw and P = oh * ow. A 1x1, stride-1, unpadded
 * convolution needs no im2col at all: x_g is already the [K, P] matrix, so
 * the pointwise convolutions of MobileNet/ResNet bottlenecks are one GEMM
 * per image and group with no copy. With at most 64 channels on one side
 * (MobileNetV2's expand and project layers) the forward and data gradient
 * skip dl_sgemm's packing too: conv_pointwise.c's register tiles read x (or
 * gy) in place, 1.1-1.8x faster on those layers at batch 64.
 *
 * The stride-1 data gradient needs no col2im: it is itself a convolution,
 * of gy with the kernel flipped and its channel axes swapped (im2col.c
 * builds that weight once per call), padded by dh*(kh-1) - pt etc. — one
 * im2col of gy and one GEMM writing gx directly, with no memset and no
 * scatter-add. Other strides keep GEMM + col2im.
 *
 * Stride-1 convolutions with at most 16 output channels per group (LeNet,
 * ResNet's first stages) skip im2col and the GEMM for the direct kernels of
 * conv_direct_small.c (forward, weight gradient, and so the flipped data
 * gradient): with so few output channels building the columns cost as much
 * as the multiply. conv_bench, batch 64, 1 thread, CPU time old/new
 * (forward, data, weight gradient): LeNet c1 2.0x, 1.5x, 2.4x; c3 2.6x,
 * 2.2x, 1.6x; ResNet's 16x16 on 32x32 1.3x, 1.3x, 1.7x; 3->16 1.15x, 1.7x,
 * 1.9x.
 * On AVX-512 the forward and flipped data gradient of 16 -> 16, 3x3, pad-1
 * layers at batch >= 2 (ResNet-20's first stage) go to conv_winograd_c16.c
 * instead (F(2x2) with channels in the lanes: 0.67x the direct kernels'
 * CPU time at batch 64, docs/performance.md, branch w16).
 *
 * Stride-2 convolutions with kernels up to 3x3 (ResNet's downsampling
 * layers) run on conv_s2.c's phase kernels instead: the input split once
 * into its even/odd row and column phases, each pass a stride-1 direct
 * convolution over them, no columns (forward 1.4x, data gradient 1.5-1.6x;
 * docs/performance.md); their weight gradient on conv_s2_wgrad.c's outer
 * products (output channels in the lanes: 1.27x and 1.47x). 1x1 stride-2
 * shortcuts have their own kernels in conv_pointwise_s2.c (gathered even
 * pixels, no packing). At batch 1, stride-1 layers with 32+ channels on
 * planes of at most 64 pixels (ResNet-20's 8x8 stage) run on conv_b1.c's
 * shifted input copies: no im2col, no packing.
 *
 * Parallelism: with at least as many images as threads, images are shared
 * out over the threads, each with its own columns buffer and a serial GEMM
 * (dl_sgemm sees it is inside a parallel region). Parallelizing inside each
 * GEMM instead (the previous rule for every image above 2M multiply-adds)
 * made ResNet-20 slower at 2 threads than at 1: its GEMMs are only 16-64
 * rows high and do not split well. Only when there are fewer images than
 * threads (batch-1 inference) and an image is big do images run one after
 * another with dl_sgemm parallel inside (it stays serial when too small).
 * The weight gradient sums over images, and its result must not depend on
 * the thread count (docs/design.md, "Determinism"): the images are cut into
 * a number of contiguous chunks that depends on the geometry alone
 * (wgrad_chunks), each summed into its own partial (chunk 0's is gw itself)
 * by whichever thread takes it, and the partials are added to gw in chunk
 * order, slice by slice. (One partial per thread, as before, made 1 and 2
 * threads train LeNet-5 and ResNet-8 to different weights.) Each step is a
 * small function so it can be replaced by a faster one independently. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "conv_b1_internal.h"
#include "conv_pointwise_internal.h"
#include "conv_pointwise_s2_internal.h"
#include "conv_s2_internal.h"
#include "conv_s2_wgrad_internal.h"
#include "conv_small_internal.h"
#include "conv_winograd_c16_internal.h"
#include "conv_winograd_internal.h"
#include "dlnrt.h"
#include "im2col_internal.h"
#include "scratch_internal.h"

/* With fewer images than threads, below this many multiply-adds per image
 * the images still go to separate threads (a GEMM this small does not gain
 * from splitting). */
#define CONV_IMAGE_PAR_MACS (1 << 21)
/* Weight gradient: output pixels (images x oh*ow) per chunk at least, and
 * the most floats of partial gradients (see wgrad_chunks). */
#define WGRAD_CHUNK_PIXELS 2048
#define WGRAD_MAX_CHUNKS 12
#define WGRAD_PARTIAL_FLOATS (4 << 20)
/* Pools: parallelize over planes above this many window visits. */
#define POOL_PAR_WORK 32768

typedef struct conv_dims {
    int64_t cg, og, K, P, plane_in; /* channels per group in/out, GEMM depth, output pixels, h*w */
} conv_dims;

static conv_dims dims_of(const dl_conv2d_geom *g) {
    conv_dims d;
    d.cg = g->c / g->groups;
    d.og = g->oc / g->groups;
    d.K = d.cg * g->kh * g->kw;
    d.P = g->oh * g->ow;
    d.plane_in = g->h * g->w;
    return d;
}

static int is_pointwise(const dl_conv2d_geom *g) {
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pb == 0 && g->pl == 0 &&
           g->pr == 0;
}

/* Threads to share the images over; 1 = images in sequence (GEMMs may then
 * parallelize inside). */
static int image_threads(const dl_conv2d_geom *g, const conv_dims *d) {
    int nt = omp_get_max_threads();
    if (g->n < 2 || nt < 2 || omp_in_parallel()) return 1;
    if (g->n < nt && (double)g->oc * (double)d->K * (double)d->P >= CONV_IMAGE_PAR_MACS) return 1;
    return g->n < nt ? (int)g->n : nt;
}

/* Scratch pieces start on 64-byte boundaries (whole cache lines per thread). */
static int64_t lines(int64_t floats) { return (floats + 15) / 16 * 16; }

/* Whether the forward (and the flipped data gradient) of g runs on the
 * direct kernels of conv_direct_small.c instead of im2col + GEMM. */
static int direct_fwd(const dl_conv2d_geom *g) { return !is_pointwise(g) && dl_conv_small_fits(g); }
static int direct_wgrad(const dl_conv2d_geom *g) { return !is_pointwise(g) && dl_conv_small_fits(g); }
/* Whether g's forward and data gradient run on the stride-2 phase kernels
 * of conv_s2.c: not for 1x1 kernels (ResNet's shortcut: 0.8x forward, 0.7x
 * data gradient there, conv_bench cpu), nor for a single image big enough
 * for dl_sgemm to split (the phase kernels run one image per thread; the
 * rule must not depend on the thread count, or 1 and 2 threads would take
 * different paths and give different bits); its weight gradient only where
 * dl_conv_s2_wgrad_pays. */
static int phase_s2(const dl_conv2d_geom *g) {
    double macs = (double)g->oc * (double)(g->c / (g->groups ? g->groups : 1) * g->kh * g->kw) * (double)(g->oh * g->ow);
    return dl_conv_s2_fits(g) && g->kh * g->kw > 1 && (g->n >= 2 || macs < CONV_IMAGE_PAR_MACS);
}
static int phase_s2_wgrad(const dl_conv2d_geom *g) { return phase_s2(g) && dl_conv_s2_wgrad_pays(g); }
/* ... and its weight gradient by outer products (conv_s2_wgrad.c), which
 * beat both the lane-partial kernel and im2col + GEMM from 16 output channels. */
static int outer_s2_wgrad(const dl_conv2d_geom *g) { return phase_s2(g) && dl_conv_s2w_pays(g); }

/* Floats of per-thread buffer one forward image needs: columns, the direct kernels' planes, or none. */
static int64_t fwd_floats(const dl_conv2d_geom *g, const conv_dims *d) {
    if (direct_fwd(g)) return lines(dl_conv_small_fwd_floats(g));
    if (phase_s2(g)) return lines(dl_conv_s2_fwd_floats(g));
    return is_pointwise(g) ? 0 : lines(d->K * d->P);
}

/* The calling thread's conv scratch buffer (scratch_internal.h), never freed here. */
static float *scratch(int64_t floats) { return dl_scratch(DL_SCRATCH_CONV, floats ? floats : 1); }

/* next: the following image's input (a prefetch hint for the row kernels), or NULL;
 * reuse: cols went through this call for an earlier image (the phase kernels then keep its padding zeros). */
static void conv_image(const dl_conv2d_geom *g, const conv_dims *d, const float *x, const float *w, float *y,
                       float *cols, const float *next, int reuse) {
    if (direct_fwd(g)) {
        dl_conv_small_image(g, x, w, y, cols, next);
        return;
    }
    if (dl_pw_applies(g)) { /* conv_pointwise.c: no packing */
        dl_pw_forward_image(g, x, w, y);
        return;
    }
    if (dl_pw2_applies(g)) { /* 1x1 stride 2, conv_pointwise_s2.c */
        dl_pw2_forward_image(g, x, w, y, cols);
        return;
    }
    if (phase_s2(g)) {
        dl_conv_s2_image(g, x, w, y, cols, reuse);
        return;
    }
    for (int64_t grp = 0; grp < g->groups; grp++) {
        const float *xg = x + grp * d->cg * d->plane_in, *B = xg;
        if (!is_pointwise(g)) {
            dl_im2col(g, d->cg, xg, cols);
            B = cols;
        }
        dl_sgemm(0, 0, d->og, d->P, d->K, 1.0f, w + grp * d->og * d->K, d->K, B, d->P, 0.0f, y + grp * d->og * d->P,
                 d->P);
    }
}

/* The forward over all images; cols holds nt buffers `stride` floats apart (NULL if pointwise). */
static void conv_images(const dl_conv2d_geom *g, const conv_dims *d, const float *x, const float *w, float *y,
                        dl_conv_epilogue ep, void *ctx, float *cols, int64_t stride, int nt) {
    if (nt == 1) { /* no (inactive) parallel region around the GEMMs that may parallelize themselves */
        for (int64_t i = 0; i < g->n; i++) {
            conv_image(g, d, x + i * g->c * d->plane_in, w, y + i * g->oc * d->P, cols,
                       i + 1 < g->n ? x + (i + 1) * g->c * d->plane_in : NULL, i > 0);
            if (ep) ep(ctx, i, y + i * g->oc * d->P);
        }
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        int done = 0; /* images this thread computed: its buffer is reused after the first */
#pragma omp for schedule(static)
        for (int64_t i = 0; i < g->n; i++) {
            float *yi = y + i * g->oc * d->P;
            conv_image(g, d, x + i * g->c * d->plane_in, w, yi, cols ? cols + omp_get_thread_num() * stride : NULL,
                       i + 1 < g->n ? x + (i + 1) * g->c * d->plane_in : NULL, done++ > 0);
            if (ep) ep(ctx, i, yi);
        }
    }
}

int dl_conv2d(const dl_conv2d_geom *g, const float *x, const float *w, float *y) {
    return dl_conv2d_ep(g, x, w, y, NULL, NULL);
}

int dl_conv2d_ep(const dl_conv2d_geom *g, const float *x, const float *w, float *y, dl_conv_epilogue ep,
                 void *ctx) {
    return dl_conv2d_ep_w(0, g, x, w, y, ep, ctx);
}

int dl_conv2d_ep_w(uint64_t version, const dl_conv2d_geom *g, const float *x, const float *w, float *y,
                   dl_conv_epilogue ep, void *ctx) {
    if (dl_conv2d_is_depthwise(g)) { /* conv_depthwise.c works a plane at a time; the epilogue follows */
        int rc = dl_conv2d_depthwise(g, x, w, y);
        if (rc || !ep) return rc;
#pragma omp parallel for schedule(static) if (g->n > 1 && g->oc * g->oh * g->ow * g->n >= 65536 && !omp_in_parallel())
        for (int64_t i = 0; i < g->n; i++) ep(ctx, i, y + i * g->oc * g->oh * g->ow);
        return 0;
    }
    if (dl_wg_c16_applies(g)) return dl_wg_c16_forward(g, x, w, y, ep, ctx); /* conv_winograd_c16.c */
    if (dl_conv_winograd_pays_forward(g)) return dl_conv_winograd_w(version, g, x, w, y, ep, ctx);
    if (dl_conv_b1_applies(g)) { /* conv_b1.c: batch-1 inference's small planes */
        float *buf = scratch(dl_conv_b1_floats(g));
        return buf ? dl_conv_b1_forward(DL_GEMV_BEST, g, x, w, y, buf, ep, ctx) : -1;
    }
    conv_dims d = dims_of(g);
    int nt = image_threads(g, &d);
    int64_t stride = fwd_floats(g, &d);
    float *cols = stride ? scratch(stride * nt) : NULL;
    if (stride && !cols) return -1;
    conv_images(g, &d, x, w, y, ep, ctx, cols, stride, nt);
    return 0;
}

/* ---- data gradient ------------------------------------------------------- */

/* Whether the stride-1 data gradient goes through the flipped convolution.
 * Its GEMM is [cg x og*kh*kw] @ [og*kh*kw x h*w], col2im's [cg*kh*kw x og] @
 * [og x P]: with few input channels (cg < 8) the flipped GEMM is too short
 * for a micro-tile, and col2im wins. Measured (bench/conv_bench.c cpu,
 * batch 64, 1 thread, CPU time of col2im path / flipped): 16->16 on 32x32
 * 1.35, 32->32 on 16x16 1.07, 64->64 on 8x8 1.13; 3->16 0.63, LeNet's
 * 1->6 0.30 and 6->16 0.39 — but when the flipped convolution fits the
 * direct kernels (its og = cg <= 16) it beats col2im: 3->16 1.7x, LeNet c3
 * 2.2x, c1 1.5x. */
static dl_conv2d_geom flipped(const dl_conv2d_geom *g) {
    dl_conv2d_geom f = *g;
    f.c = g->oc, f.h = g->oh, f.w = g->ow, f.oc = g->c, f.oh = g->h, f.ow = g->w;
    f.pt = g->dh * (g->kh - 1) - g->pt, f.pb = g->dh * (g->kh - 1) - g->pb;
    f.pl = g->dw * (g->kw - 1) - g->pl, f.pr = g->dw * (g->kw - 1) - g->pr;
    return f;
}

static int flip_pays(const dl_conv2d_geom *g, const conv_dims *d) {
    if (g->sh != 1 || g->sw != 1 || is_pointwise(g)) return 0;
    dl_conv2d_geom f = flipped(g);
    return d->cg >= 8 || direct_fwd(&f);
}

/* The stride-1 data gradient as a forward convolution of gy (see the top). */
static int bwd_data_flipped(const dl_conv2d_geom *g, const float *gy, const float *w, float *gx) {
    dl_conv2d_geom f = flipped(g);
    conv_dims d = dims_of(g), fd = dims_of(&f);
    int nt = image_threads(&f, &fd);
    int64_t wsize = lines(g->oc * d.K), stride = fwd_floats(&f, &fd);
    float *buf = scratch(wsize + stride * nt);
    if (!buf) return -1;
    dl_conv_flip_weight(w, g->groups, d.og, d.cg, g->kh, g->kw, buf);
    if (dl_wg_c16_applies(&f)) return dl_wg_c16_forward(&f, gy, buf, gx, NULL, NULL);
    if (dl_conv_winograd_pays(&f)) return dl_conv_winograd(&f, gy, buf, gx, NULL, NULL);
    conv_images(&f, &fd, gy, buf, gx, NULL, NULL, buf + wsize, stride, nt);
    return 0;
}

static void conv_bwd_data_image(const dl_conv2d_geom *g, const conv_dims *d, const float *gy, const float *w,
                                float *gx, float *cols) {
    if (dl_pw_applies(g)) { /* W^T @ gy, conv_pointwise.c */
        dl_pw_bwd_data_image(g, gy, w, gx);
        return;
    }
    if (dl_pw2_applies(g)) { /* gy's products on the even pixels, zeros between */
        dl_pw2_bwd_data_image(g, gy, w, gx, cols);
        return;
    }
    for (int64_t grp = 0; grp < g->groups; grp++) {
        const float *wg = w + grp * d->og * d->K, *gyg = gy + grp * d->og * d->P;
        float *gxg = gx + grp * d->cg * d->plane_in;
        if (is_pointwise(g)) {
            dl_sgemm(1, 0, d->K, d->P, d->og, 1.0f, wg, d->K, gyg, d->P, 0.0f, gxg, d->P);
            continue;
        }
        dl_sgemm(1, 0, d->K, d->P, d->og, 1.0f, wg, d->K, gyg, d->P, 0.0f, cols, d->P);
        dl_col2im(g, d->cg, cols, gxg);
    }
}

/* The stride-2 data gradient by phases (conv_s2.c): the weight regrouped
 * once, then images shared over threads. */
static int bwd_data_s2(const dl_conv2d_geom *g, const conv_dims *d, const float *gy, const float *w, float *gx) {
    int nt = image_threads(g, d);
    int64_t wsize = lines(g->oc * d->K), stride = lines(dl_conv_s2_bwd_data_floats(g));
    float *buf = scratch(wsize + stride * nt);
    if (!buf) return -1;
    dl_conv_s2_phase_weight(g, w, buf);
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int done = 0; /* images this thread computed: its buffer is reused after the first */
#pragma omp for schedule(static)
        for (int64_t i = 0; i < g->n; i++)
            dl_conv_s2_bwd_data_image(g, gy + i * g->oc * d->P, buf, gx + i * g->c * d->plane_in,
                                      buf + wsize + omp_get_thread_num() * stride, done++ > 0);
    }
    return 0;
}

int dl_conv2d_bwd_data(const dl_conv2d_geom *g, const float *gy, const float *w, float *gx) {
    if (dl_conv2d_is_depthwise(g)) return dl_conv2d_depthwise_bwd_data(g, gy, w, gx);
    conv_dims d = dims_of(g);
    if (phase_s2(g)) return bwd_data_s2(g, &d, gy, w, gx);
    if (flip_pays(g, &d)) return bwd_data_flipped(g, gy, w, gx);
    int nt = image_threads(g, &d);
    int64_t stride = is_pointwise(g) ? 0 : lines(d.K * d.P);
    float *cols = stride ? scratch(stride * nt) : NULL;
    if (stride && !cols) return -1;
    if (nt == 1) {
        for (int64_t i = 0; i < g->n; i++)
            conv_bwd_data_image(g, &d, gy + i * g->oc * d.P, w, gx + i * g->c * d.plane_in, cols);
        return 0;
    }
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t i = 0; i < g->n; i++)
        conv_bwd_data_image(g, &d, gy + i * g->oc * d.P, w, gx + i * g->c * d.plane_in,
                            cols ? cols + omp_get_thread_num() * stride : NULL);
    return 0;
}

/* ---- weight gradient ----------------------------------------------------- */

/* gw (+)= the weight gradient of one image; beta 0 overwrites, 1 accumulates. */
static void conv_bwd_weight_image(const dl_conv2d_geom *g, const conv_dims *d, const float *x, const float *gy,
                                  float *gw, float *cols, float beta) {
    for (int64_t grp = 0; grp < g->groups; grp++) {
        const float *xg = x + grp * d->cg * d->plane_in, *B = xg;
        if (!is_pointwise(g)) {
            dl_im2col(g, d->cg, xg, cols);
            B = cols;
        }
        dl_sgemm(0, 1, d->og, d->K, d->P, 1.0f, gy + grp * d->og * d->P, d->P, B, d->P, beta, gw + grp * d->og * d->K,
                 d->K);
    }
}

/* gw = the gradient summed over images [lo, hi) (zeros when there are none). */
static void bwd_weight_range(const dl_conv2d_geom *g, const conv_dims *d, const float *x, const float *gy,
                             float *gw, float *cols, int64_t lo, int64_t hi) {
    if (direct_wgrad(g)) {
        dl_conv_small_bwd_weight(g, x, gy, gw, cols, lo, hi);
        return;
    }
    if (outer_s2_wgrad(g)) {
        dl_conv_s2w_bwd_weight(g, x, gy, gw, cols, lo, hi);
        return;
    }
    if (phase_s2_wgrad(g)) {
        dl_conv_s2_bwd_weight(g, x, gy, gw, cols, lo, hi);
        return;
    }
    if (dl_pw2_wgrad_pays(g)) {
        dl_pw2_bwd_weight(g, x, gy, gw, cols, lo, hi);
        return;
    }
    if (lo == hi) memset(gw, 0, sizeof(float) * (size_t)(g->oc * d->K));
    for (int64_t i = lo; i < hi; i++)
        conv_bwd_weight_image(g, d, x + i * g->c * d->plane_in, gy + i * g->oc * d->P, gw, cols, i > lo ? 1.0f : 0.0f);
}

/* How many chunks the images of a weight gradient are summed in: a
 * function of the geometry alone, never of the thread count. The most of
 * 12, 6, 4 that leaves every chunk an image and WGRAD_CHUNK_PIXELS output
 * pixels (images x oh*ow, the depth of its sum; 16 times that on the direct
 * kernels, whose partial is 16 lanes wide until the chunk ends), else 2 (1
 * for a single image), with at most WGRAD_PARTIAL_FLOATS of partials. Even
 * counts keep 2 threads balanced (3 chunks would split 2:1), 12 and 6 also
 * 3 threads. Each chunk past the first costs a partial written and added:
 * 12 chunks at batch 64 cost ResNet's 64-channel layer 5-7% and LeNet's c3
 * 15% (conv_bench cpu, 1 thread), hence the depth rule; smaller layers keep
 * 2 chunks, and a third thread idles there. */
static int64_t wgrad_chunks(const dl_conv2d_geom *g, const conv_dims *d) {
    static const int64_t options[] = {WGRAD_MAX_CHUNKS, 6, 4, 2};
    const int64_t depth = direct_wgrad(g) || phase_s2_wgrad(g) ? 16 * WGRAD_CHUNK_PIXELS : WGRAD_CHUNK_PIXELS;
    for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
        int64_t k = options[i];
        if (k <= g->n && (k == 2 || g->n * d->P >= k * depth) && (k - 1) * lines(g->oc * d->K) <= WGRAD_PARTIAL_FLOATS)
            return k;
    }
    return 1;
}

/* gw[k0, k1) += part[c] for c = 1 .. chunks - 1, in that order for every
 * element whoever adds it. */
static void add_partials(float *restrict gw, float *const *part, int64_t chunks, int64_t k0, int64_t k1) {
    const int64_t slice = 1024; /* gw's slice stays in L1 while the partials stream past */
    for (int64_t s0 = k0; s0 < k1; s0 += slice) {
        int64_t s1 = s0 + slice < k1 ? s0 + slice : k1;
        for (int64_t c = 1; c < chunks; c++) {
            const float *restrict p = part[c];
            for (int64_t k = s0; k < s1; k++) gw[k] += p[k];
        }
    }
}

int dl_conv2d_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw) {
    if (dl_conv2d_is_depthwise(g)) return dl_conv2d_depthwise_bwd_weight(g, x, gy, gw);
    if (dl_conv_winograd_pays(g) || dl_wg_wgrad16_pays(g)) return dl_conv_winograd_bwd_weight(g, x, gy, gw);
    conv_dims d = dims_of(g);
    int64_t wsize = g->oc * d.K, chunks = wgrad_chunks(g, &d);
    int nt = image_threads(g, &d);
    if (nt > chunks) nt = (int)chunks;
    int64_t cstride = direct_wgrad(g)  ? lines(dl_conv_small_wgrad_floats(g))
                      : outer_s2_wgrad(g) ? lines(dl_conv_s2w_floats(g))
                      : phase_s2_wgrad(g) ? lines(dl_conv_s2_wgrad_floats(g))
                      : dl_pw2_wgrad_pays(g) ? lines(dl_pw2_wgrad_floats(g))
                      : is_pointwise(g) ? 0
                                        : lines(d.K * d.P);
    /* Scratch: a slot per thread, its columns then a partial, then the
     * partials of chunks nt, nt + 1, ... (chunk 0's is gw itself). With the
     * threads' columns back to back instead, ResNet's 32>64 layer took 3-4%
     * more CPU at 2 threads (cache sets shared by the two threads, we think;
     * a partial between them was the old layout and measured as fast). */
    int64_t each = cstride + lines(wsize);
    float *buf = scratch(each * nt + lines(wsize) * (chunks > nt ? chunks - nt : 0)), *part[WGRAD_MAX_CHUNKS];
    if (!buf) return -1;
    part[0] = gw;
    for (int64_t c = 1; c < chunks; c++)
        part[c] = c < nt ? buf + c * each + cstride : buf + nt * each + (c - nt) * lines(wsize);
    if (nt == 1) { /* no (inactive) parallel region around GEMMs that may parallelize themselves */
        for (int64_t c = 0; c < chunks; c++)
            bwd_weight_range(g, &d, x, gy, part[c], buf, g->n * c / chunks, g->n * (c + 1) / chunks);
        add_partials(gw, part, chunks, 0, wsize);
        return 0;
    }
#pragma omp parallel num_threads(nt)
    {
        float *cols = buf + omp_get_thread_num() * each;
#pragma omp for schedule(static)
        for (int64_t c = 0; c < chunks; c++)
            bwd_weight_range(g, &d, x, gy, part[c], cols, g->n * c / chunks, g->n * (c + 1) / chunks);
        int t = omp_get_thread_num(), tn = omp_get_num_threads(); /* after the loop's barrier */
        add_partials(gw, part, chunks, wsize * t / tn, wsize * (t + 1) / tn);
    }
    return 0;
}

/* ---- pooling ---------------------------------------------------------------- */

static int pool_par(const dl_conv2d_geom *g, int64_t per_out) {
    return (double)g->n * g->c * g->oh * g->ow * per_out >= POOL_PAR_WORK && !omp_in_parallel();
}

/* The common 2x2, stride-2, unpadded pool (LeNet, VGG): one output row from
 * two input rows, branch-free selects in the generic kernel's visiting order
 * (so ties and NaNs resolve the same way), which GCC vectorizes. The
 * generic loop below spent a fifth of a LeNet-5 step on window bookkeeping. */
static int is_pool2x2(const dl_conv2d_geom *g) {
    return g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && g->dh == 1 && g->dw == 1 && g->pt == 0 &&
           g->pl == 0 && 2 * g->oh <= g->h && 2 * g->ow <= g->w;
}

typedef float pool_v8f __attribute__((vector_size(32)));
typedef int32_t pool_v8i __attribute__((vector_size(32)));

/* Window element v replaces the running (m, k) where v > m or v is NaN:
 * bitwise selects, so no data-dependent branches. */
#define POOL_TAKE(v, kv)                                                   \
    do {                                                                   \
        pool_v8i t_ = ((v) > m) | ((v) != (v));                            \
        m = (pool_v8f)(((pool_v8i)(v) & t_) | ((pool_v8i)m & ~t_));       \
        k = ((kv) & t_) | (k & ~t_);                                       \
    } while (0)

/* The even and odd lanes of a:b. __builtin_shufflevector (constant lanes)
 * is the spelling GCC (12 and later) and clang share; the fuzz build uses clang. */
#define POOL_EVENS(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14)
#define POOL_ODDS(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15)

/* Eight outputs (j .. j+7) from 16 floats of each input row. */
static inline __attribute__((always_inline)) void max_pool2x2_8(const float *r0, const float *r1, int32_t j,
                                                                int32_t base, int32_t w, pool_v8f *mo, pool_v8i *ko) {
    const pool_v8i even = {0, 2, 4, 6, 8, 10, 12, 14}, odd = even + 1;
    pool_v8f a0, a1, b0, b1;
    memcpy(&a0, r0, sizeof a0);
    memcpy(&a1, r0 + 8, sizeof a1);
    memcpy(&b0, r1, sizeof b0);
    memcpy(&b1, r1 + 8, sizeof b1);
    pool_v8f m = POOL_EVENS(a0, a1), v;
    pool_v8i k = base + 2 * j + even;
    v = POOL_ODDS(a0, a1);
    POOL_TAKE(v, base + 2 * j + odd);
    v = POOL_EVENS(b0, b1);
    POOL_TAKE(v, base + w + 2 * j + even);
    v = POOL_ODDS(b0, b1);
    POOL_TAKE(v, base + w + 2 * j + odd);
    *mo = m, *ko = k;
}

/* One output row; a ragged end (LeNet's 14- and 5-wide rows) goes through
 * the same vector code on a zero-padded copy, not a branchy scalar loop. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void max_pool2x2_row(const float *restrict r0, const float *restrict r1, int64_t ow, int32_t base,
                            int32_t w, float *restrict y, int32_t *restrict idx) {
    pool_v8f m;
    pool_v8i k;
    int64_t j = 0;
    for (; j + 8 <= ow; j += 8) {
        max_pool2x2_8(r0 + 2 * j, r1 + 2 * j, (int32_t)j, base, w, &m, &k);
        memcpy(y + j, &m, sizeof m);
        memcpy(idx + j, &k, sizeof k);
    }
    if (j < ow) {
        float t0[16] = {0}, t1[16] = {0};
        size_t rest = (size_t)(ow - j);
        memcpy(t0, r0 + 2 * j, 2 * rest * sizeof(float));
        memcpy(t1, r1 + 2 * j, 2 * rest * sizeof(float));
        max_pool2x2_8(t0, t1, (int32_t)j, base, w, &m, &k);
        memcpy(y + j, &m, rest * sizeof(float));
        memcpy(idx + j, &k, rest * sizeof(int32_t));
    }
}

/* y or idx may be NULL (the train step asks for values and indices in two
 * calls): the unwanted half goes to a per-row buffer on the stack. */
#define POOL2X2_MAX_OW 1024
static void max_pool2x2(const dl_conv2d_geom *g, const float *x, float *y, int32_t *idx) {
    int64_t planes = g->n * g->c, small = g->oh * g->ow;
#pragma omp parallel for schedule(static) if (pool_par(g, 4))
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = x + p * g->h * g->w;
        float yrow[POOL2X2_MAX_OW];
        int32_t irow[POOL2X2_MAX_OW];
        for (int64_t i = 0; i < g->oh; i++)
            max_pool2x2_row(xp + 2 * i * g->w, xp + (2 * i + 1) * g->w, g->ow, (int32_t)(2 * i * g->w),
                            (int32_t)g->w, y ? y + p * small + i * g->ow : yrow,
                            idx ? idx + p * small + i * g->ow : irow);
    }
}

/* As PyTorch's CPU kernel: the first valid position is the initial
 * candidate and only a strictly greater value (or NaN) replaces it. */
void dl_max_pool2d(const dl_conv2d_geom *g, const float *x, float *y, int32_t *idx) {
    int64_t planes = g->n * g->c;
    if (is_pool2x2(g) && g->ow <= POOL2X2_MAX_OW && g->h * g->w <= INT32_MAX) {
        max_pool2x2(g, x, y, idx);
        return;
    }
#pragma omp parallel for schedule(static) if (pool_par(g, g->kh * g->kw))
    for (int64_t p = 0; p < planes; p++) {
        const float *restrict xp = x + p * g->h * g->w;
        for (int64_t i = 0; i < g->oh; i++)
            for (int64_t j = 0; j < g->ow; j++) {
                int64_t r0 = i * g->sh - g->pt, q0 = j * g->sw - g->pl;
                int64_t r1 = r0 + g->dh * (g->kh - 1) + 1, q1 = q0 + g->dw * (g->kw - 1) + 1;
                if (r1 > g->h) r1 = g->h;
                if (q1 > g->w) q1 = g->w;
                while (r0 < 0) r0 += g->dh;
                while (q0 < 0) q0 += g->dw;
                int64_t best = r0 * g->w + q0;
                float m = -INFINITY;
                for (int64_t r = r0; r < r1; r += g->dh)
                    for (int64_t q = q0; q < q1; q += g->dw) {
                        float v = xp[r * g->w + q];
                        if (v > m || isnan(v)) m = v, best = r * g->w + q;
                    }
                int64_t o = (p * g->oh + i) * g->ow + j;
                if (y) y[o] = m;
                if (idx) idx[o] = (int32_t)best;
            }
    }
}

static int bad_index(const char *op, int32_t k, int64_t plane) {
    dl_set_error("%s: index %d is outside the plane of %lld elements", op, (int)k, (long long)plane);
    return -1;
}

/* Scatter the pooled-size values v into the big planes y at idx: add or assign. */
static int scatter(const dl_conv2d_geom *g, const float *v, const int32_t *idx, float *y, int add, const char *op) {
    int64_t planes = g->n * g->c, big = g->h * g->w, small = g->oh * g->ow;
    int failed = 0;
    memset(y, 0, sizeof(float) * (size_t)(planes * big));
#pragma omp parallel for schedule(static) if (pool_par(g, 1)) reduction(| : failed)
    for (int64_t p = 0; p < planes; p++)
        for (int64_t k = 0; k < small; k++) {
            int32_t t = idx[p * small + k];
            if (t < 0 || t >= big) {
                failed = 1;
                continue;
            }
            if (add) y[p * big + t] += v[p * small + k];
            else y[p * big + t] = v[p * small + k];
        }
    if (failed) {
        for (int64_t k = 0; k < planes * small; k++)
            if (idx[k] < 0 || idx[k] >= big) return bad_index(op, idx[k], big);
    }
    return 0;
}

int dl_max_pool2d_bwd(const dl_conv2d_geom *g, const float *gy, const int32_t *idx, float *gx) {
    return scatter(g, gy, idx, gx, 1, "max_pool2d backward");
}

int dl_max_unpool2d(const dl_conv2d_geom *g, const float *x, const int32_t *idx, float *y) {
    return scatter(g, x, idx, y, 0, "max_unpool2d");
}

int dl_max_unpool2d_bwd(const dl_conv2d_geom *g, const float *gy, const int32_t *idx, float *gx) {
    int64_t planes = g->n * g->c, big = g->h * g->w, small = g->oh * g->ow;
    for (int64_t k = 0; k < planes * small; k++)
        if (idx[k] < 0 || idx[k] >= big) return bad_index("max_unpool2d backward", idx[k], big);
#pragma omp parallel for schedule(static) if (pool_par(g, 1))
    for (int64_t p = 0; p < planes; p++)
        for (int64_t k = 0; k < small; k++) gx[p * small + k] = gy[p * big + idx[p * small + k]];
    return 0;
}

/* The window of output (i, j), clipped to the input, and its divisor
 * (PyTorch: the padded window with count_include_pad, else the real one). */
typedef struct window {
    int64_t r0, r1, q0, q1;
    float div;
} window;

static window avg_window(const dl_conv2d_geom *g, int64_t i, int64_t j) {
    window wd;
    wd.r0 = i * g->sh - g->pt, wd.q0 = j * g->sw - g->pl;
    wd.r1 = wd.r0 + g->kh < g->h + g->pb ? wd.r0 + g->kh : g->h + g->pb;
    wd.q1 = wd.q0 + g->kw < g->w + g->pr ? wd.q0 + g->kw : g->w + g->pr;
    int64_t padded = (wd.r1 - wd.r0) * (wd.q1 - wd.q0);
    if (wd.r0 < 0) wd.r0 = 0;
    if (wd.q0 < 0) wd.q0 = 0;
    if (wd.r1 > g->h) wd.r1 = g->h;
    if (wd.q1 > g->w) wd.q1 = g->w;
    wd.div = (float)(g->count_include_pad ? padded : (wd.r1 - wd.r0) * (wd.q1 - wd.q0));
    return wd;
}

static window adaptive_window(const dl_conv2d_geom *g, int64_t i, int64_t j) {
    window wd;
    wd.r0 = i * g->h / g->oh, wd.r1 = ((i + 1) * g->h + g->oh - 1) / g->oh;
    wd.q0 = j * g->w / g->ow, wd.q1 = ((j + 1) * g->w + g->ow - 1) / g->ow;
    wd.div = (float)((wd.r1 - wd.r0) * (wd.q1 - wd.q0));
    return wd;
}

/* Average pooling forward (adjoint = 0) or backward (adjoint = 1) with the
 * given window rule. Backward runs per plane, so no two threads write the
 * same input element. */
static void avg_common(const dl_conv2d_geom *g, const float *in, float *out, int adjoint, int adaptive) {
    int64_t planes = g->n * g->c, big = g->h * g->w, small = g->oh * g->ow;
    int64_t per_out = adaptive ? (g->h / g->oh + 1) * (g->w / g->ow + 1) : g->kh * g->kw;
    if (adjoint) memset(out, 0, sizeof(float) * (size_t)(planes * big));
#pragma omp parallel for schedule(static) if (pool_par(g, per_out))
    for (int64_t p = 0; p < planes; p++)
        for (int64_t i = 0; i < g->oh; i++)
            for (int64_t j = 0; j < g->ow; j++) {
                window wd = adaptive ? adaptive_window(g, i, j) : avg_window(g, i, j);
                int64_t o = p * small + i * g->ow + j;
                if (adjoint) {
                    float v = in[o] / wd.div;
                    for (int64_t r = wd.r0; r < wd.r1; r++)
                        for (int64_t q = wd.q0; q < wd.q1; q++) out[p * big + r * g->w + q] += v;
                } else {
                    float s = 0.0f;
                    for (int64_t r = wd.r0; r < wd.r1; r++)
                        for (int64_t q = wd.q0; q < wd.q1; q++) s += in[p * big + r * g->w + q];
                    out[o] = s / wd.div;
                }
            }
}

void dl_avg_pool2d(const dl_conv2d_geom *g, const float *x, float *y) { avg_common(g, x, y, 0, 0); }
void dl_avg_pool2d_bwd(const dl_conv2d_geom *g, const float *gy, float *gx) { avg_common(g, gy, gx, 1, 0); }
void dl_adaptive_avg_pool2d(const dl_conv2d_geom *g, const float *x, float *y) { avg_common(g, x, y, 0, 1); }
void dl_adaptive_avg_pool2d_bwd(const dl_conv2d_geom *g, const float *gy, float *gx) { avg_common(g, gy, gx, 1, 1); }
