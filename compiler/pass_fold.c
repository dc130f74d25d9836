/* pass_fold.c — algebraic simplification and constant folding.
 *
 * Rules (each keeps the value bit-for-bit except where noted):
 *   x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1  ->  x   (when x already has
 *       the result's shape: otherwise the op is also a broadcast)
 *   neg(neg(x))                               ->  x
 *   transpose(transpose(x))                   ->  transpose(x), one permutation;
 *   a transpose that permutes nothing         ->  x
 *   reshape(reshape(x))                       ->  reshape(x); and reshape or
 *   broadcast_to to x's own shape             ->  x
 *   an elementwise op, reshape or broadcast_to whose inputs are all
 *       constants                             ->  one constant
 *   a sum of slice_grads that tile their axis ->  concat of their inputs
 *       (the gradient of split/chunk: one copy instead of k zero-filled
 *       full-size buffers and k-1 adds; equal up to the sign of zeros)
 * x * 0 is NOT folded to 0: it is NaN when x is Inf or NaN, and hiding a
 * diverging loss behind a zero would be worse than the multiply. Constants
 * are folded in double and stored as double; the emitter rounds them to
 * float once, which can differ in the last bit from evaluating the same
 * expression in float at run time.
 *
 * Nodes are rewritten in place (same id, same shape) or replaced by an
 * earlier node; replaced nodes lose all uses and are dropped (pass_rewrite). */

#include "interp.h"
#include "passes.h"

static int is_const(const ir_node *n, double v) { return n->op == OP_constant && n->a.constant.value == v; }

static int same_type(const ir_node *a, const ir_node *b) {
    return a->dtype == b->dtype && ir_shape_eq(&a->shape, &b->shape);
}

/* ---- split gradients ------------------------------------------------------ */

/* Autodiff accumulates the gradient of x = concat of pieces as
 * add(add(slice_grad(g1), slice_grad(g2)), slice_grad(g3)): each piece's
 * gradient scattered into zeros of x's size, then summed. When the leaves of
 * such an add tree are slice_grads along one axis with step 1 whose ranges
 * cover the axis exactly once, the sum is the concat of g1, g2, g3 in order
 * of their starts. Leaves of any other kind leave the tree alone. */
static int is_sum_part(const ir_node *n) { return n->op == OP_add || n->op == OP_slice_grad; }

/* Both inputs are checked before descending, so a long accumulation of
 * other gradients is rejected at its top; a tree of at most IR_MAX_IN leaves
 * has fewer than 2 * IR_MAX_IN nodes, so `budget` bounds the work per add. */
static int collect_slice_grads(ir_node *n, ir_node **leaves, int *k, int *budget) {
    if (--*budget < 0) return 0;
    if (n->op == OP_add && n->nin == 2 && same_type(n->in[0], n) && same_type(n->in[1], n) &&
        is_sum_part(n->in[0]) && is_sum_part(n->in[1]))
        return collect_slice_grads(n->in[0], leaves, k, budget) && collect_slice_grads(n->in[1], leaves, k, budget);
    if (n->op != OP_slice_grad || n->a.slice.step != 1 || *k == IR_MAX_IN) return 0;
    leaves[(*k)++] = n;
    return 1;
}

static int fold_split_grads(ir_node *n) {
    ir_node *leaves[IR_MAX_IN];
    int k = 0, budget = 2 * IR_MAX_IN;
    if (!collect_slice_grads(n, leaves, &k, &budget) || k < 2) return 0;
    int64_t axis = leaves[0]->a.slice.axis, len = leaves[0]->a.slice.count;
    for (int j = 1; j < k; j++) /* insertion sort by start */
        for (int i = j; i > 0 && leaves[i]->a.slice.start < leaves[i - 1]->a.slice.start; i--) {
            ir_node *t = leaves[i];
            leaves[i] = leaves[i - 1];
            leaves[i - 1] = t;
        }
    int64_t at = 0;
    for (int j = 0; j < k; j++) {
        const ir_node *g = leaves[j]->in[0];
        const ir_attrs_slice *s = &leaves[j]->a.slice;
        if (s->axis != axis || s->count != len || s->start != at) return 0;
        at += g->shape.d[axis].k;
    }
    if (at != len) return 0;
    n->op = OP_concat;
    n->nin = k;
    for (int j = 0; j < k; j++) n->in[j] = leaves[j]->in[0];
    n->a = (ir_attrs){.concat = {.axis = axis}, .ni = 1};
    return 1;
}

/* The node n can be replaced by, or NULL. May rewrite n in place. */
static ir_node *simplify(ir_node *n) {
    ir_node *a = n->nin > 0 ? n->in[0] : NULL, *b = n->nin > 1 ? n->in[1] : NULL;
    switch (n->op) {
    case OP_add:
        if (is_const(b, 0) && same_type(a, n)) return a;
        if (is_const(a, 0) && same_type(b, n)) return b;
        fold_split_grads(n);
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
    case OP_transpose:
        if (a->op == OP_transpose) { /* out dim k = a's dim perm[k] = a's input's dim a.perm[perm[k]] */
            int64_t perm[IR_MAX_RANK];
            for (int d = 0; d < n->shape.rank; d++) perm[d] = a->a.transpose.perm[n->a.transpose.perm[d]];
            for (int d = 0; d < n->shape.rank; d++) n->a.transpose.perm[d] = perm[d];
            n->in[0] = a = a->in[0];
        }
        if (same_type(a, n)) {
            int identity = 1;
            for (int d = 0; d < n->shape.rank; d++) identity &= n->a.transpose.perm[d] == d;
            if (identity) return a;
        }
        break;
    case OP_attention:
    case OP_attention_grad:
        /* a mask of zeros (nn.MultiheadAttention's default key padding, no
         * attn_mask) adds nothing: without it the kernel reads no mask, and
         * a causal self-attention can be cached (decode.c) */
        if (n->nin == (n->op == OP_attention ? 4 : 6) && is_const(n->in[n->nin - 1], 0) &&
            !(n->op == OP_attention_grad && n->a.attention.which == ATTN_DMASK))
            n->nin--;
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
        for (int k = 0; k < n->nin; k++) x[k] = n->in[k]->a.constant.value;
        v = interp_elementwise(n, x[0], x[1], x[2]);
    } else {
        v = n->in[0]->a.constant.value;
    }
    n->op = OP_constant;
    n->nin = 0;
    n->a = (ir_attrs){0};
    ir_attrs_set_shape(&n->a, 0, &n->shape);
    n->a.constant.value = v;
    n->a.nf = 1;
}

/* An earlier node to use instead of n, or NULL with n folded in place. */
static ir_node *fold_node(ir_node *n, void *ctx) {
    (void)ctx;
    ir_node *r = simplify(n);
    if (!r) fold_constants(n);
    return r;
}

void pass_fold(ir_graph *g) { pass_rewrite(g, fold_node, NULL); }
