/* sample_ddpm.c — images from a trained DDPM denoiser (`dlnc sample --ddpm`).
 *
 * The model predicts the noise: eps(x: f32[N, C, H, W], t: i32[N]), t the
 * 0-based step. The schedule is ddpm_schedule's (stdlib/generative.dln):
 * beta_k = beta1 + (betaT - beta1) k / (T - 1), alpha_k = 1 - beta_k,
 * abar_k = alpha_0 ... alpha_k, here in double. Ho et al.'s Algorithm 2,
 * with sigma_k^2 = beta_k and no clipping of the predicted x_0:
 *
 *   x ~ N(0, I)
 *   for k = T-1 .. 0:  z ~ N(0, I) if k > 0, else z = 0
 *       x = (x - beta_k / sqrt(1 - abar_k) eps(x, k)) / sqrt(alpha_k) + sqrt(beta_k) z
 *
 * DDIM (Song et al. 2021, eta = 0) visits S of the steps,
 * tau_i = round(i (T - 1) / (S - 1)), from the last, deterministically:
 *
 *   x0 = (x - sqrt(1 - abar) eps) / sqrt(abar);  x = sqrt(abar') x0 + sqrt(1 - abar') eps
 *
 * with abar' that of the previous visited step (1 after tau_0 = 0, so the
 * result is x0). Every draw comes from one dl_rng seeded with the seed, in a
 * fixed order (x_T, then each step's z), and the model computes the same bits
 * at any thread count, so a seed gives the same PNG. */
#include "dlnrt.h"
#include "image_tiles_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The indices of the image input and the step input, or -1 with the error. */
static int ddpm_form(const dl_model_api *api, int *xi, int *ti, int *c, int *h, int *w) {
    *xi = *ti = -1;
    for (int k = 0; k < api->n_inputs && api->n_inputs == 2; k++) {
        const dl_io_info *in = &api->inputs[k];
        if (in->dtype == DL_F32 && in->rank == 3) *xi = k;
        if (in->dtype == DL_I32 && in->rank == 0) *ti = k;
    }
    const dl_io_info *x = *xi >= 0 ? &api->inputs[*xi] : NULL, *y = api->n_outputs >= 1 ? &api->outputs[0] : NULL;
    int ok = api->abi_version >= 4 && x && *ti >= 0 && y && api->n_syms == 1 && api->create_io && api->forward_io &&
             (x->shape[0] == 1 || x->shape[0] == 3) && x->shape[1] > 0 && x->shape[2] > 0 && y->dtype == DL_F32 &&
             y->rank == 3 && !memcmp(y->shape, x->shape, 3 * sizeof *x->shape);
    if (!ok) {
        dl_set_error("model '%s' cannot run the reverse process: --ddpm needs a noise predictor with two inputs, "
                     "the images x: f32[N, C, H, W] (C = 1 or 3) and their steps t: i32[N], and an output shaped "
                     "like x (the predicted noise); choose it with --model NAME", api->name);
        return -1;
    }
    *c = (int)x->shape[0], *h = (int)x->shape[1], *w = (int)x->shape[2];
    return 0;
}

int dl_ddpm_check(const dl_ddpm_options *o) {
    if (o->steps < 2 || o->steps > DL_DDPM_MAX_STEPS) {
        dl_set_error("--ddpm takes the number of diffusion steps T the model was trained with, 2 to %d, not %lld",
                     DL_DDPM_MAX_STEPS, (long long)o->steps);
        return -1;
    }
    if (!(o->beta1 > 0 && o->beta1 <= o->betaT && o->betaT < 1)) {
        dl_set_error("--beta1 and --beta-t must satisfy 0 < beta1 <= betaT < 1, not %g and %g", o->beta1, o->betaT);
        return -1;
    }
    if (o->ddim && (o->ddim < 2 || o->ddim > o->steps)) {
        dl_set_error("--ddim takes a number of steps from 2 to T = %lld, not %lld", (long long)o->steps, (long long)o->ddim);
        return -1;
    }
    return 0;
}

/* ddpm_schedule's beta_k and abar_k, in double. */
static void schedule(const dl_ddpm_options *o, double *beta, double *abar) {
    double prod = 1;
    for (int64_t k = 0; k < o->steps; k++) {
        beta[k] = o->beta1 + (o->betaT - o->beta1) * (double)k / (double)(o->steps - 1);
        prod *= 1 - beta[k];
        abar[k] = prod;
    }
}

