/* image_tiles_internal.h — the pictures of `dlnc sample`'s image modes
 * (--grid, --reconstruct, --interpolate): images f32[C, H, W] placed in the
 * cells of a grid with 1-pixel black gaps and written as one PNG; and the
 * trained model they come from, created and loaded from a checkpoint (runtime
 * only: image_grid.c, image_recon.c, image_interp.c, sample_pixel.c). */
#ifndef DLNRT_IMAGE_TILES_INTERNAL_H
#define DLNRT_IMAGE_TILES_INTERNAL_H
#include <stdint.h>

struct dl_model_api;
struct dl_grid_options;
struct dl_data_config;
struct dl_dataset;

typedef struct dl_canvas {
    int cols, rows;                       /* cells */
    int C, H, W;                          /* each cell's image: C = 1 (grey) or 3 (RGB) */
    int width, height;                    /* pixels: cols (W + 1) - 1 by rows (H + 1) - 1 */
    unsigned char *pix;                   /* height x width x C, interleaved; gaps 0 */
} dl_canvas;

/* A black canvas; -1 with an error when it would be over 2^28 pixels or
 * memory runs out. */
int dl_canvas_init(dl_canvas *cv, int cols, int rows, int C, int H, int W);
/* Draws img (C planes of H x W) into cell (col, row): a value v becomes the
 * byte round(255 (v - lo) / (hi - lo)) clamped to [0, 255], NaN black; with
 * sigmoid, v is first 1 / (1 + e^-v) (the output was logits). */
void dl_canvas_put(dl_canvas *cv, int col, int row, const float *img, float lo, float hi, int sigmoid);
/* The whole canvas as a PNG, written atomically: -1 with an error naming path. */
int dl_canvas_write_png(const dl_canvas *cv, const char *path);
void dl_canvas_free(dl_canvas *cv);
/* n images f32[C, H, W] tiled row by row in ceil(sqrt(n)) columns, as
 * --grid draws them, into the PNG o->path (o->lo, o->hi, o->sigmoid). */
int dl_tile_png(const struct dl_grid_options *o, const float *img, int64_t n, int C, int H, int W);

/* Is output k of the model an image f32[N, C, H, W] with C = 1 or 3 and
 * fixed sizes? 0 and its sizes, or -1. */
int dl_image_output_form(const struct dl_model_api *api, int k, int *c, int *h, int *w);
/* A buffer for each of the model's outputs at batch n (symbolic sizes as 1);
 * NULL with an error. Freed by dl_free_outputs. */
#define DL_SAMPLE_MAX_OUTPUTS 8
float **dl_alloc_outputs(const struct dl_model_api *api, int64_t n);
void dl_free_outputs(float **outs);
/* A decoder or generator: one f32 input of fixed per-sample size *zn (a
 * latent, noise) and an image first output. 0, or -1 without an error set
 * (the caller says what it needed). */
int dl_decoder_form(const struct dl_model_api *api, int64_t *zn, int *c, int *h, int *w);
/* o->count in [1, max] (else "<count_flag> must be between 1 and max") and
 * o->lo < o->hi; -1 with the error. */
int dl_check_draw(const struct dl_grid_options *o, int64_t max, const char *count_flag);
/* Per-sample elements of a shape whose sizes are all fixed; 0 when one is a
 * run-time symbol (or the rank is 0: a scalar). */
int64_t dl_fixed_numel(const int64_t *shape, int rank);
/* Creates api's model for batches up to max_batch and loads o->checkpoint
 * into it: the model's own file when o->prefix is NULL; else the tensors
 * named o->prefix + each parameter's name, others in the file skipped,
 * printing what was used (as init_from does) — every tensor of the model
 * must be there. NULL with an error on any failure. */
void *dl_sample_open(const struct dl_model_api *api, int64_t max_batch, const struct dl_grid_options *o);

/* The evaluation images of a train section's data: the test split of an
 * image source (only it is read), else dl_load_data's evaluation set (a
 * validation split). *what is "test" or "validation". -1 with an error when
 * the data are not images or there is no evaluation set. */
int dl_load_eval_images(const struct dl_data_config *dc, uint64_t seed, struct dl_dataset *out, const char **what);
/* Does the model input `in` take one sample of d (f32, as many values)? */
int dl_input_takes(const struct dl_model_api *api, int k, const struct dl_dataset *d);

#endif
