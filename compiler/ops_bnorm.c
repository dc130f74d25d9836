/* ops_bnorm.c — batch normalization in training as primitives (family
 * bnorm): shapes, gradients and costs of batch_stats, batch_normalize,
 * batch_norm_sums and batch_norm_dx.
 *
 * Composed from mean, subtract, square, mean, divide by sqrt, scale and
 * shift, a training batch norm was ~6 kernels forward and ~9 backward, each a
 * pass over [N, C, H, W]. As ops it is two passes forward (the statistics,
 * then the output) and two backward (two sums per channel, then dx).
 *
 * Statistics (M = elements per channel, xhat = (x - mean) * rstd,
 * rstd = 1 / sqrt(var + eps)):
 *   batch_stats(x)                       = [mean; var]            f32[2, C]
 *   batch_normalize(x, stats, w, b)      = xhat * w + b
 *
 * VJP of batch_normalize, with S = batch_norm_sums(x, stats, gy) = [sum gy; sum gy * xhat]:
 *   w     : S[1]            b : S[0]
 *   when stats is batch_stats(x) — the training case — x gets the whole
 *   gradient through the statistics from one kernel, batch_norm_dx:
 *     dx = w * rstd * (gy - S[0] / M - xhat * S[1] / M)
 *   and stats gets nothing from this use (its part is inside dx). Otherwise
 *   (statistics from elsewhere) the rule is the plain one:
 *     x : gy * w * rstd,   stats : [-w * rstd * S[0]; -0.5 * w * rstd^2 * S[1]]
 * VJP of batch_stats (used only when its values reach the loss another way):
 *   dx = (g[0] + 2 * g[1] * (x - mean)) / M, composed from primitives. */
#include "ops_bnorm.h"
#include "ops_impl.h"

static int check_x(ir_node *n, char *err, int errlen) {
    if (!ops_require_f32(n, 0, err, errlen)) return 0;
    if (n->in[0]->shape.rank < 2) {
        char b[OPS_TYPE_BUF];
        return ops_fail(err, errlen,
                        "%s: x must have a batch and a channel axis, f32[N, C] or f32[N, C, H, W], got %s\n"
                        "hint: the statistics are per channel (axis 1) over every other axis",
                        ir_ops[n->op].name, ops_type(b, n->in[0]));
    }
    return 1;
}

/* Operand k is one value per channel: f32[C] (rows = 0) or f32[rows, C]. */
static int check_channels(ir_node *n, int k, int rows, const char *what, char *err, int errlen) {
    if (!ops_require_f32(n, k, err, errlen)) return 0;
    const ir_shape *v = &n->in[k]->shape;
    ir_dim c = n->in[0]->shape.d[1];
    int ok = rows ? v->rank == 2 && ir_dim_eq(v->d[0], ir_dim_const(rows)) && ir_dim_eq(v->d[1], c)
                  : v->rank == 1 && ir_dim_eq(v->d[0], c);
    if (ok) return 1;
    char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
    return ops_fail(err, errlen, "%s: the %s must be %s per channel of x %s, got %s\nhint: %s",
                    ir_ops[n->op].name, what, rows ? "two rows of one value" : "one value", ops_type(b1, n->in[0]),
                    ops_type(b2, n->in[k]),
                    rows ? "stats is batch_stats(x): f32[2, C], the mean and the variance" : "weight and bias are f32[C] for x f32[N, C, ..]");
}

static int check_like_x(ir_node *n, int k, char *err, int errlen) {
    if (!ops_require_f32(n, k, err, errlen)) return 0;
    if (ir_shape_eq(&n->in[k]->shape, &n->in[0]->shape)) return 1;
    char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
    return ops_fail(err, errlen, "%s: the gradient %s must have the shape of x %s", ir_ops[n->op].name,
                    ops_type(b1, n->in[k]), ops_type(b2, n->in[0]));
}

static void per_channel_result(ir_node *n) {
    n->dtype = IR_F32;
    n->shape.rank = 2;
    n->shape.d[0] = ir_dim_const(2);
    n->shape.d[1] = n->in[0]->shape.d[1];
}

/* batch_stats(x f32[N, C, ..]) -> f32[2, C] */
int op_shape_batch_stats(ir_node *n, char *err, int errlen) {
    if (!check_x(n, err, errlen)) return 0;
    per_channel_result(n);
    return 1;
}

