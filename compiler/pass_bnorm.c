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
#include <stdlib.h>
#include <string.h>

#include "ops_bnorm.h"
#include "passes.h"

void pass_bnorm(ir_graph *g) {
    const int n0 = g->n_nodes, nid = g->next_id > 0 ? g->next_id : 1;
    int found = 0;
    for (int i = 0; i < n0; i++) found += g->nodes[i]->op == OP_batch_normalize && g->nodes[i]->dtype == IR_F32;
    if (!found) return;
    int *from = calloc((size_t)n0, sizeof *from), *to = calloc((size_t)n0, sizeof *to); /* appended range per node */
    ir_node **rep = calloc((size_t)nid, sizeof *rep); /* by the old node's id: its value's new node */
    if (!from || !to || !rep) { /* leaving the op opaque is always correct */
        free(from), free(to), free(rep);
        return;
    }
    for (int i = 0; i < n0; i++) {
        ir_node *n = g->nodes[i];
        if (n->op != OP_batch_normalize || n->dtype != IR_F32) continue;
        from[i] = g->n_nodes;
        rep[n->id] = bnorm_lower(g, n);
        to[i] = g->n_nodes;
        for (int j = from[i]; j < to[i]; j++) /* generated C points at the batch norm's line */
            g->nodes[j]->loc = n->loc, g->nodes[j]->site = n->site, g->nodes[j]->site_block = n->site_block;
    }
    /* the new nodes take the old node's place: its inputs are before it, its uses after */
    ir_node **out = malloc(sizeof *out * (size_t)g->n_nodes);
    if (!out) {
        fprintf(stderr, "dlnc: out of memory in pass_bnorm\n");
        exit(1);
    }
    int m = 0;
    for (int i = 0; i < n0; i++) {
        ir_node *n = g->nodes[i];
        if (n->id >= nid || !rep[n->id]) out[m++] = n;
        else
            for (int j = from[i]; j < to[i]; j++) out[m++] = g->nodes[j];
    }
    memcpy(g->nodes, out, sizeof *out * (size_t)m);
    g->n_nodes = m;
    for (int i = 0; i < m; i++)
        for (int k = 0; k < g->nodes[i]->nin; k++) {
            ir_node *in = g->nodes[i]->in[k];
            if (in->id < nid && rep[in->id]) g->nodes[i]->in[k] = rep[in->id];
        }
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i].node->id < nid && rep[g->outputs[i].node->id]) g->outputs[i].node = rep[g->outputs[i].node->id];
    free(out);
    free(from), free(to), free(rep);
    ir_count_uses(g);
}
