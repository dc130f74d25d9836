/* b1w_layer_bench.c — ResNet-20's 16-channel 32x32 layer at batch 1 (F(4x4),
 * kept U) with its batch norm's affine, a residual and a ReLU, four ways in
 * one process, rounds alternating: the convolution then the affine pass
 * (conv_affine.c's per-image epilogue: the old path), the affine fused at 1
 * thread, and at 2 threads by the rule (bands only over free cores) and
 * forced (split threshold 0: always bands). Min and median wall time of
 * 2000 calls each (docs/performance.md, "... branch b1w").
 *
 *   cc -O2 -fopenmp -Iruntime docs/results/b1w_layer_bench.c build/libdlnrt.a -lm -lpng -lz -o /tmp/b1w-lb
 *   GOMP_SPINCOUNT=20000 /tmp/b1w-lb 6 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "conv_pointwise_internal.h"
#include "conv_winograd_internal.h"

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const int rounds = argc > 1 ? atoi(argv[1]) : 5;
    const dl_conv2d_geom g = {.n = 1, .c = 16, .h = 32, .w = 32, .oc = 16, .oh = 32, .ow = 32, .kh = 3, .kw = 3,
                              .sh = 1, .sw = 1, .pt = 1, .pb = 1, .pl = 1, .pr = 1, .dh = 1, .dw = 1, .groups = 1};
    enum { NY = 16 * 1024, N = 2000 };
    static float x[NY], w[16 * 16 * 9], yc[NY], y[NY], res[NY], sc[16], sh[16];
    static double t[N];
    for (int i = 0; i < NY; i++) x[i] = (float)(i % 7) * 0.1f - 0.3f, res[i] = (float)(i % 5) * 0.1f;
    for (int i = 0; i < 16 * 16 * 9; i++) w[i] = (float)(i % 11) * 0.01f - 0.05f;
    for (int i = 0; i < 16; i++) sc[i] = 1 + 0.01f * (float)i, sh[i] = 0.1f;
    float *U = malloc(sizeof(float) * (size_t)dl_conv_winograd_u_floats(&g, 4));
    dl_conv_winograd_weights(&g, 4, w, U);
    const dl_conv_affine a = {.scale = sc, .shift = sh, .residual = res, .clamp = 1, .lo = 0, .hi = 1e30f};
    static const char *name[] = {"conv, then the affine pass, 1 thread", "fused, 1 thread",
                                 "fused, 2 threads by the rule", "fused, 2 threads, bands forced"};
    for (int r = 0; r < rounds; r++)
        for (int mode = 0; mode < 4; mode++) {
            omp_set_num_threads(mode >= 2 ? 2 : 1);
            const double was = dl_conv_winograd_split_macs(mode == 3 ? 0 : -1);
            for (int i = 0; i < N; i++) {
                const double t0 = now_us();
                if (mode == 0) {
                    dl_conv_winograd_u(&g, 4, x, w, U, yc, NULL, NULL, NULL);
                    dl_affine_rows_isa(DL_GEMV_BEST, 16, 1024, yc, y, &a);
                } else
                    dl_conv_winograd_u(&g, 4, x, w, U, y, NULL, NULL, &a);
                t[i] = now_us() - t0;
            }
            dl_conv_winograd_split_macs(was);
            qsort(t, N, sizeof t[0], cmp);
            printf("round %d  %-34s min %6.2f us  median %6.2f us\n", r, name[mode], t[0], t[N / 2]);
        }
    free(U);
    return 0;
}
