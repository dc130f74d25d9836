/* ops_linalg.c — the inverse and the log-absolute-determinant of square
 * matrices (family linalg): shapes, gradients and costs.
 *
 * Glow's invertible 1x1 convolution adds H·W·log|det W| to a flow's
 * log-likelihood; written with these, its gradient W^-T comes from autodiff.
 * Both act on the last two dimensions, which must be equal and known when
 * compiling (the kernels factor each matrix in double, runtime/linalg.c);
 * leading dimensions, N among them, are a batch of matrices.
 *
 * VJPs, with Y = x^-1: d log|det x| = gy · Y^T, and dx = -Y^T gy Y^T for
 * the inverse. The first is written with an inverse node, so its own
 * gradient (second order, a gradient penalty through a flow) is the second's. */
#include "ops_impl.h"

/* x: f32[.., n, n] with n a compile-time size. */
static int check_square(ir_node *n, char *err, int errlen) {
    if (!ops_require_f32(n, 0, err, errlen)) return 0;
    const ir_shape *x = &n->in[0]->shape;
    char b[OPS_TYPE_BUF];
    if (x->rank < 2 || !ir_dim_eq(x->d[x->rank - 1], x->d[x->rank - 2]) || !ir_dim_is_const(x->d[x->rank - 1]))
        return ops_fail(err, errlen,
                        "%s: expected square matrices f32[..., n, n] with n known at compile time, got %s\n"
                        "hint: the last two dimensions are each matrix's rows and columns; a 1x1 convolution's "
                        "weight f32[C, C, 1, 1] is reshape(w, [C, C])",
                        ir_ops[n->op].name, ops_type(b, n->in[0]));
    return 1;
}

int op_shape_inverse(ir_node *n, char *err, int errlen) {
    if (!check_square(n, err, errlen)) return 0;
    n->dtype = IR_F32;
    n->shape = n->in[0]->shape;
    return 1;
}

int op_shape_logabsdet(ir_node *n, char *err, int errlen) {
    if (!check_square(n, err, errlen)) return 0;
    n->dtype = IR_F32;
    n->shape = n->in[0]->shape;
    n->shape.rank -= 2;
    return 1;
}

/* n^3 per matrix: the elimination (and the back substitution of the inverse). */
double op_flops_inverse(const ir_node *n, const int64_t *sv) {
    const ir_shape *x = &n->in[0]->shape;
    return ops_numel(x, sv) * 2.0 * (double)x->d[x->rank - 1].k;
}
double op_flops_logabsdet(const ir_node *n, const int64_t *sv) {
    const ir_shape *x = &n->in[0]->shape;
    return ops_numel(x, sv) * (double)x->d[x->rank - 1].k / 1.5;
}

/* The last two axes of x swapped. */
static ir_node *swap_last(ir_graph *g, ir_node *x) {
    ir_attrs a = {.ni = x->shape.rank};
    for (int k = 0; k < x->shape.rank; k++) a.transpose.perm[k] = k;
    a.transpose.perm[x->shape.rank - 1] = x->shape.rank - 2;
    a.transpose.perm[x->shape.rank - 2] = x->shape.rank - 1;
    return ir_op_attrs(g, OP_transpose, &x, 1, &a);
}

void op_vjp_inverse(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *yt_g = ir_matmul(c->g, n, gy, 1, 0);                         /* Y^T gy */
    ad_accum(c, n->in[0], ir_un(c->g, OP_neg, ir_matmul(c->g, yt_g, n, 0, 1)));   /* -Y^T gy Y^T */
}

void op_vjp_logabsdet(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *x = n->in[0];
    ir_shape s = x->shape;                                                 /* gy [..] as [.., 1, 1] */
    s.d[s.rank - 1] = s.d[s.rank - 2] = ir_dim_const(1);
    ir_node *inv = ir_un(c->g, OP_inverse, x);
    ad_accum(c, x, ir_bin(c->g, OP_mul, ir_reshape(c->g, gy, &s), swap_last(c->g, inv)));
}
