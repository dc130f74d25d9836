/* test_rt_graphset.c — collections of small graphs (runtime/graphset_read.c)
 * and their batches (runtime/source_graphset.c):
 *   - the shipped cycles set: its sizes and splits, and each graph a tree
 *     (class 0: n - 1 edges) or a tree plus one edge (class 1: n edges);
 *   - batches as the disjoint union of their graphs, checked against the
 *     set graph by graph: features, edges offset into the union, each node's
 *     graph, labels and mask (0 where the last batch has no graph); every
 *     training graph once per epoch, in another order the next epoch, in
 *     file order without shuffle;
 *   - damaged files: each an error naming file and line. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlnrt.h"
#include "files.h"
#include "step_internal.h"

static char dir[64];

static void put(const char *name, const char *text)
{
    CU_ASSERT_EQUAL_FATAL(test_write_text(dir, name, text), 0);
}
static void test_cycles(void)
{
    dl_graphset gs;
    CU_ASSERT_EQUAL_FATAL(dl_graphset_load("samples/data/cycles", &gs), 0);
    CU_ASSERT_EQUAL(gs.graphs, 600);
    CU_ASSERT_EQUAL(gs.features, 4);
    CU_ASSERT_EQUAL(gs.classes, 2);
    CU_ASSERT_EQUAL(gs.count[DL_SPLIT_TRAIN], 400);
    CU_ASSERT_EQUAL(gs.count[DL_SPLIT_VAL], 100);
    CU_ASSERT_EQUAL(gs.count[DL_SPLIT_TEST], 100);
    int ok = 1;
    for (int64_t g = 0; g < gs.graphs; g++) {
        const int64_t n = gs.node_start[g + 1] - gs.node_start[g], e = gs.edge_start[g + 1] - gs.edge_start[g];
        ok &= n >= 8 && n <= 16 && e == 2 * (n - 1 + gs.label[g]);
        for (int64_t k = gs.edge_start[g]; k < gs.edge_start[g + 1]; k++)
            ok &= gs.src[k] >= 0 && gs.src[k] < n && gs.dst[k] >= 0 && gs.dst[k] < n && gs.src[k] != gs.dst[k];
    }
    CU_ASSERT(ok);
    dl_graphset_free(&gs);
}

/* One epoch of src against gs: each batch the union of its graphs (which
 * graphs: the source's order, read back); seen[g] counts graph g's draws,
 * order[] receives them in turn. The graphs drawn. */
static int64_t check_epoch(dl_source *src, const dl_graphset *gs, int64_t batch, int *seen, int64_t *order)
{
    dl_batch b;
    int64_t drawn = 0;
    while (src->next(src, &b) > 0) {
        const dl_field *x = dl_batch_find(&b, "features"), *s = dl_batch_find(&b, "src"), *d = dl_batch_find(&b, "dst");
        const dl_field *gr = dl_batch_find(&b, "graph"), *l = dl_batch_find(&b, "label"), *m = dl_batch_find(&b, "mask");
        CU_ASSERT_FATAL(x && s && d && gr && l && m);
        CU_ASSERT_EQUAL(b.n, 1);
        CU_ASSERT_EQUAL_FATAL(l->shape[0], batch);
        const float *xf = x->data, *mf = m->data;
        const int32_t *sf = s->data, *df = d->data, *gf = gr->data, *lf = l->data;
        int64_t in = 0;
        while (in < batch && mf[in] == 1.0f) in++;
        CU_ASSERT(in >= 1);
        for (int64_t k = in; k < batch; k++) CU_ASSERT(mf[k] == 0.0f && lf[k] == 0);
        int64_t V = 0, E = 0;
        int same = 1;
        for (int64_t k = 0; k < in; k++) {
            const int64_t g = src->rows_order[src->rows_pos - in + k];
            const int64_t v0 = gs->node_start[g], n = gs->node_start[g + 1] - v0;
            const int64_t e0 = gs->edge_start[g], ne = gs->edge_start[g + 1] - e0;
            CU_ASSERT_FATAL(V + n <= x->shape[0] && E + ne <= s->shape[0]);
            same &= memcmp(xf + V * gs->features, gs->x + v0 * gs->features, (size_t)(n * gs->features) * sizeof *xf) == 0;
            for (int64_t v = 0; v < n; v++) same &= gf[V + v] == k;
            for (int64_t e = 0; e < ne; e++) same &= sf[E + e] == gs->src[e0 + e] + V && df[E + e] == gs->dst[e0 + e] + V;
            same &= lf[k] == gs->label[g];
            seen[g]++;
            order[drawn++] = g;
            V += n, E += ne;
        }
        CU_ASSERT(same);
        CU_ASSERT(x->shape[0] == V && gr->shape[0] == V && s->shape[0] == E && d->shape[0] == E);
    }
    return drawn;
}

