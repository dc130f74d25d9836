/* augment_mask.c — the geometric transforms on a class-id mask, i32[h, w]
 * (images(path, masks = ...)): the same maps as the image's transforms in
 * augment.c, augment_resized.c and augment_more.c, sampled at the nearest
 * pixel instead of bilinearly, so a mask keeps its class ids and never
 * blends two of them; a pixel the map takes from outside the image gets
 * `fill` (the ignore_index, 255 by default: no loss, no score there).
 *
 *   shift, flips     exact, as the image's
 *   rotate, affine   the image's inverse map (source position of each output
 *                    pixel), rounded half to even as grid_sample's nearest
 *   resized crop     the box resized back as F.interpolate(mode = "nearest"):
 *                    source row floor(i * box_h / h), column likewise
 *
 * `tmp` holds h*w ids. */
#include "augment_internal.h"

#include <math.h>
#include <string.h>

void dl_aug_mask_shift(int32_t *m, int64_t h, int64_t w, int64_t dy, int64_t dx, int32_t fill, int32_t *tmp)
{
    memcpy(tmp, m, (size_t)(h * w) * sizeof *m);
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < w; j++) {
            const int64_t si = i + dy, sj = j + dx;
            m[i * w + j] = si >= 0 && si < h && sj >= 0 && sj < w ? tmp[si * w + sj] : fill;
        }
}

void dl_aug_mask_flip(int32_t *m, int64_t h, int64_t w, int horizontal)
{
    for (int64_t i = 0; i < (horizontal ? h : h / 2); i++)
        for (int64_t j = 0; j < (horizontal ? w / 2 : w); j++) {
            int32_t *a = &m[i * w + j], *b = horizontal ? &m[i * w + w - 1 - j] : &m[(h - 1 - i) * w + j];
            const int32_t t = *a;
            *a = *b;
            *b = t;
        }
}

int64_t dl_aug_map_source(const double M[6], int64_t h, int64_t w, int64_t i, int64_t j)
{
    const double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0, u = j - cx, v = i - cy;
    const double sx = nearbyint(M[0] * u + M[1] * v + M[2] + cx), sy = nearbyint(M[3] * u + M[4] * v + M[5] + cy);
    return sy >= 0 && sy < h && sx >= 0 && sx < w ? (int64_t)sy * w + (int64_t)sx : -1;
}

void dl_aug_mask_map(int32_t *m, int64_t h, int64_t w, const double M[6], int32_t fill, int32_t *tmp)
{
    memcpy(tmp, m, (size_t)(h * w) * sizeof *m);
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < w; j++) {
            const int64_t at = dl_aug_map_source(M, h, w, i, j);
            m[i * w + j] = at >= 0 ? tmp[at] : fill;
        }
}

/* dl_aug_rotate's inverse rotation as a map for dl_aug_mask_map. */
void dl_aug_rotate_matrix(double degrees, double M[6])
{
    const double th = degrees * 3.14159265358979323846 / 180.0, cs = cos(th), sn = sin(th);
    M[0] = cs, M[1] = -sn, M[2] = 0, M[3] = sn, M[4] = cs, M[5] = 0;
}

void dl_aug_mask_resize_box(int32_t *m, int64_t h, int64_t w, const int64_t box[4], int32_t *tmp)
{
    memcpy(tmp, m, (size_t)(h * w) * sizeof *m);
    for (int64_t i = 0; i < h; i++) {
        int64_t sy = (int64_t)floor(i * ((double)box[2] / h));
        sy = sy < box[2] ? sy : box[2] - 1;
        for (int64_t j = 0; j < w; j++) {
            int64_t sx = (int64_t)floor(j * ((double)box[3] / w));
            sx = sx < box[3] ? sx : box[3] - 1;
            m[i * w + j] = tmp[(box[0] + sy) * w + box[1] + sx];
        }
    }
}
