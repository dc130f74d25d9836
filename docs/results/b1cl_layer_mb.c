/* b1cl_layer_mb.c — ResNet-20 batch-1 layers and two 32x32 ones through dl_conv_winograd_affine_w
 * (kept filters, residual, clamp), 1000 calls a figure at 1 then 2 threads; argv[1]: dl_wg_cl_split_rows
 * (2: split from 2 tile rows a thread). cc -O2 -fopenmp -Iruntime THIS build/libdlnrt.a -lpng -lz -lm */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "conv_winograd_cl_internal.h"
#include "conv_winograd_internal.h"
#include "dlnrt.h"
static double cpu(void){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static dl_conv2d_geom geom(int64_t c, int64_t h, int64_t oc) {
    return (dl_conv2d_geom){.n = 1, .c = c, .h = h, .w = h, .oc = oc, .oh = h, .ow = h, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                            .pt = 1, .pb = 1, .pl = 1, .pr = 1, .dh = 1, .dw = 1, .groups = 1};
}
int main(int argc, char **argv) {
    int rows = argc > 1 ? atoi(argv[1]) : 2;
    dl_wg_cl_split_rows(rows);
    int64_t cs[4][2] = {{64, 8}, {32, 16}, {64, 32}, {32, 32}};
    for (int k = 0; k < 4; k++) {
        dl_conv2d_geom g = geom(cs[k][0], cs[k][1], cs[k][0]);
        int64_t nx = g.c * g.h * g.w, ny = g.oc * g.oh * g.ow, nw = g.oc * g.c * 9;
        float *x = malloc(4 * nx), *w = malloc(4 * nw), *y = malloc(4 * ny), *yc = malloc(4 * ny), *r = malloc(4 * ny);
        float *sc = malloc(4 * g.oc), *sh = malloc(4 * g.oc);
        for (int64_t i = 0; i < nx; i++) x[i] = (float)(i % 7) * 0.1f;
        for (int64_t i = 0; i < nw; i++) w[i] = (float)(i % 5) * 0.1f;
        for (int64_t i = 0; i < ny; i++) r[i] = 0.5f;
        for (int64_t i = 0; i < g.oc; i++) sc[i] = 1.1f, sh[i] = 0.1f;
        dl_conv_affine a = {.scale = sc, .shift = sh, .residual = r, .clamp = 1, .lo = 0, .hi = 1e30f};
        uint64_t v = dl_weights_version();
        for (int th = 1; th <= 2; th++) {
            omp_set_num_threads(th);
            for (int rep = 0; rep < 3; rep++) {
                int N = 1000;
                double t = now(), c0 = cpu();
                for (int i = 0; i < N; i++) dl_conv_winograd_affine_w(v, &g, x, w, yc, y, &a, NULL, NULL);
                double us = (now() - t) / N * 1e6, cus = (cpu() - c0) / N * 1e6;
                printf("c=%ld h=%ld threads=%d (cl threads %d): %.2f us/call cpu %.2f\n", (long)g.c, (long)g.h, th,
                       dl_wg_cl_threads(&g, dl_wg_cl_applies(&g)), us, cus);
            }
        }
    }
    return 0;
}
