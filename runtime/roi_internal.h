/* roi_internal.h — what roi_align.c and roi_pool.c share: both ops visit
 * every (image, box, channel) plane the same way, forward one box per
 * thread and adjoint one image per thread (so the gradient's additions come
 * in a fixed order, whatever the thread count); only the per-plane kernel
 * differs. */
#ifndef DL_ROI_INTERNAL_H
#define DL_ROI_INTERNAL_H

#include "dlnrt.h"

/* One box over one channel plane xp [H, W]: forward into yp [PH, PW] when gp
 * is NULL, else the adjoint of gp [PH, PW] added into gxp [H, W] (xp may be
 * NULL there when the kernel does not need x). */
typedef void (*dl_roi_plane_fn)(const float *box, const dl_roi_geom *g, const float *xp, float *yp, const float *gp,
                                float *gxp);

/* The forward (gy NULL: x -> y) or the adjoint (gy -> gx, zeroed first; x
 * passed on when given) over all N images. */
void dl_roi_each(dl_roi_plane_fn plane, const float *x, const float *gy, const float *boxes, float *y, float *gx,
                 int64_t N, const dl_roi_geom *g);

#endif
