/* test_rt_graph.c — graphs (runtime/graph_read.c, graph_sbm.c) and the
 * stdlib's graph layers (stdlib/graph.dln):
 *   - the karate club as shipped: 34 nodes, 78 edges both ways, the
 *     published degree sequence, the two factions, the split;
 *   - damaged node and edge files: each an error naming file and line;
 *   - the stochastic block model: the same seed gives the same graph,
 *     another seed another; edges symmetric, within range, no self-loop,
 *     mostly inside the blocks; splits of the asked sizes;
 *   - gcn_conv and sage_conv: every parameter's gradient of a masked
 *     node-classification loss against central differences, on the
 *     reference interpreter (the parity suite holds them to PyTorch). */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiled.h"
#include "dlnrt.h"
#include "files.h"
#include "interp.h"

static char dir[64];

static void put(const char *name, const char *text)
{
    CU_ASSERT_EQUAL_FATAL(test_write_text(dir, name, text), 0);
}
/* ---- the karate club ------------------------------------------------------ */

static void test_karate(void)
{
    dl_graph g;
    CU_ASSERT_EQUAL_FATAL(dl_graph_load("samples/data/karate", &g), 0);
    CU_ASSERT_EQUAL(g.nodes, 34);
    CU_ASSERT_EQUAL(g.edges, 2 * 78);
    CU_ASSERT_EQUAL(g.features, 34);   /* no feature columns: the one-hot identity */
    CU_ASSERT_EQUAL(g.classes, 2);
    /* Zachary's degree sequence, nodes 0..33 (networkx karate_club_graph().degree) */
    static const int want[34] = {16, 9, 10, 6, 3, 4, 4, 4, 5, 2, 3, 1, 2, 5, 2, 2, 2,
                                 2,  2, 3,  2, 2, 2, 5, 3, 3, 2, 4, 3, 4, 4, 6, 12, 17};
    int deg[34] = {0}, ok = 1;
    for (int64_t e = 0; e < g.edges; e++) deg[g.dst[e]]++;
    for (int v = 0; v < 34; v++) ok &= deg[v] == want[v];
    CU_ASSERT_TRUE(ok);
    /* each undirected edge both ways, side by side */
    for (int64_t e = 0; e < g.edges; e += 2) ok &= g.src[e] == g.dst[e + 1] && g.dst[e] == g.src[e + 1];
    CU_ASSERT_TRUE(ok);
    int hi = 0, diag = 1;
    for (int v = 0; v < 34; v++) {
        hi += g.label[v] == 0;
        for (int f = 0; f < 34; f++) diag &= g.x[v * 34 + f] == (v == f);
    }
    CU_ASSERT_EQUAL(hi, 17);
    CU_ASSERT_TRUE(diag);
    CU_ASSERT(g.label[0] == 0 && g.label[33] == 1 && g.label[8] == 0 && g.label[9] == 1);
    CU_ASSERT(g.count[DL_SPLIT_TRAIN] == 4 && g.count[DL_SPLIT_VAL] == 6 && g.count[DL_SPLIT_TEST] == 24);
    dl_graph_free(&g);
}

/* ---- damaged files ------------------------------------------------------------ */

static void expect_error(const char *nodes, const char *edges, const char *want)
{
    put("nodes.csv", nodes);
    put("edges.csv", edges);
    dl_graph g;
    dl_clear_error();
    int rc = dl_graph_load(dir, &g);
    CU_ASSERT_EQUAL(rc, -1);
    char full[256];
    snprintf(full, sizeof full, "%s/%s", dir, want);
    if (rc != -1 || !strstr(dl_last_error(), full))
        printf("\n  want \"%s\"\n  got  \"%s\"", full, rc ? dl_last_error() : "(loaded)");
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), full));
    if (rc == 0) dl_graph_free(&g);
}

