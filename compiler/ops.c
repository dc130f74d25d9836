/* ops.c — the op table, generated from ops.def.
 *
 * Every consumer (shape inference in ir_add, autodiff, the FLOP counter,
 * fusion, the emitter, the interpreter's dispatch) looks ops up here, so an
 * op is described once. The per-op functions live with their family
 * (ops_elemwise.c, ops_reduce.c, ops_shape.c, ops_matmul.c, ops_nn.c); this
 * file only ties names to them and holds the helpers they share. */
#include <stdarg.h>
#include <stdio.h>

#include "ops_impl.h"

const ir_op_info ir_ops[OP__COUNT] = {
#define OP(name, arity, kind, family, attrs, c_expr, ref) \
    [OP_##name] = {#name, arity, kind, IR_FAM_##family, c_expr, op_shape_##name, op_vjp_##name, op_flops_##name},
#include "ops.def"
#undef OP
};

int ops_fail(char *err, int errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, (size_t)errlen, fmt, ap);
    va_end(ap);
    return 0;
}

const char *ops_type(char *buf, const ir_node *x) {
    return ir_shape_str(buf, OPS_TYPE_BUF, x->dtype, &x->shape, NULL);
}

int ops_require_f32(const ir_node *n, int k, char *err, int errlen) {
    if (n->in[k]->dtype == IR_F32) return 1;
    char b[OPS_TYPE_BUF];
    return ops_fail(err, errlen, "%s: expected a float tensor, got %s\nhint: integer tensors (labels) must be converted with cast_f32 first",
                    ir_ops[n->op].name, ops_type(b, n->in[k]));
}

int ops_same_shape_f32(ir_node *n, char *err, int errlen) {
    if (!ops_require_f32(n, 0, err, errlen)) return 0;
    n->dtype = IR_F32;
    n->shape = n->in[0]->shape;
    return 1;
}

double ops_numel(const ir_shape *s, const int64_t *sym_values) {
    double p = 1;
    for (int i = 0; i < s->rank; i++) p *= (double)ir_dim_eval(s->d[i], sym_values);
    return p;
}

double ops_flops_per_out(const ir_node *n, const int64_t *sym_values) { return ops_numel(&n->shape, sym_values); }

double ops_flops_none(const ir_node *n, const int64_t *sym_values) {
    (void)n, (void)sym_values;
    return 0;
}

ir_shape ops_keepdims_shape(const ir_shape *x, uint32_t axes) {
    ir_shape s = *x;
    for (int i = 0; i < s.rank; i++)
        if (axes & (1u << i)) s.d[i] = ir_dim_const(1);
    return s;
}
