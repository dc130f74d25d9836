/* r1_b1_cpu.c — a compiled model's batch-1 forward, or its training step,
 * in process CPU time (steadier than wall time on a shared machine): the
 * median over ROUNDS of the CPU time of CALLS calls.
 * Usage: r1_b1_cpu [CALLS] [ROUNDS] [BATCH]: BATCH 0 (default) times
 * forward at batch 1, BATCH > 0 train_step on a random batch of that size. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../bench/bench_util.h"
#include "dlnrt.h"

const dl_model_api *dlnc_entry(void); /* defined by the generated C */

static double cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}
static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int calls = argc > 1 ? atoi(argv[1]) : 400, rounds = argc > 2 ? atoi(argv[2]) : 5;
    int64_t batch = argc > 3 ? atoll(argv[3]) : 0;
    if (rounds < 1 || rounds > 64 || calls < 1) return 2;
    const dl_model_api *api = dlnc_entry();
    void *m = api->create(batch > 0 ? batch : 1);
    api->init(m, 42);
    api->set_lr(m, 1e-5f); /* repeated steps on one batch stay finite */
    float *x, *out = malloc(sizeof(float) * (size_t)api->out_numel);
    void *y;
    if (!m || bench_random_batch(api, batch > 0 ? batch : 1, &x, &y) || !out) return 1;
    for (int i = 0; i < (batch > 0 ? 3 : 50); i++) /* warm-up */
        batch > 0 ? (void)api->train_step(m, x, y, batch) : api->forward(m, x, out, 1);
    double s[64];
    for (int r = 0; r < rounds; r++) {
        double t0 = cpu();
        for (int i = 0; i < calls; i++) batch > 0 ? (void)api->train_step(m, x, y, batch) : api->forward(m, x, out, 1);
        s[r] = (cpu() - t0) / calls;
    }
    qsort(s, (size_t)rounds, sizeof *s, cmp);
    printf("%s_cpu_ms=%.4f\n", batch > 0 ? "train" : "infer", s[rounds / 2] * 1e3);
    return 0;
}
