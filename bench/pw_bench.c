/* pw_bench.c — the 1x1 (pointwise) convolutions of MobileNetV2
 * (bench/workloads/mobilenetv2.dln, batch 64 and batch 1) through
 * dl_conv2d, dl_conv2d_bwd_data and dl_conv2d_bwd_weight, old and new
 * builds alternating as conv_bench.c does (bench_alt.h): link with
 * -DCONV_BENCH_OLD and an older conv.o whose globals were renamed old_*
 * (objcopy --redefine-syms; docs/results/mbv_pointwise.sh). Usage:
 *
 *   pw_bench [reps] [cpu]     "cpu": process CPU time, 1 thread */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_alt.h"
#include "dlnrt.h"

#ifdef CONV_BENCH_OLD
int old_dl_conv2d(const dl_conv2d_geom *g, const float *x, const float *w, float *y);
int old_dl_conv2d_bwd_data(const dl_conv2d_geom *g, const float *gy, const float *w, float *gx);
int old_dl_conv2d_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw);
#endif

/* n, c, h (= w), oc: every pointwise layer of the workload, at batch 64 and 1. */
static const int64_t shapes[][4] = {
    {64, 16, 32, 96}, {64, 96, 32, 16}, {64, 96, 16, 24}, {64, 24, 16, 144}, {64, 144, 16, 24}, {64, 144, 8, 32},
    {64, 32, 8, 192}, {64, 192, 8, 32}, {64, 192, 4, 64}, {64, 64, 4, 384},  {64, 384, 4, 64},  {64, 64, 4, 256},
    {1, 16, 32, 96},  {1, 96, 32, 16},  {1, 24, 16, 144}, {1, 144, 16, 24},  {1, 32, 8, 192},   {1, 192, 8, 32},
    {1, 64, 4, 384},  {1, 384, 4, 64},
};

typedef struct bufs {
    dl_conv2d_geom g;
    float *x, *w, *y, *gx, *gw;
} bufs;

/* op 0 forward, 1 data gradient, 2 weight gradient; old selects the renamed kernels. */
static void run(void *ctx, int op, int old)
{
    bufs *b = ctx;
    (void)old;
#ifdef CONV_BENCH_OLD
    if (old) {
        if (op == 0) old_dl_conv2d(&b->g, b->x, b->w, b->y);
        if (op == 1) old_dl_conv2d_bwd_data(&b->g, b->y, b->w, b->gx);
        if (op == 2) old_dl_conv2d_bwd_weight(&b->g, b->x, b->y, b->gw);
        return;
    }
#endif
    if (op == 0) dl_conv2d(&b->g, b->x, b->w, b->y);
    if (op == 1) dl_conv2d_bwd_data(&b->g, b->y, b->w, b->gx);
    if (op == 2) dl_conv2d_bwd_weight(&b->g, b->x, b->y, b->gw);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    if (reps < 1 || reps > 64) reps = 7;
    if (argc > 2 && strcmp(argv[2], "cpu") == 0) bench_timer = CLOCK_PROCESS_CPUTIME_ID, omp_set_num_threads(1);
    static const char *ops[3] = {"fwd", "bwd_data", "bwd_weight"};
    printf("%-16s %-10s %9s %9s %8s %8s %7s\n", "n c>oc hxw", "op", "old ms", "new ms", "old GF/s", "new GF/s", "speedup");
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        const int64_t *s = shapes[si];
        bufs b;
        memset(&b.g, 0, sizeof b.g);
        b.g.n = s[0], b.g.c = s[1], b.g.h = b.g.w = b.g.oh = b.g.ow = s[2], b.g.oc = s[3];
        b.g.kh = b.g.kw = b.g.sh = b.g.sw = b.g.dh = b.g.dw = b.g.groups = 1;
        const int64_t P = s[2] * s[2], nx = s[0] * s[1] * P, ny = s[0] * s[3] * P, nw = s[1] * s[3];
        b.x = bench_rnd(nx), b.w = bench_rnd(nw), b.y = bench_rnd(ny), b.gx = bench_rnd(nx), b.gw = bench_rnd(nw);
        const double flops = 2.0 * (double)ny * (double)s[1];
        char name[32];
        snprintf(name, sizeof name, "%lld %lld>%lld %lldx%lld", (long long)s[0], (long long)s[1], (long long)s[3],
                 (long long)s[2], (long long)s[2]);
        for (int op = 0; op < 3; op++) {
            if (s[0] == 1 && op > 0) break; /* batch 1 is inference */
            double tn, to;
            bench_alternate(run, &b, op, reps, &tn, &to);
#ifndef CONV_BENCH_OLD
            to = tn;
#endif
            printf("%-16s %-10s %9.4f %9.4f %8.1f %8.1f %6.2fx\n", name, ops[op], to * 1e3, tn * 1e3, flops / to * 1e-9,
                   flops / tn * 1e-9, to / tn);
            fflush(stdout);
        }
        free(b.x), free(b.w), free(b.y), free(b.gx), free(b.gw);
    }
    return 0;
}
