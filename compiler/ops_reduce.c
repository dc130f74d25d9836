/* ops_reduce.c — reductions over an axis bitmask (reduce.axes), with reduce.keepdims.
 *
 * Gradients broadcast gy back over the reduced axes: reshape it to the
 * keepdims shape (a no-op view) and broadcast_to the input's shape. The max
 * gradient splits among ties like torch.amax: gy * [x == max] / count. */
#include "ops_impl.h"

static int reduce_shape(ir_node *n, char *err, int errlen) {
    if (!ops_require_f32(n, 0, err, errlen)) return 0;
    const ir_shape *x = &n->in[0]->shape;
    uint64_t axes = (uint64_t)n->a.reduce.axes;
    if (n->a.ni < 1 || (axes >> x->rank) != 0) {
        char b[OPS_TYPE_BUF];
        int bad = 0;
        while (bad < 63 && !((axes >> bad) & 1 && bad >= x->rank)) bad++;
        return ops_fail(err, errlen, "%s: axis %d is out of range for %s (it has %d dimension%s)", ir_ops[n->op].name,
                        bad, ops_type(b, n->in[0]), x->rank, x->rank == 1 ? "" : "s");
    }
    int keep = n->a.reduce.keepdims != 0;
    ir_shape s = {0};
    for (int i = 0; i < x->rank; i++) {
        if (!(axes & (1u << i))) s.d[s.rank++] = x->d[i];
        else if (keep) s.d[s.rank++] = ir_dim_const(1);
    }
    n->dtype = IR_F32;
    n->shape = s;
    return 1;
}

int op_shape_reduce_sum(ir_node *n, char *err, int errlen) { return reduce_shape(n, err, errlen); }
int op_shape_reduce_max(ir_node *n, char *err, int errlen) { return reduce_shape(n, err, errlen); }

/* One flop per input element. */
double op_flops_reduce_sum(const ir_node *n, const int64_t *sv) { return ops_numel(&n->in[0]->shape, sv); }
double op_flops_reduce_max(const ir_node *n, const int64_t *sv) { return ops_numel(&n->in[0]->shape, sv); }

/* v (the reduced shape) viewed with the reduced axes kept as 1. */
static ir_node *keepdims_view(ad_ctx *c, ir_node *n, ir_node *v) {
    if (n->a.reduce.keepdims) return v;
    ir_shape ks = ops_keepdims_shape(&n->in[0]->shape, (uint32_t)n->a.reduce.axes);
    return ir_reshape(c->g, v, &ks);
}

void op_vjp_reduce_sum(ad_ctx *c, ir_node *n, ir_node *gy) {
    ad_accum(c, n->in[0], ir_broadcast(c->g, keepdims_view(c, n, gy), &n->in[0]->shape));
}

void op_vjp_reduce_max(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *x = n->in[0];
    ir_node *is_max = ir_bin(c->g, OP_eq, x, keepdims_view(c, n, n));
    ir_node *ties = ir_reduce_sum(c->g, is_max, (uint32_t)n->a.reduce.axes, 1);
    ir_node *share = ir_bin(c->g, OP_div, is_max, ties);
    ad_accum(c, x, ir_bin(c->g, OP_mul, keepdims_view(c, n, gy), share));
}
