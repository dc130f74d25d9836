/* elab_conv.c — the convolution and pooling builtins: conv, conv_transpose,
 * max_pool2d, max_pool2d_with_indices, max_unpool2d, avg_pool2d,
 * adaptive_avg_pool2d.
 *
 * They take the weight as an argument (the stdlib's conv2d/conv_transpose2d
 * blocks declare it as a parameter) and PyTorch's argument conventions:
 * every 2-D size is an int or a pair (h, w); padding is also a 4-tuple
 * (top, bottom, left, right) or "same"/"valid" for conv. This file turns
 * those into one conv_geom (ops_conv.h) per call and reports bad values at
 * the argument, before the op's shape rule checks the tensors. */
#include <string.h>

#include "elab_internal.h"
#include "ops_conv.h"

/* Sizes beyond this cannot be packed into the attributes (nor be sensible). */
#define CONV_ARG_MAX 1000000

static ir_node *tensor_in(elab *e, value *v, const char *fname, const char *arg) {
    if (v->kind == V_TENSOR) return v->t;
    if (v->kind != V_ERROR)
        diag_error(e->d, v->loc, "argument '%s' of '%s' must be a tensor, got %s", arg, fname, v_describe(e, v));
    return NULL;
}

static int int_in_range(elab *e, const value *v, int64_t lo, const char *fname, const char *arg, int64_t *out) {
    value iv = int_like(v);
    v = &iv;
    if (v->kind != V_INT) {
        if (v->kind != V_ERROR)
            diag_error(e->d, v->loc, "argument '%s' of '%s' must be an int or a pair of ints, got %s", arg, fname,
                       v_describe(e, v));
        return 0;
    }
    if (v->i < lo || v->i > CONV_ARG_MAX) {
        diag_error(e->d, v->loc, "argument '%s' of '%s' must be %s, got %lld", arg, fname,
                   lo > 0 ? "positive" : "non-negative", (long long)v->i);
        return 0;
    }
    *out = v->i;
    return 1;
}

/* An int or a pair (h, w) of ints >= lo; absent = (dflt_h, dflt_w). */
static int pair_arg(elab *e, const value *v, int64_t dflt_h, int64_t dflt_w, int64_t lo, const char *fname,
                    const char *arg, int64_t *h, int64_t *w) {
    if (v->kind == V_NONE) {
        *h = dflt_h, *w = dflt_w;
        return 1;
    }
    if (v->kind == V_LIST) {
        if (v->n != 2) {
            diag_error(e->d, v->loc, "argument '%s' of '%s' must be an int or a pair (h, w), got a list of %d", arg,
                       fname, v->n);
            return 0;
        }
        return int_in_range(e, &v->items[0], lo, fname, arg, h) && int_in_range(e, &v->items[1], lo, fname, arg, w);
    }
    if (!int_in_range(e, v, lo, fname, arg, h)) return 0;
    *w = *h;
    return 1;
}

/* pad: int, (ph, pw), (top, bottom, left, right), or for conv "same" /
 * "valid". "same" needs stride 1 and pads dilation*(k-1) in total with the
 * extra row/column at the bottom/right, as PyTorch. */
static int pad_arg(elab *e, const value *v, int allow_same, int64_t kh, int64_t kw, const char *fname, conv_geom *g) {
    if (v->kind == V_STR && allow_same && (strcmp(v->s, "same") == 0 || strcmp(v->s, "valid") == 0)) {
        if (strcmp(v->s, "valid") == 0) return 1;
        if (g->sh != 1 || g->sw != 1) {
            diag_error(e->d, v->loc, "pad = \"same\" needs stride 1, got stride (%lld, %lld)\nhint: give the padding "
                       "explicitly for strided convolutions", (long long)g->sh, (long long)g->sw);
            return 0;
        }
        int64_t th = g->dh * (kh - 1), tw = g->dw * (kw - 1);
        g->pt = th / 2, g->pb = th - th / 2, g->pl = tw / 2, g->pr = tw - tw / 2;
        return 1;
    }
    if (v->kind == V_LIST && v->n == 4) {
        int64_t p[4];
        for (int k = 0; k < 4; k++) {
            if (!int_in_range(e, &v->items[k], 0, fname, "pad", &p[k])) return 0;
        }
        g->pt = p[0], g->pb = p[1], g->pl = p[2], g->pr = p[3];
        return 1;
    }
    if (v->kind == V_LIST && v->n != 2) {
        diag_error(e->d, v->loc, "argument 'pad' of '%s' must be an int, (ph, pw) or (top, bottom, left, right), got a "
                   "list of %d", fname, v->n);
        return 0;
    }
    if (v->kind == V_STR) {
        diag_error(e->d, v->loc, "pad = \"%s\" is not supported by '%s'%s", v->s, fname,
                   allow_same ? "; use \"same\", \"valid\" or numbers" : "; give the padding as numbers");
        return 0;
    }
    int64_t ph, pw;
    if (!pair_arg(e, v, 0, 0, 0, fname, "pad", &ph, &pw)) return 0;
    g->pt = g->pb = ph, g->pl = g->pr = pw;
    return 1;
}

