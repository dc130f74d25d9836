/* bench_conv_old.h — dl_conv2d's three passes for bench_alt.h's alternation,
 * shared by conv_bench.c and dw_bench.c's pointwise mode: the library's, or,
 * built with -DCONV_BENCH_OLD and an older conv.o whose globals were renamed
 * old_* (objcopy --redefine-syms), the older build's. Include after dlnrt.h. */
#ifndef BENCH_CONV_OLD_H
#define BENCH_CONV_OLD_H

#ifdef CONV_BENCH_OLD
int old_dl_conv2d(const dl_conv2d_geom *g, const float *x, const float *w, float *y);
int old_dl_conv2d_bwd_data(const dl_conv2d_geom *g, const float *gy, const float *w, float *gx);
int old_dl_conv2d_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw);
#endif

typedef struct bufs {
    dl_conv2d_geom g;
    float *x, *w, *y, *gx, *gw;
} bufs;

/* op 0 forward, 1 data gradient, 2 weight gradient; old selects the renamed kernels. */
static void run_conv(void *ctx, int op, int old)
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

#endif
