/* augment_color.c — the colour half of color_jitter: saturation and hue,
 * as torchvision's adjust_saturation and adjust_hue compute them on a
 * [3, h, w] RGB image in [0, 1].
 *
 *   saturation f: blend with the image's grey (0.2989 R + 0.587 G + 0.114 B)
 *                 as f x + (1 - f) grey, clamped to [0, 1]
 *   hue d:        RGB -> HSV, h += d (mod 1), HSV -> RGB
 *
 * Brightness and contrast are dl_aug_jitter's (augment.c). Both need three
 * channels: on grey images there is no colour to change, so the batcher
 * refuses them rather than do nothing. */
#include "augment_internal.h"

#include <math.h>

static float dl_clamp01f(double v) { return v < 0 ? 0.0f : v > 1 ? 1.0f : (float)v; }

void dl_aug_saturation(float *x, int64_t hw, float factor)
{
    float *r = x, *g = x + hw, *b = x + 2 * hw;
    for (int64_t i = 0; i < hw; i++) {
        const double grey = 0.2989 * r[i] + 0.587 * g[i] + 0.114 * b[i];
        r[i] = dl_clamp01f(factor * r[i] + (1 - factor) * grey);
        g[i] = dl_clamp01f(factor * g[i] + (1 - factor) * grey);
        b[i] = dl_clamp01f(factor * b[i] + (1 - factor) * grey);
    }
}

void dl_aug_hue(float *x, int64_t hw, float shift)
{
    float *pr = x, *pg = x + hw, *pb = x + 2 * hw;
    for (int64_t i = 0; i < hw; i++) {
        const double r = pr[i], g = pg[i], b = pb[i];
        const double mx = fmax(r, fmax(g, b)), mn = fmin(r, fmin(g, b)), d = mx - mn;
        double h = 0;
        if (d > 0) {
            if (mx == r) h = fmod((g - b) / d, 6.0);
            else if (mx == g) h = (b - r) / d + 2;
            else h = (r - g) / d + 4;
            h /= 6;
        }
        h = fmod(h + shift + 2.0, 1.0);
        const double s = mx > 0 ? d / mx : 0, v = mx;
        const double h6 = h * 6, f = h6 - floor(h6);
        const double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
        double o[3];
        switch ((int)floor(h6) % 6) {
        case 0: o[0] = v, o[1] = t, o[2] = p; break;
        case 1: o[0] = q, o[1] = v, o[2] = p; break;
        case 2: o[0] = p, o[1] = v, o[2] = t; break;
        case 3: o[0] = p, o[1] = q, o[2] = v; break;
        case 4: o[0] = t, o[1] = p, o[2] = v; break;
        default: o[0] = v, o[1] = p, o[2] = q; break;
        }
        pr[i] = dl_clamp01f(o[0]), pg[i] = dl_clamp01f(o[1]), pb[i] = dl_clamp01f(o[2]);
    }
}
