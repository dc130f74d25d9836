/* test_gather.c — take and scatter_add (rows by integer index: embedding
 * lookups and their adjoint), gather along an axis, one_hot and
 * cross_entropy over positions, in generated code.
 *
 * The gradient check (test_gradcheck.c) holds the VJPs to central
 * differences on the interpreter, and the parity suite holds everything to
 * PyTorch; what is left is the generated C itself: the values and the
 * table's gradient with indices repeated (rows that must sum), ignored
 * targets, and the run-time index checks — an index outside its range stops
 * the step with NaN and a message naming the index, the range and the
 * user's line, before anything is read. The i32 indices are the train
 * section's class labels, the only integer data a model receives today. */
#include <CUnit/CUnit.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "emitted.h"

/* A loaded model: m(x: f32[N, 4]) = x * s, s = 1 after init, so the output
 * is x; its train section's loss is the given line over class labels. */
typedef struct loaded {
    emitted e;
    void *m;
    const char *(*last_error)(void); /* the built model links its own runtime: ask its error channel */
} loaded;

enum { B = 4, W = 4 };

static int load(const char *blocks, const char *loss, loaded *l)
{
    char src[2048];
    snprintf(src, sizeof src,
             "%s"
             "model m(x: f32[N, 4]) -> f32[N, 4] {\n"
             "    param s: f32[1] = ones\n"
             "    return x * s\n"
             "}\n"
             "train m {\n"
             "    data = csv(\"unused.csv\", batch = 4, classify = true)\n"
             "    loss = %s\n"
             "    optim = sgd(lr = 0.1)\n"
             "    epochs = 1\n"
             "}\n",
             blocks, loss);
    if (emitted_build_source(src, &l->e) != 0) return -1;
    *(void **)&l->last_error = dlsym(l->e.so, "dl_last_error");
    l->m = l->e.api->create(B);
    if (!l->last_error || !l->m) return -1;
    l->e.api->init(l->m, 7);
    return 0;
}

static void unload(loaded *l)
{
    if (l->m) l->e.api->destroy(l->m);
    emitted_unload(&l->e);
}

static const float x[B * W] = {1, 2, 0, -1, 0.5f, 0.5f, 3, 0, -2, 1, 1, 0, 4, 0, 0, 1};

/* loss = sum(output * table[label]) (line 3 is the take): the gradient of
 * table row v is the sum of the x rows labelled v. */
static void test_take_values_and_gradient(void)
{
    enum { V = 5 };
    loaded l;
    CU_ASSERT_FATAL(load("block lookup(t: i32[N], v: int, d: int) -> f32[N, d] {\n"
                         "    param table: f32[v, d] = normal()\n"
                         "    return take(table, t)\n"
                         "}\n",
                         "sum(output * lookup(label, 5, 4))", &l) == 0);
    int ti = emitted_param_index(&l.e, "lookup0.table");
    CU_ASSERT_FATAL(ti >= 0);
    float table[V * W];
    memcpy(table, l.e.api->param_data(l.m, ti), sizeof table);
    const int32_t label[B] = {1, 3, 1, 0}; /* row 1 twice: its gradient is a sum */
    double want_loss = 0, want_grad[V * W] = {0};
    for (int n = 0; n < B; n++)
        for (int j = 0; j < W; j++) {
            want_loss += (double)x[n * W + j] * table[label[n] * W + j];
            want_grad[label[n] * W + j] += x[n * W + j];
        }
    float loss = l.e.api->train_step(l.m, x, label, B);
    CU_ASSERT(fabs(loss - want_loss) < 1e-5 * (1 + fabs(want_loss)));
    CU_ASSERT(emitted_close(l.e.api->grad_data(l.m, ti), want_grad, V * W, 1e-6, "take's table gradient"));

    /* an index outside [0, 5): NaN and a message, in both steps */
    int32_t bad[B] = {1, 5, 1, 0};
    CU_ASSERT(isnan(l.e.api->train_step(l.m, x, bad, B)));
    CU_ASSERT_PTR_NOT_NULL(strstr(l.last_error(), "index 5 out of range [0, 5) in take at t.dln:3:12"));
    bad[1] = 0, bad[3] = -2;
    CU_ASSERT(isnan(l.e.api->eval_step(l.m, x, bad, NULL, B)));
    CU_ASSERT_PTR_NOT_NULL(strstr(l.last_error(), "index -2 out of range [0, 5) in take at t.dln:3:12 (element 3"));
    unload(&l);
}

