/* bns_bn_kernels.c — CPU time of runtime/batch_norm.c's kernels on ResNet-20's
 * three batch-64 activation shapes and two of MobileNetV2's (8x8 and 4x4 planes), to compare two builds of libdlnrt.a:
 *
 *   cc -std=c11 -O2 -fopenmp -Iruntime docs/results/bns_bn_kernels.c LIB -o /tmp/bnk -lpng -lz -lm
 *   OMP_NUM_THREADS=1 /tmp/bnk
 *
 * Prints, per shape, the median over 9 rounds of the per-call CPU time (ms)
 * of dl_batch_stats, dl_batch_norm_sums (with a ReLU mask) and dl_batch_norm_dx. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dlnrt.h"

static double cpu_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    static const int64_t shapes[5][3] = {{64, 16, 1024}, {64, 32, 256}, {64, 64, 64}, {64, 192, 64}, {64, 384, 16}};
    for (int s = 0; s < 5; s++) {
        const int64_t n = shapes[s][0], c = shapes[s][1], p = shapes[s][2], t = n * c * p;
        float *x = malloc(4 * t), *gy = malloc(4 * t), *m = malloc(4 * t), *dx = malloc(4 * t);
        float *w = malloc(4 * c), st[768], sums[768];
        for (int64_t i = 0; i < t; i++)
            x[i] = (float)(i % 97) * 0.01f + 1.0f, gy[i] = (float)(i % 13) - 6.0f, m[i] = (float)(i % 3) - 1.0f;
        for (int64_t i = 0; i < c; i++) w[i] = 1.0f;
        double r[3][9];
        for (int k = 0; k < 9; k++) {
            const int reps = 20;
            double t0 = cpu_ms();
            for (int q = 0; q < reps; q++) dl_batch_stats(x, st, n, c, p);
            double t1 = cpu_ms();
            for (int q = 0; q < reps; q++) dl_batch_norm_sums(x, st, gy, m, 0.0f, sums, n, c, p, 1e-5f);
            double t2 = cpu_ms();
            for (int q = 0; q < reps; q++) dl_batch_norm_dx(x, st, w, gy, m, 0.0f, sums, dx, n, c, p, 1e-5f);
            double t3 = cpu_ms();
            r[0][k] = (t1 - t0) / reps, r[1][k] = (t2 - t1) / reps, r[2][k] = (t3 - t2) / reps;
        }
        for (int j = 0; j < 3; j++) qsort(r[j], 9, sizeof(double), cmp);
        printf("[%lld,%lld,%lld] stats %.4f sums %.4f dx %.4f ms (check %g)\n", (long long)n, (long long)c,
               (long long)p, r[0][4], r[1][4], r[2][4], (double)(st[0] + sums[1] + dx[5]));
        free(x), free(gy), free(m), free(dx), free(w);
    }
    return 0;
}
