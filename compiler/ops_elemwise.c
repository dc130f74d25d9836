/* ops_elemwise.c — elementwise ops: shape rules, VJPs, costs.
 *
 * All take f32 operands (cast_f32 is the one door from i32) and produce f32;
 * binary and ternary ops broadcast like NumPy. The VJPs are formulas over
 * other primitive ops, written at the shape of the output: ad_accum reduces
 * them to each operand's (possibly broadcast) shape, so no rule here knows
 * about broadcasting. Comparisons, step, sign, floor, ceil, round and cast have zero gradient
 * (they are piecewise constant), which is not an error.
 *
 * Cost: one flop per output element for every op, transcendental or not —
 * the count is for comparing models and computing GFLOP/s, and an honest
 * "exp = 10 flops" would only make that number harder to compare with
 * PyTorch's profilers, which count the same way. */
#include <math.h>

#include "ops_impl.h"

/* ---- shape rules -------------------------------------------------------- */

#define UNARY_SHAPE(name) \
    int op_shape_##name(ir_node *n, char *err, int errlen) { return ops_same_shape_f32(n, err, errlen); }
UNARY_SHAPE(neg)
UNARY_SHAPE(exp)
UNARY_SHAPE(log)
UNARY_SHAPE(log1p)
UNARY_SHAPE(sqrt)
UNARY_SHAPE(abs)
UNARY_SHAPE(sign)
UNARY_SHAPE(step)
UNARY_SHAPE(floor)
UNARY_SHAPE(round)
UNARY_SHAPE(ceil)
UNARY_SHAPE(relu)
UNARY_SHAPE(relu6)
UNARY_SHAPE(sigmoid)
UNARY_SHAPE(tanh)
UNARY_SHAPE(sin)
UNARY_SHAPE(cos)
UNARY_SHAPE(gelu)
UNARY_SHAPE(gelu_grad)

/* with_grad(value, surrogate): shaped like value; the surrogate broadcasts to it. */
int op_shape_with_grad(ir_node *n, char *err, int errlen) {
    if (!op_shape_add(n, err, errlen)) return 0;
    if (ir_shape_eq(&n->shape, &n->in[0]->shape)) return 1;
    char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
    return ops_fail(err, errlen, "with_grad: the surrogate %s must broadcast to the value's shape %s",
                    ops_type(b1, n->in[1]), ops_type(b2, n->in[0]));
}

int op_shape_clamp_grad(ir_node *n, char *err, int errlen) {
    if (n->a.nf < 2 || !(n->a.clamp_grad.min <= n->a.clamp_grad.max))
        return ops_fail(err, errlen, "clamp_grad needs bounds min <= max in f[0..1]");
    return ops_same_shape_f32(n, err, errlen);
}

/* leaky_relu and elu carry their slope / alpha, their one double. */
static int unary_with_param(ir_node *n, char *err, int errlen) {
    if (n->a.nf < 1) return ops_fail(err, errlen, "%s needs its parameter (its one double)", ir_ops[n->op].name);
    return ops_same_shape_f32(n, err, errlen);
}
int op_shape_leaky_relu(ir_node *n, char *err, int errlen) { return unary_with_param(n, err, errlen); }
int op_shape_elu(ir_node *n, char *err, int errlen) { return unary_with_param(n, err, errlen); }

int op_shape_cast_f32(ir_node *n, char *err, int errlen) {
    (void)err, (void)errlen;
    n->dtype = IR_F32;
    n->shape = n->in[0]->shape;
    return 1;
}

/* The first (leftmost in the output) dimension where a and b disagree. */
static int first_mismatch(const ir_shape *a, const ir_shape *b, ir_dim *da, ir_dim *db) {
    int rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < rank; i++) {
        int ia = a->rank - rank + i, ib = b->rank - rank + i;
        if (ia < 0 || ib < 0) continue;
        ir_dim x = a->d[ia], y = b->d[ib];
        if (ir_dim_eq(x, y) || (x.syms == 0 && x.k == 1) || (y.syms == 0 && y.k == 1)) continue;
        *da = x, *db = y;
        return i;
    }
    return -1;
}

