/* graphset_read.c — a collection of small graphs for graph classification
 * from three CSV files (docs/language.md, "Graph classification"), the
 * layout of the TU datasets (MUTAG, PROTEINS) with a split per graph:
 *
 *   dir/graphs.csv   label,split          one row per graph, graph g on row g
 *   dir/nodes.csv    graph,f0[,f1,...]    one row per node: its graph, its features
 *   dir/edges.csv    source,target[,e0..] one row per undirected edge, global node ids[, its features]
 *
 * A graph's nodes are contiguous and the graphs come in order (TU's
 * graph_indicator), so a graph is a range of rows; its edges are regrouped
 * here by graph with node ids local to it, which makes a batch a few
 * memcpys plus an offset. As graph_read.c, every value is checked for what
 * it means, so a damaged file is an error naming its line, never a wrong
 * set of graphs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "graph_internal.h"
#include "numtable_internal.h"

void dl_graphset_free(dl_graphset *gs)
{
    free(gs->x);
    free(gs->node_start);
    free(gs->edge_start);
    free(gs->src);
    free(gs->dst);
    free(gs->edge_attr);
    free(gs->label);
    free(gs->split);
    memset(gs, 0, sizeof *gs);
}

static int graphs_table(const char *path, const dl_numtable *t, dl_graphset *gs)
{
    if (t->ncols != 2 || strcmp(t->names[0], "label") != 0 || strcmp(t->names[1], "split") != 0) {
        dl_set_error("%s:1: the header must be label,split", path);
        return -1;
    }
    if (t->nrows < 1) { dl_set_error("%s: no graphs", path); return -1; }
    const int64_t G = t->nrows;
    gs->graphs = G;
    gs->label = malloc((size_t)G * sizeof *gs->label);
    gs->split = malloc((size_t)G);
    gs->node_start = calloc((size_t)G + 1, sizeof *gs->node_start);
    gs->edge_start = calloc((size_t)G + 1, sizeof *gs->edge_start);
    if (!gs->label || !gs->split || !gs->node_start || !gs->edge_start) {
        dl_set_error("%s: out of memory for %lld graphs", path, (long long)G);
        return -1;
    }
    for (int64_t g = 0; g < G; g++) {
        int64_t label, split;
        if (dl_graph_int_in(dl_numtable_at(t, (int)g, 0), 0, DL_GRAPH_MAX_CLASSES, path, t->line[g], "the label", &label) ||
            dl_graph_int_in(dl_numtable_at(t, (int)g, 1), 0, 4, path, t->line[g],
                            "the split (0 none, 1 train, 2 val, 3 test)", &split))
            return -1;
        gs->label[g] = (int32_t)label;
        gs->split[g] = (unsigned char)split;
        gs->count[split]++;
        if (label >= gs->classes) gs->classes = label + 1;
    }
    if (!gs->count[DL_SPLIT_TRAIN]) { dl_set_error("%s: no graph has split 1 (train)", path); return -1; }
    return 0;
}

/* The graph column is TU's graph_indicator: 0 on the first row, then each
 * row the same graph or the next, and every graph of graphs.csv has a node. */
static int nodes_table(const char *path, const dl_numtable *t, dl_graphset *gs)
{
    if (t->ncols < 2 || strcmp(t->names[0], "graph") != 0) {
        dl_set_error("%s:1: the header must be graph, then one name per feature column (at least one)", path);
        return -1;
    }
    if (t->nrows < 1) { dl_set_error("%s: no nodes", path); return -1; }
    const int64_t V = t->nrows, F = t->ncols - 1;
    gs->nodes = V, gs->features = F;
    gs->x = malloc((size_t)(V * F) * sizeof *gs->x);
    if (!gs->x) { dl_set_error("%s: out of memory for %lld nodes", path, (long long)V); return -1; }
    int64_t prev = -1;
    for (int64_t v = 0; v < V; v++) {
        const int line = t->line[v];
        int64_t g;
        if (dl_graph_int_in(dl_numtable_at(t, (int)v, 0), 0, (double)gs->graphs, path, line, "the graph", &g)) return -1;
        if (v == 0 && g != 0) {
            dl_set_error("%s:%d: the first node must be in graph 0, got %lld", path, line, (long long)g);
            return -1;
        }
        if (g != prev && g != prev + 1) {
            dl_set_error("%s:%d: node %lld is in graph %lld after a node of graph %lld: a graph's nodes must be "
                         "contiguous, the graphs in order and none without nodes", path, line, (long long)v,
                         (long long)g, (long long)prev);
            return -1;
        }
        if (g != prev) gs->node_start[g] = v;
        prev = g;
        for (int64_t f = 0; f < F; f++)
            if (dl_graph_float(dl_numtable_at(t, (int)v, (int)(1 + f)), path, line, "feature", t->names[1 + f], "node", v,
                               &gs->x[v * F + f]))
                return -1;
    }
    if (prev != gs->graphs - 1) {
        dl_set_error("%s: graph %lld has no node (the last node is in graph %lld of the %lld in graphs.csv)", path,
                     (long long)(prev + 1), (long long)prev, (long long)gs->graphs);
        return -1;
    }
    gs->node_start[gs->graphs] = V;
    for (int64_t g = 0; g < gs->graphs; g++)
        if (gs->node_start[g + 1] - gs->node_start[g] > gs->max_nodes) gs->max_nodes = gs->node_start[g + 1] - gs->node_start[g];
    return 0;
}

