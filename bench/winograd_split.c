/* winograd_split.c — a model's batch-1 forward (wall time) with the Winograd
 * kernels split by their size rule and with every call split over the threads
 * (dl_conv_winograd_split_macs(0), the behaviour before the rule), alternating
 * in one process, pair after pair; the outputs must be the same bits.
 *
 *   build/dlnc bench/workloads/resnet20.dln -o /tmp/ws/model.c
 *   cc -std=c11 -O3 -march=native -fopenmp -Iruntime -Ibench -I/tmp/ws bench/winograd_split.c \
 *      /tmp/ws/model.c build/libdlnrt.a -o /tmp/ws/split -lpng -lz -lm
 *   OMP_NUM_THREADS=2 /tmp/ws/split [PAIRS [FORWARDS]]
 *
 * Prints each pair's mean ms per forward, then the medians and split/rule.
 * Run it on a quiet machine to see whether a layer size splits usefully: on
 * a loaded one the split side waits for the scheduler at every fork. */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "bench_util.h"
#include "conv_winograd_internal.h"

const dl_model_api *dlnc_entry(void);

#define MAX_PAIRS 1000

int main(int argc, char **argv) {
    dl_team_wait_policy(argv); /* the barrier spin bench_main and `dlnc run` use */
    const int pairs = argc > 1 ? atoi(argv[1]) : 10, forwards = argc > 2 ? atoi(argv[2]) : 200;
    if (pairs < 1 || pairs > MAX_PAIRS || forwards < 1) {
        fprintf(stderr, "usage: %s [PAIRS (1..%d) [FORWARDS]]\n", argv[0], MAX_PAIRS);
        return 2;
    }
    const dl_model_api *api = dlnc_entry();
    void *m = api->create(1);
    float *x, *out = malloc(sizeof(float) * (size_t)api->out_numel), *first = malloc(sizeof(float) * (size_t)api->out_numel);
    void *y;
    if (!m || !out || !first || bench_random_batch(api, 1, &x, &y)) {
        fprintf(stderr, "winograd_split: %s\n", m ? "out of memory" : dl_last_error());
        return 1;
    }
    api->init(m, 42);
    static double ms[2][MAX_PAIRS];
    const char *side[2] = {"rule ", "split"};
    for (int p = 0; p < pairs; p++)
        for (int v = 0; v < 2; v++) {
            dl_conv_winograd_split_macs(v ? 0 : -1);
            api->forward(m, x, out, 1); /* warm, and the bits checked */
            if (p == 0 && v == 0) memcpy(first, out, sizeof(float) * (size_t)api->out_numel);
            else if (memcmp(first, out, sizeof(float) * (size_t)api->out_numel)) {
                fprintf(stderr, "winograd_split: the %s side's output differs from the first\n", side[v]);
                return 1;
            }
            const double t0 = bench_now();
            for (int i = 0; i < forwards; i++) api->forward(m, x, out, 1);
            ms[v][p] = (bench_now() - t0) / forwards * 1e3;
            printf("pair %d %s %.4f ms\n", p + 1, side[v], ms[v][p]);
        }
    qsort(ms[0], (size_t)pairs, sizeof(double), bench_cmp_double);
    qsort(ms[1], (size_t)pairs, sizeof(double), bench_cmp_double);
    const double r = ms[0][pairs / 2], s = ms[1][pairs / 2];
    printf("median ms per forward at %d threads: rule %.4f, split %.4f, split/rule %.3f (%d pairs)\n",
           omp_get_max_threads(), r, s, s / r, pairs);
    api->destroy(m);
    free(x), free(y), free(out), free(first);
    return 0;
}
