/* swa.c — stochastic weight averaging (Izmailov et al. 2018) as
 * torch.optim.swa_utils has it: AveragedModel's equal-weight average of the
 * parameters, taken after every epoch from `start` on, then update_bn.
 *
 * update_bn resets each batch norm's running statistics and makes them the
 * plain mean over one pass of the training data of each batch's statistics
 * (momentum None). The compiled step keeps them as an EMA of momentum m,
 * running' = (1 - m) running + m stat, with m the layer's; so each batch runs
 * twice from the same step count (the same dropout draws), once from
 * running = 0 (giving m stat) and once from 1 (giving 1 - m + m stat), which
 * yields m and stat without knowing the layer. The rate is 0 meanwhile: the
 * optimizer moves nothing (its slots and step do change; the run ends here). */
#include "swa_internal.h"
#include "lookahead_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int dl_swa_init(dl_swa *s, const dl_train_config *cfg, const dl_model_api *api)
{
    *s = (dl_swa){0};
    if (cfg->swa_start <= 0) return 0;
    s->avg = calloc((size_t)(api->n_params > 0 ? api->n_params : 1), sizeof *s->avg);
    for (int i = 0; s->avg && i < api->n_params; i++)
        if (api->params[i].trainable && !(s->avg[i] = calloc((size_t)api->params[i].numel + 1, sizeof(float)))) {
            dl_trainable_free(s->avg, api->n_params);
            s->avg = NULL;
        }
    if (!s->avg) {
        dl_set_error("out of memory for the SWA average");
        return -1;
    }
    s->n = api->n_params, s->start = cfg->swa_start;
    return 0;
}

void dl_swa_epoch(const dl_swa *s, const dl_model_api *api, void *m, int epoch)
{
    if (s->start <= 0 || epoch < s->start) return;
    const float n = (float)(epoch - s->start);  /* epochs averaged so far */
    for (int i = 0; i < s->n; i++) {
        float *avg = s->avg[i];
        if (!avg) continue;
        const float *w = api->param_data(m, i);
        for (int64_t j = 0; j < api->params[i].numel; j++) avg[j] += (w[j] - avg[j]) / (n + 1);
    }
}

static int is_bn_stat(const char *name)
{
    static const char *const tails[] = {"running_mean", "running_var"};
    const size_t len = strlen(name);
    for (int k = 0; k < 2; k++) {
        const size_t t = strlen(tails[k]);
        if (len >= t && strcmp(name + len - t, tails[k]) == 0) return 1;
    }
    return 0;
}

static void fill_stats(const dl_model_api *api, void *m, float v)
{
    for (int i = 0; i < api->n_params; i++)
        if (!api->params[i].trainable && is_bn_stat(api->params[i].name)) {
            float *b = api->param_data(m, i);
            for (int64_t j = 0; j < api->params[i].numel; j++) b[j] = v;
        }
}

int dl_swa_finish(const dl_swa *s, const dl_model_api *api, void *m, dl_stepper *st, dl_source *src)
{
    if (s->start <= 0) return 0;
    for (int i = 0; i < s->n; i++)
        if (s->avg[i]) memcpy(api->param_data(m, i), s->avg[i], sizeof(float) * (size_t)api->params[i].numel);
    int64_t floats = 0;
    for (int i = 0; i < api->n_params; i++)
        if (!api->params[i].trainable && is_bn_stat(api->params[i].name)) floats += api->params[i].numel;
    if (floats == 0) return 0;                /* no batch norm: nothing to recompute */
    if (!api->step_count) {
        dl_set_error("SWA's update_bn needs the model's step count (compiled by an older dlnc?)");
        return -1;
    }
    float *zero = malloc(sizeof(float) * (size_t)floats), *one = malloc(sizeof(float) * (size_t)floats);
    double *mean = calloc((size_t)floats, sizeof(double));
    float *kept = malloc(sizeof(float) * (size_t)floats);   /* the statistics before: kept where the step does not move them */
    int rc = zero && one && mean && kept ? 0 : -1;
    if (rc == 0) {
        float *to = kept;
        for (int i = 0; i < api->n_params; i++)
            if (!api->params[i].trainable && is_bn_stat(api->params[i].name)) {
                memcpy(to, api->param_data(m, i), sizeof(float) * (size_t)api->params[i].numel);
                to += api->params[i].numel;
            }
    }
    if (rc) dl_set_error("out of memory for SWA's update_bn");
    int64_t *step = api->step_count(m), batches = 0, n;
    dl_batch db;
    api->set_lr(m, 0.0f);
    src->reset(src);
    while (rc == 0 && (n = src->next(src, &db)) > 0) {
        if (api->reset_state) api->reset_state(m);
        const int64_t at = *step;
        for (int pass = 0; pass < 2 && rc == 0; pass++) {
            *step = at;
            fill_stats(api, m, (float)pass);
            float loss = dl_stepper_bind(st, &db) ? NAN : dl_stepper_train(st, m);
            if (loss != loss) rc = -1;
            float *to = pass ? one : zero;
            for (int i = 0; i < api->n_params; i++)
                if (!api->params[i].trainable && is_bn_stat(api->params[i].name)) {
                    memcpy(to, api->param_data(m, i), sizeof(float) * (size_t)api->params[i].numel);
                    to += api->params[i].numel;
                }
        }
        batches++;
        for (int64_t j = 0; rc == 0 && j < floats; j++) {
            const double mom = 1.0 - ((double)one[j] - zero[j]);   /* the layer's momentum */
            if (mom > 1e-6) mean[j] += (zero[j] / mom - mean[j]) / (double)batches;
            else mean[j] = NAN;                                      /* a statistic the step does not update */
        }
    }
    if (rc == 0 && n < 0) rc = -1;
    if (rc && !dl_last_error()[0]) dl_set_error("SWA's update_bn: a training batch failed");
    if (rc == 0) {
        int64_t k = 0;
        for (int i = 0; i < api->n_params; i++)
            if (!api->params[i].trainable && is_bn_stat(api->params[i].name)) {
                float *b = api->param_data(m, i);
                for (int64_t j = 0; j < api->params[i].numel; j++, k++) b[j] = isnan(mean[k]) ? kept[k] : (float)mean[k];
            }
    }
    free(zero), free(one), free(mean), free(kept);
    return rc;
}

void dl_swa_free(dl_swa *s)
{
    dl_trainable_free(s->avg, s->n);
    *s = (dl_swa){0};
}
