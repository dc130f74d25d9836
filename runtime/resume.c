/* resume.c — checkpoints a run can continue from, bit for bit.
 *
 * A model's parameters alone do not determine the rest of a run: the
 * optimizer's slots (momentum, Adam's moments), its step count (Adam's bias
 * correction; random sources draw from (seed, step)) and where the run stood
 * (epochs done) do too. A run checkpoint is the model's ordinary safetensors
 * file plus:
 *   - a tensor "@m1.<name>" / "@m2.<name>" per trainable parameter with
 *     optimizer state ('@' never starts a parameter name, and the model's
 *     strict _load skips such tensors, so the file still loads as a model, in
 *     dlnc and in PyTorch);
 *   - metadata: dlnc.epochs_done, dlnc.steps (the run's), dlnc.model_step
 *     (the optimizer's), dlnc.seed.
 * Everything else is recomputed: the learning rate is a function of the
 * fractional epoch, the data order is replayed from the seed (the batcher's
 * shuffles are cheap next to an epoch), augmentation and dropout draw from
 * counters. Checkpoints are written at epoch ends, so a run killed mid-epoch
 * resumes from the last finished epoch and repeats the rest of it exactly. */
#include "resume_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The model's tensors, then its optimizer slots; names in `names` (freed by the caller). */
static int run_tensors(const dl_model_api *api, void *m, dl_named_tensor **out, char ***names_out, int *count)
{
    const int np = api->n_params;
    dl_named_tensor *t = calloc((size_t)(3 * np + 1), sizeof *t);
    char **names = calloc((size_t)(2 * np + 1), sizeof *names);
    if (!t || !names) {
        free(t), free(names);
        dl_set_error("out of memory");
        return -1;
    }
    int n = 0, nn = 0;
    for (int i = 0; i < np; i++) {
        const dl_param_info *p = &api->params[i];
        t[n++] = (dl_named_tensor){.name = p->name, .rank = p->rank, .data = api->param_data(m, i)};
        memcpy(t[n - 1].shape, p->shape, sizeof t[n - 1].shape);
    }
    for (int slot = 0; slot < 2 && api->optim_slot; slot++)
        for (int i = 0; i < np; i++) {
            float *s = api->optim_slot(m, slot, i);
            if (!s) continue;
            size_t len = strlen(api->params[i].name) + 5;
            if (!(names[nn] = malloc(len))) {
                dl_set_error("out of memory");
                goto fail;
            }
            snprintf(names[nn], len, "@m%d.%s", slot + 1, api->params[i].name);
            t[n] = (dl_named_tensor){.name = names[nn++], .rank = api->params[i].rank, .data = s};
            memcpy(t[n++].shape, api->params[i].shape, sizeof t[0].shape);
        }
    *out = t, *names_out = names, *count = n;
    return 0;
fail:
    for (int k = 0; k < nn; k++) free(names[k]);
    free(names), free(t);
    return -1;
}

static void free_names(char **names)
{
    for (int k = 0; names && names[k]; k++) free(names[k]);
    free(names);
}

int dl_run_save(const dl_model_api *api, void *m, const char *path, const dl_run_position *at)
{
    if (!api->step_count) return api->save(m, path); /* a hand-written model: parameters only */
    dl_named_tensor *t;
    char **names;
    int n;
    if (run_tensors(api, m, &t, &names, &n)) return -1;
    char epochs[32], steps[32], mstep[32], seed[32];
    snprintf(epochs, sizeof epochs, "%d", at->epochs_done);
    snprintf(steps, sizeof steps, "%" PRId64, at->steps);
    snprintf(mstep, sizeof mstep, "%" PRId64, *api->step_count(m));
    snprintf(seed, sizeof seed, "%" PRIu64, at->seed);
    const char *meta[] = {"dlnc.epochs_done", epochs, "dlnc.steps", steps, "dlnc.model_step", mstep, "dlnc.seed", seed,
                          DL_VOCAB_META_KEY, at->vocab};
    int rc = dl_save_safetensors_meta(path, t, n, meta, at->vocab ? 5 : 4);
    free_names(names);
    free(t);
    return rc;
}

static int meta_i64(const char *path, const char *key, int64_t lo, int64_t *out)
{
    char text[64], *end;
    if (dl_safetensors_meta(path, key, text, sizeof text)) return -1;
    long long v = strtoll(text, &end, 10);
    if (*end || end == text || v < lo) {
        dl_set_error("%s: metadata '%s' is '%s', not a count", path, key, text);
        return -1;
    }
    *out = v;
    return 0;
}

int dl_run_load(const dl_model_api *api, void *m, const char *path, dl_run_position *at)
{
    if (!api->step_count) {
        dl_set_error("model '%s' does not expose its optimizer state (compiled by an older dlnc?)", api->name);
        return -1;
    }
    int64_t epochs, steps, mstep;
    char seed[32];
    if (meta_i64(path, "dlnc.epochs_done", 0, &epochs) || meta_i64(path, "dlnc.steps", 0, &steps) ||
        meta_i64(path, "dlnc.model_step", 0, &mstep) || dl_safetensors_meta(path, "dlnc.seed", seed, sizeof seed)) {
        char why[400];
        snprintf(why, sizeof why, "%s", dl_last_error());
        dl_set_error("%s: not a checkpoint a run can resume from (%s)", path, why);
        return -1;
    }
    char want[32];
    snprintf(want, sizeof want, "%" PRIu64, at->seed);
    if (strcmp(seed, want) != 0) {
        dl_set_error("%s: the run was seeded with %s, this one with %s; resuming would not continue it", path, seed,
                     want);
        return -1;
    }
    dl_named_tensor *t;
    char **names;
    int n;
    if (run_tensors(api, m, &t, &names, &n)) return -1;
    int rc = dl_load_safetensors(path, t, n, 0); /* every tensor, its optimizer slots included */
    free_names(names);
    free(t);
    if (rc) return -1;
    *api->step_count(m) = mstep;
    at->epochs_done = (int)epochs;
    at->steps = steps;
    return 0;
}