static int broadcast_error(ir_node *n, const ir_node *x, const ir_node *y, char *err, int errlen) {
    static const struct { ir_opcode op; const char *verb; } verbs[] = {
        {OP_add, "add"}, {OP_sub, "subtract"}, {OP_mul, "multiply"}, {OP_div, "divide"},
    };
    char bx[OPS_TYPE_BUF], by[OPS_TYPE_BUF], s1[48], s2[48];
    ir_dim da = {0, 0}, db = {0, 0};
    int k = first_mismatch(&x->shape, &y->shape, &da, &db);
    char head[400];
    const char *verb = NULL;
    for (unsigned i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (verbs[i].op == n->op) verb = verbs[i].verb;
    if (verb)
        snprintf(head, sizeof head, "cannot %s %s and %s", verb, ops_type(bx, x), ops_type(by, y));
    else
        snprintf(head, sizeof head, "%s: cannot broadcast %s and %s together", ir_ops[n->op].name, ops_type(bx, x),
                 ops_type(by, y));
    return ops_fail(err, errlen, "%s\nhint: dimensions must be equal or 1 to broadcast (NumPy rules); dimension %d is %s vs %s",
                    head, k, ir_dim_str(s1, sizeof s1, da, NULL), ir_dim_str(s2, sizeof s2, db, NULL));
}

static int broadcast_f32(ir_node *n, char *err, int errlen) {
    for (int k = 0; k < n->nin; k++)
        if (!ops_require_f32(n, k, err, errlen)) return 0;
    ir_shape s = n->in[0]->shape;
    for (int k = 1; k < n->nin; k++) {
        ir_shape next;
        if (!ir_broadcast_shapes(&s, &n->in[k]->shape, &next)) {
            /* report against the operand that broke it; for binary ops that
             * is exactly the pair the user wrote */
            ir_node tmp = *n->in[0];
            tmp.shape = s;
            return broadcast_error(n, k == 1 ? n->in[0] : &tmp, n->in[k], err, errlen);
        }
        s = next;
    }
    n->dtype = IR_F32;
    n->shape = s;
    return 1;
}

#define BROADCAST_SHAPE(name) \
    int op_shape_##name(ir_node *n, char *err, int errlen) { return broadcast_f32(n, err, errlen); }
BROADCAST_SHAPE(add)
BROADCAST_SHAPE(sub)
BROADCAST_SHAPE(mul)
BROADCAST_SHAPE(div)
BROADCAST_SHAPE(pow)
BROADCAST_SHAPE(maximum)
BROADCAST_SHAPE(minimum)
BROADCAST_SHAPE(gt)
BROADCAST_SHAPE(ge)
BROADCAST_SHAPE(lt)
BROADCAST_SHAPE(le)
BROADCAST_SHAPE(eq)
BROADCAST_SHAPE(where)

/* ---- costs -------------------------------------------------------------- */

#define PER_ELEMENT(name) \
    double op_flops_##name(const ir_node *n, const int64_t *sv) { return ops_flops_per_out(n, sv); }
PER_ELEMENT(neg) PER_ELEMENT(exp) PER_ELEMENT(log) PER_ELEMENT(log1p) PER_ELEMENT(sqrt)
PER_ELEMENT(abs) PER_ELEMENT(sign) PER_ELEMENT(step) PER_ELEMENT(floor) PER_ELEMENT(round) PER_ELEMENT(ceil) PER_ELEMENT(relu) PER_ELEMENT(relu6) PER_ELEMENT(leaky_relu)
PER_ELEMENT(elu) PER_ELEMENT(sigmoid) PER_ELEMENT(tanh) PER_ELEMENT(sin) PER_ELEMENT(cos) PER_ELEMENT(gelu) PER_ELEMENT(gelu_grad)
PER_ELEMENT(cast_f32) PER_ELEMENT(add) PER_ELEMENT(sub) PER_ELEMENT(mul) PER_ELEMENT(div)
PER_ELEMENT(pow) PER_ELEMENT(maximum) PER_ELEMENT(minimum) PER_ELEMENT(gt) PER_ELEMENT(ge)
PER_ELEMENT(lt) PER_ELEMENT(le) PER_ELEMENT(eq) PER_ELEMENT(where)
double op_flops_with_grad(const ir_node *n, const int64_t *sv) { return ops_flops_none(n, sv); }
double op_flops_clamp_grad(const ir_node *n, const int64_t *sv) { return ops_flops_none(n, sv); }

/* ---- vector-Jacobian products -------------------------------------------
 * n is the node y = op(x...), gy the gradient of the loss w.r.t. y. */

#define X(k) (n->in[k])
#define K(v) ir_const(c->g, (v), NULL)
#define MUL(a, b) ir_bin(c->g, OP_mul, (a), (b))
#define DIV(a, b) ir_bin(c->g, OP_div, (a), (b))
#define ADD(a, b) ir_bin(c->g, OP_add, (a), (b))
#define SUB(a, b) ir_bin(c->g, OP_sub, (a), (b))

static ir_node *where3(ad_ctx *c, ir_node *cond, ir_node *t, ir_node *e) {
    ir_node *in[3] = {cond, t, e};
    return ir_op_attrs(c->g, OP_where, in, 3, NULL);
}

#define NO_GRAD(name)                                              \
    void op_vjp_##name(ad_ctx *c, ir_node *n, ir_node *gy) {       \
        (void)c, (void)n, (void)gy; /* piecewise constant: zero */ \
    }
