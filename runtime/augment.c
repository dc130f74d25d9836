/* augment.c — data augmentation in the batcher.
 *
 * Each transform is a small deterministic function of its parameters
 * (dl_aug_shift, dl_aug_rotate, ...; see augment_internal.h); the random part
 * is only in choosing those parameters, from a generator that is a pure
 * function of (seed, epoch, sample index, stream). So a sample looks the same
 * in a given epoch whatever the thread count, batch position or OpenMP
 * schedule, and the loop over a batch's samples is parallel without locks.
 *
 * Per batch (dl_aug_batch, called by dl_batcher_next after gathering):
 *   per sample: [train] resized crop, crop, flips, rotation, affine map,
 *     rand_augment (these also move a dense label of the image's size, i.e.
 *     a mask, or a class-id mask, nearest: augment_mask.c),
 *     brightness, contrast, saturation, hue, grayscale, solarize, posterize,
 *     autocontrast, equalize, blur, noise;
 *     then normalization; [train] cutout, erasing;
 *   class labels → one-hot rows when the model wants dense labels;
 *   [train] mixup: every sample is blended with a random partner from the
 *     same (already augmented) batch, labels alike; or CutMix: a box of the
 *     partner pasted in, labels mixed by area (augment_cutmix.c).
 * The order is fixed (documented in dlnrt.h) rather than the order a user
 * lists transforms in: one canonical pipeline is easier to reason about and
 * it is the order the common recipes use. */
#include "augment_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t dl_aug_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void dl_aug_rng(dl_rng *r, uint64_t seed, int64_t epoch, int64_t sample, int stream)
{
    uint64_t k = dl_aug_mix(seed ^ 0xA11CE5EEDULL);
    k = dl_aug_mix(k ^ (uint64_t)epoch);
    k = dl_aug_mix(k ^ (uint64_t)sample);
    dl_rng_seed(r, k ^ (uint64_t)stream * 0x9E3779B97F4A7C15ULL);
}

/* ---- the transforms ---------------------------------------------------------- */

void dl_aug_shift(float *x, int64_t c, int64_t h, int64_t w, int64_t dy, int64_t dx, float *tmp)
{
    memcpy(tmp, x, (size_t)(c * h * w) * sizeof *x);
    for (int64_t k = 0; k < c; k++)
        for (int64_t i = 0; i < h; i++)
            for (int64_t j = 0; j < w; j++) {
                int64_t si = i + dy, sj = j + dx;
                x[(k * h + i) * w + j] = si >= 0 && si < h && sj >= 0 && sj < w ? tmp[(k * h + si) * w + sj] : 0.0f;
            }
}

void dl_aug_hflip(float *x, int64_t c, int64_t h, int64_t w)
{
    for (int64_t r = 0; r < c * h; r++)
        for (int64_t j = 0; j < w / 2; j++) {
            float t = x[r * w + j];
            x[r * w + j] = x[r * w + w - 1 - j];
            x[r * w + w - 1 - j] = t;
        }
}

void dl_aug_vflip(float *x, int64_t c, int64_t h, int64_t w)
{
    for (int64_t k = 0; k < c; k++)
        for (int64_t i = 0; i < h / 2; i++)
            for (int64_t j = 0; j < w; j++) {
                float *a = &x[(k * h + i) * w + j], *b = &x[(k * h + h - 1 - i) * w + j];
                float t = *a;
                *a = *b;
                *b = t;
            }
}

/* Each output pixel samples the input at the inversely rotated position
 * (image rows grow downwards, so "counter-clockwise on screen" flips the
 * sign of the row term). Corners outside the image contribute 0. */
