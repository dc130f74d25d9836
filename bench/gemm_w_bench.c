/* gemm_w_bench.c — GFLOP/s of the products of batch-1 GPT inference (64
 * context rows times the [out, in] weights of bench/workloads/gpt.dln):
 * dl_sgemm, which packs the weight on every call, against dl_sgemm_w, which
 * keeps it packed (runtime/gemm_weights.c, 8 x 32 tiles of gemm_wide.c).
 *
 * Build and run (from the repository root, after `make`):
 *   cc -O2 -fopenmp -Iruntime bench/gemm_w_bench.c build/libdlnrt.a -o build/gemm_w_bench -lpng -lz -lm
 *   OMP_NUM_THREADS=1 build/gemm_w_bench [rounds]
 *
 * Time is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so other
 * work on a shared machine slows a round only through the caches; the two
 * sides alternate, `rounds` times (default 5), and each keeps its best. */
#define _GNU_SOURCE
#include "dlnrt.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    const int rounds = argc > 1 ? atoi(argv[1]) : 5;
    static const int64_t shapes[][3] = {{64, 384, 128}, {64, 128, 128}, {64, 512, 128}, {64, 128, 512}};
    double all_flops = 0, all_best[2] = {0, 0};
    printf("M x N x K (B transposed)  dl_sgemm GFLOP/s  dl_sgemm_w GFLOP/s  ratio\n");
    for (int s = 0; s < 4; s++) {
        const int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(N * K)),
              *C = malloc(sizeof(float) * (size_t)(M * N));
        if (!A || !B || !C) return 1;
        dl_fill_normal(A, M * K, 1, 1);
        dl_fill_normal(B, N * K, 1, 2);
        const uint64_t v = dl_weights_version();
        const int reps = 500;
        double best[2] = {1e30, 1e30};
        for (int r = 0; r < rounds; r++)
            for (int side = 0; side < 2; side++) {
                const double t0 = cpu_seconds();
                for (int i = 0; i < reps; i++) {
                    if (side) dl_sgemm_w(v, 0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
                    else dl_sgemm(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
                }
                const double t = (cpu_seconds() - t0) / reps;
                if (t < best[side]) best[side] = t;
            }
        const double flops = 2.0 * (double)(M * N * K);
        printf("%lld x %lld x %lld  %8.1f  %8.1f  %.2fx\n", (long long)M, (long long)N, (long long)K,
               flops / best[0] * 1e-9, flops / best[1] * 1e-9, best[0] / best[1]);
        all_flops += flops, all_best[0] += best[0], all_best[1] += best[1];
        dl_weights_release(B, N * K);
        free(A), free(B), free(C);
    }
    printf("one block's four products  %8.1f  %8.1f  %.2fx\n", all_flops / all_best[0] * 1e-9,
           all_flops / all_best[1] * 1e-9, all_best[0] / all_best[1]);
    return 0;
}
