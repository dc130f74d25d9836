/* ops_shape.c — sources that name existing data (input, param, constant),
 * the index source iota, and the data-movement ops (reshape, broadcast_to,
 * transpose, stop_grad).
 *
 * None computes anything beyond a fill, so all cost zero flops. input and param nodes get
 * their shape from the graph input / module parameter when built
 * (ir_input_node, ir_param_node); their rule only keeps it. constant,
 * reshape and broadcast_to read their target shape from the attributes
 * (see ir_attrs_set_shape in ir.h). */
#include "ops_impl.h"

int op_shape_input(ir_node *n, char *err, int errlen) {
    if (n->a.ni < 1 || n->a.input.index < 0) return ops_fail(err, errlen, "input: missing input index (use ir_input_node)");
    return 1;
}

int op_shape_param(ir_node *n, char *err, int errlen) {
    if (n->a.ni < 1 || n->a.param.index < 0) return ops_fail(err, errlen, "param: missing parameter index (use ir_param_node)");
    return 1;
}

int op_shape_constant(ir_node *n, char *err, int errlen) {
    if (n->a.nf < 1 || !ir_attrs_get_shape(&n->a, 0, &n->shape))
        return ops_fail(err, errlen, "constant: needs its value and a shape in its attributes");
    n->dtype = IR_F32;
    return 1;
}

/* iota: start + step * index along one axis; its shape, like constant's,
 * comes from the attributes (after the axis and the dtype flag). */
int op_shape_iota(ir_node *n, char *err, int errlen) {
    if (n->a.ni < 2 || n->a.nf < 2 || !ir_attrs_get_shape(&n->a, 2, &n->shape))
        return ops_fail(err, errlen, "iota: needs axis, i32, start, step and a shape");
    if (n->a.iota.axis < 0 || n->a.iota.axis >= n->shape.rank)
        return ops_fail(err, errlen, "iota: axis %lld is out of range for rank %d", (long long)n->a.iota.axis,
                        n->shape.rank);
    n->dtype = n->a.iota.i32 ? IR_I32 : IR_F32;
    return 1;
}

int op_shape_reshape(ir_node *n, char *err, int errlen) {
    ir_shape to;
    if (!ir_attrs_get_shape(&n->a, 0, &to)) return ops_fail(err, errlen, "reshape: malformed target shape");
    const ir_node *x = n->in[0];
    ir_dim from_n = ir_shape_numel(&x->shape), to_n = ir_shape_numel(&to);
    if (!ir_dim_eq(from_n, to_n)) {
        char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF], e1[48], e2[48];
        return ops_fail(err, errlen, "reshape: cannot reshape %s (%s elements) to %s (%s elements)", ops_type(b1, x),
                        ir_dim_str(e1, sizeof e1, from_n, NULL), ir_shape_str(b2, sizeof b2, x->dtype, &to, NULL),
                        ir_dim_str(e2, sizeof e2, to_n, NULL));
    }
    n->dtype = x->dtype;
    n->shape = to;
    return 1;
}

int op_shape_broadcast_to(ir_node *n, char *err, int errlen) {
    ir_shape to, got;
    if (!ir_attrs_get_shape(&n->a, 0, &to)) return ops_fail(err, errlen, "broadcast_to: malformed target shape");
    const ir_node *x = n->in[0];
    if (!ir_broadcast_shapes(&x->shape, &to, &got) || !ir_shape_eq(&got, &to)) {
        char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
        return ops_fail(err, errlen, "cannot broadcast %s to %s\nhint: each dimension must be equal to the target's or 1 (NumPy rules)",
                        ops_type(b1, x), ir_shape_str(b2, sizeof b2, x->dtype, &to, NULL));
    }
    n->dtype = x->dtype;
    n->shape = to;
    return 1;
}

int op_shape_transpose(ir_node *n, char *err, int errlen) {
    const ir_node *x = n->in[0];
    int rank = x->shape.rank, seen = 0;
    char b[OPS_TYPE_BUF];
    if (n->a.ni != rank)
        return ops_fail(err, errlen, "transpose: the permutation has %d entries but %s has %d dimensions", n->a.ni,
                        ops_type(b, x), rank);
    for (int k = 0; k < rank; k++) {
        int64_t p = n->a.transpose.perm[k];
        if (p < 0 || p >= rank || (seen & (1 << p)))
            return ops_fail(err, errlen, "transpose: the axes must be a permutation of 0..%d for %s", rank - 1,
                            ops_type(b, x));
        seen |= 1 << p;
        n->shape.d[k] = x->shape.d[p];
    }
    n->shape.rank = rank;
    n->dtype = x->dtype;
    return 1;
}

int op_shape_stop_grad(ir_node *n, char *err, int errlen) {
    (void)err, (void)errlen;
    n->dtype = n->in[0]->dtype;
    n->shape = n->in[0]->shape;
    return 1;
}

#define FREE(name) \
    double op_flops_##name(const ir_node *n, const int64_t *sv) { return ops_flops_none(n, sv); }
FREE(input) FREE(param) FREE(constant) FREE(iota) FREE(reshape) FREE(broadcast_to) FREE(transpose) FREE(stop_grad)

/* Sources end the backward walk; stop_grad is the identity with no gradient. */
#define NO_INPUT_GRAD(name) \
    void op_vjp_##name(ad_ctx *c, ir_node *n, ir_node *gy) { (void)c, (void)n, (void)gy; }
NO_INPUT_GRAD(input) NO_INPUT_GRAD(param) NO_INPUT_GRAD(constant) NO_INPUT_GRAD(iota) NO_INPUT_GRAD(stop_grad)

void op_vjp_reshape(ad_ctx *c, ir_node *n, ir_node *gy) { ad_accum(c, n->in[0], ir_reshape(c->g, gy, &n->in[0]->shape)); }

/* ad_accum sums the broadcast dimensions away: that is the whole VJP. */
void op_vjp_broadcast_to(ad_ctx *c, ir_node *n, ir_node *gy) { ad_accum(c, n->in[0], gy); }

void op_vjp_transpose(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_attrs inv = {.ni = n->a.ni};
    for (int k = 0; k < n->a.ni; k++) inv.transpose.perm[n->a.transpose.perm[k]] = k;
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_transpose, &gy, 1, &inv));
}
