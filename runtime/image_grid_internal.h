/* image_grid_internal.h — what the two image samplers share (image_grid.c,
 * sample_pixel.c): checking the options, making and loading the model, and
 * writing a batch of images as one PNG grid. */
#ifndef DLNRT_IMAGE_GRID_INTERNAL_H
#define DLNRT_IMAGE_GRID_INTERNAL_H
#include "dlnrt.h"

/* Checks the count, range and checkpoint of o, creates the model at batch
 * o->count and loads the checkpoint into it (under o->prefix when set, every
 * tensor of the model required). NULL + dl_last_error() on failure. */
void *dl_grid_model(const dl_model_api *api, const dl_grid_options *o);
/* img: o->count images f32[C, H, W], tiled row by row in ceil(sqrt(count))
 * columns with 1-pixel black gaps, [o->lo, o->hi] mapped to [0, 255], into
 * the PNG o->path, written whole or not at all. 0, or -1 + dl_last_error(). */
int dl_grid_write(const dl_grid_options *o, const float *img, int C, int H, int W);
#endif
