/* graph_sbm.c — a stochastic block model with class-correlated features:
 * a graph whose communities are its classes, for node classification at any
 * size with nothing to download.
 *
 * Node v belongs to block v * C / V (contiguous blocks, sizes within one).
 * Each unordered pair is an edge with probability p_in inside a block and
 * p_out across. Drawing every pair is O(V^2); instead, along each row's run
 * of equal probability the gap to the next edge is drawn from the geometric
 * distribution (Batagelj & Brandes 2005), so the cost is O(E + V C). The
 * features are the block's mean vector (N(0, 1) entries, one per class)
 * plus noise * N(0, 1): informative but noisy, so that a model gains from
 * averaging over neighbours. One generator, seeded by graph_seed and used
 * in a fixed order, makes the whole graph. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"

/* The bounds dlnc checks at compile time too (elab_train.c). */
#define DL_SBM_MAX_NODES 1000000
#define DL_SBM_MAX_EDGES 50000000

/* Edges of row a (to nodes b > a) with probability p over b in [lo, hi): each
 * found one appended (both ways) at *E, counting without storing when src is
 * NULL. -1 past the edge bound. */
static int sbm_run(dl_rng *r, int64_t a, int64_t lo, int64_t hi, double p, int32_t *src, int32_t *dst, int64_t *E)
{
    if (p <= 0 || lo >= hi) return 0;
    const double lq = log1p(-p);
    for (int64_t b = lo - 1;;) {
        /* the gap to the next edge: floor(log(U) / log(1 - p)), U in (0, 1] with 53 bits (a float's 24
         * would cap the gap at 17 / p) */
        const double u = ((double)(dl_rng_next(r) >> 11) + 1.0) * 0x1p-53;
        const double gap = p >= 1 ? 0 : floor(log(u) / lq);
        if (gap >= (double)(hi - b - 1)) return 0;
        b += 1 + (int64_t)gap;
        if (*E + 2 > 2 * (int64_t)DL_SBM_MAX_EDGES) {
            dl_set_error("sbm: more than %d edges; lower p_in or p_out", DL_SBM_MAX_EDGES);
            return -1;
        }
        if (src) {
            src[*E] = dst[*E + 1] = (int32_t)a;
            dst[*E] = src[*E + 1] = (int32_t)b;
        }
        *E += 2;
    }
}

/* Every edge, in row order: once to count them (src NULL), once to store them,
 * from the same generator state. */
static int sbm_edges(const dl_data_config *dc, dl_rng r, int32_t *src, int32_t *dst, int64_t *E)
{
    const int64_t V = dc->graph_nodes, C = dc->graph_classes;
    *E = 0;
    for (int64_t a = 0; a < V; a++) {
        const int64_t ca = a * C / V;
        for (int64_t c = 0; c < C; c++) {
            /* block c is the nodes [ceil(c V / C), ceil((c + 1) V / C)), cut to b > a */
            int64_t lo = (c * V + C - 1) / C, hi = ((c + 1) * V + C - 1) / C;
            if (lo < a + 1) lo = a + 1;
            if (sbm_run(&r, a, lo, hi, c == ca ? dc->p_in : dc->p_out, src, dst, E)) return -1;
        }
    }
    return 0;
}

