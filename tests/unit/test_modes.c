/* test_modes.c — train/eval mode differences, end to end through the
 * compiled model (parse → elab → passes → emit C → cc → dlopen), checked
 * against numbers computed here in double:
 *   - dropout: the identity in forward and eval_step; in train_step about p
 *     of the elements are zeroed and the survivors scaled by 1/(1-p), seen
 *     through a parameter's gradient; a fresh mask each step;
 *   - dropout2d: whole channels zeroed;
 *   - batch_norm / batch_norm1d (stdlib/norm.dln): the train step normalizes
 *     with the batch's statistics (per-channel mean 0, variance 1 before the
 *     affine, seen through the gradients of bias and weight under an MSE
 *     loss against zeros), updates running_mean / running_var with
 *     PyTorch's momentum rule and the unbiased variance, and forward uses
 *     the running statistics;
 *   - layer_norm, group_norm, instance_norm (affine or not): forward values.
 *
 * Why through the emitted C rather than the interpreter: the mode split
 * happens at elaboration (three graphs per model), and the buffer updates
 * and the per-step random seeds exist only in the generated step functions.
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
static int load(const char *src, const char *name, int64_t max_batch, model *M) {
    memset(M, 0, sizeof *M);
    if (emitted_build_source(src, &M->built) != 0 || strcmp(M->built.api->name, name) != 0) return -1;
    M->api = M->built.api;
    if (!(M->inst = M->api->create(max_batch))) return -1;
    M->api->init(M->inst, 7);
    return 0;
}

static void unload(model *M) {
    if (M->inst) M->api->destroy(M->inst);
    emitted_unload(&M->built);
}

/* The index of the parameter whose name ends in `suffix`, or -1. */
static int param_index(const model *M, const char *suffix) {
    size_t ls = strlen(suffix);
    for (int i = 0; i < M->api->n_params; i++) {
        size_t ln = strlen(M->api->params[i].name);
        if (ln >= ls && strcmp(M->api->params[i].name + ln - ls, suffix) == 0) return i;
    }
    return -1;
}

/* ---- data ----------------------------------------------------------------- */

static uint64_t rng_state = 2024;
static double urand(void) { return emitted_urand(&rng_state); }
/* Roughly N(mean, sd) (sum of uniforms): only spread matters here. */
static float noise(double mean, double sd) {
    double s = 0;
    for (int k = 0; k < 12; k++) s += urand();
    return (float)(mean + sd * (s - 6));
}

static float *filled(int64_t n, float v) {
    float *p = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) p[i] = v;
    return p;
}

/* |got - want| <= tol * max(1, |want|) everywhere; prints the first miss. */
static int near(const float *got, const double *want, int64_t n, double tol, const char *what) {
    for (int64_t i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= tol * fmax(1.0, fabs(want[i])))) {
            printf("\n  %s[%lld]: got %.8g, want %.8g\n", what, (long long)i, got[i], want[i]);
            return 0;
        }
    return 1;
}

/* ---- dropout --------------------------------------------------------------- */

/* loss = sum(output * label) with x = label = 1 and s = ones: the gradient of
 * s is the train-mode mask times 1/(1-p), element by element (N = 1). */
static const char *dropout_src =
    "model drop(x: f32[N, 4000]) -> f32[N, 4000] {\n"
    "    param s: f32[4000] = ones\n"
    "    return dropout(x * s, p = 0.3)\n"
    "}\n"
    "train drop {\n"
    "    data = csv(\"unused.csv\", batch = 1, classify = false)\n"
    "    loss = sum(output * label)\n"
    "    optim = sgd(lr = 1e-12)\n" /* keeps s at 1 in float */
    "    epochs = 1\n"
    "}\n";

