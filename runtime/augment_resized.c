/* augment_resized.c — random_resized_crop: torchvision's RandomResizedCrop
 * on the sample's own size.
 *
 * The box is drawn as torchvision's get_params draws it: up to 10 tries of
 * an area fraction s ~ U[scale) and an aspect r = exp(U[log ratio)), width
 * round(sqrt(s A r)), height round(sqrt(s A / r)) (halves to even, as
 * Python's round), kept when it fits, at a uniform offset; else the whole image cropped to the nearest allowed
 * aspect, centred. The box is then resized back to h x w bilinearly with
 * half-pixel centres (align_corners = False, no antialiasing), and a mask
 * label goes through the same box. */
#include "augment_internal.h"

#include <math.h>
#include <string.h>

void dl_aug_resized_box(dl_rng *r, int64_t h, int64_t w, const float scale[2], const float ratio[2], int64_t box[4])
{
    const double area = (double)h * w, lr0 = log(ratio[0]), lr1 = log(ratio[1]);
    for (int tries = 0; tries < 10; tries++) {
        const double target = area * (scale[0] + (scale[1] - scale[0]) * dl_rng_uniform(r));
        const double aspect = exp(lr0 + (lr1 - lr0) * dl_rng_uniform(r));
        const int64_t bw = (int64_t)nearbyint(sqrt(target * aspect)), bh = (int64_t)nearbyint(sqrt(target / aspect));
        if (bw > 0 && bw <= w && bh > 0 && bh <= h) {
            box[0] = (int64_t)(dl_rng_next(r) % (uint64_t)(h - bh + 1));
            box[1] = (int64_t)(dl_rng_next(r) % (uint64_t)(w - bw + 1));
            box[2] = bh, box[3] = bw;
            return;
        }
    }
    /* the fallback: the largest centred box of an allowed aspect */
    const double in = (double)w / h;
    int64_t bw = w, bh = h;
    if (in < ratio[0]) bh = (int64_t)nearbyint(w / ratio[0]);
    else if (in > ratio[1]) bw = (int64_t)nearbyint(h * ratio[1]);
    box[0] = (h - bh) / 2, box[1] = (w - bw) / 2, box[2] = bh, box[3] = bw;
}

void dl_aug_resize_box(float *x, int64_t c, int64_t h, int64_t w, const int64_t box[4], float *tmp)
{
    memcpy(tmp, x, (size_t)(c * h * w) * sizeof *x);
    const double sy = (double)box[2] / h, sx = (double)box[3] / w;
    for (int64_t i = 0; i < h; i++) {
        double fy = (i + 0.5) * sy - 0.5;
        fy = fy < 0 ? 0 : fy > box[2] - 1 ? box[2] - 1 : fy;
        const int64_t y0 = (int64_t)fy, y1 = y0 + 1 < box[2] ? y0 + 1 : y0;
        const double ay = fy - y0;
        for (int64_t j = 0; j < w; j++) {
            double fx = (j + 0.5) * sx - 0.5;
            fx = fx < 0 ? 0 : fx > box[3] - 1 ? box[3] - 1 : fx;
            const int64_t x0 = (int64_t)fx, x1 = x0 + 1 < box[3] ? x0 + 1 : x0;
            const double ax = fx - x0;
            for (int64_t k = 0; k < c; k++) {
                const float *p = tmp + (k * h + box[0]) * w + box[1];
                const double top = (1 - ax) * p[y0 * w + x0] + ax * p[y0 * w + x1];
                const double bot = (1 - ax) * p[y1 * w + x0] + ax * p[y1 * w + x1];
                x[(k * h + i) * w + j] = (float)((1 - ay) * top + ay * bot);
            }
        }
    }
}
