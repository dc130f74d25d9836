/* bench_util.h — what the programs timing a compiled model share
 * (bench_main.c, conv_layers.c): a wall or CPU-time clock, a comparison for qsort,
 * and the fixed random batch a training step runs on. Header-only: each
 * program is one file linked with a model and libdlnrt. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

#include "dlnrt.h"

/* Seconds on `clk`: CLOCK_MONOTONIC is wall time; CLOCK_PROCESS_CPUTIME_ID is
 * the process's CPU time, the steadier measure of a 1-thread run on a shared
 * machine (another process's slice is not counted). */
static inline double bench_clock(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline double bench_now(void) { return bench_clock(CLOCK_MONOTONIC); }

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Inputs uniform in [0, 1) and labels (class ids below out_numel, or
 * targets in [0, 1)) for `batch` examples of a train_step model, the same
 * every run (seed 7). 0, or -1 when out of memory (nothing left allocated). */
static inline int bench_random_batch(const dl_model_api *api, int64_t batch, float **x_out, void **y_out)
{
    const int64_t ny = api->label_kind == DL_LABEL_CLASS ? batch : batch * api->label_numel;
    float *x = malloc(sizeof(float) * (size_t)(batch * api->in_numel));
    void *y = malloc(4 * (size_t)ny);
    if (!x || !y) {
        free(x);
        free(y);
        return -1;
    }
    dl_rng r;
    dl_rng_seed(&r, 7);
    for (int64_t i = 0; i < batch * api->in_numel; i++) x[i] = dl_rng_uniform(&r);
    for (int64_t i = 0; i < ny; i++) {
        if (api->label_kind == DL_LABEL_CLASS) ((int32_t *)y)[i] = (int32_t)(dl_rng_next(&r) % (uint64_t)api->out_numel);
        else ((float *)y)[i] = dl_rng_uniform(&r);
    }
    *x_out = x, *y_out = y;
    return 0;
}

#endif
