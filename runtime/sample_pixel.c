/* sample_pixel.c — autoregressive image sampling, PixelCNN's way
 * (`dlnc sample --autoregressive --grid`).
 *
 * The model maps images f32[N, 1, H, W] to per-pixel logits: f32[N, 1, H, W]
 * (one Bernoulli logit l, the pixel is 1 with probability sigmoid(l), else 0)
 * or f32[N, K, H, W] with K >= 2 (a K-way categorical over the levels, level k
 * shown as the value k / (K - 1)), and its logits at a pixel depend only on
 * the pixels before it in raster order (masked convolutions). The sampler
 * fills the pixels in that order, one forward per pixel (H * W forwards at
 * batch `count`): pixel p of every image is drawn from the logits at p,
 * computed from the pixels drawn so far, the later ones still 0. The draws
 * come from one generator seeded with the seed, pixel by pixel and image by
 * image, so the same seed gives the same bytes.
 *
 * Why a last forward: a model that sees its own pixel (a first masked layer
 * of type B instead of A) trains to a fine loss and samples noise. Its
 * logits at p change once later pixels are filled, so one more forward over
 * the finished images must reproduce, at every pixel, the logits that pixel
 * was drawn from; otherwise the sampler refuses and names the first pixel
 * that moved. */
#include "dlnrt.h"
#include "image_tiles_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Is the model of the autoregressive form? Sets the error and returns -1 if not. */
static int pixel_form(const dl_model_api *api, int *k, int *h, int *w) {
    const dl_io_info *in = api->n_inputs == 1 ? &api->inputs[0] : NULL;
    const dl_io_info *out = api->n_outputs >= 1 ? &api->outputs[0] : NULL;
    int ok = api->abi_version >= 4 && in && out && api->n_syms == 1 && api->create_io && api->forward_io &&
             in->dtype == DL_F32 && in->rank == 3 && in->shape[0] == 1 && in->shape[1] > 0 && in->shape[2] > 0 &&
             out->dtype == DL_F32 && out->rank == 3 && out->shape[0] >= 1 && out->shape[1] == in->shape[1] &&
             out->shape[2] == in->shape[2];
    if (!ok) {
        dl_set_error("model '%s' cannot sample autoregressively: --autoregressive needs one input, images "
                     "f32[N, 1, H, W], and a first output of per-pixel logits f32[N, 1, H, W] (Bernoulli) or "
                     "f32[N, K, H, W] (K levels) of the same H and W",
                     api->name);
        return -1;
    }
    *k = (int)out->shape[0], *h = (int)in->shape[1], *w = (int)in->shape[2];
    return 0;
}

/* Draws the value of one pixel from its K logits (stride apart). */
static int draw_pixel(const float *logit, int64_t stride, int K, float *row, dl_rng *rng, float *value) {
    if (K == 1) {
        if (isnan(logit[0])) {
            dl_set_error("a logit is NaN");
            return -1;
        }
        *value = dl_rng_uniform(rng) < 1.0f / (1.0f + expf(-logit[0])) ? 1.0f : 0.0f;
        return 0;
    }
    for (int c = 0; c < K; c++) row[c] = logit[c * stride];
    int level = dl_sample_logits(row, K, 1.0f, 0, rng);
    if (level < 0) return -1;
    *value = (float)level / (float)(K - 1);
    return 0;
}

int dl_sample_pixels(const dl_model_api *api, const dl_grid_options *o) {
    if (!api || !o || !o->path) {
        dl_set_error("dl_sample_pixels: missing argument");
        return -1;
    }
    int K, H, W;
    if (pixel_form(api, &K, &H, &W) != 0) return -1;
    if (dl_check_draw(o, DL_GRID_MAX_COUNT, "--count")) return -1;
    void *m = dl_sample_open(api, o->count, o);
    if (!m) return -1;
    const int64_t n = o->count, hw = (int64_t)H * W;
    float *x = calloc((size_t)(n * hw), sizeof *x);          /* the images, filled pixel by pixel */
    float *drawn = malloc(sizeof *drawn * (size_t)(n * K * hw)); /* the logits each pixel was drawn from */
    float *row = malloc(sizeof *row * (size_t)K);
    float **outs = dl_alloc_outputs(api, n); /* outputs past the logits: computed, not used */
    int rc = -1;
    if (!x || !drawn || !row || !outs) {
        dl_set_error("--autoregressive: out of memory");
        goto done;
    }
    const float *logits = outs[0];
    const void *in[1] = {x};
    dl_rng rng;
    dl_rng_seed(&rng, o->seed);
    for (int64_t p = 0; p < hw; p++) {
        dl_clear_error();
        if (api->reset_state) api->reset_state(m);
        api->forward_io(m, in, (void *const *)outs, n, NULL);
        if (dl_last_error()[0]) goto done;
        for (int64_t s = 0; s < n; s++) {
            const float *l = logits + s * K * hw + p;
            for (int c = 0; c < K; c++) drawn[(s * K + c) * hw + p] = l[c * hw];
            if (draw_pixel(l, hw, K, row, &rng, &x[s * hw + p]) != 0) {
                char why[256];
                snprintf(why, sizeof why, "%s", dl_last_error());
                dl_set_error("--autoregressive: image %lld, pixel (row %lld, column %lld): %s", (long long)s,
                             (long long)(p / W), (long long)(p % W), why);
                goto done;
            }
        }
    }
    dl_clear_error();
    if (api->reset_state) api->reset_state(m);
    api->forward_io(m, in, (void *const *)outs, n, NULL);
    if (dl_last_error()[0]) goto done;
    for (int64_t i = 0; i < n * K * hw; i++) {
        const float a = drawn[i], b = logits[i];
        if (!(fabsf(a - b) <= 1e-4f * (1.0f + fabsf(a)))) {
            const int64_t p = i % hw;
            dl_set_error("model '%s' is not autoregressive: its logits at pixel (row %lld, column %lld) of image %lld "
                         "changed from %g to %g when later pixels were filled (a first masked_conv2d of "
                         "mask_type \"A\" keeps each pixel from seeing itself)",
                         api->name, (long long)(p / W), (long long)(p % W), (long long)(i / (K * hw)), (double)a,
                         (double)b);
            goto done;
        }
    }
    rc = dl_tile_png(o, x, n, 1, H, W);
done:
    api->destroy(m);
    dl_free_outputs(outs);
    free(x);
    free(drawn);
    free(row);
    return rc;
}