static void test_dropout(void) {
    model M;
    const int64_t C = 4000;
    const double p = 0.3;
    CU_ASSERT_EQUAL_FATAL(load(dropout_src, "drop", 4, &M), 0);
    int si = param_index(&M, "s");
    CU_ASSERT_FATAL(si >= 0);
    float *x = malloc(sizeof(float) * (size_t)(4 * C)), *out = malloc(sizeof(float) * (size_t)(4 * C)),
          *ones = filled(4 * C, 1.0f);
    for (int64_t i = 0; i < 4 * C; i++) x[i] = noise(0, 1);

    /* forward and eval_step: the identity (s = 1) */
    M.api->forward(M.inst, x, out, 4);
    int same = 1;
    for (int64_t i = 0; i < 4 * C; i++) same &= out[i] == x[i];
    CU_ASSERT(same);
    double want = 0;
    for (int64_t i = 0; i < 4 * C; i++) want += x[i];
    float l = M.api->eval_step(M.inst, x, ones, out, 4);
    CU_ASSERT_DOUBLE_EQUAL(l, want, 1e-3 * fmax(1, fabs(want)));

    /* train_step: mask / (1 - p) in the gradient of s */
    float *first = malloc(sizeof(float) * (size_t)C);
    for (int step = 0; step < 2; step++) {
        float loss = M.api->train_step(M.inst, ones, ones, 1);
        const float *g = M.api->grad_data(M.inst, si);
        int64_t zeros = 0, scaled = 0;
        double sum = 0;
        for (int64_t j = 0; j < C; j++) {
            zeros += g[j] == 0.0f;
            scaled += fabs(g[j] - 1.0 / (1.0 - p)) < 1e-6;
            sum += g[j];
        }
        CU_ASSERT_EQUAL(zeros + scaled, C);               /* every element dropped or scaled by 1/(1-p) */
        CU_ASSERT(fabs((double)zeros / C - p) < 0.03);   /* ~4 sigma at n = 4000 */
        CU_ASSERT_DOUBLE_EQUAL(loss, sum, 1e-3 * sum);   /* the loss saw the same mask */
        if (step == 0) memcpy(first, g, sizeof(float) * (size_t)C);
        else CU_ASSERT(memcmp(first, g, sizeof(float) * (size_t)C) != 0); /* a new mask each step */
    }
    /* back in evaluation: the identity again */
    M.api->forward(M.inst, x, out, 4);
    same = 1;
    for (int64_t i = 0; i < 4 * C; i++) same &= out[i] == x[i];
    CU_ASSERT(same);
    free(first);
    free(x);
    free(out);
    free(ones);
    unload(&M);
}

/* dropout2d on f32[1, 256, 2, 3]: each channel's 6 gradients are all 0 or all 1/(1-p). */
static const char *dropout2d_src =
    "model drop2(x: f32[N, 256, 2, 3]) -> f32[N, 256, 2, 3] {\n"
    "    param s: f32[256, 2, 3] = ones\n"
    "    return dropout2d(x * s, p = 0.25)\n"
    "}\n"
    "train drop2 {\n"
    "    data = csv(\"unused.csv\", batch = 1, classify = false)\n"
    "    loss = sum(output * label)\n"
    "    optim = sgd(lr = 1e-12)\n" /* keeps s at 1 in float */
    "    epochs = 1\n"
    "}\n";

static void test_dropout2d(void) {
    model M;
    const int64_t C = 256, HW = 6;
    const double p = 0.25;
    CU_ASSERT_EQUAL_FATAL(load(dropout2d_src, "drop2", 1, &M), 0);
    int si = param_index(&M, "s");
    CU_ASSERT_FATAL(si >= 0);
    float *ones = filled(C * HW, 1.0f), *out = filled(C * HW, 0.0f);
    M.api->forward(M.inst, ones, out, 1);
    int same = 1;
    for (int64_t i = 0; i < C * HW; i++) same &= out[i] == 1.0f;
    CU_ASSERT(same);
    M.api->train_step(M.inst, ones, ones, 1);
    const float *g = M.api->grad_data(M.inst, si);
    int64_t dropped = 0, whole = 0;
    for (int64_t c = 0; c < C; c++) {
        int all0 = 1, all_scaled = 1;
        for (int64_t k = 0; k < HW; k++) {
            all0 &= g[c * HW + k] == 0.0f;
            all_scaled &= fabs(g[c * HW + k] - 1.0 / (1.0 - p)) < 1e-6;
        }
        whole += all0 || all_scaled;
        dropped += all0;
    }
    CU_ASSERT_EQUAL(whole, C);
    CU_ASSERT(fabs((double)dropped / C - p) < 0.11); /* ~4 sigma at n = 256 */
    CU_ASSERT(dropped > 0 && dropped < C);
    free(ones);
    free(out);
    unload(&M);
}

/* ---- batch normalization ---------------------------------------------------- */

/* Per-channel statistics of x laid out [N, C, S] (S = H*W, 1 for 1-d). */
static void channel_stats(const float *x, int64_t n, int64_t c, int64_t s, double *mean, double *var) {
    for (int64_t ch = 0; ch < c; ch++) {
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = 0; k < s; k++) sum += x[(i * c + ch) * s + k];
        mean[ch] = sum / (double)(n * s);
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = 0; k < s; k++) {
                double d = x[(i * c + ch) * s + k] - mean[ch];
                sq += d * d;
            }
        var[ch] = sq / (double)(n * s); /* biased, as used to normalize */
    }
}