void dl_aug_rotate(float *x, int64_t c, int64_t h, int64_t w, double degrees, float *tmp)
{
    const double th = degrees * 3.14159265358979323846 / 180.0, cs = cos(th), sn = sin(th);
    const double cy = (h - 1) / 2.0, cx = (w - 1) / 2.0;
    memcpy(tmp, x, (size_t)(c * h * w) * sizeof *x);
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < w; j++) {
            const double u = j - cx, v = i - cy;
            const double sx = cs * u - sn * v + cx, sy = sn * u + cs * v + cy;
            const double fy = floor(sy), fx = floor(sx);
            const int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
            const double ay = sy - fy, ax = sx - fx;
            const double wgt[4] = {(1 - ay) * (1 - ax), (1 - ay) * ax, ay * (1 - ax), ay * ax};
            const int64_t ys[4] = {y0, y0, y0 + 1, y0 + 1}, xs[4] = {x0, x0 + 1, x0, x0 + 1};
            for (int64_t k = 0; k < c; k++) {
                double acc = 0;
                for (int q = 0; q < 4; q++)
                    if (ys[q] >= 0 && ys[q] < h && xs[q] >= 0 && xs[q] < w && wgt[q] > 1e-12)
                        acc += wgt[q] * tmp[(k * h + ys[q]) * w + xs[q]];
                x[(k * h + i) * w + j] = (float)acc;
            }
        }
}

static float dl_clamp01(float v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

void dl_aug_jitter(float *x, int64_t n, float brightness, float contrast)
{
    if (brightness != 1.0f)
        for (int64_t i = 0; i < n; i++) x[i] = dl_clamp01(x[i] * brightness);
    if (contrast != 1.0f) {
        double mean = 0;
        for (int64_t i = 0; i < n; i++) mean += x[i];
        mean /= n;
        for (int64_t i = 0; i < n; i++) x[i] = dl_clamp01((float)(mean + contrast * (x[i] - mean)));
    }
}

void dl_aug_cutout(float *x, int64_t c, int64_t h, int64_t w, int64_t cy, int64_t cx, int64_t size)
{
    int64_t y0 = cy - size / 2, x0 = cx - size / 2;
    int64_t y1 = y0 + size, x1 = x0 + size;
    if (y0 < 0) y0 = 0;
    if (x0 < 0) x0 = 0;
    if (y1 > h) y1 = h;
    if (x1 > w) x1 = w;
    for (int64_t k = 0; k < c; k++)
        for (int64_t i = y0; i < y1; i++)
            for (int64_t j = x0; j < x1; j++) x[(k * h + i) * w + j] = 0.0f;
}

void dl_aug_normalize(float *x, int64_t c, int64_t hw, const dl_augment_config *a)
{
    for (int64_t k = 0; k < c; k++) {
        const int q = a->norm_channels == 1 ? 0 : (int)k;
        const float m = a->norm_mean[q], inv = 1.0f / a->norm_std[q];
        for (int64_t i = 0; i < hw; i++) x[k * hw + i] = (x[k * hw + i] - m) * inv;
    }
}

/* Gamma(a, 1): Marsaglia and Tsang's method; a < 1 through Gamma(a + 1) * U^(1/a). */
static double dl_aug_gamma(dl_rng *r, double a)
{
    if (a < 1) {
        double u = dl_rng_uniform(r);
        return dl_aug_gamma(r, a + 1) * pow(u, 1.0 / a);
    }
    const double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double z = dl_rng_normal(r), v = 1 + c * z;
        if (v <= 0) continue;
        v = v * v * v;
        double u = dl_rng_uniform(r);
        if (u < 1 - 0.0331 * z * z * z * z || log(u) < 0.5 * z * z + d * (1 - v + log(v))) return d * v;
    }
}

float dl_aug_beta(dl_rng *r, float alpha)
{
    double g1 = dl_aug_gamma(r, alpha), g2 = dl_aug_gamma(r, alpha);
    return g1 + g2 > 0 ? (float)(g1 / (g1 + g2)) : 0.5f;
}

/* ---- one sample --------------------------------------------------------------- */

static float dl_uniform_in(dl_rng *r, float lo, float hi) { return lo + (hi - lo) * dl_rng_uniform(r); }

