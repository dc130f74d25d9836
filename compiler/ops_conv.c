/* ops_conv.c — 2-D convolution and pooling: shape rules, VJPs, costs.
 *
 * Everything is NCHW with PyTorch's semantics. The family is closed under
 * differentiation, so second derivatives need no new ops:
 *
 *   conv2d(x, w)            dx = conv_transpose2d(gy, w)   dw = conv2d_bwd_weight(x, gy)
 *   conv_transpose2d(x, w)  dx = conv2d(gy, w)             dw = conv2d_bwd_weight(gy, x)
 *   conv2d_bwd_weight(x, g) dx = conv_transpose2d(g, G)    dg = conv2d(x, G)
 *   max_pool2d(x)           dx = max_pool2d_bwd(gy, max_pool2d_indices(x))
 *   max_pool2d_bwd(g, i)    dg = max_unpool2d_bwd(G, i)    (scatter-add and gather are adjoint)
 *   max_unpool2d(x, i)      dx = max_unpool2d_bwd(gy, i)   (as PyTorch; exact for distinct indices)
 *   avg_pool2d, adaptive_avg_pool2d and their _bwd: each other's adjoints.
 *
 * conv_transpose2d doubles as conv2d's data gradient: the transposed
 * convolution of gy with the same weight and geometry is exactly dx. Its
 * output_padding (attribute slot "size") recovers the rows a stride skips,
 * so dx always has x's exact size. Why the pools' backward ops take the
 * input size as an attribute: with a stride, several input sizes give the
 * same output size. */
#include <stdio.h>
#include <string.h>

#include "ops_conv.h"
#include "ops_impl.h"

/* ---- attribute packing ---------------------------------------------------- */

static const int64_t ATTR_MAX = 2147483647LL;

conv_geom conv_geom_default(void) {
    conv_geom g = {0};
    g.sh = g.sw = g.dh = g.dw = g.groups = 1;
    return g;
}

void conv_geom_set(ir_attrs *a, const conv_geom *g) {
    memset(a, 0, sizeof *a);
    a->conv = *g;
}

int conv_geom_get(const ir_attrs *a, conv_geom *g) {
    *g = a->conv;
    const int64_t *v = &g->sh;
    for (size_t k = 0; k < sizeof *g / sizeof *v; k++)
        if (v[k] < 0 || v[k] > ATTR_MAX) return 0;
    return 1;
}

int64_t conv_out_len(int64_t in, int64_t pad_lo, int64_t pad_hi, int64_t dil, int64_t k, int64_t stride) {
    int64_t span = in + pad_lo + pad_hi - dil * (k - 1) - 1;
    if (span < 0 || stride < 1) return 0;
    return span / stride + 1;
}

const char *conv_geom_str(char *buf, int len, const ir_node *n) {
    conv_geom g;
    if (!conv_geom_get(&n->a, &g)) {
        snprintf(buf, (size_t)len, " [malformed geometry]");
        return buf;
    }
    int p = 0;
    p += snprintf(buf + p, (size_t)(len - p), " [");
    if (n->op != OP_conv2d && n->op != OP_conv_transpose2d && n->op != OP_adaptive_avg_pool2d &&
        n->op != OP_adaptive_avg_pool2d_bwd && n->op != OP_max_unpool2d_bwd)
        p += snprintf(buf + p, (size_t)(len - p), "kernel=%lldx%lld, ", (long long)g.kh, (long long)g.kw);
    p += snprintf(buf + p, (size_t)(len - p), "stride=%lldx%lld, pad=%lld,%lld,%lld,%lld, dilation=%lldx%lld",
                  (long long)g.sh, (long long)g.sw, (long long)g.pt, (long long)g.pb, (long long)g.pl, (long long)g.pr,
                  (long long)g.dh, (long long)g.dw);
    if (g.groups != 1) p += snprintf(buf + p, (size_t)(len - p), ", groups=%lld", (long long)g.groups);
    if (g.size_h || g.size_w)
        p += snprintf(buf + p, (size_t)(len - p), ", %s=%lldx%lld", n->op == OP_conv_transpose2d ? "output_pad" : "size",
                      (long long)g.size_h, (long long)g.size_w);
    if (g.flag) p += snprintf(buf + p, (size_t)(len - p), ", count_include_pad");
    snprintf(buf + p, (size_t)(len - p), "]");
    return buf;
}