/* One batch-norm model: x is [n, c, s]; checks two train steps and forward. */
static void check_batch_norm(const char *src, const char *name, int64_t n, int64_t c, int64_t s) {
    const double eps = 1e-5, momentum = 0.1;
    const int64_t total = n * c * s, m = n * s;
    model M;
    CU_ASSERT_EQUAL_FATAL(load(src, name, n, &M), 0);
    int wi = param_index(&M, ".weight"), bi = param_index(&M, ".bias"), mi = param_index(&M, ".running_mean"),
        vi = param_index(&M, ".running_var");
    CU_ASSERT_FATAL(wi >= 0 && bi >= 0 && mi >= 0 && vi >= 0);
    CU_ASSERT(M.api->params[wi].trainable && !M.api->params[mi].trainable && !M.api->params[vi].trainable);
    float *x = malloc(sizeof(float) * (size_t)total), *zero = filled(total, 0.0f), *out = filled(total, 0.0f);
    double *mean = calloc((size_t)c, sizeof(double)), *var = calloc((size_t)c, sizeof(double));
    double *rm = calloc((size_t)c, sizeof(double)), *rv = calloc((size_t)c, sizeof(double));
    double *gw = calloc((size_t)c, sizeof(double)), *gb = calloc((size_t)c, sizeof(double));
    double *want = calloc((size_t)total, sizeof(double));
    for (int64_t ch = 0; ch < c; ch++) rm[ch] = 0, rv[ch] = 1;

    for (int step = 0; step < 2; step++) {
        for (int64_t i = 0; i < n; i++) /* channel ch ~ N(ch - 1 + step, 1 + ch) */
            for (int64_t ch = 0; ch < c; ch++)
                for (int64_t k = 0; k < s; k++) x[(i * c + ch) * s + k] = noise((double)(ch - 1 + step), 1.0 + ch);
        channel_stats(x, n, c, s, mean, var);
        /* y = yhat * 1 + 0 (weight/bias as the step found them: init, then
         * SGD moved them, so keep the values the step used). */
        const float *w0 = M.api->param_data(M.inst, wi), *b0 = M.api->param_data(M.inst, bi);
        double *wv = calloc((size_t)c, sizeof(double)), *bv = calloc((size_t)c, sizeof(double));
        for (int64_t ch = 0; ch < c; ch++) wv[ch] = w0[ch], bv[ch] = b0[ch];
        /* loss = mean(y^2): dL/dbias[c] = 2/T Σ y, dL/dweight[c] = 2/T Σ y·yhat */
        double loss = 0;
        for (int64_t ch = 0; ch < c; ch++) gw[ch] = gb[ch] = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t ch = 0; ch < c; ch++)
                for (int64_t k = 0; k < s; k++) {
                    double yh = (x[(i * c + ch) * s + k] - mean[ch]) / sqrt(var[ch] + eps);
                    double y = yh * wv[ch] + bv[ch];
                    loss += y * y / (double)total;
                    gb[ch] += 2 * y / (double)total;
                    gw[ch] += 2 * y * yh / (double)total;
                }
        float got_loss = M.api->train_step(M.inst, x, zero, n);
        CU_ASSERT_DOUBLE_EQUAL(got_loss, loss, 1e-4 * loss);
        const float *gwf = M.api->grad_data(M.inst, wi), *gbf = M.api->grad_data(M.inst, bi);
        CU_ASSERT(near(gwf, gw, c, 1e-4, "grad weight"));
        CU_ASSERT(near(gbf, gb, c, 1e-4, "grad bias"));
        if (step == 0) /* weight 1, bias 0: the gradients are the normalized output's moments */
            for (int64_t ch = 0; ch < c; ch++) {
                CU_ASSERT(fabs(gbf[ch] * (double)total / (2.0 * m)) < 1e-4);               /* mean 0 */
                CU_ASSERT(fabs(gwf[ch] * (double)total / (2.0 * m) - 1.0) < 1e-3);         /* variance 1 */
            }
        /* running statistics: PyTorch's momentum rule, unbiased variance */
        for (int64_t ch = 0; ch < c; ch++) {
            rm[ch] = (1 - momentum) * rm[ch] + momentum * mean[ch];
            rv[ch] = (1 - momentum) * rv[ch] + momentum * var[ch] * (double)m / (double)(m - 1);
        }
        CU_ASSERT(near(M.api->param_data(M.inst, mi), rm, c, 1e-5, "running_mean"));
        CU_ASSERT(near(M.api->param_data(M.inst, vi), rv, c, 1e-5, "running_var"));
        free(wv);
        free(bv);
    }

    /* forward (evaluation): the running statistics and the current affine */
    const float *w = M.api->param_data(M.inst, wi), *b = M.api->param_data(M.inst, bi);
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t k = 0; k < s; k++) {
                int64_t at = (i * c + ch) * s + k;
                want[at] = (x[at] - rm[ch]) / sqrt(rv[ch] + eps) * w[ch] + b[ch];
            }
    M.api->forward(M.inst, x, out, n);
    CU_ASSERT(near(out, want, total, 1e-4, "eval output"));
    /* eval_step: the same, and it leaves the running statistics alone */
    M.api->eval_step(M.inst, x, zero, out, n);
    CU_ASSERT(near(out, want, total, 1e-4, "eval_step output"));
    CU_ASSERT(near(M.api->param_data(M.inst, mi), rm, c, 1e-5, "running_mean after eval"));
    free(x), free(zero), free(out), free(mean), free(var), free(rm), free(rv), free(gw), free(gb), free(want);
    unload(&M);
}