/* The graph holding node v: a binary search of node_start. */
static int64_t graph_of(const dl_graphset *gs, int64_t v)
{
    int64_t lo = 0, hi = gs->graphs - 1;
    while (lo < hi) {
        const int64_t mid = (lo + hi + 1) / 2;
        if (gs->node_start[mid] <= v) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

static int edges_table(const char *path, const dl_numtable *t, dl_graphset *gs)
{
    if (t->ncols < 2 || strcmp(t->names[0], "source") != 0 || strcmp(t->names[1], "target") != 0) {
        dl_set_error("%s:1: the header must start with source,target (then one name per edge feature column)", path);
        return -1;
    }
    /* a model's edge symbol E needs a bound of at least 1 */
    if (t->nrows < 1) { dl_set_error("%s: no edges", path); return -1; }
    const int64_t M = t->nrows, Fe = t->ncols - 2;
    gs->edges = 2 * M;
    gs->edge_features = Fe;
    float *attr = Fe ? malloc((size_t)(M * Fe) * sizeof *attr) : NULL;   /* [M, Fe] in file order */
    gs->edge_attr = Fe ? malloc((size_t)(2 * M * Fe) * sizeof *gs->edge_attr) : NULL;
    gs->src = malloc((size_t)(2 * M) * sizeof *gs->src + 1);
    gs->dst = malloc((size_t)(2 * M) * sizeof *gs->dst + 1);
    int64_t *key = malloc((size_t)M * 3 * sizeof *key + 1);   /* (min, max, line) per edge */
    int64_t *owner = malloc((size_t)M * sizeof *owner + 1);
    int64_t *fill = calloc((size_t)gs->graphs, sizeof *fill);
    int rc = -1;
    if (!gs->src || !gs->dst || !key || !owner || !fill || (Fe && (!attr || !gs->edge_attr))) {
        dl_set_error("%s: out of memory", path);
        goto done;
    }
    for (int64_t i = 0; i < M; i++) {
        const int line = t->line[i];
        int64_t a, b;
        if (dl_graph_int_in(dl_numtable_at(t, (int)i, 0), 0, (double)gs->nodes, path, line, "the source node", &a) ||
            dl_graph_int_in(dl_numtable_at(t, (int)i, 1), 0, (double)gs->nodes, path, line, "the target node", &b))
            goto done;
        if (a == b) {
            dl_set_error("%s:%d: a self-loop on node %lld (graph layers add their own)", path, line, (long long)a);
            goto done;
        }
        owner[i] = graph_of(gs, a);
        if (graph_of(gs, b) != owner[i]) {
            dl_set_error("%s:%d: the edge %lld-%lld joins graph %lld to graph %lld; an edge must stay inside its graph",
                         path, line, (long long)a, (long long)b, (long long)owner[i], (long long)graph_of(gs, b));
            goto done;
        }
        for (int64_t f = 0; f < Fe; f++)
            if (dl_graph_float(dl_numtable_at(t, (int)i, (int)(2 + f)), path, line, "feature", t->names[2 + f], "edge", i,
                               &attr[i * Fe + f]))
                goto done;
        gs->edge_start[owner[i] + 1] += 2;
        key[3 * i] = a < b ? a : b, key[3 * i + 1] = a < b ? b : a, key[3 * i + 2] = line;
    }
    for (int64_t g = 0; g < gs->graphs; g++) {
        if (gs->edge_start[g + 1] > gs->max_edges) gs->max_edges = gs->edge_start[g + 1];
        gs->edge_start[g + 1] += gs->edge_start[g];
    }
    /* in file order within a graph: line i's edges 2i (source -> target) and 2i + 1 (back) */
    for (int64_t i = 0; i < M; i++) {
        const int64_t g = owner[i], e = gs->edge_start[g] + fill[g], base = gs->node_start[g];
        const int32_t a = (int32_t)(dl_numtable_at(t, (int)i, 0) - (double)base);
        const int32_t b = (int32_t)(dl_numtable_at(t, (int)i, 1) - (double)base);
        gs->src[e] = gs->dst[e + 1] = a;
        gs->dst[e] = gs->src[e + 1] = b;
        for (int64_t f = 0; f < Fe; f++) gs->edge_attr[e * Fe + f] = gs->edge_attr[(e + 1) * Fe + f] = attr[i * Fe + f];
        fill[g] += 2;
    }
    rc = dl_graph_edge_repeats(path, key, M);
done:
    free(attr);
    free(key);
    free(owner);
    free(fill);
    return rc;
}

int dl_graphset_load(const char *dir, dl_graphset *gs)
{
    memset(gs, 0, sizeof *gs);
    char gp[4096], np[4096], ep[4096];
    if (snprintf(gp, sizeof gp, "%s/graphs.csv", dir) >= (int)sizeof gp ||
        snprintf(np, sizeof np, "%s/nodes.csv", dir) >= (int)sizeof np ||
        snprintf(ep, sizeof ep, "%s/edges.csv", dir) >= (int)sizeof ep) {
        dl_set_error("graphs: the path %s is too long", dir);
        return -1;
    }
    dl_numtable gt = {0}, nt = {0}, et = {0};
    int rc = -1;
    if (dl_numtable_read(gp, &gt) || dl_numtable_read(np, &nt) || dl_numtable_read(ep, &et)) goto done;
    if (graphs_table(gp, &gt, gs) || nodes_table(np, &nt, gs) || edges_table(ep, &et, gs)) goto done;
    rc = 0;
done:
    if (rc) dl_graphset_free(gs);
    dl_numtable_free(&gt);
    dl_numtable_free(&nt);
    dl_numtable_free(&et);
    return rc;
}
