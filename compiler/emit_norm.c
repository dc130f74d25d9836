/* emit_norm.c — kernel bodies of layer_norm and layer_norm_grad: one call
 * into runtime/layer_norm.c each, where the row loops live as ordinary C;
 * the call names the rows, the features and eps:
 *
 *     dl_layer_norm(x0, x1, x2, y, n * 64, 128, 1e-05f);   (x, weight, bias)
 */
#include "emit_internal.h"

void emit_norm(emit_ctx *c, FILE *b, const ir_node *n) {
    const ir_shape *xs = &n->in[0]->shape;
    ir_dim f = xs->d[xs->rank - 1], rows = ir_dim_const(1);
    for (int k = 0; k < xs->rank - 1; k++) rows = ir_dim_mul(rows, xs->d[k]);
    const char *R = emit_dim(c, rows), *F = emit_dim(c, f), *eps = emit_float(c, n->a.norm.eps);
    if (n->op == OP_layer_norm)
        fprintf(b, "    dl_layer_norm(x0, x1, x2, y, %s, %s, %s); /* x, weight, bias */\n", R, F, eps);
    else if (n->a.norm.which == LN_DX)
        fprintf(b, "    dl_layer_norm_dx(x0, x1, x2, y, %s, %s, %s); /* x, weight, gy */\n", R, F, eps);
    else
        fprintf(b, "    (void)x1;\n    dl_layer_norm_dw(x0, x2, y, %s, %s, %s); /* x, gy: partial sums over row blocks */\n", R, F,
                eps);
}
