/* bw_scaling.c — memory bandwidth at 1 thread and at all threads, by size
 * (issue 15 target 3: which of a training step's passes can scale at all).
 *
 *   bw_scaling [--reps R] [MB ...]        (default: 4 16 64 256)
 *
 * For each size S, two arrays of S MB each: y = x * a (one read stream, one
 * write stream, as an elementwise pass or a convolution's output), split
 * over threads by omp for schedule(static), each thread touching its own
 * half first. Each rate is the fastest of R repetitions (default 40): on a
 * machine others load, the nearest to a quiet one. Prints one line per size:
 *
 *   mb=S gbs_1=... gbs_all=... threads=T scaling=...
 *
 * (GB/s count the bytes read and written, 2 x S MB; scaling = gbs_all /
 * gbs_1). While both arrays fit the caches the rate scales with the cores;
 * from the size where they come from memory, it does not on the machine
 * docs/performance.md describes ("2-thread scaling of ResNet-20"). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double best_pass(float *restrict y, const float *restrict x, size_t n, int threads, int reps) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        const double t0 = omp_get_wtime();
#pragma omp parallel for schedule(static) num_threads(threads)
        for (size_t i = 0; i < n; i++) y[i] = x[i] * 1.0001f;
        const double t = omp_get_wtime() - t0;
        if (t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv) {
    int reps = 40, nsizes = 0;
    long sizes[64];
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--reps") == 0) reps = atoi(argv[++i]);
        else if (nsizes < 64 && atol(argv[i]) > 0) sizes[nsizes++] = atol(argv[i]);
        else {
            fprintf(stderr, "usage: %s [--reps R] [MB ...]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1) {
        fprintf(stderr, "bw_scaling: bad --reps\n");
        return 2;
    }
    if (!nsizes) sizes[nsizes++] = 4, sizes[nsizes++] = 16, sizes[nsizes++] = 64, sizes[nsizes++] = 256;
    const int all = omp_get_max_threads();
    for (int s = 0; s < nsizes; s++) {
        const size_t n = (size_t)sizes[s] * 1024 * 1024 / sizeof(float);
        float *x = aligned_alloc(64, n * sizeof(float)), *y = aligned_alloc(64, n * sizeof(float));
        if (!x || !y) {
            fprintf(stderr, "bw_scaling: out of memory at %ld MB\n", sizes[s]);
            return 1;
        }
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) x[i] = (float)(i & 1023), y[i] = 0.0f;
        const double bytes = 2.0 * (double)n * sizeof(float);
        const double g1 = bytes / best_pass(y, x, n, 1, reps) / 1e9, ga = bytes / best_pass(y, x, n, all, reps) / 1e9;
        printf("mb=%ld gbs_1=%.1f gbs_all=%.1f threads=%d scaling=%.2f\n", sizes[s], g1, ga, all, ga / g1);
        fflush(stdout);
        free(x), free(y);
    }
    return 0;
}
