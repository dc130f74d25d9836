/* search_cmd.c — `dlnc search`: hyper-parameter search.
 *
 * Each trial is the train section with some settings replaced (search_spec.h).
 * The settings are compiled into the model (the optimizer's state is created
 * from them, the batch sizes the arena), so a trial is emitted and built again
 * — the JIT cache makes a repeated setting free — and trained in this process
 * through the same dl_run_training as `dlnc run`, quietly, saving nothing.
 *
 * Trials are ranked on the validation split, never on the test set: a search
 * without a validation split is refused. The test set is looked at once, for
 * the best trial only: it is trained again from the same seed (the same run,
 * bit for bit: training is deterministic at any thread count) with the run's
 * own output, which ends with the test figures (runtime/train.c,
 * dl_final_test), and its checkpoint/history if asked for. */
#include "search_cmd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "file_open_internal.h"
#include "search_spec.h"
#include "train.h"

int search_cmd_option(int argc, char **argv, int *i, search_options *o) {
    const char *a = argv[*i];
    if (strcmp(a, "--grid") && strcmp(a, "--random") && strcmp(a, "--out")) return 0;
    if (!cli_has_value(argc, argv, *i)) return -1;
    const char *v = argv[++*i];
    if (!strcmp(a, "--grid")) o->spec = v;
    else if (!strcmp(a, "--out")) o->out = v;
    else {
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno || end == v || *end || n < 1 || n > SEARCH_MAX_TRIALS) {
            fprintf(stderr, "dlnc: error: --random takes a number of trials from 1 to %d, not '%s'\n", SEARCH_MAX_TRIALS, v);
            return -1;
        }
        o->random = n;
    }
    return 1;
}

typedef struct trial_result {
    int index;               /* 1-based, in the order run */
    search_trial t;
    int ok;                  /* 0: training failed (message in err) */
    dl_run_result r;         /* test_* are the validation split's figures */
    double seconds;          /* wall time, building included */
    char err[160];
} trial_result;

static int classifier;       /* rank on accuracy (set before sorting) */

/* Better first: finished before failed; higher validation accuracy for a
 * classifier, then lower validation loss; then the order run. */
