/* roi_pool.c — RoI pooling (Girshick 2015, Fast R-CNN) as torchvision.ops.
 * roi_pool computes it, forward and adjoint, for the roi_pool op of
 * generated code (compiler/emit_movement.c).
 *
 * Box b of image n, (x1, y1, x2, y2) times spatial_scale, is rounded to
 * whole pixels (half away from zero, as std::round), made at least 1 x 1
 * and cut into PH x PW bins of (y2 - y1 + 1) / PH by (x2 - x1 + 1) / PW
 * pixels; bin (ph, pw) spans rows floor(ph * bin_h) .. ceil((ph + 1) *
 * bin_h) - 1 from y1, clipped to the map (columns alike), in float as the
 * torchvision kernel so the same boxes give the same bins. Each output is
 * the bin's maximum (the first one in row-major order on ties), 0 for an
 * empty bin. The adjoint finds the same maximum again and adds the output's
 * gradient there; an empty bin passes none. The loops over images, boxes
 * and channels are roi_align's (roi_internal.h). Boxes get no gradient, as in torchvision. */
#include <math.h>

#include "roi_internal.h"

static int64_t clip(int64_t v, int64_t hi) { return v < 0 ? 0 : v > hi ? hi : v; }

/* One box over one channel plane xp [H, W]: forward into yp [PH, PW] when gp
 * is NULL, else gp [PH, PW] added into gxp [H, W] at each bin's maximum. */
static void pool_plane(const float *box, const dl_roi_geom *g, const float *xp, float *yp, const float *gp, float *gxp)
{
    const int64_t x1 = (int64_t)roundf(box[0] * g->scale), y1 = (int64_t)roundf(box[1] * g->scale);
    const int64_t x2 = (int64_t)roundf(box[2] * g->scale), y2 = (int64_t)roundf(box[3] * g->scale);
    const float bh = (float)(y2 - y1 + 1 > 1 ? y2 - y1 + 1 : 1) / (float)g->PH;
    const float bw = (float)(x2 - x1 + 1 > 1 ? x2 - x1 + 1 : 1) / (float)g->PW;
    for (int64_t ph = 0; ph < g->PH; ph++)
        for (int64_t pw = 0; pw < g->PW; pw++) {
            const int64_t h0 = clip((int64_t)floorf((float)ph * bh) + y1, g->H);
            const int64_t h1 = clip((int64_t)ceilf((float)(ph + 1) * bh) + y1, g->H);
            const int64_t w0 = clip((int64_t)floorf((float)pw * bw) + x1, g->W);
            const int64_t w1 = clip((int64_t)ceilf((float)(pw + 1) * bw) + x1, g->W);
            int64_t at = -1;
            for (int64_t h = h0; h < h1; h++)
                for (int64_t w = w0; w < w1; w++)
                    if (at < 0 || xp[h * g->W + w] > xp[at]) at = h * g->W + w;
            if (!gp) yp[ph * g->PW + pw] = at < 0 ? 0.0f : xp[at];
            else if (at >= 0) gxp[at] += gp[ph * g->PW + pw];
        }
}

void dl_roi_pool(const float *x, const float *boxes, float *y, int64_t N, const dl_roi_geom *g)
{
    dl_roi_each(pool_plane, x, NULL, boxes, y, NULL, N, g);
}

void dl_roi_pool_grad(const float *gy, const float *x, const float *boxes, float *gx, int64_t N, const dl_roi_geom *g)
{
    dl_roi_each(pool_plane, x, gy, boxes, NULL, gx, N, g);
}
