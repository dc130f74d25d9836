/* image_interp.c — walks through a decoder's latent space (`dlnc sample
 * --interpolate`).
 *
 * Each row decodes DL_INTERP_STEPS evenly spaced points of the segment
 * between two latents: a smooth row says that nearby latents decode to
 * similar images, the property a VAE's KL term buys. The endpoints are
 * N(0, 1) draws (the prior the decoder was trained to read) or, with an
 * encoder, the mean latents of pairs of test images, which are then drawn at
 * both ends of their row. One forward of the decoder over every row. */
#include "dlnrt.h"
#include "image_tiles_internal.h"

#include <stdlib.h>
#include <string.h>

void dl_lerp_points(const float *a, const float *b, int64_t d, int S, float *out) {
    for (int j = 0; j < S; j++) {
        const float t = S > 1 ? (float)j / (float)(S - 1) : 0.0f;
        for (int64_t k = 0; k < d; k++)   /* (1 - t) a + t b: exactly a at t = 0 and b at t = 1 */
            out[(int64_t)j * d + k] = (1.0f - t) * a[k] + t * b[k];
    }
}

/* The 2 rows endpoints: the encoder's first output on test images 0 .. 2 rows - 1,
 * which are also drawn into the first and last column of their row. */
static int encode_endpoints(const dl_model_api *enc, const dl_train_config *train, const dl_grid_options *o,
                            int64_t zn, int rows, float *ends, dl_canvas *cv) {
    dl_dataset d;
    const char *what;
    if (!train) {
        dl_set_error("--encoder %s: the file has no train section whose test images it could encode", enc->name);
        return -1;
    }
    if (dl_load_eval_images(&train->data, train->seed, &d, &what) != 0) return -1;
    int rc = -1;
    float **outs = NULL;
    void *m = NULL;
    const int64_t n = 2 * (int64_t)rows;
    const dl_io_info *lat = enc->n_outputs >= 1 ? &enc->outputs[0] : NULL;
    if (enc->abi_version < 4 || enc->n_inputs != 1 || enc->n_syms != 1 || !dl_input_takes(enc, 0, &d) || !lat ||
        lat->dtype != DL_F32 || dl_fixed_numel(lat->shape, lat->rank) != zn) {
        dl_set_error("model '%s' cannot be the encoder: --encoder needs one f32 image input (%lld values per "
                     "sample, as the data's) and a first output of %lld values per sample (the decoder's latent)",
                     enc->name, (long long)d.x_numel, (long long)zn);
        goto done;
    }
    if (d.n < n) {
        dl_set_error("--encoder: %lld rows need %lld %s images, the data have %lld", (long long)rows, (long long)n,
                     what, (long long)d.n);
        goto done;
    }
    if ((int64_t)cv->C * cv->H * cv->W != d.x_numel) {
        dl_set_error("--encoder %s: the test images (%lld values) are not the decoder's images (%dx%dx%d)",
                     enc->name, (long long)d.x_numel, cv->C, cv->H, cv->W);
        goto done;
    }
    dl_grid_options eo = *o;
    eo.prefix = o->enc_prefix;
    if (!(outs = dl_alloc_outputs(enc, n)) || !(m = dl_sample_open(enc, n, &eo))) goto done;
    const void *inp[1] = {d.x};
    dl_clear_error();
    if (enc->reset_state) enc->reset_state(m);
    enc->forward_io(m, inp, (void *const *)outs, n, NULL);
    if (dl_last_error()[0]) goto done;
    memcpy(ends, outs[0], sizeof *ends * (size_t)(n * zn));
    for (int r = 0; r < rows; r++) {
        dl_canvas_put(cv, 0, r, d.x + (int64_t)(2 * r) * d.x_numel, o->lo, o->hi, 0);
        dl_canvas_put(cv, cv->cols - 1, r, d.x + (int64_t)(2 * r + 1) * d.x_numel, o->lo, o->hi, 0);
    }
    rc = 0;
done:
    if (m) enc->destroy(m);
    dl_free_outputs(outs);
    dl_dataset_free(&d);
    return rc;
}

int dl_sample_interpolate(const dl_model_api *dec, const dl_model_api *enc, const dl_train_config *train,
                          const dl_grid_options *o) {
    if (!dec || !o || !o->path) {
        dl_set_error("dl_sample_interpolate: missing argument");
        return -1;
    }
    int C, H, W;
    int64_t zn;
    if (dl_decoder_form(dec, &zn, &C, &H, &W)) {
        dl_set_error("model '%s' cannot interpolate: --interpolate needs a decoder, one f32 input (the latent, "
                     "sizes fixed but N) and an image output f32[N, C, H, W] with C = 1 or 3", dec->name);
        return -1;
    }
    if (dl_check_draw(o, DL_INTERP_MAX_ROWS, "--interpolate: --count (rows)")) return -1;
    const int rows = (int)o->count, S = DL_INTERP_STEPS, first = enc ? 1 : 0;
    const int64_t n = (int64_t)rows * S;
    dl_canvas cv = {0};
    float *ends = malloc(sizeof *ends * (size_t)(2 * rows * zn)), *z = malloc(sizeof *z * (size_t)(n * zn));
    float **outs = dl_alloc_outputs(dec, n);
    void *m = NULL;
    int rc = -1;
    if (!ends || !z || !outs) {
        if (ends && z) goto done; /* dl_alloc_outputs said why */
        dl_set_error("out of memory");
        goto done;
    }
    if (dl_canvas_init(&cv, S + 2 * first, rows, C, H, W)) goto done;
    if (!(m = dl_sample_open(dec, n, o))) goto done;
    if (enc) {
        if (encode_endpoints(enc, train, o, zn, rows, ends, &cv) != 0) goto done;
    } else {
        dl_rng rng;
        dl_rng_seed(&rng, o->seed);
        for (int64_t i = 0; i < 2 * rows * zn; i++) ends[i] = dl_rng_normal(&rng);
    }
    for (int r = 0; r < rows; r++) dl_lerp_points(ends + 2 * r * zn, ends + (2 * r + 1) * zn, zn, S, z + r * S * zn);
    const void *inp[1] = {z};
    dl_clear_error();
    if (dec->reset_state) dec->reset_state(m);
    dec->forward_io(m, inp, (void *const *)outs, n, NULL);
    if (dl_last_error()[0]) goto done;
    for (int64_t i = 0; i < n; i++)
        dl_canvas_put(&cv, first + (int)(i % S), (int)(i / S), outs[0] + i * C * H * W, o->lo, o->hi, o->sigmoid);
    rc = dl_canvas_write_png(&cv, o->path);
done:
    if (m) dec->destroy(m);
    dl_free_outputs(outs);
    dl_canvas_free(&cv);
    free(ends);
    free(z);
    return rc;
}
