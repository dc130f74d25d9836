/* pw_align.c — MobileNetV2's 16 -> 96 pointwise product at 32x32, batch 64,
 * with its output 64-byte aligned and 16 bytes past that, streamed and not:
 * why conv_pointwise.c streams its stores only to whole cache lines.
 *
 *   cc -O2 -fopenmp -Iruntime bench/pw_align.c build/libdlnrt.a -lm -o pw_align
 *   pw_align [reps]
 *
 * Process CPU time, 1 thread (the kernel is serial), best of reps. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "conv_pointwise_internal.h"

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    enum { M = 96, K = 16, P = 1024, N = 64 };
    const int reps = argc > 1 ? atoi(argv[1]) : 5;
    float *a = aligned_alloc(64, sizeof(float) * M * K), *x = aligned_alloc(64, sizeof(float) * N * K * P),
          *y = aligned_alloc(64, sizeof(float) * N * M * P + 64);
    if (!a || !x || !y || reps < 1) return 1;
    for (int i = 0; i < M * K; i++) a[i] = (float)rand() / (float)RAND_MAX;
    for (int64_t i = 0; i < (int64_t)N * K * P; i++) x[i] = (float)rand() / (float)RAND_MAX;
    for (int64_t i = 0; i < (int64_t)N * M * P + 16; i++) y[i] = 0.0f;
    for (int off = 0; off <= 4; off += 4)
        for (int stream = 1; stream >= 0; stream--) {
            double best = 1e30;
            for (int r = 0; r < reps; r++) {
                const double t0 = cpu_seconds();
                for (int n = 0; n < N; n++)
                    dl_pw_matmul_isa(DL_GEMV_BEST, M, K, P, a, K, 1, x + (int64_t)n * K * P,
                                     y + off + (int64_t)n * M * P, stream);
                const double t = cpu_seconds() - t0;
                if (t < best) best = t;
            }
            printf("y %2d bytes past a line, stream %d: %.2f ms, %.1f GFLOP/s\n", 4 * off, stream, best * 1e3,
                   2.0 * M * K * P * N / best * 1e-9);
        }
    free(a), free(x), free(y);
    return 0;
}
