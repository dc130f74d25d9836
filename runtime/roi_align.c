/* roi_align.c — RoI Align (He et al. 2017, Mask R-CNN) as torchvision.ops.
 * roi_align computes it, forward and adjoint, for the roi_align op of
 * generated code (compiler/emit_movement.c).
 *
 * Box b of image n, (x1, y1, x2, y2) scaled by spatial_scale (and shifted by
 * -0.5 when aligned), is cut into PH x PW bins; each output value is the
 * mean of a grid of bilinear samples at the centres of equal sub-cells of
 * its bin, sampling x sampling of them, or ceil(box side / bins) per side
 * when sampling <= 0 (torchvision's adaptive default). A sample more than
 * one pixel outside the map counts as 0; one within a pixel of the edge is
 * clamped to it. Without aligned, a box is at least 1 x 1. The adjoint
 * scatters each output gradient back along the same weights; it runs one
 * image per thread, each adding in a fixed order, so the result does not
 * depend on the thread count. Boxes get no gradient, as in torchvision. */
#include <math.h>
#include <string.h>

#include "roi_internal.h"

/* One box over one channel plane xp [H, W]: forward into yp [PH, PW] when gp
 * is NULL, else the adjoint of gp [PH, PW] added into gxp [H, W]. */
static void roi_plane(const float *box, const dl_roi_geom *g, const float *xp, float *yp, const float *gp, float *gxp)
{
    const float off = g->aligned ? 0.5f : 0.0f;
    const float x1 = box[0] * g->scale - off, y1 = box[1] * g->scale - off;
    float rw = box[2] * g->scale - off - x1, rh = box[3] * g->scale - off - y1;
    if (!g->aligned) rw = fmaxf(rw, 1.0f), rh = fmaxf(rh, 1.0f);
    const float bw = rw / (float)g->PW, bh = rh / (float)g->PH;
    const int sh = g->sampling > 0 ? g->sampling : (int)ceilf(rh / (float)g->PH);
    const int sw = g->sampling > 0 ? g->sampling : (int)ceilf(rw / (float)g->PW);
    const float count = (float)(sh * sw > 1 ? sh * sw : 1);
    const int64_t H = g->H, W = g->W;
    for (int64_t ph = 0; ph < g->PH; ph++)
        for (int64_t pw = 0; pw < g->PW; pw++) {
            float acc = 0;
            const float go = gp ? gp[ph * g->PW + pw] / count : 0;
            for (int iy = 0; iy < sh; iy++) {
                float y = y1 + (float)ph * bh + ((float)iy + 0.5f) * bh / (float)sh;
                for (int ix = 0; ix < sw; ix++) {
                    float x = x1 + (float)pw * bw + ((float)ix + 0.5f) * bw / (float)sw;
                    if (y < -1.0f || y > (float)H || x < -1.0f || x > (float)W) continue;
                    float yy = y <= 0 ? 0 : y, xx = x <= 0 ? 0 : x;
                    int64_t y0 = (int64_t)yy, x0 = (int64_t)xx, y1i, x1i;
                    if (y0 >= H - 1) y0 = y1i = H - 1, yy = (float)y0;
                    else y1i = y0 + 1;
                    if (x0 >= W - 1) x0 = x1i = W - 1, xx = (float)x0;
                    else x1i = x0 + 1;
                    const float ly = yy - (float)y0, lx = xx - (float)x0, hy = 1 - ly, hx = 1 - lx;
                    if (!gp) {
                        acc += hy * hx * xp[y0 * W + x0] + hy * lx * xp[y0 * W + x1i] + ly * hx * xp[y1i * W + x0] +
                               ly * lx * xp[y1i * W + x1i];
                    } else {
                        gxp[y0 * W + x0] += go * hy * hx;
                        gxp[y0 * W + x1i] += go * hy * lx;
                        gxp[y1i * W + x0] += go * ly * hx;
                        gxp[y1i * W + x1i] += go * ly * lx;
                    }
                }
            }
            if (!gp) yp[ph * g->PW + pw] = acc / count;
        }
}

void dl_roi_each(dl_roi_plane_fn plane, const float *x, const float *gy, const float *boxes, float *y, float *gx,
                 int64_t N, const dl_roi_geom *g)
{
    const int64_t hw = g->H * g->W, out = g->PH * g->PW;
    if (!gy) {
#pragma omp parallel for collapse(2) schedule(static)
        for (int64_t n = 0; n < N; n++)
            for (int64_t r = 0; r < g->R; r++)
                for (int64_t c = 0; c < g->C; c++)
                    plane(boxes + (n * g->R + r) * 4, g, x + (n * g->C + c) * hw, y + ((n * g->R + r) * g->C + c) * out,
                          NULL, NULL);
        return;
    }
    memset(gx, 0, (size_t)(N * g->C * hw) * sizeof *gx);
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++)
        for (int64_t r = 0; r < g->R; r++)
            for (int64_t c = 0; c < g->C; c++)
                plane(boxes + (n * g->R + r) * 4, g, x ? x + (n * g->C + c) * hw : NULL, NULL,
                      gy + ((n * g->R + r) * g->C + c) * out, gx + (n * g->C + c) * hw);
}

void dl_roi_align(const float *x, const float *boxes, float *y, int64_t N, const dl_roi_geom *g)
{
    dl_roi_each(roi_plane, x, NULL, boxes, y, NULL, N, g);
}

void dl_roi_align_grad(const float *gy, const float *boxes, float *gx, int64_t N, const dl_roi_geom *g)
{
    dl_roi_each(roi_plane, NULL, gy, boxes, NULL, gx, N, g);
}
