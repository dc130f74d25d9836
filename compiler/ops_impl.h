/* ops_impl.h — private to the op table (ops.c and ops_<family>.c).
 *
 * ops.def names every op once; from it we generate the prototypes of the
 * three functions each op must provide — op_shape_<name>, op_vjp_<name>,
 * op_flops_<name> — so ops.c can build ir_ops[] with the same X-macro and a
 * missing function is a link error, not a silent NULL. The helpers below
 * are shared by the family files (formatting shapes in messages, common
 * shape rules and costs). */
#ifndef DLNC_OPS_IMPL_H
#define DLNC_OPS_IMPL_H
#include "autodiff.h"
#include "ir.h"

#define OP(name, arity, kind, family, attrs, c_expr, ref)                     \
    int op_shape_##name(ir_node *n, char *err, int errlen);            \
    void op_vjp_##name(ad_ctx *c, ir_node *n, ir_node *gy);            \
    double op_flops_##name(const ir_node *n, const int64_t *sym_values);
#include "ops.def"
#undef OP

/* snprintf into err; returns 0 so shape rules can `return ops_fail(...)`. */
int ops_fail(char *err, int errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A node's type as people read it: "f32[N, 784]". buf needs ~96 bytes. */
enum { OPS_TYPE_BUF = 128 };
const char *ops_type(char *buf, const ir_node *x);

/* The input must be f32 (ops on labels need cast_f32 first). */
int ops_require_f32(const ir_node *n, int k, char *err, int errlen);

/* Common shape rule: f32 result with the shape of in[0]. */
int ops_same_shape_f32(ir_node *n, char *err, int errlen);

/* Elements of a shape at the given symbol values, as a double. */
double ops_numel(const ir_shape *s, const int64_t *sym_values);

/* Costs: one flop per output element; none. */
double ops_flops_per_out(const ir_node *n, const int64_t *sym_values);
double ops_flops_none(const ir_node *n, const int64_t *sym_values);

/* The shape of x with the reduced axes kept as 1 (for gradients of reductions). */
ir_shape ops_keepdims_shape(const ir_shape *x, uint32_t axes);

#endif
