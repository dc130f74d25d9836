/* pass_bnorm.c — batch_normalize's forward as elementwise ops.
 *
 * Why: batch_normalize (ops_bnorm.c) is an opaque op so that autodiff can
 * give it its one-kernel VJP (batch_norm_sums, batch_norm_dx). Its forward
 * is one elementwise pass, but as an opaque op its output is always
 * materialized and the ReLU / ReLU6 / residual add that consume it are
 * passes of their own: 2-3 full [N, C, H, W] passes per block where one
 * would do. The passes run after autodiff (it runs inside elaboration), when
 * the backward has taken what it needs — it reads x, stats, weight and the
 * output gradient, never the op's value — so here the op becomes
 *
 *     k = weight / sqrt(stats[1] + eps)                  f32[C], tiny
 *     y = (x - stats[0]) * k + bias                      k, stats[0], bias as [1, C, 1, ..]
 *
 * exactly the float operations of the runtime kernel (dl_batch_norm's
 * plane_normalize), so the values are the same bits; pass_fuse then joins
 * the subtract, multiply and add with the elementwise ops that consume y.
 * fold and CSE, which run next, share the stats rows and reshapes. */
#include "ops_bnorm.h"
#include "passes.h"

static ir_node *lower(ir_graph *g, ir_node *n, void *ctx) {
    (void)ctx;
    return n->op == OP_batch_normalize && n->dtype == IR_F32 ? bnorm_lower(g, n) : NULL;
}

void pass_bnorm(ir_graph *g) {
    int found = 0;
    for (int i = 0; i < g->n_nodes; i++) found += g->nodes[i]->op == OP_batch_normalize && g->nodes[i]->dtype == IR_F32;
    if (found) pass_lower_in_place(g, lower, NULL);
}