void dl_augment_sample(const dl_augment_config *a, float *x, int64_t c, int64_t h, int64_t w, float *y, int64_t yc,
                       const dl_aug_mask *mk, dl_rng *r, float *tmp)
{
    if (a->rrc_scale[1] > 0) {
        int64_t box[4];
        dl_aug_resized_box(r, h, w, a->rrc_scale, a->rrc_ratio, box);
        dl_aug_resize_box(x, c, h, w, box, tmp);
        if (y) dl_aug_resize_box(y, yc, h, w, box, tmp);
        if (mk) dl_aug_mask_resize_box(mk->ids, h, w, box, mk->tmp);
    }
    if (a->crop_pad > 0) {
        const uint64_t span = 2 * (uint64_t)a->crop_pad + 1;
        int64_t dy = (int64_t)(dl_rng_next(r) % span) - a->crop_pad, dx = (int64_t)(dl_rng_next(r) % span) - a->crop_pad;
        dl_aug_shift(x, c, h, w, dy, dx, tmp);
        if (y) dl_aug_shift(y, yc, h, w, dy, dx, tmp);
        if (mk) dl_aug_mask_shift(mk->ids, h, w, dy, dx, mk->fill, mk->tmp);
    }
    if (a->hflip > 0 && dl_rng_uniform(r) < a->hflip) {
        dl_aug_hflip(x, c, h, w);
        if (y) dl_aug_hflip(y, yc, h, w);
        if (mk) dl_aug_mask_flip(mk->ids, h, w, 1);
    }
    if (a->vflip > 0 && dl_rng_uniform(r) < a->vflip) {
        dl_aug_vflip(x, c, h, w);
        if (y) dl_aug_vflip(y, yc, h, w);
        if (mk) dl_aug_mask_flip(mk->ids, h, w, 0);
    }
    if (a->rotate_deg > 0) {
        double deg = dl_uniform_in(r, -a->rotate_deg, a->rotate_deg);
        dl_aug_rotate(x, c, h, w, deg, tmp);
        if (y) dl_aug_rotate(y, yc, h, w, deg, tmp);
        if (mk) {
            double M[6];
            dl_aug_rotate_matrix(deg, M);
            dl_aug_mask_map(mk->ids, h, w, M, mk->fill, mk->tmp);
        }
    }
    if (a->affine) {
        double p[5];
        dl_aug_affine_params(r, a, h, w, p);
        dl_aug_affine(x, c, h, w, p, tmp);
        if (y) dl_aug_affine(y, yc, h, w, p, tmp);
        if (mk) {
            double M[6];
            dl_aug_affine_matrix(p, M);
            dl_aug_mask_map(mk->ids, h, w, M, mk->fill, mk->tmp);
        }
    }
    if (a->ra_ops > 0) dl_aug_rand_augment(a, x, c, h, w, y, yc, mk, r, tmp);
    float bf = 1.0f, cf = 1.0f;
    if (a->brightness > 0) bf = dl_uniform_in(r, a->brightness < 1 ? 1 - a->brightness : 0, 1 + a->brightness);
    if (a->contrast > 0) cf = dl_uniform_in(r, a->contrast < 1 ? 1 - a->contrast : 0, 1 + a->contrast);
    dl_aug_jitter(x, c * h * w, bf, cf);
    /* colour needs RGB: dl_batcher_set_augment refuses other images */
    if (a->saturation > 0 && c == 3)
        dl_aug_saturation(x, h * w, dl_uniform_in(r, a->saturation < 1 ? 1 - a->saturation : 0, 1 + a->saturation));
    if (a->hue > 0 && c == 3) dl_aug_hue(x, h * w, dl_uniform_in(r, -a->hue, a->hue));
    if (a->gray_p > 0 && c == 3 && dl_rng_uniform(r) < a->gray_p) dl_aug_grayscale(x, h * w);
    if (a->solarize_p > 0 && dl_rng_uniform(r) < a->solarize_p) dl_aug_solarize(x, c * h * w, a->solarize_threshold);
    if (a->posterize_p > 0 && dl_rng_uniform(r) < a->posterize_p) dl_aug_posterize(x, c * h * w, a->posterize_bits);
    if (a->autocontrast_p > 0 && dl_rng_uniform(r) < a->autocontrast_p) dl_aug_autocontrast(x, c, h * w);
    if (a->equalize_p > 0 && dl_rng_uniform(r) < a->equalize_p) dl_aug_equalize(x, c, h * w);
    if (a->blur_kernel > 0 && dl_rng_uniform(r) < a->blur_p)
        dl_aug_blur(x, c, h, w, a->blur_kernel, dl_uniform_in(r, a->blur_sigma[0], a->blur_sigma[1]), tmp);
    if (a->noise_std > 0)
        for (int64_t i = 0; i < c * h * w; i++) x[i] += a->noise_std * dl_rng_normal(r);
}

