/* image_recon.c — a trained autoencoder's reconstructions of test images
 * (`dlnc sample --reconstruct`).
 *
 * The model runs in evaluation mode (forward_io: a VAE's z is its mean, a
 * dropout passes everything) over the whole evaluation set in batches, so the
 * printed MSE is the test set's and not only the drawn images'; the first
 * `count` images are drawn DL_RECON_COLS to a row, each group of rows holding
 * the originals, the reconstructions below them, then any further output of
 * the image's shape (a denoiser's noisy input), so every image sits right
 * above its reconstruction. */
#include "dlnrt.h"
#include "image_tiles_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECON_BATCH 250

/* The model's form: one f32 input taking the data's images, an image first
 * output of the same size; *extra gets the indices of further outputs of that
 * shape. -1 with an error naming what is wrong. */
static int recon_form(const dl_model_api *api, const dl_dataset *d, int *C, int *H, int *W, int *extra, int *n_extra) {
    const dl_io_info *in = api->n_inputs >= 1 ? &api->inputs[0] : NULL;
    if (api->abi_version < 4 || api->n_inputs != 1 || api->n_syms != 1 || !dl_input_takes(api, 0, d)) {
        dl_set_error("model '%s' cannot reconstruct: --reconstruct needs a model whose one input is an f32 image "
                     "of its train section's data (%lld values per sample)%s", api->name, (long long)d->x_numel,
                     in && in->dtype != DL_F32 ? ", not token ids" : "");
        return -1;
    }
    if (dl_image_output_form(api, 0, C, H, W) || (int64_t)*C * *H * *W != d->x_numel) {
        dl_set_error("model '%s' cannot reconstruct: its first output '%s' must be an image shaped like its input "
                     "(f32[N, %lld, %lld, %lld])", api->name, api->n_outputs ? api->outputs[0].name : "?",
                     (long long)(d->x_rank == 3 ? d->x_shape[0] : 1), (long long)d->x_shape[d->x_rank - 2],
                     (long long)d->x_shape[d->x_rank - 1]);
        return -1;
    }
    *n_extra = 0;
    for (int k = 1; k < api->n_outputs; k++) {
        int c, h, w;
        if (!dl_image_output_form(api, k, &c, &h, &w) && c == *C && h == *H && w == *W) extra[(*n_extra)++] = k;
    }
    return 0;
}

static double squared_error(const float *y, const float *x, int64_t n, int sigmoid) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = sigmoid ? 1.0 / (1.0 + exp(-(double)y[i])) : y[i];
        s += (v - x[i]) * (v - x[i]);
    }
    return s;
}

int dl_sample_reconstruct(const dl_model_api *api, const dl_grid_options *o, double *mse) {
    if (!api || !o || !o->path) {
        dl_set_error("dl_sample_reconstruct: missing argument");
        return -1;
    }
    if (!api->train) {
        dl_set_error("model '%s' has no train section: --reconstruct draws the test images of the model's own "
                     "train section's data", api->name);
        return -1;
    }
    if (dl_check_draw(o, DL_GRID_MAX_COUNT, "--count")) return -1;
    dl_dataset d;
    const char *what;
    if (dl_load_eval_images(&api->train->data, api->train->seed, &d, &what) != 0) return -1;
    int C, H, W, extra[DL_SAMPLE_MAX_OUTPUTS], n_extra, rc = -1;
    if (recon_form(api, &d, &C, &H, &W, extra, &n_extra) != 0) {
        dl_dataset_free(&d);
        return -1;
    }
    const int64_t count = o->count < d.n ? o->count : d.n, per = d.x_numel;
    const int64_t B = d.n < RECON_BATCH ? d.n : RECON_BATCH;
    const int kinds = 2 + n_extra, cols = (int)(count < DL_RECON_COLS ? count : DL_RECON_COLS);
    const int groups = (int)((count + cols - 1) / cols);
    dl_canvas cv = {0};
    float **outs = dl_alloc_outputs(api, B);
    void *m = NULL;
    if (!outs || dl_canvas_init(&cv, cols, groups * kinds, C, H, W)) goto done;
    if (!(m = dl_sample_open(api, B, o))) goto done;
    double sse = 0, sse_drawn = 0;
    for (int64_t at = 0; at < d.n; at += B) {
        const int64_t n = d.n - at < B ? d.n - at : B;
        const void *inp[1] = {d.x + at * per};
        dl_clear_error();
        if (api->reset_state) api->reset_state(m);
        api->forward_io(m, inp, (void *const *)outs, n, NULL);
        if (dl_last_error()[0]) goto done;
        sse += squared_error(outs[0], d.x + at * per, n * per, o->sigmoid);
        for (int64_t s = 0; s < n && at + s < count; s++) {
            const int64_t i = at + s;
            const int col = (int)(i % cols), row = (int)(i / cols) * kinds;
            sse_drawn += squared_error(outs[0] + s * per, d.x + i * per, per, o->sigmoid);
            dl_canvas_put(&cv, col, row, d.x + i * per, o->lo, o->hi, 0);
            dl_canvas_put(&cv, col, row + 1, outs[0] + s * per, o->lo, o->hi, o->sigmoid);
            for (int e = 0; e < n_extra; e++)   /* not sigmoid's: a noisy input is pixels, not logits */
                dl_canvas_put(&cv, col, row + 2 + e, outs[extra[e]] + s * per, o->lo, o->hi, 0);
        }
    }
    if (dl_canvas_write_png(&cv, o->path) != 0) goto done;
    const double full = sse / (double)(d.n * per);
    printf("reconstruction MSE per pixel (%s'%s' vs the input): %.6f over the %lld %s images, %.6f over the %lld drawn\n",
           o->sigmoid ? "sigmoid of " : "", api->outputs[0].name, full, (long long)d.n, what,
           sse_drawn / (double)(count * per), (long long)count);
    if (mse) *mse = full;
    rc = 0;
done:
    if (m) api->destroy(m);
    dl_free_outputs(outs);
    dl_canvas_free(&cv);
    dl_dataset_free(&d);
    return rc;
}