/* cross_entropy over [1, N, C] positions (the labels unsqueezed to [1, N]):
 * a target of -100 (ignore_index) counts for nothing, neither loss nor
 * denominator; one outside [0, C) otherwise is an error naming the user's
 * line (the loss is line 7 of the source). */
static void test_cross_entropy_ignore_and_range(void)
{
    loaded l;
    CU_ASSERT_FATAL(load("", "cross_entropy(unsqueeze(output, 0), unsqueeze(label, 0))", &l) == 0);
    const int32_t y[B] = {1, -100, 2, -100};
    double want = 0;
    for (int n = 0; n < B; n += 2) { /* rows 1 and 3 are ignored */
        double mx = -INFINITY, sum = 0;
        for (int k = 0; k < W; k++) mx = fmax(mx, x[n * W + k]);
        for (int k = 0; k < W; k++) sum += exp(x[n * W + k] - mx);
        want += (mx + log(sum) - x[n * W + y[n]]) / 2;
    }
    CU_ASSERT(fabs(l.e.api->eval_step(l.m, x, y, NULL, B) - want) < 1e-5);
    const int32_t bad[B] = {1, 4, 2, -100};
    CU_ASSERT(isnan(l.e.api->train_step(l.m, x, bad, B)));
    CU_ASSERT_PTR_NOT_NULL(strstr(l.last_error(), "label 4 (element 1 of the labels) is outside [0, 4) at t.dln:7:12"));
    unload(&l);
}

/* one_hot: rows of the identity, and the same check at its own line. */
static void test_one_hot(void)
{
    loaded l;
    CU_ASSERT_FATAL(load("", "sum(one_hot(label, 4) * output)", &l) == 0);
    const int32_t good[B] = {1, 0, 3, 3}, bad[B] = {1, -100, 2, 0};
    CU_ASSERT(fabs(l.e.api->eval_step(l.m, x, good, NULL, B) - (2 + 0.5f + 0 + 1)) < 1e-6);
    CU_ASSERT(isnan(l.e.api->eval_step(l.m, x, bad, NULL, B)));
    CU_ASSERT_PTR_NOT_NULL(strstr(l.last_error(), "label -100 (element 1 of the labels) is outside [0, 4) at t.dln:7:16"));
    unload(&l);
}

/* gather along the classes: x[n, label[n]], and the same check as take's. */
static void test_gather_axis(void)
{
    loaded l;
    CU_ASSERT_FATAL(load("", "sum(gather(output, unsqueeze(label, 1), 1))", &l) == 0);
    const int32_t good[B] = {1, 0, 3, 3}, bad[B] = {1, 0, 4, 0};
    CU_ASSERT(fabs(l.e.api->train_step(l.m, x, good, B) - (2 + 0.5f + 0 + 1)) < 1e-6);
    CU_ASSERT(isnan(l.e.api->eval_step(l.m, x, bad, NULL, B)));
    CU_ASSERT_PTR_NOT_NULL(strstr(l.last_error(), "index 4 out of range [0, 4) in gather at t.dln:7:16 (element 2"));
    unload(&l);
}

void suite_gather(void)
{
    CU_pSuite s = CU_add_suite("gather", NULL, NULL);
    CU_add_test(s, "take: values, the table's gradient with repeated rows, index checks", test_take_values_and_gradient);
    CU_add_test(s, "cross_entropy over positions: ignore_index, labels out of range", test_cross_entropy_ignore_and_range);
    CU_add_test(s, "one_hot: values and index checks", test_one_hot);
    CU_add_test(s, "gather along an axis: values and index checks", test_gather_axis);
}
