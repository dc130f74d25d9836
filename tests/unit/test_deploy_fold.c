/* test_deploy_fold.c — `dlnc export`'s folds (deploy_fold.c) on the IR.
 *
 * A model with a conv2d (with bias) before a batch_norm, a dense layer before
 * a batch_norm1d, and a batch_norm on the input (nothing to fold it into),
 * given random weights and running statistics: after the passes, the
 * reference interpreter's output of the forward must be the same before and
 * after deploy_fold (which changes the graph and the weights), the two
 * foldable batch norms must be folded (no mul left reading a conv2d or a
 * matmul), and the folded batch norms' parameters emptied. A model whose
 * values from constants alone depend on a run-time size (the mean over a
 * run-time T, whose divisor is a sum of ones(T)) must give the same output
 * at N = 3, T = 5 after deploy_fold: such values are not computed at export
 * (where N = 1, T = 0; a class token broadcast to the batch: e2e deploy.sh's ViT). */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>

#include "compiled.h"
#include "deploy.h"
#include "interp.h"
#include "passes.h"

static const char *src =
    "model m(x: f32[N, 2, 5, 5]) -> f32[N, 6] {\n"
    "    h = batch_norm(x)\n"
    "    h = conv2d(h, 4, kernel = 3, pad = 1) |> batch_norm |> relu\n"
    "    return flatten(h) |> dense(6) |> batch_norm1d\n"
    "}\n";

/* The forward's output at N = 3 for the input x, by the interpreter. */
static double *run(const ir_module *m, float **params, const double *x)
{
    double **pd = calloc((size_t)m->n_params + 1, sizeof *pd);
    for (int i = 0; i < m->n_params; i++) {
        int64_t n = ir_shape_numel(&m->params[i].shape).k;
        pd[i] = malloc(sizeof(double) * (size_t)(n + 1));
        for (int64_t j = 0; j < n; j++) pd[i][j] = params[i][j];
    }
    int64_t syms[IR_MAX_SYMS] = {3};
    double *const inputs[1] = {(double *)x};
    interp_state s;
    double *out = malloc(sizeof(double) * 18);
    CU_ASSERT_FATAL(interp_run(&s, m->forward, syms, inputs, pd, 0) == 0);
    for (int j = 0; j < 18; j++) out[j] = interp_output(&s, 0)[j];
    interp_free(&s);
    for (int i = 0; i < m->n_params; i++) free(pd[i]);
    free(pd);
    return out;
}

static void test_fold(void)
{
    arena ar = {0};
    ir_module *m = compiled_elaborate(&ar, stderr, src);
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_FATAL(passes_run(m->forward, NULL, NULL, 1) == 0);
    unsigned seed = 7;
    float **params = ARENA_NEW_ARRAY(&ar, float *, m->n_params);
    for (int i = 0; i < m->n_params; i++) {
        int64_t n = ir_shape_numel(&m->params[i].shape).k;
        params[i] = ARENA_NEW_ARRAY(&ar, float, n);
        for (int64_t j = 0; j < n; j++) {
            seed = seed * 1664525u + 1013904223u;
            float u = (float)((seed >> 8) & 0xffff) / 65536.0f; /* [0, 1) */
            params[i][j] = strstr(m->params[i].name, "running_var") ? 0.5f + u : 2.0f * u - 1.0f;
        }
    }
    double x[3 * 50];
    for (int j = 0; j < 150; j++) x[j] = sin(0.37 * j);
    double *before = run(m, params, x);

    diag_ctx d;
    diag_init(&d, stderr);
    int folded = -1;
    float **after_params = deploy_fold(m, params, &folded, &d);
    CU_ASSERT_FATAL(after_params != NULL);
    CU_ASSERT(folded == 2);
    double *after = run(m, after_params, x);
    double err = 0;
    for (int j = 0; j < 18; j++) err = fmax(err, fabs(after[j] - before[j]) / (1 + fabs(before[j])));
    CU_ASSERT(err < 1e-5);
    for (int i = 0; i < m->forward->n_nodes; i++) {
        const ir_node *n = m->forward->nodes[i];
        if (n->op != OP_mul) continue;
        for (int k = 0; k < 2; k++) CU_ASSERT(n->in[k]->op != OP_conv2d && n->in[k]->op != OP_matmul);
    }
    /* the folded batch norms read nothing any more; the input's (batch_norm0) is baked into a scale and shift */
    for (int i = 0; i < m->n_params; i++)
        if (strstr(m->params[i].name, "batch_norm") && strstr(m->params[i].name, "running_"))
            CU_ASSERT(ir_shape_numel(&m->params[i].shape).k == 0);
    free(before), free(after);
    diag_free(&d);
    arena_free(&ar);
}

static void test_runtime_sizes(void)
{
    static const char *seq =
        "model s(x: f32[N, T, 4]) -> f32[N, 2] {\n"
        "    return dense(mean(x, axis = 1), 2)\n"
        "}\n";
    arena ar = {0};
    ir_module *m = compiled_elaborate(&ar, stderr, seq);
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_FATAL(passes_run(m->forward, NULL, NULL, 1) == 0);
    float **params = ARENA_NEW_ARRAY(&ar, float *, m->n_params);
    for (int i = 0; i < m->n_params; i++) {
        int64_t n = ir_shape_numel(&m->params[i].shape).k;
        params[i] = ARENA_NEW_ARRAY(&ar, float, n);
        for (int64_t j = 0; j < n; j++) params[i][j] = (float)cos(1.3 * (double)(j + 7 * i));
    }
    double x[3 * 5 * 4], out[2][6];
    for (int j = 0; j < 60; j++) x[j] = sin(0.37 * j);
    diag_ctx d;
    diag_init(&d, stderr);
    for (int pass = 0; pass < 2; pass++) {
        int folded;
        if (pass == 1) CU_ASSERT_FATAL((params = deploy_fold(m, params, &folded, &d)) != NULL);
        double **pd = calloc((size_t)m->n_params + 1, sizeof *pd);
        for (int i = 0; i < m->n_params; i++) {
            int64_t n = ir_shape_numel(&m->params[i].shape).k;
            pd[i] = malloc(sizeof(double) * (size_t)(n + 1));
            for (int64_t j = 0; j < n; j++) pd[i][j] = params[i][j];
        }
        int64_t syms[IR_MAX_SYMS] = {3, 5};
        double *const inputs[1] = {x};
        interp_state s;
        CU_ASSERT_FATAL(interp_run(&s, m->forward, syms, inputs, pd, 0) == 0);
        for (int j = 0; j < 6; j++) out[pass][j] = interp_output(&s, 0)[j];
        interp_free(&s);
        for (int i = 0; i < m->n_params; i++) free(pd[i]);
        free(pd);
    }
    for (int j = 0; j < 6; j++) CU_ASSERT(fabs(out[1][j] - out[0][j]) <= 1e-6 * (1 + fabs(out[0][j])));
    diag_free(&d);
    arena_free(&ar);
}

void suite_deploy_fold(void)
{
    CU_pSuite s = CU_add_suite("deploy_fold", NULL, NULL);
    CU_add_test(s, "batch norm folded into conv2d and dense, the output unchanged", test_fold);
    CU_add_test(s, "values that depend on N or T are not fixed at export", test_runtime_sizes);
}
