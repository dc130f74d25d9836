/* forward_cpu.c — CPU time of one batch-1 forward of a compiled model, the
 * figure to compare old and new builds by on a machine other work keeps
 * busy (wall time there counts the time slices the process waited).
 *
 * Linked like bench/bench_main.c with a model's generated C:
 *   build/dlnc bench/workloads/gpt.dln -o /tmp/X/gpt.c
 *   cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I/tmp/X bench/forward_cpu.c /tmp/X/gpt.c \
 *      build/libdlnrt.a -o /tmp/X/gpt_cpu -lpng -lz -lm
 *   OMP_NUM_THREADS=1 /tmp/X/gpt_cpu [rounds] [forwards per round]
 *   /tmp/X/gpt_cpu dump > out     (one forward's outputs, raw floats: cmp two builds)
 *
 * Prints `cpu_ms=` the median over rounds (default 7) of the calling thread's
 * CPU time (CLOCK_THREAD_CPUTIME_ID) per forward (default 200 per round),
 * then `min_ms=`. One thread only: other OpenMP threads' time is not
 * counted, so OMP_NUM_THREADS must be 1. The model is created and
 * initialized (seed 42) as bench_main does; inputs of the general form are
 * random ids below the first output's last dimension, at T = the train
 * section's seq_len (64 without one). */
#define _GNU_SOURCE
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "dlnrt.h"

const dl_model_api *dlnc_entry(void);

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int64_t io_numel(const dl_io_info *io, const int64_t *sym)
{
    int64_t n = 1;
    for (int d = 0; d < io->rank; d++) n *= io->shape[d] < 0 ? sym[-io->shape[d]] : io->shape[d];
    return n;
}

int main(int argc, char **argv)
{
    const int dump = argc > 1 && strcmp(argv[1], "dump") == 0; /* one forward's outputs to stdout, raw */
    const int rounds = dump ? 1 : argc > 1 ? atoi(argv[1]) : 7, iters = argc > 2 ? atoi(argv[2]) : 200;
    if (!dump && (rounds < 1 || rounds > 1000 || iters < 1 || omp_get_max_threads() != 1)) {
        fprintf(stderr, "usage: OMP_NUM_THREADS=1 %s [rounds 1..1000] [forwards per round]\n", argv[0]);
        return 2;
    }
    const dl_model_api *api = dlnc_entry();
    const int io = api->forward == NULL;
    const int64_t T = api->train && api->train->data.seq_len > 0 ? api->train->data.seq_len : 64;
    int64_t sym[8] = {1, T, T, T, T, T, T, T};
    void *m = io ? api->create_io(sym) : api->create(1);
    if (!m || api->n_inputs + api->n_fields > 16 || api->n_outputs > 8) {
        fprintf(stderr, "forward_cpu: create failed: %s\n", dl_last_error());
        return 1;
    }
    api->init(m, 42);
    const void *in[16] = {0};
    void *out[8] = {0};
    float *x = NULL, *y = NULL;
    dl_rng r;
    dl_rng_seed(&r, 7);
    if (io) {
        const dl_io_info *o0 = &api->outputs[0];
        const int64_t classes = o0->rank > 0 && o0->shape[o0->rank - 1] > 0 ? o0->shape[o0->rank - 1] : 2;
        for (int i = 0; i < api->n_inputs; i++) {
            const int64_t n = io_numel(&api->inputs[i], sym);
            void *v = malloc(4 * (size_t)n);
            if (!v) return 1;
            for (int64_t j = 0; j < n; j++) {
                if (api->inputs[i].dtype == DL_I32) ((int32_t *)v)[j] = (int32_t)(dl_rng_next(&r) % (uint64_t)classes);
                else ((float *)v)[j] = dl_rng_uniform(&r);
            }
            in[i] = v;
        }
        for (int k = 0; k < api->n_outputs; k++)
            if (!(out[k] = malloc(4 * (size_t)io_numel(&api->outputs[k], sym)))) return 1;
    } else {
        x = malloc(sizeof(float) * (size_t)api->in_numel);
        y = malloc(sizeof(float) * (size_t)api->out_numel);
        if (!x || !y) return 1;
        for (int64_t j = 0; j < api->in_numel; j++) x[j] = dl_rng_uniform(&r);
    }
    if (dump) { /* to compare two builds' bits (cmp); any thread count */
        if (io) {
            api->forward_io(m, in, out, 1, sym + 1);
            for (int k = 0; k < api->n_outputs; k++) fwrite(out[k], 4, (size_t)io_numel(&api->outputs[k], sym), stdout);
        } else {
            api->forward(m, x, y, 1);
            fwrite(y, 4, (size_t)api->out_numel, stdout);
        }
        return 0;
    }
    double *per = malloc(sizeof(double) * (size_t)rounds);
    if (!per) return 1;
    for (int k = -1; k < rounds; k++) { /* round -1: warm-up */
        const double t0 = cpu_seconds();
        for (int i = 0; i < iters; i++) {
            if (io) api->forward_io(m, in, out, 1, sym + 1);
            else api->forward(m, x, y, 1);
        }
        if (k >= 0) per[k] = (cpu_seconds() - t0) / iters;
    }
    qsort(per, (size_t)rounds, sizeof *per, bench_cmp_double);
    printf("cpu_ms=%.4f min_ms=%.4f\n", 1e3 * (rounds % 2 ? per[rounds / 2] : 0.5 * (per[rounds / 2 - 1] + per[rounds / 2])),
           1e3 * per[0]);
    api->destroy(m);
    for (int i = 0; i < api->n_inputs; i++) free((void *)in[i]);
    for (int k = 0; k < api->n_outputs; k++) free(out[k]);
    free(x), free(y), free(per);
    return 0;
}
