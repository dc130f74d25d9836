/* pass_bnorm_mask.c — the ReLU's backward folded into batch norm's.
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
 * Not taken: a g with another use — at a residual block's end the gradient
 * (gy_a + gy_b) * step(y) also flows into the skip branch, so it is stored
 * anyway; ReLU6's mask, gy * step(y) * step(6 - y), is another pattern. */
#include "passes.h"

/* y when v is step(y) of x's shape, else NULL. */
static ir_node *step_of(const ir_node *v, const ir_node *x) {
    return v->op == OP_step && v->in[0]->dtype == IR_F32 && ir_shape_eq(&v->in[0]->shape, &x->shape) ? v->in[0] : NULL;
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
            /* an elementwise gy (the stem's add of two gradients) is fused into the mask's loop today;
               folded, it would become a stored value of its own */
            if (!y || gy->dtype != IR_F32 || !ir_shape_eq(&gy->shape, &x->shape) || ir_ops[gy->op].kind == IR_ELEMWISE)
                continue;
            s->in[2] = gy, s->in[3] = y, s->nin = 4;
            d->in[3] = gy, d->in[5] = y, d->nin = 6;
            folded++;
            break;
        }
    }
    if (folded) ir_count_uses(g);
}