/* ---- shared checks -------------------------------------------------------- */

static const char *opname(const ir_node *n) { return ir_ops[n->op].name; }

/* Input k must be f32 (or i32) [?, const, const, const]. */
static int require_nchw(const ir_node *n, int k, ir_dtype dt, const char *what, char *err, int errlen) {
    const ir_node *x = n->in[k];
    char b[OPS_TYPE_BUF];
    if (x->dtype != dt || x->shape.rank != 4)
        return ops_fail(err, errlen, "%s: %s must be %s[N, C, H, W], got %s%s", opname(n), what,
                        dt == IR_F32 ? "f32" : "i32", ops_type(b, x),
                        x->shape.rank == 4 || dt != IR_F32 ? "" : "\nhint: images are NCHW; reshape flat inputs, e.g. reshape(x, [N, 1, 28, 28])");
    for (int d = 1; d < 4; d++)
        if (!ir_dim_is_const(x->shape.d[d]))
            return ops_fail(err, errlen, "%s: the channel and spatial sizes of %s must be constants, got %s", opname(n),
                            what, ops_type(b, x));
    return 1;
}

static int get_geom(const ir_node *n, conv_geom *g, int need_kernel, char *err, int errlen) {
    if (!conv_geom_get(&n->a, g)) return ops_fail(err, errlen, "%s: malformed geometry attributes", opname(n));
    if (g->sh < 1 || g->sw < 1)
        return ops_fail(err, errlen, "%s: the stride must be positive, got %lldx%lld", opname(n), (long long)g->sh,
                        (long long)g->sw);
    if (g->dh < 1 || g->dw < 1)
        return ops_fail(err, errlen, "%s: the dilation must be positive, got %lldx%lld", opname(n), (long long)g->dh,
                        (long long)g->dw);
    if (g->groups < 1) return ops_fail(err, errlen, "%s: groups must be positive, got %lld", opname(n), (long long)g->groups);
    if (need_kernel && (g->kh < 1 || g->kw < 1))
        return ops_fail(err, errlen, "%s: the kernel size must be positive, got %lldx%lld", opname(n), (long long)g->kh,
                        (long long)g->kw);
    return 1;
}

static ir_shape nchw(ir_dim n, int64_t c, int64_t h, int64_t w) {
    ir_shape s = {4, {n, ir_dim_const(c), ir_dim_const(h), ir_dim_const(w)}};
    return s;
}

/* a / b rounded down (b > 0): the output-size formula's value for a too-small input. */
static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* The output size of a window sweep over x's H, W, or an error naming the numbers. */
static int sweep(const ir_node *n, const conv_geom *g, int64_t H, int64_t W, int64_t kh, int64_t kw, int64_t *oh,
                 int64_t *ow, char *err, int errlen) {
    *oh = conv_out_len(H, g->pt, g->pb, g->dh, kh, g->sh);
    *ow = conv_out_len(W, g->pl, g->pr, g->dw, kw, g->sw);
    if (*oh >= 1 && *ow >= 1) return 1;
    return ops_fail(err, errlen,
                    "%s: the kernel %lldx%lld (dilation %lldx%lld: %lldx%lld effective) is larger than the padded input "
                    "%lldx%lld (%lldx%lld plus padding %lld,%lld,%lld,%lld): the output size would be %lldx%lld\n"
                    "hint: use a smaller kernel or add padding",
                    opname(n), (long long)kh, (long long)kw, (long long)g->dh, (long long)g->dw,
                    (long long)(g->dh * (kh - 1) + 1), (long long)(g->dw * (kw - 1) + 1), (long long)(H + g->pt + g->pb),
                    (long long)(W + g->pl + g->pr), (long long)H, (long long)W, (long long)g->pt, (long long)g->pb,
                    (long long)g->pl, (long long)g->pr,
                    (long long)(floor_div(H + g->pt + g->pb - g->dh * (kh - 1) - 1, g->sh) + 1),
                    (long long)(floor_div(W + g->pl + g->pr - g->dw * (kw - 1) - 1, g->sw) + 1));
}

