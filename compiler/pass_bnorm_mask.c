/* pass_bnorm_mask.c — the ReLU's (or ReLU6's) backward folded into batch norm's.
 *
 * Why: in training, conv -> batch norm -> ReLU differentiates to
 *
 *     g    = gy * step(y)                      y = the ReLU's output (relu's VJP)
 *     sums = batch_norm_sums(x, stats, g)
 *     dx   = batch_norm_dx(x, stats, w, g, sums)
 *
 * and the mask is a pass of its own over [N, C, H, W]: it reads gy and y and
 * writes g, which the two batch norm kernels then read again. When g has no
 * other use, both kernels take y as an optional last operand instead and
 * compute gy * step(y) where they read g (runtime/batch_norm.c, the same
 * float product, so the same bits); g is never stored. The multiply, and the
 * step when nothing else reads it, are left dead for dce, which runs next.
 *
 * ReLU6 (MobileNetV2's conv -> batch norm -> relu6) the same way: its VJP's
 * g = gy * (step(y) * step(6 - y)) becomes the operand y with the ops'
 * norm.mask_hi = 6, and the kernels compute that product (same bits).
 *
 * Not taken: a g with another use — at a residual block's end the gradient
 * (gy_a + gy_b) * step(y) also flows into the skip branch, so it is stored
 * anyway; an elementwise gy (the sum of two gradients): fused into the
 * mask's loop today, folded it would be stored on its own, as many passes. */
#include "passes.h"

/* y when v is step(y) of x's shape, else NULL. */
static ir_node *step_of(const ir_node *v, const ir_node *x) {
    return v->op == OP_step && v->in[0]->dtype == IR_F32 && ir_shape_eq(&v->in[0]->shape, &x->shape) ? v->in[0] : NULL;
}

/* y when v is relu6's mask step(y) * step(6 - y) (either order) of x's shape, else NULL. */
static ir_node *step6_of(const ir_node *v, const ir_node *x) {
    if (v->op != OP_mul || v->nin != 2) return NULL;
    for (int k = 0; k < 2; k++) {
        ir_node *y = step_of(v->in[k], x);
        const ir_node *u = v->in[1 - k];
        if (y && u->op == OP_step && u->in[0]->op == OP_sub && u->in[0]->in[1] == y) {
            const ir_node *six = u->in[0]->in[0];
            if (six->op == OP_constant && six->shape.rank == 0 && six->a.constant.value == 6.0) return y;
        }
    }
    return NULL;
}

void pass_bnorm_mask(ir_graph *g) {
    ir_count_uses(g);
    int folded = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *d = g->nodes[i];
        if (d->op != OP_batch_norm_dx || d->nin != 5) continue;
        ir_node *x = d->in[0], *gm = d->in[3], *s = d->in[4];
        if (s->op != OP_batch_norm_sums || s->nin != 3 || s->in[0] != x || s->in[1] != d->in[1] || s->in[2] != gm)
            continue;
        if (gm->op != OP_mul || gm->n_uses != 2 || !ir_shape_eq(&gm->shape, &x->shape)) continue;
        for (int k = 0; k < 2; k++) {
            ir_node *y = step_of(gm->in[1 - k], x), *gy = gm->in[k];
            const double hi = y ? 0.0 : 6.0;
            if (!y) y = step6_of(gm->in[1 - k], x);
            /* an elementwise gy (the stem's add of two gradients) is fused into the mask's loop today;
               folded, it would become a stored value of its own */
            if (!y || gy->dtype != IR_F32 || !ir_shape_eq(&gy->shape, &x->shape) || ir_ops[gy->op].kind == IR_ELEMWISE)
                continue;
            s->in[2] = gy, s->in[3] = y, s->nin = 4;
            d->in[3] = gy, d->in[5] = y, d->nin = 6;
            if (hi > 0) s->a.norm.mask_hi = d->a.norm.mask_hi = hi, s->a.nf = d->a.nf = 2;
            folded++;
            break;
        }
    }
    if (folded) ir_count_uses(g);
}