/* eps = model(x, k) for n images of `per` values. */
static int predict(const dl_model_api *api, void *m, int xi, const float *x, int32_t *t, int64_t k, float *eps,
                   int64_t n) {
    for (int64_t s = 0; s < n; s++) t[s] = (int32_t)k;
    const void *in[2];
    in[xi] = x, in[1 - xi] = t;
    void *out[1] = {eps};
    dl_clear_error();
    api->forward_io(m, in, out, n, NULL);
    return dl_last_error()[0] ? -1 : 0;
}

int dl_ddpm_run(const dl_model_api *api, void *m, const dl_ddpm_options *o, float *x, int64_t n) {
    int xi, ti, C, H, W;
    if (ddpm_form(api, &xi, &ti, &C, &H, &W) != 0 || dl_ddpm_check(o) != 0) return -1;
    const int64_t T = o->steps, len = n * C * H * W;
    double *beta = malloc(sizeof *beta * (size_t)T), *abar = malloc(sizeof *abar * (size_t)T);
    float *eps = malloc(sizeof *eps * (size_t)len);
    int32_t *t = malloc(sizeof *t * (size_t)n);
    int rc = -1;
    if (!beta || !abar || !eps || !t) {
        dl_set_error("--ddpm: out of memory");
        goto done;
    }
    schedule(o, beta, abar);
    dl_rng rng;
    dl_rng_seed(&rng, o->grid.seed);
    for (int64_t i = 0; i < len; i++) x[i] = dl_rng_normal(&rng);
    if (api->reset_state) api->reset_state(m);
    if (o->ddim) {
        for (int64_t i = o->ddim - 1; i >= 0; i--) {
            const int64_t k = (int64_t)llround((double)i * (double)(T - 1) / (double)(o->ddim - 1));
            const int64_t prev = i > 0 ? (int64_t)llround((double)(i - 1) * (double)(T - 1) / (double)(o->ddim - 1)) : -1;
            if (predict(api, m, xi, x, t, k, eps, n) != 0) goto done;
            const double a = abar[k], ap = prev >= 0 ? abar[prev] : 1.0;
            for (int64_t j = 0; j < len; j++) {
                const double x0 = (x[j] - sqrt(1 - a) * eps[j]) / sqrt(a);
                x[j] = (float)(sqrt(ap) * x0 + sqrt(1 - ap) * eps[j]);
            }
        }
    } else {
        for (int64_t k = T - 1; k >= 0; k--) {
            if (predict(api, m, xi, x, t, k, eps, n) != 0) goto done;
            const double c_eps = beta[k] / sqrt(1 - abar[k]), c_x = 1 / sqrt(1 - beta[k]), sigma = sqrt(beta[k]);
            for (int64_t j = 0; j < len; j++) {
                const double z = k > 0 ? dl_rng_normal(&rng) : 0.0;
                x[j] = (float)(c_x * (x[j] - c_eps * eps[j]) + sigma * z);
            }
        }
    }
    rc = 0;
done:
    free(beta);
    free(abar);
    free(eps);
    free(t);
    return rc;
}

int dl_sample_ddpm(const dl_model_api *api, const dl_ddpm_options *o) {
    if (!api || !o || !o->grid.path) {
        dl_set_error("dl_sample_ddpm: missing argument");
        return -1;
    }
    int xi, ti, C, H, W;
    if (ddpm_form(api, &xi, &ti, &C, &H, &W) != 0 || dl_ddpm_check(o) != 0 ||
        dl_check_draw(&o->grid, DL_GRID_MAX_COUNT, "--count") != 0)
        return -1;
    /* the denoiser may be a part of the trained model: its tensors by name */
    dl_grid_options g = o->grid;
    if (!g.prefix) g.prefix = "";
    const int64_t n = g.count;
    float *x = malloc(sizeof *x * (size_t)(n * C * H * W));
    void *m = NULL;
    int rc = -1;
    if (!x) dl_set_error("--ddpm: out of memory");
    else if ((m = dl_sample_open(api, n, &g)) && dl_ddpm_run(api, m, o, x, n) == 0)
        rc = dl_tile_png(&g, x, n, C, H, W);
    if (m) api->destroy(m);
    free(x);
    return rc;
}