/* Channels of x split into groups, and the weight's per-group input count. */
static int check_groups(const ir_node *n, int64_t C, int64_t per_group, int64_t O, const char *o_what,
                        const conv_geom *g, char *err, int errlen) {
    char bw[OPS_TYPE_BUF];
    if (C % g->groups != 0)
        return ops_fail(err, errlen, "%s: %lld input channels cannot be split into groups=%lld", opname(n), (long long)C,
                        (long long)g->groups);
    if (O % g->groups != 0)
        return ops_fail(err, errlen, "%s: %lld %s cannot be split into groups=%lld", opname(n), (long long)O, o_what,
                        (long long)g->groups);
    if (per_group != C / g->groups)
        return ops_fail(err, errlen,
                        "%s: the weight %s expects %lld input channels per group, but x has %lld channels in %lld "
                        "group(s) (%lld per group)\nhint: the weight layout is %s",
                        opname(n), ops_type(bw, n->in[1]), (long long)per_group, (long long)C, (long long)g->groups,
                        (long long)(C / g->groups),
                        n->op == OP_conv_transpose2d ? "[in_channels, out_channels/groups, kh, kw]"
                                                     : "[out_channels, in_channels/groups, kh, kw]");
    return 1;
}

static int require_weight(const ir_node *n, char *err, int errlen) {
    const ir_node *w = n->in[1];
    char b[OPS_TYPE_BUF];
    if (w->dtype != IR_F32 || w->shape.rank != 4)
        return ops_fail(err, errlen, "%s: the weight must be f32[%s, kh, kw], got %s", opname(n),
                        n->op == OP_conv2d ? "out_channels, in_channels/groups" : "in_channels, out_channels/groups",
                        ops_type(b, w));
    for (int d = 0; d < 4; d++)
        if (!ir_dim_is_const(w->shape.d[d]))
            return ops_fail(err, errlen, "%s: the weight's sizes must be constants, got %s", opname(n), ops_type(b, w));
    return 1;
}

/* Constant dim k of a node (the rules above guarantee constants). */
static int64_t dimk(const ir_node *v, int k) { return v->shape.d[k].k; }

/* ---- conv2d ---------------------------------------------------------------- */

int op_shape_conv2d(ir_node *n, char *err, int errlen) {
    conv_geom g;
    if (!require_nchw(n, 0, IR_F32, "x", err, errlen) || !require_weight(n, err, errlen) ||
        !get_geom(n, &g, 0, err, errlen))
        return 0;
    const ir_node *x = n->in[0], *w = n->in[1];
    int64_t C = dimk(x, 1), O = dimk(w, 0);
    if (!check_groups(n, C, dimk(w, 1), O, "output channels", &g, err, errlen)) return 0;
    int64_t oh, ow;
    if (!sweep(n, &g, dimk(x, 2), dimk(x, 3), dimk(w, 2), dimk(w, 3), &oh, &ow, err, errlen)) return 0;
    n->dtype = IR_F32;
    n->shape = nchw(x->shape.d[0], O, oh, ow);
    return 1;
}

/* 2 flops per multiply-add: N * O * Ho * Wo * (C/groups) * kh * kw of them. */
double op_flops_conv2d(const ir_node *n, const int64_t *sv) {
    const ir_node *w = n->in[1];
    return 2.0 * ops_numel(&n->shape, sv) * (double)(dimk(w, 1) * dimk(w, 2) * dimk(w, 3));
}

/* The conv_transpose2d output padding that gives back exactly `want` rows:
 * the rows a stride skips at the end of the input. */
