/* dist.c — data-parallel training: the rank's slice of a batch, the
 * gradient sum the generated step asks for, and the checks that keep the
 * ranks in step (dist.h says how). The transport is dist_mpi.c's or the
 * single-process fallback's.
 *
 * Weights: every loss the stdlib gives is a mean over the batch, so a
 * rank's gradient is the mean over its rows; scaled by rows / n before the
 * sum, the sum is the global batch's mean gradient. At one rank the weight
 * is 1 and the sum is the identity: `mpirun -np 1` trains to the bits of a
 * plain run. At P ranks the batch's sum is split at other places than one
 * process splits it, so the bits differ within float rounding
 * (docs/design.md, "Data-parallel training"). */
#include "dist.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Seconds on the monotonic clock. Not train.c's dl_now: a model linked
 * with libdlnrt.a would pull the whole driver in through this file. */
static double dist_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static struct {
    int begun, rank, size;
    int stopped;        /* a failure was seen by every rank: no more collectives */
    int hooked;         /* dl_grads_reduce ran in this step */
    float weight;       /* this rank's rows / the global batch */
    float loss;         /* the global batch's loss of the last step */
    float local_loss;   /* this rank's part of it */
    int follower;       /* a failure seen here is another rank's (dl_dist_follow) */
    double seconds;     /* in the gradient exchange */
    double waited;      /* of which in the control exchange before it: mostly waiting for the slowest rank */
    int64_t calls;
} D = {.size = 1, .weight = 1.0f};

int dl_dist_begin(void)
{
    if (D.begun) return 0;
    if (dl_dist_tr_init(&D.rank, &D.size)) return -1;
    D.begun = 1;
    if (D.rank > 0) {
        /* rank 0 alone prints; errors still go to every rank's stderr */
        fflush(stdout);
        const int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) { dup2(fd, STDOUT_FILENO); close(fd); }
    }
    return 0;
}

int dl_dist_rank(void) { return D.rank; }
int dl_dist_size(void) { return D.size; }
int dl_dist_stopped(void) { return D.stopped; }
double dl_dist_reduce_seconds(void) { return D.seconds; }
double dl_dist_wait_seconds(void) { return D.waited; }
int64_t dl_dist_reduce_calls(void) { return D.calls; }

void dl_dist_shard_of(int64_t n, int rank, int size, int64_t *first, int64_t *count)
{
    *first = n * rank / size;
    *count = n * (rank + 1) / size - *first;
}

void dl_dist_shard(int64_t n, int64_t *first, int64_t *count) { dl_dist_shard_of(n, D.rank, D.size, first, count); }

void dl_dist_step_begin(int64_t n, int64_t count_with_rows)
{
    D.hooked = 0;
    D.weight = (float)((double)count_with_rows / (double)n);
}

void dl_dist_rows(dl_batch *out, const dl_batch *b, int64_t first, int64_t count)
{
    *out = *b;
    out->n = count;
    for (int f = 0; f < b->n_fields; f++) {
        int64_t per = 1;
        for (int d = 0; d < b->field[f].rank; d++) per *= b->field[f].shape[d];
        if (b->field[f].data) out->field[f].data = (const char *)b->field[f].data + (size_t)(first * per) * 4;
    }
}

int dl_dist_step_end(float *loss)
{
    if (D.hooked) *loss = D.loss;
    return D.hooked;
}

/* After a collective that saw a failure: every rank learns the first failing
 * rank's reason. One fixed-size message per rank, gathered in rank order. */
#define DIST_MSG 480
static void dist_failure(int failed)
{
    char mine[DIST_MSG] = "";
    if (failed) snprintf(mine, sizeof mine, "%s", dl_last_error()[0] ? dl_last_error() : "failed");
    D.stopped = 1;
    char *all = calloc((size_t)D.size, DIST_MSG);
    if (!all || dl_dist_tr_gather(mine, all, DIST_MSG)) {
        dl_set_error("rank %d of %d: another rank failed (its reason was lost)", D.rank, D.size);
        free(all);
        return;
    }
    for (int k = 0; k < D.size; k++) {
        const char *msg = all + (size_t)k * DIST_MSG;
        if (msg[0]) {
            char copy[DIST_MSG];
            memcpy(copy, msg, DIST_MSG);
            copy[DIST_MSG - 1] = '\0';
            dl_set_error("rank %d of %d: %s", k, D.size, copy);
            break;
        }
    }
    free(all);
}

