/* test_attention_match.c — pass_attention: causal multi-head attention
 * written from primitives (heads by reshape and transpose, q @ kᵀ / c, a
 * where(tril) mask with -1e9, softmax, @ v) becomes one attention node with
 * heads, scale and causal; its value and its gradients (autodiff after the
 * pass, so the fused op's VJP) equal the primitives' in double precision, and
 * the fused graph's gradients agree with central differences of its loss.
 * Near misses keep the primitives: an upper triangular mask, a fill that
 * does not underflow, softmax over the queries, scores used again. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <string.h>

#include "autodiff.h"
#include "interp.h"
#include "ir.h"
#include "passes.h"

enum { T = 4, H = 2, HD = 3, E = H * HD, BATCH = 2 };
enum variant { MATCH, MISS_TRIU, MISS_FILL, MISS_AXIS, MISS_REUSE };

static ir_node *iota(ir_graph *g, int64_t rows, int64_t cols, int axis) {
    ir_shape s = {2, {{rows, 0}, {cols, 0}}};
    ir_attrs a = {.iota = {.axis = axis, .start = 0, .step = 1}, .nf = 2};
    ir_attrs_set_shape(&a, 2, &s);
    return ir_op_attrs(g, OP_iota, NULL, 0, &a);
}

/* [N, T, E] -> [N, H, T, HD] */
static ir_node *heads(ir_graph *g, ir_node *x) {
    ir_shape s = {4, {{1, 1}, {T, 0}, {H, 0}, {HD, 0}}};
    ir_attrs p = {.transpose = {.perm = {0, 2, 1, 3}}, .ni = 4};
    ir_node *r = ir_reshape(g, x, &s);
    return ir_op_attrs(g, OP_transpose, &r, 1, &p);
}

/* loss = sum(attention(q, k, v) * r), written from primitives. */
static ir_graph *composed(arena *ar, enum variant var, int differentiate, int fuse) {
    ir_module *m = ir_module_new(ar, "m");
    ir_graph *g = ir_graph_new(m, "train_step", IR_MODE_TRAIN);
    const ir_shape xs = {3, {{1, 1}, {T, 0}, {E, 0}}}, rs = {4, {{1, 1}, {H, 0}, {T, 0}, {HD, 0}}};
    ir_node *q = heads(g, ir_input_node(g, "q", IR_F32, &xs, (src_loc){0}));
    ir_node *k = heads(g, ir_input_node(g, "k", IR_F32, &xs, (src_loc){0}));
    ir_node *v = heads(g, ir_input_node(g, "v", IR_F32, &xs, (src_loc){0}));
    ir_node *r = ir_input_node(g, "r", IR_F32, &rs, (src_loc){0});
    ir_node *s = ir_bin(g, OP_div, ir_matmul(g, q, k, 0, 1), ir_const(g, sqrt((double)HD), NULL));
    ir_node *keep = ir_bin(g, var == MISS_TRIU ? OP_le : OP_ge, iota(g, T, 1, 0), iota(g, 1, T, 1));
    ir_shape ts = {2, {{T, 0}, {T, 0}}};
    ir_node *w[3] = {keep, s, ir_const(g, var == MISS_FILL ? -1e3 : -1e9, &ts)};
    ir_node *masked = ir_op_attrs(g, OP_where, w, 3, NULL);
    ir_attrs ax = {.softmax = {.axis = var == MISS_AXIS ? 2 : 3}, .ni = 1};
    ir_node *y = ir_matmul(g, ir_op_attrs(g, OP_softmax, &masked, 1, &ax), v, 0, 0);
    ir_node *loss = ir_reduce_sum(g, ir_bin(g, OP_mul, y, r), 15, 0);
    if (var == MISS_REUSE) loss = ir_bin(g, OP_add, loss, ir_reduce_sum(g, s, 15, 0));
    ir_add_output(g, IR_OUT_LOSS, 0, "loss", loss);
    if (fuse) pass_attention(g);
    int wrt[3] = {0, 1, 2};
    if (differentiate) CU_ASSERT_FATAL(ad_differentiate(g, loss, wrt, 3, NULL) == 0);
    pass_dce(g);
    CU_ASSERT_FATAL(ir_verify(g));
    return g;
}

static int count_op(const ir_graph *g, ir_opcode op) {
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i]->op == op;
    return n;
}

