/* augment_cutmix.c — CutMix (Yun et al. 2019, as timm and torchvision's
 * v2.CutMix do it): a box of the partner image is pasted into the image,
 * and the labels mix in proportion to the areas.
 *
 * lambda ~ Beta(alpha, alpha); the box has sides h sqrt(1 - lambda) and
 * w sqrt(1 - lambda) (truncated), centred at a uniform pixel and clipped to
 * the image; the label weight of the image is then 1 - box area / (h w),
 * the area actually kept after clipping. A mask label takes the partner's
 * box like the image, pixel for pixel. */
#include "augment_internal.h"

#include <math.h>

void dl_aug_cutmix_box(dl_rng *r, int64_t h, int64_t w, float lambda, int64_t box[4])
{
    const double cut = sqrt(1.0 - lambda);
    const int64_t ch = (int64_t)(h * cut), cw = (int64_t)(w * cut);
    const int64_t cy = (int64_t)(dl_rng_next(r) % (uint64_t)h), cx = (int64_t)(dl_rng_next(r) % (uint64_t)w);
    int64_t y0 = cy - ch / 2, x0 = cx - cw / 2, y1 = cy + ch / 2, x1 = cx + cw / 2;
    y0 = y0 < 0 ? 0 : y0, x0 = x0 < 0 ? 0 : x0;
    y1 = y1 > h ? h : y1, x1 = x1 > w ? w : x1;
    box[0] = y0, box[1] = x0, box[2] = y1 - y0, box[3] = x1 - x0;
}

void dl_aug_paste(float *dst, const float *src, int64_t c, int64_t h, int64_t w, const int64_t box[4])
{
    for (int64_t k = 0; k < c; k++)
        for (int64_t i = box[0]; i < box[0] + box[2]; i++)
            for (int64_t j = box[1]; j < box[1] + box[3]; j++) dst[(k * h + i) * w + j] = src[(k * h + i) * w + j];
}