static void test_batch_norm(void) {
    check_batch_norm("model bn(x: f32[N, 3, 4, 5]) -> f32[N, 3, 4, 5] {\n"
                     "    return batch_norm(x)\n"
                     "}\n"
                     "train bn {\n"
                     "    data = csv(\"unused.csv\", batch = 6, classify = false)\n"
                     "    loss = mse(output, label)\n"
                     "    optim = sgd(lr = 0.1)\n"
                     "    epochs = 1\n"
                     "}\n",
                     "bn", 6, 3, 20);
}

static void test_batch_norm1d(void) {
    check_batch_norm("model bn1(x: f32[N, 5]) -> f32[N, 5] {\n"
                     "    return batch_norm1d(x)\n"
                     "}\n"
                     "train bn1 {\n"
                     "    data = csv(\"unused.csv\", batch = 16, classify = false)\n"
                     "    loss = mse(output, label)\n"
                     "    optim = sgd(lr = 0.1)\n"
                     "    epochs = 1\n"
                     "}\n",
                     "bn1", 16, 5, 1);
}

/* nn.BatchNorm1d's other form, f32[N, C, L]: statistics over N and L. */
static void test_batch_norm1d_ncl(void) {
    check_batch_norm("model bn3(x: f32[N, 5, 4]) -> f32[N, 5, 4] {\n"
                     "    return batch_norm1d(x)\n"
                     "}\n"
                     "train bn3 {\n"
                     "    data = csv(\"unused.csv\", batch = 6, classify = false)\n"
                     "    loss = mse(output, label)\n"
                     "    optim = sgd(lr = 0.1)\n"
                     "    epochs = 1\n"
                     "}\n",
                     "bn3", 6, 5, 4);
}

/* ---- layer, group and instance normalization (forward) --------------------- */

/* Normalize x laid out [outer, len] row by row (biased variance). */
static void normalize_rows(const float *x, double *y, int64_t outer, int64_t len, double eps) {
    for (int64_t r = 0; r < outer; r++) {
        double mu = 0, v = 0;
        for (int64_t k = 0; k < len; k++) mu += x[r * len + k];
        mu /= (double)len;
        for (int64_t k = 0; k < len; k++) v += (x[r * len + k] - mu) * (x[r * len + k] - mu);
        v /= (double)len;
        for (int64_t k = 0; k < len; k++) y[r * len + k] = (x[r * len + k] - mu) / sqrt(v + eps);
    }
}

/* Random affine parameters (so they are not the identity), then forward. */
static void randomize(model *M, const char *suffix) {
    int i = param_index(M, suffix);
    if (i < 0) return;
    float *p = M->api->param_data(M->inst, i);
    for (int64_t k = 0; k < M->api->params[i].numel; k++) p[k] = noise(0.5, 1.0);
}

/* The affine of channel-wise weight/bias: y[(i, ch, k)] = y * w[ch] + b[ch]. */
static void affine(model *M, double *y, int64_t n, int64_t c, int64_t s) {
    const float *w = M->api->param_data(M->inst, param_index(M, ".weight"));
    const float *b = M->api->param_data(M->inst, param_index(M, ".bias"));
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t k = 0; k < s; k++) y[(i * c + ch) * s + k] = y[(i * c + ch) * s + k] * w[ch] + b[ch];
}

