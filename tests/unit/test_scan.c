/* test_scan.c — the `scan` loop (ops_scan.h) through the front end:
 *   - gradient check: every parameter's gradient from the reverse loop
 *     against central differences of the loss, on the reference interpreter,
 *     at several sequence lengths, forward and reverse, with two carries, a
 *     captured outer tensor and a block with its own weights in the body;
 *   - the emitted C against the interpreter: forward outputs, the loss and
 *     every gradient of one train step;
 *   - the generated C does not grow with the sequence length;
 *   - the exact text of its errors.
 * (OP_scan and OP_scan_part are checked here rather than in the one-op
 * table of test_gradcheck.c: a loop is not a function of one op.) */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiled.h"
#include "emitted.h"
#include "interp.h"

/* A two-state cell (an LSTM's shape of recurrence) over x: f32[N, T, 3]. */
static const char *cell_src(char *buf, size_t len, int T, int reverse) {
    snprintf(buf, len,
             "model m(x: f32[N, %d]) -> f32[N, 2] {\n"
             "    xs = reshape(x, (N, %d, 3))\n"
             "    param u: f32[4, 4]\n"
             "    param b: f32[4] = normal(std = 0.5)\n"
             "    scale = tanh(b)\n"
             "    param wi: f32[4, 3]\n"
             "    gx = xs @ transpose(wi)\n"
             "    h = gx[:, 0] * 0.0 + 0.1\n"
             "    c = h * 0.5\n"
             "    hs = scan %sgt in gx carry h, c {\n"
             "        g = gt + h @ transpose(u) + b\n"
             "        c = sigmoid(g) * c + tanh(g) * scale\n"
             "        h = tanh(c) * sigmoid(dense(h, 4, name = \"gate\"))\n"
             "        yield h * 2.0\n"
             "    }\n"
             "    y = mean(hs, axis = 1) + h + c\n"
             "    return dense(y, 2, name = \"out\")\n"
             "}\n"
             "train m {\n"
             "    data = csv(\"none.csv\", batch = 4, classify = false)\n"
             "    loss = mse(output, label)\n"
             "    optim = sgd(lr = 0.1)\n"
             "    epochs = 1\n"
             "}\n",
             3 * T, T, reverse ? "reverse " : "");
    return buf;
}

static int find_output(const ir_graph *g, ir_out_kind kind, int index) {
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i].kind == kind && (index < 0 || g->outputs[i].index == index)) return i;
    return -1;
}

static double urand(uint64_t *s) { return emitted_urand(s); }

/* Random parameters, inputs and targets for module m at batch 2. */
typedef struct fixture {
    double **params, *x, *t;
    int np;
} fixture;

static void fixture_init(fixture *f, const ir_module *m, int T) {
    uint64_t st = 7;
    f->np = m->n_params;
    f->params = calloc((size_t)f->np + 1, sizeof *f->params);
    for (int p = 0; p < f->np; p++) {
        int64_t k = ir_shape_numel(&m->params[p].shape).k;
        f->params[p] = malloc(sizeof(double) * (size_t)k);
        for (int64_t i = 0; i < k; i++) f->params[p][i] = urand(&st) - 0.5;
    }
    f->x = malloc(sizeof(double) * (size_t)(6 * T));
    for (int i = 0; i < 6 * T; i++) f->x[i] = 2 * urand(&st) - 1;
    f->t = malloc(sizeof(double) * 4);
    for (int i = 0; i < 4; i++) f->t[i] = urand(&st);
}

static void fixture_free(fixture *f) {
    for (int p = 0; p < f->np; p++) free(f->params[p]);
    free(f->params);
    free(f->x);
    free(f->t);
}

static const int64_t syms2[IR_MAX_SYMS] = {2, 1, 1, 1, 1, 1, 1, 1};

static double loss_at(const ir_graph *g, fixture *f, int lo) {
    double *ins[2] = {f->x, f->t};
    interp_state s;
    CU_ASSERT_EQUAL_FATAL(interp_run(&s, g, syms2, ins, f->params, 1), 0);
    double l = interp_output(&s, lo)[0];
    interp_free(&s);
    return l;
}

