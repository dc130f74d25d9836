/* graph_read.c — a graph for node classification from two CSV files
 * (docs/language.md, "Graphs"):
 *
 *   dir/nodes.csv   label,split[,f0,f1,...]   one row per node, node i on row i
 *   dir/edges.csv   source,target[,e0,...]    one row per undirected edge[, its features]
 *
 * Both go through the numeric table reader (numtable.c), which already
 * reports a short row, a stray word or a missing header by file and line;
 * here every value is checked for what it means — an integral label, a
 * split code 0-3, finite features, node ids in range, no self-loop (GCN adds
 * its own) and no edge twice — so that a damaged file is an error naming its
 * line, never a wrong graph. Features: the columns after `split`, or none,
 * which means the one-hot identity (a node's feature is its id). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "graph_internal.h"
#include "numtable_internal.h"

#define DL_GRAPH_MAX_IDENTITY 8192   /* one-hot identity features are V x V floats: 256 MB here */

void dl_graph_free(dl_graph *g)
{
    free(g->x);
    free(g->src);
    free(g->dst);
    free(g->edge_attr);
    free(g->label);
    free(g->split);
    memset(g, 0, sizeof *g);
}

int dl_graph_int_in(double v, double lo, double hi, const char *path, int line, const char *what, int64_t *out)
{
    if (!(v >= lo && v < hi) || v != floor(v)) {
        dl_set_error("%s:%d: %s must be an integer in [%.0f, %.0f), got %g", path, line, what, lo, hi, v);
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

int dl_graph_float(double v, const char *path, int line, const char *what, const char *name, const char *whose,
                   int64_t index, float *out)
{
    if (!isfinite(v) || fabs(v) > 3.4e38) {
        dl_set_error("%s:%d: %s '%s' of %s %lld must be a finite float, got %g", path, line, what, name, whose,
                     (long long)index, v);
        return -1;
    }
    *out = (float)v;
    return 0;
}

static int dl_graph_alloc(dl_graph *g, int64_t V, int64_t F, int64_t E)
{
    g->nodes = V, g->features = F, g->edges = E;
    g->x = calloc((size_t)(V * F), sizeof *g->x);
    g->label = calloc((size_t)V, sizeof *g->label);
    g->split = calloc((size_t)V, 1);
    g->src = malloc((size_t)E * sizeof *g->src + 1);
    g->dst = malloc((size_t)E * sizeof *g->dst + 1);
    if (!g->x || !g->label || !g->split || !g->src || !g->dst) {
        dl_graph_free(g);
        dl_set_error("graph: out of memory for %lld nodes x %lld features and %lld edges", (long long)V, (long long)F,
                     (long long)E);
        return -1;
    }
    return 0;
}

static int dl_graph_nodes(const char *path, const dl_numtable *t, dl_graph *g, int64_t E)
{
    if (t->ncols < 2 || strcmp(t->names[0], "label") != 0 || strcmp(t->names[1], "split") != 0) {
        dl_set_error("%s:1: the header must start with label,split (then one name per feature column)", path);
        return -1;
    }
    if (t->nrows < 1) { dl_set_error("%s: no nodes", path); return -1; }
    const int64_t V = t->nrows, cols = t->ncols - 2;
    if (cols == 0 && V > DL_GRAPH_MAX_IDENTITY) {
        dl_set_error("%s: %lld nodes without feature columns would take a %lld x %lld identity; at most %d nodes",
                     path, (long long)V, (long long)V, (long long)V, DL_GRAPH_MAX_IDENTITY);
        return -1;
    }
    if (dl_graph_alloc(g, V, cols ? cols : V, E)) return -1;
    for (int64_t i = 0; i < V; i++) {
        const int line = t->line[i];
        int64_t label, split;
        if (dl_graph_int_in(dl_numtable_at(t, (int)i, 0), 0, DL_GRAPH_MAX_CLASSES, path, line, "the label", &label) ||
            dl_graph_int_in(dl_numtable_at(t, (int)i, 1), 0, 4, path, line, "the split (0 none, 1 train, 2 val, 3 test)", &split))
            return -1;
        g->label[i] = (int32_t)label;
        g->split[i] = (unsigned char)split;
        g->count[split]++;
        if (label >= g->classes) g->classes = label + 1;
        for (int64_t f = 0; f < cols; f++)
            if (dl_graph_float(dl_numtable_at(t, (int)i, (int)(2 + f)), path, line, "feature", t->names[2 + f], "node", i,
                               &g->x[i * cols + f]))
                return -1;
        if (!cols) g->x[i * V + i] = 1.0f;
    }
    if (!g->count[DL_SPLIT_TRAIN]) { dl_set_error("%s: no node has split 1 (train)", path); return -1; }
    return 0;
}

/* An edge list sorted by (a, b) has its repeats side by side. */
static int dl_edge_cmp(const void *p, const void *q)
{
    const int64_t *a = p, *b = q;
    return a[0] != b[0] ? (a[0] > b[0]) - (a[0] < b[0]) : (a[1] > b[1]) - (a[1] < b[1]);
}

int dl_graph_edge_repeats(const char *path, int64_t *key, int64_t M)
{
    qsort(key, (size_t)M, 3 * sizeof *key, dl_edge_cmp);
    for (int64_t i = 1; i < M; i++)
        if (key[3 * i] == key[3 * i - 3] && key[3 * i + 1] == key[3 * i - 2]) {
            const int64_t l1 = key[3 * i - 1] < key[3 * i + 2] ? key[3 * i - 1] : key[3 * i + 2];
            const int64_t l2 = key[3 * i - 1] < key[3 * i + 2] ? key[3 * i + 2] : key[3 * i - 1];
            dl_set_error("%s:%lld: the edge %lld-%lld again (first on line %lld)", path, (long long)l2,
                         (long long)key[3 * i], (long long)key[3 * i + 1], (long long)l1);
            return -1;
        }
    return 0;
}

static int dl_graph_edges(const char *path, const dl_numtable *t, dl_graph *g)
{
    if (t->ncols < 2 || strcmp(t->names[0], "source") != 0 || strcmp(t->names[1], "target") != 0) {
        dl_set_error("%s:1: the header must start with source,target (then one name per edge feature column)", path);
        return -1;
    }
    const int64_t M = t->nrows, Fe = t->ncols - 2;
    int64_t *key = malloc((size_t)M * 3 * sizeof *key + 1);   /* (min, max, line) per edge */
    g->edge_features = Fe;
    if (Fe && !(g->edge_attr = malloc((size_t)(2 * M * Fe) * sizeof *g->edge_attr))) {
        free(key);
        key = NULL;
    }
    if (!key) { dl_set_error("%s: out of memory", path); return -1; }
    for (int64_t i = 0; i < M; i++) {
        const int line = t->line[i];
        int64_t a, b;
        if (dl_graph_int_in(dl_numtable_at(t, (int)i, 0), 0, (double)g->nodes, path, line, "the source node", &a) ||
            dl_graph_int_in(dl_numtable_at(t, (int)i, 1), 0, (double)g->nodes, path, line, "the target node", &b)) {
            free(key);
            return -1;
        }
        if (a == b) {
            dl_set_error("%s:%d: a self-loop on node %lld (graph layers add their own)", path, line, (long long)a);
            free(key);
            return -1;
        }
        g->src[2 * i] = g->dst[2 * i + 1] = (int32_t)a;
        g->dst[2 * i] = g->src[2 * i + 1] = (int32_t)b;
        for (int64_t f = 0; f < Fe; f++) {
            float *both = &g->edge_attr[2 * i * Fe + f];
            if (dl_graph_float(dl_numtable_at(t, (int)i, (int)(2 + f)), path, line, "feature", t->names[2 + f], "edge", i,
                               both)) {
                free(key);
                return -1;
            }
            both[Fe] = both[0];
        }
        key[3 * i] = a < b ? a : b, key[3 * i + 1] = a < b ? b : a, key[3 * i + 2] = line;
    }
    const int rc = dl_graph_edge_repeats(path, key, M);
    free(key);
    return rc;
}

int dl_graph_load(const char *dir, dl_graph *g)
{
    memset(g, 0, sizeof *g);
    char np[4096], ep[4096];
    if (snprintf(np, sizeof np, "%s/nodes.csv", dir) >= (int)sizeof np ||
        snprintf(ep, sizeof ep, "%s/edges.csv", dir) >= (int)sizeof ep) {
        dl_set_error("graph: the path %s is too long", dir);
        return -1;
    }
    dl_numtable nt = {0}, et = {0};
    int rc = -1;
    if (dl_numtable_read(np, &nt) || dl_numtable_read(ep, &et)) goto done;
    if (et.nrows < 1) { dl_set_error("%s: no edges", ep); goto done; }
    if (dl_graph_nodes(np, &nt, g, 2 * (int64_t)et.nrows) || dl_graph_edges(ep, &et, g)) goto done;
    rc = 0;
done:
    if (rc) dl_graph_free(g);
    dl_numtable_free(&nt);
    dl_numtable_free(&et);
    return rc;
}
