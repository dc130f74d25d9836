/* dw_bench.c — the depthwise kernels (dl_conv2d_depthwise, _bwd_data,
 * _bwd_weight) on MobileNetV2's depthwise layer shapes (bench/workloads/
 * mobilenetv2.dln: 3x3, padding 1, 3x32x32 inputs), at batch 64 and batch 1.
 *
 * Built against libdlnrt.a alone it times the library's kernels. Built with
 * -DDW_BENCH_OLD and an older conv_depthwise.o whose entry points were
 * renamed to old_dl_* (objcopy --redefine-sym, see docs/performance.md),
 * it times old and new side by side, alternating the two so machine load
 * hits both alike, and prints the median of each and the speedup. Usage:
 *
 *   dw_bench [reps] [cpu] [pw]
 *
 * "pw" times MobileNetV2's pointwise (1x1) layers instead, through
 * dl_conv2d* (conv_pointwise.c's kernel or one GEMM per image); built with
 * -DCONV_BENCH_OLD and an older conv.o whose globals were renamed old_*, old
 * and new side by side as above (bench_conv_old.h, docs/results/mbv_pointwise.sh).
 *
 * "cpu" times process CPU time (run it with OMP_NUM_THREADS=1): the
 * steadier measure on a shared, busy machine. GFLOP/s count 2 * 9 per
 * output pixel, as the op table does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_alt.h"
#include "dlnrt.h"
#include "bench_conv_old.h"

#ifdef DW_BENCH_OLD
int old_dl_conv2d_depthwise(const dl_conv2d_geom *g, const float *x, const float *w, float *y);
int old_dl_conv2d_depthwise_bwd_data(const dl_conv2d_geom *g, const float *gy, const float *w, float *gx);
int old_dl_conv2d_depthwise_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw);
#endif

typedef struct shape {
    int64_t n, c, h, s;
} shape;

static const shape shapes[] = {
    {64, 96, 32, 1}, {64, 96, 32, 2}, {64, 144, 16, 1}, {64, 144, 16, 2}, {64, 192, 8, 1}, {64, 192, 8, 2},
    {64, 384, 4, 1}, {1, 96, 32, 1},  {1, 96, 32, 2},   {1, 144, 16, 1},  {1, 144, 16, 2}, {1, 192, 8, 1},
    {1, 192, 8, 2},  {1, 384, 4, 1},
};

/* MobileNetV2's 1x1 layers: c -> oc on h x h planes, batch 64 (and the forward at batch 1). */
static const struct {
    int64_t c, oc, h;
} pointwise[] = {
    {16, 96, 32}, {96, 16, 32}, {96, 24, 16}, {24, 144, 16}, {144, 24, 16}, {144, 32, 8},
    {32, 192, 8}, {192, 32, 8}, {192, 64, 4}, {64, 384, 4},  {384, 64, 4},  {64, 256, 4},
};

/* op 0 forward, 1 data gradient, 2 weight gradient; old selects the renamed kernels. */
static void run(void *ctx, int op, int old)
{
    bufs *b = ctx;
    (void)old;
#ifdef DW_BENCH_OLD
    if (old) {
        if (op == 0) old_dl_conv2d_depthwise(&b->g, b->x, b->w, b->y);
        if (op == 1) old_dl_conv2d_depthwise_bwd_data(&b->g, b->y, b->w, b->gx);
        if (op == 2) old_dl_conv2d_depthwise_bwd_weight(&b->g, b->x, b->y, b->gw);
        return;
    }
#endif
    if (op == 0) dl_conv2d_depthwise(&b->g, b->x, b->w, b->y);
    if (op == 1) dl_conv2d_depthwise_bwd_data(&b->g, b->y, b->w, b->gx);
    if (op == 2) dl_conv2d_depthwise_bwd_weight(&b->g, b->x, b->y, b->gw);
}

/* Whether an older build is linked in for each kind (else "old" repeats the new). */
#ifdef DW_BENCH_OLD
#define HAS_DW_OLD 1
#else
#define HAS_DW_OLD 0
#endif
#ifdef CONV_BENCH_OLD
#define HAS_CONV_OLD 1
#else
#define HAS_CONV_OLD 0
#endif

/* Op 0 forward, 1 data gradient, 2 weight gradient of b, old and new
 * alternately (bench_alt.h), printed as one line: medians and speedup. */