/* ---- the batcher's side -------------------------------------------------------- */

/* The image geometry of one sample: [C, H, W], [H, W] (C = 1) or flat (1, 1, n). */
static void dl_aug_geometry(const dl_dataset *d, int64_t *c, int64_t *h, int64_t *w)
{
    if (d->x_rank >= 3) *c = d->x_shape[d->x_rank - 3], *h = d->x_shape[d->x_rank - 2], *w = d->x_shape[d->x_rank - 1];
    else if (d->x_rank == 2) *c = 1, *h = d->x_shape[0], *w = d->x_shape[1];
    else *c = 1, *h = 1, *w = d->x_numel;
    if (*c * *h * *w != d->x_numel) *c = d->x_numel / (*h * *w);   /* leading dims beyond C fold into it */
}

/* Whether aug changes anything in this mode (an all-zero config costs nothing). */
int dl_aug_active(const dl_augment_config *a, int augment)
{
    if (!a) return 0;
    if (a->norm_channels > 0) return 1;
    return augment && (a->crop_pad > 0 || a->hflip > 0 || a->vflip > 0 || a->rotate_deg > 0 || a->brightness > 0 ||
                       a->contrast > 0 || a->noise_std > 0 || (a->cutout_size > 0 && a->cutout_count > 0) ||
                       a->mixup_alpha > 0 || a->rrc_scale[1] > 0 || a->saturation > 0 || a->hue > 0 ||
                       a->cutmix_alpha > 0 || a->affine || a->gray_p > 0 || a->blur_kernel > 0 || a->erase_p > 0 ||
                       a->solarize_p > 0 || a->posterize_p > 0 || a->autocontrast_p > 0 || a->equalize_p > 0 ||
                       a->ra_ops > 0);
}

