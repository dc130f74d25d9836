/* lookahead.c — Lookahead (Zhang, Lucas, Hinton, Ba 2019) around any optimizer.
 *
 * The inner optimizer runs as ever inside the compiled train step (its state
 * is never touched here); the driver keeps a second copy of every trainable
 * parameter, the slow weights, which start as the initial weights. After
 * every k-th step (the run's count, so a resumed run syncs where the first
 * one would have):
 *     slow += alpha * (fast - slow);   fast = slow
 * Buffers (batch norm's running statistics) are not parameters of the
 * optimizer and are left alone, as in timm. The slow weights go into run
 * checkpoints as "@slow.<name>" (resume.c). */
#include "lookahead_internal.h"

#include <stdlib.h>
#include <string.h>

float **dl_trainable_copy(const dl_model_api *api, void *m, const char *what)
{
    float **c = calloc((size_t)(api->n_params > 0 ? api->n_params : 1), sizeof *c);
    for (int i = 0; c && i < api->n_params; i++) {
        if (!api->params[i].trainable) continue;
        const size_t bytes = sizeof(float) * (size_t)api->params[i].numel;
        if (!(c[i] = malloc(bytes ? bytes : 1))) {
            dl_trainable_free(c, api->n_params);
            c = NULL;
            break;
        }
        memcpy(c[i], api->param_data(m, i), bytes);
    }
    if (!c) dl_set_error("out of memory for %s", what);
    return c;
}

void dl_trainable_free(float **c, int n)
{
    for (int i = 0; c && i < n; i++) free(c[i]);
    free(c);
}

int dl_lookahead_init(dl_lookahead *la, const dl_train_config *cfg, const dl_model_api *api, void *m)
{
    *la = (dl_lookahead){0};
    if (cfg->lookahead_k <= 0) return 0;
    if (!(la->slow = dl_trainable_copy(api, m, "lookahead's slow weights"))) return -1;
    la->n = api->n_params;
    la->k = cfg->lookahead_k, la->alpha = cfg->lookahead_alpha;
    return 0;
}

void dl_lookahead_step(const dl_lookahead *la, const dl_model_api *api, void *m, int64_t steps)
{
    if (la->k <= 0 || steps % la->k != 0) return;
    const float alpha = la->alpha;
    for (int i = 0; i < la->n; i++) {
        float *slow = la->slow[i];
        if (!slow) continue;
        float *fast = api->param_data(m, i);   /* (the model repacks weights written through this pointer) */
        const int64_t n = api->params[i].numel;
        for (int64_t j = 0; j < n; j++) {
            slow[j] += alpha * (fast[j] - slow[j]);
            fast[j] = slow[j];
        }
    }
}

void dl_lookahead_free(dl_lookahead *la)
{
    dl_trainable_free(la->slow, la->n);
    *la = (dl_lookahead){0};
}
