/* image_grid.c — pictures from a trained image generator (`dlnc sample --grid`).
 *
 * Any compiled model whose one input is f32 (noise or a latent, of any
 * per-sample shape) and whose first output is f32[N, C, H, W] with C = 1 or 3
 * can draw: the inputs are N(0, 1) from a generator seeded with the seed, the
 * forward runs once at batch `count`, and the images are tiled row by row
 * into ceil(sqrt(count)) columns with 1-pixel black gaps. A value v maps to
 * the byte round(255 (v - lo) / (hi - lo)), clamped: [lo, hi] = [0, 1] for a
 * sigmoid output, [-1, 1] for a tanh. The PNG goes through libpng's
 * simplified API (as plot_png.c) into an atomic file, so the same checkpoint,
 * seed and count give the same bytes and a failed write leaves no half file. */
#include "atomic_file_internal.h"
#include "dlnrt.h"
#include "image_grid_internal.h"

#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

/* Is the model of the generator form? Sets the error and returns -1 if not. */
static int grid_form(const dl_model_api *api, int64_t *in_numel, int *c, int *h, int *w) {
    const dl_io_info *in = api->n_inputs == 1 ? &api->inputs[0] : NULL;
    const dl_io_info *out = api->n_outputs >= 1 ? &api->outputs[0] : NULL;
    int ok = api->abi_version >= 4 && in && out && api->n_syms == 1 && api->create_io && api->forward_io &&
             in->dtype == DL_F32 && out->dtype == DL_F32 && out->rank == 3 && (out->shape[0] == 1 || out->shape[0] == 3) &&
             out->shape[1] > 0 && out->shape[2] > 0;
    int64_t n = 1;
    for (int d = 0; ok && d < in->rank; d++) {
        if (in->shape[d] <= 0) ok = 0;
        else n *= in->shape[d];
    }
    if (!ok) {
        dl_set_error("model '%s' cannot draw a grid: --grid needs one f32 input (noise or a latent, sizes fixed "
                     "but N) and an image output f32[N, C, H, W] with C = 1 or 3", api->name);
        return -1;
    }
    *in_numel = n, *c = (int)out->shape[0], *h = (int)out->shape[1], *w = (int)out->shape[2];
    return 0;
}

/* The grid's columns and rows for n images. */
static void grid_layout(int64_t n, int *cols, int *rows) {
    int c = (int)ceil(sqrt((double)n));
    while ((int64_t)c * c < n) c++; /* sqrt rounding */
    *cols = c, *rows = (int)((n + c - 1) / c);
}

int dl_grid_check(const dl_grid_options *o, int H, int W) {
    if (!o->checkpoint) {
        dl_set_error("--grid needs the trained model: --checkpoint FILE (what `dlnc run --checkpoint FILE` saved)");
        return -1;
    }
    if (o->count < 1 || o->count > DL_GRID_MAX_COUNT) {
        dl_set_error("--count must be between 1 and %d, not %lld", DL_GRID_MAX_COUNT, (long long)o->count);
        return -1;
    }
    if (!(o->hi > o->lo)) {
        dl_set_error("--range LO,HI needs LO < HI");
        return -1;
    }
    int cols, rows;
    grid_layout(o->count, &cols, &rows);
    const int64_t gw = (int64_t)cols * (W + 1) - 1, gh = (int64_t)rows * (H + 1) - 1;
    if (gw * gh > (int64_t)1 << 28) {
        dl_set_error("--grid: a %lldx%lld picture is too large; lower --count", (long long)gw, (long long)gh);
        return -1;
    }
    return 0;
}

int dl_grid_load(const dl_model_api *api, void *m, const dl_grid_options *o, int superset, dl_load_report *rep) {
    if (!o->prefix && !superset) {
        memset(rep, 0, sizeof *rep);
        return api->load(m, o->checkpoint);
    }
    const char *prefix = o->prefix ? o->prefix : "";
    if (!api->load_prefix || api->load_prefix(m, o->checkpoint, prefix, rep) != 0) return -1;
    if (rep->missing) {
        dl_set_error("%s: %d tensor%s of model '%s' not in the checkpoint%s%s%s (%s)", o->checkpoint, rep->missing,
                     rep->missing == 1 ? "" : "s", api->name, *prefix ? " under the prefix '" : "", prefix,
                     *prefix ? "'" : "", rep->missing_names);
        return -1;
    }
    return 0;
}