NO_GRAD(sign)
NO_GRAD(step)
NO_GRAD(floor)
NO_GRAD(round)
NO_GRAD(ceil)
NO_GRAD(cast_f32)
NO_GRAD(gt)
NO_GRAD(ge)
NO_GRAD(lt)
NO_GRAD(le)
NO_GRAD(eq)

/* The surrogate's gradient, whatever the value was: with_grad(round(x), x)
 * rounds forward and passes gy to x unchanged. */
void op_vjp_with_grad(ad_ctx *c, ir_node *n, ir_node *gy) { ad_accum(c, X(1), gy); }

void op_vjp_clamp_grad(ad_ctx *c, ir_node *n, ir_node *gy) {
    if (isfinite(n->a.clamp_grad.min)) gy = ir_bin(c->g, OP_maximum, gy, K(n->a.clamp_grad.min));
    if (isfinite(n->a.clamp_grad.max)) gy = ir_bin(c->g, OP_minimum, gy, K(n->a.clamp_grad.max));
    ad_accum(c, X(0), gy);
}

void op_vjp_neg(ad_ctx *c, ir_node *n, ir_node *gy) { ad_accum(c, X(0), ir_un(c->g, OP_neg, gy)); }
void op_vjp_exp(ad_ctx *c, ir_node *n, ir_node *gy) { ad_accum(c, X(0), MUL(gy, n)); }
void op_vjp_log(ad_ctx *c, ir_node *n, ir_node *gy) { ad_accum(c, X(0), DIV(gy, X(0))); }
void op_vjp_log1p(ad_ctx *c, ir_node *n, ir_node *gy) { ad_accum(c, X(0), DIV(gy, ADD(X(0), K(1)))); }
void op_vjp_sqrt(ad_ctx *c, ir_node *n, ir_node *gy) { ad_accum(c, X(0), DIV(MUL(gy, K(0.5)), n)); }
void op_vjp_abs(ad_ctx *c, ir_node *n, ir_node *gy) { ad_accum(c, X(0), MUL(gy, ir_un(c->g, OP_sign, X(0)))); }
/* The mask from relu's output, not its input: step(relu(x)) == step(x) for
 * every x (NaN included), and the output is what the next layer reads
 * anyway, so the input (often a batch norm's or a bias add's value) needs no
 * storing and can fuse into the relu's loop (pass_fuse rule 2). */
void op_vjp_relu(ad_ctx *c, ir_node *n, ir_node *gy) { ad_accum(c, X(0), MUL(gy, ir_un(c->g, OP_step, n))); }

/* ReLU6 as nn.ReLU6 (hardtanh(0, 6)) differentiates it: 1 strictly inside
 * (0, 6), 0 at both ends and outside. From the output, as relu: 0 < y < 6
 * exactly when 0 < x < 6, and the mask fuses into the forward's loop. */
void op_vjp_relu6(ad_ctx *c, ir_node *n, ir_node *gy) {
    ad_accum(c, X(0), MUL(gy, MUL(ir_un(c->g, OP_step, n), ir_un(c->g, OP_step, SUB(K(6), n)))));
}

void op_vjp_leaky_relu(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *slope = where3(c, ir_bin(c->g, OP_gt, X(0), K(0)), K(1), K(n->a.leaky_relu.slope));
    ad_accum(c, X(0), MUL(gy, slope));
}

/* elu'(x) = 1 for x > 0, alpha*exp(x) = y + alpha otherwise. */
void op_vjp_elu(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *slope = where3(c, ir_bin(c->g, OP_gt, X(0), K(0)), K(1), ADD(n, K(n->a.elu.alpha)));
    ad_accum(c, X(0), MUL(gy, slope));
}

