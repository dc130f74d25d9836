/* augment_rand.c — rand_augment(n, m): torchvision's RandAugment
 * (transforms.v2.RandAugment, num_magnitude_bins = 31, interpolation
 * NEAREST, fill 0) on a float image [c, h, w] in [0, 1].
 *
 * n times: an op drawn uniformly from the 14 below (torchvision's order);
 * its magnitude the m-th of 31 bins (torch.linspace in float32); a signed
 * op's magnitude negated with probability 1/2 (torch.rand() <= 0.5); then
 *
 *   Identity
 *   ShearX, ShearY  linspace(0, 0.3): F.affine(shear = degrees(atan(mag))
 *                   along x or y, center = [0, 0]: about the top-left corner)
 *   TranslateX/Y    linspace(0, 150/331 * W or H): F.affine(translate =
 *                   int(mag), truncated towards 0)
 *   Rotate          linspace(0, 30) degrees: F.rotate (counter-clockwise about
 *                   the centre)
 *   Brightness      linspace(0, 0.9): clamp((1 + mag) x)
 *   Color           linspace(0, 0.9): adjust_saturation(1 + mag) (RGB only;
 *                   other images unchanged, as torchvision's for 1 channel)
 *   Contrast        linspace(0, 0.9): blend with the mean of the grey image
 *                   (0.2989 R + 0.587 G + 0.114 B; of the image when not RGB)
 *   Sharpness       linspace(0, 0.9): blend with the 3x3 [1 1 1; 1 5 1; 1 1 1]
 *                   / 13 blur of the interior pixels (borders kept), factor
 *                   1 + mag; images of side <= 2 unchanged
 *   Posterize       8 - round(i / 7.5) bits (v2's float branch, augment_tone.c)
 *   Solarize        linspace(1, 0): threshold = mag (v2: bound * mag, bound 1)
 *   AutoContrast, Equalize   augment_tone.c's (equalize on the uint8 quantization)
 *
 * Blends clamp to [0, 1]. The geometric ops sample nearest-neighbour (0 from
 * outside the image), through the inverse affine matrix of
 * _get_inverse_affine_matrix; the matrix is in double where torchvision's
 * grid is float32, so a source position exactly halfway between two pixels
 * may round the other way. A dense mask label follows the geometric ops with
 * the same maps, nearest, 0 outside; a class-id mask (images(masks = ...))
 * too, ignore_index outside (augment_mask.c). */
#include "augment_internal.h"

#include <math.h>
#include <string.h>

#define DL_PI 3.14159265358979323846

/* torch.linspace(lo, hi, 31)[m] in float32 (torch steps from both ends) */
static double dl_ra_bin(float lo, float hi, int m)
{
    const int n = DL_RA_BINS;
    const float step = (hi - lo) / (float)(n - 1);
    return m < n / 2 ? (double)(lo + step * (float)m) : (double)(hi - step * (float)(n - 1 - m));
}

void dl_aug_inverse_affine(const double center[2], double angle, const double translate[2], double scale,
                           const double shear[2], double m[6])
{
    const double rot = angle * DL_PI / 180, sx = shear[0] * DL_PI / 180, sy = shear[1] * DL_PI / 180;
    const double a = cos(rot - sy) / cos(sy), b = -cos(rot - sy) * tan(sx) / cos(sy) - sin(rot);
    const double c = sin(rot - sy) / cos(sy), d = -sin(rot - sy) * tan(sx) / cos(sy) + cos(rot);
    m[0] = d / scale, m[1] = -b / scale, m[3] = -c / scale, m[4] = a / scale;
    m[2] = m[0] * (-center[0] - translate[0]) + m[1] * (-center[1] - translate[1]) + center[0];
    m[5] = m[3] * (-center[0] - translate[0]) + m[4] * (-center[1] - translate[1]) + center[1];
}

void dl_aug_nearest_map(float *x, int64_t c, int64_t h, int64_t w, const double M[6], float *tmp)
{
    memcpy(tmp, x, (size_t)(c * h * w) * sizeof *x);
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < w; j++) {
            const int64_t at = dl_aug_map_source(M, h, w, i, j);
            for (int64_t k = 0; k < c; k++) x[(k * h + i) * w + j] = at >= 0 ? tmp[k * h * w + at] : 0.0f;
        }
}

static float dl_ra_clamp(double v) { return v < 0 ? 0.0f : v > 1 ? 1.0f : (float)v; }

static void dl_ra_blend(float *x, int64_t n, const float *other, double other_value, double factor)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = dl_ra_clamp(factor * x[i] + (1 - factor) * (other ? other[i] : other_value));
}

void dl_aug_sharpness(float *x, int64_t c, int64_t h, int64_t w, double factor, float *tmp)
{
    if (h <= 2 || w <= 2) return;
    memcpy(tmp, x, (size_t)(c * h * w) * sizeof *x);
    for (int64_t k = 0; k < c; k++)
        for (int64_t i = 1; i < h - 1; i++)
            for (int64_t j = 1; j < w - 1; j++) {
                const float *p = tmp + (k * h + i) * w + j;
                const double blur = (p[-w - 1] + p[-w] + p[-w + 1] + p[-1] + 5.0 * p[0] + p[1] + p[w - 1] + p[w] +
                                     p[w + 1]) / 13.0;
                x[(k * h + i) * w + j] = dl_ra_clamp(p[0] + (1 - factor) * (blur - p[0]));
            }
}

