/* explain.c — FGSM and PGD against a trained image classifier (`dlnc
 * explain --attack`).
 *
 * The gradient of the loss with respect to the image comes from the
 * compiler: `ig` is the classifier rewritten to return, beside its logits,
 * grad(cross_entropy(logits, label), image) (compiler/explain_cmd.c), run
 * in evaluation mode (batch norm's running statistics, no dropout) as
 * PyTorch's model.eval() would. The attacks themselves are a few lines of
 * arithmetic on that gradient, here:
 *   FGSM (Goodfellow et al.):  x' = clip(x + eps sign(g(x)), 0, 1)
 *   PGD (Madry et al.):        x' = x (or a uniform point of the eps-ball),
 *                              then `steps` times
 *                              x' = clip(proj_eps(x' + alpha sign(g(x'))), 0, 1)
 * Each epsilon runs over the whole evaluation set, so the accuracies are the
 * test set's. */
#include "dlnrt.h"
#include "explain_internal.h"
#include "image_tiles_internal.h"
#include "plot_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATTACK_BATCH 250

void dl_sign_step(float *x, const float *g, int64_t n, float step) {
    for (int64_t i = 0; i < n; i++) x[i] += g[i] > 0 ? step : g[i] < 0 ? -step : 0.0f;
}

void dl_linf_project(float *x, const float *x0, int64_t n, float eps, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) {
        float v = fminf(fmaxf(x[i], x0[i] - eps), x0[i] + eps);
        x[i] = fminf(fmaxf(v, lo), hi);
    }
}

int dl_explain_form(const dl_model_api *ig, const dl_dataset *d, int64_t *K) {
    const dl_io_info *o = ig->outputs;
    const int cam = ig->n_outputs == 3 && o[1].rank == 3 && o[2].rank == 3 &&
                    !memcmp(o[1].shape, o[2].shape, 3 * sizeof o[1].shape[0]) && dl_fixed_numel(o[1].shape, 3) > 0;
    if (ig->n_inputs != 2 || !(cam || (ig->n_outputs == 2 && dl_fixed_numel(o[1].shape, o[1].rank) == d->x_numel)) ||
        !dl_input_takes(ig, 0, d) || ig->inputs[1].dtype != DL_I32 || o[0].rank != 1 || o[0].shape[0] < 2 ||
        d->label_kind != DL_LABEL_CLASS) {
        dl_set_error("model '%s' cannot be attacked: it needs one f32 image input of its data (%lld values per "
                     "sample), logits f32[N, K] and class labels", ig->name, (long long)d->x_numel);
        return -1;
    }
    *K = ig->outputs[0].shape[0];
    for (int64_t i = 0; i < d->n; i++)
        if (d->y_class[i] < 0 || d->y_class[i] >= *K) {
            dl_set_error("model '%s' has %lld classes, but image %lld of its data has the label %d", ig->name,
                         (long long)*K, (long long)i, d->y_class[i]);
            return -1;
        }
    return 0;
}

typedef struct attack_run {
    const dl_model_api *ig;
    void *m;
    float *logits, *grad, *x0;            /* the batch's logits, image gradient, clean images */
    int64_t K, per;
    dl_rng rng;
} attack_run;

int dl_explain_eval(const dl_model_api *ig, void *m, const float *x, const int32_t *y, int64_t n, float *logits,
                    float *grad, float *act) {
    const void *in[2] = {x, y};
    void *out[3] = {logits, act ? (void *)act : grad, grad};
    dl_clear_error();
    ig->forward_io(m, in, out, n, NULL);
    return dl_last_error()[0] ? -1 : 0;
}

static int attack_eval(attack_run *r, const float *x, const int32_t *y, int64_t n) {
    return dl_explain_eval(r->ig, r->m, x, y, n, r->logits, r->grad, NULL);
}

static int64_t correct(const attack_run *r, const int32_t *y, int64_t n) {
    int64_t c = 0;
    for (int64_t s = 0; s < n; s++) {
        const float *l = r->logits + s * r->K;
        int64_t best = 0;
        for (int64_t k = 1; k < r->K; k++)
            if (l[k] > l[best]) best = k;
        c += best == y[s];
    }
    return c;
}

/* Replaces x (n images, clean on entry) by its attacked version; then
 * r->logits are the attacked images'. */
static int attack_batch(attack_run *r, const dl_explain_options *o, float eps, float *x, const int32_t *y, int64_t n) {
    const int64_t len = n * r->per;
    memcpy(r->x0, x, (size_t)len * sizeof *x);
    int steps = 1;
    float step = eps;
    if (o->kind == DL_ATTACK_PGD) {
        steps = o->steps;
        step = o->alpha > 0 ? (float)o->alpha : 2.5f * eps / (float)steps;
        if (o->random_start) {
            for (int64_t i = 0; i < len; i++) x[i] += eps * (2 * dl_rng_uniform(&r->rng) - 1);
            dl_linf_project(x, r->x0, len, eps, 0, 1);
        }
    }
    for (int t = 0; t < steps; t++) {
        if (attack_eval(r, x, y, n)) return -1;
        dl_sign_step(x, r->grad, len, step);
        dl_linf_project(x, r->x0, len, eps, 0, 1);
    }
    return attack_eval(r, x, y, n);
}

