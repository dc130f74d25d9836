/* ops_nn.c — ops that exist for neural networks rather than algebra:
 * the numerically stable softmax / log_softmax along one axis, pick/unpick
 * (gather and one-hot scatter by integer labels, for losses), take and
 * scatter_add (rows of a table by integer indices, and back: embeddings,
 * graph messages), and the random
 * sources (dropout masks, reparameterization noise).
 *
 * softmax and log_softmax are primitives, not compositions, so the emitter
 * can subtract the row max for stability and autodiff gets the compact
 * textbook VJPs. Cost: 5 flops per element (max, subtract, exp, sum,
 * divide/log), the same count for both. */
#include "ops_impl.h"

#include <math.h>
#include <stdint.h>

static int axis_shape(ir_node *n, char *err, int errlen) {
    if (!ops_require_f32(n, 0, err, errlen)) return 0;
    int rank = n->in[0]->shape.rank;
    if (n->a.ni < 1 || n->a.softmax.axis < 0 || n->a.softmax.axis >= rank) {
        char b[OPS_TYPE_BUF];
        return ops_fail(err, errlen, "%s: axis %lld is out of range for %s", ir_ops[n->op].name,
                        (long long)(n->a.ni ? n->a.softmax.axis : -1), ops_type(b, n->in[0]));
    }
    n->dtype = IR_F32;
    n->shape = n->in[0]->shape;
    return 1;
}

int op_shape_softmax(ir_node *n, char *err, int errlen) { return axis_shape(n, err, errlen); }
int op_shape_log_softmax(ir_node *n, char *err, int errlen) { return axis_shape(n, err, errlen); }
double op_flops_softmax(const ir_node *n, const int64_t *sv) { return 5 * ops_numel(&n->shape, sv); }
double op_flops_log_softmax(const ir_node *n, const int64_t *sv) { return 5 * ops_numel(&n->shape, sv); }

/* softmax: dx = y * (gy - sum(gy * y, axis)) */
void op_vjp_softmax(ad_ctx *c, ir_node *n, ir_node *gy) {
    uint32_t axis = 1u << n->a.softmax.axis;
    ir_node *dot = ir_reduce_sum(c->g, ir_bin(c->g, OP_mul, gy, n), axis, 1);
    ad_accum(c, n->in[0], ir_bin(c->g, OP_mul, n, ir_bin(c->g, OP_sub, gy, dot)));
}

/* log_softmax: dx = gy - softmax(x) * sum(gy, axis), softmax(x) = exp(y) */
void op_vjp_log_softmax(ad_ctx *c, ir_node *n, ir_node *gy) {
    uint32_t axis = 1u << n->a.softmax.axis;
    ir_node *total = ir_reduce_sum(c->g, gy, axis, 1);
    ir_node *p = ir_un(c->g, OP_exp, n);
    ad_accum(c, n->in[0], ir_bin(c->g, OP_sub, gy, ir_bin(c->g, OP_mul, p, total)));
}

/* idx must be i32 with the given shape. */
static int check_labels(ir_node *n, const ir_shape *want, char *err, int errlen) {
    const ir_node *idx = n->in[1];
    char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF], b3[OPS_TYPE_BUF];
    if (idx->dtype != IR_I32 || !ir_shape_eq(&idx->shape, want))
        return ops_fail(err, errlen, "%s: labels must be %s to index %s, got %s%s", ir_ops[n->op].name,
                        ir_shape_str(b1, sizeof b1, IR_I32, want, NULL), ops_type(b2, n->in[0]), ops_type(b3, idx),
                        n->op == OP_pick ? "\nhint: one class label per position: the shape of the scores without "
                                           "their last dimension (the classes); cross_entropy and nll also take PyTorch's classes on "
                                           "axis 1 when the target is the scores' shape without axis 1 (f32[N, C, H, W] with i32[N, H, W])"
                                         : "");
    return 1;
}

/* pick(x[..., C], idx[...]) -> [...]: x[..., idx[...]]. Labels are checked at run time. */
int op_shape_pick(ir_node *n, char *err, int errlen) {
    if (!ops_require_f32(n, 0, err, errlen)) return 0;
    const ir_shape *x = &n->in[0]->shape;
    if (x->rank < 1) {
        char b[OPS_TYPE_BUF];
        return ops_fail(err, errlen, "pick: cannot index the scalar %s by labels", ops_type(b, n->in[0]));
    }
    if (!ir_dim_is_const(x->d[x->rank - 1])) {
        char b[OPS_TYPE_BUF];
        return ops_fail(err, errlen, "pick: the class dimension of %s must be a constant", ops_type(b, n->in[0]));
    }
    ir_shape lead = *x;
    lead.rank--;
    if (!check_labels(n, &lead, err, errlen)) return 0;
    n->dtype = IR_F32;
    n->shape = lead;
    return 1;
}

