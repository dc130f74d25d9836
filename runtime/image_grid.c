/* image_grid.c — pictures from a trained image generator (`dlnc sample --grid`).
 *
 * Any compiled model whose one input is f32 (noise or a latent, of any
 * per-sample shape) and whose first output is f32[N, C, H, W] with C = 1 or 3
 * can draw: the inputs are N(0, 1) from a generator seeded with the seed, the
 * forward runs once at batch `count`, and the images are tiled row by row
 * into ceil(sqrt(count)) columns with 1-pixel black gaps. A conditional
 * generator's i32[N] class input gets one row per class (so a grid compares
 * the classes column by column), or every image of one class (--label). A value v maps to
 * the byte round(255 (v - lo) / (hi - lo)), clamped: [lo, hi] = [0, 1] for a
 * sigmoid output, [-1, 1] for a tanh. The PNG goes through libpng's
 * simplified API (as plot_png.c) into an atomic file, so the same checkpoint,
 * seed and count give the same bytes and a failed write leaves no half file. */
#include "atomic_file_internal.h"
#include "dlnrt.h"

#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

/* The generator's inputs: which one is the noise, which (if any) the class. */
typedef struct grid_form_t {
    int noise, cls;      /* input indices; cls -1: no class input */
    int64_t noise_numel; /* per sample */
    int c, h, w;         /* the image */
} grid_form_t;

/* Is the model of the generator form? Sets the error and returns -1 if not.
 * A second f32 input (a one-hot or other conditioning vector) is refused
 * rather than filled with noise, which would draw a meaningless condition. */
static int grid_form(const dl_model_api *api, grid_form_t *g) {
    const dl_io_info *out = api->n_outputs >= 1 ? &api->outputs[0] : NULL;
    const int image_out = out && out->dtype == DL_F32 && out->rank == 3 && (out->shape[0] == 1 || out->shape[0] == 3) &&
                          out->shape[1] > 0 && out->shape[2] > 0;
    int ok = api->abi_version >= 4 && image_out && api->n_syms == 1 && api->create_io && api->forward_io &&
             (api->n_inputs == 1 || api->n_inputs == 2);
    g->noise = g->cls = -1;
    for (int i = 0; ok && i < api->n_inputs; i++) {
        const dl_io_info *in = &api->inputs[i];
        if (in->dtype == DL_I32 && in->rank == 0 && g->cls < 0) g->cls = i;
        else if (in->dtype == DL_F32 && g->noise < 0) g->noise = i;
        else ok = 0;
    }
    ok = ok && g->noise >= 0;
    int64_t n = 1;
    for (int d = 0; ok && d < api->inputs[g->noise].rank; d++) {
        if (api->inputs[g->noise].shape[d] <= 0) ok = 0;
        else n *= api->inputs[g->noise].shape[d];
    }
    if (!ok) {
        dl_set_error("model '%s' cannot draw a grid: --grid needs one f32 input (noise or a latent, sizes fixed "
                     "but N), at most one i32[N] class input, and an image output f32[N, C, H, W] with C = 1 or 3"
                     "%s", api->name, image_out && api->n_inputs == 2 && api->inputs[0].dtype == DL_F32 &&
                     api->inputs[1].dtype == DL_F32 ? " (a conditioning f32 input such as a one-hot is not drawn: "
                     "take the class as i32[N] and one_hot it inside the model)" : "");
        return -1;
    }
    g->noise_numel = n, g->c = (int)out->shape[0], g->h = (int)out->shape[1], g->w = (int)out->shape[2];
    return 0;
}