static const int64_t SYM[IR_MAX_SYMS] = {BATCH, 1, 1, 1, 1, 1, 1, 1};
enum { NX = BATCH * T * E, NR = BATCH * H * T * HD };

static void fill(double *q, double *k, double *v, double *r) {
    for (int i = 0; i < NX; i++) /* scores of order 1, distinct per row */
        q[i] = sin(0.7 * i + 0.3), k[i] = cos(1.3 * i - 0.2), v[i] = sin(0.37 * i * i + 1);
    for (int i = 0; i < NR; i++) r[i] = cos(2.1 * i + 0.5);
}

/* The loss and gradients of g's outputs (loss first, then dq, dk, dv). */
static double run(const ir_graph *g, double *const *ins, double *grads) {
    interp_state st;
    CU_ASSERT_FATAL(interp_run(&st, g, SYM, ins, NULL, 1) == 0);
    double loss = 0;
    for (int o = 0; o < g->n_outputs; o++) {
        const double *val = interp_output(&st, o);
        if (g->outputs[o].kind == IR_OUT_LOSS) loss = val[0];
        else if (grads) memcpy(grads + (size_t)g->outputs[o].index * NX, val, sizeof(double) * NX);
    }
    interp_free(&st);
    return loss;
}

static void test_match(void) {
    arena a1 = {0}, a2 = {0};
    ir_graph *fused = composed(&a1, MATCH, 1, 1);
    CU_ASSERT_EQUAL(count_op(fused, OP_attention), 1);
    CU_ASSERT_EQUAL(count_op(fused, OP_softmax), 0);
    for (int i = 0; i < fused->n_nodes; i++)
        if (fused->nodes[i]->op == OP_attention) {
            const ir_node *n = fused->nodes[i];
            CU_ASSERT_EQUAL(n->a.attention.heads, H);
            CU_ASSERT_EQUAL(n->a.attention.causal, 1);
            CU_ASSERT_DOUBLE_EQUAL(n->a.attention.scale, 1 / sqrt((double)HD), 1e-15);
            CU_ASSERT_EQUAL(n->in[0]->op, OP_input); /* q itself, heads as column blocks */
        }
    static double q[NX], k[NX], v[NX], r[NR], g1[3 * NX], g2[3 * NX];
    fill(q, k, v, r);
    double *ins[4] = {q, k, v, r};
    double l1 = run(fused, ins, g1);
    ir_graph *plain = composed(&a2, MATCH, 1, 0); /* the same graph without the pass */
    CU_ASSERT_EQUAL(count_op(plain, OP_attention), 0);
    double l2 = run(plain, ins, g2), gworst = 0;
    CU_ASSERT_DOUBLE_EQUAL(l1, l2, 1e-12 * (1 + fabs(l2)));
    for (int i = 0; i < 3 * NX; i++) gworst = fmax(gworst, fabs(g1[i] - g2[i]));
    CU_ASSERT(gworst < 1e-12);

    /* the fused graph's gradients against central differences of its loss */
    double worst = 0;
    for (int which = 0; which < 3; which++)
        for (int i = 0; i < NX; i += 5) {
            double *x = ins[which], x0 = x[i], h = 1e-6;
            x[i] = x0 + h;
            double lp = run(fused, ins, NULL);
            x[i] = x0 - h;
            double lm = run(fused, ins, NULL);
            x[i] = x0;
            double num = (lp - lm) / (2 * h), an = g1[which * NX + i];
            double err = fabs(an - num) / fmax(1, fmax(fabs(an), fabs(num)));
            worst = fmax(worst, err);
        }
    CU_ASSERT(worst < 1e-6);
    arena_free(&a1);
    arena_free(&a2);
}

static void test_near_misses(void) {
    const enum variant miss[] = {MISS_TRIU, MISS_FILL, MISS_AXIS, MISS_REUSE};
    for (size_t i = 0; i < sizeof miss / sizeof *miss; i++) {
        arena ar = {0};
        ir_graph *g = composed(&ar, miss[i], 0, 1);
        CU_ASSERT_EQUAL(count_op(g, OP_attention), 0);
        CU_ASSERT_EQUAL(count_op(g, OP_softmax), 1);
        arena_free(&ar);
    }
}

void suite_attention_match(void) {
    CU_pSuite s = CU_add_suite("attention_match", NULL, NULL);
    CU_add_test(s, "causal multi-head attention from primitives: fused, same value and gradients", test_match);
    CU_add_test(s, "near misses keep the primitives", test_near_misses);
}
