/* test_gather.c — take and scatter_add (rows by integer index: embedding
 * lookups and their adjoint) in generated code.
 *
 * The gradient check (test_gradcheck.c) holds the VJPs to central
 * differences on the interpreter, and the parity suite holds both to
 * PyTorch; what is left is the generated C itself: the values and the
 * table's gradient with indices repeated (rows that must sum), and the
 * run-time index check — an index outside [0, V) stops the step with NaN
 * and a message naming the index, the range, the op and the user's line,
 * before anything is read. The i32 indices are the train section's class
 * labels, the only integer data a model receives today. */
#include <CUnit/CUnit.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "emitted.h"

/* loss = sum(output * table[label]) with output = x: the gradient of
 * table row v is the sum of the x rows labelled v. */
static const char *lookup_src =
    "block lookup(t: i32[N], v: int, d: int) -> f32[N, d] {\n"
    "    param table: f32[v, d] = normal()\n"
    "    return take(table, t)\n"
    "}\n"
    "model m(x: f32[N, 3]) -> f32[N, 3] {\n"
    "    param s: f32[1] = ones\n"
    "    return x * s\n"
    "}\n"
    "train m {\n"
    "    data = csv(\"unused.csv\", batch = 4, classify = true)\n"
    "    loss = sum(output * lookup(label, 5, 3))\n"
    "    optim = sgd(lr = 0.1)\n"
    "    epochs = 1\n"
    "}\n";

static int param_index(const emitted *e, const char *name)
{
    for (int i = 0; i < e->api->n_params; i++)
        if (strcmp(e->api->params[i].name, name) == 0) return i;
    return -1;
}

static void test_take_values_and_gradient(void)
{
    enum { B = 4, V = 5, D = 3 };
    emitted e;
    CU_ASSERT_FATAL(emitted_build_source(lookup_src, &e) == 0);
    const char *(*last_error)(void); /* the built model links its own runtime: ask its error channel */
    *(void **)&last_error = dlsym(e.so, "dl_last_error");
    CU_ASSERT_PTR_NOT_NULL_FATAL(last_error);
    int ti = param_index(&e, "lookup0.table");
    CU_ASSERT_FATAL(ti >= 0);
    void *m = e.api->create(B);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    e.api->init(m, 7);
    float table[V * D], x[B * D];
    memcpy(table, e.api->param_data(m, ti), sizeof table);
    uint64_t state = 11;
    for (int i = 0; i < B * D; i++) x[i] = (float)(2 * emitted_urand(&state) - 1);
    const int32_t label[B] = {1, 3, 1, 0}; /* row 1 twice: its gradient is a sum */
    double want_loss = 0, want_grad[V * D] = {0};
    for (int n = 0; n < B; n++)
        for (int j = 0; j < D; j++) {
            want_loss += (double)x[n * D + j] * table[label[n] * D + j];
            want_grad[label[n] * D + j] += x[n * D + j];
        }
    float loss = e.api->train_step(m, x, label, B);
    CU_ASSERT(fabs(loss - want_loss) < 1e-5 * (1 + fabs(want_loss)));
    CU_ASSERT(emitted_close(e.api->grad_data(m, ti), want_grad, V * D, 1e-6, "take's table gradient"));

    /* an index outside [0, 5): NaN and a message, in both steps */
    int32_t bad[B] = {1, 5, 1, 0};
    CU_ASSERT(isnan(e.api->train_step(m, x, bad, B)));
    CU_ASSERT_PTR_NOT_NULL(strstr(last_error(), "index 5 out of range [0, 5) in take at t.dln:3:12"));
    bad[1] = 0, bad[3] = -2;
    CU_ASSERT(isnan(e.api->eval_step(m, x, bad, NULL, B)));
    CU_ASSERT_PTR_NOT_NULL(strstr(last_error(), "index -2 out of range [0, 5) in take at t.dln:3:12 (element 3"));
    e.api->destroy(m);
    emitted_unload(&e);
}

