/* dist.h — data-parallel training over the ranks of an MPI job.
 *
 * `mpirun -np P dlnc run m.dln` starts P copies of the same run. Each rank
 * loads the data and draws the same global batches (same seed), trains on
 * its slice of every batch, and the gradients are summed over the ranks
 * (dl_grads_reduce, called by the generated train step between backward and
 * update), so every rank applies the same update to the same weights. Rank 0
 * alone evaluates, prints and saves.
 *
 * Ranks stay in step because every rank makes the same collectives in the
 * same order: per step the hook's (a small control exchange, then the
 * gradients), per epoch dl_dist_average_buffers and dl_dist_check, and one
 * final dl_dist_check. A rank that fails anywhere answers the next
 * collective the others make with a failure (dl_dist_check(1) at the
 * driver's exit), which they all see; from then on no collective is made.
 *
 * The transport (dl_dist_tr_*) is the only code that touches MPI: in
 * dist_mpi.c, linked into dlnc when the build finds mpicc, and otherwise the
 * single-process fallback of dist_single.c. Nothing else includes mpi.h. */
#ifndef DLNRT_DIST_H
#define DLNRT_DIST_H
#include <stdint.h>

#include "dlnrt.h"

/* Joins the job when launched by mpirun (once per process; later calls do
 * nothing); a plain process is rank 0 of 1. On ranks > 0 stdout goes to
 * /dev/null: rank 0 alone prints progress. -1 with an error if MPI fails. */
int dl_dist_begin(void);
int dl_dist_rank(void);
int dl_dist_size(void);
/* 1 once a failure has been seen collectively: no collective after that. */
int dl_dist_stopped(void);

/* Before a training step: this rank's rows [first, first + count) of a
 * global batch of n (count >= 1: a rank without rows trains on row 0 with
 * weight 0, so it still applies the update). Its gradient enters the sum
 * with weight count / n, so the sum is the global batch's mean gradient. */
void dl_dist_shard(int64_t n, int64_t *first, int64_t *count);
void dl_dist_shard_of(int64_t n, int rank, int size, int64_t *first, int64_t *count); /* any rank's */
void dl_dist_step_begin(int64_t n, int64_t count_with_rows);
/* b's rows [first, first + count) as a batch of count (the fields' data
 * point into b's: every dtype is 4 bytes, samples batch-major). */
void dl_dist_rows(dl_batch *out, const dl_batch *b, int64_t first, int64_t count);
/* After it: 1 if dl_grads_reduce ran in the step; *loss the global batch's
 * loss (the ranks' losses combined with their weights). */
int dl_dist_step_end(float *loss);

/* After a step whose global loss is not finite: if this rank's own loss
 * was, its failure is another rank's, and its next dl_dist_check reports
 * none, so that every rank prints the message of the rank whose rows
 * produced it. */
void dl_dist_follow(void);

/* Every rank calls this at the same point; failed != 0 says this rank
 * failed (dl_last_error() says why). Returns -1 when any rank failed, with
 * the error "rank k of P: <its error>" of the first such rank on every rank. */
int dl_dist_check(int failed);

/* That every rank runs the same run: values[i] (named names[i]) must be
 * rank 0's on every rank, or every rank stops with the first difference
 * ("rank 1 of 2: 19 batches per epoch here, 18 on rank 0"). Ranks that
 * disagreed on the epochs or the batches per epoch would not make the same
 * collectives and would wait for each other forever. Call after a
 * dl_dist_check(0), so that a rank that failed before is already known. */
int dl_dist_same(const int64_t *values, const char *const *names, int n);

/* Non-trainable parameters (batch norm's running statistics) averaged over
 * the ranks, so that the model rank 0 evaluates and saves has them all. */
int dl_dist_average_buffers(const dl_model_api *api, void *m);

/* Seconds spent in the gradient exchange, and its calls, since the start;
 * of those seconds, the ones in the small exchange before the gradients',
 * where a rank waits for the slowest (the rest moves and adds gradients). */
double dl_dist_reduce_seconds(void);
double dl_dist_wait_seconds(void);
int64_t dl_dist_reduce_calls(void);

/* ---- the transport: dist_mpi.c, or dist_single.c's fallback ---- */
int dl_dist_tr_init(int *rank, int *size);           /* 0 or -1 with an error */
int dl_dist_tr_sum_f32(float *x, int64_t n);         /* in place, over the ranks */
int dl_dist_tr_sum_f64(double *x, int n);
int dl_dist_tr_gather(const void *mine, void *all, int bytes); /* all: size * bytes, rank order */

#endif
