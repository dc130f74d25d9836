/* rs2_wg_input_pairs.c (branch rs2): ResNet-20's Winograd 3x3 layers (batch 64: 32->32 on 16x16, 64->64 on 8x8)
 * forward and data gradient with input_tiles' columns one by one (mode 0) and in pairs (mode 1), alternating in
 * one process, CPU time of the calling thread per call (OMP_NUM_THREADS=1); outputs compared bit for bit.
 * Build: cc -std=c11 -O2 -fopenmp -Iruntime docs/results/rs2_wg_input_pairs.c build/libdlnrt.a -o /tmp/wgp -lz -lm
 * Run:   OMP_NUM_THREADS=1 /tmp/wgp [ROUNDS [CHANNELS SIDE]]   (32 16 by default; 64 8: stage 3) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "conv_winograd_internal.h"
#include "dlnrt.h"
static double cpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 21, calls = 4, c = argc > 2 ? atoi(argv[2]) : 32, s = argc > 3 ? atoi(argv[3]) : 16;
    if (rounds < 1 || rounds > 256 || c < 1 || c > 128 || s < 2 || s > 64) return 2;
    dl_conv2d_geom g = {.n = 64, .c = c, .h = s, .w = s, .oc = c, .oh = s, .ow = s, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                        .pt = 1, .pb = 1, .pl = 1, .pr = 1, .dh = 1, .dw = 1, .groups = 1};
    size_t nx = (size_t)64 * c * s * s, nw = (size_t)c * c * 9;
    float *x = malloc(4 * nx), *w = malloc(4 * nw), *y[2] = {malloc(4 * nx), malloc(4 * nx)}, *gx[2] = {malloc(4 * nx), malloc(4 * nx)};
    for (size_t i = 0; i < nx; i++) x[i] = (float)((i * 7919) % 1000) / 1000.f - .5f;
    for (size_t i = 0; i < nw; i++) w[i] = (float)((i * 31) % 100) / 100.f - .5f;
    double t[2][2][256];
    for (int r = 0; r < rounds; r++)
        for (int m = 0; m < 2; m++) {
            int mode = (r & 1) ? 1 - m : m;
            (void)dl_winograd_input_pairs(mode);
            double t0 = cpu();
            for (int k = 0; k < calls; k++) dl_conv2d(&g, x, w, y[mode]);
            double t1 = cpu();
            for (int k = 0; k < calls; k++) dl_conv2d_bwd_data(&g, x, w, gx[mode]);
            double t2 = cpu();
            t[mode][0][r] = (t1 - t0) / calls, t[mode][1][r] = (t2 - t1) / calls;
        }
    int same = !memcmp(y[0], y[1], 4 * nx) && !memcmp(gx[0], gx[1], 4 * nx);
    const char *pass[2] = {"forward", "data gradient"};
    for (int p = 0; p < 2; p++) {
        double med[2];
        for (int m = 0; m < 2; m++) { qsort(t[m][p], rounds, sizeof(double), cmp); med[m] = t[m][p][rounds / 2]; }
        printf("%d->%d %dx%d %s: one by one %.3f ms (min %.3f), pairs %.3f ms (min %.3f), pairs/one %.3f (%d rounds of %d calls, CPU time; outputs %s)\n",
               c, c, s, s, pass[p], med[0] * 1e3, t[0][p][0] * 1e3, med[1] * 1e3, t[1][p][0] * 1e3, med[1] / med[0], rounds, calls,
               same ? "equal bits" : "DIFFER");
    }
    return 0;
}
