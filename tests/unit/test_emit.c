/* test_emit.c — the back end end to end: fuse, plan, emit C, compile, run.
 *
 * Each case builds a small module by hand with ir.h's builder, runs the pass
 * pipeline, emits C into a temporary directory, compiles it with the same
 * strict flags users get (-Wall -Wextra -Werror) into a shared object linked
 * with libdlnrt.a, loads it with dlopen and compares what it computes with
 * the double-precision reference interpreter (relative tolerance 1e-4).
 * The memory plan is checked with plan_verify on every graph, and a tampered
 * plan must be caught by it. The MLP case compares a train_step's loss and
 * every gradient with the interpreter and checks that a few SGD steps lower
 * the loss; an out-of-range label must give NaN and an error, not a crash.
 *
 * The tests run from the repository root (runtime/dlnrt.h is found from the
 * working directory) and find libdlnrt.a beside the test binary. */
#include <CUnit/CUnit.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "dlnrt.h"
#include "emit.h"
#include "emit_internal.h"
#include "interp.h"
#include "ir.h"
#include "passes.h"
#include "emitted.h"

static ir_shape shp(int rank, const int64_t *d)
{
    ir_shape s = {0};
    s.rank = rank;
    for (int i = 0; i < rank; i++) s.d[i] = d[i] < 0 ? ir_dim_sym(IR_SYM_N) : ir_dim_const(d[i]);
    return s;
}
#define SHAPE(...) shp((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})
#define NN (-1) /* the batch dimension in SHAPE() */

static const src_loc noloc = {0};
static const ir_init zinit = {.kind = IR_INIT_ZEROS, .gain = 1};

/* Compiling and loading: emitted.h. */

/* ---- data and comparison ------------------------------------------------- */

static uint64_t rng_state = 12345;
static double urand(void) { return emitted_urand(&rng_state); }

static int64_t numel_at(const ir_shape *s, int64_t n)
{
    int64_t sv[IR_MAX_SYMS] = {n};
    return ir_dim_eval(ir_shape_numel(s), sv);
}

static int close_enough(const float *got, const double *want, int64_t count, const char *what)
{
    return emitted_close(got, want, count, 1e-4, what);
}

/* Parameters: random values written into the model (and as doubles for the interpreter). */
static double **random_params(const ir_module *m, const dl_model_api *api, void *inst)
{
    double **p = calloc((size_t)m->n_params + 1, sizeof *p);
    for (int i = 0; i < m->n_params; i++) {
        int64_t cnt = ir_shape_numel(&m->params[i].shape).k;
        p[i] = malloc(sizeof(double) * (size_t)cnt);
        float *w = api->param_data(inst, i);
        for (int64_t j = 0; j < cnt; j++) {
            w[j] = (float)(urand() * 2 - 1);
            p[i][j] = w[j];
        }
    }
    return p;
}

static void free_params(const ir_module *m, double **p)
{
    for (int i = 0; i < m->n_params; i++) free(p[i]);
    free(p);
}

/* The generated C of a built module (malloc'ed; NULL if unreadable). */
static char *read_c(const emitted *L, const ir_module *m)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s.c", L->dir, m->name);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *s = open_memstream(&text, &len);
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, got, s);
    fclose(f);
    fclose(s);
    return text;
}

/* Run forward on random x with batch n and compare with the interpreter;
 * the generated C goes to *c_text when asked for (free it). */
static void check_forward_c(ir_module *m, int64_t n, char **c_text)
{
    ir_graph *g = m->forward;
    emitted L;
    CU_ASSERT_FATAL(emitted_build(m, &L) == 0);
    if (c_text) *c_text = read_c(&L, m);
    void *inst = L.api->create(n + 2);
    CU_ASSERT_FATAL(inst != NULL);
    double **params = random_params(m, L.api, inst);
    int64_t xn = numel_at(&g->inputs[0].shape, n);
    float *x = malloc(sizeof(float) * (size_t)xn);
    double *xd = malloc(sizeof(double) * (size_t)xn);
    for (int64_t i = 0; i < xn; i++) xd[i] = x[i] = (float)(urand() * 4 - 2);
    int vo = -1;
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k].kind == IR_OUT_VALUE) vo = k;
    int64_t on = numel_at(&g->outputs[vo].node->shape, n);
    float *out = calloc((size_t)on, sizeof(float));
    L.api->forward(inst, x, out, n);

    interp_state s;
    int64_t sv[IR_MAX_SYMS] = {n};
    CU_ASSERT_FATAL(interp_run(&s, g, sv, &xd, params, 1) == 0);
    CU_ASSERT(close_enough(out, interp_output(&s, vo), on, m->name));
    interp_free(&s);
    free(out);
    free(x);
    free(xd);
    free_params(m, params);
    L.api->destroy(inst);
    emitted_unload(&L);
}

