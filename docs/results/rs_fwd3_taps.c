/* rs_fwd3_taps.c (branch rs): ResNet-20's 16->16 3x3 layer (batch 64, 32x32) forward and data gradient,
 * lane-shift taps (mode 0) against loaded taps (mode 1), alternating in one process,
 * CPU time of the calling thread per call (OMP_NUM_THREADS=1).
 * Build: cc -std=c11 -O2 -fopenmp -Iruntime docs/results/rs_fwd3_taps.c build/libdlnrt.a -o /tmp/fwd3 -lz -lm
 * Run:   OMP_NUM_THREADS=1 /tmp/fwd3 [ROUNDS [INPUT_CHANNELS]]   (16 by default; 3: the stems) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "conv_small_internal.h"
#include "dlnrt.h"
static double cpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 21, calls = 4, c = argc > 2 ? atoi(argv[2]) : 16;
    if (rounds < 1 || rounds > 256 || c < 1 || c > 16) return 2;
    dl_conv2d_geom g = {.n = 64, .c = c, .h = 32, .w = 32, .oc = 16, .oh = 32, .ow = 32, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                        .pt = 1, .pb = 1, .pl = 1, .pr = 1, .dh = 1, .dw = 1, .groups = 1};
    size_t nx = 64 * 16 * 32 * 32, nw = 16 * (size_t)c * 9; /* x holds the data gradient too: 16 planes */
    float *x = malloc(4 * nx), *y = malloc(4 * nx), *w = malloc(4 * nw);
    for (size_t i = 0; i < nx; i++) x[i] = (float)((i * 7919) % 1000) / 1000.f - .5f;
    for (size_t i = 0; i < nw; i++) w[i] = (float)((i * 31) % 100) / 100.f - .5f;
    double t[2][2][256];
    double flop = 2.0 * 64 * 16 * c * 9 * 32 * 32;
    for (int r = 0; r < rounds; r++)
        for (int m = 0; m < 2; m++) {
            int mode = (r & 1) ? 1 - m : m;
            dl_conv_rows_fwd3_loads(mode);
            double t0 = cpu();
            for (int k = 0; k < calls; k++) dl_conv2d(&g, x, w, y);
            double t1 = cpu();
            for (int k = 0; k < calls; k++) dl_conv2d_bwd_data(&g, y, w, x);
            double t2 = cpu();
            t[mode][0][r] = (t1 - t0) / calls, t[mode][1][r] = (t2 - t1) / calls;
        }
    const char *pass[2] = {"forward", "data gradient"};
    for (int p = 0; p < 2; p++) {
        double med[2];
        for (int m = 0; m < 2; m++) { qsort(t[m][p], rounds, sizeof(double), cmp); med[m] = t[m][p][rounds / 2]; }
        printf("%s: shifts %.3f ms (%.0f GFLOP/s, min %.3f), loads %.3f ms (%.0f GFLOP/s, min %.3f), loads/shifts %.3f (%d rounds of %d calls, CPU time)\n",
               pass[p], med[0] * 1e3, flop / med[0] * 1e-9, t[0][p][0] * 1e3, med[1] * 1e3, flop / med[1] * 1e-9, t[1][p][0] * 1e3,
               med[1] / med[0], rounds, calls);
    }
    return 0;
}