/* How many images in how many columns; the class of image s into labels. -1 with an error. */
static int grid_layout(const grid_form_t *g, const dl_grid_options *o, int64_t *n, int *cols, int32_t **labels) {
    const int classes = o->classes > 0 ? o->classes : 10;
    *labels = NULL;
    if (g->cls < 0) {
        if (o->label_set || o->classes) {
            dl_set_error("--label and --classes are for a generator with a class input (i32[N])");
            return -1;
        }
    } else if (o->label_set && (o->label < 0 || o->label >= classes)) {
        dl_set_error("--label %d is not a class in [0, %d)%s", o->label, classes,
                     o->classes ? "" : " (--classes sets how many; default 10)");
        return -1;
    } else if (!o->label_set && o->count < classes) {
        dl_set_error("--count %lld is fewer than the %d classes: one row per class needs at least one image each",
                     (long long)o->count, classes);
        return -1;
    }
    if (g->cls >= 0 && !o->label_set) {
        *cols = (int)(o->count / classes);
        *n = (int64_t)*cols * classes;
    } else {
        *n = o->count;
        *cols = (int)ceil(sqrt((double)*n));
        while ((int64_t)*cols * *cols < *n) (*cols)++; /* sqrt rounding */
    }
    if (g->cls < 0) return 0;
    if (!(*labels = malloc(sizeof **labels * (size_t)*n))) {
        dl_set_error("--grid: out of memory");
        return -1;
    }
    for (int64_t s = 0; s < *n; s++) (*labels)[s] = o->label_set ? o->label : (int32_t)(s / *cols);
    return 0;
}

int dl_sample_grid(const dl_model_api *api, const dl_grid_options *o) {
    if (!api || !o || !o->path) {
        dl_set_error("dl_sample_grid: missing argument");
        return -1;
    }
    grid_form_t g;
    if (grid_form(api, &g) != 0) return -1;
    const int64_t zn = g.noise_numel;
    const int C = g.c, H = g.h, W = g.w;
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
    int64_t n;
    int cols;
    int32_t *labels;
    if (grid_layout(&g, o, &n, &cols, &labels) != 0) return -1;
    const int rows = (int)((n + cols - 1) / cols);
    const int gw = cols * (W + 1) - 1, gh = rows * (H + 1) - 1;
    if ((int64_t)gw * gh > (int64_t)1 << 28) {
        free(labels);
        dl_set_error("--grid: a %dx%d picture is too large; lower --count", gw, gh);
        return -1;
    }
    const size_t per = (size_t)C * H * W;
    float *z = malloc(sizeof *z * (size_t)(n * zn)), *img = malloc(sizeof *img * per * (size_t)n);
    unsigned char *pix = calloc((size_t)gw * gh, (size_t)C); /* the gaps stay black */
    void *outs[8] = {0};
    void *m = NULL;
    int rc = -1;
    if (!z || !img || !pix || api->n_outputs > 8) {
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
    if (!(m = api->create_io(bounds))) goto done;
    if (o->prefix) {
        /* a model trained inside a several-model section: its tensors are "gen.*" */
        dl_load_report rep;
        if (!api->load_prefix || api->load_prefix(m, o->checkpoint, o->prefix, &rep) != 0) goto done;
        if (rep.missing) {
            dl_set_error("%s: %d tensor%s of model '%s' not in the checkpoint under the prefix '%s' (%s)",
                         o->checkpoint, rep.missing, rep.missing == 1 ? "" : "s", api->name, o->prefix,
                         rep.missing_names);
            goto done;
        }
    } else if (api->load(m, o->checkpoint) != 0) {
        goto done;
    }
    dl_rng rng;
    dl_rng_seed(&rng, o->seed);
    for (int64_t i = 0; i < n * zn; i++) z[i] = dl_rng_normal(&rng);
    const void *in[2];
    in[g.noise] = z;
    if (g.cls >= 0) in[g.cls] = labels;
    dl_clear_error();
    if (api->reset_state) api->reset_state(m);
    api->forward_io(m, in, outs, n, NULL);
    if (dl_last_error()[0]) goto done;
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
    dl_atomic_file af;
    if (dl_atomic_create(&af, o->path) != 0) goto done;
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = (png_uint_32)gw;
    im.height = (png_uint_32)gh;
    im.format = C == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    int ok = png_image_write_to_stdio(&im, af.f, 0, pix, 0, NULL);
    if (!ok) dl_set_error("%s: cannot encode the PNG: %s", o->path, im.message);
    png_image_free(&im);
    if (!ok) {
        dl_atomic_abort(&af);
        goto done;
    }
    if (dl_atomic_commit(&af) != 0) goto done;
    rc = 0;
done:
    if (m) api->destroy(m);
    for (int k = 1; k < 8; k++) free(outs[k]);
    free(z);
    free(labels);
    free(img);
    free(pix);
    return rc;
}
