/* test_regularize.c — gradient-norm clipping and the l1/l2 penalty terms,
 * end to end through a compiled model (parse → elab → passes → emit C → cc →
 * dlopen), checked against numbers computed here in double.
 *
 * Why through the emitted C: clipping exists only in the generated
 * train_step (emit_c.c writes the global-norm computation and the rescale
 * before the optimizer call), and the penalties are loss terms built at
 * elaboration (elab_builtins.c) whose gradient comes out of autodiff — the
 * runtime's own unit tests see neither.
 *
 * The model is linear, y = x @ w + b, and the data term of the loss is
 * sum(output * label), so its gradient is known in closed form:
 * dL/dw = x^T label, dL/db = column sums of label. On top of that:
 *   - clip_norm = c: the gradients the optimizer sees (grad_data after the
 *     step) are g * c / (|g| + 1e-6) when the global norm |g| over ALL
 *     parameters exceeds c, else g; and plain SGD then moves each parameter
 *     by exactly -lr times that;
 *   - lambda * l1_penalty(): + lambda * sign(w) on the weights (rank >= 2)
 *     and nothing on the bias (weights_only defaults to true);
 *   - lambda * l2_penalty(weights_only = false): + 2 * lambda * w on every
 *     trainable parameter, the bias included.
 * Built and loaded with emitted.h (run from the repository root). */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "emitted.h"

/* ---- compiling .dln source to a loaded model ----------------------------- */

typedef struct model {
    emitted built;
    const dl_model_api *api;    /* built.api, the name the tests read best */
    void *inst;
} model;

/* Compile `src` (one model named `name`), load it, create and init it. */
static int load(const char *src, const char *name, int64_t max_batch, model *M)
{
    memset(M, 0, sizeof *M);
    if (emitted_build_source(src, &M->built) != 0 || strcmp(M->built.api->name, name) != 0) return -1;
    M->api = M->built.api;
    if (!(M->inst = M->api->create(max_batch))) return -1;
    M->api->init(M->inst, 7);
    return 0;
}

static void unload(model *M)
{
    if (M->inst) M->api->destroy(M->inst);
    emitted_unload(&M->built);
}

static int param_index(const model *M, const char *name)
{
    for (int i = 0; i < M->api->n_params; i++)
        if (strcmp(M->api->params[i].name, name) == 0) return i;
    return -1;
}

/* ---- the linear model and its closed-form data gradient -------------------- */

enum { NB = 4, IN = 3, OUT = 2 };

/* `loss` is the train section's loss expression, `optim` its optimizer. */
static char *linear_source(char *buf, size_t len, const char *name, const char *loss, const char *optim)
{
    snprintf(buf, len,
             "model %s(x: f32[N, %d]) -> f32[N, %d] {\n"
             "    param w: f32[%d, %d] = zeros\n"
             "    param b: f32[%d] = zeros\n"
             "    return x @ w + b\n"
             "}\n"
             "train %s {\n"
             "    data = csv(\"unused.csv\", batch = %d, classify = false)\n"
             "    loss = %s\n"
             "    optim = %s\n"
             "    epochs = 1\n"
             "}\n",
             name, IN, OUT, IN, OUT, OUT, name, NB, loss, optim);
    return buf;
}

/* Fixed inputs and starting parameters (no zero weights: sign(0) is moot). */
static const float X[NB * IN] = {0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.75f, -2.0f, 1.0f, 0.5f, 0.125f, 3.0f, -1.5f};
static const float W0[IN * OUT] = {0.3f, -0.2f, -0.7f, 0.45f, 0.15f, -0.05f};
static const float B0[OUT] = {0.25f, -0.6f};

/* gw = x^T label, gb = column sums of label: the gradient of sum(output * label). */
static void data_grad(const float *label, double *gw, double *gb)
{
    for (int i = 0; i < IN; i++)
        for (int j = 0; j < OUT; j++) {
            double s = 0;
            for (int n = 0; n < NB; n++) s += (double)X[n * IN + i] * label[n * OUT + j];
            gw[i * OUT + j] = s;
        }
    for (int j = 0; j < OUT; j++) {
        double s = 0;
        for (int n = 0; n < NB; n++) s += label[n * OUT + j];
        gb[j] = s;
    }
}

static int near(const float *got, const double *want, int n, double tol, const char *what)
{
    for (int i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= tol * (1.0 + fabs(want[i])))) {
            fprintf(stderr, "\n  %s[%d] = %.8g, want %.8g\n", what, i, got[i], want[i]);
            return 0;
        }
    return 1;
}

/* Load `src`, set w and b to W0/B0, run one train step with `label`. */
static int step_once(const char *src, const char *name, const float *label, model *M, int *wi, int *bi)
{
    if (load(src, name, NB, M) != 0) return -1;
    *wi = param_index(M, "w"), *bi = param_index(M, "b");
    if (*wi < 0 || *bi < 0) return -1;
    memcpy(M->api->param_data(M->inst, *wi), W0, sizeof W0);
    memcpy(M->api->param_data(M->inst, *bi), B0, sizeof B0);
    float loss = M->api->train_step(M->inst, X, label, NB);
    return isfinite(loss) ? 0 : -1;
}

/* ---- clipping ---------------------------------------------------------------- */

/* One SGD step with clip_norm = clip on labels scaled by `scale`: the
 * gradients after the step and the parameter update match the clipped
 * (or, below the threshold, the unclipped) closed form. */
