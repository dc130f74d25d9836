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
 *   - with optim = lookahead(...), "@slow.<name>" per trainable parameter:
 *     Lookahead's slow weights (lookahead.c); with swa = swa(...), "@swa.<name>":
 *     the average so far (swa.c);
 *   - metadata: dlnc.epochs_done, dlnc.steps (the run's), dlnc.model_step
 *     (the optimizer's), dlnc.seed.
 * Everything else is recomputed: the learning rate is a function of the
 * fractional epoch, the data order is replayed from the seed (the batcher's
 * shuffles are cheap next to an epoch), augmentation and dropout draw from
 * counters. Checkpoints are written at epoch ends, so a run killed mid-epoch
 * resumes from the last finished epoch and repeats the rest of it exactly.
 * A several-model section (a GAN) has an optimizer per step: each step's
 * slots go under its model's name ("@disc.m1.<name>") and its step count
 * into "dlnc.model_step.disc", beside every model's tensors. */
#include "resume_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tensors of a run checkpoint, built up: names made here are owned. */
typedef struct run_list {
    dl_named_tensor *t;
    char **names;            /* NULL-terminated */
    int n, nn, cap;
} run_list;

static void list_free(run_list *l)
{
    for (int k = 0; l->names && k < l->nn; k++) free(l->names[k]);
    free(l->names), free(l->t);
}

static int list_reserve(run_list *l, int more)
{
    if (l->n + more <= l->cap) return 0;
    int cap = 2 * (l->n + more) + 8;
    dl_named_tensor *t = realloc(l->t, sizeof *t * (size_t)cap);
    if (t) l->t = t;
    char **names = t ? realloc(l->names, sizeof *names * (size_t)(cap + 1)) : NULL;
    if (names) l->names = names;
    if (!t || !names) {
        dl_set_error("out of memory");
        return -1;
    }
    l->cap = cap;
    return 0;
}

/* The model's parameters and buffers under their own names. */
static int list_params(run_list *l, const dl_model_api *api, void *m)
{
    if (list_reserve(l, api->n_params)) return -1;
    for (int i = 0; i < api->n_params; i++) {
        const dl_param_info *p = &api->params[i];
        l->t[l->n] = (dl_named_tensor){.name = p->name, .rank = p->rank, .data = api->param_data(m, i)};
        memcpy(l->t[l->n++].shape, p->shape, sizeof l->t[0].shape);
    }
    return 0;
}

/* Its optimizer slots, "@m1.<name>" ("@<step>.m1.<name>" for a step of a
 * several-model section, whose modules each have an optimizer). */
static int list_slots(run_list *l, const dl_model_api *api, void *m, const char *step)
{
    if (list_reserve(l, 2 * api->n_params)) return -1;
    for (int slot = 0; slot < 2 && api->optim_slot; slot++)
        for (int i = 0; i < api->n_params; i++) {
            float *s = api->optim_slot(m, slot, i);
            if (!s) continue;
            size_t len = strlen(api->params[i].name) + (step ? strlen(step) + 1 : 0) + 5;
            char *name = malloc(len);
            if (!name) {
                dl_set_error("out of memory");
                return -1;
            }
            if (step) snprintf(name, len, "@%s.m%d.%s", step, slot + 1, api->params[i].name);
            else snprintf(name, len, "@m%d.%s", slot + 1, api->params[i].name);
            l->names[l->nn++] = name;
            l->names[l->nn] = NULL;
            l->t[l->n] = (dl_named_tensor){.name = name, .rank = api->params[i].rank, .data = s};
            memcpy(l->t[l->n++].shape, api->params[i].shape, sizeof l->t[0].shape);
        }
    return 0;
}

/* The driver's copies of the trainable parameters, "@<what>.<name>": Lookahead's
 * slow weights ("slow", lookahead.c), SWA's average ("swa", swa.c). */
static int list_copies(run_list *l, const dl_model_api *api, float *const *copies, const char *what)
{
    if (!copies) return 0;
    if (list_reserve(l, api->n_params)) return -1;
    for (int i = 0; i < api->n_params; i++) {
        if (!copies[i]) continue;
        size_t len = strlen(api->params[i].name) + strlen(what) + 3;
        char *name = malloc(len);
        if (!name) {
            dl_set_error("out of memory");
            return -1;
        }
        snprintf(name, len, "@%s.%s", what, api->params[i].name);
        l->names[l->nn++] = name;
        l->names[l->nn] = NULL;
        l->t[l->n] = (dl_named_tensor){.name = name, .rank = api->params[i].rank, .data = copies[i]};
        memcpy(l->t[l->n++].shape, api->params[i].shape, sizeof l->t[0].shape);
    }
    return 0;
}

/* The run's place as metadata: epochs, steps, seed, then each optimizer's
 * step under its key ("dlnc.model_step", or one per step). */
static int save_with_meta(const char *path, const run_list *l, const dl_run_position *at, const char *const *keys,
                          const int64_t *msteps, int n_models)
{
    enum { MAX_META = 2 * (4 + DL_MAX_STEPS) + 2 };
    char epochs[32], steps[32], seed[32], mstep[DL_MAX_STEPS][32];
    const char *meta[MAX_META];
    int k = 0;
    snprintf(epochs, sizeof epochs, "%d", at->epochs_done);
    snprintf(steps, sizeof steps, "%" PRId64, at->steps);
    snprintf(seed, sizeof seed, "%" PRIu64, at->seed);
    meta[k++] = "dlnc.epochs_done", meta[k++] = epochs, meta[k++] = "dlnc.steps", meta[k++] = steps;
    for (int i = 0; i < n_models; i++) {
        snprintf(mstep[i], sizeof mstep[i], "%" PRId64, msteps[i]);
        meta[k++] = keys[i], meta[k++] = mstep[i];
    }
    meta[k++] = "dlnc.seed", meta[k++] = seed;
    if (at->vocab) meta[k++] = DL_VOCAB_META_KEY, meta[k++] = at->vocab;
    return dl_save_safetensors_meta(path, l->t, l->n, meta, k / 2);
}

int dl_run_save(const dl_model_api *api, void *m, const char *path, const dl_run_position *at)
{
    if (!api->step_count) return api->save(m, path); /* a hand-written model: parameters only */
    run_list l = {0};
    int rc = list_params(&l, api, m) || list_slots(&l, api, m, NULL) || list_copies(&l, api, at->slow, "slow") || list_copies(&l, api, at->swa, "swa") ? -1 : 0;
    const char *key = "dlnc.model_step";
    if (rc == 0) rc = save_with_meta(path, &l, at, &key, api->step_count(m), 1);
    list_free(&l);
    return rc;
}

static int meta_i64(const char *path, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    char text[64], *end;
    if (dl_safetensors_meta(path, key, text, sizeof text)) return -1;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (*end || end == text || v < lo || v > hi || errno == ERANGE) {   /* out of range: strtoll clamps, silently */
        dl_set_error("%s: metadata '%s' is '%s', not a count", path, key, text);
        return -1;
    }
    *out = v;
    return 0;
}

/* A count of the run's metadata, at most hi; a missing or bad one means the file is no run checkpoint. */
static int run_meta(const char *path, const char *key, int64_t hi, int64_t *out)
{
    if (meta_i64(path, key, 0, hi, out) == 0) return 0;
    char why[400];
    snprintf(why, sizeof why, "%s", dl_last_error());
    dl_set_error("%s: not a checkpoint a run can resume from (%s)", path, why);
    return -1;
}

/* The run's place from path's metadata, its seed checked against at->seed. */
static int load_position(const char *path, dl_run_position *at)
{
    int64_t epochs, steps;
    char seed[32], want[32];
    /* epochs_done is an int: 2^32 + 1 would have resumed as epoch 1 */
    if (run_meta(path, "dlnc.epochs_done", INT_MAX, &epochs) || run_meta(path, "dlnc.steps", INT64_MAX, &steps))
        return -1;
    if (dl_safetensors_meta(path, "dlnc.seed", seed, sizeof seed)) {
        char why[400];
        snprintf(why, sizeof why, "%s", dl_last_error());
        dl_set_error("%s: not a checkpoint a run can resume from (%s)", path, why);
        return -1;
    }
    snprintf(want, sizeof want, "%" PRIu64, at->seed);
    if (strcmp(seed, want) != 0) {
        dl_set_error("%s: the run was seeded with %s, this one with %s; resuming would not continue it", path, seed,
                     want);
        return -1;
    }
    at->epochs_done = (int)epochs;
    at->steps = steps;
    return 0;
}

int dl_run_load(const dl_model_api *api, void *m, const char *path, dl_run_position *at)
{
    if (!api->step_count) {
        dl_set_error("model '%s' does not expose its optimizer state (compiled by an older dlnc?)", api->name);
        return -1;
    }
    int64_t mstep;
    dl_run_position got = *at;
    if (load_position(path, &got) || run_meta(path, "dlnc.model_step", INT64_MAX, &mstep)) return -1;
    run_list l = {0};
    /* every tensor, its optimizer slots included */
    int rc = list_params(&l, api, m) || list_slots(&l, api, m, NULL) || list_copies(&l, api, at->slow, "slow") || list_copies(&l, api, at->swa, "swa") ||
                     dl_load_safetensors(path, l.t, l.n, 0) ? -1 : 0;
    list_free(&l);
    if (rc) return -1;
    *api->step_count(m) = mstep;
    *at = got;
    return 0;
}

/* The step count key of step k: "dlnc.model_step.<model>". */
static void step_key(char *out, size_t cap, const char *step) { snprintf(out, cap, "dlnc.model_step.%s", step); }

int dl_run_save_steps(const dl_model_api *const *apis, void *const *m, const char *const *steps, int n, int saver,
                      const char *path, const dl_run_position *at)
{
    char keys[DL_MAX_STEPS][128];
    const char *kp[DL_MAX_STEPS];
    int64_t msteps[DL_MAX_STEPS];
    run_list l = {0};
    int rc = list_params(&l, apis[saver], m[saver]);
    for (int k = 0; k < n && rc == 0; k++) {
        if (!apis[k]->step_count) {
            dl_set_error("step '%s' does not expose its optimizer state (compiled by an older dlnc?)", steps[k]);
            rc = -1;
            break;
        }
        rc = list_slots(&l, apis[k], m[k], steps[k]);
        step_key(keys[k], sizeof keys[k], steps[k]);
        kp[k] = keys[k];
        msteps[k] = *apis[k]->step_count(m[k]);
    }
    if (rc == 0) rc = save_with_meta(path, &l, at, kp, msteps, n);
    list_free(&l);
    return rc;
}

int dl_run_load_steps(const dl_model_api *const *apis, void *const *m, const char *const *steps, int n, int saver,
                      const char *path, dl_run_position *at)
{
    dl_run_position got = *at;
    int64_t msteps[DL_MAX_STEPS];
    if (load_position(path, &got)) return -1;
    for (int k = 0; k < n; k++) {
        char key[128];
        step_key(key, sizeof key, steps[k]);
        if (!apis[k]->step_count) {
            dl_set_error("step '%s' does not expose its optimizer state (compiled by an older dlnc?)", steps[k]);
            return -1;
        }
        if (run_meta(path, key, INT64_MAX, &msteps[k])) return -1;
    }
    run_list l = {0};
    int rc = list_params(&l, apis[saver], m[saver]);
    for (int k = 0; k < n && rc == 0; k++) rc = list_slots(&l, apis[k], m[k], steps[k]);
    if (rc == 0) rc = dl_load_safetensors(path, l.t, l.n, 0); /* every model's tensors, every step's slots */
    list_free(&l);
    if (rc) return -1;
    for (int k = 0; k < n; k++) *apis[k]->step_count(m[k]) = msteps[k];
    *at = got;
    return 0;
}
