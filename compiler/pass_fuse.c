/* pass_fuse.c — fusion groups (stub; full implementation follows). */
#include "passes.h"

void pass_fuse(ir_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) g->nodes[i]->group = -1;
}
