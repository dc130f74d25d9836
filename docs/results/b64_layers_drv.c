/* b64_layers_drv.c: batch-1 per-layer times of ResNet-20's stride-1 3x3 shapes, each
 * kernel with its filters transformed beforehand (as the model's kept U): what
 * dl_conv2d_ep_w dispatches to (with a weights version, as the model calls it),
 * Winograd F(2x2) and F(4x4), on the 16x32x32, 32x16x16 and 64x8x8 planes;
 * calls alternating, median of 15 rounds of >= 20 ms each, process CPU time; and
 * max |F - dispatch| over the output scale. Built with -DDISPATCH_ONLY it times the
 * dispatch alone, and links against an older library (the base's: "before").
 *   cc -std=c11 -O2 -fopenmp -Iruntime docs/results/b64_layers_drv.c build/libdlnrt.a -lpng -lz -lm
 *   OMP_NUM_THREADS=1 ./a.out */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "conv_winograd_internal.h"
#include "dlnrt.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}
static void fill(float *v, long n) {
    for (long i = 0; i < n; i++) v[i] = (float)rand() / RAND_MAX * 2 - 1;
}
static int cmp(const void *a, const void *b) { return *(const double *)a < *(const double *)b ? -1 : 1; }

int main(void) {
    static const int shapes[][2] = {{16, 32}, {32, 16}, {64, 8}};
#ifdef DISPATCH_ONLY
    enum { K = 1, ROUNDS = 15 };
#else
    enum { K = 3, ROUNDS = 15 };
#endif
    static const char *name[3] = {"dispatch", "F(2x2)", "F(4x4)"};
    const uint64_t version = dl_weights_version();
    for (int s = 0; s < 3; s++) {
        int c = shapes[s][0], hw = shapes[s][1];
        dl_conv2d_geom g = {.n = 1, .c = c, .h = hw, .w = hw, .oc = c, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pt = 1,
                            .pb = 1, .pl = 1, .pr = 1, .dh = 1, .dw = 1, .groups = 1, .oh = hw, .ow = hw};
        long nx = (long)c * hw * hw, nw = (long)c * c * 9;
        float *x = malloc(4 * nx), *w = malloc(4 * nw), *y[K];
        fill(x, nx), fill(w, nw);
#ifndef DISPATCH_ONLY
        float *U2 = malloc(4 * dl_conv_winograd_u_floats(&g, 2)), *U4 = malloc(4 * dl_conv_winograd_u_floats(&g, 4));
        dl_conv_winograd_weights(&g, 2, w, U2), dl_conv_winograd_weights(&g, 4, w, U4);
#endif
        double t[K][ROUNDS];
        for (int k = 0; k < K; k++) y[k] = malloc(4 * nx);
        for (int r = 0; r < ROUNDS; r++)
            for (int k = 0; k < K; k++) {
                long calls = 0;
                double t0 = now(), t1;
                do {
                    if (k == 0) dl_conv2d_ep_w(version, &g, x, w, y[0], NULL, NULL);
#ifndef DISPATCH_ONLY
                    else dl_conv_winograd_u(&g, k == 1 ? 2 : 4, x, w, k == 1 ? U2 : U4, y[k], NULL, NULL, NULL);
#endif
                    calls++;
                } while ((t1 = now()) - t0 < 0.02);
                t[k][r] = (t1 - t0) / calls;
            }
        printf("c%d %dx%d n1:", c, hw, hw);
        for (int k = 0; k < K; k++) {
            qsort(t[k], ROUNDS, sizeof(double), cmp);
            double e = 0, sc = 0;
            for (long i = 0; i < nx; i++) e = fmax(e, fabs(y[k][i] - y[0][i])), sc = fmax(sc, fabs(y[0][i]));
            printf("  %s %.2f us (err %.1e)", name[k], t[k][ROUNDS / 2] * 1e6, e / sc);
        }
        printf("\n");
    }
    return 0;
}
