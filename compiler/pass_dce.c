/* pass_dce.c — dead code elimination.
 *
 * A value is live if a graph output depends on it. Graph input nodes stay
 * even when unused: they are the function's signature. Marking walks the
 * nodes once backwards (topological order makes one sweep enough). */
#include <stdlib.h>

#include "passes.h"

void pass_dce(ir_graph *g) {
    unsigned char *live = calloc((size_t)(g->next_id ? g->next_id : 1), 1);
    if (!live) return; /* keeping dead code is always safe */
    for (int i = 0; i < g->n_outputs; i++) live[g->outputs[i].node->id] = 1;
    for (int i = 0; i < g->n_inputs; i++) live[g->inputs[i].node->id] = 1;
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        ir_node *n = g->nodes[i];
        if (!live[n->id]) continue;
        for (int k = 0; k < n->nin; k++) live[n->in[k]->id] = 1;
    }
    int kept = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (live[g->nodes[i]->id]) g->nodes[kept++] = g->nodes[i];
    g->n_nodes = kept;
    free(live);
    ir_count_uses(g);
}
