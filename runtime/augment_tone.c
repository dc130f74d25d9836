/* augment_tone.c — the tone transforms of torchvision's v2 functional API
 * on float images in [0, 1], per [c, h, w] image:
 *
 *   solarize t      x >= t ? 1 - x : x                       (solarize_image)
 *   posterize b     floor(x 2^b) clamped to [0, 2^b - 1], / 2^b
 *                   (posterize_image's float branch; on uint8 torchvision
 *                   keeps the top b bits, x & ~(2^(8-b) - 1), which is not
 *                   the same grid)
 *   autocontrast    per channel (x - min) / (max - min) clamped to [0, 1];
 *                   a constant channel is x clamped to [0, 1]
 *   equalize        per channel on the image quantized as to_dtype(uint8,
 *                   scale = True) quantizes it, q = trunc(x (255 + 1 - 1e-3))
 *                   (x clamped to [0, 1] first): PIL's lookup table (step =
 *                   the pixels outside the last non-empty bin / 255, lut[i]
 *                   = (cumulative count below i + step / 2) / step, clamped
 *                   to 255; step 0 keeps q), then / 255 back to float
 *
 * Each applies with its probability; the draws are augment.c's (seed,
 * epoch, sample) generator. */
#include "augment_internal.h"

#include <math.h>
#include <string.h>

void dl_aug_solarize(float *x, int64_t n, float threshold)
{
    for (int64_t i = 0; i < n; i++)
        if (x[i] >= threshold) x[i] = 1.0f - x[i];
}

void dl_aug_posterize(float *x, int64_t n, int bits)
{
    const double levels = (double)(1 << bits);
    for (int64_t i = 0; i < n; i++) {
        double q = floor((double)x[i] * levels);
        q = q < 0 ? 0 : q > levels - 1 ? levels - 1 : q;
        x[i] = (float)(q / levels);
    }
}

static float dl_clamp01d(double v) { return v < 0 ? 0.0f : v > 1 ? 1.0f : (float)v; }

void dl_aug_autocontrast(float *x, int64_t c, int64_t hw)
{
    for (int64_t k = 0; k < c; k++) {
        float *p = x + k * hw, mn = p[0], mx = p[0];
        for (int64_t i = 1; i < hw; i++) mn = p[i] < mn ? p[i] : mn, mx = p[i] > mx ? p[i] : mx;
        const double lo = mx == mn ? 0.0 : mn, scale = mx == mn ? 1.0 : (double)mx - mn;
        for (int64_t i = 0; i < hw; i++) p[i] = dl_clamp01d(((double)p[i] - lo) / scale);
    }
}

void dl_aug_equalize(float *x, int64_t c, int64_t hw)
{
    for (int64_t k = 0; k < c; k++) {
        float *p = x + k * hw;
        int64_t hist[256] = {0}, lut[256];
        for (int64_t i = 0; i < hw; i++) {
            const double v = p[i] > 0 ? (p[i] < 1 ? p[i] : 1) : 0;   /* NaN: 0 */
            int q = (int)(v * (255.0 + 1.0 - 1e-3));
            p[i] = (float)(q > 255 ? 255 : q);   /* the uint8 value, for now */
            hist[(int)p[i]]++;
        }
        int last = 255;
        while (last > 0 && hist[last] == 0) last--;
        const int64_t step = (hw - hist[last]) / 255;
        if (step == 0) {
            for (int64_t i = 0; i < hw; i++) p[i] /= 255.0f;
            continue;
        }
        int64_t cum = 0;
        for (int b = 0; b < 256; b++) {   /* lut = pad(cumsum + step / 2) / step shifted by one bin */
            const int64_t v = (cum + step / 2) / step;
            lut[b] = v > 255 ? 255 : v;
            cum += hist[b];
        }
        for (int64_t i = 0; i < hw; i++) p[i] = (float)lut[(int)p[i]] / 255.0f;
    }
}