static int64_t out_pad(int64_t want, int64_t in, int64_t s, int64_t plo, int64_t phi, int64_t d, int64_t k) {
    return want - ((in - 1) * s - plo - phi + d * (k - 1) + 1);
}

/* An op of the family on a (and b, unless NULL) with geometry g: how every
 * VJP below builds its result. */
static ir_node *geom_op(ad_ctx *c, ir_opcode op, ir_node *a, ir_node *b, const conv_geom *g) {
    ir_attrs at;
    conv_geom_set(&at, g);
    ir_node *in[2] = {a, b};
    return ir_op_attrs(c->g, op, in, b ? 2 : 1, &at);
}

/* dx of conv2d(x, w) for output gradient gy: the transposed convolution. */
static ir_node *conv_dx(ad_ctx *c, const conv_geom *g0, ir_node *x, ir_node *w, ir_node *gy) {
    conv_geom g = *g0;
    g.kh = g.kw = 0;
    g.size_h = out_pad(dimk(x, 2), dimk(gy, 2), g.sh, g.pt, g.pb, g.dh, dimk(w, 2));
    g.size_w = out_pad(dimk(x, 3), dimk(gy, 3), g.sw, g.pl, g.pr, g.dw, dimk(w, 3));
    return geom_op(c, OP_conv_transpose2d, gy, w, &g);
}

static ir_node *conv_dw(ad_ctx *c, const conv_geom *g0, ir_node *x, ir_node *gy, const ir_node *w) {
    conv_geom g = *g0;
    g.kh = dimk(w, 2), g.kw = dimk(w, 3);
    g.size_h = g.size_w = 0;
    return geom_op(c, OP_conv2d_bwd_weight, x, gy, &g);
}

static ir_node *conv_fwd(ad_ctx *c, const conv_geom *g0, ir_node *x, ir_node *w) {
    conv_geom g = *g0;
    g.kh = g.kw = g.size_h = g.size_w = 0;
    return geom_op(c, OP_conv2d, x, w, &g);
}

void op_vjp_conv2d(ad_ctx *c, ir_node *n, ir_node *gy) {
    conv_geom g;
    conv_geom_get(&n->a, &g);
    ir_node *x = n->in[0], *w = n->in[1];
    if (ad_wants(c, x)) ad_accum(c, x, conv_dx(c, &g, x, w, gy));
    if (ad_wants(c, w)) ad_accum(c, w, conv_dw(c, &g, x, gy, w));
}

/* ---- conv_transpose2d ------------------------------------------------------ */

int op_shape_conv_transpose2d(ir_node *n, char *err, int errlen) {
    conv_geom g;
    if (!require_nchw(n, 0, IR_F32, "x", err, errlen) || !require_weight(n, err, errlen) ||
        !get_geom(n, &g, 0, err, errlen))
        return 0;
    const ir_node *x = n->in[0], *w = n->in[1];
    int64_t C = dimk(x, 1), O = dimk(w, 1) * g.groups;
    char bx[OPS_TYPE_BUF], bw[OPS_TYPE_BUF];
    if (dimk(w, 0) != C)
        return ops_fail(err, errlen,
                        "conv_transpose2d: the weight %s is for %lld input channels, but x %s has %lld\n"
                        "hint: the weight layout is [in_channels, out_channels/groups, kh, kw]",
                        ops_type(bw, w), (long long)dimk(w, 0), ops_type(bx, x), (long long)C);
    if (C % g.groups != 0)
        return ops_fail(err, errlen, "conv_transpose2d: %lld input channels cannot be split into groups=%lld",
                        (long long)C, (long long)g.groups);
    if (g.size_h >= g.sh || g.size_w >= g.sw)
        return ops_fail(err, errlen, "conv_transpose2d: the output padding %lldx%lld must be smaller than the stride %lldx%lld",
                        (long long)g.size_h, (long long)g.size_w, (long long)g.sh, (long long)g.sw);
    int64_t oh = (dimk(x, 2) - 1) * g.sh - g.pt - g.pb + g.dh * (dimk(w, 2) - 1) + 1 + g.size_h;
    int64_t ow = (dimk(x, 3) - 1) * g.sw - g.pl - g.pr + g.dw * (dimk(w, 3) - 1) + 1 + g.size_w;
    if (oh < 1 || ow < 1)
        return ops_fail(err, errlen, "conv_transpose2d: the padding %lld,%lld,%lld,%lld leaves an output of %lldx%lld for %s",
                        (long long)g.pt, (long long)g.pb, (long long)g.pl, (long long)g.pr, (long long)oh, (long long)ow,
                        ops_type(bx, x));
    n->dtype = IR_F32;
    n->shape = nchw(x->shape.d[0], O, oh, ow);
    return 1;
}

