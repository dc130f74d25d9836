/* conv_dw3_rows.c's variants (AVX-512, AVX2, portable) against the old tap views
 * (int20's conv_dw3.c, its AVX-512 clone on this CPU), MobileNetV2's batch-1 shapes;
 * process CPU time, 1 thread, best of 200 calls x 9 alternating rounds (median). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "conv_dw3_rows_internal.h"
int old_dl_conv2d_depthwise(const dl_conv2d_geom *g, const float *x, const float *w, float *y);
static double now(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
int main(void) {
  static const int sh[][3] = {{96, 32, 1}, {96, 32, 2}, {144, 16, 1}, {144, 16, 2}, {192, 8, 1}};
  printf("%-16s %10s %10s %10s %10s   (us per call, median of 9)\n", "shape", "old views", "rows512", "rows avx2", "rows base");
  for (int s = 0; s < 5; s++) {
    dl_conv2d_geom g = {0};
    g.n = 1, g.c = g.oc = g.groups = sh[s][0], g.h = g.w = sh[s][1], g.kh = g.kw = 3, g.sh = g.sw = sh[s][2];
    g.pt = g.pb = g.pl = g.pr = 1, g.dh = g.dw = 1, g.oh = g.ow = (g.h - 1) / g.sh + 1;
    long nx = g.c * g.h * g.w, ny = g.c * g.oh * g.ow;
    float *x = malloc(4 * nx), *w = malloc(4 * 9 * g.c), *y = malloc(4 * ny);
    for (long i = 0; i < nx; i++) x[i] = (float)(i % 7) - 3;
    for (long i = 0; i < 9 * g.c; i++) w[i] = (float)(i % 5) - 2;
    double t[4][9];
    for (int r = 0; r < 9; r++)
      for (int v = 0; v < 4; v++) {
        double t0 = now();
        for (int k = 0; k < 200; k++) {
          if (v == 0) old_dl_conv2d_depthwise(&g, x, w, y);
          else dl_dw3_rows_range_isa(v == 1 ? DL_GEMV_AVX512 : v == 2 ? DL_GEMV_AVX2 : DL_GEMV_PORTABLE, &g, x, w, y, 0, 0, g.c);
        }
        t[v][r] = (now() - t0) / 200 * 1e6;
      }
    char name[32]; snprintf(name, sizeof name, "c%d %dx%d s%d", sh[s][0], sh[s][1], sh[s][1], sh[s][2]);
    printf("%-16s", name);
    for (int v = 0; v < 4; v++) { qsort(t[v], 9, sizeof(double), cmp); printf(" %10.2f", t[v][4]); }
    printf("\n");
    free(x), free(w), free(y);
  }
  return 0;
}