static int compare(const void *pa, const void *pb) {
    const trial_result *a = pa, *b = pb;
    if (a->ok != b->ok) return b->ok - a->ok;
    if (a->ok && classifier && a->r.test_accuracy != b->r.test_accuracy)
        return a->r.test_accuracy > b->r.test_accuracy ? -1 : 1;
    if (a->ok && a->r.test_loss != b->r.test_loss) return a->r.test_loss < b->r.test_loss ? -1 : 1;
    return a->index - b->index;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Emits the modules with mods[0]'s current train config, builds, trains. */
static int train_once(ir_module *const *mods, int n, const emit_options *eo, const jit_options *jo,
                      const dl_run_options *ro, dl_run_result *res, char *err, size_t errlen) {
    char *c = NULL, *h = NULL;
    size_t cl = 0, hl = 0;
    FILE *cf = open_memstream(&c, &cl), *hf = open_memstream(&h, &hl);
    diag_ctx d;
    diag_init(&d, stderr);
    int rc = cf && hf ? emit_c(mods, n, cf, hf, eo, &d) : -1;
    if (cf) fclose(cf);
    if (hf) fclose(hf);
    jit_module jm;
    if (rc || d.n_errors) snprintf(err, errlen, "the model could not be emitted");
    else if (jit_load(c, cl, h, hl, eo->header_name, jo, &jm) != 0) snprintf(err, errlen, "the model did not build"), rc = -1;
    else {
        rc = dl_run_training(jm.api, ro, res);
        if (rc) snprintf(err, errlen, "%s", dl_last_error());
        jit_unload(&jm);
    }
    diag_free(&d);
    free(c);
    free(h);
    return rc ? -1 : 0;
}

static void print_table(FILE *f, const search_space *s, const trial_result *tr, int n, const char *sep, int csv) {
    static const char *const cols[] = {"val_loss", "val_acc", "train_loss", "steps", "seconds", "status"};
    static const int widths[] = {10, 8, 10, 7, 8, 0};
    fprintf(f, csv ? "rank%strial" : "rank%strial", csv ? sep : "  ");
    for (int k = 0; k < s->n; k++) fprintf(f, csv ? "%s%s" : "%s%12s", sep, search_setting_name(s->keys[k].setting));
    for (int c = 0; c < 6; c++) fprintf(f, "%s%*s", sep, csv ? 0 : widths[c], cols[c]);
    fprintf(f, "\n");
    for (int i = 0; i < n; i++) {
        const trial_result *t = &tr[i];
        fprintf(f, csv ? "%d%s%d" : "%4d%s%5d", i + 1, sep, t->index);
        for (int k = 0; k < s->n; k++) fprintf(f, csv ? "%s%g" : "%s%12g", sep, t->t.v[k]);
        if (t->ok) {
            fprintf(f, csv ? "%s%.6f" : "%s%10.4f", sep, t->r.test_loss);
            if (isnan(t->r.test_accuracy)) fprintf(f, csv ? "%s" : "%s%8s", sep, "");
            else fprintf(f, csv ? "%s%.6f" : "%s%7.2f%%", sep, csv ? t->r.test_accuracy : 100 * t->r.test_accuracy);
            fprintf(f, csv ? "%s%.6f%s%lld%s%.2f%sok\n" : "%s%10.4f%s%7lld%s%8.2f%sok\n", sep, t->r.final_train_loss,
                    sep, (long long)t->r.steps, sep, t->seconds, sep);
        } else {
            fprintf(f, csv ? "%s%s%s%s%s%s%s%s%s%.2f%s\"failed: " : "%s%10s%s%8s%s%10s%s%7s%s%8.2f%sfailed: ", sep, "", sep, "",
                    sep, "", sep, "", sep, t->seconds, sep);
            for (const char *p = t->err; *p; p++) /* CSV: quotes doubled inside the quoted field */
                fprintf(f, csv && *p == '"' ? "\"\"" : "%c", *p);
            fprintf(f, csv ? "\"\n" : "\n");
        }
    }
}

int search_cmd_run(ir_module *const *mods, int n_mods, const emit_options *eo, const jit_options *jo,
                   const dl_run_options *ro, const search_options *so, diag_ctx *d) {
    train_config *tc = mods[0]->train;
    if (!so->spec) {
        diag_fatal_noloc(d, "dlnc search needs the settings to try: --grid \"lr=1e-3,3e-3;batch=64,128\"");
        return 1;
    }
    if (tc->section) {
        diag_error(d, tc->loc, "dlnc search tunes one model's train section, not a section over several models ('%s')",
                   tc->section);
        return 1;
    }
    if (!(tc->cfg.data.val_split > 0) || tc->cfg.data.test_path) {
        diag_error(d, tc->loc, "dlnc search ranks trials on a validation split, and the data of '%s' has none%s\n"
                   "hint: add val_split = 0.1 to the data source: trials are never ranked on the test set",
                   mods[0]->name, tc->cfg.data.test_path ? " (its test = file replaces the split)" : "");
        return 1;
    }
    search_space s;
    char err[256];
    if (search_space_parse(so->spec, &s, err, sizeof err)) {
        diag_fatal_noloc(d, "--grid: %s", err);
        return 1;
    }
    for (int k = 0; k < s.n; k++) {
        const char *for_which = search_setting_unused(s.keys[k].setting, tc->cfg.optim.kind);
        if (for_which) {
            static const char *const optim_names[] = {"sgd", "adagrad", "rmsprop", "adam", "adamw"};
            const unsigned kind = (unsigned)tc->cfg.optim.kind;
            diag_error(d, tc->loc, "--grid: '%s' is a setting of %s; '%s' trains with %s",
                       search_setting_name(s.keys[k].setting), for_which, mods[0]->name,
                       kind < 5 ? optim_names[kind] : "another optimizer");
            return 1;
        }
        if (!strcmp(search_setting_name(s.keys[k].setting), "epochs") && ro->epochs > 0) {
            diag_fatal_noloc(d, "--grid sets epochs per trial; leave out --epochs");
            return 1;
        }
    }
    if (!so->random && !search_space_is_grid(&s)) {
        diag_fatal_noloc(d, "--grid: log(...) and uniform(...) are ranges to draw from: add --random N");
        return 1;
    }
    int64_t n = so->random ? so->random : search_grid_size(&s);
    if (n > SEARCH_MAX_TRIALS) {
        diag_fatal_noloc(d, "--grid: more than %d combinations; try --random N", SEARCH_MAX_TRIALS);
        return 1;
    }
    const uint64_t seed = ro->seed_set ? ro->seed : tc->cfg.seed;
    trial_result *tr = calloc((size_t)n, sizeof *tr);
    if (!tr) {
        diag_fatal_noloc(d, "out of memory");
        return 1;
    }
    const dl_train_config base = tc->cfg;
    dl_run_options quiet = *ro;
    quiet.quiet = 1, quiet.checkpoint = NULL, quiet.history_csv = NULL, quiet.resume = 0;
    printf("search: %lld %s trials of '%s', ranked on the validation split (%g of the training data)\n", (long long)n,
           so->random ? "random" : "grid", mods[0]->name, (double)base.data.val_split);
    for (int64_t i = 0; i < n; i++) {
        trial_result *t = &tr[i];
        t->index = (int)i + 1;
        if (so->random) search_random_trial(&s, seed, i, &t->t);
        else search_grid_trial(&s, i, &t->t);
        char desc[256];
        search_trial_format(&s, &t->t, desc, sizeof desc);
        printf("trial %lld/%lld: %s\n", (long long)i + 1, (long long)n, desc);
        fflush(stdout);
        tc->cfg = base;
        tc->cfg.checkpoint = NULL;
        search_apply(&s, &t->t, &tc->cfg);
        double t0 = now();
        t->ok = train_once(mods, n_mods, eo, jo, &quiet, &t->r, t->err, sizeof t->err) == 0;
        t->seconds = now() - t0;
        if (!t->ok) printf("  failed: %s\n", t->err);
    }
    classifier = 0;
    for (int64_t i = 0; i < n; i++) classifier |= tr[i].ok && !isnan(tr[i].r.test_accuracy);
    qsort(tr, (size_t)n, sizeof *tr, compare);
    printf("\nranked on the validation split (%s):\n", classifier ? "accuracy, then loss" : "loss");
    print_table(stdout, &s, tr, (int)n, " ", 0);
    int status = 0;
    if (so->out) {
        FILE *f = dl_fopen_write(so->out, "w");   /* a FIFO nobody reads is refused, not waited on */
        if (!f) {
            diag_fatal_noloc(d, "%s", dl_last_error());
            status = 1;
        } else if (print_table(f, &s, tr, (int)n, ",", 1), fclose(f) != 0) {
            diag_fatal_noloc(d, "cannot write '%s': %s", so->out, strerror(errno));
            status = 1;
        }
    }
    if (status == 0 && !tr[0].ok) {
        diag_fatal_noloc(d, "every trial failed");
        status = 1;
    }
    if (status == 0) {
        char desc[256];
        search_trial_format(&s, &tr[0].t, desc, sizeof desc);
        printf("\nbest: trial %d (%s), trained again from the same seed; the test set, if the data has one, is evaluated for this trial alone:\n",
               tr[0].index, desc);
        fflush(stdout);
        tc->cfg = base;
        search_apply(&s, &tr[0].t, &tc->cfg);
        dl_run_options best = *ro;
        best.quiet = 0;
        dl_run_result r;
        if (train_once(mods, n_mods, eo, jo, &best, &r, err, sizeof err)) {
            diag_fatal_noloc(d, "the best trial's rerun failed: %s", err);
            status = 1;
        } else if (r.test_loss != tr[0].r.test_loss) {
            /* the ranking's figure is not this run's: say so rather than report it as the same run */
            diag_fatal_noloc(d, "the best trial's rerun reached val_loss %.6f, not the %.6f it was ranked on", r.test_loss,
                             tr[0].r.test_loss);
            status = 1;
        }
    }
    tc->cfg = base;
    free(tr);
    return status;
}