static void check_forward(ir_module *m, int64_t n) { check_forward_c(m, n, NULL); }

/* ---- cases --------------------------------------------------------------- */

static void test_table_complete(void) { CU_ASSERT(emit_check_table(stderr) == 0); }

/* relu(x * b + c) - exp(-x) * 0.5 + 1/(1+x^2) with b [4], c [3, 1] broadcast over x [N, 3, 4]. */
static void test_elementwise_broadcast(void)
{
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "ew");
    int pb = ir_module_add_param(m, "b", SHAPE(4), zinit, 1, noloc);
    int pc = ir_module_add_param(m, "c", SHAPE(3, 1), zinit, 1, noloc);
    ir_graph *g = m->forward = ir_graph_new(m, "forward", IR_MODE_EVAL);
    ir_shape xs = SHAPE(NN, 3, 4);
    ir_node *x = ir_input_node(g, "x", IR_F32, &xs, noloc);
    ir_node *b = ir_param_node(g, pb, noloc), *c = ir_param_node(g, pc, noloc);
    ir_node *h = ir_un(g, OP_relu, ir_bin(g, OP_add, ir_bin(g, OP_mul, x, b), c));
    ir_node *e = ir_bin(g, OP_mul, ir_un(g, OP_exp, ir_un(g, OP_neg, x)), ir_const(g, 0.5, NULL));
    ir_node *r = ir_bin(g, OP_div, ir_const(g, 1.0, NULL), ir_bin(g, OP_add, ir_const(g, 1.0, NULL), ir_bin(g, OP_mul, x, x)));
    ir_add_output(g, IR_OUT_VALUE, 0, "y", ir_bin(g, OP_add, ir_bin(g, OP_sub, h, e), r));
    check_forward(m, 5);
    /* the whole expression is one group: a single kernel writes the output */
    int groups = 0;
    for (int i = 0; i < g->n_nodes; i++) groups += g->nodes[i]->group == g->nodes[i]->id;
    CU_ASSERT(groups == 1);
    arena_free(&ar);
}

/* Elementwise groups over many broadcast patterns at once: per channel
 * [3, 1, 1], per plane [4, 5], per row [5], per sample [N, 1, 1, 1], a
 * reduction's [N, 3, 1, 5] and a column [4, 1] against x [N, 3, 4, 5]. The
 * loop nests index every operand without a division or modulo by the loop
 * index (those made the old flat loops slow and unvectorizable). */
static void test_broadcast_loop_nests(void)
{
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "bln");
    int pc = ir_module_add_param(m, "c", SHAPE(3, 1, 1), zinit, 1, noloc);
    int pp = ir_module_add_param(m, "p", SHAPE(4, 5), zinit, 1, noloc);
    int pr = ir_module_add_param(m, "r", SHAPE(5), zinit, 1, noloc);
    int pk = ir_module_add_param(m, "k", SHAPE(4, 1), zinit, 1, noloc);
    int ps = ir_module_add_param(m, "s", SHAPE(1), zinit, 1, noloc);
    ir_graph *g = m->forward = ir_graph_new(m, "forward", IR_MODE_EVAL);
    ir_shape xs = SHAPE(NN, 3, 4, 5);
    ir_node *x = ir_input_node(g, "x", IR_F32, &xs, noloc);
    ir_node *c = ir_param_node(g, pc, noloc), *p = ir_param_node(g, pp, noloc), *r = ir_param_node(g, pr, noloc);
    ir_node *k = ir_param_node(g, pk, noloc), *sc = ir_param_node(g, ps, noloc);
    ir_node *q = ir_reduce_sum(g, x, 2 | 4 | 8, 1);   /* [N, 1, 1, 1] */
    ir_node *a = ir_reduce_sum(g, x, 4, 1);           /* [N, 3, 1, 5] */
    ir_node *h = ir_un(g, OP_relu, ir_bin(g, OP_add, ir_bin(g, OP_mul, ir_bin(g, OP_sub, x, c), p), r));
    ir_node *t = ir_bin(g, OP_mul, ir_bin(g, OP_add, a, k), sc); /* [N, 3, 4, 5] by a and k alone */
    ir_node *y = ir_bin(g, OP_add, ir_bin(g, OP_mul, h, q), ir_bin(g, OP_mul, t, ir_bin(g, OP_mul, x, x)));
    ir_add_output(g, IR_OUT_VALUE, 0, "y", y);
    char *text = NULL;
    check_forward_c(m, 3, &text);
    check_forward(m, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NULL(strstr(text, "i / "));
    CU_ASSERT_PTR_NULL(strstr(text, "i % "));
    CU_ASSERT_PTR_NULL(strstr(text, "(i) % "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "collapse(")); /* outer dims as one parallel nest */
    free(text);
    arena_free(&ar);
}

