/* r16_cold_driver.c — one pass of ResNet-20's 16->16 3x3 layer (32x32,
 * batch 64) with its tensors NOT in cache, as inside a training step:
 * the call rotates over 8 copies of x, gy, y, gx (128 MB, four times the
 * L3), so every call reads planes last touched 7 calls ago; with COPIES
 * 1 the same tensors every call (16 MB: in L3, as in bench/conv_bench.c).
 * Prints the median process CPU time per call in ms.
 *
 *   r16_cold_driver PASS [CALLS [COPIES [ROWS]]]   PASS 0 forward, 1 data gradient, 2 weight gradient;
 *                                                 ROWS 0: the flat kernels (conv_direct_small.c) instead
 *
 * Built against each library: cc -O2 -fopenmp -Iruntime r16_cold_driver.c libdlnrt.a -lpng -lz -lm */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "conv_small_internal.h"
#include "dlnrt.h"

#define MAXCOPIES 8

static double cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int pass = argc > 1 ? atoi(argv[1]) : 0, calls = argc > 2 ? atoi(argv[2]) : 64;
    int COPIES = argc > 3 ? atoi(argv[3]) : MAXCOPIES;
    if (calls < 1 || COPIES < 1 || COPIES > MAXCOPIES) return 2;
    if (argc > 4 && atoi(argv[4]) == 0) dl_conv_rows_enable(0);
    dl_conv2d_geom g = {.n = 64, .c = 16, .h = 32, .w = 32, .oc = 16, .oh = 32, .ow = 32, .kh = 3, .kw = 3,
                        .sh = 1, .sw = 1, .pt = 1, .pb = 1, .pl = 1, .pr = 1, .dh = 1, .dw = 1, .groups = 1};
    size_t act = (size_t)64 * 16 * 32 * 32;
    float *w = malloc(sizeof(float) * 16 * 16 * 9), *gw = malloc(sizeof(float) * 16 * 16 * 9);
    float *x[MAXCOPIES], *gy[MAXCOPIES], *y[MAXCOPIES], *gx[MAXCOPIES];
    for (int k = 0; k < 16 * 16 * 9; k++) w[k] = (float)((k * 37) % 19 - 9) / 64.0f;
    for (int c = 0; c < COPIES; c++) {
        x[c] = malloc(sizeof(float) * act), gy[c] = malloc(sizeof(float) * act);
        y[c] = malloc(sizeof(float) * act), gx[c] = malloc(sizeof(float) * act);
        for (size_t k = 0; k < act; k++) {
            x[c][k] = (float)((k * 7 + (size_t)c) % 23) / 23.0f - 0.5f;
            gy[c][k] = (float)((k * 11 + (size_t)c) % 29) / 29.0f - 0.5f;
            y[c][k] = gx[c][k] = 0.0f;
        }
    }
    double *t = malloc(sizeof(double) * (size_t)calls);
    for (int i = -COPIES; i < calls; i++) { /* the first round of copies is warm-up */
        int c = (i + COPIES) % COPIES;
        double t0 = cpu_ms();
        int rc = pass == 0 ? dl_conv2d(&g, x[c], w, y[c])
                 : pass == 1 ? dl_conv2d_bwd_data(&g, gy[c], w, gx[c])
                             : dl_conv2d_bwd_weight(&g, x[c], gy[c], gw);
        if (rc) return 1;
        if (i >= 0) t[i] = cpu_ms() - t0;
    }
    qsort(t, (size_t)calls, sizeof *t, cmp);
    printf("%.3f\n", t[calls / 2]);
    return 0;
}
