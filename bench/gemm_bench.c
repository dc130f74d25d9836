/* gemm_bench.c — GFLOP/s of dl_sgemm against OpenBLAS's cblas_sgemm.
 *
 * Build and run (from the repository root, after `make`):
 *   cc -O2 -fopenmp -Iruntime -I/usr/include/x86_64-linux-gnu/openblas-pthread \
 *      bench/gemm_bench.c build/libdlnrt.a -o build/gemm_bench -lopenblas -lz -lm
 *   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 build/gemm_bench
 *   OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 build/gemm_bench
 *
 * Each size runs both libraries alternately, several repetitions, and keeps
 * the best time of each (the least disturbed by the machine's other work).
 * With several threads we sleep 0.3 s before each dl_sgemm phase: OpenBLAS's
 * idle worker threads busy-wait for about 0.1 s after a call (its
 * THREAD_TIMEOUT) and would otherwise steal a core from our OpenMP threads. */
#include "dlnrt.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int sizes[] = {256, 512, 1024};
    int threads = omp_get_max_threads();
    int ta = argc > 1 ? atoi(argv[1]) : 0, tb = argc > 2 ? atoi(argv[2]) : 0;
    printf("dl_sgemm vs cblas_sgemm (trans_a=%d trans_b=%d, %d threads), GFLOP/s, best of runs\n", ta, tb, threads);
    printf("%6s %10s %10s %7s %10s\n", "n", "dlnrt", "openblas", "ratio", "max|diff|");
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int n = sizes[s];
        size_t nn = (size_t)n * n;
        float *A = malloc(nn * 4), *B = malloc(nn * 4), *C1 = calloc(nn, 4), *C2 = calloc(nn, 4);
        dl_fill_uniform(A, (int64_t)nn, 1, 1);
        dl_fill_uniform(B, (int64_t)nn, 1, 2);
        int reps = n <= 256 ? 40 : n <= 512 ? 10 : 3;
        double best_dl = 1e30, best_ob = 1e30;
        for (int round = 0; round < 5; round++) {
            if (threads > 1) usleep(300000);
            dl_sgemm(ta, tb, n, n, n, 1.0f, A, n, B, n, 0.0f, C1, n);   /* warm-up, untimed */
            double t0 = now();
            for (int r = 0; r < reps; r++) dl_sgemm(ta, tb, n, n, n, 1.0f, A, n, B, n, 0.0f, C1, n);
            double t1 = now();
            for (int r = 0; r < reps; r++)
                cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                            n, n, n, 1.0f, A, n, B, n, 0.0f, C2, n);
            double t2 = now();
            if ((t1 - t0) / reps < best_dl) best_dl = (t1 - t0) / reps;
            if ((t2 - t1) / reps < best_ob) best_ob = (t2 - t1) / reps;
        }
        double maxdiff = 0;
        for (size_t i = 0; i < nn; i++) maxdiff = fmax(maxdiff, fabs(C1[i] - C2[i]));
        double gf = 2.0 * n * n * n * 1e-9;
        printf("%6d %10.1f %10.1f %6.0f%% %10.2g\n", n, gf / best_dl, gf / best_ob, 100.0 * best_ob / best_dl, maxdiff);
        free(A); free(B); free(C1); free(C2);
    }
    return 0;
}