static void test_bad_files(void)
{
    const char *nodes = "label,split,a,b\n0,1,0.5,1\n1,1,2,3\n0,3,1,1\n";
    const char *edges = "source,target\n0,1\n1,2\n";
    put("nodes.csv", nodes);
    put("edges.csv", edges);
    dl_graph g;
    CU_ASSERT_EQUAL_FATAL(dl_graph_load(dir, &g), 0);
    CU_ASSERT(g.nodes == 3 && g.features == 2 && g.edges == 4 && g.x[3] == 3.0f);
    dl_graph_free(&g);
    expect_error("lbl,split\n0,1\n", edges, "nodes.csv:1: the header must start with label,split");
    expect_error("label,split,a\n0,1,0.5\n1,1\n", edges, "nodes.csv:3:");
    expect_error("label,split\n0,1\n1.5,1\n0,0\n", edges, "nodes.csv:3: the label must be an integer in [0, 1000000), got 1.5");
    expect_error("label,split\n0,1\n-1,1\n0,0\n", edges, "nodes.csv:3: the label must be an integer");
    expect_error("label,split\n0,1\n1,4\n0,0\n", edges, "nodes.csv:3: the split (0 none, 1 train, 2 val, 3 test)");
    expect_error("label,split,a\n0,1,nan\n1,1,2\n0,0,1\n", edges, "nodes.csv:2: feature 'a' of node 0 must be a finite float");
    expect_error("label,split\n0,1\n1,x\n0,0\n", edges, "nodes.csv:3:");
    expect_error("label,split\n0,2\n1,3\n0,0\n", edges, "nodes.csv: no node has split 1 (train)");
    expect_error("label,split\n", edges, "nodes.csv: no nodes");
    expect_error(nodes, "src,dst\n0,1\n", "edges.csv:1: the header must start with source,target");
    /* edge features: the columns after source,target, both directions alike */
    put("nodes.csv", nodes);
    put("edges.csv", "source,target,bond,w\n0,1,1,-0.5\n2,1,2,0.25\n");
    CU_ASSERT_EQUAL_FATAL(dl_graph_load(dir, &g), 0);
    CU_ASSERT(g.edge_features == 2 && g.edges == 4 && g.edge_attr);
    static const float want_attr[8] = {1, -0.5f, 1, -0.5f, 2, 0.25f, 2, 0.25f};
    CU_ASSERT(g.edge_attr && !memcmp(g.edge_attr, want_attr, sizeof want_attr));
    dl_graph_free(&g);
    expect_error(nodes, "source,target,w\n0,1,0.5\n1,2,inf\n", "edges.csv:3: feature 'w' of edge 1 must be a finite float, got inf");
    expect_error(nodes, "source,target,w\n0,1,0.5\n1,2,heavy\n", "edges.csv:3: column 3 (w): 'heavy' is not a number");
    expect_error(nodes, "source,target,w\n0,1,0.5\n1,2\n", "edges.csv:3: 2 fields, but the header names 3 columns");
    expect_error(nodes, "source,target\n0,3\n", "edges.csv:2: the target node must be an integer in [0, 3), got 3");
    expect_error(nodes, "source,target\n0,1\n-1,2\n", "edges.csv:3: the source node must be an integer");
    expect_error(nodes, "source,target\n0,1\n2,2\n", "edges.csv:3: a self-loop on node 2");
    expect_error(nodes, "source,target\n0,1\n1,2\n1,0\n", "edges.csv:4: the edge 0-1 again (first on line 2)");
    expect_error(nodes, "source,target\n", "edges.csv: no edges");
    expect_error(nodes, "source,target\n0,1,2\n", "edges.csv:2:");
    char missing[128];
    snprintf(missing, sizeof missing, "%s/edges.csv", dir);
    unlink(missing);
    dl_clear_error();
    CU_ASSERT_EQUAL(dl_graph_load(dir, &g), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "edges.csv"));
}

/* ---- the stochastic block model ------------------------------------------------- */

static dl_data_config sbm_config(uint64_t seed)
{
    return (dl_data_config){.graph_nodes = 600, .graph_classes = 3, .graph_features = 8, .p_in = 0.05f,
                            .p_out = 0.005f, .noise = 1.0f, .train_per_class = 10, .graph_val = 100,
                            .graph_test = 200, .graph_seed = seed};
}