/* The mean of the grey image of an RGB x, or of x. */
static double dl_ra_grey_mean(const float *x, int64_t c, int64_t hw)
{
    double s = 0;
    if (c == 3)
        for (int64_t i = 0; i < hw; i++) s += (float)(0.2989 * x[i] + 0.587 * x[hw + i] + 0.114 * x[2 * hw + i]);
    else
        for (int64_t i = 0; i < c * hw; i++) s += x[i];
    return s / (double)(c == 3 ? hw : c * hw);
}

int dl_aug_rand_op(dl_rng *r, int m, int64_t h, int64_t w, double *magnitude)
{
    const int op = (int)(dl_rng_next(r) % DL_RA_OPS);
    double mag = 0;
    int is_signed = 1;
    switch (op) {
    case DL_RA_SHEAR_X: case DL_RA_SHEAR_Y: mag = dl_ra_bin(0.0f, 0.3f, m); break;
    case DL_RA_TRANSLATE_X: mag = dl_ra_bin(0.0f, (float)(150.0 / 331.0 * (double)w), m); break;
    case DL_RA_TRANSLATE_Y: mag = dl_ra_bin(0.0f, (float)(150.0 / 331.0 * (double)h), m); break;
    case DL_RA_ROTATE: mag = dl_ra_bin(0.0f, 30.0f, m); break;
    case DL_RA_BRIGHTNESS: case DL_RA_COLOR: case DL_RA_CONTRAST: case DL_RA_SHARPNESS:
        mag = dl_ra_bin(0.0f, 0.9f, m);
        break;
    case DL_RA_POSTERIZE: mag = nearbyint(8 - (float)m / (float)((DL_RA_BINS - 1) / 4.0)), is_signed = 0; break;
    case DL_RA_SOLARIZE: mag = dl_ra_bin(1.0f, 0.0f, m), is_signed = 0; break;
    default: is_signed = 0; break;   /* Identity, AutoContrast, Equalize: no magnitude */
    }
    if (is_signed && dl_rng_uniform(r) <= 0.5) mag = -mag;
    *magnitude = mag;
    return op;
}

int dl_aug_rand_matrix(int op, double mag, int64_t h, int64_t w, double M[6])
{
    const double corner[2] = {-0.5 * (double)w, -0.5 * (double)h}, zero[2] = {0, 0};
    const double shear_deg = atan(mag) * 180 / DL_PI;
    switch (op) {
    case DL_RA_SHEAR_X: dl_aug_inverse_affine(corner, 0, zero, 1, (const double[2]){shear_deg, 0}, M); return 1;
    case DL_RA_SHEAR_Y: dl_aug_inverse_affine(corner, 0, zero, 1, (const double[2]){0, shear_deg}, M); return 1;
    case DL_RA_TRANSLATE_X: dl_aug_inverse_affine(zero, 0, (const double[2]){trunc(mag), 0}, 1, zero, M); return 1;
    case DL_RA_TRANSLATE_Y: dl_aug_inverse_affine(zero, 0, (const double[2]){0, trunc(mag)}, 1, zero, M); return 1;
    case DL_RA_ROTATE: dl_aug_inverse_affine(zero, -mag, zero, 1, zero, M); return 1;
    default: return 0;
    }
}

void dl_aug_rand_apply(float *x, int64_t c, int64_t h, int64_t w, int op, double mag, float *tmp)
{
    const int64_t hw = h * w;
    double M[6];
    if (dl_aug_rand_matrix(op, mag, h, w, M)) {
        dl_aug_nearest_map(x, c, h, w, M, tmp);
        return;
    }
    switch (op) {
    case DL_RA_BRIGHTNESS: dl_ra_blend(x, c * hw, NULL, 0.0, 1 + mag); break;
    case DL_RA_COLOR:
        if (c != 3) break;
        for (int64_t i = 0; i < hw; i++) tmp[i] = (float)(0.2989 * x[i] + 0.587 * x[hw + i] + 0.114 * x[2 * hw + i]);
        for (int k = 0; k < 3; k++) dl_ra_blend(x + k * hw, hw, tmp, 0.0, 1 + mag);
        break;
    case DL_RA_CONTRAST: dl_ra_blend(x, c * hw, NULL, dl_ra_grey_mean(x, c, hw), 1 + mag); break;
    case DL_RA_SHARPNESS: dl_aug_sharpness(x, c, h, w, 1 + mag, tmp); break;
    case DL_RA_POSTERIZE: dl_aug_posterize(x, c * hw, (int)mag); break;
    case DL_RA_SOLARIZE: dl_aug_solarize(x, c * hw, (float)mag); break;
    case DL_RA_AUTOCONTRAST: dl_aug_autocontrast(x, c, hw); break;
    case DL_RA_EQUALIZE: dl_aug_equalize(x, c, hw); break;
    default: break;   /* Identity */
    }
}

void dl_aug_rand_augment(const dl_augment_config *a, float *x, int64_t c, int64_t h, int64_t w, float *y, int64_t yc,
                         const dl_aug_mask *mk, dl_rng *r, float *tmp)
{
    for (int t = 0; t < a->ra_ops; t++) {
        double mag, M[6];
        const int op = dl_aug_rand_op(r, a->ra_magnitude, h, w, &mag);
        dl_aug_rand_apply(x, c, h, w, op, mag, tmp);
        if (!dl_aug_rand_matrix(op, mag, h, w, M)) continue;
        if (y) dl_aug_nearest_map(y, yc, h, w, M, tmp);
        if (mk) dl_aug_mask_map(mk->ids, h, w, M, mk->fill, mk->tmp);
    }
}
