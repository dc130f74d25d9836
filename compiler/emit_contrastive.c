/* emit_contrastive.c — kernel bodies of nt_xent and nt_xent_grad: one call
 * into runtime/nt_xent.c each (the row loops and the online log-sum-exp
 * live there as ordinary C); the call names the batch, the width and the
 * temperature:
 *
 *     return dl_nt_xent(x0, x1, n, 64, 0.5f, y);   (z1, z2)
 */
#include "emit_internal.h"

void emit_contrastive(emit_ctx *c, FILE *b, const ir_node *n) {
    const ir_shape *zs = &n->in[0]->shape;
    const char *N = emit_dim(c, zs->d[0]), *D = emit_dim(c, zs->d[1]), *t = emit_float(c, n->a.f[0]);
    fprintf(b, "    /* fused: the [2N, 2N] similarities a row at a time, never stored (runtime/nt_xent.c) */\n");
    if (n->op == OP_nt_xent)
        fprintf(b, "    return dl_nt_xent(x0, x1, %s, %s, %s, y); /* z1, z2 */\n", N, D, t);
    else
        fprintf(b, "    return dl_nt_xent_grad(x0, x1, x2, %s, %s, %s, %d, y); /* z1, z2, gy -> %s */\n", N, D, t,
                (int)n->a.i[0], n->a.i[0] ? "dz2" : "dz1");
    c->returns_status = 1;
}