static void time_op(bench_run_fn *fn, bufs *b, int op, int reps, int has_old, const char *name, double flops)
{
    static const char *ops[3] = {"fwd", "bwd_data", "bwd_weight"};
    double tn, to;
    bench_alternate(fn, b, op, reps, &tn, &to);
    if (!has_old) to = tn;
    printf("%-20s %-10s %9.4f %9.4f %8.1f %8.1f %6.2fx\n", name, ops[op], to * 1e3, tn * 1e3, flops / to * 1e-9,
           flops / tn * 1e-9, to / tn);
    fflush(stdout);
}

static void time_pointwise(int reps)
{
    printf("%-20s %-10s %9s %9s %8s %8s %7s\n", "pointwise", "op", "old ms", "new ms", "old GF/s", "new GF/s",
           "speedup");
    for (int n = 64; n >= 1; n -= 63)
        for (size_t si = 0; si < sizeof pointwise / sizeof *pointwise; si++) {
            bufs b;
            memset(&b.g, 0, sizeof b.g);
            b.g.n = n, b.g.c = pointwise[si].c, b.g.oc = pointwise[si].oc, b.g.groups = 1;
            b.g.h = b.g.w = b.g.oh = b.g.ow = pointwise[si].h;
            b.g.kh = b.g.kw = b.g.sh = b.g.sw = b.g.dh = b.g.dw = 1;
            const int64_t plane = b.g.h * b.g.w, nx = n * b.g.c * plane, ny = n * b.g.oc * plane;
            b.x = bench_rnd(nx), b.w = bench_rnd(b.g.c * b.g.oc), b.y = bench_rnd(ny), b.gx = bench_rnd(nx);
            b.gw = bench_rnd(b.g.c * b.g.oc);
            char name[40];
            snprintf(name, sizeof name, "n%d %ld>%ld %ldx%ld", n, (long)b.g.c, (long)b.g.oc, (long)b.g.h,
                     (long)b.g.w);
            for (int op = 0; op < (n == 1 ? 1 : 3); op++)
                time_op(run_conv, &b, op, reps, HAS_CONV_OLD, name, 2.0 * (double)ny * (double)b.g.c);
            free(b.x), free(b.w), free(b.y), free(b.gx), free(b.gw);
        }
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    if (reps < 1 || reps > 64) reps = 7;
    if (argc > 2 && strcmp(argv[2], "cpu") == 0) bench_timer = CLOCK_PROCESS_CPUTIME_ID;
    if (argc > 3 && strcmp(argv[3], "pw") == 0) {
        time_pointwise(reps);
        return 0;
    }
    printf("%-20s %-10s %9s %9s %8s %8s %7s\n", "shape", "op", "old ms", "new ms", "old GF/s", "new GF/s", "speedup");
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        const shape *s = &shapes[si];
        bufs b;
        memset(&b.g, 0, sizeof b.g);
        b.g.n = s->n, b.g.c = b.g.oc = b.g.groups = s->c, b.g.h = b.g.w = s->h, b.g.kh = b.g.kw = 3;
        b.g.sh = b.g.sw = s->s, b.g.pt = b.g.pb = b.g.pl = b.g.pr = 1, b.g.dh = b.g.dw = 1;
        b.g.oh = b.g.ow = (s->h - 1) / s->s + 1;
        const int64_t nx = s->n * s->c * s->h * s->h, ny = s->n * s->c * b.g.oh * b.g.ow, nw = s->c * 9;
        b.x = bench_rnd(nx), b.w = bench_rnd(nw), b.y = bench_rnd(ny), b.gx = bench_rnd(nx), b.gw = bench_rnd(nw);
        const double flops = 2.0 * 9.0 * (double)ny;
        char name[32];
        snprintf(name, sizeof name, "n%ld c%ld %ldx%ld s%ld", (long)s->n, (long)s->c, (long)s->h, (long)s->h,
                 (long)s->s);
        for (int op = 0; op < (s->n == 1 ? 1 : 3); op++) /* batch 1 is inference */
            time_op(run, &b, op, reps, HAS_DW_OLD, name, flops);
        free(b.x), free(b.w), free(b.y), free(b.gx), free(b.gw);
    }
    return 0;
}
