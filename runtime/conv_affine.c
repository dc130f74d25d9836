/* conv_affine.c — a convolution finished by a per-channel affine, a residual
 * add and a clamp given as data (dl_conv2d_affine, dlnrt.h).
 *
 * Why: at inference a batch norm is a per-channel affine, and MobileNetV2's
 * conv + batch norm + ReLU6 (+ shortcut) is conv, then that affine, then a
 * clamp. Through dl_conv2d_ep the generated code finished each image in a
 * callback that read the conv output back and wrote the result to another
 * buffer: 18% of MobileNetV2's batch-1 inference (perf, docs/performance.md).
 * Given the epilogue as numbers, the pointwise kernel (conv_pointwise.c)
 * applies it to each output tile while the tile is still in registers, and
 * the conv output is never written; so does conv_dw3_rows.c's depthwise 3x3
 * (8-, 16- and 32-wide planes, AVX-512). The 4x4 depthwise planes
 * (conv_dw3_tiny.c) run a few planes at a time into yc, each chunk finished
 * at once from L1. Every other
 * convolution (Winograd, im2col, ...) writes yc first and is finished here
 * per image, in cache, as the callback did.
 *
 * Each image is computed by one thread with the same code at any thread
 * count, so results do not depend on it. */
#include <omp.h>
#include <stdint.h>

#include "conv_dw3_internal.h"
#include "conv_dw3_rows_internal.h"
#include "conv_dw3_tiny_internal.h"
#include "conv_pointwise_internal.h"
#include "conv_winograd_c16_internal.h"
#include "conv_winograd_internal.h"
#include "dlnrt.h"

typedef struct affine_ctx {
    const dl_conv2d_geom *g;
    const dl_conv_affine *a;
    float *y;
} affine_ctx;

/* One image, from yc in cache, with the kernels' own formula (conv_pointwise.c). */
static void affine_image(void *ctx, int64_t image, float *yc)
{
    const affine_ctx *e = ctx;
    const int64_t per = e->g->oc * e->g->oh * e->g->ow;
    dl_conv_affine a = *e->a;
    if (a.residual) a.residual += image * per;
    dl_affine_rows_isa(DL_GEMV_BEST, e->g->oc, e->g->oh * e->g->ow, yc, e->y + image * per, &a);
}

/* The depthwise 3x3 layers whose kernels compute any range of planes in
 * registers (conv_dw3_tiny.c, conv_dw3_rows.c): a few planes at a time, each
 * finished while it is in L1, instead of a whole image's output (96 planes
 * of 32x32: 384 KB) read back from L2. */
#define AFFINE_DW_FLOATS 4096 /* planes per chunk: up to 16 KB of output */

static int dw_by_planes(const dl_conv2d_geom *g)
{
    return dl_conv2d_is_depthwise(g) && dl_dw3_applies(g) && (dl_dw3_tiny_applies(g) || dl_dw3_rows_pays(g));
}

/* Job j of a 4x4-plane layer cut in chunks of `chunk` planes, per_image a
 * image: its planes computed into yc, then finished into y. */
static void dw_tiny_job(const dl_conv2d_geom *g, const float *x, const float *w, float *yc, float *y,
                        const dl_conv_affine *a, int64_t chunk, int64_t per_image, int64_t j)
{
    const int64_t P = g->oh * g->ow, per = g->oc * P;
    const int64_t i = j / per_image, c0 = j % per_image * chunk, c1 = c0 + chunk < g->oc ? c0 + chunk : g->oc;
    const int64_t p0 = i * g->oc + c0, p1 = i * g->oc + c1;
    dl_dw3_tiny_range_isa(DL_GEMV_BEST, g, x, w, yc, 0, p0, p1);
    dl_conv_affine ac = *a;
    ac.scale += c0, ac.shift += c0;
    if (ac.residual) ac.residual += i * per + c0 * P;
    dl_affine_rows_isa(DL_GEMV_BEST, c1 - c0, P, yc + p0 * P, y + p0 * P, &ac);
}

/* The loops below enter an OpenMP region only when it will have work for
 * more than one thread: an `if (0)` region still builds and ends a team of
 * one (570 ns a call here, malloc, free and a futex wake among it), and a
 * batch-1 forward makes one such call per layer (docs/performance.md,
 * "MobileNetV2 batch-1 inference: ..."). Each image or chunk is computed by
 * the same code either way. */
static void dw_affine(const dl_conv2d_geom *g, const float *x, const float *w, float *yc, float *y,
                      const dl_conv_affine *a)
{
    const int64_t P = g->oh * g->ow, per = g->oc * P;
    const int64_t chunk = P >= AFFINE_DW_FLOATS ? 1 : AFFINE_DW_FLOATS / P;
    const int64_t per_image = (g->oc + chunk - 1) / chunk, jobs = g->n * per_image;
    if (!dl_dw3_tiny_applies(g)) { /* conv_dw3_rows.c finishes each vector as it computes it */
        if (g->n > 1 && g->n * per >= 65536 && !omp_in_parallel()) {
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < g->n; i++) dl_dw3_rows_range_affine(g, x, w, y, i * g->oc, (i + 1) * g->oc, a);
        } else
            for (int64_t i = 0; i < g->n; i++) dl_dw3_rows_range_affine(g, x, w, y, i * g->oc, (i + 1) * g->oc, a);
        return;
    }
    if (jobs > 1 && g->n * per >= 65536 && !omp_in_parallel()) {
#pragma omp parallel for schedule(static)
        for (int64_t j = 0; j < jobs; j++) dw_tiny_job(g, x, w, yc, y, a, chunk, per_image, j);
    } else
        for (int64_t j = 0; j < jobs; j++) dw_tiny_job(g, x, w, yc, y, a, chunk, per_image, j);
}

/* One image of a dl_pw_applies layer, its residual moved to that image. */
static void pw_affine_image(const dl_conv2d_geom *g, const float *x, const float *w, float *y,
                            const dl_conv_affine *a, int64_t i)
{
    const int64_t in = g->c * g->h * g->w, out = g->oc * g->oh * g->ow;
    dl_conv_affine ai = *a;
    if (ai.residual) ai.residual += i * out;
    dl_pw_forward_image_affine(g, x + i * in, w, y + i * out, &ai);
}

int dl_conv2d_affine(const dl_conv2d_geom *g, const float *x, const float *w, float *yc, float *y,
                     const dl_conv_affine *a)
{
    return dl_conv2d_affine_w(0, g, x, w, yc, y, a);
}

int dl_conv2d_affine_w(uint64_t version, const dl_conv2d_geom *g, const float *x, const float *w, float *yc, float *y,
                       const dl_conv_affine *a)
{
    affine_ctx ctx = {.g = g, .a = a, .y = y};
    if (dw_by_planes(g)) {
        dw_affine(g, x, w, yc, y, a);
        return 0;
    }
    if (!dl_pw_applies(g)) {
        /* conv.c's dispatch, where it takes Winograd: a kernel that can apply
         * the affine as it stores its output skips yc (conv_winograd_weights.c). */
        if (!dl_wg_c16_applies(g) && dl_conv_winograd_pays_forward(g))
            return dl_conv_winograd_affine_w(version, g, x, w, yc, y, a, affine_image, &ctx);
        return dl_conv2d_ep_w(version, g, x, w, yc, affine_image, &ctx);
    }
    if (g->n > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < g->n; i++) pw_affine_image(g, x, w, y, a, i);
    } else
        for (int64_t i = 0; i < g->n; i++) pw_affine_image(g, x, w, y, a, i);
    return 0;
}