int dl_grid_write(const dl_grid_options *o, const float *img, int64_t n, int C, int H, int W) {
    int cols, rows;
    grid_layout(n, &cols, &rows);
    const int gw = cols * (W + 1) - 1, gh = rows * (H + 1) - 1;
    const size_t per = (size_t)C * H * W;
    unsigned char *pix = calloc((size_t)gw * gh, (size_t)C); /* the gaps stay black */
    if (!pix) {
        dl_set_error("--grid: out of memory");
        return -1;
    }
    const float scale = 255.0f / (o->hi - o->lo);
    for (int64_t s = 0; s < n; s++) {
        const int x0 = (int)(s % cols) * (W + 1), y0 = (int)(s / cols) * (H + 1);
        for (int ch = 0; ch < C; ch++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    float v = (img[(size_t)s * per + ((size_t)ch * H + y) * W + x] - o->lo) * scale;
                    v = v > 0 ? v : 0; /* also NaN -> 0 */
                    v = v < 255 ? v : 255;
                    pix[(((size_t)y0 + y) * gw + x0 + x) * C + ch] = (unsigned char)lrintf(v);
                }
    }
    int rc = -1;
    dl_atomic_file af;
    if (dl_atomic_create(&af, o->path) == 0) {
        png_image im;
        memset(&im, 0, sizeof im);
        im.version = PNG_IMAGE_VERSION;
        im.width = (png_uint_32)gw;
        im.height = (png_uint_32)gh;
        im.format = C == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
        int ok = png_image_write_to_stdio(&im, af.f, 0, pix, 0, NULL);
        if (!ok) dl_set_error("%s: cannot encode the PNG: %s", o->path, im.message);
        png_image_free(&im);
        if (!ok) dl_atomic_abort(&af);
        else rc = dl_atomic_commit(&af);
    }
    free(pix);
    return rc;
}

int dl_sample_grid(const dl_model_api *api, const dl_grid_options *o) {
    if (!api || !o || !o->path) {
        dl_set_error("dl_sample_grid: missing argument");
        return -1;
    }
    int64_t zn;
    int C, H, W;
    if (grid_form(api, &zn, &C, &H, &W) != 0 || dl_grid_check(o, H, W) != 0) return -1;
    const int64_t n = o->count;
    const size_t per = (size_t)C * H * W;
    float *z = malloc(sizeof *z * (size_t)(n * zn)), *img = malloc(sizeof *img * per * (size_t)n);
    void *outs[8] = {0};
    void *m = NULL;
    int rc = -1;
    if (!z || !img || api->n_outputs > 8) {
        dl_set_error("--grid: out of memory");
        goto done;
    }
    for (int k = 1; k < api->n_outputs; k++) { /* outputs past the image: computed, not drawn */
        size_t e = 1;
        for (int d = 0; d < api->outputs[k].rank; d++) e *= (size_t)(api->outputs[k].shape[d] > 0 ? api->outputs[k].shape[d] : 1);
        if (!(outs[k] = malloc(sizeof(float) * e * (size_t)n))) {
            dl_set_error("--grid: out of memory");
            goto done;
        }
    }
    outs[0] = img;
    const int64_t bounds[1] = {n};
    dl_load_report rep;
    /* a model trained inside a several-model section: its tensors are "gen.*" */
    if (!(m = api->create_io(bounds)) || dl_grid_load(api, m, o, 0, &rep) != 0) goto done;
    dl_rng rng;
    dl_rng_seed(&rng, o->seed);
    for (int64_t i = 0; i < n * zn; i++) z[i] = dl_rng_normal(&rng);
    const void *in[1] = {z};
    dl_clear_error();
    if (api->reset_state) api->reset_state(m);
    api->forward_io(m, in, outs, n, NULL);
    if (dl_last_error()[0]) goto done;
    rc = dl_grid_write(o, img, n, C, H, W);
done:
    if (m) api->destroy(m);
    for (int k = 1; k < 8; k++) free(outs[k]);
    free(z);
    free(img);
    return rc;
}