int dl_graph_sbm(const dl_data_config *dc, dl_graph *g)
{
    memset(g, 0, sizeof *g);
    const int64_t V = dc->graph_nodes, C = dc->graph_classes, F = dc->graph_features;
    if (V < 2 || V > DL_SBM_MAX_NODES || C < 1 || C > V || F < 1 || F > 4096 || !(dc->p_in >= 0 && dc->p_in <= 1) ||
        !(dc->p_out >= 0 && dc->p_out <= 1) || !(dc->noise >= 0) || dc->train_per_class < 1 || dc->graph_val < 0 ||
        dc->graph_test < 0) {
        dl_set_error("sbm: nodes in [2, %d], 1 <= classes <= nodes, features in [1, 4096], p_in and p_out in [0, 1], "
                     "noise >= 0, train_per_class >= 1, val and test >= 0", DL_SBM_MAX_NODES);
        return -1;
    }
    if (C * dc->train_per_class + dc->graph_val + dc->graph_test > V) {
        dl_set_error("sbm: %lld training nodes (train_per_class x classes) + %lld val + %lld test is more than the %lld "
                     "nodes", (long long)(C * dc->train_per_class), (long long)dc->graph_val, (long long)dc->graph_test,
                     (long long)V);
        return -1;
    }
    dl_rng r;
    dl_rng_seed(&r, dc->graph_seed);
    int64_t E;
    if (sbm_edges(dc, r, NULL, NULL, &E)) return -1;
    if (E == 0) { dl_set_error("sbm: the graph drew no edge; raise p_in or p_out"); return -1; }
    g->nodes = V, g->features = F, g->edges = E, g->classes = C;
    g->x = malloc((size_t)(V * F) * sizeof *g->x);
    g->label = malloc((size_t)V * sizeof *g->label);
    g->split = calloc((size_t)V, 1);
    g->src = malloc((size_t)E * sizeof *g->src);
    g->dst = malloc((size_t)E * sizeof *g->dst);
    float *mu = malloc((size_t)(C * F) * sizeof *mu);
    int64_t *order = malloc((size_t)V * sizeof *order), *taken = calloc((size_t)C, sizeof *taken);
    if (!g->x || !g->label || !g->split || !g->src || !g->dst || !mu || !order || !taken) {
        free(mu), free(order), free(taken);
        dl_graph_free(g);
        dl_set_error("sbm: out of memory for %lld nodes and %lld edges", (long long)V, (long long)E);
        return -1;
    }
    sbm_edges(dc, r, g->src, g->dst, &E);   /* the same draws again, stored */
    /* the features from a stream of their own, so that p_in and p_out do not move them */
    dl_rng_seed(&r, dc->graph_seed ^ 0x9E3779B97F4A7C15ULL);
    for (int64_t k = 0; k < C * F; k++) mu[k] = dl_rng_normal(&r);
    for (int64_t v = 0; v < V; v++) {
        const int64_t c = v * C / V;
        g->label[v] = (int32_t)c;
        for (int64_t f = 0; f < F; f++) g->x[v * F + f] = mu[c * F + f] + dc->noise * dl_rng_normal(&r);
    }
    /* the splits: a random order of the nodes; the first train_per_class of
     * each class train, then the next val and test nodes of that order */
    for (int64_t v = 0; v < V; v++) order[v] = v;
    for (int64_t v = V - 1; v > 0; v--) {
        const int64_t j = (int64_t)(dl_rng_next(&r) % (uint64_t)(v + 1)), t = order[v];
        order[v] = order[j], order[j] = t;
    }
    int64_t val = dc->graph_val, test = dc->graph_test;
    for (int64_t i = 0; i < V; i++) {
        const int64_t v = order[i], c = g->label[v];
        if (taken[c] < dc->train_per_class) taken[c]++, g->split[v] = DL_SPLIT_TRAIN;
    }
    for (int64_t i = 0; i < V; i++) {
        const int64_t v = order[i];
        if (g->split[v]) continue;
        if (val > 0) val--, g->split[v] = DL_SPLIT_VAL;
        else if (test > 0) test--, g->split[v] = DL_SPLIT_TEST;
    }
    for (int64_t v = 0; v < V; v++) g->count[g->split[v]]++;
    free(mu), free(order), free(taken);
    if (g->count[DL_SPLIT_TRAIN] < C * dc->train_per_class) {
        dl_set_error("sbm: a class has fewer than train_per_class = %lld nodes", (long long)dc->train_per_class);
        dl_graph_free(g);
        return -1;
    }
    return 0;
}
