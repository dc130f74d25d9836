/* augment_internal.h — the deterministic image transforms behind
 * dl_augment_config, with their parameters explicit (no random draws), so
 * tests can check each one on a tiny image by hand. Images are [c, h, w]
 * float planes; `tmp` holds c*h*w floats. Used by augment.c and its tests. */
#ifndef DLNRT_AUGMENT_INTERNAL_H
#define DLNRT_AUGMENT_INTERNAL_H
#include "dlnrt.h"

/* out(i, j) = in(i + dy, j + dx), 0 outside: a crop at offset (pad+dy, pad+dx) of the padded image. */
void dl_aug_shift(float *x, int64_t c, int64_t h, int64_t w, int64_t dy, int64_t dx, float *tmp);
void dl_aug_hflip(float *x, int64_t c, int64_t h, int64_t w);   /* mirror columns */
void dl_aug_vflip(float *x, int64_t c, int64_t h, int64_t w);   /* mirror rows */
/* Counter-clockwise by `degrees` about ((h-1)/2, (w-1)/2), bilinear, 0 outside. */
void dl_aug_rotate(float *x, int64_t c, int64_t h, int64_t w, double degrees, float *tmp);
/* Brightness then contrast factors (1 = unchanged), results clamped to [0, 1]. */
void dl_aug_jitter(float *x, int64_t n, float brightness, float contrast);
/* Zeroes the size x size square centred at (cy, cx) (top-left at cy - size/2), clipped. */
void dl_aug_cutout(float *x, int64_t c, int64_t h, int64_t w, int64_t cy, int64_t cx, int64_t size);
/* (x - mean[k]) / std[k] per channel k (one pair for all when channels == 1). */
void dl_aug_normalize(float *x, int64_t c, int64_t hw, const dl_augment_config *a);
/* A Beta(alpha, alpha) draw (ratio of two gamma draws). */
float dl_aug_beta(dl_rng *r, float alpha);
/* The per-sample generator: a pure function of (seed, epoch, sample, stream). */
void dl_aug_rng(dl_rng *r, uint64_t seed, int64_t epoch, int64_t sample, int stream);

/* random_resized_crop (augment_resized.c): the box [top, left, height,
 * width] drawn as torchvision's RandomResizedCrop.get_params; and the box
 * resized back to h x w, bilinear with half-pixel centres. */
void dl_aug_resized_box(dl_rng *r, int64_t h, int64_t w, const float scale[2], const float ratio[2], int64_t box[4]);
void dl_aug_resize_box(float *x, int64_t c, int64_t h, int64_t w, const int64_t box[4], float *tmp);
/* Saturation factor and hue shift (in turns) of a [3, h, w] RGB image (augment_color.c). */
void dl_aug_saturation(float *x, int64_t hw, float factor);
void dl_aug_hue(float *x, int64_t hw, float shift);
/* CutMix (augment_cutmix.c): the box [top, left, height, width] for lambda,
 * and src's box copied into dst. */
void dl_aug_cutmix_box(dl_rng *r, int64_t h, int64_t w, float lambda, int64_t box[4]);
void dl_aug_paste(float *dst, const float *src, int64_t c, int64_t h, int64_t w, const int64_t box[4]);

/* augment_more.c: random_affine's parameters {angle, tx, ty, scale, shear}
 * drawn as RandomAffine.get_params and the affine map applied; grey in
 * all three channels of an RGB image; the Gaussian blur for one sigma
 * (kernel odd, <= DL_AUG_MAX_BLUR_KERNEL); random_erasing's box (0: none in 10
 * tries) and the box erased (value or N(0, 1) draws from r). */

void dl_aug_affine_params(dl_rng *r, const dl_augment_config *a, int64_t h, int64_t w, double p[5]);
void dl_aug_affine(float *x, int64_t c, int64_t h, int64_t w, const double p[5], float *tmp);
void dl_aug_grayscale(float *x, int64_t hw);
void dl_aug_blur(float *x, int64_t c, int64_t h, int64_t w, int kernel, double sigma, float *tmp);
int dl_aug_erase_box(dl_rng *r, int64_t h, int64_t w, const float scale[2], const float ratio[2], int64_t box[4]);
void dl_aug_erase(float *x, int64_t c, int64_t h, int64_t w, const int64_t box[4], const dl_augment_config *a, dl_rng *r);

/* augment_tone.c: solarize, posterize (float branch), autocontrast and
 * equalize (on the uint8 quantization) of torchvision's v2 functional API. */
void dl_aug_solarize(float *x, int64_t n, float threshold);
void dl_aug_posterize(float *x, int64_t n, int bits);
void dl_aug_autocontrast(float *x, int64_t c, int64_t hw);
void dl_aug_equalize(float *x, int64_t c, int64_t hw);

void dl_aug_affine_matrix(const double p[5], double m[6]);   /* dl_aug_affine's inverse map, for dl_aug_mask_map */
void dl_aug_rotate_matrix(double degrees, double m[6]);      /* dl_aug_rotate's */

/* augment_mask.c: the geometric transforms on a class-id mask i32[h, w],
 * nearest-neighbour, `fill` where the map leaves the image; tmp holds h*w ids. */