double op_flops_conv_transpose2d(const ir_node *n, const int64_t *sv) {
    const ir_node *w = n->in[1];
    return 2.0 * ops_numel(&n->in[0]->shape, sv) * (double)(dimk(w, 1) * dimk(w, 2) * dimk(w, 3));
}

/* y = convT(x, w) is conv2d's dx with gy := x, so x's gradient is the
 * convolution of gy, and w's is conv2d's weight gradient with the roles of
 * input (gy) and output gradient (x) swapped. */
void op_vjp_conv_transpose2d(ad_ctx *c, ir_node *n, ir_node *gy) {
    conv_geom g;
    conv_geom_get(&n->a, &g);
    ir_node *x = n->in[0], *w = n->in[1];
    if (ad_wants(c, x)) ad_accum(c, x, conv_fwd(c, &g, gy, w));
    if (ad_wants(c, w)) ad_accum(c, w, conv_dw(c, &g, gy, x, w));
}

/* ---- conv2d_bwd_weight ----------------------------------------------------- */

int op_shape_conv2d_bwd_weight(ir_node *n, char *err, int errlen) {
    conv_geom g;
    if (!require_nchw(n, 0, IR_F32, "x", err, errlen) || !require_nchw(n, 1, IR_F32, "the output gradient", err, errlen) ||
        !get_geom(n, &g, 1, err, errlen))
        return 0;
    const ir_node *x = n->in[0], *gy = n->in[1];
    char bx[OPS_TYPE_BUF], bg[OPS_TYPE_BUF];
    int64_t C = dimk(x, 1), O = dimk(gy, 1), oh, ow;
    if (!ir_dim_eq(x->shape.d[0], gy->shape.d[0]))
        return ops_fail(err, errlen, "conv2d_bwd_weight: batch sizes differ: %s and %s", ops_type(bx, x), ops_type(bg, gy));
    if (C % g.groups || O % g.groups)
        return ops_fail(err, errlen, "conv2d_bwd_weight: %lld input / %lld output channels cannot be split into groups=%lld",
                        (long long)C, (long long)O, (long long)g.groups);
    if (!sweep(n, &g, dimk(x, 2), dimk(x, 3), g.kh, g.kw, &oh, &ow, err, errlen)) return 0;
    if (oh != dimk(gy, 2) || ow != dimk(gy, 3))
        return ops_fail(err, errlen, "conv2d_bwd_weight: the output gradient %s does not match the %lldx%lld output of x %s",
                        ops_type(bg, gy), (long long)oh, (long long)ow, ops_type(bx, x));
    n->dtype = IR_F32;
    n->shape = nchw(ir_dim_const(O), C / g.groups, g.kh, g.kw);
    return 1;
}

double op_flops_conv2d_bwd_weight(const ir_node *n, const int64_t *sv) {
    return 2.0 * ops_numel(&n->in[1]->shape, sv) * (double)(dimk(n, 1) * dimk(n, 2) * dimk(n, 3));
}

/* dw = B(x, gy) is bilinear: for a cotangent G shaped like w, x's part is
 * conv2d's dx with weight G and gy's part is conv2d(x, G). */
void op_vjp_conv2d_bwd_weight(ad_ctx *c, ir_node *n, ir_node *G) {
    conv_geom g;
    conv_geom_get(&n->a, &g);
    ir_node *x = n->in[0], *gy = n->in[1];
    if (ad_wants(c, x)) ad_accum(c, x, conv_dx(c, &g, x, G, gy));
    if (ad_wants(c, gy)) ad_accum(c, gy, conv_fwd(c, &g, x, G));
}

