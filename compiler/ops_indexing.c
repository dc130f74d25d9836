/* ops_indexing.c — shapes, gradients and costs of the family `indexing`:
 * argsort (behind sort and topk), cumsum, cumprod, flip and cast_i32.
 *
 * sort and topk return values and positions; an IR node has one output, so
 * the op computes the positions only and the values are gather(x, positions)
 * (elab_sort.c). Their gradient is then gather's, a scatter-add to the picked
 * positions, and argsort itself, an index, has none. cumsum's vector-Jacobian
 * product is the running sum from the other end, the same op reversed.
 * cumprod's is its own op, cumprod_grad, exact where x has zeros (PyTorch's
 * too); the shortcut reverse_cumsum(gy * y) / x divides 0 by 0 there.
 * flip's is flip of the gradient. */
#include "ops_impl.h"

/* argsort's axis, or the cumsum group's (cumsum, cumprod, cumprod_grad). */
static int64_t axis_of(const ir_node *n) { return n->op == OP_argsort ? n->a.argsort.axis : n->a.cumsum.axis; }

static int axis_ok(ir_node *n, char *err, int errlen) {
    char b[OPS_TYPE_BUF];
    if (!ops_require_f32(n, 0, err, errlen)) return 0;
    const ir_shape *x = &n->in[0]->shape;
    if (n->a.ni < 2 || axis_of(n) < 0 || axis_of(n) >= x->rank)
        return ops_fail(err, errlen, "%s: axis %lld is out of range for %s", ir_ops[n->op].name,
                        (long long)(n->a.ni ? axis_of(n) : -1), ops_type(b, n->in[0]));
    return 1;
}

/* argsort(x) [axis, descending, K] -> i32, x's shape with K along the axis. */
int op_shape_argsort(ir_node *n, char *err, int errlen) {
    char b[OPS_TYPE_BUF];
    if (!axis_ok(n, err, errlen)) return 0;
    int axis = (int)n->a.argsort.axis;
    int64_t k = n->a.ni > 2 ? n->a.argsort.k : 0;
    ir_dim len = n->in[0]->shape.d[axis];
    n->dtype = IR_I32;
    n->shape = n->in[0]->shape;
    if (k == 0) return 1;
    if (!ir_dim_is_const(len))
        return ops_fail(err, errlen, "topk: axis %d of %s has a run-time length; k needs a constant one", axis,
                        ops_type(b, n->in[0]));
    if (k < 1 || k > len.k)
        return ops_fail(err, errlen, "topk: k = %lld is not in [1, %lld], the length of axis %d of %s", (long long)k,
                        (long long)len.k, axis, ops_type(b, n->in[0]));
    n->shape.d[axis] = ir_dim_const(k);
    return 1;
}

/* Each of the L positions is ranked by comparing it with the L others. */
double op_flops_argsort(const ir_node *n, const int64_t *sv) {
    return ops_numel(&n->in[0]->shape, sv) * (double)ir_dim_eval(n->in[0]->shape.d[n->a.argsort.axis], sv);
}
void op_vjp_argsort(ad_ctx *c, ir_node *n, ir_node *gy) { (void)c, (void)n, (void)gy; }

int op_shape_cumsum(ir_node *n, char *err, int errlen) {
    if (!axis_ok(n, err, errlen)) return 0;
    n->dtype = IR_F32;
    n->shape = n->in[0]->shape;
    return 1;
}
double op_flops_cumsum(const ir_node *n, const int64_t *sv) { return ops_flops_per_out(n, sv); }

/* y_j = sum_{i <= j} x_i, so dx_i = sum_{j >= i} dy_j: the reversed running sum. */
void op_vjp_cumsum(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_attrs a = n->a;
    a.cumsum.reverse = !a.cumsum.reverse;
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_cumsum, &gy, 1, &a));
}

/* cumprod(x) [axis, reverse]: y_j = prod_{i <= j} x_i, x's shape. */
int op_shape_cumprod(ir_node *n, char *err, int errlen) { return op_shape_cumsum(n, err, errlen); }
double op_flops_cumprod(const ir_node *n, const int64_t *sv) { return ops_flops_per_out(n, sv); }

/* dx_i = sum_{j >= i} gy_j prod_{k <= j, k != i} x_k (cumprod_grad). */
void op_vjp_cumprod(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *in[2] = {n->in[0], gy};
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_cumprod_grad, in, 2, &n->a));
}

/* cumprod_grad(x, gy) [axis, reverse] -> dx, x's shape; gy has it too. */
int op_shape_cumprod_grad(ir_node *n, char *err, int errlen) {
    char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
    if (!op_shape_cumsum(n, err, errlen) || !ops_require_f32(n, 1, err, errlen)) return 0;
    if (!ir_shape_eq(&n->in[0]->shape, &n->in[1]->shape))
        return ops_fail(err, errlen, "cumprod_grad: the gradient %s does not have the shape of x %s", ops_type(b1, n->in[1]),
                        ops_type(b2, n->in[0]));
    return 1;
}
/* A prefix product, a suffix recurrence and their product: 4 per element. */
double op_flops_cumprod_grad(const ir_node *n, const int64_t *sv) { return 4 * ops_flops_per_out(n, sv); }
void op_vjp_cumprod_grad(ad_ctx *c, ir_node *n, ir_node *gy) {
    (void)n, (void)gy;
    ad_fail(c, "cumprod: no second derivative (the gradient of cumprod's gradient is not implemented)");
}

/* flip(x) [axes]: f32 or i32, the same shape; every listed axis in range. */
int op_shape_flip(ir_node *n, char *err, int errlen) {
    char b[OPS_TYPE_BUF];
    const ir_node *x = n->in[0];
    uint64_t axes = (uint64_t)n->a.flip.axes;
    if (n->a.ni < 1 || axes == 0 || (x->shape.rank < 64 && axes >> x->shape.rank))
        return ops_fail(err, errlen, "flip: the axes (bitmask %llu) are not axes of %s", (unsigned long long)axes,
                        ops_type(b, x));
    n->dtype = x->dtype;
    n->shape = x->shape;
    return 1;
}
double op_flops_flip(const ir_node *n, const int64_t *sv) { return ops_flops_none(n, sv); }
void op_vjp_flip(ad_ctx *c, ir_node *n, ir_node *gy) {
    if (n->in[0]->dtype != IR_F32) return;
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_flip, &gy, 1, &n->a));
}

int op_shape_cast_i32(ir_node *n, char *err, int errlen) {
    if (!ops_require_f32(n, 0, err, errlen)) return 0;
    n->dtype = IR_I32;
    n->shape = n->in[0]->shape;
    return 1;
}
double op_flops_cast_i32(const ir_node *n, const int64_t *sv) { return ops_flops_none(n, sv); }
void op_vjp_cast_i32(ad_ctx *c, ir_node *n, ir_node *gy) { (void)c, (void)n, (void)gy; }
