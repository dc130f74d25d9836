/* test_opsb.c — einsum, pixel_shuffle / pixel_unshuffle, the 1-D pools and
 * conv_transpose1d: none is an op of its own (einsum is lowered in
 * elab_einsum.c, the rest are stdlib/conv.dln blocks), so their gradient
 * check is the composition's: every parameter's gradient of a train step
 * against central differences on the reference interpreter. Also: einsum's
 * contractions are one batched matmul each, never a broadcast product. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiled.h"
#include "emitted.h"
#include "interp.h"

static int find_output(const ir_graph *g, ir_out_kind kind, int index) {
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i].kind == kind && (index < 0 || g->outputs[i].index == index)) return i;
    return -1;
}

static const int64_t syms2[IR_MAX_SYMS] = {2, 1, 1, 1, 1, 1, 1, 1};

/* A model whose parameters `params` ("a: f32[2, 3]; b: ...") feed `expr`, its
 * loss sum(sin(expr)) (so the output's gradient varies), compiled. */
static ir_module *compile_expr(compiled *c, const char *params, const char *expr) {
    char src[2048], decl[1024] = "";
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", params);
    for (char *p = strtok(buf, ";"); p; p = strtok(NULL, ";")) {
        size_t n = strlen(decl);
        snprintf(decl + n, sizeof decl - n, "    param %s = zeros\n", p + (*p == ' '));
    }
    snprintf(src, sizeof src,
             "model m(x: f32[N, 1]) -> f32[N, 1] {\n%s    return x * 0.0 + sum(sin(%s))\n}\n"
             "train m {\n    data = csv(\"none.csv\", batch = 2, classify = false)\n    loss = sum(output * label)\n"
             "    optim = sgd(lr = 0.1)\n    epochs = 1\n}\n",
             decl, expr);
    compiled_init(c, src);
    if (!c->mod) printf("\n%s\n%s", src, c->diags);
    return c->mod;
}

static double loss_at(const ir_graph *g, double **params, int lo) {
    double x[2] = {0.3, -0.2}, t[2] = {1.0, 0.5}, *ins[2] = {x, t};
    interp_state s;
    CU_ASSERT_EQUAL_FATAL(interp_run(&s, g, syms2, ins, params, 1), 0);
    double l = interp_output(&s, lo)[0];
    interp_free(&s);
    return l;
}

static void gradcheck(const char *params, const char *expr) {
    compiled c;
    if (!compile_expr(&c, params, expr)) {
        CU_FAIL("does not compile");
        compiled_free(&c);
        return;
    }
    ir_graph *g = c.mod->train_step;
    CU_ASSERT_TRUE(ir_verify(g));
    uint64_t st = 11;
    int np = c.mod->n_params;
    double **pv = calloc((size_t)np + 1, sizeof *pv);
    for (int p = 0; p < np; p++) {
        int64_t k = ir_shape_numel(&c.mod->params[p].shape).k;
        pv[p] = malloc(sizeof(double) * (size_t)k);
        for (int64_t i = 0; i < k; i++) pv[p][i] = 2 * emitted_urand(&st) - 1;
    }
    int lo = find_output(g, IR_OUT_LOSS, -1);
    double x[2] = {0.3, -0.2}, t[2] = {1.0, 0.5}, *ins[2] = {x, t};
    interp_state s;
    CU_ASSERT_EQUAL_FATAL(interp_run(&s, g, syms2, ins, pv, 1), 0);
    for (int p = 0; p < np; p++) {
        int go = find_output(g, IR_OUT_GRAD, p);
        CU_ASSERT_FATAL(go >= 0);
        int64_t k = ir_shape_numel(&c.mod->params[p].shape).k;
        const double *analytic = interp_output(&s, go);
        for (int64_t i = 0; i < k; i++) {
            double h = 1e-6, w0 = pv[p][i];
            pv[p][i] = w0 + h;
            double lp = loss_at(g, pv, lo);
            pv[p][i] = w0 - h;
            double lm = loss_at(g, pv, lo);
            pv[p][i] = w0;
            double numeric = (lp - lm) / (2 * h), err = fabs(analytic[i] - numeric) / fmax(1, fabs(numeric));
            if (err > 1e-6)
                printf("\n  %s: d/d%s[%lld] analytic %.10g numeric %.10g", expr, c.mod->params[p].name, (long long)i,
                       analytic[i], numeric);
            CU_ASSERT(err <= 1e-6);
        }
    }
    interp_free(&s);
    for (int p = 0; p < np; p++) free(pv[p]);
    free(pv);
    compiled_free(&c);
}

