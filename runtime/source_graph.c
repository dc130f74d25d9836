/* source_graph.c — a graph (graph_read.c, graph_sbm.c) as a source of
 * named-field batches for full-batch node classification: each epoch is one
 * step on the whole graph, n = 1 and the nodes V and edges E run-time
 * symbols the model reads off the fields. The splits differ only in the
 * `mask` field, so one loss — cross_entropy(output, label, mask = mask) —
 * is the training loss over the training nodes and the evaluation loss over
 * the validation or test nodes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "step_internal.h"

static int64_t graph_next(dl_source *s, dl_batch *b)
{
    if (s->graph_given) return b->n = 0;
    s->graph_given = 1;
    *b = s->bounds;
    b->field[0].data = s->graph->x;
    b->field[1].data = s->graph->src;
    b->field[2].data = s->graph->dst;
    b->field[3].data = s->graph->label;
    b->field[4].data = s->graph_mask;
    if (s->graph->edge_features) b->field[5].data = s->graph->edge_attr;
    b->reset = 1;
    return b->n;
}

static void graph_reset(dl_source *s) { s->graph_given = 0; }

static void graph_close(dl_source *s)
{
    free(s->graph_mask);
    s->graph_mask = NULL;
}

int dl_source_graph(dl_source *s, const dl_graph *g, int split)
{
    memset(s, 0, sizeof *s);
    s->graph = g;
    s->graph_mask = malloc((size_t)g->nodes * sizeof *s->graph_mask);
    if (!s->graph_mask) { dl_set_error("graph: out of memory"); return -1; }
    for (int64_t v = 0; v < g->nodes; v++) s->graph_mask[v] = g->split[v] == split;
    s->next = graph_next;
    s->reset = graph_reset;
    s->close = graph_close;
    s->batches = 1;
    s->bounds = (dl_batch){.n = 1, .n_fields = 5};
    s->bounds.field[0] = (dl_field){.name = "features", .dtype = DL_F32, .rank = 2, .shape = {g->nodes, g->features}};
    s->bounds.field[1] = (dl_field){.name = "src", .dtype = DL_I32, .rank = 1, .shape = {g->edges}};
    s->bounds.field[2] = (dl_field){.name = "dst", .dtype = DL_I32, .rank = 1, .shape = {g->edges}};
    s->bounds.field[3] = (dl_field){.name = "label", .dtype = DL_I32, .rank = 1, .shape = {g->nodes}};
    s->bounds.field[4] = (dl_field){.name = "mask", .dtype = DL_F32, .rank = 1, .shape = {g->nodes}};
    if (g->edge_features) {   /* edges.csv's columns after source,target; a graph without them has no such field */
        s->bounds.n_fields = 6;
        s->bounds.field[5] =
            (dl_field){.name = "edge_attr", .dtype = DL_F32, .rank = 2, .shape = {g->edges, g->edge_features}};
    }
    return 0;
}

int dl_evaluate_graph(const dl_model_api *api, void *m, const dl_graph *g, int split, dl_stepper *st, double *loss,
                      double *acc)
{
    dl_source src;
    dl_batch b;
    int64_t rows = 0;
    if (dl_source_graph(&src, g, split)) return -1;
    src.next(&src, &b);
    dl_clear_error();
    if (api->reset_state) api->reset_state(m);
    const float l = dl_stepper_bind(st, &b) ? NAN : dl_stepper_eval(st, m);
    const int failed = isnan(l) && dl_last_error()[0];
    const int64_t correct = failed ? 0 : dl_stepper_count_correct(st, &b, -1, &rows);
    src.close(&src);
    if (failed) return -1;
    *loss = l;
    *acc = rows ? (double)correct / rows : NAN;
    return 0;
}
