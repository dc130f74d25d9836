/* image_tiles.c — images into the cells of one PNG, and the trained model
 * they come from (image_tiles_internal.h). One canvas for every image mode of
 * `dlnc sample`, so the grid, the reconstructions and the interpolations map
 * values to bytes and place cells the same way. The PNG goes through libpng's
 * simplified API (as plot_png.c) into an atomic file: a failed write leaves
 * no half file, and the same pixels give the same bytes. */
#include "atomic_file_internal.h"
#include "dlnrt.h"
#include "image_tiles_internal.h"
#include "train_internal.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dl_canvas_init(dl_canvas *cv, int cols, int rows, int C, int H, int W) {
    memset(cv, 0, sizeof *cv);
    const int64_t w = (int64_t)cols * (W + 1) - 1, h = (int64_t)rows * (H + 1) - 1;
    if (cols < 1 || rows < 1 || H < 1 || W < 1 || (C != 1 && C != 3) || w * h > (int64_t)1 << 28) {
        dl_set_error("a %lldx%lld picture of %dx%d cells is too large; draw fewer images", (long long)w,
                     (long long)h, cols, rows);
        return -1;
    }
    *cv = (dl_canvas){cols, rows, C, H, W, (int)w, (int)h, calloc((size_t)(w * h), (size_t)C)};
    if (!cv->pix) {
        dl_set_error("out of memory for a %lldx%lld picture", (long long)w, (long long)h);
        return -1;
    }
    return 0;
}

void dl_canvas_put(dl_canvas *cv, int col, int row, const float *img, float lo, float hi, int sigmoid) {
    if (col < 0 || col >= cv->cols || row < 0 || row >= cv->rows) return;
    const int C = cv->C, H = cv->H, W = cv->W;
    const int x0 = col * (W + 1), y0 = row * (H + 1);
    const float scale = 255.0f / (hi - lo);
    for (int ch = 0; ch < C; ch++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                float v = img[((size_t)ch * H + y) * W + x];
                if (sigmoid) v = 1.0f / (1.0f + expf(-v));
                v = (v - lo) * scale;
                v = v > 0 ? v : 0; /* also NaN -> 0 */
                v = v < 255 ? v : 255;
                cv->pix[(((size_t)y0 + y) * cv->width + x0 + x) * C + ch] = (unsigned char)lrintf(v);
            }
}

int dl_canvas_write_png(const dl_canvas *cv, const char *path) {
    dl_atomic_file af;
    if (dl_atomic_create(&af, path) != 0) return -1;
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = (png_uint_32)cv->width;
    im.height = (png_uint_32)cv->height;
    im.format = cv->C == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    int ok = png_image_write_to_stdio(&im, af.f, 0, cv->pix, 0, NULL);
    if (!ok) dl_set_error("%s: cannot encode the PNG: %s", path, im.message);
    png_image_free(&im);
    if (!ok) {
        dl_atomic_abort(&af);
        return -1;
    }
    return dl_atomic_commit(&af);
}

void dl_canvas_free(dl_canvas *cv) {
    free(cv->pix);
    cv->pix = NULL;
}

int dl_image_output_form(const dl_model_api *api, int k, int *c, int *h, int *w) {
    const dl_io_info *out = k < api->n_outputs ? &api->outputs[k] : NULL;
    if (!out || out->dtype != DL_F32 || out->rank != 3 || (out->shape[0] != 1 && out->shape[0] != 3) ||
        out->shape[1] <= 0 || out->shape[2] <= 0)
        return -1;
    *c = (int)out->shape[0], *h = (int)out->shape[1], *w = (int)out->shape[2];
    return 0;
}

float **dl_alloc_outputs(const dl_model_api *api, int64_t n) {
    float **outs = calloc(DL_SAMPLE_MAX_OUTPUTS, sizeof *outs);
    if (!outs || api->n_outputs > DL_SAMPLE_MAX_OUTPUTS) {
        dl_set_error(outs ? "model '%s' has more than %d outputs" : "out of memory", api->name, DL_SAMPLE_MAX_OUTPUTS);
        free(outs);
        return NULL;
    }
    for (int k = 0; k < api->n_outputs; k++) {
        size_t e = 1;
        for (int d = 0; d < api->outputs[k].rank; d++) e *= (size_t)(api->outputs[k].shape[d] > 0 ? api->outputs[k].shape[d] : 1);
        if (!(outs[k] = malloc(sizeof(float) * e * (size_t)n))) {
            dl_set_error("out of memory");
            dl_free_outputs(outs);
            return NULL;
        }
    }
    return outs;
}

