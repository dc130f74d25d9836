/* augment_more.c — the transforms the SimCLR, ResNet and ViT recipes add,
 * each as torchvision defines it (torchvision/transforms/functional.py and
 * v2), on [c, h, w] float planes:
 *
 *   random_affine   RandomAffine.get_params: angle ~ U[-d, d], translation
 *                   round(U[-a W, a W]), round(U[-b H, b H]) (Python's round,
 *                   half to even), scale ~ U[lo, hi], x shear ~ U[-s, s];
 *                   the inverse matrix of _get_inverse_affine_matrix about the
 *                   centre, sampled as affine_grid + grid_sample (bilinear,
 *                   align_corners = False, zero padding), then multiplied by
 *                   the sampled coverage of the image (torchvision's fill = 0
 *                   path: img * mask + (1 - mask) * fill)
 *   random_grayscale  0.2989 R + 0.587 G + 0.114 B in all three channels
 *   gaussian_blur   sigma ~ U[lo, hi]; kernel exp(-x^2 / (2 sigma^2)) on
 *                   linspace(-(k-1)/2, (k-1)/2, k), normalized; separable,
 *                   reflect padding (the edge pixel not repeated)
 *   random_erasing  RandomErasing.get_params: up to 10 tries of an area
 *                   U[scale) h w and aspect exp(U[log ratio)), box height
 *                   round(sqrt(area aspect)), width round(sqrt(area / aspect)),
 *                   kept when height < h and width < w, at a uniform offset;
 *                   no box after 10 tries erases nothing; the box set to a
 *                   value or to N(0, 1) draws
 *
 * Sums are in double. The random draws are augment.c's generator, so they
 * depend on (seed, epoch, sample) only. */
#include "augment_internal.h"

#include <math.h>
#include <string.h>

#define DL_PI 3.14159265358979323846

static double dl_uniform_d(dl_rng *r, double lo, double hi) { return lo + (hi - lo) * dl_rng_uniform(r); }

void dl_aug_affine_params(dl_rng *r, const dl_augment_config *a, int64_t h, int64_t w, double p[5])
{
    p[0] = dl_uniform_d(r, -a->affine_deg, a->affine_deg);
    p[1] = p[2] = 0, p[3] = 1, p[4] = 0;
    if (a->affine_translate[0] > 0 || a->affine_translate[1] > 0) {
        const double mx = a->affine_translate[0] * (double)w, my = a->affine_translate[1] * (double)h;
        p[1] = nearbyint(dl_uniform_d(r, -mx, mx));
        p[2] = nearbyint(dl_uniform_d(r, -my, my));
    }
    if (a->affine_scale[1] > 0) p[3] = dl_uniform_d(r, a->affine_scale[0], a->affine_scale[1]);
    if (a->affine_shear > 0) p[4] = dl_uniform_d(r, -a->affine_shear, a->affine_shear);
}

void dl_aug_affine_matrix(const double p[5], double m[6])
{
    const double centre[2] = {0, 0}, translate[2] = {p[1], p[2]}, shear[2] = {p[4], 0};
    dl_aug_inverse_affine(centre, p[0], translate, p[3], shear, m);
}

void dl_aug_affine(float *x, int64_t c, int64_t h, int64_t w, const double p[5], float *tmp)
{
    double m[6];
    dl_aug_affine_matrix(p, m);
    const double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    memcpy(tmp, x, (size_t)(c * h * w) * sizeof *x);
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < w; j++) {
            const double u = j - cx, v = i - cy;
            const double sxp = m[0] * u + m[1] * v + m[2] + cx, syp = m[3] * u + m[4] * v + m[5] + cy;
            const double fy = floor(syp), fx = floor(sxp);
            const double ay = syp - fy, ax = sxp - fx;
            const double wgt[4] = {(1 - ay) * (1 - ax), (1 - ay) * ax, ay * (1 - ax), ay * ax};
            int64_t at[4];
            double cover = 0;
            for (int q = 0; q < 4; q++) {
                const double yy = fy + (q >> 1), xx = fx + (q & 1);
                at[q] = yy >= 0 && yy < h && xx >= 0 && xx < w ? (int64_t)yy * w + (int64_t)xx : -1;
                if (at[q] >= 0) cover += wgt[q];
            }
            for (int64_t k = 0; k < c; k++) {
                double acc = 0;
                for (int q = 0; q < 4; q++)
                    if (at[q] >= 0) acc += wgt[q] * tmp[k * h * w + at[q]];
                x[(k * h + i) * w + j] = (float)(acc * cover);
            }
        }
}

