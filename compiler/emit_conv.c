/* emit_conv.c — kernel bodies of the convolution and pooling ops.
 *
 * Why every body is one runtime call: the loops (im2col + dl_sgemm, the
 * 1x1 fast path, batch-parallel small convolutions, pooling windows) live
 * once in runtime/conv.c as ordinary C, where they can be tested, profiled
 * and optimized without touching the compiler. The generated kernel only
 * spells out the geometry with designated initializers, so it still reads
 * as what it computes:
 *
 *     const dl_conv2d_geom g = {.n = n, .c = 1, .h = 28, .w = 28, .oc = 6, .oh = 28, .ow = 28,
 *                               .kh = 5, .kw = 5, .sh = 1, .sw = 1, .pt = 2, ...};
 *     return dl_conv2d(&g, x0, x1, y);
 *
 * The geometry is always the FORWARD op's (dlnrt.h): conv_transpose2d is
 * the data gradient of the convolution that maps its output back to its
 * input, the pools' backward ops and unpooling use the pool's geometry. */
#include "emit_internal.h"
#include "ops_conv.h"

/* The dl_conv2d_geom literal: input x[n, c, h, w], output [n, oc, oh, ow]. */
static void emit_geom(emit_ctx *c, FILE *b, ir_dim n, const ir_shape *in, const ir_shape *out, int64_t kh, int64_t kw,
                      const conv_geom *g)
{
    fprintf(b, "    const dl_conv2d_geom g = {.n = %s, .c = %lld, .h = %lld, .w = %lld, .oc = %lld, .oh = %lld, .ow = %lld,\n",
            emit_dim(c, n), (long long)in->d[1].k, (long long)in->d[2].k, (long long)in->d[3].k, (long long)out->d[1].k,
            (long long)out->d[2].k, (long long)out->d[3].k);
    fprintf(b, "                              .kh = %lld, .kw = %lld, .sh = %lld, .sw = %lld, "
               ".pt = %lld, .pb = %lld, .pl = %lld, .pr = %lld,\n",
            (long long)kh, (long long)kw, (long long)g->sh, (long long)g->sw, (long long)g->pt, (long long)g->pb,
            (long long)g->pl, (long long)g->pr);
    fprintf(b, "                              .dh = %lld, .dw = %lld, .groups = %lld, .count_include_pad = %d};\n",
            (long long)g->dh, (long long)g->dw, (long long)g->groups, g->flag != 0);
}

void emit_conv(emit_ctx *c, FILE *b, const ir_node *n)
{
    conv_geom g;
    if (!conv_geom_get(&n->a, &g)) {
        diag_error(c->d, n->loc, "internal error: %s has malformed geometry", ir_ops[n->op].name);
        return;
    }
    const ir_node *x = n->in[0], *w = n->nin > 1 ? n->in[1] : NULL;
    const ir_shape *xs = &x->shape, *ys = &n->shape;
    ir_dim N = ys->d[0];
    switch (n->op) {
    case OP_conv2d:
        if (w->shape.d[2].k == 1 && w->shape.d[3].k == 1 && g.sh == 1 && g.sw == 1 && !g.pt && !g.pb && !g.pl && !g.pr)
            fprintf(b, "    /* 1x1, stride 1, no padding: one GEMM per image and group, no im2col */\n");
        else if (g.groups > 1 && g.groups == xs->d[1].k)
            fprintf(b, "    /* depthwise: direct per-plane kernel, no im2col (runtime/conv_depthwise.c) */\n");
        else fprintf(b, "    /* im2col + GEMM per image and group */\n");
        emit_geom(c, b, N, xs, ys, w->shape.d[2].k, w->shape.d[3].k, &g);
        fprintf(b, "    return dl_conv2d(&g, x0, x1, y);\n");
        break;
    case OP_conv_transpose2d: /* the data gradient of the conv from y's shape to x's */
        fprintf(b, "    /* the data gradient of the convolution y -> x: GEMM + col2im */\n");
        emit_geom(c, b, N, ys, xs, w->shape.d[2].k, w->shape.d[3].k, &g);
        fprintf(b, "    return dl_conv2d_bwd_data(&g, x0, x1, y);\n");
        break;
    case OP_conv2d_bwd_weight:
        N = xs->d[0];
        emit_geom(c, b, N, xs, &w->shape, g.kh, g.kw, &g);
        fprintf(b, "    return dl_conv2d_bwd_weight(&g, x0, x1, y);\n");
        break;
    case OP_max_pool2d: case OP_max_pool2d_indices:
        emit_geom(c, b, N, xs, ys, g.kh, g.kw, &g);
        fprintf(b, n->op == OP_max_pool2d ? "    dl_max_pool2d(&g, x0, y, NULL);\n" : "    dl_max_pool2d(&g, x0, NULL, y);\n");
        fprintf(b, "    return 0;\n");
        break;
    case OP_max_pool2d_bwd: case OP_max_unpool2d: /* values and indices at the pooled size -> y */
        emit_geom(c, b, N, ys, xs, g.kh, g.kw, &g);
        fprintf(b, "    return %s(&g, x0, x1, y);\n", n->op == OP_max_pool2d_bwd ? "dl_max_pool2d_bwd" : "dl_max_unpool2d");
        break;
    case OP_max_unpool2d_bwd: /* gather from x0's planes at the indices' (= y's) size */
        emit_geom(c, b, N, xs, ys, g.kh, g.kw, &g);
        fprintf(b, "    return dl_max_unpool2d_bwd(&g, x0, x1, y);\n");
        break;
    case OP_avg_pool2d: case OP_adaptive_avg_pool2d:
        emit_geom(c, b, N, xs, ys, g.kh, g.kw, &g);
        fprintf(b, "    %s(&g, x0, y);\n    return 0;\n", n->op == OP_avg_pool2d ? "dl_avg_pool2d" : "dl_adaptive_avg_pool2d");
        break;
    case OP_avg_pool2d_bwd: case OP_adaptive_avg_pool2d_bwd:
        emit_geom(c, b, N, ys, xs, g.kh, g.kw, &g);
        fprintf(b, "    %s(&g, x0, y);\n    return 0;\n",
                n->op == OP_avg_pool2d_bwd ? "dl_avg_pool2d_bwd" : "dl_adaptive_avg_pool2d_bwd");
        break;
    default:
        diag_error(c->d, n->loc, "internal error: emit_conv called for %s", ir_ops[n->op].name);
        return;
    }
    c->returns_status = 1;
}
