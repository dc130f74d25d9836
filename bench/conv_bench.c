/* conv_bench.c — dl_conv2d, dl_conv2d_bwd_data and dl_conv2d_bwd_weight on
 * the ResNet-20 (batch 64) and LeNet-5 layer shapes, at 1 and 2 threads.
 *
 * Built against libdlnrt.a alone it times the library's kernels. Built with
 * -DCONV_BENCH_OLD and an older conv.o whose four entry points were renamed
 * to old_dl_* (objcopy --redefine-sym), it times old and new side by side,
 * alternating the two so machine load hits both alike, and prints the
 * median of each with the speedup — the before/after numbers in
 * docs/profile-resnet20.md come from this. Usage:
 *
 *   conv_bench [reps] [cpu|wall] [shape]  (OMP_WAIT_POLICY=passive recommended)
 *
 * "cpu" times process CPU time at one thread only: on a shared, busy
 * machine that is the steadier measure of what a change saves. A shape name
 * (e.g. "r16x32 s1") times that layer alone. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_alt.h"
#include "dlnrt.h"
#include "bench_conv_old.h"

typedef struct shape {
    const char *name;
    int64_t n, c, h, oc, k, s, p;
} shape;

static const shape shapes[] = {
    {"r16x32 s1", 64, 16, 32, 16, 3, 1, 1}, {"r16>32 s2", 64, 16, 32, 32, 3, 2, 1},
    {"r32x16 s1", 64, 32, 16, 32, 3, 1, 1}, {"r32>64 s2", 64, 32, 16, 64, 3, 2, 1},
    {"r64x8 s1", 64, 64, 8, 64, 3, 1, 1},   {"r 1x1 s2", 64, 16, 32, 32, 1, 2, 0},
    {"r 1x1 s2b", 64, 32, 16, 64, 1, 2, 0}, {"r3>16 s1", 64, 3, 32, 16, 3, 1, 1},
    {"lenet c1", 64, 1, 28, 6, 5, 1, 2},    {"lenet c3", 64, 6, 14, 16, 5, 1, 0},
    {"r16x32 n1", 1, 16, 32, 16, 3, 1, 1},  {"r32x16 n1", 1, 32, 16, 32, 3, 1, 1},
    {"r64x8 n1", 1, 64, 8, 64, 3, 1, 1},
};

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    if (reps < 1 || reps > 64) reps = 7;
    int max_threads = 2;
    if (argc > 2 && strcmp(argv[2], "cpu") == 0) bench_timer = CLOCK_PROCESS_CPUTIME_ID, max_threads = 1;
    const char *only = argc > 3 ? argv[3] : NULL;
    static const char *ops[3] = {"fwd", "bwd_data", "bwd_weight"};
    printf("%-10s %-10s %2s %9s %9s %8s %8s %7s\n", "shape", "op", "t", "old ms", "new ms", "old GF/s", "new GF/s",
           "speedup");
    for (int nt = 1; nt <= max_threads; nt++) {
        omp_set_num_threads(nt);
        for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
            const shape *s = &shapes[si];
            if (only && strcmp(only, s->name) != 0) continue;
            bufs b;
            memset(&b.g, 0, sizeof b.g);
            b.g.n = s->n, b.g.c = s->c, b.g.h = b.g.w = s->h, b.g.oc = s->oc, b.g.kh = b.g.kw = s->k;
            b.g.sh = b.g.sw = s->s, b.g.pt = b.g.pb = b.g.pl = b.g.pr = s->p, b.g.dh = b.g.dw = 1, b.g.groups = 1;
            b.g.oh = b.g.ow = (s->h + 2 * s->p - s->k) / s->s + 1;
            int64_t nx = s->n * s->c * s->h * s->h, ny = s->n * s->oc * b.g.oh * b.g.ow, nw = s->oc * s->c * s->k * s->k;
            b.x = bench_rnd(nx), b.w = bench_rnd(nw), b.y = bench_rnd(ny), b.gx = bench_rnd(nx), b.gw = bench_rnd(nw);
            double flops = 2.0 * (double)ny * s->c * s->k * s->k;
            for (int op = 0; op < 3; op++) {
                double tn, to;
                bench_alternate(run_conv, &b, op, reps, &tn, &to);
#ifndef CONV_BENCH_OLD
                to = tn;
#endif
                printf("%-10s %-10s %2d %9.3f %9.3f %8.1f %8.1f %6.2fx\n", s->name, ops[op], nt, to * 1e3, tn * 1e3,
                       flops / to * 1e-9, flops / tn * 1e-9, to / tn);
                fflush(stdout);
            }
            free(b.x), free(b.w), free(b.y), free(b.gx), free(b.gw);
        }
    }
    return 0;
}