void op_vjp_sigmoid(ad_ctx *c, ir_node *n, ir_node *gy) { ad_accum(c, X(0), MUL(MUL(gy, n), SUB(K(1), n))); }
void op_vjp_tanh(ad_ctx *c, ir_node *n, ir_node *gy) { ad_accum(c, X(0), MUL(gy, SUB(K(1), MUL(n, n)))); }
void op_vjp_sin(ad_ctx *c, ir_node *n, ir_node *gy) { ad_accum(c, X(0), MUL(gy, ir_un(c->g, OP_cos, X(0)))); }
void op_vjp_cos(ad_ctx *c, ir_node *n, ir_node *gy) { ad_accum(c, X(0), ir_un(c->g, OP_neg, MUL(gy, ir_un(c->g, OP_sin, X(0))))); }
void op_vjp_gelu(ad_ctx *c, ir_node *n, ir_node *gy) { ad_accum(c, X(0), MUL(gy, ir_un(c->g, OP_gelu_grad, X(0)))); }

/* gelu_grad(x) = Phi(x) + x phi(x), so its derivative is phi(x) (2 - x^2):
 * needed only for second derivatives (grad of an expression with gelu). */
void op_vjp_gelu_grad(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *x2 = MUL(X(0), X(0));
    ir_node *phi = MUL(K(0.39894228040143268), ir_un(c->g, OP_exp, MUL(x2, K(-0.5))));
    ad_accum(c, X(0), MUL(gy, MUL(phi, SUB(K(2), x2))));
}

void op_vjp_add(ad_ctx *c, ir_node *n, ir_node *gy) {
    ad_accum(c, X(0), gy);
    ad_accum(c, X(1), gy);
}

void op_vjp_sub(ad_ctx *c, ir_node *n, ir_node *gy) {
    ad_accum(c, X(0), gy);
    ad_accum(c, X(1), ir_un(c->g, OP_neg, gy));
}

void op_vjp_mul(ad_ctx *c, ir_node *n, ir_node *gy) {
    ad_accum(c, X(0), MUL(gy, X(1)));
    ad_accum(c, X(1), MUL(gy, X(0)));
}

void op_vjp_div(ad_ctx *c, ir_node *n, ir_node *gy) {
    ad_accum(c, X(0), DIV(gy, X(1)));
    ad_accum(c, X(1), ir_un(c->g, OP_neg, DIV(MUL(gy, X(0)), MUL(X(1), X(1)))));
}

/* d(a^b)/da = b a^(b-1); d(a^b)/db = a^b log a (a > 0 where it matters). */
void op_vjp_pow(ad_ctx *c, ir_node *n, ir_node *gy) {
    ad_accum(c, X(0), MUL(gy, MUL(X(1), ir_bin(c->g, OP_pow, X(0), SUB(X(1), K(1))))));
    ad_accum(c, X(1), MUL(gy, MUL(n, ir_un(c->g, OP_log, X(0)))));
}

/* maximum/minimum: the winner takes the gradient; ties split it half and
 * half, as PyTorch does (and as a central difference measures). */
static void vjp_select(ad_ctx *c, ir_node *n, ir_node *gy, ir_opcode wins) {
    ir_node *half_tie = MUL(ir_bin(c->g, OP_eq, X(0), X(1)), K(0.5));
    ir_node *mask_a = ADD(ir_bin(c->g, wins, X(0), X(1)), half_tie);
    ir_node *mask_b = ADD(ir_bin(c->g, wins, X(1), X(0)), half_tie);
    ad_accum(c, X(0), MUL(gy, mask_a));
    ad_accum(c, X(1), MUL(gy, mask_b));
}
void op_vjp_maximum(ad_ctx *c, ir_node *n, ir_node *gy) { vjp_select(c, n, gy, OP_gt); }
void op_vjp_minimum(ad_ctx *c, ir_node *n, ir_node *gy) { vjp_select(c, n, gy, OP_lt); }

/* The condition is not differentiable; each branch gets gy where chosen. */
void op_vjp_where(ad_ctx *c, ir_node *n, ir_node *gy) {
    ad_accum(c, X(1), where3(c, X(0), gy, K(0)));
    ad_accum(c, X(2), where3(c, X(0), K(0), gy));
}
