/* init_internal.h — the initializers that need more than one formula per
 * element, shared by init.c (dl_init_tensor) and init_shaped.c
 * (dl_init_shaped). */
#ifndef DL_INIT_INTERNAL_H
#define DL_INIT_INTERNAL_H

#include "dlnrt.h"

/* w[0..n) from N(mean, std^2) truncated to [lo, hi] (std > 0, lo < hi), by
 * the inverse CDF in double: every value lies in [lo, hi] (init_trunc_normal.c). */
void dl_fill_trunc_normal(float *w, int64_t n, double mean, double std, float lo, float hi, dl_rng *rng);

/* w = gain * an orthogonal rows x cols matrix, torch.nn.init.orthogonal_'s
 * algorithm (init_orthogonal.c). 0, or -1 with the error set when out of memory. */
int dl_fill_orthogonal(float *w, int64_t rows, int64_t cols, double gain, dl_rng *rng);

#endif