/* Compile, randomize affine params, run forward on x ~ N(1, 2). */
static float *run_forward(const char *src, const char *name, int64_t n, int64_t numel, model *M, float **xout) {
    if (load(src, name, n, M) != 0) return NULL;
    randomize(M, ".weight");
    randomize(M, ".bias");
    float *x = malloc(sizeof(float) * (size_t)numel), *out = filled(numel, 0.0f);
    for (int64_t i = 0; i < numel; i++) x[i] = noise(1.0, 2.0);
    M->api->forward(M->inst, x, out, n);
    *xout = x;
    return out;
}

static void test_layer_norm(void) {
    /* over the last dimension of f32[N, 4, 10]: weight/bias per feature */
    const int64_t n = 3, rows = n * 4, len = 10;
    model M;
    float *x, *out = run_forward("model ln(x: f32[N, 4, 10]) -> f32[N, 4, 10] {\n    return layer_norm(x, 10)\n}\n",
                                 "ln", n, rows * len, &M, &x);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    double *want = calloc((size_t)(rows * len), sizeof(double));
    normalize_rows(x, want, rows, len, 1e-5);
    const float *w = M.api->param_data(M.inst, param_index(&M, ".weight"));
    const float *b = M.api->param_data(M.inst, param_index(&M, ".bias"));
    for (int64_t r = 0; r < rows; r++)
        for (int64_t k = 0; k < len; k++) want[r * len + k] = want[r * len + k] * w[k] + b[k];
    CU_ASSERT(near(out, want, rows * len, 1e-4, "layer_norm"));
    free(x), free(out), free(want);
    unload(&M);
}

static void test_group_norm(void) {
    /* f32[N, 6, 3, 3] in 2 groups of 3 channels: rows of 3*9 per (sample, group) */
    const int64_t n = 2, c = 6, s = 9, numel = n * c * s;
    model M;
    float *x, *out = run_forward("model gn(x: f32[N, 6, 3, 3]) -> f32[N, 6, 3, 3] {\n"
                                 "    return group_norm(x, groups = 2)\n}\n",
                                 "gn", n, numel, &M, &x);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    double *want = calloc((size_t)numel, sizeof(double));
    normalize_rows(x, want, n * 2, 3 * s, 1e-5);
    affine(&M, want, n, c, s);
    CU_ASSERT(near(out, want, numel, 1e-4, "group_norm"));
    free(x), free(out), free(want);
    unload(&M);
}

static void test_instance_norm(void) {
    const int64_t n = 2, c = 3, s = 4 * 5, numel = n * c * s;
    for (int aff = 0; aff < 2; aff++) {
        char src[256];
        snprintf(src, sizeof src, "model inorm(x: f32[N, 3, 4, 5]) -> f32[N, 3, 4, 5] {\n"
                                  "    return instance_norm(x, affine = %s)\n}\n", aff ? "true" : "false");
        model M;
        float *x, *out = run_forward(src, "inorm", n, numel, &M, &x);
        CU_ASSERT_PTR_NOT_NULL_FATAL(out);
        CU_ASSERT_EQUAL(M.api->n_params, aff ? 2 : 0);
        double *want = calloc((size_t)numel, sizeof(double));
        normalize_rows(x, want, n * c, s, 1e-5);
        if (aff) affine(&M, want, n, c, s);
        CU_ASSERT(near(out, want, numel, 1e-4, aff ? "instance_norm affine" : "instance_norm"));
        free(x), free(out), free(want);
        unload(&M);
    }
}

void suite_modes(void) {
    CU_pSuite s = CU_add_suite("modes", NULL, NULL);
    CU_add_test(s, "dropout: identity in eval, mask/(1-p) in train", test_dropout);
    CU_add_test(s, "dropout2d: whole channels", test_dropout2d);
    CU_add_test(s, "batch_norm: batch stats in train, running stats in eval", test_batch_norm);
    CU_add_test(s, "batch_norm1d: batch stats in train, running stats in eval", test_batch_norm1d);
    CU_add_test(s, "batch_norm1d on f32[N, C, L]: stats over N and L, running stats in eval", test_batch_norm1d_ncl);
    CU_add_test(s, "layer_norm forward", test_layer_norm);
    CU_add_test(s, "group_norm forward", test_group_norm);
    CU_add_test(s, "instance_norm forward (affine or not)", test_instance_norm);
}
