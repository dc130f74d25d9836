/* source_graphset.c — a collection of small graphs (graphset_read.c) as a
 * source of named-field batches for graph classification: each batch is
 * the disjoint union of `batch` graphs of a split, PyG's DataLoader of
 * Data objects. n = 1; the union's nodes V and edges E are run-time symbols
 * the model reads off the fields, while the graphs G per batch are the
 * train section's `batch`, a compile-time number, so that a readout
 * scatter_add(h, graph, G) has a fixed size. The last batch of an epoch
 * holds fewer graphs: its missing graphs have no nodes, label 0 and mask 0,
 * so cross_entropy(output, label, mask = mask) and accuracy leave them out. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "step_internal.h"

enum { GS_X, GS_SRC, GS_DST, GS_GRAPH, GS_LABEL, GS_MASK, GS_FIELDS, GS_EDGE_ATTR = GS_FIELDS };   /* edge_attr: when the file has it */

/* The epoch's order of the split's graphs: shuffled from (seed, epoch) as
 * source_rows.c's, so a resumed run replays it by resetting. */
static void gs_epoch(dl_source *s)
{
    s->rows_pos = 0;
    if (s->shuffle_rows) dl_rows_shuffle(s);
}

static void gs_reset(dl_source *s)
{
    s->rows_epoch++;
    gs_epoch(s);
}

static int64_t gs_next(dl_source *s, dl_batch *b)
{
    const dl_graphset *gs = s->graphset;
    const int64_t G = s->bounds.field[GS_LABEL].shape[0], F = gs->features, Fe = gs->edge_features;
    const int64_t n = s->rows_count - s->rows_pos < G ? s->rows_count - s->rows_pos : G;
    if (n <= 0) return b->n = 0;
    *b = s->bounds;
    float *x = s->gs_x, *mask = s->gs_mask;
    int32_t *src = s->gs_src, *dst = s->gs_dst, *graph = s->gs_graph, *label = s->gs_label;
    int64_t V = 0, E = 0;
    for (int64_t k = 0; k < G; k++) {
        label[k] = 0, mask[k] = 0;
        if (k >= n) continue;
        const int64_t g = s->rows_order[s->rows_pos + k];
        const int64_t v0 = gs->node_start[g], nv = gs->node_start[g + 1] - v0;
        const int64_t e0 = gs->edge_start[g], ne = gs->edge_start[g + 1] - e0;
        memcpy(x + V * F, gs->x + v0 * F, (size_t)(nv * F) * sizeof *x);
        for (int64_t v = 0; v < nv; v++) graph[V + v] = (int32_t)k;
        for (int64_t e = 0; e < ne; e++) {
            src[E + e] = (int32_t)(gs->src[e0 + e] + V);
            dst[E + e] = (int32_t)(gs->dst[e0 + e] + V);
        }
        if (Fe) memcpy(s->gs_edge_attr + E * Fe, gs->edge_attr + e0 * Fe, (size_t)(ne * Fe) * sizeof *s->gs_edge_attr);
        label[k] = gs->label[g], mask[k] = 1;
        V += nv, E += ne;
    }
    b->field[GS_X].shape[0] = V, b->field[GS_X].data = x;
    b->field[GS_SRC].shape[0] = E, b->field[GS_SRC].data = src;
    b->field[GS_DST].shape[0] = E, b->field[GS_DST].data = dst;
    b->field[GS_GRAPH].shape[0] = V, b->field[GS_GRAPH].data = graph;
    b->field[GS_LABEL].data = label;
    b->field[GS_MASK].data = mask;
    if (Fe) b->field[GS_EDGE_ATTR].shape[0] = E, b->field[GS_EDGE_ATTR].data = s->gs_edge_attr;
    s->rows_pos += n;
    b->reset = 1;   /* the batches are unrelated: no state carries over */
    return b->n;
}

static void gs_close(dl_source *s)
{
    free(s->rows_order);
    free(s->gs_x);
    free(s->gs_src);
    free(s->gs_dst);
    free(s->gs_graph);
    free(s->gs_label);
    free(s->gs_mask);
    free(s->gs_edge_attr);
    s->rows_order = NULL;
    s->gs_x = s->gs_mask = s->gs_edge_attr = NULL;
    s->gs_src = s->gs_dst = s->gs_graph = s->gs_label = NULL;
}

/* The most nodes (or edges) `batch` graphs of any split can hold: the sum of
 * the largest counts. Every split's source has these bounds, so the stepper
 * sized by the training source fits the evaluation's unions too. */
static int64_t largest_sum(const int64_t *start, int64_t n, int64_t batch)
{
    int64_t *c = malloc((size_t)n * sizeof *c + 1), sum = 0;
    if (!c) return -1;
    for (int64_t i = 0; i < n; i++) c[i] = start[i + 1] - start[i];
    for (int64_t k = 0; k < batch && k < n; k++) {   /* partial selection sort: batch is small */
        int64_t best = k;
        for (int64_t i = k + 1; i < n; i++)
            if (c[i] > c[best]) best = i;
        const int64_t t = c[k];
        c[k] = c[best], c[best] = t;
        sum += c[k];
    }
    free(c);
    return sum;
}

