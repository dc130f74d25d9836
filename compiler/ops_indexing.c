/* ops_indexing.c — shapes, gradients and costs of the family `indexing`:
 * argsort (behind sort and topk), cumsum and cast_i32.
 *
 * sort and topk return values and positions; an IR node has one output, so
 * the op computes the positions only and the values are gather(x, positions)
 * (elab_sort.c). Their gradient is then gather's, a scatter-add to the picked
 * positions, and argsort itself, an index, has none. cumsum's vector-Jacobian
 * product is the running sum from the other end, the same op reversed. */
#include "ops_impl.h"

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

int op_shape_cast_i32(ir_node *n, char *err, int errlen) {
    if (!ops_require_f32(n, 0, err, errlen)) return 0;
    n->dtype = IR_I32;
    n->shape = n->in[0]->shape;
    return 1;
}
double op_flops_cast_i32(const ir_node *n, const int64_t *sv) { return ops_flops_none(n, sv); }
void op_vjp_cast_i32(ad_ctx *c, ir_node *n, ir_node *gy) { (void)c, (void)n, (void)gy; }
