/* emit_contrastive.c — kernel bodies of nt_xent, clip_loss and their gradients: one call
 * into runtime/nt_xent.c or clip_loss.c each (the row loops and the online log-sum-exp
 * live there as ordinary C); the call names the batch, the width and the
 * temperature:
 *
 *     return dl_nt_xent(x0, x1, n, 64, 0.5f, y);   (z1, z2)
 */
#include "emit_internal.h"

void emit_contrastive(emit_ctx *c, FILE *b, const ir_node *n) {
    const ir_shape *zs = &n->in[0]->shape;
    const char *N = emit_dim(c, zs->d[0]), *D = emit_dim(c, zs->d[1]);
    c->returns_status = 1;
    if (n->op == OP_clip_loss || n->op == OP_clip_loss_grad) {
        fprintf(b, "    /* fused: the [N, N] logits a row at a time, never stored (runtime/clip_loss.c) */\n");
        if (n->op == OP_clip_loss)
            fprintf(b, "    return dl_clip_loss(x0, x1, %s, %s, y); /* a, b */\n", N, D);
        else
            fprintf(b, "    return dl_clip_loss_grad(x0, x1, x2, %s, %s, %d, y); /* a, b, gy -> %s */\n", N, D,
                    (int)n->a.contrastive.which, n->a.contrastive.which ? "db" : "da");
        return;
    }
    const char *t = emit_float(c, n->a.contrastive.temperature);
    fprintf(b, "    /* fused: the [2N, 2N] similarities a row at a time, never stored (runtime/nt_xent.c) */\n");
    if (n->op == OP_nt_xent)
        fprintf(b, "    return dl_nt_xent(x0, x1, %s, %s, %s, y); /* z1, z2 */\n", N, D, t);
    else
        fprintf(b, "    return dl_nt_xent_grad(x0, x1, x2, %s, %s, %s, %d, y); /* z1, z2, gy -> %s */\n", N, D, t,
                (int)n->a.contrastive.which, n->a.contrastive.which ? "dz2" : "dz1");
}
