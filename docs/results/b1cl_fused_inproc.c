/* b1cl_fused_inproc.c — one ResNet-20 batch-1 layer (conv_winograd_cl.c), the batch norm's
 * affine + residual + ReLU fused into the store (dl_conv_winograd_affine_w with a) against the
 * conv into yc then dl_affine_rows_isa (what conv_affine.c's affine_image did), alternating
 * in one process, 1 thread: median per-call time of each over R rounds of N calls.
 *   cc -O2 -fopenmp -Iruntime docs/results/b1cl_fused_inproc.c build/libdlnrt.a -lpng -lz -lm */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "conv_pointwise_internal.h"
#include "conv_winograd_internal.h"
#include "dlnrt.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
int main(void) {
    omp_set_num_threads(1);
    const int64_t cs[2][2] = {{64, 8}, {32, 16}};
    enum { R = 41, N = 200 };
    for (int k = 0; k < 2; k++) {
        const dl_conv2d_geom g = {.n = 1, .c = cs[k][0], .h = cs[k][1], .w = cs[k][1], .oc = cs[k][0], .oh = cs[k][1],
                                  .ow = cs[k][1], .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pt = 1, .pb = 1, .pl = 1,
                                  .pr = 1, .dh = 1, .dw = 1, .groups = 1};
        const int64_t nx = g.c * g.h * g.w, ny = g.oc * g.oh * g.ow, nw = g.oc * g.c * 9;
        float *x = malloc(4 * nx), *w = malloc(4 * nw), *y = malloc(4 * ny), *yc = malloc(4 * ny), *r = malloc(4 * ny);
        float *sc = malloc(4 * g.oc), *sh = malloc(4 * g.oc);
        for (int64_t i = 0; i < nx; i++) x[i] = (float)(i % 7) * 0.1f;
        for (int64_t i = 0; i < nw; i++) w[i] = (float)(i % 5) * 0.01f;
        for (int64_t i = 0; i < ny; i++) r[i] = 0.5f;
        for (int64_t i = 0; i < g.oc; i++) sc[i] = 1.1f, sh[i] = 0.1f;
        const dl_conv_affine a = {.scale = sc, .shift = sh, .residual = r, .clamp = 1, .lo = 0, .hi = 1e30f};
        const uint64_t v = dl_weights_version();
        double fused[R], split[R];
        for (int rd = 0; rd < R; rd++) {
            double t = now();
            for (int i = 0; i < N; i++) dl_conv_winograd_affine_w(v, &g, x, w, yc, y, &a, NULL, NULL);
            fused[rd] = (now() - t) / N * 1e6;
            t = now();
            for (int i = 0; i < N; i++) {
                dl_conv_winograd_w(v, &g, x, w, yc, NULL, NULL);
                dl_affine_rows_isa(DL_GEMV_BEST, g.oc, g.oh * g.ow, yc, y, &a);
            }
            split[rd] = (now() - t) / N * 1e6;
        }
        int faster = 0;
        for (int rd = 0; rd < R; rd++) faster += fused[rd] < split[rd];
        qsort(fused, R, sizeof(double), cmp), qsort(split, R, sizeof(double), cmp);
        printf("c=%ld %ldx%ld: fused %.2f us, conv then affine %.2f us (medians of %d rounds of %d), fused/split %.3f, "
               "fused faster in %d of %d rounds\n", (long)g.c, (long)g.h, (long)g.w, fused[R / 2], split[R / 2], R, N,
               fused[R / 2] / split[R / 2], faster, R);
    }
    return 0;
}
