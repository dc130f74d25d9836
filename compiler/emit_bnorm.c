/* emit_bnorm.c — kernel bodies of the batch norm ops (ops_bnorm.c): one call
 * into runtime/batch_norm.c each, naming x's view as [n, c, p] (p the
 * positions of a channel plane) and eps:
 *
 *     dl_batch_norm(x0, x1, x2, x3, y, n, 32, 1024, 1e-05f);   (x, stats, weight, bias)
 */
#include "emit_internal.h"

void emit_bnorm(emit_ctx *c, FILE *b, const ir_node *n) {
    const ir_shape *xs = &n->in[0]->shape;
    ir_dim p = ir_dim_const(1);
    for (int k = 2; k < xs->rank; k++) p = ir_dim_mul(p, xs->d[k]);
    const char *N = emit_dim(c, xs->d[0]), *C = emit_dim(c, xs->d[1]), *P = emit_dim(c, p);
    const char *eps = emit_float(c, n->a.norm.eps), *hi = emit_float(c, n->a.nf > 1 ? n->a.norm.mask_hi : 0.0);
    switch (n->op) {
    case OP_batch_stats: fprintf(b, "    dl_batch_stats(x0, y, %s, %s, %s);\n", N, C, P); break;
    case OP_batch_normalize:
        fprintf(b, "    dl_batch_norm(x0, x1, x2, x3, y, %s, %s, %s, %s); /* x, stats, weight, bias */\n", N, C, P, eps);
        break;
    case OP_batch_norm_sums:
        fprintf(b, "    dl_batch_norm_sums(x0, x1, x2, %s, %s, y, %s, %s, %s, %s); /* x, stats, gy, mask, mask_hi */\n",
                n->nin > 3 ? "x3" : "NULL", hi, N, C, P, eps);
        break;
    default:
        fprintf(b, "    dl_batch_norm_dx(x0, x1, x2, x3, %s, %s, x4, y, %s, %s, %s, %s); /* x, stats, weight, gy, mask, mask_hi, sums */\n",
                n->nin > 5 ? "x5" : "NULL", hi, N, C, P, eps);
        break;
    }
}