void dl_aug_grayscale(float *x, int64_t hw)
{
    for (int64_t i = 0; i < hw; i++) {
        const float g = (float)(0.2989 * x[i] + 0.587 * x[hw + i] + 0.114 * x[2 * hw + i]);
        x[i] = x[hw + i] = x[2 * hw + i] = g;
    }
}

/* Reflect padding's index: -1 -> 1, n -> n - 2 (needs k / 2 < n, checked by the batcher). */
static int64_t dl_reflect(int64_t i, int64_t n) { return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i; }

void dl_aug_blur(float *x, int64_t c, int64_t h, int64_t w, int kernel, double sigma, float *tmp)
{
    double kw[DL_AUG_MAX_BLUR_KERNEL], sum = 0;
    const int half = kernel / 2;
    for (int q = 0; q < kernel; q++) {
        const double t = (q - (kernel - 1) * 0.5) / sigma;
        sum += kw[q] = exp(-0.5 * t * t);
    }
    for (int q = 0; q < kernel; q++) kw[q] /= sum;
    for (int64_t k = 0; k < c; k++) {
        float *p = x + k * h * w;
        for (int64_t i = 0; i < h; i++)   /* rows into tmp */
            for (int64_t j = 0; j < w; j++) {
                double acc = 0;
                for (int q = 0; q < kernel; q++) acc += kw[q] * p[i * w + dl_reflect(j + q - half, w)];
                tmp[i * w + j] = (float)acc;
            }
        for (int64_t i = 0; i < h; i++)   /* columns back into x */
            for (int64_t j = 0; j < w; j++) {
                double acc = 0;
                for (int q = 0; q < kernel; q++) acc += kw[q] * tmp[dl_reflect(i + q - half, h) * w + j];
                p[i * w + j] = (float)acc;
            }
    }
}

int dl_aug_erase_box(dl_rng *r, int64_t h, int64_t w, const float scale[2], const float ratio[2], int64_t box[4])
{
    const double area = (double)h * w, lr0 = log(ratio[0]), lr1 = log(ratio[1]);
    for (int tries = 0; tries < 10; tries++) {
        const double target = area * dl_uniform_d(r, scale[0], scale[1]);
        const double aspect = exp(dl_uniform_d(r, lr0, lr1));
        const int64_t eh = (int64_t)nearbyint(sqrt(target * aspect)), ew = (int64_t)nearbyint(sqrt(target / aspect));
        if (!(eh < h && ew < w)) continue;
        box[0] = (int64_t)(dl_rng_next(r) % (uint64_t)(h - eh + 1));
        box[1] = (int64_t)(dl_rng_next(r) % (uint64_t)(w - ew + 1));
        box[2] = eh, box[3] = ew;
        return 1;
    }
    return 0;
}

void dl_aug_erase(float *x, int64_t c, int64_t h, int64_t w, const int64_t box[4], const dl_augment_config *a, dl_rng *r)
{
    for (int64_t k = 0; k < c; k++)
        for (int64_t i = box[0]; i < box[0] + box[2]; i++)
            for (int64_t j = box[1]; j < box[1] + box[3]; j++)
                x[(k * h + i) * w + j] = a->erase_random ? dl_rng_normal(r) : a->erase_value;
}
