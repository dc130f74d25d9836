/* image_grid_internal.h — what the image samplers share (runtime only):
 * `dlnc sample --grid` (image_grid.c) and `--ddpm` (sample_ddpm.c) both load
 * a model's tensors from a checkpoint and write a batch of images as one
 * PNG grid. */
#ifndef DLNRT_IMAGE_GRID_INTERNAL_H
#define DLNRT_IMAGE_GRID_INTERNAL_H
#include "dlnrt.h"

/* Checks count and range, the grid's size, and that a checkpoint is named;
 * -1 with the error otherwise. */
int dl_grid_check(const dl_grid_options *o, int H, int W);
/* Loads m's tensors from o->checkpoint: strictly (api->load) when o->prefix
 * is NULL and superset is 0; otherwise every tensor of the model from the
 * file's o->prefix + name ("" when NULL), the file's others skipped and
 * reported in *rep. -1 with the error when a tensor is missing. */
int dl_grid_load(const dl_model_api *api, void *m, const dl_grid_options *o, int superset, dl_load_report *rep);
/* img: n images f32[C, H, W], C = 1 or 3, tiled row by row in
 * ceil(sqrt(n)) columns with 1-pixel black gaps, [o->lo, o->hi] mapped to
 * [0, 255] (clamped, NaN black), written to o->path atomically. */
int dl_grid_write(const dl_grid_options *o, const float *img, int64_t n, int C, int H, int W);

#endif
