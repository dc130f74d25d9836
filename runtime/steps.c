/* steps.c — the driver of a train section over several models (a GAN's
 * discriminator and generator steps).
 *
 * Each step is a module of its own (compiler/elab_steps.c) holding a copy of
 * every parameter its loss reaches, of which only the stepped model's are
 * trainable. One value per parameter name is kept by copying: after init,
 * every module takes each model's parameters from the step that trains it;
 * after a step, all of its module's parameters and buffers go to the other
 * modules — what the step did not change is equal there already, and a
 * batch norm's running statistics change in whichever step runs the model
 * in training mode, as in PyTorch. Each module keeps its own optimizer
 * state and learning rate; the checkpoint written at each epoch end holds
 * them all (resume.c), so --resume continues the run bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlnrt.h"
#include "file_open_internal.h"
#include "dist.h"
#include "progress_internal.h"
#include "resume_internal.h"
#include "step_internal.h"
#include "train_internal.h"

typedef struct dl_steps_run {
    const dl_model_api *const *apis;
    const dl_step_info *steps;
    int n;
    void *m[DL_MAX_STEPS];
    dl_stepper st[DL_MAX_STEPS];
    int *map[DL_MAX_STEPS][DL_MAX_STEPS];   /* map[k][j][i]: module j's index of module k's parameter i, -1 if none */
} dl_steps_run;

static int dl_find_param(const dl_model_api *api, const char *name)
{
    for (int i = 0; i < api->n_params; i++)
        if (strcmp(api->params[i].name, name) == 0) return i;
    return -1;
}

/* Module k's values of its trainable parameters (every parameter and buffer: all) into every other module. */
static void dl_steps_share(dl_steps_run *r, int k, int all)
{
    const dl_model_api *a = r->apis[k];
    for (int j = 0; j < r->n; j++) {
        if (j == k) continue;
        for (int i = 0; i < a->n_params; i++) {
            int t = r->map[k][j][i];
            if (t < 0 || !(all || a->params[i].trainable)) continue;
            memcpy(r->apis[j]->param_data(r->m[j], t), a->param_data(r->m[k], i), (size_t)a->params[i].numel * sizeof(float));
        }
    }
}

/* WGAN's weight clipping: the stepped model's parameters into [-c, c]. */
static void dl_steps_clip(const dl_model_api *a, void *m, float c)
{
    for (int i = 0; i < a->n_params; i++) {
        if (!a->params[i].trainable) continue;
        float *p = a->param_data(m, i);
        for (int64_t k = 0; k < a->params[i].numel; k++) p[k] = fminf(fmaxf(p[k], -c), c);
    }
}

/* The module holding every parameter any module has: the checkpoint's. -1 when none does. */
static int dl_steps_saver(const dl_steps_run *r)
{
    for (int k = 0; k < r->n; k++) {
        int covers = 1;
        for (int j = 0; j < r->n && covers; j++)
            for (int i = 0; i < r->apis[j]->n_params && covers; i++) covers = r->map[j][k][i] >= 0 || j == k;
        if (covers) return k;
    }
    return -1;
}

static int dl_steps_check(const dl_model_api *const *apis, const dl_step_info *steps, int n)
{
    if (n < 1 || n > DL_MAX_STEPS) {
        dl_set_error("dl_run_steps: between 1 and %d steps, got %d", DL_MAX_STEPS, n);
        return -1;
    }
    for (int k = 0; k < n; k++) {
        const dl_model_api *a = apis[k];
        if (!a || a->abi_version != DL_ABI_VERSION || !a->train || !a->create_io || !a->train_io || !a->param_data ||
            !a->init || !a->set_lr || steps[k].repeat < 1) {
            dl_set_error("dl_run_steps: step %d is not a compiled step of this runtime (ABI %d)", k + 1, DL_ABI_VERSION);
            return -1;
        }
    }
    return 0;
}

