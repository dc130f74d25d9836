/* bench_main.c — time one compiled model: training steps and batch-1 inference.
 *
 * Linked with a model's generated C (dlnc model.dln -o model.c) and libdlnrt,
 * like tests/e2e/smoke_main.c, so what is timed is exactly what users get:
 * the generic dl_model_api of the entry model. Thread count comes from the
 * environment (OMP_NUM_THREADS), as it would for a user; the wait policy is
 * `dlnc run`'s (a brief spin, then sleep: runtime/team.c, unless
 * OMP_WAIT_POLICY, GOMP_SPINCOUNT or KMP_BLOCKTIME is set).
 *
 *   bench_main [--batch B] [--reps R] [--min-time S] [--only train|infer] [--team] [--cpu-time]
 *
 * --team trains as `dlnc run` does: the thread team (runtime/team.c) times
 * the step at OMP_NUM_THREADS, half of it, ... 1 and keeps the fastest,
 * exploring again as it would in a run; the warm-up lasts until its first
 * choice, and the steps timed include its later explorations, as a user's
 * would. The count it chose last is printed as team_threads=.
 *
 * --cpu-time times in the process's CPU time instead of wall time: at one
 * thread, the steadier measure on a loaded machine (bench/ab.sh uses it to
 * compare two builds). At more threads it sums the threads' time.
 *
 * Each of R repetitions runs train_step (batch B, fixed random data) until S
 * seconds have passed (at least 3 steps, unless they take over 3 S) and
 * records the mean step time (at most 2 repetitions past 10 S in all); the
 * reported value is the median over repetitions, the statistic least moved by
 * a busy machine. The same for forward at batch 1. Prints one line of
 * key=value pairs for bench/run.sh:
 *
 *   train_ms=... train_sps=... train_gflops=... infer_ms=... infer_gflops=...
 *   rss_mb=... arena_mb=...
 *
 * GFLOP/s use dlnc_flops() — the op table's FLOP counts, emitted with the
 * model — so they count the model's arithmetic, not the optimizer's. RSS is
 * the process's peak (getrusage), i.e. including libc/OpenMP overhead.
 *
 * A model of the general form (ABI 4 io entry points: token inputs, a
 * sequence length T) runs through train_io/forward_io with every run-time
 * symbol at its train section's seq_len (64 without one); integer inputs
 * and fields hold random ids below the first output's last dimension (the
 * classes). dlnc_flops counts the other symbols at 1, so its figure is
 * scaled by T (all of such a model's work is per position); a model whose
 * positions are a constant (an attention over T = 64) has no symbol but N,
 * and its count is whole. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_util.h"
#include "dlnrt.h"

const dl_model_api *dlnc_entry(void);
double dlnc_flops(int graph, int64_t n);
int64_t dlnc_memory_bytes(int64_t max_batch, int optim_slots);

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* What the command line asks for. */
typedef struct bench_opts {
    int64_t batch;
    int reps;
    double min_time;
    const char *only; /* "train", "infer" or "" for both */
    dl_team *team;   /* --team: the thread count adapts per step; NULL: fixed */
    clockid_t clock; /* what time_one measures: wall (CLOCK_MONOTONIC) or CPU time */
} bench_opts;

typedef struct bench_ctx {
    const dl_model_api *api;
    void *m;
    const float *x;
    const void *y;
    float *out;
    int64_t batch;
    int io;                 /* the general form: the io entry points */
    const void *args[16];   /* its inputs then fields */
    void *outs[8];
    int64_t syms[8];        /* values of symbols 1.. (T) */
    const bench_opts *o;
} bench_ctx;

