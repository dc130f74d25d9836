/* bench_alt.h — the timing shared by conv_bench.c and dw_bench.c: a kernel
 * and its older build (renamed old_dl_* with objcopy, linked into the same
 * binary) timed alternately, so that the load of a shared machine hits both
 * alike, and the median of each kept. Header-only: each bench is one .c. */
#ifndef BENCH_ALT_H
#define BENCH_ALT_H
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* CLOCK_PROCESS_CPUTIME_ID with "cpu" on the command line: steadier on a busy machine. */
static clockid_t bench_timer = CLOCK_MONOTONIC;

static double bench_now(void)
{
    struct timespec t;
    clock_gettime(bench_timer, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static float *bench_rnd(int64_t n)
{
    float *v = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = (float)rand() / RAND_MAX - 0.5f;
    return v;
}

/* run(ctx, op, old): one call of operation op, of the old build when old. */
typedef void bench_run_fn(void *ctx, int op, int old);

/* Seconds per call: enough calls for ~20 ms. */
static double bench_time_calls(bench_run_fn *run, void *ctx, int op, int old)
{
    int calls = 0;
    double t0 = bench_now(), t;
    do {
        run(ctx, op, old);
        calls++;
    } while ((t = bench_now() - t0) < 0.02);
    return t / calls;
}

static int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Medians over reps (at most 64) alternating rounds: *t_new of run(.., 0), *t_old of run(.., 1). */
static void bench_alternate(bench_run_fn *run, void *ctx, int op, int reps, double *t_new, double *t_old)
{
    double t[2][64];
    for (int r = 0; r < reps; r++)
        for (int old = 0; old < 2; old++) t[old][r] = bench_time_calls(run, ctx, op, old);
    qsort(t[0], (size_t)reps, sizeof(double), bench_cmp);
    qsort(t[1], (size_t)reps, sizeof(double), bench_cmp);
    *t_new = t[0][reps / 2], *t_old = t[1][reps / 2];
}

#endif