int dl_run_steps(const dl_model_api *const *apis, const dl_step_info *steps, int n, const dl_run_options *options,
                 dl_run_result *res)
{
    dl_run_options opt = {0};
    if (options) opt = *options;
    dl_run_result result = dl_run_result_none();
    if (res) *res = result;
    if (dl_steps_check(apis, steps, n)) return -1;
    /* every rank fails alike here, so no rank waits for another */
    if (dl_dist_begin()) return -1;
    if (dl_dist_size() > 1) {
        dl_set_error("a train section with steps is not supported in a data-parallel run yet; run it on one rank");
        return -1;
    }
    const dl_train_config *cfg = apis[0]->train;
    for (int k = 0; k < n; k++)
        if (apis[k]->train && (apis[k]->train->lookahead_k > 0 || apis[k]->train->swa_start > 0)) {
            dl_set_error("step '%s': %s is not supported in a train section with steps yet", steps[k].model,
                         apis[k]->train->swa_start > 0 ? "swa" : "lookahead(...)");
            return -1;
        }
    const int epochs = opt.epochs > 0 ? opt.epochs : cfg->epochs;
    const uint64_t seed = opt.seed_set ? opt.seed : cfg->seed;
    const char *checkpoint = opt.checkpoint ? opt.checkpoint : cfg->checkpoint;
    const int64_t batch = cfg->data.batch;
    dl_steps_run r = {.apis = apis, .steps = steps, .n = n};
    dl_dataset train = {0}, eval = {0};
    dl_source src = {0};
    FILE *history = NULL;
    dl_live live = {0};                   /* the in-epoch line, erased before an error is printed */
    int have_eval, rc = -1;
    if (dl_load_data(&cfg->data, seed, &train, &eval, &have_eval)) return -1;
    if (dl_source_dataset(&src, &train, dl_first_field(&cfg->data), batch, cfg->data.shuffle, seed + 1,
                          &cfg->data.augment, 1, 0))
        goto done;
    for (int k = 0; k < n; k++) {
        if (dl_stepper_init(&r.st[k], apis[k], &src.bounds, batch)) goto done;
        if (!(r.m[k] = dl_stepper_create(&r.st[k]))) goto done;
        apis[k]->init(r.m[k], seed);
    }
    for (int k = 0; k < n; k++)
        for (int j = 0; j < n; j++) {
            if (!(r.map[k][j] = malloc(sizeof(int) * (size_t)(apis[k]->n_params + 1)))) {
                dl_set_error("out of memory");
                goto done;
            }
            for (int i = 0; i < apis[k]->n_params; i++) r.map[k][j][i] = dl_find_param(apis[j], apis[k]->params[i].name);
        }
    /* one initial value per name: the frozen ones from the first module, each model's from its step */
    dl_steps_share(&r, 0, 1);
    for (int k = 0; k < n; k++) dl_steps_share(&r, k, 0);
    const int saver = dl_steps_saver(&r);
    if (checkpoint && saver < 0) {
        dl_set_error("no step's loss reaches every model's parameters, so no step can save them all to '%s'", checkpoint);
        goto done;
    }
    /* init_from (a pretrained generator, say): the module that holds every model's tensors loads
     * the file once, under the checkpoint's names (gen.*, disc.*), and the others copy from it */
    if (cfg->init_from) {
        if (saver < 0) {
            dl_set_error("init_from: no step's loss reaches every model's parameters, so no step can load them all");
            goto done;
        }
        if (dl_init_from(apis[saver], r.m[saver], apis[saver]->train)) goto done;
        dl_steps_share(&r, saver, 1);
    }
    const char *names[DL_MAX_STEPS];
    for (int k = 0; k < n; k++) names[k] = steps[k].model;
    /* --resume: every model, every step's optimizer and the data order as the last epoch end left them */
    dl_run_position at = {.seed = seed};
    if (opt.resume && checkpoint && access(checkpoint, F_OK) == 0) {
        if (dl_run_load_steps(apis, r.m, names, n, saver, checkpoint, &at)) {
            char why[512];
            snprintf(why, sizeof why, "%s", dl_last_error());
            dl_set_error("--resume: %s", why);
            goto done;
        }
        dl_steps_share(&r, saver, 1);
        for (int k = 1; k < at.epochs_done && k < epochs; k++) src.reset(&src);
        result.steps = at.steps;
        result.epochs_done = at.epochs_done;
        printf("resuming from %s: %d epoch%s, %lld steps done\n", checkpoint, at.epochs_done,
               at.epochs_done == 1 ? "" : "s", (long long)at.steps);
    }
    if (opt.history_csv) {
        /* a resumed run goes on appending to the history it wrote */
        int append = at.epochs_done > 0 && access(opt.history_csv, F_OK) == 0;
        if (!(history = dl_fopen_write(opt.history_csv, append ? "a" : "w"))) goto done;   /* names it */
        if (!append) {
            fprintf(history, "epoch");
            for (int k = 0; k < n; k++) fprintf(history, ",loss_%s", steps[k].model);
            fprintf(history, ",seconds\n");
        }
    }
    const double t_start = dl_now();
    dl_team team;
    dl_team_start(&team, &opt);
    dl_live_init(&live, stderr, opt.quiet, opt.progress_every);
    for (int e = at.epochs_done; e < epochs; e++) {
        const double t0 = dl_now();
        if (e > 0) src.reset(&src);
        dl_live_epoch(&live, e + 1, epochs, dl_live_total(src.batches, opt.max_steps, result.steps));
        int64_t seen = 0;
        double sum[DL_MAX_STEPS] = {0};
        int64_t runs[DL_MAX_STEPS] = {0}, bi = 0, nb;
        int stop = 0;
        dl_batch db;
        while (!(stop = opt.max_steps > 0 && result.steps >= opt.max_steps) && (nb = src.next(&src, &db)) > 0) {
            bi++;
            dl_team_begin(&team);
            const double t_step = dl_now();
            for (int k = 0; k < n; k++) {
                const dl_train_config *c = apis[k]->train;
                apis[k]->set_lr(r.m[k], dl_sched_lr(&c->sched, c->optim.lr, epochs, e + (double)(bi - 1) / src.batches));
                for (int rep = 0; rep < steps[k].repeat; rep++) {
                    dl_clear_error();
                    float loss = dl_stepper_bind(&r.st[k], &db) ? NAN : dl_stepper_train(&r.st[k], r.m[k]);
                    if (!isfinite(loss)) {
                        char why[512];
                        snprintf(why, sizeof why, "%s", dl_last_error());
                        dl_set_error("step '%s': %s at epoch %d, batch %lld", steps[k].model,
                                     why[0] ? why : "non-finite loss", e + 1, (long long)bi);
                        goto done;
                    }
                    if (steps[k].clip > 0) dl_steps_clip(apis[k], r.m[k], steps[k].clip);
                    dl_steps_share(&r, k, 1);
                    sum[k] += loss;
                    runs[k]++;
                }
            }
            dl_team_report(&team, dl_now() - t_step, nb, &opt, 1);
            result.steps++;
            seen += nb;
            char running[160] = "";
            for (int k = 0, len = 0; k < n && len < (int)sizeof running; k++)
                len += snprintf(running + len, sizeof running - len, "%sloss_%s %.4f", k ? "  " : "", steps[k].model,
                               sum[k] / (double)(runs[k] > 0 ? runs[k] : 1));
            dl_live_step(&live, bi, seen, running);
        }
        dl_live_clear(&live);
        if (bi == 0) break;
        result.epochs_done = e + 1;
        const double secs = dl_now() - t0;
        if (!opt.quiet) printf("epoch %d/%d", e + 1, epochs);
        if (history) fprintf(history, "%d", e + 1);
        for (int k = 0; k < n; k++) {
            double mean = sum[k] / (double)runs[k];
            if (!opt.quiet) printf("  loss_%s %.4f", steps[k].model, mean);
            if (history) fprintf(history, ",%.6g", mean);
        }
        result.final_train_loss = sum[n - 1] / (double)runs[n - 1];
        if (!opt.quiet) printf("  (%.1fs)\n", secs);
        if (history) fprintf(history, ",%.3f\n", secs);
        at.epochs_done = e + 1, at.steps = result.steps;
        if (checkpoint && dl_run_save_steps(apis, r.m, names, n, saver, checkpoint, &at)) goto done;
        if (history) fflush(history);
        if (stop) break;
    }
    {
        char took[32];
        dl_format_duration(dl_now() - t_start, took, sizeof took);
        printf("done: %d epoch%s, %lld steps in %s", result.epochs_done, result.epochs_done == 1 ? "" : "s",
               (long long)result.steps, took);
        if (checkpoint && result.epochs_done) printf(", saved %s", checkpoint);
        printf("\n");
        fflush(stdout);
    }
    rc = 0;
done:
    dl_live_clear(&live);
    if (res) *res = result;
    if (history && fclose(history) && rc == 0) {
        dl_set_error("cannot write '%s'", opt.history_csv);
        rc = -1;
    }
    if (src.close) src.close(&src);
    for (int k = 0; k < n; k++) {
        for (int j = 0; j < n; j++) free(r.map[k][j]);
        dl_stepper_free(&r.st[k]);
        if (r.m[k]) apis[k]->destroy(r.m[k]);
    }
    dl_dataset_free(&train);
    dl_dataset_free(&eval);
    return rc;
}