static void gradcheck(int T, int reverse) {
    char src[2048];
    compiled c;
    compiled_init(&c, cell_src(src, sizeof src, T, reverse));
    if (!c.mod) printf("\n%s", c.diags);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    ir_graph *g = c.mod->train_step;
    CU_ASSERT_TRUE(ir_verify(g));
    fixture f;
    fixture_init(&f, c.mod, T);
    int lo = find_output(g, IR_OUT_LOSS, -1);
    double *ins[2] = {f.x, f.t};
    interp_state s;
    CU_ASSERT_EQUAL_FATAL(interp_run(&s, g, syms2, ins, f.params, 1), 0);
    int checked = 0;
    for (int p = 0; p < c.mod->n_params; p++) {
        int go = find_output(g, IR_OUT_GRAD, p);
        CU_ASSERT_FATAL(go >= 0);
        CU_ASSERT_NOT_EQUAL(g->outputs[go].node->op, OP_constant); /* every weight is reached */
        int64_t k = ir_shape_numel(&c.mod->params[p].shape).k;
        const double *analytic = interp_output(&s, go);
        for (int64_t i = 0; i < k; i++) {
            double h = 1e-6, w0 = f.params[p][i];
            f.params[p][i] = w0 + h;
            double lp = loss_at(g, &f, lo);
            f.params[p][i] = w0 - h;
            double lm = loss_at(g, &f, lo);
            f.params[p][i] = w0;
            double numeric = (lp - lm) / (2 * h), err = fabs(analytic[i] - numeric) / fmax(1, fabs(numeric));
            if (err > 1e-6)
                printf("\n  scan T=%d%s: d/d%s[%lld] analytic %.10g numeric %.10g", T, reverse ? " reverse" : "",
                       c.mod->params[p].name, (long long)i, analytic[i], numeric);
            CU_ASSERT(err <= 1e-6);
            checked++;
        }
    }
    CU_ASSERT(checked > 40);
    interp_free(&s);
    fixture_free(&f);
    compiled_free(&c);
}

static void test_gradcheck_lengths(void) {
    gradcheck(1, 0);
    gradcheck(3, 0);
    gradcheck(5, 0);
    gradcheck(4, 1);
}