static ir_node *add_geom(elab *e, src_loc loc, ir_opcode op, ir_node **in, int nin, const conv_geom *g) {
    ir_attrs a;
    conv_geom_set(&a, g);
    return ir_add(e->g, e->d, loc, op, in, nin, &a);
}

/* conv(x, w, stride, pad, dilation, groups) and
 * conv_transpose(x, w, stride, pad, output_pad, dilation, groups). */
value b_conv(elab *e, src_loc loc, const char *name, value *args) {
    int transposed = strcmp(name, "conv_transpose") == 0;
    ir_node *in[2] = {tensor_in(e, &args[0], name, "x"), tensor_in(e, &args[1], name, "w")};
    if (!in[0] || !in[1]) return v_error();
    value *dil = &args[transposed ? 5 : 4], *grp = &args[transposed ? 6 : 5];
    conv_geom g = conv_geom_default();
    if (!pair_arg(e, &args[2], 1, 1, 1, name, "stride", &g.sh, &g.sw) ||
        !pair_arg(e, dil, 1, 1, 1, name, "dilation", &g.dh, &g.dw))
        return v_error();
    if (grp->kind != V_NONE) {
        if (!int_in_range(e, grp, 1, name, "groups", &g.groups)) return v_error();
    }
    const ir_shape *ws = &in[1]->shape;
    int64_t kh = ws->rank == 4 ? ws->d[2].k : 1, kw = ws->rank == 4 ? ws->d[3].k : 1;
    if (args[3].kind != V_NONE && !pad_arg(e, &args[3], !transposed, kh, kw, name, &g)) return v_error();
    if (transposed && !pair_arg(e, &args[4], 0, 0, 0, name, "output_pad", &g.size_h, &g.size_w)) return v_error();
    ir_node *y = add_geom(e, loc, transposed ? OP_conv_transpose2d : OP_conv2d, in, 2, &g);
    return y ? v_tensor(y, loc) : v_error();
}

/* The common arguments of the window pools: (x, kernel, stride = kernel, pad, ...). */
static int pool_geom(elab *e, value *args, const char *name, conv_geom *g) {
    *g = conv_geom_default();
    if (!pair_arg(e, &args[1], 0, 0, 1, name, "kernel", &g->kh, &g->kw) ||
        !pair_arg(e, &args[2], g->kh, g->kw, 1, name, "stride", &g->sh, &g->sw))
        return 0;
    return args[3].kind == V_NONE || pad_arg(e, &args[3], 0, g->kh, g->kw, name, g);
}

/* max_pool2d(x, kernel, stride, pad, dilation), avg_pool2d(x, kernel, stride,
 * pad, count_include_pad = true), max_pool2d_with_indices (-> values, indices). */
value b_pool(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_in(e, &args[0], name, "x");
    conv_geom g;
    if (!x || !pool_geom(e, args, name, &g)) return v_error();
    if (strcmp(name, "avg_pool2d") == 0) {
        if (args[4].kind == V_NONE) g.flag = 1;
        else if (args[4].kind == V_BOOL) g.flag = args[4].i;
        else {
            diag_error(e->d, args[4].loc, "argument 'count_include_pad' of 'avg_pool2d' must be a bool, got %s",
                       v_describe(e, &args[4]));
            return v_error();
        }
        ir_node *y = add_geom(e, loc, OP_avg_pool2d, &x, 1, &g);
        return y ? v_tensor(y, loc) : v_error();
    }
    if (!pair_arg(e, &args[4], 1, 1, 1, name, "dilation", &g.dh, &g.dw)) return v_error();
    ir_node *y = add_geom(e, loc, OP_max_pool2d, &x, 1, &g);
    if (!y) return v_error();
    if (strcmp(name, "max_pool2d_with_indices") != 0) return v_tensor(y, loc);
    ir_node *idx = add_geom(e, loc, OP_max_pool2d_indices, &x, 1, &g);
    if (!idx) return v_error();
    value l = v_list(e, 2, loc);
    l.items[0] = v_tensor(y, loc);
    l.items[1] = v_tensor(idx, loc);
    return l;
}

/* adaptive_avg_pool2d(x, size): size = int or (oh, ow). */
value b_adaptive_pool(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_in(e, &args[0], name, "x");
    conv_geom g = conv_geom_default();
    if (!x || !pair_arg(e, &args[1], 1, 1, 1, name, "size", &g.size_h, &g.size_w)) return v_error();
    ir_node *y = add_geom(e, loc, OP_adaptive_avg_pool2d, &x, 1, &g);
    return y ? v_tensor(y, loc) : v_error();
}

/* max_unpool2d(x, indices, size): zeros of size (h, w) per plane with x
 * placed at the indices (from max_pool2d_with_indices). */
value b_unpool(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *in[2] = {tensor_in(e, &args[0], name, "x"), tensor_in(e, &args[1], name, "indices")};
    conv_geom g = conv_geom_default();
    if (!in[0] || !in[1] || !pair_arg(e, &args[2], 1, 1, 1, name, "size", &g.size_h, &g.size_w)) return v_error();
    ir_node *y = add_geom(e, loc, OP_max_unpool2d, in, 2, &g);
    return y ? v_tensor(y, loc) : v_error();
}