typedef struct dl_aug_mask {
    int32_t *ids;                         /* [h, w] class ids, moved in place */
    int32_t fill;                         /* for pixels from outside the image (the ignore_index) */
    int32_t *tmp;                         /* h*w scratch */
} dl_aug_mask;
void dl_aug_mask_shift(int32_t *m, int64_t h, int64_t w, int64_t dy, int64_t dx, int32_t fill, int32_t *tmp);
void dl_aug_mask_flip(int32_t *m, int64_t h, int64_t w, int horizontal);
/* The source pixel (row-major index) of output pixel (i, j) under the inverse
 * map M in centre-relative coordinates (torchvision's affine grid): (sx, sy) =
 * M (j - cx, i - cy) + (M[2], M[5]) + (cx, cy), c = (size - 1) / 2, rounded
 * half to even (grid_sample's nearest); -1 outside the image. */
int64_t dl_aug_map_source(const double M[6], int64_t h, int64_t w, int64_t i, int64_t j);
void dl_aug_mask_map(int32_t *m, int64_t h, int64_t w, const double M[6], int32_t fill, int32_t *tmp);
void dl_aug_mask_resize_box(int32_t *m, int64_t h, int64_t w, const int64_t box[4], int32_t *tmp);

/* augment_rand.c: rand_augment, torchvision's RandAugment. Its ops in
 * torchvision's order; dl_aug_rand_op draws one and its signed magnitude (m:
 * the bin of DL_RA_BINS); dl_aug_rand_matrix gives a geometric op's inverse
 * map (0: not geometric); dl_aug_rand_apply applies an op to x. */
enum {
    DL_RA_IDENTITY, DL_RA_SHEAR_X, DL_RA_SHEAR_Y, DL_RA_TRANSLATE_X, DL_RA_TRANSLATE_Y, DL_RA_ROTATE,
    DL_RA_BRIGHTNESS, DL_RA_COLOR, DL_RA_CONTRAST, DL_RA_SHARPNESS, DL_RA_POSTERIZE, DL_RA_SOLARIZE,
    DL_RA_AUTOCONTRAST, DL_RA_EQUALIZE, DL_RA_OPS
};
#define DL_RA_BINS 31
int dl_aug_rand_op(dl_rng *r, int m, int64_t h, int64_t w, double *magnitude);
int dl_aug_rand_matrix(int op, double magnitude, int64_t h, int64_t w, double M[6]);
void dl_aug_rand_apply(float *x, int64_t c, int64_t h, int64_t w, int op, double magnitude, float *tmp);
/* a->ra_ops ops on x, the geometric ones on a dense label y[yc, h, w] (y !=
 * NULL) and a class-id mask (mk != NULL) too, nearest. */
void dl_aug_rand_augment(const dl_augment_config *a, float *x, int64_t c, int64_t h, int64_t w, float *y, int64_t yc,
                         const dl_aug_mask *mk, dl_rng *r, float *tmp);
/* _get_inverse_affine_matrix(center, angle, translate, scale, shear): the
 * inverse map for dl_aug_map_source; angles in degrees, shear (x, y). */
void dl_aug_inverse_affine(const double center[2], double angle, const double translate[2], double scale,
                           const double shear[2], double m[6]);
/* Nearest-neighbour sampling of x through the inverse map M, 0 outside. */
void dl_aug_nearest_map(float *x, int64_t c, int64_t h, int64_t w, const double M[6], float *tmp);
/* adjust_sharpness(factor): blend with the 3x3 smoothing of the interior. */
void dl_aug_sharpness(float *x, int64_t c, int64_t h, int64_t w, double factor, float *tmp);

/* All the per-sample random transforms before normalization, on x[c, h, w]
 * and (when y != NULL) the geometric ones on a dense label y[yc, h, w] too,
 * bilinear as the image's; (when mk != NULL) on a class-id mask, nearest. */
void dl_augment_sample(const dl_augment_config *a, float *x, int64_t c, int64_t h, int64_t w, float *y, int64_t yc,
                       const dl_aug_mask *mk, dl_rng *r, float *tmp);
/* One view of a sample, draws from (seed, epoch, sample, view): with `augment`
 * dl_augment_sample, then normalization, then (augment) cutout and erasing. */
void dl_aug_view(const dl_augment_config *a, int augment, uint64_t seed, int64_t epoch, int64_t sample, int view,
                 float *x, int64_t c, int64_t h, int64_t w, float *y, int64_t yc, const dl_aug_mask *mk, float *tmp);
/* Whether a changes anything in this mode (augment 0: normalization only). */
int dl_aug_active(const dl_augment_config *a, int augment);
/* The checks a (active) must pass for images [c, h, w] (image 0: flat
 * samples): -1 with the error set when one fails. */
int dl_aug_check(const dl_augment_config *a, int augment, int64_t c, int64_t h, int64_t w, int image);
/* The batcher's hook: transforms the gathered samples idx[0..m) in b's
 * buffers; returns the labels to hand out (b->ybuf, or the one-hot rows). */
const void *dl_aug_batch(dl_batcher *b, const int64_t *idx, int64_t m);
#endif