static int write_curve(const dl_explain_options *o, const double *acc, const char *title) {
    enum { W = 640, H = 420, LEFT = 100, RIGHT = 28, TOP = 60, BOTTOM = 70 };
    double xs[DL_ATTACK_MAX_EPS], ys[DL_ATTACK_MAX_EPS], xmax = 0;
    for (int e = 0; e < o->n_eps; e++) {
        xs[e] = o->eps[e], ys[e] = 100 * acc[e + 1];
        xmax = fmax(xmax, xs[e]);
    }
    dl_figure f;
    dl_fig_init(&f, W, H);
    dl_fig_rect(&f, 0, 0, W, H, 0xffffffu);
    dl_axes a = {.x = LEFT, .y = TOP, .w = W - LEFT - RIGHT, .h = H - TOP - BOTTOM};
    dl_nice_ticks(0, xmax > 0 ? xmax : 1, 5, &a.xt);
    dl_nice_ticks(0, 100, 6, &a.yt);
    dl_axes_draw(&f, &a, title, "epsilon (L-infinity, pixels in [0, 1])", "test accuracy (%)");
    dl_axes_series(&f, &a, xs, ys, o->n_eps, 0x1f77b4u, 2, 0, 4);
    int rc = dl_fig_save(&f, o->curve);
    dl_fig_free(&f);
    return rc;
}

int dl_explain_attack(const dl_model_api *data, const dl_model_api *ig, const dl_explain_options *o) {
    if (!data || !ig || !o || o->n_eps < 1 || !data->train) {
        dl_set_error("dl_explain_attack: missing argument");
        return -1;
    }
    if (o->grid.path && dl_check_draw(&o->grid, DL_GRID_MAX_COUNT, "--count")) return -1;
    dl_dataset d;
    const char *what;
    if (dl_load_eval_images(&data->train->data, data->train->seed, &d, &what) != 0) return -1;
    attack_run r = {.ig = ig, .per = d.x_numel};
    int rc = -1, C = d.x_rank == 3 ? (int)d.x_shape[0] : 1;
    int Hh = (int)d.x_shape[d.x_rank - 2], Ww = (int)d.x_shape[d.x_rank - 1];
    const int64_t B = d.n < ATTACK_BATCH ? d.n : ATTACK_BATCH, count = o->grid.count < d.n ? o->grid.count : d.n;
    double acc[DL_ATTACK_MAX_EPS + 1];
    float *x = NULL;
    dl_canvas cv = {0};
    dl_rng_seed(&r.rng, o->grid.seed);
    if (dl_explain_form(ig, &d, &r.K)) goto done;
    r.logits = malloc((size_t)(B * r.K) * sizeof(float));
    r.grad = malloc((size_t)(B * r.per) * sizeof(float));
    r.x0 = malloc((size_t)(B * r.per) * sizeof(float));
    x = malloc((size_t)(B * r.per) * sizeof(float));
    if (!r.logits || !r.grad || !r.x0 || !x) {
        dl_set_error("out of memory for the attack's batch");
        goto done;
    }
    if (o->grid.path && dl_canvas_init(&cv, (int)count, 3, C, Hh, Ww)) goto done;
    if (!(r.m = dl_sample_open(ig, B, &o->grid))) goto done;
    const char *name = o->kind == DL_ATTACK_FGSM ? "FGSM" : "PGD";
    for (int e = -1; e < o->n_eps; e++) {   /* -1: the clean images */
        int64_t right = 0;
        const float eps = e < 0 ? 0.0f : (float)o->eps[e];
        for (int64_t at = 0; at < d.n; at += B) {
            const int64_t n = d.n - at < B ? d.n - at : B;
            const int32_t *y = d.y_class + at;
            memcpy(x, d.x + at * r.per, (size_t)(n * r.per) * sizeof *x);
            if (e < 0 ? attack_eval(&r, x, y, n) : attack_batch(&r, o, eps, x, y, n)) goto done;
            right += correct(&r, y, n);
            for (int64_t s = 0; e == o->n_eps - 1 && o->grid.path && s < n && at + s < count; s++) {
                float *delta = r.grad + s * r.per;   /* the gradient is spent: room for x' - x */
                for (int64_t i = 0; i < r.per; i++) delta[i] = x[s * r.per + i] - r.x0[s * r.per + i];
                dl_canvas_put(&cv, (int)(at + s), 0, r.x0 + s * r.per, 0, 1, 0);
                dl_canvas_put(&cv, (int)(at + s), 1, delta, -eps, eps > 0 ? eps : 1, 0);
                dl_canvas_put(&cv, (int)(at + s), 2, x + s * r.per, 0, 1, 0);
            }
        }
        acc[e + 1] = (double)right / (double)d.n;
        if (e < 0)
            printf("clean accuracy: %.4f over the %lld %s images\n", acc[0], (long long)d.n, what);
        else if (o->kind == DL_ATTACK_PGD)
            printf("%s eps %g (%d steps of %g%s): accuracy %.4f\n", name, o->eps[e], o->steps,
                   o->alpha > 0 ? o->alpha : 2.5 * o->eps[e] / o->steps, o->random_start ? ", random start" : "",
                   acc[e + 1]);
        else
            printf("%s eps %g: accuracy %.4f\n", name, o->eps[e], acc[e + 1]);
        fflush(stdout);
    }
    if (o->grid.path && dl_canvas_write_png(&cv, o->grid.path) != 0) goto done;
    char title[96];
    snprintf(title, sizeof title, "%s: accuracy against epsilon", name);
    if (o->curve && write_curve(o, acc, title) != 0) goto done;
    if (o->acc) memcpy(o->acc, acc, (size_t)(o->n_eps + 1) * sizeof *acc);
    rc = 0;
done:
    if (r.m) ig->destroy(r.m);
    free(r.logits), free(r.grad), free(r.x0), free(x);
    dl_canvas_free(&cv);
    dl_dataset_free(&d);
    return rc;
}
