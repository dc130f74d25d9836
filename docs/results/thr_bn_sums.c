/* thr_bn_sums.c — docs/performance.md "ResNet-20's 2-thread scaling": dl_batch_stats +
 * dl_batch_norm_sums, best of 400 wall times, on tensors whose images a parallel loop
 * (omp for static over images, as conv.c's forward) has just written. Build against each library:
 *   cc -O2 -fopenmp -Iruntime docs/results/thr_bn_sums.c LIB/libdlnrt.a -o bn -lpng -lz -lm */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include "dlnrt.h"
int main(void) {
    static const int64_t shapes[][3] = {{64, 16, 1024}, {64, 32, 256}, {64, 64, 64}};
    for (int k = 0; k < 3; k++) {
        int64_t n = shapes[k][0], c = shapes[k][1], p = shapes[k][2], tot = n * c * p;
        float *x = aligned_alloc(64, tot * 4), *gy = aligned_alloc(64, tot * 4), *st = malloc(8 * c * 4);
        double best = 1e9;
        for (int r = 0; r < 400; r++) {
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < c * p; j++) x[i * c * p + j] = (float)(j % 7) + r, gy[i * c * p + j] = (float)(j % 5);
            double t0 = omp_get_wtime();
            dl_batch_stats(x, st, n, c, p);
            dl_batch_norm_sums(x, st, gy, NULL, 0.0f, st + 2 * c, n, c, p, 1e-5f);
            double t = omp_get_wtime() - t0;
            if (t < best) best = t;
        }
        printf("n=%lld c=%lld p=%lld threads=%d stats+sums best %.4f ms\n", (long long)n, (long long)c, (long long)p,
               omp_get_max_threads(), best * 1e3);
        free(x), free(gy), free(st);
    }
    return 0;
}