static void test_batches(void)
{
    dl_graphset gs;
    CU_ASSERT_EQUAL_FATAL(dl_graphset_load("samples/data/cycles", &gs), 0);
    const int64_t batch = 7;   /* 400 training graphs: 57 full batches and one of 1 */
    int *seen = calloc((size_t)gs.graphs, sizeof *seen);
    int64_t *o1 = malloc(400 * sizeof *o1), *o2 = malloc(400 * sizeof *o2);
    CU_ASSERT_FATAL(seen && o1 && o2);
    dl_source src;
    CU_ASSERT_EQUAL_FATAL(dl_source_graphset(&src, &gs, DL_SPLIT_TRAIN, batch, 1, 42), 0);
    CU_ASSERT_EQUAL(src.batches, 58);
    CU_ASSERT_EQUAL(check_epoch(&src, &gs, batch, seen, o1), 400);
    src.reset(&src);
    CU_ASSERT_EQUAL(check_epoch(&src, &gs, batch, seen, o2), 400);
    int twice = 1;
    for (int64_t g = 0; g < gs.graphs; g++) twice &= seen[g] == (gs.split[g] == DL_SPLIT_TRAIN ? 2 : 0);
    CU_ASSERT(twice);
    CU_ASSERT(memcmp(o1, o2, 400 * sizeof *o1) != 0);   /* reshuffled */
    src.close(&src);
    /* without shuffle: file order, the test graphs 500..599 */
    memset(seen, 0, (size_t)gs.graphs * sizeof *seen);
    CU_ASSERT_EQUAL_FATAL(dl_source_graphset(&src, &gs, DL_SPLIT_TEST, 32, 0, 0), 0);
    CU_ASSERT_EQUAL(check_epoch(&src, &gs, 32, seen, o1), 100);
    int in_order = 1;
    for (int64_t i = 0; i < 100; i++) in_order &= o1[i] == 500 + i;
    CU_ASSERT(in_order);
    src.close(&src);
    free(seen);
    free(o1);
    free(o2);
    dl_graphset_free(&gs);
}

/* Three files from the strings given (NULL: the valid default), loaded; the
 * error must contain want. */
static void bad(const char *graphs, const char *nodes, const char *edges, const char *want)
{
    put("graphs.csv", graphs ? graphs : "label,split\n0,1\n1,2\n");
    put("nodes.csv", nodes ? nodes : "graph,f\n0,1\n0,2\n0,3\n1,1\n1,2\n1,3\n");
    put("edges.csv", edges ? edges : "source,target\n0,1\n1,2\n3,4\n4,5\n5,3\n");
    dl_graphset gs;
    const int rc = dl_graphset_load(dir, &gs);
    CU_ASSERT_EQUAL(rc, -1);
    if (rc == 0) dl_graphset_free(&gs);
    if (!strstr(dl_last_error(), want)) {
        fprintf(stderr, "\nwanted '%s' in '%s'\n", want, dl_last_error());
        CU_FAIL("the error does not name the fault");
    }
}