/* Reductions with their elementwise input fused (pass_fuse rule 6), on every
 * loop shape of emit_reduce: batch-norm style statistics over (0, 2, 3)
 * (the variance of x - mean), a max over a middle axis of a broadcast
 * product, column sums of [N, 60] scaled per column, a sum of everything.
 * The fused inputs are never materialized: no kernel writes them. */
static void test_fused_reductions(void)
{
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "fred");
    int pp = ir_module_add_param(m, "p", SHAPE(4, 5), zinit, 1, noloc);
    int pw = ir_module_add_param(m, "w", SHAPE(60), zinit, 1, noloc);
    ir_graph *g = m->forward = ir_graph_new(m, "forward", IR_MODE_EVAL);
    ir_shape xs = SHAPE(NN, 3, 4, 5), fs = SHAPE(NN, 60), x4 = SHAPE(NN, 1, 4, 5), c4 = SHAPE(1, 3, 4, 5);
    ir_node *x = ir_input_node(g, "x", IR_F32, &xs, noloc);
    ir_node *p = ir_param_node(g, pp, noloc), *w = ir_param_node(g, pw, noloc);
    const uint32_t nhw = 1 | 4 | 8;
    ir_node *mean = ir_bin(g, OP_mul, ir_reduce_sum(g, x, nhw, 1), ir_const(g, 0.05, NULL));
    ir_node *d = ir_bin(g, OP_sub, x, mean);
    ir_node *var = ir_reduce_sum(g, ir_bin(g, OP_mul, d, d), nhw, 1);          /* [1, 3, 1, 1] */
    ir_attrs amax = {.i = {2, 1}, .ni = 2};
    ir_node *prod = ir_un(g, OP_relu, ir_bin(g, OP_mul, x, p));
    ir_node *mx = ir_op_attrs(g, OP_reduce_max, &prod, 1, &amax);               /* [N, 1, 4, 5] */
    ir_node *col = ir_reduce_sum(g, ir_bin(g, OP_mul, ir_reshape(g, x, &fs), w), 1, 0); /* [60] */
    ir_node *all = ir_reduce_sum(g, ir_un(g, OP_exp, ir_un(g, OP_neg, ir_bin(g, OP_mul, x, x))), 1 | 2 | 4 | 8, 0);
    ir_node *y = ir_bin(g, OP_add, ir_bin(g, OP_mul, d, var), ir_reshape(g, mx, &x4));
    y = ir_bin(g, OP_add, ir_bin(g, OP_add, y, ir_reshape(g, col, &c4)), all);
    ir_add_output(g, IR_OUT_VALUE, 0, "y", y);
    char *text = NULL;
    check_forward_c(m, 3, &text);
    check_forward(m, 1);
    int fused = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *v = g->nodes[i];
        if (v->op != OP_reduce_sum && v->op != OP_reduce_max) continue;
        if (v->group == v->id && v->in[0]->group == v->id) fused++;
    }
    CU_ASSERT_EQUAL(fused, 4); /* var, mx, col, all; not the mean (its input is x) */
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "_mul_reduce_sum("));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "_mul_relu_reduce_max("));
    free(text);
    arena_free(&ar);
}

/* Sibling reductions (pass_fuse rule 7) on each loop shape that takes
 * several outputs: batch-norm backward style sums over (0, 2, 3) — sum(g),
 * sum(g * x), sum(-(g * x) / s) — as one kernel with three outputs; column
 * sums of [N, 60]; whole-tensor sums (an OpenMP reduction over two
 * accumulators). A sum of x * sum(x) depends on its sibling and gets its own
 * kernel. Values vs the interpreter at batch 3 and 1. */