/* Seconds per call of train_step (what = 0) or forward at batch 1 (what = 1). */
static double time_one(const bench_ctx *b, int what, double min_time)
{
    int calls = 0;
    double t0 = bench_clock(b->o->clock), t;
    do {
        if (what == 0) {
            const double t_step = b->o->team ? (dl_team_begin(b->o->team), bench_now()) : 0;
            float loss = b->io ? b->api->train_io(b->m, b->args, b->batch, b->syms)
                               : b->api->train_step(b->m, b->x, b->y, b->batch);
            if (loss != loss) {
                fprintf(stderr, "bench_main: train_step failed: %s\n", dl_last_error());
                exit(1);
            }
            if (b->o->team) dl_team_end(b->o->team, bench_now() - t_step, b->batch);
        } else if (b->io) {
            b->api->forward_io(b->m, b->args, b->outs, 1, b->syms);
        } else {
            b->api->forward(b->m, b->x, b->out, 1);
        }
        calls++;
        t = bench_clock(b->o->clock) - t0;
    } while (t < min_time || (calls < 3 && t < 3 * min_time));
    return t / calls;
}

/* Median seconds per train step and per batch-1 forward, as main's loop. */
static void time_both(bench_ctx *b, double *samples, double *train_s, double *infer_s)
{
    const bench_opts *o = b->o;
    *train_s = *infer_s = 0;
    for (int what = 0; what < 2; what++) {
        if (strcmp(o->only, what ? "train" : "infer") == 0) continue;
        time_one(b, what, 0.05); /* warm-up: page faults, OpenMP thread start */
        while (what == 0 && o->team && o->team->exploring) time_one(b, what, 0); /* the team's first choice */
        int done = 0;
        for (double t0 = bench_now(); done < o->reps && (done < 2 || bench_now() - t0 < 10 * o->min_time); done++)
            samples[done] = time_one(b, what, o->min_time);
        *(what ? infer_s : train_s) = median(samples, done);
    }
}

/* The line bench/run.py reads; flops_scale as in bench_io. */
static void print_result(const bench_ctx *b, double train_s, double infer_s, double flops_scale)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const int slots = b->api->train ? dl_optim_state_slots(b->api->train->optim.kind) : 0;
    printf("train_ms=%.4f train_sps=%.2f train_gflops=%.2f infer_ms=%.4f infer_gflops=%.2f rss_mb=%.1f arena_mb=%.2f",
           train_s * 1e3, 1.0 / train_s, dlnc_flops(2, b->batch) * flops_scale / train_s * 1e-9, infer_s * 1e3,
           dlnc_flops(0, 1) * flops_scale / infer_s * 1e-9, (double)ru.ru_maxrss / 1024.0,
           (double)dlnc_memory_bytes(b->batch, slots) / (1024.0 * 1024.0));
    if (b->o->team) /* its choice, not the count an exploration was trying as the run ended */
        printf(" team_threads=%d", b->o->team->chosen ? b->o->team->chosen : b->o->team->threads);
    printf("\n");
}

static int64_t io_numel(const dl_io_info *io, const int64_t *sym)
{
    int64_t n = 1;
    for (int d = 0; d < io->rank; d++) n *= io->shape[d] < 0 ? sym[-io->shape[d]] : io->shape[d];
    return n;
}

