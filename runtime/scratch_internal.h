/* scratch_internal.h — per-thread scratch buffers kept between calls (runtime only).
 *
 * Kernels that need temporary memory (GEMM packing, im2col columns) take it
 * from here instead of malloc/free per call: a training step then allocates
 * nothing after the first one, and the kernel's pages stay mapped (freshly
 * mmapped scratch costs a page fault and a page clear per 4 KB, which showed
 * up as a seventh of a ResNet step). Each thread has its own buffers, one per
 * slot, so concurrent tiles and nested users (conv -> gemm) never share. */
#ifndef DLNRT_SCRATCH_INTERNAL_H
#define DLNRT_SCRATCH_INTERNAL_H
#include <stdint.h>

enum {
    DL_SCRATCH_GEMM_PACK, /* gemm.c: packed A and B panels */
    DL_SCRATCH_CONV,      /* conv.c: im2col columns, the weight gradient's per-chunk partials */
    DL_SCRATCH_ATTN,      /* attention.c: one row of probabilities */
    DL_SCRATCH_NTXENT,    /* nt_xent.c: the normalized rows and per-row statistics */
    DL_SCRATCH_CLIP,      /* clip_loss.c: the rows' and the columns' log-sum-exps */
    DL_SCRATCH_WINOGRAD,  /* conv_winograd.c: transformed weights, tiles and products (conv.c's flipped
                             data-gradient weight stays live in DL_SCRATCH_CONV meanwhile) */
    DL_SCRATCH_LINALG,    /* linalg.c: one matrix and its right-hand side, in double */
    DL_SCRATCH_SLOTS
};

/* A 64-byte aligned buffer of at least `floats` floats for the calling thread,
 * valid until the next call with the same slot on this thread; contents are
 * unspecified. NULL (with dl_set_error) when memory runs out. Freed when the
 * thread exits. */
float *dl_scratch(int slot, int64_t floats);

/* Inside a parallel region (a kernel called from another's threads) a
 * kernel stays on its thread; without OpenMP it always does. */
#ifdef _OPENMP
#include <omp.h>
#define DL_IN_PARALLEL() omp_in_parallel()
#else
#define DL_IN_PARALLEL() 1
#endif

#endif
