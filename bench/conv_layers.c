/* conv_layers.c — the per-layer convolution profile of one compiled model
 * (issue 15: which layers are below 70% of the FMA peak, and below PyTorch).
 *
 * Linked like bench_main.c with a model's generated C and libdlnrt, plus
 *   -Wl,--wrap=dl_conv2d,--wrap=dl_conv2d_ep,--wrap=dl_conv2d_bwd_data,--wrap=dl_conv2d_bwd_weight
 * so that the model's own calls go through the wrappers below. The layer
 * shapes are therefore not typed in nor parsed from the C: one training step
 * of the model at the given batch records every geometry it passes to each
 * entry point, and how often (shared kernel bodies, epilogues, layers that
 * need no data gradient are all counted as they run). Then each distinct
 * geometry is timed in each pass the step made, through the same public
 * entry point the model called (a forward the model runs with an epilogue
 * goes through dl_conv2d_ep with an empty one: the convolution's cost
 * without the fused elementwise work), on random data.
 *
 *   conv_layers [--batch B] [--reps R] [--min-time S] [--list] [--cpu-time] [--best]
 *
 * Threads from OMP_NUM_THREADS, as bench_main.c (the record step runs at 1).
 * --cpu-time times in the process's CPU time (as bench_main.c's option: the
 * steadier measure of a 1-thread run on a shared machine). --best reports
 * the fastest repetition instead of the median: on a machine others load,
 * the nearest to a quiet one's wall time at 2 threads (many short reps).
 * Each figure is the median of R repetitions, each the mean over calls for
 * at least S seconds. One line per distinct layer for bench/run.py:
 *
 *   layer=0 n=64 c=3 h=32 w=32 oc=16 oh=32 ow=32 kh=3 kw=3 sh=1 sw=1 pt=1 pb=1 pl=1 pr=1
 *   dh=1 dw=1 groups=1 ep=1 fwd_count=1 data_count=0 weight_count=1 gflop=0.0566 fwd_ms=... weight_ms=...
 *
 * (one line; a pass the step never made has count 0 and no _ms key; gflop is
 * one call's 2 x multiply-adds, the same in all three passes). --list prints
 * the lines without timing. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "dlnrt.h"

const dl_model_api *dlnc_entry(void);

enum { PASS_FWD, PASS_DATA, PASS_WEIGHT, N_PASSES };
static const char *const pass_name[N_PASSES] = {"fwd", "data", "weight"};

typedef struct layer {
    dl_conv2d_geom g;
    int count[N_PASSES];
    int ep;               /* the model's forward went through dl_conv2d_ep */
} layer;

#define MAX_LAYERS 256
static layer layers[MAX_LAYERS];
static int n_layers, recording, overflow;
static clockid_t timing_clock = CLOCK_MONOTONIC; /* --cpu-time: CLOCK_PROCESS_CPUTIME_ID */
static int best_of; /* --best: the fastest repetition, not the median */

int __real_dl_conv2d(const dl_conv2d_geom *g, const float *x, const float *w, float *y);
int __real_dl_conv2d_ep(const dl_conv2d_geom *g, const float *x, const float *w, float *y, dl_conv_epilogue ep,
                        void *ctx);
int __real_dl_conv2d_bwd_data(const dl_conv2d_geom *g, const float *gy, const float *w, float *gx);
int __real_dl_conv2d_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw);

/* Field by field: the struct's padding bytes are not the model's to set. */
static int same_shape(const dl_conv2d_geom *a, const dl_conv2d_geom *b)
{
    return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w && a->oc == b->oc && a->oh == b->oh &&
           a->ow == b->ow && a->kh == b->kh && a->kw == b->kw && a->sh == b->sh && a->sw == b->sw && a->pt == b->pt &&
           a->pb == b->pb && a->pl == b->pl && a->pr == b->pr && a->dh == b->dh && a->dw == b->dw &&
           a->groups == b->groups;
}

static void note(const dl_conv2d_geom *g, int pass, int ep)
{
    if (!recording) return;
#pragma omp critical(conv_layers_note)
    {
        int i = 0;
        while (i < n_layers && !same_shape(&layers[i].g, g)) i++;
        if (i == MAX_LAYERS) {
            overflow = 1;
        } else {
            if (i == n_layers) layers[n_layers++].g = *g;
            layers[i].count[pass]++;
            layers[i].ep |= ep;
        }
    }
}