/* unpick(g[...], idx[...]) -> [..., C] with C = classes: zeros except g at idx. */
int op_shape_unpick(ir_node *n, char *err, int errlen) {
    if (!ops_require_f32(n, 0, err, errlen)) return 0;
    const ir_shape *g = &n->in[0]->shape;
    if (n->a.ni < 1 || n->a.pick.classes < 1) return ops_fail(err, errlen, "unpick: needs the class count C >= 1 in classes");
    if (g->rank >= IR_MAX_RANK) return ops_fail(err, errlen, "unpick: result has too many dimensions");
    if (!check_labels(n, g, err, errlen)) return 0;
    n->dtype = IR_F32;
    n->shape = *g;
    n->shape.d[n->shape.rank++] = ir_dim_const(n->a.pick.classes);
    return 1;
}

double op_flops_pick(const ir_node *n, const int64_t *sv) { return ops_flops_per_out(n, sv); }
double op_flops_unpick(const ir_node *n, const int64_t *sv) { return ops_flops_per_out(n, sv); }

/* The adjoint keeps the ignored label of the op it differentiates. */
static ir_attrs label_attrs(const ir_node *n, int64_t classes) {
    ir_attrs a = {.pick = {.classes = classes}, .ni = 1};
    if (n->a.ni >= 3 && n->a.pick.has_ignore) a.pick.has_ignore = 1, a.pick.ignore = n->a.pick.ignore, a.ni = 3;
    return a;
}

void op_vjp_pick(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *in[2] = {gy, n->in[1]};
    ir_attrs a = label_attrs(n, n->in[0]->shape.d[n->in[0]->shape.rank - 1].k);
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_unpick, in, 2, &a));
}

void op_vjp_unpick(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *in[2] = {gy, n->in[1]};
    ir_attrs a = label_attrs(n, 0);
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_pick, in, 2, &a));
}

/* argmax(x, axis) -> i32, x's shape without the axis: an index, so no
 * gradient flows through it (VQ-VAE's nearest code, a sampled class). */
int op_shape_argmax(ir_node *n, char *err, int errlen) {
    if (!ops_require_f32(n, 0, err, errlen)) return 0;
    const ir_shape *x = &n->in[0]->shape;
    char b[OPS_TYPE_BUF];
    const ir_attrs_argmax *am = &n->a.argmax;
    if (n->a.ni < 1 || am->axis < 0 || am->axis >= x->rank)
        return ops_fail(err, errlen, "%s: axis %lld is out of range for %s", n->a.ni > 1 && am->min ? "argmin" : "argmax",
                        (long long)(n->a.ni ? am->axis : -1), ops_type(b, n->in[0]));
    n->dtype = IR_I32;
    n->shape = *x;
    n->shape.rank--;
    for (int k = (int)am->axis; k < n->shape.rank; k++) n->shape.d[k] = x->d[k + 1];
    return 1;
}

double op_flops_argmax(const ir_node *n, const int64_t *sv) { return ops_numel(&n->in[0]->shape, sv); }
void op_vjp_argmax(ad_ctx *c, ir_node *n, ir_node *gy) { (void)c, (void)n, (void)gy; }

/* take(table[V, D..], idx[S..]) -> [S.., D..]: the rows of the table that idx
 * names (an embedding lookup; PyTorch's F.embedding / index_select on axis 0).
 * Indices are checked against V at run time. */
int op_shape_take(ir_node *n, char *err, int errlen) {
    const ir_node *t = n->in[0], *idx = n->in[1];
    char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
    if (!ops_require_f32(n, 0, err, errlen)) return 0;
    if (t->shape.rank < 1)
        return ops_fail(err, errlen, "take: the table must have rows to take, got the scalar %s", ops_type(b1, t));
    if (idx->dtype != IR_I32)
        return ops_fail(err, errlen, "take: the index must be an integer tensor (i32), got %s\nhint: ids held as floats "
                        "(a csv column, a computed value) become indices by cast_i32: take(table, cast_i32(ids))",
                        ops_type(b1, idx));
    if (idx->shape.rank + t->shape.rank - 1 > IR_MAX_RANK)
        return ops_fail(err, errlen, "take: indexing %s by %s gives more than %d dimensions", ops_type(b1, t),
                        ops_type(b2, idx), IR_MAX_RANK);
    n->dtype = IR_F32;
    n->shape = idx->shape;
    for (int k = 1; k < t->shape.rank; k++) n->shape.d[n->shape.rank++] = t->shape.d[k];
    return 1;
}

/* scatter_add(src[S.., D..], idx[S..]) -> [V, D..] with V = rows (packed):
 * zeros, then row idx[s] += src[s] for every s in order (PyTorch's index_add
 * on axis 0 into zeros); take's adjoint, and take is its own. */
