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
 * optimizer moves nothing (its slots and step do change; the run ends here),
 * and the other buffers are put back as they were. */
#include "swa_internal.h"
#include "lookahead_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

float dl_swa_lr(const dl_train_config *cfg, int epoch, double lr0)
{
    const int a = cfg->swa_anneal_epochs;
    if (a <= 0) return cfg->swa_lr;
    const double t = fmin(1.0, (double)(epoch - cfg->swa_start + 1) / a);
    const double alpha = cfg->swa_anneal_linear ? t : (1.0 - cos(M_PI * t)) / 2.0;
    return (float)(cfg->swa_lr * alpha + lr0 * (1.0 - alpha));
}

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

/* Copies the buffers (non-trainable tensors) that are batch norm statistics
 * (bn) or the others (!bn) to io, or from io back (restore); io NULL: only
 * counts. Returns their floats. */
static int64_t buffers(const dl_model_api *api, void *m, float *io, int bn, int restore)
{
    int64_t k = 0;
    for (int i = 0; i < api->n_params; i++) {
        if (api->params[i].trainable || is_bn_stat(api->params[i].name) != bn) continue;
        const int64_t n = api->params[i].numel;
        float *b = api->param_data(m, i);
        if (io) memcpy(restore ? b : io + k, restore ? io + k : b, sizeof(float) * (size_t)n);
        k += n;
    }
    return k;
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
    const int64_t floats = buffers(api, m, NULL, 1, 0), others = buffers(api, m, NULL, 0, 0);
    if (floats == 0) return 0;                /* no batch norm: nothing to recompute */
    if (!api->step_count) {
        dl_set_error("SWA's update_bn needs the model's step count (compiled by an older dlnc?)");
        return -1;
    }
    float *zero = malloc(sizeof(float) * (size_t)floats), *one = malloc(sizeof(float) * (size_t)floats);
    double *mean = calloc((size_t)floats, sizeof(double));
    /* the statistics before (kept where the step does not move them), and the other
     * buffers (an EMA of the weights, say), which update_bn leaves as they are */
    float *kept = malloc(sizeof(float) * (size_t)floats), *other = malloc(sizeof(float) * (size_t)(others + 1));
    int rc = zero && one && mean && kept && other ? 0 : -1;
    if (rc) dl_set_error("out of memory for SWA's update_bn");
    else buffers(api, m, kept, 1, 0), buffers(api, m, other, 0, 0);
    int64_t *step = api->step_count(m), batches = 0, n = 0;
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
            buffers(api, m, pass ? one : zero, 1, 0);
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
        for (int64_t j = 0; j < floats; j++)
            if (!isnan(mean[j])) kept[j] = (float)mean[j];
        buffers(api, m, kept, 1, 1);
        buffers(api, m, other, 0, 1);
    }
    free(zero), free(one), free(mean), free(kept), free(other);
    return rc;
}

void dl_swa_free(dl_swa *s)
{
    dl_trainable_free(s->avg, s->n);
    *s = (dl_swa){0};
}
