/* test_elab_grad.c — `grad(y, x)` as an expression in .dln (elab_builtins.c
 * over ad_grad_value), through the front end as users reach it:
 *   - values: grad(sum(x³ - 2x), x) = 3x² - 2, also with respect to a
 *     stop_grad value, and FGSM's x + eps * sign(grad(...)) inside a block;
 *   - second order: a train step whose loss reaches the weight only through
 *     a grad(...) value gets the right weight gradient (central differences
 *     on the reference interpreter);
 *   - the exact text of its errors. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiled.h"
#include "interp.h"

/* The forward graph on x (N = 2), compared elementwise with want(x). */
static void check_forward(const char *src, int k, double (*want)(double)) {
    compiled c;
    compiled_init(&c, src);
    CU_ASSERT_PTR_NOT_NULL(c.mod);
    if (!c.mod) {
        printf("\n%s", c.diags);
        compiled_free(&c);
        return;
    }
    double xv[16];
    for (int i = 0; i < 2 * k; i++) xv[i] = -1.5 + 0.37 * i;
    double *ins[1] = {xv};
    int64_t syms[IR_MAX_SYMS] = {2, 1, 1, 1, 1, 1, 1, 1};
    interp_state s;
    CU_ASSERT_EQUAL_FATAL(interp_run(&s, c.mod->forward, syms, ins, NULL, 1), 0);
    const double *y = interp_output(&s, 0);
    for (int i = 0; i < 2 * k; i++) CU_ASSERT_DOUBLE_EQUAL(y[i], want(xv[i]), 1e-12);
    interp_free(&s);
    compiled_free(&c);
}

static double cubic_grad(double x) { return 3 * x * x - 2; }
static double fgsm(double x) { return x + 0.25 * ((3 * x * x - 2 > 0) - (3 * x * x - 2 < 0)); }

static void test_grad_values(void) {
    check_forward("model m(x: f32[N, 4]) -> f32[N, 4] {\n"
                  "    return grad(sum(x * x * x - 2.0 * x), x)\n"
                  "}\n",
                  4, cubic_grad);
    check_forward("block attack(x: f32[N, K], eps: float = 0.1) -> f32[N, K] {\n"
                  "    score = sum(x ** 3 - 2.0 * x)\n"
                  "    return x + eps * sign(grad(score, x))\n"
                  "}\n"
                  "model m(x: f32[N, 5]) -> f32[N, 5] {\n"
                  "    return attack(x, eps = 0.25)\n"
                  "}\n",
                  5, fgsm);
    /* with respect to a detached value (PGD's batch after a step): the
     * gradient there, not zero because stop_grad cuts what is behind it */
    check_forward("model m(x: f32[N, 4]) -> f32[N, 4] {\n"
                  "    z = stop_grad(x * 1.0)\n"
                  "    return grad(sum(z * z * z - 2.0 * z), z)\n"
                  "}\n",
                  4, cubic_grad);
}

static double cat_split_grad(double x) { return 9 * x * x - 4; }

/* concat along the run-time batch axis and split/chunk/index back (views as [k, N]):
 * grad(sum(x³ + (x³ - 2x) - x + x³ - x)) = 9x² - 4, every piece reached through the joins. */
static void test_grad_batch_concat(void) {
    check_forward("model m(x: f32[N, 4]) -> f32[N, 4] {\n"
                  "    a = split(concat([x * x * x, -2.0 * x], axis = 0), N, axis = 0)[0]\n"
                  "    b = chunk(concat([x, x * x * x - 2.0 * x, x], axis = 0), 3)[1]\n"
                  "    c = split(concat([x, concat([x, x], axis = 0)]), [N, 2 * N])[1]\n"
                  "    d = concat([x, x * x * x], axis = 0)\n"
                  "    return grad(sum(a + b) - 0.5 * sum(c) + sum(d[N:]) - sum(d[:N]), x)\n"
                  "}\n",
                  4, cat_split_grad);
}

static int find_output(const ir_graph *g, ir_out_kind kind) {
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i].kind == kind) return i;
    return -1;
}