int op_shape_scatter_add(ir_node *n, char *err, int errlen) {
    const ir_node *src = n->in[0], *idx = n->in[1];
    char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
    if (!ops_require_f32(n, 0, err, errlen)) return 0;
    if (n->a.ni < 1 || n->a.scatter_add.rows <= 0 || ir_dim_unpack(n->a.scatter_add.rows).k <= 0)
        return ops_fail(err, errlen, "scatter_add: needs the number of rows V >= 1 in rows");
    if (idx->dtype != IR_I32)
        return ops_fail(err, errlen, "scatter_add: the index must be an integer tensor (i32), got %s", ops_type(b1, idx));
    int lead = idx->shape.rank, same = lead <= src->shape.rank;
    for (int k = 0; same && k < lead; k++) same = ir_dim_eq(idx->shape.d[k], src->shape.d[k]);
    if (!same)
        return ops_fail(err, errlen, "scatter_add: the index %s must have the leading dimensions of the source %s",
                        ops_type(b1, idx), ops_type(b2, src));
    n->dtype = IR_F32;
    n->shape.rank = 1 + src->shape.rank - lead;
    n->shape.d[0] = ir_dim_unpack(n->a.scatter_add.rows);
    for (int k = lead; k < src->shape.rank; k++) n->shape.d[1 + k - lead] = src->shape.d[k];
    return 1;
}

double op_flops_take(const ir_node *n, const int64_t *sv) { return ops_flops_per_out(n, sv); }
double op_flops_scatter_add(const ir_node *n, const int64_t *sv) { return ops_numel(&n->in[0]->shape, sv); }

void op_vjp_take(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *in[2] = {gy, n->in[1]};
    ir_attrs a = {.scatter_add = {.rows = ir_dim_pack(n->in[0]->shape.d[0])}, .ni = 1};
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_scatter_add, in, 2, &a));
}

void op_vjp_scatter_add(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *in[2] = {gy, n->in[1]};
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_take, in, 2, NULL));
}

/* gather(x, idx) along axis (torch.gather): idx has x's rank and
 * dimensions except along the axis, where it has K of them; the result has
 * idx's shape, out[.., k, ..] = x[.., idx[.., k, ..], ..]. gather_grad is
 * the adjoint: zeros of x's shape (length L = len along the axis), each g
 * added at its index. Unlike torch, the other dimensions must be equal (not
 * merely no larger). */
static int gather_axis_ok(ir_node *n, const ir_node *shaped, char *err, int errlen) {
    const ir_node *idx = n->in[1];
    char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
    if (!ops_require_f32(n, 0, err, errlen)) return 0;
    if (idx->dtype != IR_I32)
        return ops_fail(err, errlen, "%s: the index must be an integer tensor (i32), got %s", ir_ops[n->op].name,
                        ops_type(b1, idx));
    int rank = shaped->shape.rank, axis = n->a.ni >= 1 ? (int)n->a.gather.axis : -1;
    if (axis < 0 || axis >= rank)
        return ops_fail(err, errlen, "%s: axis %d is out of range for %s", ir_ops[n->op].name, axis, ops_type(b1, shaped));
    int same = idx->shape.rank == rank;
    for (int k = 0; same && k < rank; k++) same = k == axis || ir_dim_eq(idx->shape.d[k], shaped->shape.d[k]);
    /* the usual slip: one index per row (DQN's action) where torch's gather wants it unsqueezed */
    if (!same && n->op == OP_gather && idx->shape.rank == rank - 1)
        return ops_fail(err, errlen, "%s: the index %s must have the shape of %s except along axis %d\nhint: for one "
                        "value per row, as torch's x.gather(%d, index.unsqueeze(%d)), write gather(x, unsqueeze(index, %d), "
                        "axis = %d), or pick(x, index) along the last axis",
                        ir_ops[n->op].name, ops_type(b1, idx), ops_type(b2, shaped), axis, axis, axis, axis, axis);
    if (!same)
        return ops_fail(err, errlen, "%s: the index %s must have the shape of %s except along axis %d",
                        ir_ops[n->op].name, ops_type(b1, idx), ops_type(b2, shaped), axis);
    return 1;
}

int op_shape_gather(ir_node *n, char *err, int errlen) {
    if (!gather_axis_ok(n, n->in[0], err, errlen)) return 0;
    n->dtype = IR_F32;
    n->shape = n->in[1]->shape;
    return 1;
}