/* The general form (see the top comment). */
static int bench_io(const dl_model_api *api, const bench_opts *o)
{
    const int64_t batch = o->batch;
    const int64_t T = api->train && api->train->data.seq_len > 0 ? api->train->data.seq_len : 64;
    const double flops_scale = api->n_syms > 1 ? (double)T : 1.0;
    int64_t sym[8] = {batch};
    for (int k = 1; k < api->n_syms && k < 8; k++) sym[k] = T;
    bench_ctx b = {.api = api, .batch = batch, .io = 1, .o = o};
    for (int k = 1; k < 8; k++) b.syms[k - 1] = sym[k];
    if (api->n_inputs + api->n_fields > 16 || api->n_outputs > 8 || !(b.m = api->create_io(sym))) {
        fprintf(stderr, "bench_main: create failed: %s\n", dl_last_error());
        return 1;
    }
    api->init(b.m, 42);
    const dl_io_info *o0 = &api->outputs[0];
    const int64_t classes = o0->rank > 0 && o0->shape[o0->rank - 1] > 0 ? o0->shape[o0->rank - 1] : 2;
    dl_rng r;
    dl_rng_seed(&r, 7);
    for (int i = 0; i < api->n_inputs + api->n_fields; i++) {
        const dl_io_info *io = i < api->n_inputs ? &api->inputs[i] : &api->fields[i - api->n_inputs];
        const int64_t n = batch * io_numel(io, sym);
        void *v = malloc(4 * (size_t)n);
        if (!v) return 1;
        for (int64_t j = 0; j < n; j++) {
            if (io->dtype == DL_I32) ((int32_t *)v)[j] = (int32_t)(dl_rng_next(&r) % (uint64_t)classes);
            else ((float *)v)[j] = dl_rng_uniform(&r);
        }
        b.args[i] = v;
    }
    for (int k = 0; k < api->n_outputs; k++)
        if (!(b.outs[k] = malloc(4 * (size_t)(batch * io_numel(&api->outputs[k], sym))))) return 1;
    api->set_lr(b.m, 1e-5f);
    double *samples = malloc(sizeof(double) * (size_t)o->reps), train_s, infer_s;
    if (!samples) return 1;
    time_both(&b, samples, &train_s, &infer_s);
    print_result(&b, train_s, infer_s, flops_scale);
    api->destroy(b.m);
    for (int i = 0; i < api->n_inputs + api->n_fields; i++) free((void *)b.args[i]);
    for (int k = 0; k < api->n_outputs; k++) free(b.outs[k]);
    free(samples);
    return 0;
}

int main(int argc, char **argv)
{
    dl_team_wait_policy(argv); /* as `dlnc run` trains: threads sleep at barriers unless the caller chose */
    dl_team team;
    dl_team_init(&team, omp_get_max_threads(), 0, 0);
    if (getenv("BENCH_TEAM_TRACE")) team.trace = stderr; /* a line per step: what the team timed */
    bench_opts o = {.batch = 128, .reps = 7, .min_time = 0.3, .only = "", .clock = CLOCK_MONOTONIC};
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--batch") == 0) o.batch = atoll(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--reps") == 0) o.reps = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--min-time") == 0) o.min_time = atof(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--only") == 0) o.only = argv[++i];
        else if (strcmp(argv[i], "--team") == 0) o.team = &team;
        else if (strcmp(argv[i], "--cpu-time") == 0) o.clock = CLOCK_PROCESS_CPUTIME_ID;
        else {
            fprintf(stderr,
                    "usage: %s [--batch B] [--reps R] [--min-time SECONDS] [--only train|infer] [--team] [--cpu-time]\n",
                    argv[0]);
            return 2;
        }
    }
    if (o.batch < 1 || o.reps < 1 || o.reps > 1000 || !(o.min_time >= 0)) {
        fprintf(stderr, "bench_main: bad arguments\n");
        return 2;
    }
    const dl_model_api *api = dlnc_entry();
    if (!api->train_step) return bench_io(api, &o);
    const int64_t batch = o.batch;
    void *m = api->create(batch);
    if (!m) {
        fprintf(stderr, "bench_main: create failed: %s\n", dl_last_error());
        return 1;
    }
    api->init(m, 42);
    float *x, *out = malloc(sizeof(float) * (size_t)(batch * api->out_numel));
    void *y;
    double *samples = malloc(sizeof(double) * (size_t)o.reps);
    if (bench_random_batch(api, batch, &x, &y) || !out || !samples) {
        fprintf(stderr, "bench_main: out of memory\n");
        return 1;
    }
    bench_ctx b = {.api = api, .m = m, .x = x, .y = y, .out = out, .batch = batch, .o = &o};
    /* A small learning rate keeps repeated steps on one batch finite. */
    api->set_lr(m, 1e-5f);
    double train_s, infer_s;
    time_both(&b, samples, &train_s, &infer_s);

    print_result(&b, train_s, infer_s, 1.0);
    api->destroy(m);
    free(x);
    free(out);
    free(y);
    free(samples);
    return 0;
}