static void test_sibling_reductions(void)
{
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "sib");
    int pw = ir_module_add_param(m, "w", SHAPE(60), zinit, 1, noloc);
    int ps = ir_module_add_param(m, "s", SHAPE(1, 3, 1, 1), zinit, 1, noloc);
    ir_graph *g = m->forward = ir_graph_new(m, "forward", IR_MODE_EVAL);
    ir_shape xs = SHAPE(NN, 3, 4, 5), fs = SHAPE(NN, 60), c4 = SHAPE(1, 3, 4, 5);
    ir_node *x = ir_input_node(g, "x", IR_F32, &xs, noloc);
    ir_node *w = ir_param_node(g, pw, noloc), *sc = ir_param_node(g, ps, noloc);
    const uint32_t nhw = 1 | 4 | 8;
    ir_node *gr = ir_un(g, OP_tanh, x);                                  /* used by several sums */
    ir_node *b1 = ir_reduce_sum(g, gr, nhw, 1);                          /* [1, 3, 1, 1] */
    ir_node *b2 = ir_reduce_sum(g, ir_bin(g, OP_mul, gr, x), nhw, 1);
    ir_node *b3 = ir_reduce_sum(g, ir_un(g, OP_neg, ir_bin(g, OP_div, ir_bin(g, OP_mul, gr, x), sc)), nhw, 1);
    ir_node *dep = ir_reduce_sum(g, ir_bin(g, OP_mul, x, b1), nhw, 1);  /* depends on b1 */
    ir_node *xr = ir_reshape(g, x, &fs);
    ir_node *c1 = ir_reduce_sum(g, xr, 1, 0), *c2 = ir_reduce_sum(g, ir_bin(g, OP_mul, xr, w), 1, 0); /* [60] */
    const uint32_t all = 1 | 2 | 4 | 8;
    ir_node *a1 = ir_reduce_sum(g, gr, all, 0), *a2 = ir_reduce_sum(g, ir_un(g, OP_exp, ir_un(g, OP_neg, x)), all, 0);
    ir_node *y = ir_bin(g, OP_add, ir_bin(g, OP_mul, x, b1), ir_bin(g, OP_mul, gr, b2));
    y = ir_bin(g, OP_add, ir_bin(g, OP_add, y, b3), dep);
    y = ir_bin(g, OP_add, y, ir_bin(g, OP_mul, ir_reshape(g, c1, &c4), ir_reshape(g, c2, &c4)));
    y = ir_bin(g, OP_add, y, ir_bin(g, OP_sub, a1, a2));
    ir_add_output(g, IR_OUT_VALUE, 0, "y", y);
    char *text = NULL;
    check_forward_c(m, 3, &text);
    check_forward(m, 1);
    CU_ASSERT_PTR_EQUAL(b1->sibling, b1);
    CU_ASSERT_PTR_EQUAL(b2->sibling, b1);
    CU_ASSERT_PTR_EQUAL(b3->sibling, b1);
    CU_ASSERT_PTR_NOT_EQUAL(dep->sibling, b1);
    CU_ASSERT_PTR_EQUAL(c2->sibling, c1);
    CU_ASSERT_PTR_EQUAL(a2->sibling, a1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    const char *k3 = strstr(text, "_reduce_sum_x3(");
    CU_ASSERT_PTR_NOT_NULL(k3);                                   /* one kernel, three outputs */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "float *restrict y2,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "y1[c0 + i] = (float)acc1[i];")); /* column sums */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "part1[ch] = acc1;"));     /* whole-tensor sums, one chunk loop */
    int calls = 0; /* the three-output kernel is defined once and called once */
    for (const char *p = k3; p && (p = strstr(p + 1, "_reduce_sum_x3(")); ) calls++;
    CU_ASSERT_EQUAL(calls, 1);
    free(text);
    arena_free(&ar);
}

/* Batched matmuls with every transpose combination (folded and looped GEMMs). */
static void test_matmul_transposes(void)
{
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            arena ar = {0};
            char name[16];
            snprintf(name, sizeof name, "mm%d%d", ta, tb);
            ir_module *m = ir_module_new(&ar, name);
            /* x [N, 4, 3]: as a it is [4, 3], or [3, 4] transposed (M, K) */
            int64_t K = ta ? 4 : 3;
            int pw = ir_module_add_param(m, "w", tb ? SHAPE(5, K) : SHAPE(K, 5), zinit, 1, noloc);
            ir_graph *g = m->forward = ir_graph_new(m, "forward", IR_MODE_EVAL);
            ir_shape xs = SHAPE(NN, 4, 3);
            ir_node *x = ir_input_node(g, "x", IR_F32, &xs, noloc);
            ir_node *y = ir_matmul(g, x, ir_param_node(g, pw, noloc), ta, tb);
            /* and a 2-D product with a symbolic M: flatten x to [N, 12] @ v [12, 2], broadcast-added */
            ir_shape fs = SHAPE(NN, 12);
            int pv = ir_module_add_param(m, "v", SHAPE(12, 2), zinit, 1, noloc);
            ir_node *z = ir_matmul(g, ir_reshape(g, x, &fs), ir_param_node(g, pv, noloc), 0, 0);
            ir_shape zs = SHAPE(NN, 1, 1);
            ir_node *zsum = ir_reshape(g, ir_reduce_sum(g, z, 2, 1), &zs);
            ir_add_output(g, IR_OUT_VALUE, 0, "y", ir_bin(g, OP_add, y, zsum));
            check_forward(m, 3);
            arena_free(&ar);
        }
}

