/* pass_fold.c — algebraic simplification and constant folding.
 *
 * Rules (each keeps the value bit-for-bit except where noted):
 *   x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1  ->  x   (when x already has
 *       the result's shape: otherwise the op is also a broadcast)
 *   neg(neg(x))                               ->  x
 *   reshape(reshape(x))                       ->  reshape(x); and reshape or
 *   broadcast_to to x's own shape             ->  x
 *   an elementwise op, reshape or broadcast_to whose inputs are all
 *       constants                             ->  one constant
 * x * 0 is NOT folded to 0: it is NaN when x is Inf or NaN, and hiding a
 * diverging loss behind a zero would be worse than the multiply. Constants
 * are folded in double and stored as double; the emitter rounds them to
 * float once, which can differ in the last bit from evaluating the same
 * expression in float at run time.
 *
 * Nodes are rewritten in place (same id, same shape) or replaced by an
 * earlier node; replaced nodes lose all uses and are dropped here. */
#include <stdlib.h>

#include "interp.h"
#include "passes.h"

static int is_const(const ir_node *n, double v) { return n->op == OP_constant && n->a.f[0] == v; }

static int same_type(const ir_node *a, const ir_node *b) {
    return a->dtype == b->dtype && ir_shape_eq(&a->shape, &b->shape);
}

/* The node n can be replaced by, or NULL. May rewrite n in place. */
static ir_node *simplify(ir_node *n) {
    ir_node *a = n->nin > 0 ? n->in[0] : NULL, *b = n->nin > 1 ? n->in[1] : NULL;
    switch (n->op) {
    case OP_add:
        if (is_const(b, 0) && same_type(a, n)) return a;
        if (is_const(a, 0) && same_type(b, n)) return b;
        break;
    case OP_sub:
        if (is_const(b, 0) && same_type(a, n)) return a;
        break;
    case OP_mul:
        if (is_const(b, 1) && same_type(a, n)) return a;
        if (is_const(a, 1) && same_type(b, n)) return b;
        break;
    case OP_div:
        if (is_const(b, 1) && same_type(a, n)) return a;
        break;
    case OP_neg:
        if (a->op == OP_neg) return a->in[0];
        break;
    case OP_reshape:
        if (a->op == OP_reshape) n->in[0] = a = a->in[0];
        if (same_type(a, n)) return a;
        break;
    case OP_broadcast_to:
        if (same_type(a, n)) return a;
        break;
    default:
        break;
    }
    return NULL;
}

/* Turn n into a constant of its own shape if all its inputs are constants. */
static void fold_constants(ir_node *n) {
    const ir_op_info *info = &ir_ops[n->op];
    int foldable = n->nin > 0 && n->dtype == IR_F32 &&
                   (info->kind == IR_ELEMWISE || n->op == OP_reshape || n->op == OP_broadcast_to);
    for (int k = 0; k < n->nin && foldable; k++) foldable = n->in[k]->op == OP_constant;
    if (!foldable) return;
    double v;
    if (info->kind == IR_ELEMWISE) {
        double x[3] = {0, 0, 0};
        for (int k = 0; k < n->nin; k++) x[k] = n->in[k]->a.f[0];
        v = interp_elementwise(n, x[0], x[1], x[2]);
    } else {
        v = n->in[0]->a.f[0];
    }
    n->op = OP_constant;
    n->nin = 0;
    n->a = (ir_attrs){0};
    ir_attrs_set_shape(&n->a, 0, &n->shape);
    n->a.f[0] = v;
    n->a.nf = 1;
}

void pass_fold(ir_graph *g) {
    ir_node **rep = calloc((size_t)(g->next_id ? g->next_id : 1), sizeof *rep);
    if (!rep) return;
    int kept = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = g->nodes[i];
        for (int k = 0; k < n->nin; k++)
            if (rep[n->in[k]->id]) n->in[k] = rep[n->in[k]->id];
        ir_node *r = simplify(n);
        if (r) {
            rep[n->id] = r;
            continue;
        }
        fold_constants(n);
        g->nodes[kept++] = n;
    }
    g->n_nodes = kept;
    for (int i = 0; i < g->n_outputs; i++)
        if (rep[g->outputs[i].node->id]) g->outputs[i].node = rep[g->outputs[i].node->id];
    free(rep);
    ir_count_uses(g);
}
