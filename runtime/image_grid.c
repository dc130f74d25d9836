/* image_grid.c — pictures from a trained image generator (`dlnc sample --grid`).
 *
 * Any compiled model whose one f32 input is noise or a latent (of any
 * per-sample shape) and whose first output is f32[N, C, H, W] with C = 1 or 3
 * can draw: the inputs are N(0, 1) from a generator seeded with the seed, the
 * forward runs once at batch `count`, and the images are tiled row by row
 * into ceil(sqrt(count)) columns (image_tiles.c: 1-pixel black gaps, [lo, hi]
 * to [0, 255] clamped, an atomic PNG), so the same checkpoint, seed and count
 * give the same bytes and a failed write leaves no half file. A conditional
 * generator's i32[N] class input gets one row per class (so a grid compares
 * the classes column by column), or every image of one class (--label). */
#include "dlnrt.h"
#include "image_tiles_internal.h"

#include <math.h>
#include <stdlib.h>

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
    const int image_out = dl_image_output_form(api, 0, &g->c, &g->h, &g->w) == 0;
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
    const int64_t n = ok ? dl_fixed_numel(api->inputs[g->noise].shape, api->inputs[g->noise].rank) : 0;
    ok = ok && n > 0;
    if (!ok) {
        dl_set_error("model '%s' cannot draw a grid: --grid needs one f32 input (noise or a latent, sizes fixed "
                     "but N), at most one i32[N] class input, and an image output f32[N, C, H, W] with C = 1 or 3"
                     "%s", api->name, image_out && api->n_inputs == 2 && api->inputs[0].dtype == DL_F32 &&
                     api->inputs[1].dtype == DL_F32 ? " (a conditioning f32 input such as a one-hot is not drawn: "
                     "take the class as i32[N] and one_hot it inside the model)" : "");
        return -1;
    }
    g->noise_numel = n;
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
    if (dl_check_draw(o, DL_GRID_MAX_COUNT, "--count")) return -1;
    int64_t n;
    int cols;
    int32_t *labels;
    if (grid_layout(&g, o, &n, &cols, &labels) != 0) return -1;
    const int64_t zn = g.noise_numel;
    dl_canvas cv = {0};
    float *z = malloc(sizeof *z * (size_t)(n * zn));
    float **outs = dl_alloc_outputs(api, n);
    void *m = NULL;
    int rc = -1;
    if (!z || !outs || dl_canvas_init(&cv, cols, (int)((n + cols - 1) / cols), g.c, g.h, g.w)) goto done;
    if (!(m = dl_sample_open(api, n, o))) goto done;
    dl_rng rng;
    dl_rng_seed(&rng, o->seed);
    for (int64_t i = 0; i < n * zn; i++) z[i] = dl_rng_normal(&rng);
    const void *in[2];
    in[g.noise] = z;
    if (g.cls >= 0) in[g.cls] = labels;
    dl_clear_error();
    if (api->reset_state) api->reset_state(m);
    api->forward_io(m, in, (void *const *)outs, n, NULL);
    if (dl_last_error()[0]) goto done;
    for (int64_t s = 0; s < n; s++)
        dl_canvas_put(&cv, (int)(s % cols), (int)(s / cols), outs[0] + (size_t)s * g.c * g.h * g.w, o->lo, o->hi,
                      o->sigmoid);
    rc = dl_canvas_write_png(&cv, o->path);
done:
    if (m) api->destroy(m);
    dl_free_outputs(outs);
    dl_canvas_free(&cv);
    free(z);
    free(labels);
    return rc;
}

int dl_tile_png(const dl_grid_options *o, const float *img, int64_t n, int C, int H, int W) {
    int cols = (int)ceil(sqrt((double)n));
    while ((int64_t)cols * cols < n) cols++; /* sqrt rounding */
    dl_canvas cv = {0};
    int rc = -1;
    if (dl_canvas_init(&cv, cols, (int)((n + cols - 1) / cols), C, H, W) == 0) {
        for (int64_t s = 0; s < n; s++)
            dl_canvas_put(&cv, (int)(s % cols), (int)(s / cols), img + (size_t)s * C * H * W, o->lo, o->hi, o->sigmoid);
        rc = dl_canvas_write_png(&cv, o->path);
    }
    dl_canvas_free(&cv);
    return rc;
}