/* loss = mse(W^T (1 - tanh(W x)^2), t): the weight is reached only through
 * grad(...), so its gradient is a second derivative. */
static void test_grad_second_order(void) {
    compiled c;
    compiled_init(&c, "model m(x: f32[N, 3]) -> f32[N, 3] {\n"
                "    h = dense(x, 2, use_bias = false, name = \"fc\")\n"
                "    return grad(sum(tanh(h)), x)\n"
                "}\n"
                "train m {\n"
                "    data = csv(\"none.csv\", batch = 4, classify = false)\n"
                "    loss = mse(output, label)\n"
                "    optim = sgd(lr = 0.1)\n"
                "    epochs = 1\n"
                "}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    ir_graph *g = c.mod->train_step;
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_TRUE(ir_verify(g));
    int lo = find_output(g, IR_OUT_LOSS), go = find_output(g, IR_OUT_GRAD);
    CU_ASSERT_FATAL(lo >= 0 && go >= 0);
    CU_ASSERT_NOT_EQUAL(g->outputs[go].node->op, OP_constant); /* not the "unreached" zeros */
    double xv[6] = {0.3, -0.7, 1.1, -0.2, 0.5, 0.9}, tv[6] = {0.1, 0.2, -0.3, 0.4, -0.5, 0.6};
    double wv[6] = {0.4, -0.3, 0.8, -0.6, 0.2, 0.5};
    double *ins[2] = {xv, tv}, *params[1] = {wv};
    int64_t syms[IR_MAX_SYMS] = {2, 1, 1, 1, 1, 1, 1, 1};
    interp_state s;
    CU_ASSERT_EQUAL_FATAL(interp_run(&s, g, syms, ins, params, 1), 0);
    double analytic[6];
    memcpy(analytic, interp_output(&s, go), sizeof analytic);
    interp_free(&s);
    for (int i = 0; i < 6; i++) {
        double h = 1e-6, w0 = wv[i], lp, lm;
        wv[i] = w0 + h;
        CU_ASSERT_EQUAL_FATAL(interp_run(&s, g, syms, ins, params, 1), 0);
        lp = interp_output(&s, lo)[0];
        interp_free(&s);
        wv[i] = w0 - h;
        CU_ASSERT_EQUAL_FATAL(interp_run(&s, g, syms, ins, params, 1), 0);
        lm = interp_output(&s, lo)[0];
        interp_free(&s);
        wv[i] = w0;
        double numeric = (lp - lm) / (2 * h);
        CU_ASSERT_DOUBLE_EQUAL(analytic[i], numeric, 1e-6 * fmax(1, fabs(numeric)));
    }
    compiled_free(&c);
}

static void check_error(const char *body, const char *want) {
    char src[512];
    snprintf(src, sizeof src, "model m(x: f32[N, 4]) -> f32 {\n%s\n}\n", body);
    compiled_expect_errors(src, want);
}

static void test_grad_errors(void) {
    check_error("    return grad(x * x, x)",
                "t.dln:2:12: error: grad: the differentiated value must be a float scalar, got f32[N, 4]\n"
                "    2 |     return grad(x * x, x)\n"
                "      |            ^~~~~~~~~~~~~~\n"
                "hint: reduce it first, e.g. with sum(...) or mean(...)\n");
    check_error("    return grad(sum(x), 2)",
                "t.dln:2:25: error: argument 'x' of 'grad' must be a tensor, got int 2\n"
                "    2 |     return grad(sum(x), 2)\n"
                "      |                         ^\n");
    check_error("    return grad(sum(x))",
                "t.dln:2:12: error: missing argument 'x' in call to 'grad'\n"
                "    2 |     return grad(sum(x))\n"
                "      |            ^~~~~~~~~~~~\n");
}

void suite_elab_grad(void) {
    CU_pSuite s = CU_add_suite("elab_grad", NULL, NULL);
    CU_add_test(s, "grad(y, x) values, FGSM in a block", test_grad_values);
    CU_add_test(s, "second order through a train step", test_grad_second_order);
    CU_add_test(s, "concat and split along the batch axis", test_grad_batch_concat);
    CU_add_test(s, "grad errors", test_grad_errors);
}
