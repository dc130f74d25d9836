/* ops_norm.c — layer normalization over the last axis as one primitive
 * (family norm): shapes, gradients and costs of layer_norm and
 * layer_norm_grad.
 *
 * Composed from mean, subtract, square, mean, rsqrt, multiply and add, a
 * layer norm was six small kernels forward and nine backward, each a pass
 * over the activations. As an op it is one pass forward (runtime/layer_norm.c
 * keeps each row in cache for its two statistics and the output) and two
 * backward: dx, and the weight's gradient as partial column sums. The row
 * statistics are recomputed by both, so the graph holds no [rows, 2] value
 * and the forward saves nothing but x, which the backward needs anyway.
 *
 * VJP (xhat = (x - mean) * rstd):
 *   x      : layer_norm_grad(x, weight, gy) [which 0]
 *   weight : sum over rows of gy * xhat — layer_norm_grad [which 1] gives
 *            DL_LAYER_NORM_PARTS blocks of it, ad_accum adds them
 *   bias   : sum over rows of gy (ad_accum's un-broadcasting) */
#include "dlnrt.h"
#include "ops_impl.h"

/* x f32[.., F] with a [F] vector as operand k (weight, bias). */
static int check_vector(ir_node *n, int k, const char *what, char *err, int errlen) {
    const ir_shape *x = &n->in[0]->shape, *v = &n->in[k]->shape;
    if (!ops_require_f32(n, k, err, errlen)) return 0;
    if (v->rank != 1 || !ir_dim_eq(v->d[0], x->d[x->rank - 1])) {
        char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
        return ops_fail(err, errlen,
                        "%s: the %s must be one value per feature of the last dimension of %s, got %s\n"
                        "hint: weight and bias are f32[F] for x f32[.., F]",
                        ir_ops[n->op].name, what, ops_type(b1, n->in[0]), ops_type(b2, n->in[k]));
    }
    return 1;
}

static int check_x(ir_node *n, char *err, int errlen) {
    if (!ops_require_f32(n, 0, err, errlen)) return 0;
    if (n->in[0]->shape.rank < 1) {
        char b[OPS_TYPE_BUF];
        return ops_fail(err, errlen, "%s: cannot normalize the scalar %s: it needs a last dimension of features",
                        ir_ops[n->op].name, ops_type(b, n->in[0]));
    }
    return 1;
}

/* layer_norm(x f32[.., F], weight f32[F], bias f32[F]) -> f32[.., F] */
int op_shape_layer_norm(ir_node *n, char *err, int errlen) {
    if (!check_x(n, err, errlen) || !check_vector(n, 1, "weight", err, errlen) ||
        !check_vector(n, 2, "bias", err, errlen))
        return 0;
    n->dtype = IR_F32;
    n->shape = n->in[0]->shape;
    return 1;
}

/* layer_norm_grad(x f32[.., F], weight f32[F], gy f32[.., F]) -> dx or the weight's partial sums */
int op_shape_layer_norm_grad(ir_node *n, char *err, int errlen) {
    if (!check_x(n, err, errlen) || !check_vector(n, 1, "weight", err, errlen) || !ops_require_f32(n, 2, err, errlen))
        return 0;
    const ir_shape *x = &n->in[0]->shape;
    if (!ir_shape_eq(&n->in[2]->shape, x)) {
        char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
        return ops_fail(err, errlen, "layer_norm_grad: the gradient %s must have the shape of x %s",
                        ops_type(b1, n->in[2]), ops_type(b2, n->in[0]));
    }
    int64_t which = n->a.ni ? n->a.norm.which : -1;
    if (which != LN_DX && which != LN_DW)
        return ops_fail(err, errlen, "layer_norm_grad: which must be LN_DX (dx) or LN_DW (dweight), got %lld", (long long)which);
    n->dtype = IR_F32;
    if (which == LN_DX) {
        n->shape = *x;
    } else {
        n->shape.rank = 2;
        n->shape.d[0] = ir_dim_const(DL_LAYER_NORM_PARTS);
        n->shape.d[1] = x->d[x->rank - 1];
    }
    return 1;
}

/* Two passes for the statistics, then subtract, scale, multiply, add: 8 per element. */
double op_flops_layer_norm(const ir_node *n, const int64_t *sv) { return 8 * ops_numel(&n->shape, sv); }

/* dx: statistics (4), g and g * xhat sums (5), the formula (6); dweight: statistics and gy * xhat (7). */
double op_flops_layer_norm_grad(const ir_node *n, const int64_t *sv) {
    return (n->a.norm.which == LN_DX ? 15 : 7) * ops_numel(&n->in[0]->shape, sv);
}

static ir_node *grad_node(ad_ctx *c, ir_node *n, ir_node *gy, int64_t which) {
    ir_node *in[3] = {n->in[0], n->in[1], gy};
    ir_attrs a = {.norm = {.which = which, .eps = n->a.norm.eps}, .ni = 1, .nf = 1};
    return ir_op_attrs(c->g, OP_layer_norm_grad, in, 3, &a);
}

void op_vjp_layer_norm(ad_ctx *c, ir_node *n, ir_node *gy) {
    if (ad_wants(c, n->in[0])) ad_accum(c, n->in[0], grad_node(c, n, gy, LN_DX));
    if (ad_wants(c, n->in[1])) ad_accum(c, n->in[1], grad_node(c, n, gy, LN_DW));
    ad_accum(c, n->in[2], gy);
}

void op_vjp_layer_norm_grad(ad_ctx *c, ir_node *n, ir_node *gy) {
    (void)n, (void)gy;
    ad_fail(c, "layer_norm: no second derivative (the gradient of layer_norm's gradient is not implemented)");
}