static void test_einsum_grads(void) {
    gradcheck("a: f32[2, 2, 3, 4]; b: f32[2, 2, 5, 4]", "einsum(\"bhqd,bhkd->bhqk\", a, b)");
    gradcheck("a: f32[2, 2, 3, 5]; b: f32[2, 2, 5, 4]", "einsum(\"bhqk,bhkd->bhqd\", a, b)");
    gradcheck("a: f32[3, 4]; b: f32[4, 5]; c: f32[3, 5]", "einsum(\"bi,ij,bj->b\", a, b, c)");
    gradcheck("a: f32[4]; b: f32[3]", "einsum(\"i,j->ij\", a, b)");
    gradcheck("a: f32[3, 4]", "einsum(\"ij->j\", a)");
    gradcheck("a: f32[2, 3, 4]; b: f32[2, 4, 5]", "einsum(\"bij,bjk->bik\", a, b)");
    gradcheck("a: f32[2, 3, 4]; b: f32[4, 2]", "einsum(\"...j,jk\", a, b)");
    gradcheck("a: f32[2, 3]; b: f32[2, 3]", "einsum(\"ij,ij->\", a, b)");
    gradcheck("a: f32[2, 3, 3]; b: f32[3, 3]", "einsum(\"bii,jj->bi\", a, b)");
}

static void test_blocks_grads(void) {
    gradcheck("a: f32[2, 8, 2, 3]", "pixel_shuffle(a, 2)");
    gradcheck("a: f32[1, 2, 4, 6]", "pixel_unshuffle(a, 2)");
    gradcheck("a: f32[2, 3, 7]", "max_pool1d(a, 3, stride = 2, pad = 1)");
    gradcheck("a: f32[2, 3, 7]", "avg_pool1d(a, 2)");
    gradcheck("a: f32[2, 3, 7]", "adaptive_avg_pool1d(a, 3)");
    gradcheck("a: f32[2, 3, 7]", "adaptive_max_pool1d(a, 3)");
    gradcheck("a: f32[2, 4, 5]", "conv_transpose1d(a, 4, kernel = 3, stride = 2, pad = 1, output_pad = 1, groups = 2)");
}

/* Attention's score product is one batched matmul on [B*H, T, d] operands with k read
 * transposed (no copy), and no node of the forward graph is larger than the output or the
 * inputs (no broadcast product). */
static void test_einsum_uses_matmul(void) {
    compiled c;
    if (!compile_expr(&c, "a: f32[2, 3, 8, 16]; b: f32[2, 3, 8, 16]", "einsum(\"bhqd,bhkd->bhqk\", a, b)")) {
        CU_FAIL("does not compile");
        compiled_free(&c);
        return;
    }
    const ir_graph *g = c.mod->forward;
    int matmuls = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        matmuls += n->op == OP_matmul;
        if (n->op == OP_matmul)   /* k is read transposed by the GEMM ([tb]), not copied */
            CU_ASSERT(n->a.matmul.tb && !n->a.matmul.ta && n->in[1]->op != OP_transpose && n->in[0]->op != OP_transpose);
        CU_ASSERT(n->op != OP_mul || ir_shape_numel(&n->shape).k <= 2 * 3 * 8 * 16);
        CU_ASSERT(ir_shape_numel(&n->shape).k <= 2 * 3 * 8 * 16 || !ir_dim_is_const(ir_shape_numel(&n->shape)));
    }
    CU_ASSERT_EQUAL(matmuls, 1);
    compiled_free(&c);
}

void suite_opsb(void) {
    CU_pSuite s = CU_add_suite("opsb", NULL, NULL);
    CU_add_test(s, "einsum gradients (attention, bilinear, outer, sums, batch matmul, ...)", test_einsum_grads);
    CU_add_test(s, "pixel_shuffle, 1-D pools, conv_transpose1d gradients", test_blocks_grads);
    CU_add_test(s, "einsum contracts with one matmul", test_einsum_uses_matmul);
}