/* Sums and maxima over inner, outer and all-but-one axes; transposes. */
static void test_reductions_transpose(void)
{
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "red");
    ir_graph *g = m->forward = ir_graph_new(m, "forward", IR_MODE_EVAL);
    ir_shape xs = SHAPE(NN, 3, 4);
    ir_node *x = ir_input_node(g, "x", IR_F32, &xs, noloc);
    ir_attrs amax = {.i = {2, 0}, .ni = 2};
    ir_node *mx = ir_op_attrs(g, OP_reduce_max, &x, 1, &amax);             /* [N, 4] */
    ir_node *sm = ir_reduce_sum(g, x, 2, 0);                               /* [N, 4] */
    ir_node *over_n = ir_reduce_sum(g, x, 1 | 2, 1);                       /* [1, 1, 4] */
    ir_node *all = ir_reduce_sum(g, x, 1 | 2 | 4, 0);                      /* [] */
    ir_node *inner = ir_reduce_sum(g, x, 4, 1);                            /* [N, 3, 1] */
    ir_attrs perm = {.i = {0, 2, 1}, .ni = 3};
    ir_node *xt = ir_op_attrs(g, OP_transpose, &x, 1, &perm);              /* [N, 4, 3] */
    ir_node *t = ir_reduce_sum(g, ir_bin(g, OP_mul, xt, xt), 4, 0);        /* [N, 4] */
    ir_node *a = ir_bin(g, OP_add, ir_bin(g, OP_add, mx, sm), t);          /* [N, 4] */
    ir_node *b = ir_bin(g, OP_add, ir_bin(g, OP_mul, x, over_n), inner);   /* [N, 3, 4] */
    /* a is [N, 4]: bring it to [N, 1, 4] to broadcast over the 3 */
    ir_shape a3 = SHAPE(NN, 1, 4);
    ir_node *out = ir_bin(g, OP_add, ir_bin(g, OP_mul, b, all), ir_reshape(g, a, &a3));
    ir_add_output(g, IR_OUT_VALUE, 0, "y", out);
    check_forward(m, 4);
    arena_free(&ar);
}

/* softmax over the last axis and over a middle axis; log_softmax. */
static void test_softmax(void)
{
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "sm");
    ir_graph *g = m->forward = ir_graph_new(m, "forward", IR_MODE_EVAL);
    ir_shape xs = SHAPE(NN, 4, 3);
    ir_node *x = ir_input_node(g, "x", IR_F32, &xs, noloc);
    ir_attrs ax1 = {.i = {1}, .ni = 1}, ax2 = {.i = {2}, .ni = 1};
    ir_node *s1 = ir_op_attrs(g, OP_softmax, &x, 1, &ax1);
    ir_node *s2 = ir_op_attrs(g, OP_log_softmax, &x, 1, &ax2);
    ir_node *s3 = ir_op_attrs(g, OP_softmax, &x, 1, &ax2);
    ir_add_output(g, IR_OUT_VALUE, 0, "y", ir_bin(g, OP_add, ir_bin(g, OP_add, s1, s2), s3));
    check_forward(m, 3);
    arena_free(&ar);
}

/* A 6-8-3 MLP with cross-entropy: forward, eval_step, train_step. */
static ir_node *mlp_logits(ir_graph *g, ir_node *x)
{
    ir_node *w1 = ir_param_node(g, 0, noloc), *b1 = ir_param_node(g, 1, noloc);
    ir_node *w2 = ir_param_node(g, 2, noloc), *b2 = ir_param_node(g, 3, noloc);
    ir_node *h = ir_un(g, OP_relu, ir_bin(g, OP_add, ir_matmul(g, x, w1, 0, 1), b1));
    return ir_bin(g, OP_add, ir_matmul(g, h, w2, 0, 1), b2);
}

static ir_node *mlp_loss(ir_graph *g, ir_node *logits, ir_node *label)
{
    ir_attrs ax = {.i = {1}, .ni = 1};
    ir_node *ls = ir_op_attrs(g, OP_log_softmax, &logits, 1, &ax);
    ir_node *in[2] = {ls, label};
    ir_node *picked = ir_op_attrs(g, OP_pick, in, 2, NULL);
    return ir_bin(g, OP_mul, ir_reduce_sum(g, picked, 1, 0), ir_const(g, -0.25, NULL));
}

static ir_module *build_mlp(arena *ar)
{
    ir_module *m = ir_module_new(ar, "tmlp");
    ir_module_add_param(m, "fc1.weight", SHAPE(8, 6), zinit, 1, noloc);
    ir_module_add_param(m, "fc1.bias", SHAPE(8), zinit, 1, noloc);
    ir_module_add_param(m, "fc2.weight", SHAPE(3, 8), zinit, 1, noloc);
    ir_module_add_param(m, "fc2.bias", SHAPE(3), zinit, 1, noloc);
    ir_shape xs = SHAPE(NN, 6), ls = SHAPE(NN);
    ir_graph *f = m->forward = ir_graph_new(m, "forward", IR_MODE_EVAL);
    ir_add_output(f, IR_OUT_VALUE, 0, "y", mlp_logits(f, ir_input_node(f, "x", IR_F32, &xs, noloc)));
    ir_graph *e = m->eval_step = ir_graph_new(m, "eval_step", IR_MODE_EVAL);
    ir_node *ex = ir_input_node(e, "x", IR_F32, &xs, noloc), *el = ir_input_node(e, "label", IR_I32, &ls, noloc);
    ir_node *elog = mlp_logits(e, ex);
    ir_add_output(e, IR_OUT_VALUE, 0, "y", elog);
    ir_add_output(e, IR_OUT_LOSS, 0, "loss", mlp_loss(e, elog, el));
    ir_graph *t = m->train_step = ir_graph_new(m, "train_step", IR_MODE_TRAIN);
    ir_node *tx = ir_input_node(t, "x", IR_F32, &xs, noloc), *tl = ir_input_node(t, "label", IR_I32, &ls, noloc);
    ir_node *loss = mlp_loss(t, mlp_logits(t, tx), tl);
    ir_add_output(t, IR_OUT_LOSS, 0, "loss", loss);
    diag_ctx d;
    diag_init(&d, stderr);
    if (ad_differentiate(t, loss, NULL, 0, &d) != 0) return NULL;
    return m;
}