void dl_free_outputs(float **outs) {
    if (!outs) return;
    for (int k = 0; k < DL_SAMPLE_MAX_OUTPUTS; k++) free(outs[k]);
    free(outs);
}

int dl_decoder_form(const dl_model_api *api, int64_t *zn, int *c, int *h, int *w) {
    const dl_io_info *in = api->n_inputs == 1 ? &api->inputs[0] : NULL;
    *zn = in && in->dtype == DL_F32 ? dl_fixed_numel(in->shape, in->rank) : 0;
    return api->abi_version >= 4 && *zn && api->n_syms == 1 && api->create_io && api->forward_io &&
                   !dl_image_output_form(api, 0, c, h, w)
               ? 0
               : -1;
}

int dl_check_draw(const dl_grid_options *o, int64_t max, const char *count_flag) {
    if (o->count < 1 || o->count > max) {
        dl_set_error("%s must be between 1 and %lld, not %lld", count_flag, (long long)max, (long long)o->count);
        return -1;
    }
    if (!(o->hi > o->lo)) {
        dl_set_error("--range LO,HI needs LO < HI");
        return -1;
    }
    return 0;
}

int64_t dl_fixed_numel(const int64_t *shape, int rank) {
    int64_t n = 1;
    for (int d = 0; d < rank; d++) {
        if (shape[d] <= 0) return 0;
        n *= shape[d];
    }
    return rank > 0 ? n : 0;
}

void *dl_sample_open(const dl_model_api *api, int64_t max_batch, const dl_grid_options *o) {
    if (!o->checkpoint) {
        dl_set_error("the image modes of dlnc sample need the trained model: --checkpoint FILE (what `dlnc run "
                     "--checkpoint FILE` saved)");
        return NULL;
    }
    const int64_t bounds[1] = {max_batch};
    void *m = api->create_io(bounds);
    if (!m) return NULL;
    if (!o->prefix) {
        if (api->load(m, o->checkpoint) == 0) return m;
        api->destroy(m);
        return NULL;
    }
    /* a model built alone from a bigger model's checkpoint (a GAN's gen.*, a
     * VAE's decoder): say what came from the file, refuse what did not */
    dl_load_report rep;
    if (!api->load_prefix || api->load_prefix(m, o->checkpoint, o->prefix, &rep) != 0) {
        api->destroy(m);
        return NULL;
    }
    if (rep.missing) {
        dl_set_error("%s: %d tensor%s of model '%s' not in the checkpoint%s%s%s (%s)", o->checkpoint, rep.missing,
                     rep.missing == 1 ? "" : "s", api->name, *o->prefix ? " under the prefix '" : "", o->prefix,
                     *o->prefix ? "'" : "", rep.missing_names);
        api->destroy(m);
        return NULL;
    }
    printf("model '%s' from %s%s%s%s: %d tensor%s loaded", api->name, o->checkpoint, *o->prefix ? " (prefix '" : "",
           o->prefix, *o->prefix ? "')" : "", rep.used, rep.used == 1 ? "" : "s");
    if (rep.skipped) printf(", %d in the file skipped (%s)", rep.skipped, rep.skipped_names);
    printf("\n");
    return m;
}

int dl_load_eval_images(const dl_data_config *dc, uint64_t seed, dl_dataset *out, const char **what) {
    memset(out, 0, sizeof *out);
    *what = "test";
    const char *k = dc->kind ? dc->kind : "";
    const int mnist = !strcmp(k, "fashion_mnist") || !strcmp(k, "mnist") || !strcmp(k, "idx");
    if (!mnist && strcmp(k, "cifar10") && strcmp(k, "image_folder")) {
        dl_set_error("the train section's data (%s) are not images: the image modes of dlnc sample read "
                     "fashion_mnist, mnist, idx, cifar10 or image_folder data", *k ? k : "none");
        return -1;
    }
    if (dc->val_split <= 0 && mnist) return dl_load_mnist_dir(dc->path, "test", out);
    if (dc->val_split <= 0 && !strcmp(k, "cifar10")) return dl_load_cifar10_dir(dc->path, "test", out);
    dl_dataset train;
    int have_eval = 0;
    if (dl_load_data(dc, seed, &train, out, &have_eval) != 0) return -1;
    dl_dataset_free(&train);
    if (!have_eval) {
        dl_set_error("the train section's data have no test set or validation split to draw from");
        return -1;
    }
    *what = dc->val_split > 0 ? "validation" : "test";
    return 0;
}

int dl_input_takes(const dl_model_api *api, int k, const dl_dataset *d) {
    const dl_io_info *in = k < api->n_inputs ? &api->inputs[k] : NULL;
    return in && in->dtype == DL_F32 && dl_fixed_numel(in->shape, in->rank) == d->x_numel;
}