/* ---- pools ---------------------------------------------------------------- */

/* PyTorch: "pad should be at most half of kernel size". */
static int check_pool_pad(const ir_node *n, const conv_geom *g, char *err, int errlen) {
    if (g->pt > g->kh / 2 || g->pb > g->kh / 2 || g->pl > g->kw / 2 || g->pr > g->kw / 2)
        return ops_fail(err, errlen, "%s: the padding %lld,%lld,%lld,%lld must be at most half the kernel %lldx%lld",
                        opname(n), (long long)g->pt, (long long)g->pb, (long long)g->pl, (long long)g->pr,
                        (long long)g->kh, (long long)g->kw);
    return 1;
}

static int pool_shape(ir_node *n, ir_dtype out, char *err, int errlen) {
    conv_geom g;
    if (!require_nchw(n, 0, IR_F32, "x", err, errlen) || !get_geom(n, &g, 1, err, errlen) ||
        !check_pool_pad(n, &g, err, errlen))
        return 0;
    if (n->op == OP_avg_pool2d && (g.dh != 1 || g.dw != 1))
        return ops_fail(err, errlen, "avg_pool2d: dilation is not supported (got %lldx%lld)", (long long)g.dh, (long long)g.dw);
    const ir_node *x = n->in[0];
    int64_t oh, ow;
    if (!sweep(n, &g, dimk(x, 2), dimk(x, 3), g.kh, g.kw, &oh, &ow, err, errlen)) return 0;
    n->dtype = out;
    n->shape = nchw(x->shape.d[0], dimk(x, 1), oh, ow);
    return 1;
}

int op_shape_max_pool2d(ir_node *n, char *err, int errlen) { return pool_shape(n, IR_F32, err, errlen); }
int op_shape_max_pool2d_indices(ir_node *n, char *err, int errlen) { return pool_shape(n, IR_I32, err, errlen); }
int op_shape_avg_pool2d(ir_node *n, char *err, int errlen) { return pool_shape(n, IR_F32, err, errlen); }

/* One comparison or addition per window element. */
static double pool_flops(const ir_node *n, const ir_shape *out, const int64_t *sv) {
    conv_geom g;
    conv_geom_get(&n->a, &g);
    return ops_numel(out, sv) * (double)(g.kh * g.kw);
}
double op_flops_max_pool2d(const ir_node *n, const int64_t *sv) { return pool_flops(n, &n->shape, sv); }
double op_flops_max_pool2d_indices(const ir_node *n, const int64_t *sv) { return pool_flops(n, &n->shape, sv); }
double op_flops_avg_pool2d(const ir_node *n, const int64_t *sv) { return pool_flops(n, &n->shape, sv); }
double op_flops_avg_pool2d_bwd(const ir_node *n, const int64_t *sv) { return pool_flops(n, &n->in[0]->shape, sv); }

/* A copy of n's geometry with the size slot set (the _bwd ops' input size). */
static conv_geom with_size(const ir_node *n, int64_t h, int64_t w) {
    conv_geom g;
    conv_geom_get(&n->a, &g);
    g.size_h = h, g.size_w = w;
    return g;
}

void op_vjp_max_pool2d(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *x = n->in[0];
    ir_node *idx = ir_op_attrs(c->g, OP_max_pool2d_indices, &x, 1, &n->a);
    conv_geom g = with_size(n, dimk(x, 2), dimk(x, 3));
    ad_accum(c, x, geom_op(c, OP_max_pool2d_bwd, gy, idx, &g));
}

/* Indices are piecewise constant: no gradient. */
void op_vjp_max_pool2d_indices(ad_ctx *c, ir_node *n, ir_node *gy) { (void)c, (void)n, (void)gy; }