static void check_clip(float scale, double clip, int expect_clipped)
{
    const double lr = 0.1;
    float label[NB * OUT];
    static const float base[NB * OUT] = {1.0f, -0.5f, 0.25f, 2.0f, -1.0f, 0.75f, 0.5f, -0.125f};
    for (int i = 0; i < NB * OUT; i++) label[i] = base[i] * scale;
    double gw[IN * OUT], gb[OUT], norm2 = 0;
    data_grad(label, gw, gb);
    for (int i = 0; i < IN * OUT; i++) norm2 += gw[i] * gw[i];
    for (int j = 0; j < OUT; j++) norm2 += gb[j] * gb[j];
    const double norm = sqrt(norm2), k = norm > clip ? clip / (norm + 1e-6) : 1.0;
    CU_ASSERT_EQUAL(norm > clip, expect_clipped);
    double cw[IN * OUT], cb[OUT], w1[IN * OUT], b1[OUT];
    for (int i = 0; i < IN * OUT; i++) cw[i] = gw[i] * k, w1[i] = W0[i] - lr * cw[i];
    for (int j = 0; j < OUT; j++) cb[j] = gb[j] * k, b1[j] = B0[j] - lr * cb[j];

    char src[1024], optim[64];
    snprintf(optim, sizeof optim, "sgd(lr = %g, clip_norm = %g)", lr, clip);
    linear_source(src, sizeof src, "clipm", "sum(output * label)", optim);
    model M;
    int wi, bi;
    CU_ASSERT_FATAL(step_once(src, "clipm", label, &M, &wi, &bi) == 0);
    CU_ASSERT(near(M.api->grad_data(M.inst, wi), cw, IN * OUT, 1e-5, "clipped grad w"));
    CU_ASSERT(near(M.api->grad_data(M.inst, bi), cb, OUT, 1e-5, "clipped grad b"));
    CU_ASSERT(near(M.api->param_data(M.inst, wi), w1, IN * OUT, 1e-5, "w after the step"));
    CU_ASSERT(near(M.api->param_data(M.inst, bi), b1, OUT, 1e-5, "b after the step"));
    if (expect_clipped) { /* the update's global norm is clip * lr */
        const float *gwf = M.api->grad_data(M.inst, wi), *gbf = M.api->grad_data(M.inst, bi);
        double n2 = 0;
        for (int i = 0; i < IN * OUT; i++) n2 += (double)gwf[i] * gwf[i];
        for (int j = 0; j < OUT; j++) n2 += (double)gbf[j] * gbf[j];
        CU_ASSERT(fabs(sqrt(n2) - clip) < 1e-4 * clip);
    }
    unload(&M);
}

static void test_clip_norm_clips(void) { check_clip(1.0f, 0.5, 1); }
static void test_clip_norm_below_threshold(void) { check_clip(0.01f, 0.5, 0); }

/* ---- penalties ------------------------------------------------------------- */

/* One step with `loss` = sum(output * label) + penalty terms; the gradient
 * after the step must be the data gradient plus (pw, pb) per element, where
 * the callback gives the expected penalty gradient of one parameter value. */
typedef double (*penalty_grad)(double v);
static double l1_grad(double v) { return 0.01 * (v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0); }
static double l2_grad(double v) { return 2.0 * 0.2 * v; }
static double both_grad(double v) { return l1_grad(v) + l2_grad(v); }
static double no_grad(double v) { (void)v; return 0.0; }

static void check_penalty(const char *loss, penalty_grad on_w, penalty_grad on_b)
{
    static const float label[NB * OUT] = {0.5f, -1.0f, 0.0f, 0.25f, 1.5f, -0.5f, -0.75f, 1.0f};
    double gw[IN * OUT], gb[OUT];
    data_grad(label, gw, gb);
    for (int i = 0; i < IN * OUT; i++) gw[i] += on_w(W0[i]);
    for (int j = 0; j < OUT; j++) gb[j] += on_b(B0[j]);
    char src[1024];
    linear_source(src, sizeof src, "penal", loss, "sgd(lr = 0.1)");
    model M;
    int wi, bi;
    CU_ASSERT_FATAL(step_once(src, "penal", label, &M, &wi, &bi) == 0);
    CU_ASSERT(near(M.api->grad_data(M.inst, wi), gw, IN * OUT, 1e-5, loss));
    CU_ASSERT(near(M.api->grad_data(M.inst, bi), gb, OUT, 1e-5, loss));
    unload(&M);
}

static void test_l1_penalty(void)
{
    check_penalty("sum(output * label) + 0.01 * l1_penalty()", l1_grad, no_grad);
    check_penalty("sum(output * label) + 0.01 * l1_penalty(weights_only = false)", l1_grad, l1_grad);
}

static void test_l2_penalty(void)
{
    check_penalty("sum(output * label) + 0.2 * l2_penalty()", l2_grad, no_grad);
    check_penalty("sum(output * label) + 0.2 * l2_penalty(weights_only = false)", l2_grad, l2_grad);
}

static void test_l1_l2_together(void)
{
    check_penalty("sum(output * label) + 0.01 * l1_penalty() + 0.2 * l2_penalty()", both_grad, no_grad);
}

void suite_regularize(void)
{
    CU_pSuite s = CU_add_suite("regularize", NULL, NULL);
    CU_add_test(s, "clip_norm rescales the global gradient norm before SGD", test_clip_norm_clips);
    CU_add_test(s, "clip_norm leaves small gradients alone", test_clip_norm_below_threshold);
    CU_add_test(s, "l1_penalty gradient is lambda * sign(w)", test_l1_penalty);
    CU_add_test(s, "l2_penalty gradient is 2 * lambda * w", test_l2_penalty);
    CU_add_test(s, "l1 and l2 penalties add", test_l1_l2_together);
}