static void test_mlp_train(void)
{
    arena ar = {0};
    ir_module *m = build_mlp(&ar);
    CU_ASSERT_FATAL(m != NULL);
    emitted L;
    CU_ASSERT_FATAL(emitted_build(m, &L) == 0);
    const int64_t n = 4;
    CU_ASSERT(L.api->in_numel == 6 && L.api->out_numel == 3 && L.api->label_kind == DL_LABEL_CLASS);
    void *inst = L.api->create(8);
    CU_ASSERT_FATAL(inst != NULL);
    double **params = random_params(m, L.api, inst);
    float x[4 * 6];
    double xd[4 * 6], yd[4];
    int32_t y[4] = {0, 2, 1, 2};
    for (int i = 0; i < 24; i++) xd[i] = x[i] = (float)(urand() * 2 - 1);
    for (int i = 0; i < 4; i++) yd[i] = y[i];

    /* eval_step: loss and outputs */
    float out[12];
    float eloss = L.api->eval_step(inst, x, y, out, n);
    interp_state s;
    int64_t sv[IR_MAX_SYMS] = {n};
    double *ins[2] = {xd, yd};
    CU_ASSERT_FATAL(interp_run(&s, m->eval_step, sv, ins, params, 1) == 0);
    for (int k = 0; k < m->eval_step->n_outputs; k++) {
        const ir_output *o = &m->eval_step->outputs[k];
        if (o->kind == IR_OUT_LOSS) CU_ASSERT(close_enough(&eloss, interp_output(&s, k), 1, "eval loss"));
        if (o->kind == IR_OUT_VALUE) CU_ASSERT(close_enough(out, interp_output(&s, k), 12, "eval out"));
    }
    interp_free(&s);

    /* train_step: loss and every gradient */
    L.api->set_lr(inst, 0.2f);
    float loss0 = L.api->train_step(inst, x, y, n);
    CU_ASSERT_FATAL(interp_run(&s, m->train_step, sv, ins, params, 1) == 0);
    int grads = 0;
    for (int k = 0; k < m->train_step->n_outputs; k++) {
        const ir_output *o = &m->train_step->outputs[k];
        if (o->kind == IR_OUT_LOSS) CU_ASSERT(close_enough(&loss0, interp_output(&s, k), 1, "train loss"));
        if (o->kind == IR_OUT_GRAD) {
            grads++;
            CU_ASSERT(close_enough(L.api->grad_data(inst, o->index), interp_output(&s, k),
                                   ir_shape_numel(&m->params[o->index].shape).k, m->params[o->index].name));
        }
    }
    CU_ASSERT(grads == 4);
    interp_free(&s);

    /* a few more steps lower the loss */
    float loss = loss0;
    for (int i = 0; i < 20; i++) loss = L.api->train_step(inst, x, y, n);
    CU_ASSERT(loss < 0.5f * loss0);

    /* bad inputs: an out-of-range label and a too-large batch give NaN, not a crash */
    const char *(*last_error)(void) = (const char *(*)(void))dlsym(L.so, "dl_last_error");
    int32_t bad[4] = {0, 3, 1, 2};
    CU_ASSERT(isnan(L.api->train_step(inst, x, bad, n)));
    if (last_error) CU_ASSERT(strstr(last_error(), "label 3") != NULL);
    bad[1] = -1;
    CU_ASSERT(isnan(L.api->eval_step(inst, x, bad, NULL, n)));
    CU_ASSERT(isnan(L.api->train_step(inst, x, y, 9)));

    free_params(m, params);
    L.api->destroy(inst);
    emitted_unload(&L);
    arena_free(&ar);
}

/* plan_verify catches overlapping live buffers. */
/* The serial twin (emit_serial.c): a body whose directives all test the
 * batch or symbol sizes becomes `if (conds) { body } else { body without
 * directives }`; a directive without if(), or whose if() names a variable
 * of the body, leaves the body as it was, and so does a body with none. */
