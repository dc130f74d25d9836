/* emit_linalg.c — kernel bodies of inverse and logabsdet: one call into
 * runtime/linalg.c each, naming the number of matrices and their size:
 *
 *     return dl_logabsdet(x0, 1, 4, y);   (count, n)
 */
#include "emit_internal.h"

void emit_linalg(emit_ctx *c, FILE *b, const ir_node *n) {
    const ir_shape *xs = &n->in[0]->shape;
    const int64_t d = xs->d[xs->rank - 1].k;
    ir_shape lead = *xs;
    lead.rank -= 2;
    const char *count = emit_dim(c, ir_shape_numel(&lead));
    fprintf(b, "    /* each %lldx%lld matrix factored in double with partial pivoting (runtime/linalg.c) */\n",
            (long long)d, (long long)d);
    fprintf(b, "    return dl_%s(x0, %s, %lld, y);\n", ir_ops[n->op].name, count, (long long)d);
    c->returns_status = 1;
}
