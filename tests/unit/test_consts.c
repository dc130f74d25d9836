/* test_consts.c — constant and index tensors (elab_consts.c): zeros, ones,
 * full, the _like forms, arange, eye, tril, triu, expand (and the stdlib's linspace), through the front
 * end as users write them:
 *   - values: one model concatenates a case of each into its output; the
 *     reference interpreter and the emitted C (compiled with -Werror, run)
 *     must both give the hand-written values;
 *   - a run-time length: arange(N) and a mask over N, emitted and run at
 *     two batch sizes;
 *   - the causal-mask and positional-encoding example of docs/language.md,
 *     read from the file, compiled, run, and compared with the same
 *     computation written out in C here;
 *   - elaboration: a fully constant mask is computed from [T, 1] and [1, T]
 *     index vectors, and no [T, T] comparison is stored on its own;
 *   - the memory plan: values of constants alone are STATIC (computed by
 *     the first call, kept), what depends on N is not; the docs example and
 *     arange(N) run several times per instance, each call checked. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiled.h"
#include "emitted.h"
#include "files.h"
#include "interp.h"
#include "passes.h"

/* Each case: an expression and its values, row-major. */
typedef struct const_case {
    const char *expr;
    int n;
    double want[12];
} const_case;

static const const_case cases[] = {
    {"arange(5)", 5, {0, 1, 2, 3, 4}},
    {"arange(1, 2, 0.25)", 4, {1, 1.25, 1.5, 1.75}},
    {"arange(5, 0, -2)", 3, {5, 3, 1}},
    {"arange(0, 1, 0.3)", 4, {0, 0.3, 0.6, 0.9}},       /* ceil(1 / 0.3) = 4 elements, as torch */
    {"arange(end = 3)", 3, {0, 1, 2}},
    {"cast_f32(arange(2, 8, 3, dtype = \"i32\"))", 2, {2, 5}},
    {"zeros(2, 2) + ones((1, 2))", 4, {1, 1, 1, 1}},
    {"full(3, value = 2.5)", 3, {2.5, 2.5, 2.5}},
    {"full([2, 1], -1)", 2, {-1, -1}},
    {"full_like(arange(3), 4) - ones_like(arange(3)) + zeros_like(arange(3))", 3, {3, 3, 3}},
    {"eye(3)", 9, {1, 0, 0, 0, 1, 0, 0, 0, 1}},
    {"eye(2, 3)", 6, {1, 0, 0, 0, 1, 0}},
    {"tril(ones(3, 3))", 9, {1, 0, 0, 1, 1, 0, 1, 1, 1}},
    {"tril(full(3, 4, value = 2), k = -1)", 12, {0, 0, 0, 0, 2, 0, 0, 0, 2, 2, 0, 0}},
    {"triu(ones(3, 3))", 9, {1, 1, 1, 0, 1, 1, 0, 0, 1}},
    {"triu(reshape(arange(6), [2, 3]), k = 1)", 6, {0, 1, 2, 0, 0, 5}},
    {"tril(expand(arange(2), 2, 2, 2), 1)", 8, {0, 1, 0, 1, 0, 1, 0, 1}},  /* rank 3: per matrix */
    {"expand(arange(3), 2, -1)", 6, {0, 1, 2, 0, 1, 2}},
    {"expand(reshape(arange(2), [2, 1]), [2, 3])", 6, {0, 0, 0, 1, 1, 1}},
    {"cast_f32(expand(arange(2, 4, dtype = \"i32\"), 2, -1))", 4, {2, 3, 2, 3}},  /* i32 positions, broadcast */
    {"sin(arange(3) * 0.5) + cos(arange(3))", 3, {1, 0.47942553860420301 + 0.54030230586813977,
                                                  0.8414709848078965 - 0.41614683654714241}},
    /* stdlib linspace: torch's kernel, from start to the middle and from end after it */
    {"linspace(0.0, 1.0, 5)", 5, {0, 0.25, 0.5, 0.75, 1}},
    {"linspace(3.0, -1.0, 7)", 7, {3, 7.0 / 3, 5.0 / 3, 1, 1.0 / 3, -1.0 / 3, -1}},
    {"linspace(2.0, 5.0, 1) + linspace(log(1.0), log(0.5), 2)[1]", 1, {2 - 0.69314718055994531}},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

static int total_width(void) {
    int k = 0;
    for (int i = 0; i < N_CASES; i++) k += cases[i].n;
    return k;
}

/* model m(x: f32[N, K]) returning x * 0 + every case flattened into one row. */
static char *values_model(void) {
    size_t cap = 8192, len = 0;
    char *s = malloc(cap);
    int k = total_width();
    len += (size_t)snprintf(s + len, cap - len, "model m(x: f32[N, %d]) -> f32[N, %d] {\n    r = concat([", k, k);
    for (int i = 0; i < N_CASES; i++)
        len += (size_t)snprintf(s + len, cap - len, "%sreshape(%s, [1, %d])", i ? ", " : "", cases[i].expr, cases[i].n);
    snprintf(s + len, cap - len, "], axis = 1)\n    return x * 0.0 + r\n}\n");
    return s;
}

/* got (one row) against every case's values; tol relative to max(1, |want|). */
static int check_row(const char *who, const float *gotf, const double *gotd, double tol) {
    int at = 0, ok = 1;
    for (int i = 0; i < N_CASES; i++)
        for (int j = 0; j < cases[i].n; j++, at++) {
            double got = gotf ? gotf[at] : gotd[at], want = cases[i].want[j];
            if (!(fabs(got - want) <= tol * fmax(1, fabs(want)))) {
                printf("\n  %s: %s [%d]: got %.9g, want %.9g", who, cases[i].expr, j, got, want);
                ok = 0;
            }
        }
    return ok;
}

static void test_values(void) {
    char *src = values_model();
    int k = total_width();
    compiled c;
    compiled_init(&c, src);
    if (!c.mod) printf("\n%s", c.diags);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    double *x = calloc((size_t)k, sizeof *x);
    double *ins[1] = {x};
    int64_t syms[IR_MAX_SYMS] = {1, 1, 1, 1, 1, 1, 1, 1};
    interp_state s;
    CU_ASSERT_EQUAL_FATAL(interp_run(&s, c.mod->forward, syms, ins, NULL, 1), 0);
    CU_ASSERT(check_row("interpreter", NULL, interp_output(&s, 0), 1e-12));
    interp_free(&s);
    compiled_free(&c);
    free(x);

    emitted em;
    CU_ASSERT_EQUAL_FATAL(emitted_build_source(src, &em), 0);
    void *m = em.api->create(2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    float *xf = calloc((size_t)(2 * k), sizeof *xf), *out = calloc((size_t)(2 * k), sizeof *out);
    for (int call = 0; call < 2; call++) { /* the second call reads what the first computed */
        memset(out, 0, sizeof *out * (size_t)(2 * k));
        em.api->forward(m, xf, out, 2);
        CU_ASSERT(check_row("emitted C, row 0", out, NULL, 1e-6));
        CU_ASSERT(check_row("emitted C, row 1", out + k, NULL, 1e-6));
    }
    em.api->destroy(m);
    emitted_unload(&em);
    free(xf);
    free(out);
    free(src);
}

/* arange(N): a length known at run time, at two batch sizes. */
static void test_runtime_length(void) {
    const char *src = "model m(x: f32[N, 3]) -> f32[N, 3] {\n"
                      "    i = reshape(arange(N), [N, 1])\n"
                      "    half = reshape(arange(0, 2 * N, 2), [N, 1]) / 2.0\n"
                      "    return x + expand(i, -1, 3) * 10.0 + tril(expand(half, N, 3))\n"
                      "}\n";
    emitted em;
    CU_ASSERT_EQUAL_FATAL(emitted_build_source(src, &em), 0);
    void *m = em.api->create(5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    for (int n = 2; n <= 5; n += 3) {
        float x[15], out[15];
        double want[15];
        for (int i = 0; i < 3 * n; i++) x[i] = 0.25f * (float)i;
        for (int r = 0; r < n; r++)
            for (int j = 0; j < 3; j++) want[r * 3 + j] = x[r * 3 + j] + 10.0 * r + (j <= r ? r : 0);
        em.api->forward(m, x, out, n);
        CU_ASSERT(emitted_close(out, want, 3 * n, 1e-6, "arange(N)"));
    }
    em.api->destroy(m);
    emitted_unload(&em);
}

/* ---- the docs example ----------------------------------------------------------- */

/* The fenced block of docs/language.md that starts with `first_line`. */
static char *docs_block(const char *first_line) {
    char *doc = (char *)test_read_file("docs/language.md", NULL);
    if (!doc) return NULL;
    char *p = strstr(doc, first_line), *end = p ? strstr(p, "\n```") : NULL;
    char *r = NULL;
    if (p && end) {
        r = malloc((size_t)(end - p) + 2);
        memcpy(r, p, (size_t)(end - p));
        strcpy(r + (end - p), "\n");
    }
    free(doc);
    return r;
}

/* The docs model in double: x + sinusoidal encoding, causal softmax attention. */
static void causal_demo_ref(const float *x, double *y) {
    enum { T = 8, D = 16 };
    double h[T][D], s[T][T];
    for (int t = 0; t < T; t++)
        for (int i = 0; i < D / 2; i++) {
            double a = t * exp(2 * i * (-log(10000.0) / D));
            h[t][2 * i] = x[t * D + 2 * i] + sin(a);
            h[t][2 * i + 1] = x[t * D + 2 * i + 1] + cos(a);
        }
    for (int t = 0; t < T; t++) {
        double mx = -INFINITY, z = 0;
        for (int u = 0; u <= t; u++) {
            s[t][u] = 0;
            for (int d = 0; d < D; d++) s[t][u] += h[t][d] * h[u][d] / sqrt(D);
            mx = fmax(mx, s[t][u]);
        }
        for (int u = 0; u <= t; u++) z += exp(s[t][u] - mx);
        for (int d = 0; d < D; d++) {
            y[t * D + d] = 0;
            for (int u = 0; u <= t; u++) y[t * D + d] += exp(s[t][u] - mx) / z * h[u][d];
        }
    }
}

static void test_docs_example(void) {
    char *src = docs_block("# causal self-attention over a sequence with sinusoidal positions");
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    emitted em;
    CU_ASSERT_EQUAL_FATAL(emitted_build_source(src, &em), 0);
    void *m = em.api->create(2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    float x[2 * 128], out[2 * 128];
    double want[2 * 128];
    uint64_t st = 11;
    for (int call = 0; call < 3; call++) { /* the encoding and the mask are computed by the first call only */
        for (int i = 0; i < 2 * 128; i++) x[i] = (float)(emitted_urand(&st) - 0.5);
        em.api->forward(m, x, out, 2);
        causal_demo_ref(x, want);
        causal_demo_ref(x + 128, want + 128);
        CU_ASSERT(emitted_close(out, want, 2 * 128, 1e-4, "causal_demo"));
    }
    em.api->destroy(m);
    emitted_unload(&em);
    free(src);
}

/* tril(ones(T, T)): two index vectors and the fused comparison, nothing [T, T] on its own. */
static void test_mask_is_fused(void) {
    compiled c;
    compiled_init(&c, "model m(x: f32[N, 64, 64]) -> f32[N, 64, 64] {\n    return x * tril(ones(64, 64))\n}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    int iotas = 0, other = 0;
    const ir_graph *g = c.mod->forward;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        if (n->op == OP_iota) {
            iotas++;
            CU_ASSERT_EQUAL(ir_shape_numel(&n->shape).k, 64);
        } else if (n->op != OP_input && n->op != OP_constant && ir_ops[n->op].kind != IR_ELEMWISE) other++;
    }
    CU_ASSERT_EQUAL(iotas, 2);
    CU_ASSERT_EQUAL(other, 0);
    compiled_free(&c);
}

/* eval_step and train_step each keep their own STATIC values: at the same
 * parameters both give the same loss, on the first calls and on later ones. */
static void test_static_in_training(void) {
    const char *src = "model m(x: f32[N, 6, 4]) -> f32[N, 6, 4] {\n"
                      "    param w: f32[4] = normal(std = 0.5)\n"
                      "    pe = cos(reshape(arange(6), [6, 1]) * reshape(exp(arange(0, 4) * -0.5), [1, 4]))\n"
                      "    return tril(x * w + pe, k = 1) + eye(6, 4)\n"
                      "}\n"
                      "train m {\n    data = csv(\"/dev/null\", batch = 1, classify = false)\n"
                      "    loss = mse(output, label)\n    optim = sgd(lr = 0.1)\n    epochs = 1\n}\n";
    emitted em;
    CU_ASSERT_EQUAL_FATAL(emitted_build_source(src, &em), 0);
    void *m = em.api->create(2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    em.api->init(m, 5);
    float x[48], y[48];
    uint64_t st = 3;
    for (int i = 0; i < 48; i++) x[i] = (float)emitted_urand(&st), y[i] = (float)emitted_urand(&st);
    for (int step = 0; step < 3; step++) {
        float le = em.api->eval_step(m, x, y, NULL, 2), lt = em.api->train_step(m, x, y, 2);
        CU_ASSERT(isfinite(le) && fabsf(le - lt) <= 1e-6f * fmaxf(1.0f, fabsf(le)));
    }
    em.api->destroy(m);
    emitted_unload(&em);
}

/* After the passes: the index vectors and the encoding are STATIC; x + pe and arange(N) are not. */
static void test_static_plan(void) {
    compiled c;
    compiled_init(&c, "model m(x: f32[N, 8, 4]) -> f32[N, 8, 4] {\n"
                      "    pe = sin(reshape(arange(8), [8, 1]) * reshape(arange(1, 5), [1, 4]))\n"
                      "    return tril(x + pe) + expand(reshape(arange(N), [N, 1, 1]), -1, 8, 4)\n"
                      "}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    ir_graph *g = c.mod->forward;
    CU_ASSERT_EQUAL_FATAL(passes_run(g, NULL, NULL, 1), 0);
    CU_ASSERT(plan_verify(g, stdout));
    int n_static = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        int constant_shape = ir_shape_numel(&n->shape).syms == 0;
        if (n->storage == IR_STORE_STATIC) {
            n_static++;
            CU_ASSERT(constant_shape);
            CU_ASSERT(n->op != OP_input);
        }
        if (n->op == OP_iota && constant_shape) CU_ASSERT_EQUAL(n->storage, IR_STORE_STATIC);
        if (n->op == OP_sin) CU_ASSERT(n->storage == IR_STORE_STATIC || n->storage == IR_STORE_INLINE);
        if (!constant_shape) CU_ASSERT_NOT_EQUAL(n->storage, IR_STORE_STATIC);
    }
    CU_ASSERT(n_static >= 3);
    CU_ASSERT(plan_static_size(g) > 0);
    compiled_free(&c);
}

void suite_consts(void) {
    CU_pSuite s = CU_add_suite("consts", NULL, NULL);
    CU_add_test(s, "values: interpreter and emitted C", test_values);
    CU_add_test(s, "arange(N): a run-time length", test_runtime_length);
    CU_add_test(s, "docs/language.md: causal mask and positional encoding", test_docs_example);
    CU_add_test(s, "a constant mask is two index vectors", test_mask_is_fused);
    CU_add_test(s, "values of constants alone are STATIC in the plan", test_static_plan);
    CU_add_test(s, "STATIC values in eval_step and train_step", test_static_in_training);
}