/* One train step of the emitted C (sgd) against the interpreter's gradients. */
static void test_emitted_matches_interp(void) {
    const int T = 6;
    char src[2048];
    compiled c;
    compiled_init(&c, cell_src(src, sizeof src, T, 0));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    fixture f;
    fixture_init(&f, c.mod, T);
    /* the reference: forward output, loss, gradients */
    double *ins[2] = {f.x, f.t};
    interp_state s, sf;
    CU_ASSERT_EQUAL_FATAL(interp_run(&s, c.mod->train_step, syms2, ins, f.params, 1), 0);
    CU_ASSERT_EQUAL_FATAL(interp_run(&sf, c.mod->forward, syms2, ins, f.params, 1), 0);
    emitted e;
    CU_ASSERT_EQUAL_FATAL(emitted_build_source(src, &e), 0);
    void *m = e.api->create(2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    for (int p = 0; p < e.api->n_params; p++) {
        float *d = e.api->param_data(m, p);
        int64_t k = ir_shape_numel(&c.mod->params[p].shape).k;
        for (int64_t i = 0; i < k; i++) d[i] = (float)f.params[p][i];
    }
    float xf[6 * 6], tf[4], out[4];
    for (int i = 0; i < 6 * T; i++) xf[i] = (float)f.x[i];
    for (int i = 0; i < 4; i++) tf[i] = (float)f.t[i];
    e.api->forward(m, xf, out, 2);
    CU_ASSERT_TRUE(emitted_close(out, interp_output(&sf, 0), 4, 1e-4, "forward"));
    float loss = e.api->train_step(m, xf, tf, 2);
    const ir_graph *g = c.mod->train_step;
    CU_ASSERT_DOUBLE_EQUAL(loss, interp_output(&s, find_output(g, IR_OUT_LOSS, -1))[0], 1e-4);
    for (int p = 0; p < e.api->n_params; p++) {
        int64_t k = ir_shape_numel(&c.mod->params[p].shape).k;
        CU_ASSERT_TRUE(emitted_close(e.api->grad_data(m, p), interp_output(&s, find_output(g, IR_OUT_GRAD, p)), k, 1e-3,
                                     c.mod->params[p].name));
    }
    e.api->destroy(m);
    emitted_unload(&e);
    interp_free(&s);
    interp_free(&sf);
    fixture_free(&f);
    compiled_free(&c);
}

static void check_error(const char *body, const char *want) {
    char src[1024];
    snprintf(src, sizeof src, "model m(x: f32[N, 5, 3]) -> f32 {\n    h = x[:, 0] * 0.0\n%s\n    return h\n}\n", body);
    compiled_expect_errors(src, want);
}

static void test_errors(void) {
    check_error("    scan xt in x carry h {\n        h = h[:, 0:2]\n    }",
                "t.dln:3:24: error: the carried state 'h' must keep its type through the scan body: f32[N, 3] before, "
                "f32[N, 2] after\n"
                "    3 |     scan xt in x carry h {\n"
                "      |                        ^\n");
    check_error("    scan xt in x carry g {\n        g = xt\n    }",
                "t.dln:3:24: error: the carried name 'g' must have a value before the scan\n"
                "    3 |     scan xt in x carry g {\n"
                "      |                        ^\n"
                "hint: give it the initial state, e.g. g = zeros(N, 64)\n");
    check_error("    ys = scan xt in x carry h {\n        h = h + xt\n    }",
                "t.dln:3:5: error: this scan is assigned to 1 name but its body yields nothing\n"
                "    3 |     ys = scan xt in x carry h {\n"
                "      |     ^~~~~~~~~~~~~~~~~~~~~~~~~~~\n"
                "hint: end the body with yield\n");
    check_error("    yield h",
                "t.dln:3:5: error: 'yield' outside a scan body\n"
                "    3 |     yield h\n"
                "      |     ^~~~~~~\n"
                "hint: yield gives a scan's per-step results: ys = scan xt in xs carry h { ...; yield h }\n");
    check_error("    scan xt in h[:, 0] carry h {\n        h = h + 1.0\n    }",
                "t.dln:3:16: error: a scanned sequence must be a tensor [N, T, ...], got f32[N]\n"
                "    3 |     scan xt in h[:, 0] carry h {\n"
                "      |                ^~~~~~~\n"
                "hint: the loop runs over axis 1 (batch first)\n");
}

/* The C is the same size whatever T is: the body is written once. */
static void test_code_size_constant(void) {
    char src[2048];
    size_t len[2];
    for (int k = 0; k < 2; k++) {
        int T = k ? 256 : 16;
        arena ar = {0};
        FILE *diags = tmpfile();
        ir_module *m = compiled_elaborate(&ar, diags, cell_src(src, sizeof src, T, 0));
        fclose(diags);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        int nodes = 0;
        const ir_graph *gs[3] = {m->forward, m->eval_step, m->train_step};
        for (int i = 0; i < 3; i++) nodes += gs[i]->n_nodes;
        for (int i = 0; i < m->n_bodies; i++) nodes += m->bodies[i]->n_nodes;
        len[k] = (size_t)nodes;
        arena_free(&ar);
    }
    CU_ASSERT_EQUAL(len[0], len[1]);
}

void suite_scan(void) {
    CU_pSuite s = CU_add_suite("scan", NULL, NULL);
    CU_add_test(s, "gradients at T = 1, 3, 5 and reversed", test_gradcheck_lengths);
    CU_add_test(s, "emitted C matches the interpreter", test_emitted_matches_interp);
    CU_add_test(s, "IR size does not grow with T", test_code_size_constant);
    CU_add_test(s, "errors", test_errors);
}