/* batch_normalize(x, stats f32[2, C], weight f32[C], bias f32[C]) -> x's shape */
int op_shape_batch_normalize(ir_node *n, char *err, int errlen) {
    if (!check_x(n, err, errlen) || !check_channels(n, 1, 2, "stats", err, errlen) ||
        !check_channels(n, 2, 0, "weight", err, errlen) || !check_channels(n, 3, 0, "bias", err, errlen))
        return 0;
    return ops_same_shape_f32(n, err, errlen);
}

/* The optional last operand of batch_norm_sums / batch_norm_dx: the ReLU
 * output whose step masks gy, or with norm.mask_hi = 6 the ReLU6 output
 * (pass_bnorm_mask), x's shape. */
static int check_mask(ir_node *n, int at, char *err, int errlen) {
    if (n->nin != at && n->nin != at + 1)
        return ops_fail(err, errlen, "%s takes %d or %d operands, got %d", ir_ops[n->op].name, at, at + 1, n->nin);
    return n->nin == at || check_like_x(n, at, err, errlen);
}

/* batch_norm_sums(x, stats, gy[, mask]) -> f32[2, C] */
int op_shape_batch_norm_sums(ir_node *n, char *err, int errlen) {
    if (!check_mask(n, 3, err, errlen) || !check_x(n, err, errlen) || !check_channels(n, 1, 2, "stats", err, errlen) ||
        !check_like_x(n, 2, err, errlen))
        return 0;
    per_channel_result(n);
    return 1;
}

/* batch_norm_dx(x, stats, weight, gy, sums f32[2, C][, mask]) -> x's shape */
int op_shape_batch_norm_dx(ir_node *n, char *err, int errlen) {
    if (!check_mask(n, 5, err, errlen) || !check_x(n, err, errlen) || !check_channels(n, 1, 2, "stats", err, errlen) ||
        !check_channels(n, 2, 0, "weight", err, errlen) || !check_like_x(n, 3, err, errlen) ||
        !check_channels(n, 4, 2, "sums", err, errlen))
        return 0;
    return ops_same_shape_f32(n, err, errlen);
}

/* Two passes: the sum, then the squared deviations (3 per element). */
double op_flops_batch_stats(const ir_node *n, const int64_t *sv) { return 4 * ops_numel(&n->in[0]->shape, sv); }
/* A multiply and an add once the scale and shift per channel are known. */
double op_flops_batch_normalize(const ir_node *n, const int64_t *sv) { return 2 * ops_numel(&n->shape, sv); }
/* gy, (x - mean) * rstd * gy: 4 per element. */
double op_flops_batch_norm_sums(const ir_node *n, const int64_t *sv) { return 4 * ops_numel(&n->in[0]->shape, sv); }
/* xhat (2), the formula (4). */
double op_flops_batch_norm_dx(const ir_node *n, const int64_t *sv) { return 6 * ops_numel(&n->shape, sv); }

/* Row k of a [2, C] value, as f32[C]. */
static ir_node *row(ir_graph *g, ir_node *s, int k) {
    ir_attrs a = {.slice = {.axis = 0, .start = k, .step = 1, .count = 1}, .ni = 4};
    ir_node *r = ir_op_attrs(g, OP_slice, &s, 1, &a);
    ir_shape c = {.rank = 1, .d = {s->shape.d[1]}};
    return ir_reshape(g, r, &c);
}

/* A [C] vector shaped to broadcast along x's axis 1: [1, C, 1, ..]. */
static ir_node *per_channel(ir_graph *g, ir_node *v, const ir_node *x) {
    ir_shape s = {.rank = x->shape.rank};
    for (int i = 0; i < s.rank; i++) s.d[i] = i == 1 ? x->shape.d[1] : ir_dim_const(1);
    return ir_reshape(g, v, &s);
}

/* 1 / sqrt(var + eps) as f32[C]. */
static ir_node *rstd(ir_graph *g, ir_node *stats, double eps) {
    ir_node *v = ir_bin(g, OP_add, row(g, stats, 1), ir_const(g, eps, NULL));
    return ir_bin(g, OP_div, ir_const(g, 1.0, NULL), ir_un(g, OP_sqrt, v));
}