static void test_serial_twin(void)
{
    arena ar = {0};
    emit_ctx c = {.ar = &ar};
    const char *body = "    #pragma omp parallel for schedule(static) if((128 * n) >= 256)\n"
                       "    for (int64_t i = 0; i < (128 * n); i++)\n"
                       "        y[i] = x0[i];\n"
                       "    #pragma omp parallel for schedule(static) collapse(2) if(sym1 >= DL_GEMM_PARALLEL_FLOPS)\n"
                       "    for (int64_t j = 0; j < sym1; j++)\n"
                       "        y[j] += 1.0f;\n";
    const char *want = "    if (((128 * n) >= 256) || (sym1 >= DL_GEMM_PARALLEL_FLOPS)) {\n"
                       "        #pragma omp parallel for schedule(static) if((128 * n) >= 256)\n"
                       "        for (int64_t i = 0; i < (128 * n); i++)\n"
                       "            y[i] = x0[i];\n"
                       "        #pragma omp parallel for schedule(static) collapse(2) if(sym1 >= DL_GEMM_PARALLEL_FLOPS)\n"
                       "        for (int64_t j = 0; j < sym1; j++)\n"
                       "            y[j] += 1.0f;\n"
                       "    } else { /* below every threshold: no OpenMP region */\n"
                       "        for (int64_t i = 0; i < (128 * n); i++)\n"
                       "            y[i] = x0[i];\n"
                       "        for (int64_t j = 0; j < sym1; j++)\n"
                       "            y[j] += 1.0f;\n"
                       "    }\n";
    CU_ASSERT_STRING_EQUAL(emit_serial_twin(&c, body), want);
    static const char *const unchanged[] = {
        "    #pragma omp parallel for schedule(static)\n    for (int64_t i = 0; i < 9; i++) y[i] = 0;\n",
        "    const int64_t rows = n * 3;\n    #pragma omp parallel for schedule(static) if(rows >= 64)\n"
        "    for (int64_t i = 0; i < rows; i++) y[i] = 0;\n",
        "    for (int64_t i = 0; i < n; i++) y[i] = 0;\n",
    };
    for (size_t k = 0; k < sizeof unchanged / sizeof *unchanged; k++)
        CU_ASSERT_STRING_EQUAL(emit_serial_twin(&c, unchanged[k]), unchanged[k]);
    c.serial = 1; /* a conv epilogue's kernel has no directives to twin */
    CU_ASSERT_STRING_EQUAL(emit_serial_twin(&c, body), body);
    arena_free(&ar);
}

static void test_plan_verify_catches_overlap(void)
{
    arena ar = {0};
    ir_module *m = build_mlp(&ar);
    CU_ASSERT_FATAL(m != NULL);
    ir_graph *g = m->train_step;
    CU_ASSERT_FATAL(passes_run(g, NULL, NULL, 1) == 0);
    CU_ASSERT(plan_verify(g, NULL));
    /* move an arena buffer onto one it reads, which is live at the same time */
    ir_node *a = NULL, *b = NULL;
    for (int i = 0; i < g->n_nodes && !b; i++) {
        ir_node *n = g->nodes[i];
        if (n->storage != IR_STORE_ARENA || ir_shape_numel(&n->shape).syms != 1) continue;
        for (int k = 0; k < n->nin && !b; k++) {
            ir_node *in = n->in[k];
            if (in->storage == IR_STORE_ARENA && ir_shape_numel(&in->shape).syms == 1 && in->offset != n->offset)
                a = in, b = n;
        }
    }
    if (a && b) {
        b->offset = a->offset;
        CU_ASSERT(!plan_verify(g, NULL));
    } else {
        CU_FAIL("no pair of live buffers to tamper with");
    }
    arena_free(&ar);
}

/* ---- data movement (ops_movement.c, emit_movement.c) ----------------------- */

static ir_node *mv_op(ir_graph *g, ir_opcode op, ir_node *x, const int64_t *i, int ni, double value)
{
    ir_attrs a = {.ni = ni, .f = {value}, .nf = 1};
    for (int k = 0; k < ni; k++) a.i[k] = i[k];
    return ir_op_attrs(g, op, &x, 1, &a);
}
#define MV(op, x, ...) mv_op(g, op, x, (int64_t[]){__VA_ARGS__}, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), 0.5)

/* Every mode of pad, slice, upsample and their adjoints applied to x, each
 * flattened to [N, -1] and all joined by concat (two chained, > 16 parts). */