int dl_aug_check(const dl_augment_config *aug, int augment, int64_t c, int64_t h, int64_t w, int image)
{
    if (augment) {
        int spatial = aug->crop_pad > 0 || aug->hflip > 0 || aug->vflip > 0 || aug->rotate_deg > 0 ||
                      aug->cutout_size > 0 || aug->rrc_scale[1] > 0 || aug->cutmix_alpha > 0 || aug->affine ||
                      aug->blur_kernel > 0 || aug->erase_p > 0 || aug->ra_ops > 0;
        if (spatial && (!image || h < 2 || w < 2)) {
            dl_set_error("augment: crops, flips, rotation, affine maps, blur, cutout, erasing, cutmix and rand_augment need "
                         "images, but samples have %lld flat values", (long long)(c * h * w));
            return -1;
        }
        if (aug->blur_kernel > 0 && (aug->blur_kernel % 2 == 0 || aug->blur_kernel > DL_AUG_MAX_BLUR_KERNEL)) {
            dl_set_error("augment: gaussian_blur's kernel %d must be odd and at most %d", aug->blur_kernel,
                         DL_AUG_MAX_BLUR_KERNEL);
            return -1;
        }
        if (aug->blur_kernel > 0 && (aug->blur_kernel / 2 >= h || aug->blur_kernel / 2 >= w)) {
            dl_set_error("augment: gaussian_blur's kernel %d is too large for these %lldx%lld images: reflect padding "
                         "needs kernel <= %lld", aug->blur_kernel, (long long)h, (long long)w,
                         (long long)(2 * (h < w ? h : w) - 1));
            return -1;
        }
        if (aug->blur_kernel > 0 && !(aug->blur_sigma[0] > 0 && aug->blur_sigma[0] <= aug->blur_sigma[1])) {
            dl_set_error("augment: gaussian_blur's sigma must be (lo, hi) with 0 < lo <= hi");
            return -1;
        }
        if (aug->erase_p > 0 && !(aug->erase_scale[0] <= aug->erase_scale[1] && aug->erase_ratio[0] > 0 &&
                                  aug->erase_ratio[0] <= aug->erase_ratio[1])) {
            dl_set_error("augment: random_erasing's scale and ratio must be ranges (lo, hi), ratio above 0");
            return -1;
        }
        if (aug->ra_ops > 0 && (aug->ra_ops > 16 || aug->ra_magnitude < 0 || aug->ra_magnitude >= DL_RA_BINS)) {
            dl_set_error("augment: rand_augment takes n from 1 to 16 ops and a magnitude m from 0 to %d, not n = %d, "
                         "m = %d", DL_RA_BINS - 1, aug->ra_ops, aug->ra_magnitude);
            return -1;
        }
        if (aug->posterize_p > 0 && (aug->posterize_bits < 1 || aug->posterize_bits > 8)) {
            dl_set_error("augment: posterize keeps 1 to 8 bits, not %d", aug->posterize_bits);
            return -1;
        }
        if (aug->gray_p > 0 && c != 3) {
            dl_set_error("augment: random_grayscale turns RGB images grey, but these have %lld channel%s",
                         (long long)c, c == 1 ? "" : "s");
            return -1;
        }
        if ((aug->saturation > 0 || aug->hue > 0) && c != 3) {
            dl_set_error("augment: color_jitter's saturation and hue change the colours of RGB images, but these have "
                         "%lld channel%s; use brightness and contrast only", (long long)c, c == 1 ? "" : "s");
            return -1;
        }
    }
    if (aug->norm_channels > 1 && aug->norm_channels != c) {
        dl_set_error("augment: normalize gives %d means/stds but the images have %lld channel%s", aug->norm_channels,
                     (long long)c, c == 1 ? "" : "s");
        return -1;
    }
    for (int k = 0; k < aug->norm_channels && k < DL_AUG_MAX_CHANNELS; k++)
        if (!(aug->norm_std[k] > 0)) {
            dl_set_error("augment: normalize std[%d] = %g must be positive", k, aug->norm_std[k]);
            return -1;
        }
    return 0;
}