/* cross_entropy over [1, N, C] positions (the labels unsqueezed to [1, N]):
 * a target of -100 (ignore_index) counts for nothing, neither loss nor
 * denominator, and gets no gradient; one outside [0, C) otherwise is an
 * error naming the user's line. one_hot's indices are checked the same way. */
static const char *seq_src =
    "model m(x: f32[N, 4]) -> f32[N, 4] {\n"
    "    param s: f32[1] = ones\n"
    "    return x * s\n"
    "}\n"
    "train m {\n"
    "    data = csv(\"unused.csv\", batch = 4, classify = true)\n"
    "    loss = cross_entropy(unsqueeze(output, 0), unsqueeze(label, 0))\n"
    "    optim = sgd(lr = 0.1)\n"
    "    epochs = 1\n"
    "}\n";

static void test_cross_entropy_ignore_and_range(void)
{
    enum { B = 4, C = 4 };
    emitted e;
    CU_ASSERT_FATAL(emitted_build_source(seq_src, &e) == 0);
    const char *(*last_error)(void);
    *(void **)&last_error = dlsym(e.so, "dl_last_error");
    CU_ASSERT_PTR_NOT_NULL_FATAL(last_error);
    void *m = e.api->create(B);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    e.api->init(m, 1); /* s = 1: the logits are x */
    const float x[B * C] = {1, 2, 0, -1, 0.5f, 0.5f, 3, 0, -2, 1, 1, 0, 4, 0, 0, 1};
    const int32_t y[B] = {1, -100, 2, -100};
    double want = 0;
    for (int n = 0; n < B; n += 2) { /* rows 1 and 3 are ignored */
        double mx = -INFINITY, sum = 0;
        for (int k = 0; k < C; k++) mx = fmax(mx, x[n * C + k]);
        for (int k = 0; k < C; k++) sum += exp(x[n * C + k] - mx);
        want += (mx + log(sum) - x[n * C + y[n]]) / 2;
    }
    float loss = e.api->eval_step(m, x, y, NULL, B);
    CU_ASSERT(fabs(loss - want) < 1e-5);
    int32_t bad[B] = {1, 4, 2, -100};
    CU_ASSERT(isnan(e.api->train_step(m, x, bad, B)));
    CU_ASSERT_PTR_NOT_NULL(strstr(last_error(), "label 4 (element 1 of the labels) is outside [0, 4) at t.dln:7:12"));
    e.api->destroy(m);
    emitted_unload(&e);

    /* one_hot: the same check, at its own line */
    static const char *one_hot_src =
        "model m(x: f32[N, 4]) -> f32[N, 4] {\n"
        "    param s: f32[1] = ones\n"
        "    return x * s\n"
        "}\n"
        "train m {\n"
        "    data = csv(\"unused.csv\", batch = 4, classify = true)\n"
        "    loss = sum(one_hot(label, 4) * output)\n"
        "    optim = sgd(lr = 0.1)\n"
        "    epochs = 1\n"
        "}\n";
    CU_ASSERT_FATAL(emitted_build_source(one_hot_src, &e) == 0);
    *(void **)&last_error = dlsym(e.so, "dl_last_error");
    CU_ASSERT_PTR_NOT_NULL_FATAL(last_error);
    m = e.api->create(B);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    e.api->init(m, 1);
    const int32_t good[B] = {1, 0, 3, 3};
    CU_ASSERT(fabs(e.api->eval_step(m, x, good, NULL, B) - (2 + 0.5f + 0 + 1)) < 1e-6);
    CU_ASSERT(isnan(e.api->eval_step(m, x, y, NULL, B)));
    CU_ASSERT_PTR_NOT_NULL(strstr(last_error(), "label -100 (element 1 of the labels) is outside [0, 4) at t.dln:7:16"));
    e.api->destroy(m);
    emitted_unload(&e);
}

void suite_gather(void)
{
    CU_pSuite s = CU_add_suite("gather", NULL, NULL);
    CU_add_test(s, "take: values, the table's gradient with repeated rows, index checks", test_take_values_and_gradient);
    CU_add_test(s, "cross_entropy over positions: ignore_index, labels out of range", test_cross_entropy_ignore_and_range);
}