/* `recording` is cleared while the real function runs, so a runtime entry
 * point that calls another one (dl_conv2d_ep -> dl_conv2d) counts once. */
#define PASS_THROUGH(PASS, EP, CALL)                                                                                  \
    do {                                                                                                              \
        const int was = recording;                                                                                    \
        note(g, PASS, EP);                                                                                            \
        recording = 0;                                                                                                \
        const int rc = CALL;                                                                                          \
        recording = was;                                                                                              \
        return rc;                                                                                                    \
    } while (0)

int __wrap_dl_conv2d(const dl_conv2d_geom *g, const float *x, const float *w, float *y)
{
    PASS_THROUGH(PASS_FWD, 0, __real_dl_conv2d(g, x, w, y));
}

int __wrap_dl_conv2d_ep(const dl_conv2d_geom *g, const float *x, const float *w, float *y, dl_conv_epilogue ep,
                        void *ctx)
{
    PASS_THROUGH(PASS_FWD, ep != NULL, __real_dl_conv2d_ep(g, x, w, y, ep, ctx));
}

int __wrap_dl_conv2d_bwd_data(const dl_conv2d_geom *g, const float *gy, const float *w, float *gx)
{
    PASS_THROUGH(PASS_DATA, 0, __real_dl_conv2d_bwd_data(g, gy, w, gx));
}

int __wrap_dl_conv2d_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw)
{
    PASS_THROUGH(PASS_WEIGHT, 0, __real_dl_conv2d_bwd_weight(g, x, gy, gw));
}

/* One training step at `batch` with fixed random data, recording. */
static int record_step(int64_t batch)
{
    const dl_model_api *api = dlnc_entry();
    if (!api->train_step) {
        fprintf(stderr, "conv_layers: the model has no train_step (a model of the general form is not supported)\n");
        return 1;
    }
    void *m = api->create(batch), *y;
    float *x;
    if (!m || bench_random_batch(api, batch, &x, &y)) {
        fprintf(stderr, "conv_layers: create failed: %s\n", m ? "out of memory" : dl_last_error());
        return 1;
    }
    api->init(m, 42);
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1); /* one caller: nothing counted twice */
    recording = 1;
    const float loss = api->train_step(m, x, y, batch);
    recording = 0;
    omp_set_num_threads(threads);
    api->destroy(m);
    free(x);
    free(y);
    if (loss != loss) {
        fprintf(stderr, "conv_layers: train_step failed: %s\n", dl_last_error());
        return 1;
    }
    if (overflow) {
        fprintf(stderr, "conv_layers: more than %d distinct convolution shapes\n", MAX_LAYERS);
        return 1;
    }
    return 0;
}

static void no_epilogue(void *ctx, int64_t image, float *y_image)
{
    (void)ctx, (void)image, (void)y_image;
}

typedef struct bufs {
    float *x, *w, *y;     /* the pass's operands: x/gx, w/gw, y/gy */
} bufs;

static int call(const layer *l, int pass, const bufs *b)
{
    switch (pass) {
    case PASS_FWD:
        return l->ep ? __real_dl_conv2d_ep(&l->g, b->x, b->w, b->y, no_epilogue, NULL)
                     : __real_dl_conv2d(&l->g, b->x, b->w, b->y);
    case PASS_DATA: return __real_dl_conv2d_bwd_data(&l->g, b->y, b->w, b->x);
    default: return __real_dl_conv2d_bwd_weight(&l->g, b->x, b->y, b->w);
    }
}

/* Median over reps of the mean seconds per call over >= min_time; < 0 on failure. */
static double time_pass(const layer *l, int pass, const bufs *b, int reps, double min_time)
{
    double s[64];
    if (call(l, pass, b)) return -1; /* warm-up: scratch buffers, page faults, thread start */
    for (int r = 0; r < reps; r++) {
        int calls = 0;
        double t0 = bench_clock(timing_clock), t;
        do {
            if (call(l, pass, b)) return -1;
            calls++;
        } while ((t = bench_clock(timing_clock) - t0) < min_time);
        s[r] = t / calls;
    }
    qsort(s, (size_t)reps, sizeof *s, bench_cmp_double);
    return s[best_of ? 0 : reps / 2];
}