static int same_graph(const dl_graph *a, const dl_graph *b)
{
    return a->edges == b->edges && !memcmp(a->src, b->src, (size_t)a->edges * 4) &&
           !memcmp(a->dst, b->dst, (size_t)a->edges * 4) && !memcmp(a->x, b->x, (size_t)(a->nodes * a->features) * 4) &&
           !memcmp(a->split, b->split, (size_t)a->nodes);
}

static void test_sbm(void)
{
    dl_data_config dc = sbm_config(5);
    dl_graph a, b, c;
    CU_ASSERT_EQUAL_FATAL(dl_graph_sbm(&dc, &a), 0);
    CU_ASSERT_EQUAL_FATAL(dl_graph_sbm(&dc, &b), 0);
    dc.graph_seed = 6;
    CU_ASSERT_EQUAL_FATAL(dl_graph_sbm(&dc, &c), 0);
    CU_ASSERT_TRUE(same_graph(&a, &b));
    CU_ASSERT_FALSE(same_graph(&a, &c));
    /* expected undirected edges: 0.05 * 3 * C(200, 2) + 0.005 * 3 * 200^2 = 2985 + 600 */
    const double want = 0.05 * 3 * 200 * 199 / 2 + 0.005 * 3 * 200 * 200;
    CU_ASSERT(fabs(a.edges / 2 - want) < 5 * sqrt(want));
    int64_t inside = 0;
    int ok = 1;
    for (int64_t e = 0; e < a.edges; e += 2) {
        ok &= a.src[e] >= 0 && a.src[e] < 600 && a.dst[e] >= 0 && a.dst[e] < 600 && a.src[e] != a.dst[e];
        ok &= a.src[e] == a.dst[e + 1] && a.dst[e] == a.src[e + 1];
        inside += a.label[a.src[e]] == a.label[a.dst[e]];
    }
    CU_ASSERT_TRUE(ok);
    CU_ASSERT(inside > 0.75 * a.edges / 2);
    CU_ASSERT(a.label[0] == 0 && a.label[199] == 0 && a.label[200] == 1 && a.label[599] == 2);
    CU_ASSERT(a.count[DL_SPLIT_TRAIN] == 30 && a.count[DL_SPLIT_VAL] == 100 && a.count[DL_SPLIT_TEST] == 200);
    int per[3] = {0};
    for (int v = 0; v < 600; v++) per[a.label[v]] += a.split[v] == DL_SPLIT_TRAIN;
    CU_ASSERT(per[0] == 10 && per[1] == 10 && per[2] == 10);
    /* features: nearer their own class's mean than another's, on average */
    double own = 0, other = 0;
    for (int v = 0; v < 200; v++)
        for (int f = 0; f < 8; f++) {
            own += fabs(a.x[v * 8 + f] - a.x[(v + 1) % 200 * 8 + f]);
            other += fabs(a.x[v * 8 + f] - a.x[(v + 200) * 8 + f]);
        }
    CU_ASSERT(own < other);
    dl_graph_free(&a), dl_graph_free(&b), dl_graph_free(&c);
    dc.train_per_class = 300;
    CU_ASSERT_EQUAL(dl_graph_sbm(&dc, &a), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "more than the 600 nodes"));
}

/* ---- gradients of the graph layers ----------------------------------------------- */

static const char *gnn_src =
    "model m(features: f32[N, V, 3], src: i32[N, E], dst: i32[N, E]) -> f32[N, V, 2] {\n"
    "    h = gcn_conv(features, src, dst, 4, name = \"conv1\") |> tanh\n"
    "    h = sage_conv(h, src, dst, 3) |> tanh\n"
    "    return gcn_conv(h, src, dst, 2, name = \"conv2\")\n"
    "}\n"
    "train m {\n"
    "    data = graph(\"unused\")\n"
    "    loss = cross_entropy(output, label, mask = mask)\n"
    "    optim = sgd(lr = 0.1)\n"
    "}\n";

enum { GV = 6, GE = 9 };

static double gnn_loss(const ir_graph *g, double *const *ins, double *const *params, int lo, const int64_t *syms)
{
    interp_state s;
    CU_ASSERT_EQUAL_FATAL(interp_run(&s, g, syms, ins, params, 1), 0);
    double l = interp_output(&s, lo)[0];
    interp_free(&s);
    return l;
}