int dl_source_graphset(dl_source *s, const dl_graphset *gs, int split, int64_t batch, int shuffle, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->graphset = gs;
    s->rows_count = gs->count[split];
    s->rows_order = malloc((size_t)s->rows_count * sizeof *s->rows_order + 1);
    if (!s->rows_order) { dl_set_error("graphs: out of memory"); return -1; }
    for (int64_t g = 0, i = 0; g < gs->graphs; g++)
        if (gs->split[g] == split) s->rows_order[i++] = g;
    const int64_t V = largest_sum(gs->node_start, gs->graphs, batch);
    const int64_t E = largest_sum(gs->edge_start, gs->graphs, batch);
    s->gs_x = malloc((size_t)(V * gs->features) * sizeof *s->gs_x + 1);
    s->gs_graph = malloc((size_t)V * sizeof *s->gs_graph + 1);
    s->gs_src = malloc((size_t)E * sizeof *s->gs_src + 1);
    s->gs_dst = malloc((size_t)E * sizeof *s->gs_dst + 1);
    s->gs_label = malloc((size_t)batch * sizeof *s->gs_label);
    s->gs_mask = malloc((size_t)batch * sizeof *s->gs_mask);
    s->gs_edge_attr = malloc((size_t)(E * gs->edge_features) * sizeof *s->gs_edge_attr + 1);
    s->next = gs_next;
    s->reset = gs_reset;
    s->close = gs_close;
    if (V < 0 || E < 0 || !s->gs_x || !s->gs_graph || !s->gs_src || !s->gs_dst || !s->gs_label || !s->gs_mask || !s->gs_edge_attr) {
        gs_close(s);
        dl_set_error("graphs: out of memory for batches of %lld graphs", (long long)batch);
        return -1;
    }
    s->shuffle_rows = shuffle;
    s->rows_seed = seed;
    s->batches = (s->rows_count + batch - 1) / batch;
    s->bounds = (dl_batch){.n = 1, .n_fields = GS_FIELDS};
    s->bounds.field[GS_X] = (dl_field){.name = "features", .dtype = DL_F32, .rank = 2, .shape = {V, gs->features}};
    s->bounds.field[GS_SRC] = (dl_field){.name = "src", .dtype = DL_I32, .rank = 1, .shape = {E}};
    s->bounds.field[GS_DST] = (dl_field){.name = "dst", .dtype = DL_I32, .rank = 1, .shape = {E}};
    s->bounds.field[GS_GRAPH] = (dl_field){.name = "graph", .dtype = DL_I32, .rank = 1, .shape = {V}};
    s->bounds.field[GS_LABEL] = (dl_field){.name = "label", .dtype = DL_I32, .rank = 1, .shape = {batch}};
    s->bounds.field[GS_MASK] = (dl_field){.name = "mask", .dtype = DL_F32, .rank = 1, .shape = {batch}};
    if (gs->edge_features) {
        s->bounds.n_fields = GS_FIELDS + 1;
        s->bounds.field[GS_EDGE_ATTR] =
            (dl_field){.name = "edge_attr", .dtype = DL_F32, .rank = 2, .shape = {E, gs->edge_features}};
    }
    gs_epoch(s);
    return 0;
}

int dl_evaluate_graphset(const dl_model_api *api, void *m, const dl_graphset *gs, int split, int64_t batch,
                         dl_stepper *st, double *loss, double *acc)
{
    dl_source src;
    dl_batch b;
    double loss_sum = 0;
    int64_t graphs = 0, correct = 0, counted = 0, rows;
    int rc = -1;
    if (dl_source_graphset(&src, gs, split, batch, 0, 0)) return -1;
    while (src.next(&src, &b) > 0) {
        dl_clear_error();
        if (api->reset_state) api->reset_state(m);
        const float l = dl_stepper_bind(st, &b) ? NAN : dl_stepper_eval(st, m);
        if (isnan(l) && dl_last_error()[0]) goto done;
        /* the loss is a mean over the batch's graphs: weighted by them, it is the mean over the split */
        int64_t in_batch = 0;
        for (int64_t k = 0; k < batch; k++) in_batch += src.gs_mask[k] != 0;
        loss_sum += (double)l * (double)in_batch;
        graphs += in_batch;
        correct += dl_stepper_count_correct(st, &b, -1, &rows);
        counted += rows;
    }
    *loss = graphs ? loss_sum / (double)graphs : NAN;
    *acc = counted ? (double)correct / (double)counted : NAN;
    rc = 0;
done:
    src.close(&src);
    return rc;
}