/* M, the elements per channel, as a scalar: a constant, or a sum of ones when N is a symbol. */
static ir_node *count(ir_graph *g, const ir_node *x) {
    ir_dim m = ir_dim_const(1);
    for (int i = 0; i < x->shape.rank; i++)
        if (i != 1) m = ir_dim_mul(m, x->shape.d[i]);
    if (ir_dim_is_const(m)) return ir_const(g, (double)m.k, NULL);
    ir_shape one = {.rank = 1, .d = {m}};
    return ir_reduce_sum(g, ir_const(g, 1.0, &one), 1u, 0);
}

ir_node *bnorm_lower(ir_graph *g, const ir_node *n) {
    ir_node *x = n->in[0], *stats = n->in[1], *w = n->in[2], *b = n->in[3];
    ir_node *k = ir_bin(g, OP_div, w, ir_un(g, OP_sqrt, ir_bin(g, OP_add, row(g, stats, 1), ir_const(g, n->a.norm.eps, NULL))));
    ir_node *d = ir_bin(g, OP_sub, x, per_channel(g, row(g, stats, 0), x));
    return ir_bin(g, OP_add, ir_bin(g, OP_mul, d, per_channel(g, k, x)), per_channel(g, b, x));
}

void op_vjp_batch_stats(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_graph *g = c->g;
    ir_node *x = n->in[0];
    ir_node *d = ir_bin(g, OP_sub, x, per_channel(g, row(g, n, 0), x));
    ir_node *gv2 = ir_bin(g, OP_mul, ir_const(g, 2.0, NULL), per_channel(g, row(g, gy, 1), x));
    ir_node *sum = ir_bin(g, OP_add, per_channel(g, row(g, gy, 0), x), ir_bin(g, OP_mul, gv2, d));
    ad_accum(c, x, ir_bin(g, OP_div, sum, count(g, x)));
}

void op_vjp_batch_normalize(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_graph *g = c->g;
    ir_node *x = n->in[0], *stats = n->in[1], *w = n->in[2];
    const ir_attrs eps = {.norm = {.eps = n->a.norm.eps}, .nf = 1};
    ir_node *sin[3] = {x, stats, gy};
    ir_node *sums = ir_op_attrs(g, OP_batch_norm_sums, sin, 3, &eps);
    const int own = stats->op == OP_batch_stats && stats->in[0] == x; /* the training case */
    if (own && ad_wants(c, x)) {
        ir_node *din[5] = {x, stats, w, gy, sums};
        ad_accum(c, x, ir_op_attrs(g, OP_batch_norm_dx, din, 5, &eps));
    } else if (!own) {
        ir_node *k = ir_bin(g, OP_mul, w, rstd(g, stats, n->a.norm.eps)); /* w * rstd, f32[C] */
        if (ad_wants(c, x)) ad_accum(c, x, ir_bin(g, OP_mul, gy, per_channel(g, k, x)));
        if (ad_wants(c, stats)) {
            ir_node *dmean = ir_un(g, OP_neg, ir_bin(g, OP_mul, k, row(g, sums, 0)));
            ir_node *half = ir_bin(g, OP_mul, ir_const(g, -0.5, NULL), rstd(g, stats, n->a.norm.eps));
            ir_node *dvar = ir_bin(g, OP_mul, ir_bin(g, OP_mul, half, k), row(g, sums, 1));
            ir_shape r1 = {.rank = 2, .d = {ir_dim_const(1), x->shape.d[1]}};
            ir_node *parts[2] = {ir_reshape(g, dmean, &r1), ir_reshape(g, dvar, &r1)};
            ir_attrs cat = {.concat = {.axis = 0}, .ni = 1};
            ad_accum(c, stats, ir_op_attrs(g, OP_concat, parts, 2, &cat));
        }
    }
    if (ad_wants(c, w)) ad_accum(c, w, row(g, sums, 1));
    if (ad_wants(c, n->in[3])) ad_accum(c, n->in[3], row(g, sums, 0));
}

static void no_second(ad_ctx *c) {
    ad_fail(c, "batch_normalize: no second derivative (the gradient of batch norm's gradient is not implemented)");
}
void op_vjp_batch_norm_sums(ad_ctx *c, ir_node *n, ir_node *gy) { (void)n, (void)gy, no_second(c); }
void op_vjp_batch_norm_dx(ad_ctx *c, ir_node *n, ir_node *gy) { (void)n, (void)gy, no_second(c); }