int op_shape_gather_grad(ir_node *n, char *err, int errlen) {
    char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
    if (n->a.ni < 2 || n->a.gather.len <= 0 || ir_dim_unpack(n->a.gather.len).k <= 0)
        return ops_fail(err, errlen, "%s: needs the axis and its length L >= 1 in len", ir_ops[n->op].name);
    if (!gather_axis_ok(n, n->in[1], err, errlen)) return 0;
    if (!ir_shape_eq(&n->in[0]->shape, &n->in[1]->shape))
        return ops_fail(err, errlen, "%s: the %s %s must have the shape of the index %s", ir_ops[n->op].name,
                        n->op == OP_scatter_max ? "source" : "gradient", ops_type(b1, n->in[0]), ops_type(b2, n->in[1]));
    n->dtype = IR_F32;
    n->shape = n->in[0]->shape;
    n->shape.d[n->a.gather.axis] = ir_dim_unpack(n->a.gather.len);
    return 1;
}

/* scatter_max(src, idx) along the axis into L: gather_grad's shape rule, the
 * source in the gradient's place. */
int op_shape_scatter_max(ir_node *n, char *err, int errlen) { return op_shape_gather_grad(n, err, errlen); }

double op_flops_gather(const ir_node *n, const int64_t *sv) { return ops_flops_per_out(n, sv); }
double op_flops_gather_grad(const ir_node *n, const int64_t *sv) { return ops_numel(&n->in[0]->shape, sv); }

void op_vjp_gather(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *in[2] = {gy, n->in[1]};
    ir_attrs a = {.gather = {.axis = n->a.gather.axis, .len = ir_dim_pack(n->in[0]->shape.d[n->a.gather.axis])}, .ni = 2};
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_gather_grad, in, 2, &a));
}

double op_flops_scatter_max(const ir_node *n, const int64_t *sv) { return ops_numel(&n->in[0]->shape, sv); }

/* As torch's scatter_reduce("amax") backward: each segment's gradient shared
 * evenly by the sources equal to its maximum (ties split, as reduce_max),
 * nothing to the others; an empty segment's gradient goes nowhere. */
void op_vjp_scatter_max(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *src = n->in[0], *idx = n->in[1];
    ir_attrs ga = {.gather = {.axis = n->a.gather.axis}, .ni = 1};
    ir_node *back[2] = {n, idx};
    ir_node *is_max = ir_bin(c->g, OP_eq, src, ir_op_attrs(c->g, OP_gather, back, 2, &ga));
    ir_node *count_in[2] = {is_max, idx};
    ir_node *ties = ir_op_attrs(c->g, OP_gather_grad, count_in, 2, &n->a);
    ir_node *share[2] = {ir_bin(c->g, OP_div, gy, ir_bin(c->g, OP_maximum, ties, ir_const(c->g, 1.0, NULL))), idx};
    ad_accum(c, src, ir_bin(c->g, OP_mul, is_max, ir_op_attrs(c->g, OP_gather, share, 2, &ga)));
}

void op_vjp_gather_grad(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *in[2] = {gy, n->in[1]};
    ir_attrs a = {.gather = {.axis = n->a.gather.axis}, .ni = 1};
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_gather, in, 2, &a));
}

/* Random sources: the stream id, then the shape packed from slot 1 on. */
static int rand_shape(ir_node *n, char *err, int errlen) {
    if (n->a.ni < 1 || !ir_attrs_get_shape(&n->a, 1, &n->shape))
        return ops_fail(err, errlen, "%s: needs a stream id and a shape", ir_ops[n->op].name);
    n->dtype = IR_F32;
    return 1;
}
int op_shape_rand_uniform(ir_node *n, char *err, int errlen) { return rand_shape(n, err, errlen); }
int op_shape_rand_normal(ir_node *n, char *err, int errlen) { return rand_shape(n, err, errlen); }
/* rand_int: [low, high), integers, non-empty, within i32 */
int op_shape_rand_int(ir_node *n, char *err, int errlen) {
    if (!rand_shape(n, err, errlen)) return 0;
    double lo = n->a.rand.low, hi = n->a.rand.high;
    if (n->a.nf < 2 || lo != floor(lo) || hi != floor(hi) || !(lo < hi) || lo < INT32_MIN || hi > INT32_MAX)
        return ops_fail(err, errlen, "rand_int: needs integers low < high within i32");
    n->dtype = IR_I32;
    return 1;
}
double op_flops_rand_uniform(const ir_node *n, const int64_t *sv) { return ops_flops_per_out(n, sv); }
double op_flops_rand_normal(const ir_node *n, const int64_t *sv) { return ops_flops_per_out(n, sv); }
double op_flops_rand_int(const ir_node *n, const int64_t *sv) { return ops_flops_per_out(n, sv); }
void op_vjp_rand_uniform(ad_ctx *c, ir_node *n, ir_node *gy) { (void)c, (void)n, (void)gy; }
void op_vjp_rand_normal(ad_ctx *c, ir_node *n, ir_node *gy) { (void)c, (void)n, (void)gy; }
void op_vjp_rand_int(ad_ctx *c, ir_node *n, ir_node *gy) { (void)c, (void)n, (void)gy; }