/* g f32[N, C, h, w] and idx i32[N, C, h, w] scattered into f32[N, C, size]. */
static int scatter_shape(ir_node *n, char *err, int errlen) {
    conv_geom g;
    if (!require_nchw(n, 0, IR_F32, "the values", err, errlen) || !require_nchw(n, 1, IR_I32, "the indices", err, errlen) ||
        !get_geom(n, &g, 0, err, errlen))
        return 0;
    const ir_node *x = n->in[0], *idx = n->in[1];
    char bx[OPS_TYPE_BUF], bi[OPS_TYPE_BUF];
    if (!ir_shape_eq(&x->shape, &idx->shape))
        return ops_fail(err, errlen, "%s: the indices %s must have the shape of the values %s", opname(n), ops_type(bi, idx),
                        ops_type(bx, x));
    if (g.size_h < 1 || g.size_w < 1)
        return ops_fail(err, errlen, "%s: the output size must be positive, got %lldx%lld", opname(n), (long long)g.size_h,
                        (long long)g.size_w);
    n->dtype = IR_F32;
    n->shape = nchw(x->shape.d[0], dimk(x, 1), g.size_h, g.size_w);
    return 1;
}

int op_shape_max_pool2d_bwd(ir_node *n, char *err, int errlen) { return scatter_shape(n, err, errlen); }
int op_shape_max_unpool2d(ir_node *n, char *err, int errlen) { return scatter_shape(n, err, errlen); }
double op_flops_max_pool2d_bwd(const ir_node *n, const int64_t *sv) { return ops_numel(&n->in[0]->shape, sv); }
double op_flops_max_unpool2d(const ir_node *n, const int64_t *sv) { return ops_numel(&n->in[0]->shape, sv); }

static ir_node *gather(ad_ctx *c, ir_node *g, ir_node *idx) {
    conv_geom geom = conv_geom_default();
    return geom_op(c, OP_max_unpool2d_bwd, g, idx, &geom);
}

void op_vjp_max_pool2d_bwd(ad_ctx *c, ir_node *n, ir_node *G) {
    if (ad_wants(c, n->in[0])) ad_accum(c, n->in[0], gather(c, G, n->in[1]));
}

void op_vjp_max_unpool2d(ad_ctx *c, ir_node *n, ir_node *gy) {
    if (ad_wants(c, n->in[0])) ad_accum(c, n->in[0], gather(c, gy, n->in[1]));
}

/* gather: g f32[N, C, H, W], idx i32[N, C, h, w] -> f32[N, C, h, w]. */
int op_shape_max_unpool2d_bwd(ir_node *n, char *err, int errlen) {
    conv_geom g;
    if (!require_nchw(n, 0, IR_F32, "the gradient", err, errlen) || !require_nchw(n, 1, IR_I32, "the indices", err, errlen) ||
        !get_geom(n, &g, 0, err, errlen))
        return 0;
    const ir_node *x = n->in[0], *idx = n->in[1];
    char bx[OPS_TYPE_BUF], bi[OPS_TYPE_BUF];
    if (!ir_dim_eq(x->shape.d[0], idx->shape.d[0]) || dimk(x, 1) != dimk(idx, 1))
        return ops_fail(err, errlen, "max_unpool2d_bwd: the indices %s and the gradient %s differ in batch or channels",
                        ops_type(bi, idx), ops_type(bx, x));
    n->dtype = IR_F32;
    n->shape = idx->shape;
    return 1;
}

double op_flops_max_unpool2d_bwd(const ir_node *n, const int64_t *sv) { return ops_flops_per_out(n, sv); }

void op_vjp_max_unpool2d_bwd(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *g = n->in[0];
    if (!ad_wants(c, g)) return;
    conv_geom geom = with_size(n, dimk(g, 2), dimk(g, 3));
    ad_accum(c, g, geom_op(c, OP_max_pool2d_bwd, gy, n->in[1], &geom));
}

void op_vjp_avg_pool2d(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *x = n->in[0];
    conv_geom g = with_size(n, dimk(x, 2), dimk(x, 3));
    ad_accum(c, x, geom_op(c, OP_avg_pool2d_bwd, gy, NULL, &g));
}