static void test_gnn_gradcheck(void)
{
    compiled c;
    compiled_init(&c, gnn_src);
    if (!c.mod) printf("\n%s", c.diags);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    ir_graph *g = c.mod->train_step;
    CU_ASSERT_EQUAL_FATAL(g->n_inputs, 5);   /* features, src, dst, then the fields label and mask */
    /* a graph with a repeated edge, a node nothing reaches (5) and one with no edge out (4) */
    double x[GV * 3], src[GE] = {0, 1, 2, 3, 1, 2, 0, 3, 0}, dst[GE] = {1, 0, 3, 2, 2, 1, 3, 4, 1};
    double label[GV] = {0, 1, 1, 0, 1, 0}, mask[GV] = {1, 1, 0, 1, 1, 1};
    dl_rng r;
    dl_rng_seed(&r, 11);
    for (int i = 0; i < GV * 3; i++) x[i] = 2 * (double)dl_rng_uniform(&r) - 1;
    double *ins[5] = {x, src, dst, label, mask};
    double **params = calloc((size_t)c.mod->n_params, sizeof *params);
    for (int p = 0; p < c.mod->n_params; p++) {
        int64_t k = ir_shape_numel(&c.mod->params[p].shape).k;
        params[p] = malloc(sizeof(double) * (size_t)k);
        for (int64_t i = 0; i < k; i++) params[p][i] = (double)dl_rng_uniform(&r) - 0.5;
    }
    const int64_t syms[IR_MAX_SYMS] = {1, GV, GE, 1, 1, 1, 1, 1};
    int lo = -1;
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i].kind == IR_OUT_LOSS) lo = i;
    CU_ASSERT_FATAL(lo >= 0);
    interp_state s;
    CU_ASSERT_EQUAL_FATAL(interp_run(&s, g, syms, ins, params, 1), 0);
    int checked = 0;
    for (int p = 0; p < c.mod->n_params; p++) {
        int go = -1;
        for (int i = 0; i < g->n_outputs; i++)
            if (g->outputs[i].kind == IR_OUT_GRAD && g->outputs[i].index == p) go = i;
        CU_ASSERT_FATAL(go >= 0);
        const double *analytic = interp_output(&s, go);
        int64_t k = ir_shape_numel(&c.mod->params[p].shape).k;
        for (int64_t i = 0; i < k; i++) {
            const double h = 1e-6, w0 = params[p][i];
            params[p][i] = w0 + h;
            const double lp = gnn_loss(g, ins, params, lo, syms);
            params[p][i] = w0 - h;
            const double lm = gnn_loss(g, ins, params, lo, syms);
            params[p][i] = w0;
            const double numeric = (lp - lm) / (2 * h), err = fabs(analytic[i] - numeric) / fmax(1, fabs(numeric));
            if (err > 1e-6)
                printf("\n  d/d%s[%lld] analytic %.10g numeric %.10g", c.mod->params[p].name, (long long)i, analytic[i],
                       numeric);
            CU_ASSERT(err <= 1e-6);
            checked++;
        }
    }
    /* conv1 (3x4 + 4), sage (4x3 + 3 + 4x3), conv2 (3x2 + 2) */
    CU_ASSERT_EQUAL(checked, 16 + 27 + 8);
    interp_free(&s);
    for (int p = 0; p < c.mod->n_params; p++) free(params[p]);
    free(params);
    compiled_free(&c);
}

static int setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/dlnrt_graph_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/nodes.csv", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/edges.csv", dir);
    unlink(path);
    return rmdir(dir);
}

void suite_rt_graph(void)
{
    CU_pSuite s = CU_add_suite("rt_graph", setup, teardown);
    CU_add_test(s, "karate club: 78 edges, degrees, factions, split", test_karate);
    CU_add_test(s, "damaged node and edge files: file:line errors; edge feature columns", test_bad_files);
    CU_add_test(s, "stochastic block model: seeded, symmetric, blocks, splits", test_sbm);
    CU_add_test(s, "gcn_conv and sage_conv: gradients against central differences", test_gnn_gradcheck);
}