void dl_dist_follow(void)
{
    if (D.hooked && isfinite(D.local_loss)) D.follower = 1;
}

int dl_dist_check(int failed)
{
    if (D.size <= 1) return failed ? -1 : 0;
    if (D.stopped) return -1;
    if (D.follower) failed = 0;
    /* the shape of dl_grads_reduce's control exchange, which this may answer */
    double c[2] = {failed ? 1 : 0, 0};
    if (dl_dist_tr_sum_f64(c, 2)) { D.stopped = 1; return -1; }
    if (c[0] > 0) { dist_failure(failed); return -1; }
    return 0;
}

void dl_grads_reduce(float *grads, int64_t n, float loss)
{
    D.hooked = 1;
    D.loss = D.local_loss = loss;
    if (D.size <= 1 || D.stopped) return;
    /* first whether every rank got here (a rank whose step failed answers
     * with dl_dist_check(1)), with the weighted losses; then the gradients */
    double c[2] = {0, (double)D.weight * loss};
    const double t0 = dist_now();
    if (dl_dist_tr_sum_f64(c, 2)) { D.stopped = 1; D.loss = NAN; return; }
    if (c[0] > 0) { dist_failure(0); D.loss = NAN; return; }
    D.loss = (float)c[1];
    D.waited += dist_now() - t0;
    if (D.weight != 1.0f)
        for (int64_t i = 0; i < n; i++) grads[i] *= D.weight;
    if (dl_dist_tr_sum_f32(grads, n)) { D.stopped = 1; D.loss = NAN; return; }
    D.seconds += dist_now() - t0;
    D.calls++;
}

int dl_dist_same(const int64_t *values, const char *const *names, int n)
{
    if (D.size <= 1 || D.stopped) return D.stopped ? -1 : 0;
    int64_t *all = malloc((size_t)D.size * (size_t)n * sizeof *all);
    if (!all) { dl_set_error("out of memory"); return -1; }
    if (dl_dist_tr_gather(values, all, n * (int)sizeof *values)) { D.stopped = 1; free(all); return -1; }
    for (int k = 1; k < D.size; k++)
        for (int i = 0; i < n; i++)
            if (all[(size_t)k * n + i] != all[i]) {
                /* every rank sees the same table, so every rank stops here alike */
                dl_set_error("rank %d of %d: %s %lld there, %lld on rank 0 (every rank must run the same model, options "
                             "and data)", k, D.size, names[i], (long long)all[(size_t)k * n + i], (long long)all[i]);
                D.stopped = 1;
                free(all);
                return -1;
            }
    free(all);
    return 0;
}

/* FNV-1a over the bytes: equal on every rank means the same values. */
static uint64_t dist_digest(const float *p, int64_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    uint64_t h = 1469598103934665603ULL;
    for (int64_t i = 0; i < n * (int64_t)sizeof(float); i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

int dl_dist_average_buffers(const dl_model_api *api, void *m)
{
    if (D.size <= 1 || D.stopped) return 0;
    uint64_t *all = malloc((size_t)D.size * sizeof *all);
    if (!all) { dl_set_error("out of memory"); return -1; }
    for (int i = 0; api->param_data && api->params && i < api->n_params; i++) {
        if (api->params[i].trainable) continue;
        float *p = api->param_data(m, i);
        if (!p) continue;
        /* a frozen parameter is the same on every rank: averaging it could
         * round it (x + x + x times 1/3), so it is left alone */
        const uint64_t mine = dist_digest(p, api->params[i].numel);
        if (dl_dist_tr_gather(&mine, all, sizeof mine)) { D.stopped = 1; free(all); return -1; }
        int same = 1;
        for (int k = 1; k < D.size; k++) same &= all[k] == all[0];
        if (same) continue;
        if (dl_dist_tr_sum_f32(p, api->params[i].numel)) { D.stopped = 1; free(all); return -1; }
        const float inv = 1.0f / (float)D.size;
        for (int64_t k = 0; k < api->params[i].numel; k++) p[k] *= inv;
    }
    free(all);
    return 0;
}