int dl_batcher_set_augment(dl_batcher *b, const dl_augment_config *aug, int augment, int one_hot)
{
    const dl_dataset *d = b->d;
    const int views = aug && aug->views == 2;
    if (views && (aug->mixup_alpha > 0 || aug->cutmix_alpha > 0)) {
        dl_set_error("augment: views = 2 gives two views of each sample for a contrastive loss; mixup and cutmix "
                     "blend samples and labels, which such a loss does not use");
        return -1;
    }
    if (!dl_aug_active(aug, augment)) aug = NULL;
    int64_t c, h, w;
    dl_aug_geometry(d, &c, &h, &w);
    if (aug && dl_aug_check(aug, augment, c, h, w, d->x_rank >= 2)) return -1;
    if (aug && augment && (aug->mixup_alpha > 0 || aug->cutmix_alpha > 0) && d->label_kind == DL_LABEL_CLASS &&
        one_hot <= 0) {
        dl_set_error("augment: %s blends labels, so class labels need dense one-hot targets "
                     "(a model trained with it takes f32[N, C] labels)", aug->mixup_alpha > 0 ? "mixup" : "cutmix");
        return -1;
    }
    if (one_hot > 0 && d->label_kind == DL_LABEL_CLASS && d->num_classes > one_hot) {
        dl_set_error("labels go up to %d but one-hot rows have only %d columns", d->num_classes - 1, one_hot);
        return -1;
    }
    b->aug = aug;
    b->augment = augment;
    b->one_hot = d->label_kind == DL_LABEL_CLASS ? one_hot : 0;
    const int64_t ylen = b->one_hot > 0 ? b->one_hot : d->y_numel;
    b->yhot = b->one_hot > 0 ? malloc((size_t)(b->batch * b->one_hot) * sizeof(float) + 1) : NULL;
    const int mix = aug && augment && (aug->mixup_alpha > 0 || aug->cutmix_alpha > 0);
    b->xmix = mix ? malloc((size_t)(b->batch * d->x_numel) * sizeof(float) + 1) : NULL;
    b->ymix = mix ? malloc((size_t)(b->batch * ylen) * sizeof(float) + 1) : NULL;
    b->scratch = aug ? malloc((size_t)(b->batch * (d->x_numel > ylen ? d->x_numel : ylen)) * sizeof(float) + 1)
                     : NULL;
    b->x2buf = views ? malloc((size_t)(b->batch * d->x_numel) * sizeof(float) + 1) : NULL;
    if ((b->one_hot > 0 && !b->yhot) || (mix && (!b->xmix || !b->ymix)) || (aug && !b->scratch) || (views && !b->x2buf)) {
        dl_set_error("dl_batcher_set_augment: out of memory");
        return -1;
    }
    return 0;
}

/* CutMix over a gathered batch: each sample, with probability p, takes a
 * box from a random partner of the batch as it was before any pasting;
 * labels y (one-hot rows or dense targets) mix by the kept area, a mask
 * takes the partner's box. */
static void dl_aug_cutmix_batch(dl_batcher *b, const int64_t *idx, int64_t m, float *y, int mask, int64_t c,
                                int64_t h, int64_t w)
{
    const dl_augment_config *a = b->aug;
    const int64_t xn = b->d->x_numel, yn = b->one_hot > 0 ? b->one_hot : b->d->y_numel;
    memcpy(b->xmix, b->xbuf, (size_t)(m * xn) * sizeof(float));
    memcpy(b->ymix, y, (size_t)(m * yn) * sizeof(float));
    for (int64_t i = 0; i < m; i++) {
        dl_rng r;
        dl_aug_rng(&r, b->seed, b->epoch, idx[i], 2);
        if (!(dl_rng_uniform(&r) < a->cutmix_p)) continue;
        const float lam = dl_aug_beta(&r, a->cutmix_alpha);
        const int64_t j = (int64_t)(dl_rng_next(&r) % (uint64_t)m);
        int64_t box[4];
        dl_aug_cutmix_box(&r, h, w, lam, box);
        dl_aug_paste(b->xbuf + i * xn, b->xmix + j * xn, c, h, w, box);
        if (mask) {
            dl_aug_paste(y + i * yn, b->ymix + j * yn, yn / (h * w), h, w, box);
            continue;
        }
        const float kept = 1.0f - (float)(box[2] * box[3]) / (float)(h * w);
        for (int64_t k = 0; k < yn; k++) y[i * yn + k] = kept * b->ymix[i * yn + k] + (1 - kept) * b->ymix[j * yn + k];
    }
}

/* One view of sample `sample`: the per-sample transforms, normalization,
 * cutout. View 0 draws from stream 0, view 1 (views = 2) from stream 3
 * (mixup and cutmix have 1 and 2); a mask label (y or mk) moves with view 0 only. */