static void test_bad_files(void)
{
    put("graphs.csv", "label,split\n0,1\n1,2\n");
    put("nodes.csv", "graph,f\n0,1\n0,2\n0,3\n1,1\n1,2\n1,3\n");
    put("edges.csv", "source,target\n0,1\n1,2\n3,4\n4,5\n5,3\n");
    dl_graphset gs;
    CU_ASSERT_EQUAL_FATAL(dl_graphset_load(dir, &gs), 0);   /* the valid default */
    CU_ASSERT(gs.graphs == 2 && gs.nodes == 6 && gs.edges == 10 && gs.max_nodes == 3 && gs.max_edges == 6);
    CU_ASSERT(gs.edge_start[1] == 4 && gs.src[4] == 0 && gs.dst[4] == 1 && gs.src[9] == 0 && gs.dst[9] == 2);
    dl_graphset_free(&gs);
    bad("label,split\n0,1\n1,4\n", NULL, NULL, "graphs.csv:3: the split (0 none, 1 train, 2 val, 3 test) must be");
    bad("label,split\n-1,1\n1,2\n", NULL, NULL, "graphs.csv:2: the label must be an integer");
    bad("label,part\n0,1\n", NULL, NULL, "graphs.csv:1: the header must be label,split");
    bad("label,split\n0,2\n1,2\n", NULL, NULL, "graphs.csv: no graph has split 1 (train)");
    bad(NULL, "graph\n0\n0\n0\n1\n1\n1\n", NULL, "nodes.csv:1: the header must be graph, then one name per feature");
    bad(NULL, "graph,f\n0,1\n1,2\n0,3\n1,1\n1,2\n1,3\n", NULL, "nodes.csv:4: node 2 is in graph 0 after a node of graph 1");
    bad(NULL, "graph,f\n1,1\n1,2\n", NULL, "nodes.csv:2: the first node must be in graph 0, got 1");
    bad(NULL, "graph,f\n0,1\n0,2\n0,3\n", "source,target\n0,1\n", "nodes.csv: graph 1 has no node");
    bad(NULL, "graph,f\n0,1\n0,nan\n0,3\n1,1\n1,2\n1,3\n", NULL, "nodes.csv:3: feature 'f' of node 1 must be a finite float");
    bad(NULL, "graph,f\n0,1\n0,2\n0,3\n2,1\n", NULL, "nodes.csv:5: the graph must be an integer in [0, 2), got 2");
    bad(NULL, NULL, "source,target\n0,1\n2,3\n", "edges.csv:3: the edge 2-3 joins graph 0 to graph 1");
    bad(NULL, NULL, "source,target\n0,1\n1,0\n", "edges.csv:3: the edge 0-1 again (first on line 2)");
    bad(NULL, NULL, "source,target\n0,1\n4,4\n", "edges.csv:3: a self-loop on node 4");
    bad(NULL, NULL, "source,target\n0,6\n", "edges.csv:2: the target node must be an integer in [0, 6), got 6");
    bad(NULL, NULL, "source,target\n", "edges.csv: no edges");
    bad(NULL, NULL, "from,to\n0,1\n", "edges.csv:1: the header must start with source,target");
    bad(NULL, NULL, "source,target,w\n0,1,1\n1,2,nan\n", "edges.csv:3: feature 'w' of edge 1 must be a finite float");
    bad(NULL, NULL, "source,target,w\n0,1,1\n1,2\n", "edges.csv:3: 2 fields, but the header names 3 columns");
    /* edge features regrouped with their edges: graph 1's edges first in the file, graph 0's after */
    put("edges.csv", "source,target,w\n3,4,7\n0,1,1\n1,2,2\n4,5,8\n");
    CU_ASSERT_EQUAL_FATAL(dl_graphset_load(dir, &gs), 0);
    static const float want_attr[8] = {1, 1, 2, 2, 7, 7, 8, 8};
    CU_ASSERT(gs.edge_features == 1 && gs.edges == 8 && gs.edge_attr && !memcmp(gs.edge_attr, want_attr, sizeof want_attr));
    dl_graphset_free(&gs);
}

static int setup(void)
{
    strcpy(dir, "/tmp/dlnc_gset_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void)
{
    const char *names[] = {"graphs.csv", "nodes.csv", "edges.csv"};
    char path[128];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    return rmdir(dir);
}

void suite_rt_graphset(void)
{
    CU_pSuite s = CU_add_suite("rt_graphset", setup, teardown);
    CU_add_test(s, "the cycles set: sizes, splits, trees and one-cycle graphs", test_cycles);
    CU_add_test(s, "batches: disjoint unions, each graph once per epoch, reshuffled", test_batches);
    CU_add_test(s, "damaged graph, node and edge files: file:line errors", test_bad_files);
}
