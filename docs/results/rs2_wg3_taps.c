/* rs2_wg3_taps.c (branch rs2): ResNet-20's 3x3 same layers' weight gradient (batch 64; 16->16 on 32x32 by
 * default), the same-3x3 taps as lane shifts (mode 0) against loads (mode 1), alternating in one process,
 * CPU time of the calling thread per call (OMP_NUM_THREADS=1).
 * Builds only at commit 1ffbf96 of branch rs2 (the loaded form was measured slower and reverted next).
 * Build: cc -std=c11 -O2 -fopenmp -Iruntime docs/results/rs2_wg3_taps.c build/libdlnrt.a -o /tmp/wg3 -lz -lm
 * Run:   OMP_NUM_THREADS=1 /tmp/wg3 [ROUNDS [CHANNELS [SIDE]]]   (e.g. 32 16: stage 2, 64 8: stage 3, 3 32: stem) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "conv_small_internal.h"
#include "dlnrt.h"
static double cpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 21, calls = 4, c = argc > 2 ? atoi(argv[2]) : 16, s = argc > 3 ? atoi(argv[3]) : 32;
    if (rounds < 1 || rounds > 256 || c < 1 || c > 64 || s < 1 || s > 64) return 2;
    int oc = c < 16 ? 16 : c;
    dl_conv2d_geom g = {.n = 64, .c = c, .h = s, .w = s, .oc = oc, .oh = s, .ow = s, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                        .pt = 1, .pb = 1, .pl = 1, .pr = 1, .dh = 1, .dw = 1, .groups = 1};
    size_t nx = (size_t)64 * c * s * s, ny = (size_t)64 * oc * s * s, nw = (size_t)oc * c * 9;
    float *x = malloc(4 * nx), *gy = malloc(4 * ny), *gw = malloc(4 * nw);
    for (size_t i = 0; i < nx; i++) x[i] = (float)((i * 7919) % 1000) / 1000.f - .5f;
    for (size_t i = 0; i < ny; i++) gy[i] = (float)((i * 31) % 100) / 100.f - .5f;
    double t[2][256], flop = 2.0 * 64 * oc * c * 9 * s * s;
    float first[2] = {0, 0};
    for (int r = 0; r < rounds; r++)
        for (int m = 0; m < 2; m++) {
            int mode = (r & 1) ? 1 - m : m;
            dl_conv_rows_wg3_loads(mode);
            double t0 = cpu();
            for (int k = 0; k < calls; k++) dl_conv2d_bwd_weight(&g, x, gy, gw);
            t[mode][r] = (cpu() - t0) / calls;
            first[mode] = gw[0];
        }
    double med[2];
    for (int m = 0; m < 2; m++) { qsort(t[m], rounds, sizeof(double), cmp); med[m] = t[m][rounds / 2]; }
    printf("wgrad %d->%d %dx%d: shifts %.3f ms (%.0f GFLOP/s, min %.3f), loads %.3f ms (%.0f GFLOP/s, min %.3f), "
           "loads/shifts %.3f (%d rounds of %d calls, CPU time; gw[0] %s)\n",
           c, oc, s, s, med[0] * 1e3, flop / med[0] * 1e-9, t[0][0] * 1e3, med[1] * 1e3, flop / med[1] * 1e-9,
           t[1][0] * 1e3, med[1] / med[0], rounds, calls, first[0] == first[1] ? "equal" : "DIFFERS");
    return 0;
}