/* gy[N, C, oh, ow] -> f32[N, C, size], where pooling size gives oh x ow. */
int op_shape_avg_pool2d_bwd(ir_node *n, char *err, int errlen) {
    conv_geom g;
    if (!require_nchw(n, 0, IR_F32, "the output gradient", err, errlen) || !get_geom(n, &g, 1, err, errlen) ||
        !check_pool_pad(n, &g, err, errlen))
        return 0;
    const ir_node *gy = n->in[0];
    int64_t oh, ow;
    if (!sweep(n, &g, g.size_h, g.size_w, g.kh, g.kw, &oh, &ow, err, errlen)) return 0;
    char b[OPS_TYPE_BUF];
    if (oh != dimk(gy, 2) || ow != dimk(gy, 3))
        return ops_fail(err, errlen, "avg_pool2d_bwd: the output gradient %s does not match the %lldx%lld output of a %lldx%lld input",
                        ops_type(b, gy), (long long)oh, (long long)ow, (long long)g.size_h, (long long)g.size_w);
    n->dtype = IR_F32;
    n->shape = nchw(gy->shape.d[0], dimk(gy, 1), g.size_h, g.size_w);
    return 1;
}

void op_vjp_avg_pool2d_bwd(ad_ctx *c, ir_node *n, ir_node *G) {
    conv_geom g = with_size(n, 0, 0);
    ad_accum(c, n->in[0], geom_op(c, OP_avg_pool2d, G, NULL, &g));
}

/* ---- adaptive average pooling ---------------------------------------------- */

static int adaptive_shape(ir_node *n, const char *what, char *err, int errlen) {
    conv_geom g;
    if (!require_nchw(n, 0, IR_F32, what, err, errlen)) return 0;
    if (!conv_geom_get(&n->a, &g)) return ops_fail(err, errlen, "%s: malformed geometry attributes", opname(n));
    if (g.size_h < 1 || g.size_w < 1)
        return ops_fail(err, errlen, "%s: the output size must be positive, got %lldx%lld", opname(n), (long long)g.size_h,
                        (long long)g.size_w);
    const ir_node *x = n->in[0];
    n->dtype = IR_F32;
    n->shape = nchw(x->shape.d[0], dimk(x, 1), g.size_h, g.size_w);
    return 1;
}

int op_shape_adaptive_avg_pool2d(ir_node *n, char *err, int errlen) { return adaptive_shape(n, "x", err, errlen); }
int op_shape_adaptive_avg_pool2d_bwd(ir_node *n, char *err, int errlen) {
    return adaptive_shape(n, "the output gradient", err, errlen);
}

/* Each input element is read by about one window (more when oh > H). */
double op_flops_adaptive_avg_pool2d(const ir_node *n, const int64_t *sv) {
    return ops_numel(&n->in[0]->shape, sv) + ops_numel(&n->shape, sv);
}
double op_flops_adaptive_avg_pool2d_bwd(const ir_node *n, const int64_t *sv) {
    return ops_numel(&n->in[0]->shape, sv) + ops_numel(&n->shape, sv);
}

/* The adaptive pools carry only the output size: each is the other's
 * adjoint with the size of the other's input. */
static ir_node *adaptive_to(ad_ctx *c, ir_opcode op, ir_node *g, const ir_node *like) {
    conv_geom geom = conv_geom_default();
    geom.size_h = dimk(like, 2), geom.size_w = dimk(like, 3);
    return geom_op(c, op, g, NULL, &geom);
}

void op_vjp_adaptive_avg_pool2d(ad_ctx *c, ir_node *n, ir_node *gy) {
    ad_accum(c, n->in[0], adaptive_to(c, OP_adaptive_avg_pool2d_bwd, gy, n->in[0]));
}

void op_vjp_adaptive_avg_pool2d_bwd(ad_ctx *c, ir_node *n, ir_node *G) {
    ad_accum(c, n->in[0], adaptive_to(c, OP_adaptive_avg_pool2d, G, n->in[0]));
}
