/* image_grid.c — pictures from a trained image generator (`dlnc sample --grid`).
 *
 * Any compiled model whose one input is f32 (noise or a latent, of any
 * per-sample shape) and whose first output is f32[N, C, H, W] with C = 1 or 3
 * can draw: the inputs are N(0, 1) from a generator seeded with the seed, the
 * forward runs once at batch `count`, and the images are tiled row by row
 * into ceil(sqrt(count)) columns (image_tiles.c: 1-pixel black gaps, [lo, hi]
 * to [0, 255] clamped, an atomic PNG), so the same checkpoint, seed and count
 * give the same bytes and a failed write leaves no half file. */
#include "dlnrt.h"
#include "image_tiles_internal.h"

#include <math.h>
#include <stdlib.h>

int dl_sample_grid(const dl_model_api *api, const dl_grid_options *o) {
    if (!api || !o || !o->path) {
        dl_set_error("dl_sample_grid: missing argument");
        return -1;
    }
    int C, H, W;
    int64_t zn;
    if (dl_decoder_form(api, &zn, &C, &H, &W)) {
        dl_set_error("model '%s' cannot draw a grid: --grid needs one f32 input (noise or a latent, sizes fixed "
                     "but N) and an image output f32[N, C, H, W] with C = 1 or 3", api->name);
        return -1;
    }
    if (dl_check_draw(o, DL_GRID_MAX_COUNT, "--count")) return -1;
    const int64_t n = o->count;
    float *z = malloc(sizeof *z * (size_t)(n * zn));
    float **outs = dl_alloc_outputs(api, n);
    void *m = NULL;
    int rc = -1;
    if (!z || !outs) goto done;
    if (!(m = dl_sample_open(api, n, o))) goto done;
    dl_rng rng;
    dl_rng_seed(&rng, o->seed);
    for (int64_t i = 0; i < n * zn; i++) z[i] = dl_rng_normal(&rng);
    const void *inp[1] = {z};
    dl_clear_error();
    if (api->reset_state) api->reset_state(m);
    api->forward_io(m, inp, (void *const *)outs, n, NULL);
    if (dl_last_error()[0]) goto done;
    rc = dl_tile_png(o, outs[0], n, C, H, W);
done:
    if (m) api->destroy(m);
    dl_free_outputs(outs);
    free(z);
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