static void test_movement_ops(void)
{
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "mv");
    ir_graph *g = m->forward = ir_graph_new(m, "forward", IR_MODE_EVAL);
    ir_shape xs = SHAPE(NN, 2, 6, 8);
    ir_node *x = ir_input_node(g, "x", IR_F32, &xs, noloc);
    ir_node *parts[] = {
        MV(OP_pad, x, 0, 2, 1, 2, 0, 3),             /* constant, value 0.5 */
        MV(OP_pad, x, 1, 2, 2, 3, 1, 4),             /* reflect */
        MV(OP_pad, x, 2, 3, 1, 1, 2, 0, 0, 1),       /* replicate, 3 dims */
        MV(OP_pad, x, 0, 2, -1, 2, 1, -2),           /* negative pads crop */
        MV(OP_pad, x, 1, 1, 7, 0),                   /* reflect, one dim */
        MV(OP_pad_grad, x, 1, 2, 1, 1, 2, 1),
        MV(OP_pad_grad, x, 2, 2, 2, 1, 1, 1),
        MV(OP_pad_grad, x, 0, 2, 1, -1, -1, 2),
        MV(OP_slice, x, 3, 1, 3, 3),
        MV(OP_slice, x, 1, 1, 1, 1),
        MV(OP_slice, x, 2, 2, 1, 3),
        MV(OP_slice_grad, x, 2, 1, 2, 13),
        MV(OP_slice_grad, x, 3, 2, 1, 11),
        MV(OP_upsample, x, 0, 2, 2, 0),
        MV(OP_upsample, x, 0, 3, 1, 0),
        MV(OP_upsample, x, 1, 2, 2, 0),
        MV(OP_upsample, x, 1, 3, 2, 1),
        MV(OP_upsample_grad, x, 0, 2, 2, 0),
        MV(OP_upsample_grad, x, 0, 3, 4, 0),
        MV(OP_upsample_grad, x, 1, 2, 2, 0),
        MV(OP_upsample_grad, x, 1, 3, 2, 1),
    };
    enum { NP = sizeof parts / sizeof parts[0] };
    ir_node *flat[NP];
    for (int k = 0; k < NP; k++) {
        CU_ASSERT_FATAL(parts[k] != NULL);
        ir_dim per = ir_shape_numel(&parts[k]->shape);
        ir_shape fs = {.rank = 2, .d = {ir_dim_sym(IR_SYM_N), ir_dim_const(per.k)}};
        flat[k] = ir_reshape(g, parts[k], &fs);
    }
    ir_attrs ax1 = {.i = {1}, .ni = 1};
    ir_node *first = ir_op_attrs(g, OP_concat, flat, IR_MAX_IN, &ax1);
    ir_node *rest[NP - IR_MAX_IN + 1] = {first};
    for (int k = IR_MAX_IN; k < NP; k++) rest[k - IR_MAX_IN + 1] = flat[k];
    ir_add_output(g, IR_OUT_VALUE, 0, "y", ir_op_attrs(g, OP_concat, rest, NP - IR_MAX_IN + 1, &ax1));
    check_forward(m, 3);
    arena_free(&ar);

    /* Batch-free tensors (a parameter): the outer loops vanish. */
    arena ar2 = {0};
    m = ir_module_new(&ar2, "mvw");
    g = m->forward = ir_graph_new(m, "forward", IR_MODE_EVAL);
    ir_shape ws = SHAPE(3, 4), xs2 = SHAPE(NN, 6);
    int wi = ir_module_add_param(m, "w", ws, zinit, 1, noloc);
    x = ir_input_node(g, "x", IR_F32, &xs2, noloc);
    ir_node *w = ir_param_node(g, wi, noloc);
    ir_attrs ax0 = {.i = {0}, .ni = 1};
    ir_node *cw[2] = {w, MV(OP_slice, w, 0, 1, 1, 2)};
    ir_node *c = ir_op_attrs(g, OP_concat, cw, 2, &ax0);        /* [5, 4] */
    ir_node *pc = MV(OP_pad, c, 0, 1, 1, 1);                    /* [5, 6] */
    ir_add_output(g, IR_OUT_VALUE, 0, "y", ir_matmul(g, x, pc, 0, 1));
    check_forward(m, 2);
    arena_free(&ar2);
}
#undef MV

void suite_emit(void)
{
    CU_pSuite s = CU_add_suite("emit", NULL, NULL);
    CU_add_test(s, "every op has an emitter", test_table_complete);
    CU_add_test(s, "fused elementwise with broadcasting", test_elementwise_broadcast);
    CU_add_test(s, "loop nests over broadcast operands", test_broadcast_loop_nests);
    CU_add_test(s, "reductions with their input fused", test_fused_reductions);
    CU_add_test(s, "sibling reductions: one kernel, several outputs", test_sibling_reductions);
    CU_add_test(s, "matmul, all transposes, batched", test_matmul_transposes);
    CU_add_test(s, "reductions and transpose", test_reductions_transpose);
    CU_add_test(s, "softmax and log_softmax", test_softmax);
    CU_add_test(s, "MLP train_step vs interpreter", test_mlp_train);
    CU_add_test(s, "serial twin of size-conditional kernels", test_serial_twin);
    CU_add_test(s, "plan_verify catches overlaps", test_plan_verify_catches_overlap);
    CU_add_test(s, "data movement: concat, slice, pad, upsample and adjoints", test_movement_ops);
}
