/* wg_c16_bench.c — conv_winograd_c16.c against the path it replaced (the
 * direct row kernels) on ResNet-20's 16 -> 16, 3x3, pad-1 layer, in one
 * binary: dl_wg_c16_enable(0) / (1) alternating, repetition by repetition,
 * so a shared machine's load falls on both alike (branch w16).
 *
 *   cc -std=c11 -O2 -fopenmp -Iruntime bench/wg_c16_bench.c build/libdlnrt.a \
 *      -o /tmp/wg_c16_bench -lpng -lz -lm
 *   OMP_NUM_THREADS=1 /tmp/wg_c16_bench [batch [reps [side]]]     (default 64 9 32)
 *
 * Times dl_conv2d (forward) and dl_conv2d_bwd_data (the flipped forward) in
 * process CPU time (WALL=1 in the environment: wall time), each repetition
 * the mean over calls for 0.15 s; prints the median of each side and new/old. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "conv_winograd_c16_internal.h"
#include "dlnrt.h"

enum { MAX_REPS = 64 };

static double now(void) {
    struct timespec t;
    clock_gettime(getenv("WALL") ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const int n = argc > 1 ? atoi(argv[1]) : 64, side = argc > 3 ? atoi(argv[3]) : 32;
    int reps = argc > 2 ? atoi(argv[2]) : 9;
    if (reps < 1 || reps > MAX_REPS) reps = 9;
    const dl_conv2d_geom g = {.n = n, .c = 16, .h = side, .w = side, .oc = 16, .oh = side, .ow = side, .kh = 3,
                              .kw = 3, .sh = 1, .sw = 1, .pt = 1, .pb = 1, .pl = 1, .pr = 1, .dh = 1, .dw = 1,
                              .groups = 1};
    const size_t nx = (size_t)n * 16 * (size_t)side * (size_t)side;
    float *x = malloc(nx * sizeof *x), *y = malloc(nx * sizeof *y), *w = malloc(16 * 16 * 9 * sizeof *w);
    if (!x || !y || !w) return 1;
    for (size_t i = 0; i < nx; i++) x[i] = (float)(i * 2654435761u % 1000) / 500.0f - 1.0f;
    for (int i = 0; i < 16 * 16 * 9; i++) w[i] = (float)((unsigned)i * 40503u % 1000) / 5000.0f - 0.1f;
    static double t[2][2][MAX_REPS]; /* [old/new][fwd/data][rep] */
    for (int r = 0; r < reps; r++)
        for (int v = 0; v < 2; v++) {
            dl_wg_c16_enable(v);
            for (int p = 0; p < 2; p++) {
                int k = 0;
                const double t0 = now();
                do {
                    if (p == 0) dl_conv2d(&g, x, w, y);
                    else dl_conv2d_bwd_data(&g, x, w, y);
                    k++;
                } while (now() - t0 < 0.15);
                t[v][p][r] = (now() - t0) / k * 1e3;
            }
        }
    for (int p = 0; p < 2; p++) {
        qsort(t[0][p], (size_t)reps, sizeof(double), cmp);
        qsort(t[1][p], (size_t)reps, sizeof(double), cmp);
        const double o = t[0][p][reps / 2], nw = t[1][p][reps / 2];
        printf("n=%d %dx%d %s threads=%d old %.3f ms new %.3f ms new/old %.3f\n", n, side, side, p ? "data" : "fwd",
               omp_get_max_threads(), o, nw, nw / o);
    }
    free(x), free(y), free(w);
    return 0;
}