static float *random_floats(int64_t n, dl_rng *r)
{
    /* 64-byte aligned, as the model's arena and the runtime's scratch are */
    float *v = aligned_alloc(64, ((size_t)n * sizeof(float) + 63) / 64 * 64);
    if (v)
        for (int64_t i = 0; i < n; i++) v[i] = dl_rng_uniform(r) - 0.5f;
    return v;
}

static int report(int i, int reps, double min_time, int list)
{
    const layer *l = &layers[i];
    const dl_conv2d_geom *g = &l->g;
    const double macs = (double)(g->n * g->oc * g->oh * g->ow) * (double)(g->c / g->groups * g->kh * g->kw);
    printf("layer=%d n=%lld c=%lld h=%lld w=%lld oc=%lld oh=%lld ow=%lld kh=%lld kw=%lld sh=%lld sw=%lld pt=%lld "
           "pb=%lld pl=%lld pr=%lld dh=%lld dw=%lld groups=%lld ep=%d fwd_count=%d data_count=%d weight_count=%d "
           "gflop=%.6f",
           i, (long long)g->n, (long long)g->c, (long long)g->h, (long long)g->w, (long long)g->oc, (long long)g->oh,
           (long long)g->ow, (long long)g->kh, (long long)g->kw, (long long)g->sh, (long long)g->sw, (long long)g->pt,
           (long long)g->pb, (long long)g->pl, (long long)g->pr, (long long)g->dh, (long long)g->dw,
           (long long)g->groups, l->ep, l->count[PASS_FWD], l->count[PASS_DATA], l->count[PASS_WEIGHT],
           2e-9 * macs);
    if (!list) {
        dl_rng r;
        dl_rng_seed(&r, 11 + (uint64_t)i);
        bufs b = {random_floats(g->n * g->c * g->h * g->w, &r), random_floats(g->oc * (g->c / g->groups) * g->kh * g->kw, &r),
                  random_floats(g->n * g->oc * g->oh * g->ow, &r)};
        if (!b.x || !b.w || !b.y) {
            fprintf(stderr, "\nconv_layers: out of memory\n");
            return 1;
        }
        for (int p = 0; p < N_PASSES; p++) {
            if (!l->count[p]) continue;
            const double s = time_pass(l, p, &b, reps, min_time);
            if (s < 0) {
                fprintf(stderr, "\nconv_layers: layer %d %s failed: %s\n", i, pass_name[p], dl_last_error());
                return 1;
            }
            printf(" %s_ms=%.4f", pass_name[p], s * 1e3);
        }
        free(b.x), free(b.w), free(b.y);
    }
    printf("\n");
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    dl_team_wait_policy(argv); /* as bench_main.c and `dlnc run` */
    int64_t batch = 64;
    int reps = 3, list = 0;
    double min_time = 0.05;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--batch") == 0) batch = atoll(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--reps") == 0) reps = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--min-time") == 0) min_time = atof(argv[++i]);
        else if (strcmp(argv[i], "--list") == 0) list = 1;
        else if (strcmp(argv[i], "--cpu-time") == 0) timing_clock = CLOCK_PROCESS_CPUTIME_ID;
        else if (strcmp(argv[i], "--best") == 0) best_of = 1;
        else {
            fprintf(stderr, "usage: %s [--batch B] [--reps R] [--min-time SECONDS] [--list] [--cpu-time] [--best]\n", argv[0]);
            return 2;
        }
    }
    if (batch < 1 || reps < 1 || reps > 64 || !(min_time >= 0)) {
        fprintf(stderr, "conv_layers: bad arguments\n");
        return 2;
    }
    if (record_step(batch)) return 1;
    if (n_layers == 0) {
        fprintf(stderr, "conv_layers: the training step made no convolution call\n");
        return 1;
    }
    for (int i = 0; i < n_layers; i++)
        if (report(i, reps, min_time, list)) return 1;
    return 0;
}