void dl_aug_view(const dl_augment_config *a, int augment, uint64_t seed, int64_t epoch, int64_t sample, int view,
                 float *x, int64_t c, int64_t h, int64_t w, float *y, int64_t yc, const dl_aug_mask *mk, float *tmp)
{
    dl_rng r;
    dl_aug_rng(&r, seed, epoch, sample, view ? 3 : 0);
    if (augment) dl_augment_sample(a, x, c, h, w, y, yc, mk, &r, tmp);
    if (a->norm_channels > 0) dl_aug_normalize(x, c, h * w, a);
    if (augment)
        for (int k = 0; k < a->cutout_count && a->cutout_size > 0; k++) {
            int64_t cy = (int64_t)(dl_rng_next(&r) % (uint64_t)h), cx = (int64_t)(dl_rng_next(&r) % (uint64_t)w);
            dl_aug_cutout(x, c, h, w, cy, cx, a->cutout_size);
        }
    int64_t box[4];
    if (augment && a->erase_p > 0 && dl_rng_uniform(&r) < a->erase_p &&
        dl_aug_erase_box(&r, h, w, a->erase_scale, a->erase_ratio, box))
        dl_aug_erase(x, c, h, w, box, a, &r);
}

/* After dl_batcher_next gathered samples idx[0..m) into b->xbuf / b->ybuf:
 * transforms them in place; returns the label array to hand out. */
const void *dl_aug_batch(dl_batcher *b, const int64_t *idx, int64_t m)
{
    const dl_dataset *d = b->d;
    const dl_augment_config *a = b->aug;
    const int64_t xn = d->x_numel;
    const int64_t yn = b->one_hot > 0 ? b->one_hot : d->y_numel;
    int64_t c, h, w;
    dl_aug_geometry(d, &c, &h, &w);
    /* a dense label the size of one image plane (or several): a mask that moves with the image */
    const int mask = d->label_kind == DL_LABEL_DENSE && d->y_numel % (h * w) == 0 && h * w > 1;
    const int64_t stride = xn > yn ? xn : yn;
    if (a) {
#pragma omp parallel for schedule(dynamic, 4) if (m * xn > 65536)
        for (int64_t i = 0; i < m; i++) {
            float *tmp = b->scratch + i * stride;
            float *y = mask && b->augment ? (float *)b->ybuf + i * d->y_numel : NULL;
            dl_aug_view(a, b->augment, b->seed, b->epoch, idx[i], 0, b->xbuf + i * xn, c, h, w, y,
                        mask ? d->y_numel / (h * w) : 0, NULL, tmp);
            if (b->x2buf)
                dl_aug_view(a, b->augment, b->seed, b->epoch, idx[i], 1, b->x2buf + i * xn, c, h, w, NULL, 0, NULL, tmp);
        }
    }
    float *y = d->label_kind == DL_LABEL_DENSE ? b->ybuf : NULL;
    if (b->one_hot > 0) {
        const int32_t *cls = b->ybuf;
        memset(b->yhot, 0, (size_t)(m * yn) * sizeof(float));
        for (int64_t i = 0; i < m; i++) b->yhot[i * yn + cls[i]] = 1.0f;
        y = b->yhot;
    }
    if (a && b->augment && a->mixup_alpha > 0 && y) {
        for (int64_t i = 0; i < m; i++) {
            dl_rng r;
            dl_aug_rng(&r, b->seed, b->epoch, idx[i], 1);
            const float lam = dl_aug_beta(&r, a->mixup_alpha);
            const int64_t j = (int64_t)(dl_rng_next(&r) % (uint64_t)m);
            for (int64_t k = 0; k < xn; k++) b->xmix[i * xn + k] = lam * b->xbuf[i * xn + k] + (1 - lam) * b->xbuf[j * xn + k];
            for (int64_t k = 0; k < yn; k++) b->ymix[i * yn + k] = lam * y[i * yn + k] + (1 - lam) * y[j * yn + k];
        }
        memcpy(b->xbuf, b->xmix, (size_t)(m * xn) * sizeof(float));
        memcpy(y, b->ymix, (size_t)(m * yn) * sizeof(float));
    }
    if (a && b->augment && a->cutmix_alpha > 0 && y) dl_aug_cutmix_batch(b, idx, m, y, mask, c, h, w);
    return y ? (const void *)y : b->ybuf;
}
