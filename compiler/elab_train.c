/* elab_train.c — the train section.
 *
 *   train mlp {
 *       data    = fashion_mnist("/usr/share/datasets/fashion-mnist", batch = 64)
 *       loss    = cross_entropy(output, label)
 *       optim   = adam(lr = 1e-3)
 *       sched   = cosine(warmup = 1)
 *       epochs  = 10
 *       metrics = [accuracy]
 *       augment = [random_crop(pad = 4), hflip(), normalize(mean = [0.5], std = [0.5])]
 *   }
 *
 * Everything but `loss` is resolved here, at compile time, into the
 * runtime's dl_train_config: a misspelt optimizer argument is a compile
 * error with a caret rather than a surprise an hour into training. `loss` is
 * an ordinary expression over `output` (the model's result) and `label`
 * (the data's targets), elaborated into each graph that needs it. The
 * label's type follows from the data and augmentation: i32[N] class labels,
 * or f32 shaped like the output for regression targets, masks
 * (fashion_mnist_masks) and mixup's one-hot mixtures. */
#include <math.h>
#include <string.h>

#include "elab_internal.h"

static const char *const train_keys[] = {"data", "loss", "optim", "optimizer", "sched", "schedule",
                                         "epochs", "metrics", "seed", "checkpoint", "augment", "init_from",
                                         "init_prefix", "init_into", "early_stop", "log_every", "freeze", "lr_scale", "init_skip",
                                         "views", "adversarial", "adversarial_input", "accumulate", "swa"};

const ast_decl *find_train_section(const ast_program *p, const char *model) {
    for (int i = 0; i < p->n_decls; i++)
        if (p->decls[i]->kind == AST_DECL_TRAIN && strcmp(p->decls[i]->name, model) == 0 && !is_multistep(p->decls[i]))
            return p->decls[i];
    return NULL;
}

static const ast_setting *setting(const ast_decl *t, const char *key, const char *alias) {
    for (int i = 0; i < t->n_settings; i++)
        if (strcmp(t->settings[i].key, key) == 0 || (alias && strcmp(t->settings[i].key, alias) == 0))
            return &t->settings[i];
    return NULL;
}

/* A setting whose value is a call (or a bare name, meaning a call with no
 * arguments): returns the callee and its evaluated arguments. */
static const char *call_of(elab *e, const ast_setting *s, call_args *ca) {
    frame f = {.prefix = ""};
    const ast_expr *x = s->value;
    if (x->kind == AST_NAME) {
        *ca = (call_args){0};
        return x->name;
    }
    if (x->kind != AST_CALL) {
        diag_error(e->d, x->loc, "'%s' must be a call such as %s", s->key,
                   strcmp(s->key, "data") == 0         ? "fashion_mnist(\"dir\", batch = 64)"
                   : strcmp(s->key, "early_stop") == 0 ? "val_loss(patience = 5)"
                   : strcmp(s->key, "swa") == 0        ? "swa(start = 8, lr = 0.05)"
                   : s->key[0] == 'o'                  ? "adam(lr = 1e-3)"
                                                       : "cosine(warmup = 1)");
        return NULL;
    }
    if (eval_call_args(e, &f, x, ca) != 0) return NULL;
    return x->name;
}

typedef struct kind_name {
    const char *name;
    int kind;
} kind_name;

#define COUNT(a) ((int)(sizeof(a) / sizeof *(a)))

/* The kind named `name` in known[0..n), or -1. */
static int kind_of(const char *name, const kind_name *known, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(name, known[i].name) == 0) return known[i].kind;
    return -1;
}

static int unknown(elab *e, src_loc loc, const char *what, const char *name, const kind_name *known, int n) {
    char list[256] = "";
    for (int i = 0; i < n; i++) {
        if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, known[i].name, sizeof list - strlen(list) - 1);
    }
    diag_error(e->d, loc, "unknown %s '%s'\nhint: known %ss: %s", what, name, what, list);
    return -1;
}

/* bind_args over a call's evaluated arguments. */
static int bind_call(elab *e, const char *fn, src_loc loc, const argspec *spec, int nspec, const call_args *ca, value *out) {
    return bind_args(e, fn, loc, spec, nspec, ca->pos, ca->npos, ca->kw_names, ca->kw, ca->nkw, ca->kw_locs, out);
}

/* The names of spec's entries in `allowed` (a bit per entry), comma-separated. */
static void allowed_list(const argspec *spec, int nspec, unsigned allowed, char *list, size_t size) {
    list[0] = 0;
    for (int i = 0; i < nspec; i++)
        if (allowed & (1u << i)) {
            if (list[0]) strncat(list, ", ", size - strlen(list) - 1);
            strncat(list, spec[i].name, size - strlen(list) - 1);
        }
}

/* bind_call for settings of several kinds sharing one spec (optimizers,
 * schedules, image sources): positional arguments bind as before, and an
 * argument outside this kind's `allowed` set — an unknown name or another
 * kind's — is an error whose hint lists this kind's arguments only (the
 * shared spec's full list told adam's user about momentum and lr_decay). */
static int bind_kind(elab *e, const char *fn, src_loc loc, const argspec *spec, int nspec, const call_args *ca, value *out,
                     unsigned allowed) {
    char list[256];
    allowed_list(spec, nspec, allowed, list, sizeof list);
    for (int k = 0; k < ca->nkw; k++) {
        int found = -1;
        for (int i = 0; i < nspec; i++)
            if (strcmp(spec[i].name, ca->kw_names[k]) == 0) found = i;
        if (found < 0 || !(allowed & (1u << found))) {
            diag_error(e->d, ca->kw_locs ? ca->kw_locs[k] : loc, "'%s' %s '%s'\nhint: its arguments are: %s", fn,
                       found < 0 ? "has no argument named" : "does not take", ca->kw_names[k], list);
            return -1;
        }
    }
    if (bind_call(e, fn, loc, spec, nspec, ca, out)) return -1;
    for (int i = 0; i < nspec; i++)               /* a positional argument of another kind */
        if (out[i].kind != V_NONE && !(allowed & (1u << i))) {
            diag_error(e->d, out[i].loc, "'%s' does not take '%s'\nhint: its arguments are: %s", fn, spec[i].name, list);
            return -1;
        }
    return 0;
}

/* A setting's items: those of a list, or the one value itself. */
static const ast_expr *const *setting_items(const ast_setting *s, int *n) {
    if (s->value->kind == AST_LIST) {
        *n = s->value->n_items;
        return (const ast_expr *const *)s->value->items;
    }
    *n = 1;
    return (const ast_expr *const *)&s->value;
}

static int get_float(elab *e, const value *v, double lo, double hi, const char *what, float *out) {
    double x;
    if (v->kind == V_NONE) return 1;
    if (v->kind == V_BOOL || !as_number(v, &x)) {
        diag_error(e->d, v->loc, "'%s' must be a number, got %s", what, v_describe(e, v));
        return 0;
    }
    if (!(x >= lo && x <= hi)) {
        diag_error(e->d, v->loc, "'%s' must be in [%g, %g], got %g", what, lo, hi, x);
        return 0;
    }
    *out = (float)x;
    return 1;
}

static int get_int(elab *e, const value *v, int64_t lo, const char *what, int64_t *out) {
    if (v->kind == V_NONE) return 1;
    value iv = int_like(v);
    v = &iv;
    if (v->kind != V_INT || v->i < lo) {
        diag_error(e->d, v->loc, "'%s' must be an int >= %lld, got %s", what, (long long)lo, v_describe(e, v));
        return 0;
    }
    *out = v->i;
    return 1;
}

static int get_bool(elab *e, const value *v, const char *what, int *out) {
    if (v->kind == V_NONE) return 1;
    if (v->kind != V_BOOL) {
        diag_error(e->d, v->loc, "'%s' must be true or false, got %s", what, v_describe(e, v));
        return 0;
    }
    *out = (int)v->i;
    return 1;
}

static int get_str(elab *e, const value *v, const char *what, const char **out) {
    if (v->kind == V_NONE) return 1;
    if (v->kind != V_STR) {
        diag_error(e->d, v->loc, "'%s' must be a string, got %s", what, v_describe(e, v));
        return 0;
    }
    *out = v->s;
    return 1;
}

/* ---- data ------------------------------------------------------------------ */

/* mlm = p: BERT's masked-token batches (runtime/text_batch.c). They are
 * independent windows; contiguous streams exist to carry a recurrent state
 * from one batch to the next, which a model reading a masked window both
 * ways has no use for, so the two together are refused. */
static int build_mlm(elab *e, const value *v, dl_data_config *dc) {
    double p;
    if (v->kind == V_NONE) return 0;
    if (v->kind == V_BOOL || !as_number(v, &p) || !(p > 0 && p < 1)) {
        diag_error(e->d, v->loc, "'mlm' is the fraction of positions masked, in (0, 1), got %s\nhint: BERT uses "
                   "mlm = 0.15", v_describe(e, v));
        return -1;
    }
    if (dc->contiguous) {
        diag_error(e->d, v->loc, "'mlm' needs independent windows, not contiguous = true\nhint: contiguous streams "
                   "carry a recurrent state between batches (truncated BPTT); drop contiguous for masked tokens");
        return -1;
    }
    dc->mlm = (float)p;
    return 0;
}

/* seq2seq_task("reverse", length = 8, ...): toy sequence-to-sequence tasks
 * generated by the runtime (runtime/seq2seq_task.c), no file. The limits are
 * the runtime's, caught here with a caret. */
static int build_seq2seq_data(elab *e, src_loc loc, const call_args *ca, dl_data_config *dc) {
    static const argspec spec[] = {{"task", 1}, {"length", 0}, {"min_length", 0}, {"digits", 0}, {"train_size", 0},
                                   {"test_size", 0}, {"batch", 0}, {"shuffle", 0}};
    enum { Q_TASK, Q_LEN, Q_MIN, Q_DIG, Q_TRAIN, Q_TEST, Q_BATCH, Q_SHUF, Q_N };
    value a[Q_N];
    if (bind_call(e, "seq2seq_task", loc, spec, Q_N, ca, a)) return -1;
    dc->length = 8, dc->digits = 10, dc->n_train = 50000, dc->n_test = 2000, dc->batch = 64, dc->shuffle = 1;
    if (!get_str(e, &a[Q_TASK], "task", &dc->task) || !get_int(e, &a[Q_LEN], 1, "length", &dc->length) ||
        !get_int(e, &a[Q_DIG], 2, "digits", &dc->digits) || !get_int(e, &a[Q_TRAIN], 1, "train_size", &dc->n_train) ||
        !get_int(e, &a[Q_TEST], 0, "test_size", &dc->n_test) || !get_int(e, &a[Q_BATCH], 1, "batch", &dc->batch) ||
        !get_bool(e, &a[Q_SHUF], "shuffle", &dc->shuffle))
        return -1;
    dc->min_length = dc->length;
    if (!get_int(e, &a[Q_MIN], 1, "min_length", &dc->min_length)) return -1;
    static const kind_name tasks[] = {{"reverse", 0}, {"copy", 1}, {"sort", 2}, {"add", 3}};
    if (kind_of(dc->task, tasks, COUNT(tasks)) < 0) return unknown(e, a[Q_TASK].loc, "task", dc->task, tasks, COUNT(tasks));
    static const struct { int arg; int64_t max; } caps[] = {
        {Q_LEN, 1024}, {Q_DIG, 1000}, {Q_TRAIN, 10000000}, {Q_TEST, 1000000}, {Q_BATCH, 1 << 20}};
    const int64_t *val[] = {[Q_LEN] = &dc->length, [Q_DIG] = &dc->digits, [Q_TRAIN] = &dc->n_train,
                            [Q_TEST] = &dc->n_test, [Q_BATCH] = &dc->batch};
    for (int i = 0; i < COUNT(caps); i++)
        if (*val[caps[i].arg] > caps[i].max) {
            diag_error(e->d, a[caps[i].arg].loc, "'%s' must be at most %lld, got %lld", spec[caps[i].arg].name,
                       (long long)caps[i].max, (long long)*val[caps[i].arg]);
            return -1;
        }
    if (dc->min_length > dc->length) {
        diag_error(e->d, a[Q_MIN].loc, "'min_length' (%lld) must be at most 'length' (%lld)", (long long)dc->min_length,
                   (long long)dc->length);
        return -1;
    }
    /* the runtime keeps test sources out of training by drawing again: the test set may take at most half */
    const int64_t sources = dl_seq2seq_sources(dc);
    if (sources >= 0 && dc->n_test > sources / 2) {
        diag_error(e->d, a[Q_TEST].kind != V_NONE ? a[Q_TEST].loc : loc, "a test set of %lld sequences would take more "
                   "than half of the %lld distinct sources of '%s' at these lengths and digits\nhint: test_size = %lld at "
                   "most, or a larger length or digits", (long long)dc->n_test, (long long)sources, dc->task,
                   (long long)(sources / 2));
        return -1;
    }
    dc->path = "";   /* generated: nothing to read */
    return 0;
}

/* text("dir or file", ...) and tokens("ids.txt", ...): a stream of token ids
 * cut into next-token samples (runtime/text_batch.c). The defaults are the
 * char-LSTM workload's: batch 32, 64 steps, the last 5% for validation. */
static int build_text_data(elab *e, const char *fn, src_loc loc, const call_args *ca, dl_data_config *dc) {
    static const argspec spec[] = {{"path", 1}, {"batch", 0}, {"seq_len", 0}, {"val_split", 0}, {"contiguous", 0},
                                   {"mlm", 0}, {"vocab", 0}};
    enum { T_PATH, T_BATCH, T_SEQ, T_VAL, T_CONT, T_MLM, T_VOCAB, T_N };
    const int tokens = strcmp(fn, "tokens") == 0;
    value a[T_N];
    a[T_VOCAB].kind = V_NONE;   /* text's vocabulary is the bytes of its training text: no argument */
    if (bind_call(e, fn, loc, spec, tokens ? T_N : T_VOCAB, ca, a)) return -1;
    dc->batch = 32;
    dc->seq_len = 64;
    dc->val_split = 0.05f;
    dc->shuffle = 1;   /* random windows are visited in a shuffled order; contiguous streams ignore it */
    if (!get_str(e, &a[T_PATH], "path", &dc->path) || !get_int(e, &a[T_BATCH], 1, "batch", &dc->batch) ||
        !get_int(e, &a[T_SEQ], 1, "seq_len", &dc->seq_len) ||
        !get_float(e, &a[T_VAL], 0, 0.99, "val_split", &dc->val_split) ||
        !get_bool(e, &a[T_CONT], "contiguous", &dc->contiguous) || !get_int(e, &a[T_VOCAB], 1, "vocab", &dc->vocab))
        return -1;
    /* the runtime batcher's bounds, so that a typo is caught here, not after loading the corpus */
    const value *big = dc->batch > (1 << 20) ? &a[T_BATCH] : dc->seq_len > (1 << 20) ? &a[T_SEQ] : NULL;
    if (big) {
        const int is_batch = big == &a[T_BATCH];
        diag_error(e->d, big->loc, "'%s' must be at most 1048576, got %lld", is_batch ? "batch" : "seq_len",
                   (long long)(is_batch ? dc->batch : dc->seq_len));
        return -1;
    }
    if (dc->vocab > 2147483646) {   /* the [MASK] id after it must be an int32 too */
        diag_error(e->d, a[T_VOCAB].loc, "'vocab' must be at most 2147483646 (ids are int32), got %lld",
                   (long long)dc->vocab);
        return -1;
    }
    return build_mlm(e, &a[T_MLM], dc);
}

/* graph("dir") and sbm(...): one graph for node classification, trained on
 * whole (runtime/graph_read.c, graph_sbm.c). The sbm's limits are the
 * runtime's, caught here with a caret; its defaults are samples/gcn_sbm.dln's graph: 2000
 * nodes in 5 communities, about 7 neighbours each, that trains in seconds. */
static int build_graph_data(elab *e, const char *fn, src_loc loc, const call_args *ca, dl_data_config *dc) {
    if (strcmp(fn, "graphs") == 0) {
        /* graphs("dir", batch, shuffle): many small graphs, `batch` of them per step (runtime/graphset_read.c) */
        static const argspec spec[] = {{"path", 1}, {"batch", 0}, {"shuffle", 0}};
        value a[3];
        dc->batch = 32, dc->shuffle = 1;
        if (bind_call(e, fn, loc, spec, 3, ca, a) || !get_str(e, &a[0], "path", &dc->path) ||
            !get_int(e, &a[1], 1, "batch", &dc->batch) || !get_bool(e, &a[2], "shuffle", &dc->shuffle))
            return -1;
        if (dc->batch > 65536) {
            diag_error(e->d, a[1].loc, "'batch' (graphs per step) must be at most 65536, got %lld", (long long)dc->batch);
            return -1;
        }
        return 0;
    }
    dc->batch = 1;   /* one graph per step */
    if (strcmp(fn, "graph") == 0) {
        static const argspec spec[] = {{"path", 1}};
        value a[1];
        return bind_call(e, fn, loc, spec, 1, ca, a) || !get_str(e, &a[0], "path", &dc->path) ? -1 : 0;
    }
    static const argspec spec[] = {{"nodes", 0}, {"classes", 0}, {"p_in", 0}, {"p_out", 0}, {"features", 0},
                                   {"noise", 0}, {"train_per_class", 0}, {"val", 0}, {"test", 0}, {"seed", 0}};
    enum { G_NODES, G_CLASSES, G_PIN, G_POUT, G_FEAT, G_NOISE, G_TRAIN, G_VAL, G_TEST, G_SEED, G_N };
    value a[G_N];
    if (bind_call(e, fn, loc, spec, G_N, ca, a)) return -1;
    dc->graph_nodes = 2000, dc->graph_classes = 5, dc->p_in = 0.01f, dc->p_out = 0.002f, dc->graph_features = 32;
    dc->noise = 3.0f, dc->train_per_class = 20, dc->graph_val = 500, dc->graph_test = 1000;
    int64_t seed = 1;
    if (!get_int(e, &a[G_NODES], 2, "nodes", &dc->graph_nodes) || !get_int(e, &a[G_CLASSES], 1, "classes", &dc->graph_classes) ||
        !get_float(e, &a[G_PIN], 0, 1, "p_in", &dc->p_in) || !get_float(e, &a[G_POUT], 0, 1, "p_out", &dc->p_out) ||
        !get_int(e, &a[G_FEAT], 1, "features", &dc->graph_features) || !get_float(e, &a[G_NOISE], 0, 1e6, "noise", &dc->noise) ||
        !get_int(e, &a[G_TRAIN], 1, "train_per_class", &dc->train_per_class) || !get_int(e, &a[G_VAL], 0, "val", &dc->graph_val) ||
        !get_int(e, &a[G_TEST], 0, "test", &dc->graph_test) || !get_int(e, &a[G_SEED], 0, "seed", &seed))
        return -1;
    dc->graph_seed = (uint64_t)seed;
    const double V = (double)dc->graph_nodes, C = (double)dc->graph_classes;
    const double expected = dc->p_in * V * (V / C - 1) / 2 + dc->p_out * V * (V - V / C) / 2;
    const value *bad = dc->graph_nodes > 1000000 ? &a[G_NODES] : dc->graph_classes > dc->graph_nodes ? &a[G_CLASSES]
                       : dc->graph_features > 4096 ? &a[G_FEAT] : NULL;
    if (bad) {
        diag_error(e->d, bad->loc, "sbm: at most 1000000 nodes, classes <= nodes and at most 4096 features");
        return -1;
    }
    if (expected > 4.0e7) {
        diag_error(e->d, loc, "sbm: about %.3g edges expected, more than 40000000\nhint: lower p_in or p_out", expected);
        return -1;
    }
    /* each alone first, so the sum below cannot overflow (test = 2^63 - 1 did, found by
     * tests/fuzz/mutate_dln.py under UBSan) */
    const value *big = dc->train_per_class > dc->graph_nodes ? &a[G_TRAIN] : dc->graph_val > dc->graph_nodes ? &a[G_VAL]
                       : dc->graph_test > dc->graph_nodes ? &a[G_TEST] : NULL;
    if (big) {
        diag_error(e->d, big->loc, "sbm: train_per_class, val and test must each be at most the %lld nodes of the graph",
                   (long long)dc->graph_nodes);
        return -1;
    }
    if (dc->graph_classes * dc->train_per_class + dc->graph_val + dc->graph_test > dc->graph_nodes) {
        diag_error(e->d, loc, "sbm: train_per_class x classes + val + test = %lld nodes, more than the %lld of the graph",
                   (long long)(dc->graph_classes * dc->train_per_class + dc->graph_val + dc->graph_test),
                   (long long)dc->graph_nodes);
        return -1;
    }
    dc->path = "";   /* generated: nothing to read */
    return 0;
}

/* classes = [5, 6, 7]: only those classes, relabelled 0, 1, 2 (runtime: dl_dataset_subset). */
static int build_classes(elab *e, const value *v, dl_data_config *dc) {
    if (v->kind == V_NONE) return 0;
    if (v->kind != V_LIST || v->n < 1 || v->n > 4096) {
        diag_error(e->d, v->loc, "'classes' is a list of class labels such as [0, 1, 2, 3, 4], got %s",
                   v_describe(e, v));
        return -1;
    }
    int *cl = ARENA_NEW_ARRAY(e->a, int, v->n);
    for (int i = 0; i < v->n; i++) {
        int64_t c = -1;
        if (!get_int(e, &v->items[i], 0, "classes", &c)) return -1;
        if (c > 65535) {
            diag_error(e->d, v->items[i].loc, "class %lld is beyond any dataset's labels", (long long)c);
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (cl[j] == c) {
                diag_error(e->d, v->items[i].loc, "class %lld is listed twice", (long long)c);
                return -1;
            }
        cl[i] = (int)c;
    }
    dc->classes = cl;
    dc->n_classes = v->n;
    return 0;
}

/* csv(columns = ["age", "city"]): header columns that are also fields of
 * their own, read by the model inputs of their names (f32[N] or i32[N]). */
static int csv_columns(elab *e, const value *v, dl_csv_options *o) {
    static const char *const taken[] = {"features", "label", "weight"};
    if (v->kind != V_LIST || v->n < 1 || v->n > DL_CSV_MAX_COLUMNS) {
        diag_error(e->d, v->loc, "columns must be a list of 1 to %d header names, got %s\nhint: e.g. columns = [\"age\", "
                   "\"city\"]: model inputs age: f32[N] and city: i32[N] read them", DL_CSV_MAX_COLUMNS, v_describe(e, v));
        return -1;
    }
    for (int k = 0; k < v->n; k++) {
        const value *c = &v->items[k];
        if (c->kind != V_STR || !c->s[0]) {
            diag_error(e->d, c->loc, "a column must be named by a non-empty string, got %s", v_describe(e, c));
            return -1;
        }
        for (size_t t = 0; t < sizeof taken / sizeof *taken; t++)
            if (strcmp(c->s, taken[t]) == 0) {
                diag_error(e->d, c->loc, "'%s' is already a field of csv(...); name the column otherwise in the header",
                           c->s);
                return -1;
            }
        for (int j = 0; j < k; j++)
            if (strcmp(o->columns[j], c->s) == 0) {
                diag_error(e->d, c->loc, "column '%s' is listed twice", c->s);
                return -1;
            }
        o->columns[k] = c->s;
    }
    o->n_columns = v->n;
    return 0;
}

/* detection_canvas(...): Fashion-MNIST items on a larger canvas, with boxes
 * (runtime/detect_canvas.c). Its bounds are the runtime's, caught here with
 * a caret; the defaults are samples/yolo_tiny.dln's task. */
static int build_detect_data(elab *e, src_loc loc, const call_args *ca, dl_data_config *dc) {
    static const argspec spec[] = {{"path", 0}, {"canvas", 0}, {"grid", 0}, {"objects", 0}, {"train_size", 0},
                                   {"test_size", 0}, {"batch", 0}, {"shuffle", 0}};
    enum { K_PATH, K_CANVAS, K_GRID, K_OBJ, K_TRAIN, K_TEST, K_BATCH, K_SHUF, K_N };
    value a[K_N];
    if (bind_call(e, "detection_canvas", loc, spec, K_N, ca, a)) return -1;
    dc->path = "/usr/share/datasets/fashion-mnist";
    dc->canvas = 64, dc->grid = 8, dc->min_objects = 1, dc->max_objects = 3;
    dc->n_train = 20000, dc->n_test = 2000, dc->batch = 32, dc->shuffle = 1;
    if (!get_str(e, &a[K_PATH], "path", &dc->path) || !get_int(e, &a[K_CANVAS], 28, "canvas", &dc->canvas) ||
        !get_int(e, &a[K_GRID], 1, "grid", &dc->grid) || !get_int(e, &a[K_TRAIN], 1, "train_size", &dc->n_train) ||
        !get_int(e, &a[K_TEST], 0, "test_size", &dc->n_test) || !get_int(e, &a[K_BATCH], 1, "batch", &dc->batch) ||
        !get_bool(e, &a[K_SHUF], "shuffle", &dc->shuffle))
        return -1;
    if (a[K_OBJ].kind != V_NONE) {
        const value *o = &a[K_OBJ];
        if (o->kind != V_LIST || o->n != 2) {
            diag_error(e->d, o->loc, "'objects' must be a pair (fewest, most) such as (1, 3)");
            return -1;
        }
        if (!get_int(e, &o->items[0], 0, "objects[0]", &dc->min_objects) ||
            !get_int(e, &o->items[1], 1, "objects[1]", &dc->max_objects))
            return -1;
        if (dc->min_objects > dc->max_objects || dc->max_objects > 8) {
            diag_error(e->d, o->loc, "'objects' must be (fewest, most) with fewest <= most <= 8, got (%lld, %lld)",
                       (long long)dc->min_objects, (long long)dc->max_objects);
            return -1;
        }
    }
    if (dc->canvas > 1024) {
        diag_error(e->d, a[K_CANVAS].loc, "'canvas' must be at most 1024, got %lld", (long long)dc->canvas);
        return -1;
    }
    if (dc->grid > dc->canvas) {
        diag_error(e->d, a[K_GRID].loc, "'grid' (%lld cells a side) must be at most the canvas (%lld pixels)",
                   (long long)dc->grid, (long long)dc->canvas);
        return -1;
    }
    const double floats = (double)(dc->n_train + dc->n_test) * (double)dc->canvas * (double)dc->canvas;
    if (floats > 2e9) {
        diag_error(e->d, loc, "detection_canvas: %.3g pixels in all, more than 2e9\nhint: fewer canvases (train_size, "
                   "test_size) or a smaller canvas", floats);
        return -1;
    }
    return 0;
}

/* An image source's `channels`: 0 (from the first image), 1, 3 or 4. */
static int channels_ok(elab *e, const value *v, int64_t channels) {
    if (channels == 0 || channels == 1 || channels == 3 || channels == 4) return 1;
    diag_error(e->d, v->loc, "'channels' must be 1 (gray), 3 (RGB) or 4 (RGBA), got %lld", (long long)channels);
    return 0;
}

/* images("dir", masks = "mdir", test, test_masks, batch, shuffle, channels,
 * ignore_index): segmentation pairs, a class id per pixel (runtime/data_image.c). */
static int build_images_data(elab *e, src_loc loc, const call_args *ca, dl_data_config *dc) {
    static const argspec spec[] = {{"path", 0}, {"masks", 0}, {"test", 0}, {"test_masks", 0}, {"batch", 0},
                                   {"shuffle", 0}, {"channels", 0}, {"ignore_index", 0}};
    enum { I_PATH, I_MASKS, I_TEST, I_TMASKS, I_BATCH, I_SHUF, I_CH, I_IGN, I_N };
    value a[I_N];
    if (bind_call(e, "images", loc, spec, I_N, ca, a)) return -1;
    dc->batch = 16, dc->shuffle = 1, dc->ignore_index = 255;
    int64_t channels = 0, ignore = 255;
    if (!get_str(e, &a[I_PATH], "path", &dc->path) || !get_str(e, &a[I_MASKS], "masks", &dc->masks_path) ||
        !get_str(e, &a[I_TEST], "test", &dc->test_path) || !get_str(e, &a[I_TMASKS], "test_masks", &dc->test_masks_path) ||
        !get_int(e, &a[I_BATCH], 1, "batch", &dc->batch) || !get_bool(e, &a[I_SHUF], "shuffle", &dc->shuffle) ||
        !get_int(e, &a[I_CH], 0, "channels", &channels) || !get_int(e, &a[I_IGN], 0, "ignore_index", &ignore))
        return -1;
    if (!channels_ok(e, &a[I_CH], channels)) return -1;
    if (ignore > 255) {
        diag_error(e->d, a[I_IGN].loc, "'ignore_index' must be a mask value, 0 to 255, got %lld", (long long)ignore);
        return -1;
    }
    if (!dc->path || !dc->masks_path || (dc->test_path != NULL) != (dc->test_masks_path != NULL)) {
        diag_error(e->d, loc, "images(...) needs %s\nhint: images(\"train/img\", masks = \"train/mask\", test = "
                   "\"val/img\", test_masks = \"val/mask\"): each mask the image's file name in its folder",
                   !dc->path ? "the image folder" : !dc->masks_path ? "the mask folder, masks = \"...\""
                   : dc->test_path ? "the test masks, test_masks = \"...\"" : "the test images, test = \"...\"");
        return -1;
    }
    dc->channels = (int)channels, dc->ignore_index = (int)ignore;
    return 0;
}

static int build_data(elab *e, const ast_setting *s, dl_data_config *dc, int *label_is_class) {
    call_args ca;
    const char *fn = call_of(e, s, &ca);
    if (!fn) return -1;
    static const kind_name kinds[] = {{"fashion_mnist", 0}, {"mnist", 0},       {"idx", 0},
                                      {"csv", 1},           {"cifar10", 2},     {"image_folder", 3},
                                      {"fashion_mnist_masks", 4}, {"text", 5},          {"tokens", 5},
                                      {"seq2seq_task", 6}, {"graph", 7}, {"sbm", 7}, {"detection_canvas", 8},
                                      {"graphs", 7}, {"images", 9}};
    int k = kind_of(fn, kinds, COUNT(kinds));
    if (k < 0) return unknown(e, s->value->loc, "data source", fn, kinds, COUNT(kinds));
    dc->kind = fn;
    if (k == 5) return build_text_data(e, fn, s->value->loc, &ca, dc);
    if (k == 6) return build_seq2seq_data(e, s->value->loc, &ca, dc);
    if (k == 7) return build_graph_data(e, fn, s->value->loc, &ca, dc);
    if (k == 8) return build_detect_data(e, s->value->loc, &ca, dc);
    if (k == 9) return build_images_data(e, s->value->loc, &ca, dc);
    dc->batch = 64;
    dc->shuffle = 1;
    dc->csv = (dl_csv_options){.label_col = -1, .header = -1, .classify = 1, .delimiter = ','};
    *label_is_class = 1;
    int64_t batch = dc->batch, label_col = -1;
    if (k >= 2) {   /* cifar10, image_folder, fashion_mnist_masks */
        static const argspec spec[] = {{"path", 0}, {"batch", 0}, {"shuffle", 0}, {"val_split", 0},
                                       {"test", 0}, {"channels", 0}, {"threshold", 0}};
        enum { D_PATH, D_BATCH, D_SHUF, D_VAL, D_TEST, D_CH, D_THR, D_N };
        static const unsigned allowed[] = {
            [2] = 1 << D_PATH | 1 << D_BATCH | 1 << D_SHUF | 1 << D_VAL,
            [3] = 1 << D_PATH | 1 << D_BATCH | 1 << D_SHUF | 1 << D_VAL | 1 << D_TEST | 1 << D_CH,
            [4] = 1 << D_PATH | 1 << D_BATCH | 1 << D_SHUF | 1 << D_VAL | 1 << D_THR,
        };
        value a[D_N];
        if (bind_kind(e, fn, s->value->loc, spec, D_N, &ca, a, allowed[k])) return -1;
        dc->path = k == 4 ? "/usr/share/datasets/fashion-mnist" : NULL;
        if (k == 4) dc->mask_threshold = 0.1f;
        int64_t channels = 0;
        if (!get_str(e, &a[D_PATH], "path", &dc->path) || !get_int(e, &a[D_BATCH], 1, "batch", &batch) ||
            !get_bool(e, &a[D_SHUF], "shuffle", &dc->shuffle) || !get_float(e, &a[D_VAL], 0, 0.99, "val_split", &dc->val_split) ||
            !get_str(e, &a[D_TEST], "test", &dc->test_path) || !get_int(e, &a[D_CH], 0, "channels", &channels) ||
            !get_float(e, &a[D_THR], 0, 1, "threshold", &dc->mask_threshold))
            return -1;
        if (!channels_ok(e, &a[D_CH], channels)) return -1;
        if (!dc->path) {
            diag_error(e->d, s->value->loc, "'%s' needs the %s", fn,
                       k == 2 ? "directory holding data_batch_1.bin .. test_batch.bin" : "folder of class subfolders");
            return -1;
        }
        dc->channels = (int)channels;
        *label_is_class = k != 4;   /* masks are dense targets shaped like the output */
    } else if (k == 0) {
        static const argspec spec[] = {{"path", 0}, {"batch", 0}, {"shuffle", 0}, {"val_split", 0}, {"classes", 0},
                                       {"fraction", 0}};
        value a[COUNT(spec)];
        if (bind_call(e, fn, s->value->loc, spec, COUNT(spec), &ca, a)) return -1;
        dc->path = strcmp(fn, "fashion_mnist") == 0 ? "/usr/share/datasets/fashion-mnist" : NULL;
        if (!get_str(e, &a[0], "path", &dc->path) || !get_int(e, &a[1], 1, "batch", &batch) ||
            !get_bool(e, &a[2], "shuffle", &dc->shuffle) || !get_float(e, &a[3], 0, 0.99, "val_split", &dc->val_split) ||
            build_classes(e, &a[4], dc) || !get_float(e, &a[5], 1e-6, 1, "fraction", &dc->fraction))
            return -1;
        if (!dc->path) {
            diag_error(e->d, s->value->loc, "'%s' needs the directory holding the IDX files", fn);
            return -1;
        }
    } else {
        static const argspec spec[] = {{"path", 1},      {"test", 0},   {"batch", 0},     {"shuffle", 0},
                                       {"label_col", 0}, {"header", 0}, {"classify", 0},  {"val_split", 0},
                                       {"delimiter", 0}, {"weight_col", 0}, {"columns", 0}};
        value a[COUNT(spec)];
        if (bind_call(e, fn, s->value->loc, spec, COUNT(spec), &ca, a)) return -1;
        const char *delim = ",";
        int header = -1;
        if (!get_str(e, &a[0], "path", &dc->path) || !get_str(e, &a[1], "test", &dc->test_path) ||
            !get_int(e, &a[2], 1, "batch", &batch) || !get_bool(e, &a[3], "shuffle", &dc->shuffle) ||
            !get_int(e, &a[4], -1000000, "label_col", &label_col) || !get_bool(e, &a[6], "classify", &dc->csv.classify) ||
            !get_float(e, &a[7], 0, 0.99, "val_split", &dc->val_split) || !get_str(e, &a[8], "delimiter", &delim))
            return -1;
        if (a[5].kind != V_NONE && !get_bool(e, &a[5], "header", &header)) return -1;
        int64_t weight_col = 0;
        if (a[9].kind != V_NONE) {
            /* importance weights: the column becomes the field `weight`, f32[N], not a feature */
            if (!get_int(e, &a[9], -1000000, "weight_col", &weight_col)) return -1;
            dc->csv.has_weight = 1, dc->csv.weight_col = (int)weight_col;
        }
        if (strlen(delim) != 1) {
            diag_error(e->d, a[8].loc, "the delimiter must be a single character");
            return -1;
        }
        if (a[10].kind != V_NONE && csv_columns(e, &a[10], &dc->csv)) return -1;
        if (!dc->test_path && a[7].kind == V_NONE) dc->val_split = 0.2f;
        dc->csv.label_col = (int)label_col;
        dc->csv.header = header;
        dc->csv.delimiter = delim[0];
        *label_is_class = dc->csv.classify;
    }
    dc->batch = batch;
    return 0;
}

/* ---- optimizers -------------------------------------------------------------- */

/* Training recipes a course reaches for that are not settings here, by the names
 * PyTorch code gives them (a train setting or an optimizer wrapping another):
 * what to write instead, or why there is nothing to write. */
static const char *missing_recipe(const char *name) {
    static const struct {
        const char *name, *hint;
    } recipes[] = {
        {"accumulate", "gradient accumulation is the setting accumulate = k: the optimizer steps once every k batches, "
                       "on the mean of their gradients"},
        {"swa", "stochastic weight averaging is the setting swa = swa(start = E, lr = x): the weights averaged "
                "over epochs E.. with batch norm's statistics recomputed at the end (docs/language.md, \"SWA\")"},
    };
    static const struct {
        const char *alias, *name;
    } aliases[] = {{"accumulate", "accumulate"}, {"grad_accum", "accumulate"}, {"accumulation_steps", "accumulate"},
                   {"accumulate_grad_batches", "accumulate"}, {"gradient_accumulation_steps", "accumulate"},
                   {"swa_lr", "swa"}, {"swa_start", "swa"}, {"averaged_model", "swa"}};
    for (int i = 0; i < COUNT(aliases); i++)
        if (strcmp(name, aliases[i].alias) == 0)
            for (int j = 0; j < COUNT(recipes); j++)
                if (strcmp(aliases[i].name, recipes[j].name) == 0) return recipes[j].hint;
    return NULL;
}

static int build_optim(elab *e, const ast_setting *s, dl_optim_config *oc) {
    static const kind_name kinds[] = {{"sgd", DL_OPT_SGD},         {"momentum", DL_OPT_SGD},  {"nesterov", DL_OPT_SGD},
                                      {"adam", DL_OPT_ADAM},       {"adamw", DL_OPT_ADAMW},   {"rmsprop", DL_OPT_RMSPROP},
                                      {"adagrad", DL_OPT_ADAGRAD}, {"lamb", DL_OPT_LAMB}};
    /* the optimizer's name before its arguments: lookahead(adam(lr = 0.01)) is an unknown
     * optimizer, not an unknown function 'adam' */
    const ast_expr *x = s->value;
    if ((x->kind == AST_CALL || x->kind == AST_NAME) && kind_of(x->name, kinds, COUNT(kinds)) < 0) {
        const char *recipe = missing_recipe(x->name);
        if (recipe) {
            diag_error(e->d, x->loc, "unknown optimizer '%s'\nhint: %s", x->name, recipe);
            return -1;
        }
        return unknown(e, x->loc, "optimizer", x->name, kinds, COUNT(kinds));
    }
    call_args ca;
    const char *fn = call_of(e, s, &ca);
    if (!fn) return -1;
    int k = kind_of(fn, kinds, COUNT(kinds));
    if (k < 0) return unknown(e, s->value->loc, "optimizer", fn, kinds, COUNT(kinds));
    /* torch.optim's defaults. */
    *oc = (dl_optim_config){.kind = (dl_optim_kind)k, .beta1 = 0.9f, .beta2 = 0.999f, .alpha = 0.99f, .eps = 1e-8f};
    static const argspec spec[] = {{"lr", 0},      {"momentum", 0},     {"dampening", 0},     {"nesterov", 0},
                                   {"betas", 0},   {"eps", 0},          {"weight_decay", 0},  {"alpha", 0},
                                   {"lr_decay", 0}, {"initial_accumulator", 0}, {"clip_norm", 0}};
    enum { A_LR, A_MOM, A_DAMP, A_NEST, A_BETAS, A_EPS, A_WD, A_ALPHA, A_LRD, A_ACC, A_CLIP, A_N };
    value a[A_N];
    static const unsigned allowed[] = {
        [DL_OPT_SGD] = 1 << A_LR | 1 << A_MOM | 1 << A_DAMP | 1 << A_NEST | 1 << A_WD | 1 << A_CLIP,
        [DL_OPT_ADAM] = 1 << A_LR | 1 << A_BETAS | 1 << A_EPS | 1 << A_WD | 1 << A_CLIP,
        [DL_OPT_ADAMW] = 1 << A_LR | 1 << A_BETAS | 1 << A_EPS | 1 << A_WD | 1 << A_CLIP,
        [DL_OPT_RMSPROP] = 1 << A_LR | 1 << A_ALPHA | 1 << A_EPS | 1 << A_MOM | 1 << A_WD | 1 << A_CLIP,
        [DL_OPT_ADAGRAD] = 1 << A_LR | 1 << A_LRD | 1 << A_ACC | 1 << A_EPS | 1 << A_WD | 1 << A_CLIP,
        [DL_OPT_LAMB] = 1 << A_LR | 1 << A_BETAS | 1 << A_EPS | 1 << A_WD | 1 << A_CLIP,
    };
    if (bind_kind(e, fn, s->value->loc, spec, A_N, &ca, a, allowed[k])) return -1;
    switch (oc->kind) {
    case DL_OPT_SGD:
        oc->lr = 0.01f;
        if (strcmp(fn, "momentum") == 0 || strcmp(fn, "nesterov") == 0) oc->momentum = 0.9f;
        oc->nesterov = strcmp(fn, "nesterov") == 0;
        break;
    case DL_OPT_ADAM: oc->lr = 1e-3f; break;
    case DL_OPT_ADAMW: oc->lr = 1e-3f; oc->weight_decay = 1e-2f; break;
    case DL_OPT_RMSPROP: oc->lr = 1e-2f; break;
    case DL_OPT_ADAGRAD: oc->lr = 1e-2f; oc->eps = 1e-10f; break;
    case DL_OPT_LAMB: oc->lr = 1e-3f; oc->eps = 1e-6f; oc->weight_decay = 1e-2f; break; /* timm's Lamb */
    }
    if (!get_float(e, &a[A_LR], 1e-12, 1e3, "lr", &oc->lr) || !get_float(e, &a[A_MOM], 0, 1, "momentum", &oc->momentum) ||
        !get_float(e, &a[A_DAMP], 0, 1, "dampening", &oc->dampening) || !get_bool(e, &a[A_NEST], "nesterov", &oc->nesterov) ||
        !get_float(e, &a[A_EPS], 0, 1, "eps", &oc->eps) || !get_float(e, &a[A_WD], 0, 10, "weight_decay", &oc->weight_decay) ||
        !get_float(e, &a[A_ALPHA], 0, 1, "alpha", &oc->alpha) || !get_float(e, &a[A_LRD], 0, 10, "lr_decay", &oc->lr_decay) ||
        !get_float(e, &a[A_ACC], 0, 1e6, "initial_accumulator", &oc->initial_accumulator) ||
        !get_float(e, &a[A_CLIP], 0, 1e9, "clip_norm", &oc->clip_norm))
        return -1;
    if (a[A_BETAS].kind != V_NONE) {
        const value *b = &a[A_BETAS];
        if (b->kind != V_LIST || b->n != 2) {
            diag_error(e->d, b->loc, "'betas' must be a pair such as (0.9, 0.999)");
            return -1;
        }
        if (!get_float(e, &b->items[0], 0, 0.999999, "betas[0]", &oc->beta1) ||
            !get_float(e, &b->items[1], 0, 0.999999, "betas[1]", &oc->beta2))
            return -1;
    }
    if (oc->kind == DL_OPT_SGD && oc->nesterov && (oc->momentum <= 0 || oc->dampening != 0)) {
        diag_error(e->d, s->value->loc, "Nesterov momentum needs momentum > 0 and dampening = 0");
        return -1;
    }
    return 0;
}

/* optim = lookahead(inner, k = 5, alpha = 0.5): Zhang et al. 2019 around any
 * optimizer of the table (the driver keeps the slow weights, runtime/lookahead.c);
 * anything else is the optimizer itself. */
static int build_optim_setting(elab *e, const ast_setting *s, dl_train_config *c) {
    const ast_expr *x = s->value;
    if (!(x->kind == AST_CALL && strcmp(x->name, "lookahead") == 0) &&
        !(x->kind == AST_NAME && strcmp(x->name, "lookahead") == 0))
        return build_optim(e, s, &c->optim);
    static const char example[] = "lookahead(adam(lr = 1e-3), k = 5, alpha = 0.5)";
    const ast_expr *inner = NULL;
    const ast_arg *ka = NULL, *aa = NULL;
    for (int i = 0; x->kind == AST_CALL && i < x->n_args; i++) {
        const ast_arg *a = &x->args[i];
        if (!a->name && !inner && !ka && !aa) inner = a->value;
        else if (a->name && strcmp(a->name, "k") == 0 && !ka) ka = a;
        else if (a->name && strcmp(a->name, "alpha") == 0 && !aa) aa = a;
        else {
            const int twice = a->name && (!strcmp(a->name, "k") || !strcmp(a->name, "alpha"));
            diag_error(e->d, a->loc, "'lookahead' %s%s%s\nhint: lookahead takes the optimizer it wraps, then k and "
                       "alpha: %s", !a->name ? "takes one optimizer" : twice ? "is given '" : "has no argument named '",
                       a->name ? a->name : "", !a->name ? "" : twice ? "' twice" : "'", example);
            return -1;
        }
    }
    if (!inner) {
        diag_error(e->d, x->loc, "lookahead wraps an optimizer and has none here\nhint: %s", example);
        return -1;
    }
    if ((inner->kind == AST_CALL || inner->kind == AST_NAME) && strcmp(inner->name, "lookahead") == 0) {
        diag_error(e->d, inner->loc, "lookahead of lookahead: the inner optimizer must be one of the table's\nhint: "
                   "one lookahead with the product of the two k's syncs as often; %s", example);
        return -1;
    }
    frame f = {.prefix = ""};
    c->lookahead_k = 5, c->lookahead_alpha = 0.5f;   /* the paper's and torch-optimizer's defaults */
    if (ka) {
        value v = eval_expr(e, &f, ka->value), iv = int_like(&v);
        if (v.kind == V_ERROR) return -1;
        if (iv.kind != V_INT || iv.i < 1 || iv.i > 1000000) {
            diag_error(e->d, ka->value->loc, "lookahead's 'k' (inner steps between syncs) must be an int in [1, 1000000], "
                       "got %s\nhint: %s", v_describe(e, &v), example);
            return -1;
        }
        c->lookahead_k = (int)iv.i;
    }
    if (aa) {
        value v = eval_expr(e, &f, aa->value);
        double a = 0;
        if (v.kind == V_ERROR) return -1;
        if (v.kind == V_BOOL || !as_number(&v, &a) || !(a > 0 && a <= 1)) {
            diag_error(e->d, aa->value->loc, "lookahead's 'alpha' (the slow weights' step) must be in (0, 1], got %s"
                       "\nhint: alpha = 1 is the inner optimizer alone; the paper uses 0.5", v_describe(e, &v));
            return -1;
        }
        c->lookahead_alpha = (float)a;
    }
    ast_setting in = *s;
    in.value = (ast_expr *)inner;
    return build_optim(e, &in, &c->optim);
}

/* swa = swa(start = E, lr = x, anneal_epochs = A, anneal = "cos"): stochastic
 * weight averaging from epoch E (runtime/swa.c); lr: the rate of those epochs
 * (else the schedule's), reached over A epochs as SWALR anneals it. */
static int build_swa(elab *e, const ast_setting *s, dl_train_config *c) {
    call_args ca;
    const char *fn = call_of(e, s, &ca);
    if (!fn) return -1;
    if (strcmp(fn, "swa") != 0) {
        diag_error(e->d, s->value->loc, "'swa' must be swa(start = <first averaged epoch>, lr = <its rate>), got "
                   "'%s'\nhint: swa = swa(start = 8, lr = 0.05)", fn);
        return -1;
    }
    static const argspec spec[] = {{"start", 1}, {"lr", 0}, {"anneal_epochs", 0}, {"anneal", 0}};
    value a[4];
    if (bind_call(e, fn, s->value->loc, spec, 4, &ca, a)) return -1;
    int64_t start = 0, anneal_epochs = 0;
    const char *anneal = "cos";
    if (!get_int(e, &a[0], 1, "start", &start) || !get_float(e, &a[1], 1e-12, 1e3, "lr", &c->swa_lr) ||
        !get_int(e, &a[2], 0, "anneal_epochs", &anneal_epochs) || !get_str(e, &a[3], "anneal", &anneal))
        return -1;
    if (strcmp(anneal, "cos") != 0 && strcmp(anneal, "linear") != 0) {
        diag_error(e->d, a[3].loc, "swa's 'anneal' must be \"cos\" or \"linear\" (SWALR's anneal_strategy), got "
                   "\"%s\"", anneal);
        return -1;
    }
    if ((anneal_epochs > 0 || a[3].kind != V_NONE) && a[1].kind == V_NONE) {
        diag_error(e->d, (anneal_epochs > 0 ? a[2] : a[3]).loc, "swa anneals the rate towards its 'lr', which is not "
                   "given\nhint: swa = swa(start = %lld, lr = 0.05, anneal_epochs = %lld)", (long long)start,
                   (long long)(anneal_epochs > 0 ? anneal_epochs : 5));
        return -1;
    }
    if (anneal_epochs > 1000000) {
        diag_error(e->d, a[2].loc, "swa's 'anneal_epochs' must be at most 1000000, got %lld", (long long)anneal_epochs);
        return -1;
    }
    c->swa_anneal_epochs = (int)anneal_epochs;
    c->swa_anneal_linear = strcmp(anneal, "linear") == 0;
    if (start > c->epochs) {
        diag_error(e->d, a[0].loc, "swa's 'start' is epoch %lld, after the last one (epochs = %d): nothing would be "
                   "averaged\nhint: epochs are counted from 1; swa(start = %d) averages the last epoch alone",
                   (long long)start, c->epochs, c->epochs);
        return -1;
    }
    if (c->early_stop.patience > 0) {
        diag_error(e->d, s->value->loc, "swa and early_stop both choose the final weights; use one of them");
        return -1;
    }
    c->swa_start = (int)start;
    return 0;
}

/* ---- schedules ----------------------------------------------------------------- */

static int build_sched(elab *e, const ast_setting *s, dl_sched_config *sc) {
    call_args ca;
    const char *fn = call_of(e, s, &ca);
    if (!fn) return -1;
    static const kind_name kinds[] = {{"constant", DL_SCHED_CONSTANT},
                                      {"step", DL_SCHED_STEP},
                                      {"exponential", DL_SCHED_EXPONENTIAL},
                                      {"cosine", DL_SCHED_COSINE},
                                      {"poly", DL_SCHED_POLY},
                                      {"plateau", DL_SCHED_PLATEAU}};
    int k = kind_of(fn, kinds, COUNT(kinds));
    if (k < 0) return unknown(e, s->value->loc, "schedule", fn, kinds, COUNT(kinds));
    *sc = (dl_sched_config){.kind = (dl_sched_kind)k, .gamma = 0.1f, .power = 1.0f, .factor = 0.1f, .patience = 10,
                            .threshold = 1e-4f};
    static const argspec spec[] = {{"step_size", 0}, {"gamma", 0},  {"min_lr", 0},   {"warmup", 0}, {"warmup_start", 0},
                                   {"power", 0},     {"factor", 0}, {"patience", 0}, {"threshold", 0}};
    /* the arguments each kind takes, a bit per spec entry (warm-up for all) */
    static const unsigned allowed[] = {
        [DL_SCHED_CONSTANT] = 0x18, [DL_SCHED_STEP] = 0x1b,  [DL_SCHED_EXPONENTIAL] = 0x1a,
        [DL_SCHED_COSINE] = 0x1c,   [DL_SCHED_POLY] = 0x3c,  [DL_SCHED_PLATEAU] = 0x1dc,
    };
    value a[COUNT(spec)];
    if (bind_kind(e, fn, s->value->loc, spec, COUNT(spec), &ca, a, allowed[k])) return -1;
    if (k == DL_SCHED_STEP && a[0].kind == V_NONE) {
        diag_error(e->d, s->value->loc, "'step' needs step_size = <epochs between decays>");
        return -1;
    }
    if (k == DL_SCHED_EXPONENTIAL && a[1].kind == V_NONE) {
        diag_error(e->d, s->value->loc, "'exponential' needs gamma = <per-epoch factor>");
        return -1;
    }
    int64_t step = 1, warm = 0;
    if (!get_int(e, &a[0], 1, "step_size", &step) || !get_float(e, &a[1], 0, 1, "gamma", &sc->gamma) ||
        !get_float(e, &a[2], 0, 1e3, "min_lr", &sc->min_lr) || !get_int(e, &a[3], 0, "warmup", &warm) ||
        !get_float(e, &a[4], 0, 1, "warmup_start", &sc->warmup_start) ||
        !get_float(e, &a[5], 1e-3, 100, "power", &sc->power) || !get_float(e, &a[6], 1e-6, 0.999999, "factor", &sc->factor) ||
        !get_float(e, &a[8], 0, 1, "threshold", &sc->threshold))
        return -1;
    int64_t pat = sc->patience;
    if (!get_int(e, &a[7], 0, "patience", &pat)) return -1;
    sc->patience = (int)(pat > 100000 ? 100000 : pat);
    sc->step_size = (int)step;
    sc->warmup = (int)warm;
    return 0;
}

/* ---- early stopping ---------------------------------------------------------- */

/* early_stop = val_loss(patience = 5, min_delta = 0) or val_acc(...): the
 * monitored figure is the call's name, so the setting reads as it acts. */
static int build_early_stop(elab *e, const ast_setting *s, dl_early_stop *es) {
    call_args ca;
    const char *fn = call_of(e, s, &ca);
    if (!fn) return -1;
    static const kind_name kinds[] = {{"val_loss", DL_MONITOR_VAL_LOSS}, {"val_acc", DL_MONITOR_VAL_ACC}};
    int k = kind_of(fn, kinds, COUNT(kinds));
    if (k < 0) {
        diag_error(e->d, s->value->loc, "early_stop watches val_loss or val_acc, not '%s'\nhint: early_stop = "
                   "val_loss(patience = 5); the figure comes from the validation split, never from the test set", fn);
        return -1;
    }
    static const argspec spec[] = {{"patience", 1}, {"min_delta", 0}};
    value a[COUNT(spec)];
    if (bind_call(e, fn, s->value->loc, spec, COUNT(spec), &ca, a)) return -1;
    int64_t pat = 0;
    *es = (dl_early_stop){.monitor = (dl_monitor)k};
    if (!get_int(e, &a[0], 1, "patience", &pat) || !get_float(e, &a[1], 0, 1e30, "min_delta", &es->min_delta))
        return -1;
    es->patience = (int)(pat > 100000 ? 100000 : pat);
    return 0;
}

/* Early stopping and a plateau schedule choose by the validation figures: a
 * held-out part of the training data, which a test file or folder replaces. */
static void need_val_split(elab *e, const ast_setting *s, const dl_data_config *dc, const char *what) {
    if (!s || !dc->kind || (dc->val_split > 0 && !dc->test_path && strcmp(dc->kind, "seq2seq_task") != 0)) return;
    diag_error(e->d, s->value->loc, "%s needs a validation split of the training data\nhint: add val_split = 0.1 to "
               "%s(...)%s; choosing by the test set would make its figures optimistic", what, dc->kind,
               dc->test_path ? " and drop its test file" : "");
}

/* ---- augmentation ---------------------------------------------------------------- */

/* A list of numbers (or one number) into out[0..*n), each in (lo, hi]. */
static int get_floats(elab *e, const value *v, double lo, double hi, const char *what, float *out, int *n) {
    const value *items = v->kind == V_LIST ? v->items : v;
    int count = v->kind == V_LIST ? v->n : 1;
    if (count < 1 || count > DL_AUG_MAX_CHANNELS) {
        diag_error(e->d, v->loc, "'%s' must list 1 to %d values (one per channel)", what, DL_AUG_MAX_CHANNELS);
        return 0;
    }
    for (int i = 0; i < count; i++)
        if (!get_float(e, &items[i], lo, hi, what, &out[i])) return 0;
    *n = count;
    return 1;
}

/* A pair (lo, hi) with lo <= hi, both in [min, max], into out[0..2). */
static int get_range(elab *e, const value *v, double min, double max, const char *what, float *out) {
    if (v->kind == V_NONE) return 1;
    if (v->kind != V_LIST || v->n != 2) {
        diag_error(e->d, v->loc, "'%s' must be a pair (lo, hi), got %s", what, v_describe(e, v));
        return 0;
    }
    if (!get_float(e, &v->items[0], min, max, what, &out[0]) || !get_float(e, &v->items[1], min, max, what, &out[1]))
        return 0;
    if (out[0] > out[1]) {
        diag_error(e->d, v->loc, "'%s' must be (lo, hi) with lo <= hi, got (%g, %g)", what, out[0], out[1]);
        return 0;
    }
    return 1;
}

/* random_affine(degrees, translate = (a, b), scale = (lo, hi), shear = s):
 * torchvision's RandomAffine with symmetric angle and x-shear ranges. */
static int build_affine(elab *e, const value *a, dl_augment_config *ac) {
    ac->affine = 1;
    if (!get_float(e, &a[0], 0, 180, "degrees", &ac->affine_deg) ||
        !get_range(e, &a[1], 0, 1, "translate", ac->affine_translate) ||
        !get_range(e, &a[2], 1e-3, 100, "scale", ac->affine_scale) || !get_float(e, &a[3], 0, 89, "shear", &ac->affine_shear))
        return 0;
    if (a[2].kind == V_NONE) ac->affine_scale[0] = ac->affine_scale[1] = 0;   /* no scale drawn: 1 */
    return 1;
}

/* gaussian_blur(kernel = k, sigma = (0.1, 2.0), p = 1): torchvision's
 * GaussianBlur(k, sigma) under RandomApply(p); one sigma s means (s, s). */
static int build_blur(elab *e, const value *a, dl_augment_config *ac) {
    int64_t k = 0;
    ac->blur_sigma[0] = 0.1f, ac->blur_sigma[1] = 2.0f, ac->blur_p = 1.0f;
    if (!get_int(e, &a[0], 1, "kernel", &k)) return 0;
    if (k % 2 == 0) {
        diag_error(e->d, a[0].loc, "'kernel' must be odd, got %lld\nhint: torchvision's GaussianBlur takes odd sizes "
                   "(the kernel is centred on the pixel): kernel = %lld or %lld", (long long)k, (long long)(k - 1),
                   (long long)(k + 1));
        return 0;
    }
    if (k > DL_AUG_MAX_BLUR_KERNEL) {
        diag_error(e->d, a[0].loc, "'kernel' must be at most %d, got %lld", DL_AUG_MAX_BLUR_KERNEL, (long long)k);
        return 0;
    }
    ac->blur_kernel = (int)k;
    if (a[1].kind != V_NONE && a[1].kind != V_LIST) {
        if (!get_float(e, &a[1], 1e-3, 1e3, "sigma", &ac->blur_sigma[0])) return 0;
        ac->blur_sigma[1] = ac->blur_sigma[0];
    } else if (!get_range(e, &a[1], 1e-3, 1e3, "sigma", ac->blur_sigma))
        return 0;
    return get_float(e, &a[2], 0, 1, "p", &ac->blur_p);
}

/* random_erasing(p = 0.5, scale = (0.02, 0.33), ratio = (0.3, 3.3), value = 0):
 * torchvision's RandomErasing; value "random" erases with N(0, 1) draws. */
static int build_erasing(elab *e, const value *a, dl_augment_config *ac) {
    ac->erase_p = 0.5f, ac->erase_scale[0] = 0.02f, ac->erase_scale[1] = 0.33f;
    ac->erase_ratio[0] = 0.3f, ac->erase_ratio[1] = 3.3f;
    if (!get_float(e, &a[0], 0, 1, "p", &ac->erase_p) || !get_range(e, &a[1], 0, 1, "scale", ac->erase_scale) ||
        !get_range(e, &a[2], 1e-2, 100, "ratio", ac->erase_ratio))
        return 0;
    if (a[3].kind == V_STR) {
        if (strcmp(a[3].s, "random") != 0) {
            diag_error(e->d, a[3].loc, "'value' must be a number or \"random\", got \"%s\"", a[3].s);
            return 0;
        }
        ac->erase_random = 1;
        return 1;
    }
    return get_float(e, &a[3], -1e6, 1e6, "value", &ac->erase_value);
}

/* rand_augment(n = 2, m = 9): torchvision's RandAugment(num_ops = n, magnitude = m), 31 bins. */
static int build_rand_augment(elab *e, const value *a, dl_augment_config *ac) {
    int64_t n = 2, m = 9;
    if (!get_int(e, &a[0], 1, "n", &n) || !get_int(e, &a[1], 0, "m", &m)) return 0;
    if (n > 16 || m > 30) {
        diag_error(e->d, n > 16 ? a[0].loc : a[1].loc, "rand_augment takes n from 1 to 16 ops and m from 0 to 30 (the "
                   "magnitude bin of 31, torchvision's num_magnitude_bins), got %s = %lld", n > 16 ? "n" : "m",
                   (long long)(n > 16 ? n : m));
        return 0;
    }
    ac->ra_ops = (int)n, ac->ra_magnitude = (int)m;
    return 1;
}

static int build_augment(elab *e, const ast_setting *s, dl_augment_config *ac, int *label_is_class) {
    static const kind_name kinds[] = {{"random_crop", 0}, {"hflip", 1},  {"vflip", 2},  {"rotate", 3},
                                      {"noise", 4},       {"brightness", 5}, {"contrast", 6}, {"cutout", 7},
                                      {"mixup", 8},       {"normalize", 9}, {"random_resized_crop", 10},
                                      {"color_jitter", 11}, {"cutmix", 12}, {"random_affine", 13},
                                      {"random_grayscale", 14}, {"gaussian_blur", 15}, {"random_erasing", 16},
                                      {"solarize", 17}, {"posterize", 18}, {"autocontrast", 19}, {"equalize", 20},
                                      {"rand_augment", 21}};
    static const argspec specs[][4] = {{{"pad", 0}}, {{"p", 0}}, {{"p", 0}}, {{"degrees", 0}}, {{"std", 0}},
                                       {{"amount", 0}}, {{"amount", 0}}, {{"size", 0}, {"count", 0}},
                                       {{"alpha", 0}}, {{"mean", 1}, {"std", 1}}, {{"scale", 0}, {"ratio", 0}},
                                       {{"brightness", 0}, {"contrast", 0}, {"saturation", 0}, {"hue", 0}},
                                       {{"alpha", 0}, {"p", 0}},
                                       {{"degrees", 1}, {"translate", 0}, {"scale", 0}, {"shear", 0}}, {{"p", 0}},
                                       {{"kernel", 1}, {"sigma", 0}, {"p", 0}},
                                       {{"p", 0}, {"scale", 0}, {"ratio", 0}, {"value", 0}},
                                       {{"threshold", 1}, {"p", 0}}, {{"bits", 1}, {"p", 0}}, {{"p", 0}}, {{"p", 0}},
                                       {{"n", 0}, {"m", 0}}};
    static const int nspec[] = {1, 1, 1, 1, 1, 1, 1, 2, 1, 2, 2, 4, 2, 4, 1, 3, 4, 2, 2, 1, 1, 2};
    int n;
    const ast_expr *const *items = setting_items(s, &n);
    unsigned seen = 0;
    *ac = (dl_augment_config){0};
    for (int i = 0; i < n; i++) {
        const ast_expr *it = items[i];
        if (it->kind != AST_NAME && it->kind != AST_CALL) {
            diag_error(e->d, it->loc, "an augmentation is a call such as random_crop(pad = 4) or hflip()");
            return -1;
        }
        int k = kind_of(it->name, kinds, COUNT(kinds));
        if (k < 0) return unknown(e, it->loc, "augmentation", it->name, kinds, COUNT(kinds));
        if (seen & (1u << k)) {
            diag_error(e->d, it->loc, "'%s' is listed twice", it->name);
            return -1;
        }
        seen |= 1u << k;
        call_args ca = {0};
        frame f = {.prefix = ""};
        if (it->kind == AST_CALL && eval_call_args(e, &f, it, &ca) != 0) return -1;
        value a[4];
        if (bind_call(e, it->name, it->loc, specs[k], nspec[k], &ca, a)) return -1;
        int64_t iv;
        int ok = 1;
        switch (k) {
        case 0: iv = 4; ok = get_int(e, &a[0], 1, "pad", &iv); ac->crop_pad = (int)iv; break;
        case 1: ac->hflip = 0.5f; ok = get_float(e, &a[0], 0, 1, "p", &ac->hflip); break;
        case 2: ac->vflip = 0.5f; ok = get_float(e, &a[0], 0, 1, "p", &ac->vflip); break;
        case 3: ac->rotate_deg = 10; ok = get_float(e, &a[0], 0, 180, "degrees", &ac->rotate_deg); break;
        case 4: ac->noise_std = 0.05f; ok = get_float(e, &a[0], 0, 10, "std", &ac->noise_std); break;
        case 5: ac->brightness = 0.2f; ok = get_float(e, &a[0], 0, 10, "amount", &ac->brightness); break;
        case 6: ac->contrast = 0.2f; ok = get_float(e, &a[0], 0, 10, "amount", &ac->contrast); break;
        case 7:
            iv = 8;
            ok = get_int(e, &a[0], 1, "size", &iv);
            ac->cutout_size = (int)iv;
            iv = 1;
            ok = ok && get_int(e, &a[1], 1, "count", &iv);
            ac->cutout_count = (int)iv;
            break;
        case 8:
            ac->mixup_alpha = 0.2f;
            ok = get_float(e, &a[0], 1e-3, 100, "alpha", &ac->mixup_alpha);
            *label_is_class = 0;   /* labels become one-hot mixtures f32[N, C] */
            break;
        case 9: {
            int nm = 0, ns = 0;
            ok = get_floats(e, &a[0], -1e6, 1e6, "mean", ac->norm_mean, &nm) &&
                 get_floats(e, &a[1], 1e-12, 1e6, "std", ac->norm_std, &ns);
            if (ok && nm != ns) {
                diag_error(e->d, a[1].loc, "'normalize' needs as many stds as means (%d means, %d stds)", nm, ns);
                ok = 0;
            }
            ac->norm_channels = nm;
            break;
        }
        case 10:
            ac->rrc_scale[0] = 0.08f, ac->rrc_scale[1] = 1.0f, ac->rrc_ratio[0] = 0.75f, ac->rrc_ratio[1] = 4.0f / 3;
            ok = get_range(e, &a[0], 1e-4, 1, "scale", ac->rrc_scale) && get_range(e, &a[1], 1e-2, 100, "ratio", ac->rrc_ratio);
            break;
        case 11:
            /* brightness and contrast are the plain transforms' (listing both is listing one twice) */
            if ((seen & (3u << 5)) && (a[0].kind != V_NONE || a[1].kind != V_NONE)) {
                diag_error(e->d, it->loc, "'color_jitter' sets brightness or contrast, and so does an earlier item");
                return -1;
            }
            ok = get_float(e, &a[0], 0, 10, "brightness", &ac->brightness) &&
                 get_float(e, &a[1], 0, 10, "contrast", &ac->contrast) &&
                 get_float(e, &a[2], 0, 10, "saturation", &ac->saturation) && get_float(e, &a[3], 0, 0.5, "hue", &ac->hue);
            if (a[0].kind != V_NONE) seen |= 1u << 5;
            if (a[1].kind != V_NONE) seen |= 1u << 6;
            break;
        case 12:
            ac->cutmix_alpha = 1.0f, ac->cutmix_p = 0.5f;
            ok = get_float(e, &a[0], 1e-3, 100, "alpha", &ac->cutmix_alpha) && get_float(e, &a[1], 0, 1, "p", &ac->cutmix_p);
            *label_is_class = 0;   /* labels become one-hot mixtures f32[N, C], as with mixup */
            break;
        case 13: ok = build_affine(e, a, ac); break;
        case 14: ac->gray_p = 0.1f; ok = get_float(e, &a[0], 0, 1, "p", &ac->gray_p); break;
        case 15: ok = build_blur(e, a, ac); break;
        case 16: ok = build_erasing(e, a, ac); break;
        case 17:
            ac->solarize_p = 0.5f;
            ok = get_float(e, &a[0], 0, 1, "threshold", &ac->solarize_threshold) &&
                 get_float(e, &a[1], 0, 1, "p", &ac->solarize_p);
            break;
        case 18:
            ac->posterize_p = 0.5f;
            iv = 8;
            ok = get_int(e, &a[0], 1, "bits", &iv) && get_float(e, &a[1], 0, 1, "p", &ac->posterize_p);
            if (ok && iv > 8) {
                diag_error(e->d, a[0].loc, "'bits' must be from 1 to 8, got %lld", (long long)iv);
                ok = 0;
            }
            ac->posterize_bits = (int)iv;
            break;
        case 19: ac->autocontrast_p = 0.5f; ok = get_float(e, &a[0], 0, 1, "p", &ac->autocontrast_p); break;
        case 20: ac->equalize_p = 0.5f; ok = get_float(e, &a[0], 0, 1, "p", &ac->equalize_p); break;
        case 21: ok = build_rand_augment(e, a, ac); break;
        }
        if (!ok) return -1;
        if ((k == 8 || k == 12) && (seen & (1u << 8)) && (seen & (1u << 12))) {
            diag_error(e->d, it->loc, "mixup and cutmix both blend whole batches; use one of them");
            return -1;
        }
    }
    return 0;
}

/* Saturation and hue of a source known to give grey images: there is no
 * colour to change (the batcher checks again for sources known only at run
 * time). */
static void grey_colour(elab *e, const ast_setting *s, const dl_data_config *dc) {
    const dl_augment_config *a = &dc->augment;
    const char *k = dc->kind ? dc->kind : "";
    const int grey = !strcmp(k, "fashion_mnist") || !strcmp(k, "mnist") || !strcmp(k, "idx") ||
                     !strcmp(k, "fashion_mnist_masks") || (!strcmp(k, "image_folder") && dc->channels == 1);
    if (grey && a->gray_p > 0)
        diag_error(e->d, s->value->loc, "random_grayscale turns RGB images grey; %s(...) gives grey ones already", k);
    else if (grey && (a->saturation > 0 || a->hue > 0))
        diag_error(e->d, s->value->loc, "color_jitter's saturation and hue change the colours of RGB images; %s(...) "
                   "gives grey ones\nhint: keep brightness and contrast: color_jitter(brightness = 0.4, contrast = 0.4)",
                   k);
}

/* mixup's labels are soft: a loss over i32 class labels cannot take them. */
static int has_mixup(const ast_decl *t) {
    const ast_setting *s = setting(t, "augment", NULL);
    if (!s) return 0;
    int n;
    const ast_expr *const *items = setting_items(s, &n);
    for (int i = 0; i < n; i++)
        if ((items[i]->kind == AST_NAME || items[i]->kind == AST_CALL) &&
            (strcmp(items[i]->name, "mixup") == 0 || strcmp(items[i]->name, "cutmix") == 0))
            return 1;
    return 0;
}

/* views = 2: each training image twice, each view transformed by the augment
 * list with its own draws (runtime/augment.c), the second as the field
 * image2. Only for image sources, only with augmentations to differ by, and
 * not with mixup or cutmix, which blend samples across the batch. */
static void build_views(elab *e, const ast_decl *t, const ast_setting *s, dl_data_config *dc) {
    frame f = {.prefix = ""};
    value v = eval_expr(e, &f, s->value);
    int64_t k = 0;
    if (v.kind == V_ERROR || !get_int(e, &v, 1, "views", &k)) return;
    if (k > 2) {
        diag_error(e->d, v.loc, "'views' must be 1 or 2, got %lld\nhint: views = 2 gives each image twice, as the "
                   "fields image and image2", (long long)k);
        return;
    }
    if (k == 1) return;
    const char *kind = dc->kind ? dc->kind : "";
    if (strcmp(train_primary_field(dc), "image") != 0 || strcmp(kind, "detection_canvas") == 0 || strcmp(kind, "images") == 0)
        diag_error(e->d, s->loc, "'views = 2' needs an image source (fashion_mnist, mnist, cifar10, image_folder, ...)%s%s",
                   *kind ? "; this one is " : "", kind);
    else if (!setting(t, "augment", NULL))
        diag_error(e->d, s->loc, "'views = 2' without 'augment' gives two identical views\nhint: add e.g. augment = "
                   "[random_resized_crop(), hflip(), color_jitter(brightness = 0.4, contrast = 0.4)]");
    else if (has_mixup(t))
        diag_error(e->d, s->loc, "'views = 2' cannot be used with mixup or cutmix, which blend samples across the batch");
    else dc->augment.views = 2;
}

/* Metrics by name; `needs` says what the labels must be for it to mean anything. */
enum { NEED_ANY, NEED_CLASSES, NEED_MASKS, NEED_SEQ2SEQ, NEED_BOXES };
static const struct {
    const char *name;
    unsigned bit;
    int needs;
} metric_names[] = {
    {"accuracy", DL_METRIC_ACCURACY, NEED_ANY},        {"loss", DL_METRIC_LOSS, NEED_ANY},
    {"iou", DL_METRIC_IOU, NEED_ANY},                  {"exact_match", DL_METRIC_EXACT_MATCH, NEED_SEQ2SEQ},
    {"precision", DL_METRIC_PRECISION, NEED_CLASSES},  {"recall", DL_METRIC_RECALL, NEED_CLASSES},
    {"f1", DL_METRIC_F1, NEED_CLASSES},                {"per_class", DL_METRIC_PER_CLASS, NEED_CLASSES},
    {"confusion", DL_METRIC_CONFUSION, NEED_CLASSES},  {"mean_iou", DL_METRIC_MEAN_IOU, NEED_MASKS},
    {"bits_per_dim", DL_METRIC_BITS_PER_DIM, NEED_ANY}, {"map", DL_METRIC_MAP, NEED_BOXES},
};

static int build_metrics(elab *e, const ast_setting *s, const dl_data_config *dc, int label_is_class, unsigned *out) {
    int n;
    const ast_expr *const *items = setting_items(s, &n);
    const char *kind = dc->kind ? dc->kind : "this data";
    const int text = !strcmp(kind, "text") || !strcmp(kind, "tokens") || !strcmp(kind, "seq2seq_task");
    *out = DL_METRIC_LOSS;
    for (int i = 0; i < n; i++) {
        int k = -1;
        for (int j = 0; items[i]->kind == AST_NAME && j < COUNT(metric_names); j++)
            if (strcmp(items[i]->name, metric_names[j].name) == 0) k = j;
        if (k < 0) {
            diag_error(e->d, items[i]->loc, "unknown metric\nhint: known metrics: accuracy, loss, iou, mean_iou, "
                       "precision, recall, f1, per_class, confusion, exact_match, bits_per_dim, map");
            return -1;
        }
        const int needs = metric_names[k].needs;
        if (needs == NEED_SEQ2SEQ && strcmp(kind, "seq2seq_task") != 0) {
            diag_error(e->d, items[i]->loc, "'exact_match' scores whole sequences of a seq2seq_task(...) source, "
                       "not %s(...)", kind);
            return -1;
        }
        if (needs == NEED_BOXES && strcmp(kind, "detection_canvas") != 0) {
            diag_error(e->d, items[i]->loc, "'map' scores detected boxes of a detection_canvas(...) source, not %s(...)",
                       kind);
            return -1;
        }
        const unsigned seg_metrics = DL_METRIC_LOSS | DL_METRIC_ACCURACY | DL_METRIC_MEAN_IOU;
        if (!strcmp(kind, "images") && !(metric_names[k].bit & seg_metrics)) {
            diag_error(e->d, items[i]->loc, "'%s' is not measured on images(...) yet: a segmentation's test pixels give "
                       "loss, accuracy (the labelled pixels whose arg-max class over axis 1 is right) and mean_iou",
                       metric_names[k].name);
            return -1;
        }
        const int det = !strcmp(kind, "detection_canvas");
        if ((needs == NEED_CLASSES || needs == NEED_MASKS) && det) {
            diag_error(e->d, items[i]->loc, "'%s' needs a label field; detection_canvas(...) gives boxes\nhint: "
                       "metrics = [map] scores a detector", metric_names[k].name);
            return -1;
        }
        if (needs == NEED_CLASSES && (text || !label_is_class) && strcmp(kind, "images") != 0) {
            diag_error(e->d, items[i]->loc, "'%s' counts the classes of a classifier; the labels of %s(...) are %s\n"
                       "hint: it needs class labels (i32[N]) from an image or csv source, without mixup", metric_names[k].name,
                       kind, text ? "token ids" : "not classes");
            return -1;
        }
        if (needs == NEED_MASKS && (text || label_is_class) && strcmp(kind, "images") != 0) {
            diag_error(e->d, items[i]->loc, "'mean_iou' scores masks (a segmentation model's logits against targets "
                       "shaped like them); the labels of %s(...) are classes\nhint: it needs dense labels, as "
                       "fashion_mnist_masks(...) or csv(..., classify = false) give", kind);
            return -1;
        }
        *out |= metric_names[k].bit;
    }
    return 0;
}

int train_config_build(elab *e, const ast_decl *t, train_config *out, int *label_is_class) {
    int errors = e->d->n_errors;
    dl_train_config *c = &out->cfg;
    out->loc = t->loc;
    *c = (dl_train_config){.epochs = 10, .metrics = DL_METRIC_LOSS, .seed = 42};
    c->optim = (dl_optim_config){.kind = DL_OPT_ADAM, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    for (int i = 0; i < t->n_settings; i++) {
        const ast_setting *s = &t->settings[i];
        int known = 0;
        for (size_t k = 0; k < sizeof train_keys / sizeof *train_keys; k++)
            if (strcmp(s->key, train_keys[k]) == 0) known = 1;
        for (int j = 0; j < i; j++)
            if (strcmp(t->settings[j].key, s->key) == 0) {
                diag_error(e->d, s->key_loc, "'%s' is set twice", s->key);
                known = 1;
            }
        const char *recipe = known ? NULL : missing_recipe(s->key);
        if (recipe)
            diag_error(e->d, s->key_loc, "unknown train setting '%s'\nhint: %s", s->key, recipe);
        else if (!known)
            diag_error(e->d, s->key_loc, "unknown train setting '%s'\nhint: settings are data, loss, optim, sched, epochs, "
                       "metrics, seed, checkpoint, augment, init_from, init_prefix, init_into, early_stop, log_every, freeze, lr_scale, init_skip, views, adversarial, accumulate", s->key);
    }
    const ast_setting *s;
    if (!(s = setting(t, "data", NULL))) diag_error(e->d, t->name_loc, "the train section needs 'data = ...'");
    else build_data(e, s, &c->data, label_is_class);
    const int seg = c->data.kind && strcmp(c->data.kind, "images") == 0;
    if ((s = setting(t, "augment", NULL)) && build_augment(e, s, &c->data.augment, label_is_class) == 0) {
        grey_colour(e, s, &c->data);
        if (seg && (c->data.augment.mixup_alpha > 0 || c->data.augment.cutmix_alpha > 0))
            diag_error(e->d, s->value->loc, "images(...) cannot take %s: its labels are a class id per pixel, which "
                       "blending two samples does not give\nhint: the geometric augmentations move the mask with the "
                       "image: hflip(), random_resized_crop(), rotate(), random_affine(...)",
                       c->data.augment.mixup_alpha > 0 ? "mixup" : "cutmix");
    }
    if ((s = setting(t, "views", NULL))) build_views(e, t, s, &c->data);
    if (!setting(t, "loss", NULL)) diag_error(e->d, t->name_loc, "the train section needs 'loss = ...'");
    if ((s = setting(t, "optim", "optimizer"))) build_optim_setting(e, s, c);
    if ((s = setting(t, "sched", "schedule"))) build_sched(e, s, &c->sched);
    if ((s = setting(t, "metrics", NULL))) build_metrics(e, s, &c->data, *label_is_class, &c->metrics);
    if ((s = setting(t, "early_stop", NULL)) && build_early_stop(e, s, &c->early_stop) == 0)
        need_val_split(e, s, &c->data, "early_stop");
    if (c->sched.kind == DL_SCHED_PLATEAU) need_val_split(e, setting(t, "sched", "schedule"), &c->data, "'plateau'");
    frame f = {.prefix = ""};
    if ((s = setting(t, "log_every", NULL))) {
        value v = eval_expr(e, &f, s->value);
        int64_t k = 0;
        if (v.kind != V_ERROR && get_int(e, &v, 1, "log_every", &k)) c->log_every = (int)(k > INT32_MAX ? INT32_MAX : k);
    }
    if ((s = setting(t, "accumulate", NULL))) {
        /* gradient accumulation: the optimizer steps once every k batches (runtime/accumulate.c) */
        value v = eval_expr(e, &f, s->value), iv = int_like(&v);
        if (v.kind != V_ERROR && (iv.kind != V_INT || iv.i < 1 || iv.i > 65536))
            diag_error(e->d, s->value->loc, "'accumulate' must be an int from 1 to 65536, got %s\nhint: accumulate = k "
                       "steps the optimizer once every k batches, on the mean of their gradients; 1 (the default) "
                       "steps every batch", v_describe(e, &v));
        else if (v.kind != V_ERROR) c->accumulate = (int)iv.i;
    }
    if ((s = setting(t, "epochs", NULL))) {
        value v = eval_expr(e, &f, s->value);
        int64_t ep = 0;
        if (v.kind != V_ERROR && get_int(e, &v, 1, "epochs", &ep)) c->epochs = (int)ep;
    }
    if ((s = setting(t, "swa", NULL))) build_swa(e, s, c);
    if ((s = setting(t, "seed", NULL))) {
        value v = eval_expr(e, &f, s->value);
        int64_t seed = 0;
        if (v.kind != V_ERROR && get_int(e, &v, 0, "seed", &seed)) c->seed = (uint64_t)seed;
    }
    if ((s = setting(t, "checkpoint", NULL))) {
        value v = eval_expr(e, &f, s->value);
        if (v.kind != V_ERROR) get_str(e, &v, "checkpoint", &c->checkpoint);
    }
    if ((s = setting(t, "init_from", NULL))) {
        value v = eval_expr(e, &f, s->value);
        if (v.kind != V_ERROR) get_str(e, &v, "init_from", &c->init_from);
    }
    if ((s = setting(t, "init_prefix", NULL))) {
        value v = eval_expr(e, &f, s->value);
        if (v.kind != V_ERROR) get_str(e, &v, "init_prefix", &c->init_prefix);
        if (!setting(t, "init_from", NULL))
            diag_error(e->d, s->loc, "'init_prefix' needs 'init_from', the checkpoint to load from");
    }
    if ((s = setting(t, "init_into", NULL))) {
        value v = eval_expr(e, &f, s->value);
        if (v.kind != V_ERROR) get_str(e, &v, "init_into", &c->init_into);
        if (!setting(t, "init_from", NULL))
            diag_error(e->d, s->loc, "'init_into' needs 'init_from', the checkpoint to load from");
        else if (c->init_into && (!c->init_into[0] || c->init_into[strlen(c->init_into) - 1] != '.'))
            diag_error(e->d, s->value->loc, "'init_into' is a model's prefix ending in '.', got \"%s\"\nhint: e.g. "
                       "init_into = \"teacher.\" loads a checkpoint's dense0.weight into teacher.dense0.weight",
                       c->init_into);
    }
    if ((s = setting(t, "init_skip", NULL)) && !setting(t, "init_from", NULL))
        diag_error(e->d, s->loc, "'init_skip' needs 'init_from', the checkpoint to load from");
    adv_config_build(e, setting(t, "adversarial", NULL), setting(t, "adversarial_input", NULL), &out->adv);
    groups_build(e, setting(t, "freeze", NULL), setting(t, "lr_scale", NULL), setting(t, "init_skip", NULL),
                 &out->groups);
    return e->d->n_errors > errors ? -1 : 0;
}

/* ---- data fields and the loss ------------------------------------------------ */

/* What a data source gives, by name: the primary input (whose per-sample
 * shape is the model input's that reads it), the labels, and whatever a
 * source adds. docs/language.md "Data fields" lists them per source. */
typedef enum field_kind {
    FIELD_PRIMARY,     /* the samples: shape and dtype of the model input bound to it */
    FIELD_CLASS,       /* i32[N] class labels */
    FIELD_DENSE,       /* f32 targets shaped like the (first) output */
    FIELD_LIKE_PRIMARY, /* shaped like the primary field (per-position targets, a masked-token mask) */
    FIELD_SEQ,          /* i32[N, len]; a model input may name len by a symbol (seq2seq_task) */
    FIELD_NODES,        /* one value per node of a graph: [N, V], V the primary's dimension 1 */
    FIELD_EDGES,        /* one index per edge of a graph: i32[N, E], E a symbol of its own */
    FIELD_PIXELS,       /* i32[N, H, W]: a class per pixel of the primary f32[N, C, H, W] */
    FIELD_EDGE_ATTR,    /* the features of each edge of a graph: f32[N, E, Fe], Fe the file's (checked at run time) */
    FIELD_SAMPLE,       /* f32[N]: one number per sample (a CSV's weight column) */
    FIELD_COLUMN,       /* a CSV's named column: f32[N], or i32[N] when the input reading it is (len: its index) */
    FIELD_CELLS,        /* f32[N, len, len, 5 + classes]: a detection target per grid cell */
    FIELD_BOXES,        /* f32[N, len, 4]: a padded list of boxes */
    FIELD_PER_BOX,      /* [N, len]: one value per box of that list */
    FIELD_PER_GRAPH     /* [N, len]: one value per graph of a batch of graphs (len: the train section's batch) */
} field_kind;

typedef struct data_field {
    const char *name;
    field_kind kind;
    ir_dtype dtype;
    int64_t len;   /* FIELD_SEQ: positions per sample */
    int like;      /* FIELD_SEQ: the field whose input's shape it takes when no input reads it (-1: none) */
} data_field;

enum { MAX_FIELDS = 8 };

/* A new source lists its fields here, its first the primary one (a text
 * source: tokens, FIELD_PRIMARY, i32; targets, FIELD_LIKE_PRIMARY, i32), and
 * gives the driver dl_batches with the same names (runtime/step_internal.h,
 * dl_source). */
static int data_fields(const dl_data_config *dc, int label_is_class, data_field *out) {
    int n = 0;
    if (dc->kind && (strcmp(dc->kind, "text") == 0 || strcmp(dc->kind, "tokens") == 0)) {
        /* next-token prediction: ids and the ids one position later, i32[N, T] each; masked tokens: the
         * corrupted window, the window, and where it was corrupted */
        out[n++] = (data_field){"tokens", FIELD_PRIMARY, IR_I32, 0, -1};
        out[n++] = (data_field){"targets", FIELD_LIKE_PRIMARY, IR_I32, 0, -1};
        if (dc->mlm > 0) out[n++] = (data_field){"mlm_mask", FIELD_LIKE_PRIMARY, IR_F32, 0, -1};
        return n;
    }
    if (dc->kind && (strcmp(dc->kind, "graph") == 0 || strcmp(dc->kind, "sbm") == 0)) {
        /* the whole graph: node features f32[N, V, F], the edge list, a class and a split mask per node */
        out[n++] = (data_field){"features", FIELD_PRIMARY, IR_F32, 0, -1};
        out[n++] = (data_field){"src", FIELD_EDGES, IR_I32, 0, -1};
        out[n++] = (data_field){"dst", FIELD_EDGES, IR_I32, 0, -1};
        out[n++] = (data_field){"label", FIELD_NODES, IR_I32, 0, -1};
        out[n++] = (data_field){"mask", FIELD_NODES, IR_F32, 0, -1};
        out[n++] = (data_field){"edge_attr", FIELD_EDGE_ATTR, IR_F32, 0, -1};
        return n;
    }
    if (dc->kind && strcmp(dc->kind, "graphs") == 0) {
        /* the disjoint union of a batch of graphs: node features, the edge list, each node's graph; a class and a
         * mask (1: the batch has that graph) per graph */
        out[n++] = (data_field){"features", FIELD_PRIMARY, IR_F32, 0, -1};
        out[n++] = (data_field){"src", FIELD_EDGES, IR_I32, 0, -1};
        out[n++] = (data_field){"dst", FIELD_EDGES, IR_I32, 0, -1};
        out[n++] = (data_field){"graph", FIELD_NODES, IR_I32, 0, -1};
        out[n++] = (data_field){"label", FIELD_PER_GRAPH, IR_I32, dc->batch, -1};
        out[n++] = (data_field){"mask", FIELD_PER_GRAPH, IR_F32, dc->batch, -1};
        out[n++] = (data_field){"edge_attr", FIELD_EDGE_ATTR, IR_F32, 0, -1};
        return n;
    }
    int64_t S, T;
    if (dc->kind && strcmp(dc->kind, "seq2seq_task") == 0 && dl_seq2seq_lengths(dc->task, dc->length, &S, &T) == 0) {
        /* the target shaped like target_in, so that cross_entropy(output, target) type-checks with either's T */
        out[n++] = (data_field){"source", FIELD_SEQ, IR_I32, S, -1};
        out[n++] = (data_field){"target_in", FIELD_SEQ, IR_I32, T, -1};
        out[n++] = (data_field){"target", FIELD_SEQ, IR_I32, T, 1};
        return n;
    }
    if (dc->kind && strcmp(dc->kind, "detection_canvas") == 0) {
        /* the canvas, a dense target grid for a one-stage detector, and the boxes as a padded list */
        const int64_t G = dc->grid, M = dc->max_objects;
        out[n++] = (data_field){"image", FIELD_PRIMARY, IR_F32, 0, -1};
        out[n++] = (data_field){"grid_target", FIELD_CELLS, IR_F32, G, -1};
        out[n++] = (data_field){"boxes", FIELD_BOXES, IR_F32, M, -1};
        out[n++] = (data_field){"classes", FIELD_PER_BOX, IR_I32, M, -1};
        out[n++] = (data_field){"box_mask", FIELD_PER_BOX, IR_F32, M, -1};
        return n;
    }
    if (dc->kind && strcmp(dc->kind, "images") == 0) {
        out[n++] = (data_field){"image", FIELD_PRIMARY, IR_F32, 0, -1};
        out[n++] = (data_field){"label", FIELD_PIXELS, IR_I32, 0, -1};
        return n;
    }
    if (dc->kind && strcmp(dc->kind, "csv") == 0) out[n++] = (data_field){"features", FIELD_PRIMARY, IR_F32, 0, -1};
    else out[n++] = (data_field){"image", FIELD_PRIMARY, IR_F32, 0, -1};
    out[n++] = (data_field){"label", label_is_class ? FIELD_CLASS : FIELD_DENSE, label_is_class ? IR_I32 : IR_F32, 0, -1};
    if (dc->kind && strcmp(dc->kind, "csv") == 0 && dc->csv.has_weight)
        out[n++] = (data_field){"weight", FIELD_SAMPLE, IR_F32, 0, -1};
    for (int k = 0; dc->kind && strcmp(dc->kind, "csv") == 0 && k < dc->csv.n_columns; k++)
        out[n++] = (data_field){dc->csv.columns[k], FIELD_COLUMN, dc->csv.column_i32[k] ? IR_I32 : IR_F32, k, -1};
    if (dc->augment.views == 2) out[n++] = (data_field){"image2", FIELD_LIKE_PRIMARY, IR_F32, 0, -1};
    return n;
}

static const char *field_list(elab *e, const data_field *fs, int n) {
    const char *s = "";
    for (int i = 0; i < n; i++) s = arena_printf(e->a, "%s%s%s", s, i ? ", " : "", fs[i].name);
    return s;
}

const char *train_primary_field(const dl_data_config *dc) {
    data_field fs[MAX_FIELDS];
    return data_fields(dc, 1, fs) > 0 ? fs[0].name : "image";
}

/* The type field f has in this model: the primary's comes from the model
 * input reading it (NULL when none does). */
static int field_type(const data_field *f, const model_io *io, ir_node *primary, ir_dtype *dt, ir_shape *s) {
    *dt = f->dtype;
    switch (f->kind) {
    case FIELD_PRIMARY:
        if (!primary) return 0;
        *s = primary->shape;
        return 1;
    case FIELD_CLASS: *s = (ir_shape){.rank = 1, .d = {ir_dim_sym(IR_SYM_N)}}; return 1;
    case FIELD_DENSE: *s = io->out[0]->shape; return 1;
    case FIELD_LIKE_PRIMARY:
        if (!primary) return 0;
        *s = primary->shape;
        return 1;
    case FIELD_SEQ: *s = (ir_shape){.rank = 2, .d = {ir_dim_sym(IR_SYM_N), ir_dim_const(f->len)}}; return 1;
    case FIELD_NODES:
        if (!primary || primary->shape.rank != 3) return 0;
        *s = (ir_shape){.rank = 2, .d = {primary->shape.d[0], primary->shape.d[1]}};
        return 1;
    case FIELD_PIXELS:
        if (!primary || primary->shape.rank != 4) return 0;
        *s = (ir_shape){.rank = 3, .d = {primary->shape.d[0], primary->shape.d[2], primary->shape.d[3]}};
        return 1;
    case FIELD_EDGES:
    case FIELD_EDGE_ATTR: return 0;   /* its length is checked where an input reads it (check_edge_input) */
    case FIELD_SAMPLE:
    case FIELD_COLUMN: *s = (ir_shape){.rank = 1, .d = {ir_dim_sym(IR_SYM_N)}}; return 1;
    case FIELD_CELLS:
        *s = (ir_shape){.rank = 4, .d = {ir_dim_sym(IR_SYM_N), ir_dim_const(f->len), ir_dim_const(f->len),
                                         ir_dim_const(5 + DL_DETECT_CLASSES)}};
        return 1;
    case FIELD_BOXES:
        *s = (ir_shape){.rank = 3, .d = {ir_dim_sym(IR_SYM_N), ir_dim_const(f->len), ir_dim_const(4)}};
        return 1;
    case FIELD_PER_BOX:
    case FIELD_PER_GRAPH: *s = (ir_shape){.rank = 2, .d = {ir_dim_sym(IR_SYM_N), ir_dim_const(f->len)}}; return 1;
    }
    return 0;
}

/* A model input reading a FIELD_SEQ field: i32[N, len], or i32[N, X] with X a
 * symbol the data gives len for; one symbol may not stand for two lengths
 * (sym_len[k]: the length symbol k was given, 0 before). -1 after an error. */
static int check_seq_input(elab *e, const ast_decl *t, const ir_input *in, const data_field *f, int64_t *sym_len) {
    const ir_dim *d = in->shape.d;
    const int one_sym = in->shape.rank == 2 && d[1].k == 1 && d[1].syms && !(d[1].syms & (d[1].syms - 1)) &&
                        !(d[1].syms & (1u << IR_SYM_N));
    if (in->dtype == IR_I32 && in->shape.rank == 2 && (one_sym || ir_dim_eq(d[1], ir_dim_const(f->len)))) {
        if (!one_sym) return 0;
        int k = 0;
        while (!(d[1].syms & (1u << k))) k++;
        if (!sym_len[k] || sym_len[k] == f->len) {
            sym_len[k] = f->len;
            return 0;
        }
        char dim[64];
        diag_error(e->d, in->node->loc, "model input '%s' gives %s the length %lld of the data field '%s', but another "
                   "input gives it %lld\nhint: name different lengths by different symbols, e.g. source: i32[N, S] and "
                   "target_in: i32[N, T]", in->name, ir_dim_str(dim, sizeof dim, d[1], e->mod), (long long)f->len,
                   f->name, (long long)sym_len[k]);
    } else {
        char have[160];
        diag_error(e->d, in->node->loc, "model input '%s' is %s but the data field '%s' it reads is i32[N, %lld]\nhint: "
                   "write i32[N, %lld], or a name such as i32[N, T] for the length", in->name,
                   ir_shape_str(have, sizeof have, in->dtype, &in->shape, e->mod), f->name, (long long)f->len,
                   (long long)f->len);
    }
    diag_note(e->d, t->name_loc, "in the train section of '%s'", t->name);
    return -1;
}

/* A model input reading a graph's src or dst: i32[N, E], E a symbol (the
 * number of edges is the data's) that is not the nodes' V; its edge_attr:
 * f32[N, E, Fe], Fe the file's column count, checked when the data is read.
 * -1 after an error. */
static int check_edge_input(elab *e, const ast_decl *t, const ir_input *in, const data_field *f, ir_node *primary) {
    const ir_dim *d = in->shape.d;
    const int attr = f->kind == FIELD_EDGE_ATTR;
    const int one_sym = in->shape.rank == 2 + attr && d[1].k == 1 && d[1].syms && !(d[1].syms & (d[1].syms - 1)) &&
                        !(d[1].syms & (1u << IR_SYM_N));
    const int is_v = one_sym && primary && primary->shape.rank == 3 && ir_dim_eq(d[1], primary->shape.d[1]);
    if (in->dtype == (attr ? IR_F32 : IR_I32) && one_sym && !is_v) return 0;
    char have[160];
    diag_error(e->d, in->node->loc, attr ? "model input '%s' is %s but the data field '%s' it reads is f32[N, E, Fe], "
               "a row of features per edge\nhint: write f32[N, E, Fe] with E the symbol src and dst use and Fe the "
               "number of edges.csv's columns after source,target"
               : "model input '%s' is %s but the data field '%s' it reads is i32[N, E], one node "
               "index per edge\nhint: write i32[N, E], with a name of its own for the number of edges", in->name,
               ir_shape_str(have, sizeof have, in->dtype, &in->shape, e->mod), f->name);
    diag_note(e->d, t->name_loc, "in the train section of '%s'", t->name);
    return -1;
}

/* Every name written in the expression x, into names (at most cap). Deeper
 * than eval_expr goes is left to it to report. */
static void expr_names(const ast_expr *x, const ast_expr **names, int *n, int cap, int depth) {
    if (!x || depth > ELAB_MAX_EXPR_DEPTH) return;
    if (x->kind == AST_NAME && *n < cap) names[(*n)++] = x;
    expr_names(x->lhs, names, n, cap, depth + 1);
    expr_names(x->rhs, names, n, cap, depth + 1);
    for (int i = 0; i < x->n_items; i++) expr_names(x->items[i], names, n, cap, depth + 1);
    for (int i = 0; i < x->n_args; i++) expr_names(x->args[i].value, names, n, cap, depth + 1);
}

/* Each model input reads the data field of its name; a single input whose
 * name no field has reads the primary one. -1 after an error. */
static int bind_inputs_to_fields(elab *e, const ast_decl *t, const model_io *io, const data_field *fs, int nf,
                                 int *field_of) {
    const dl_data_config *dc = e->mod->train ? &e->mod->train->cfg.data : NULL;
    const char *src = dc && dc->kind ? dc->kind : "the data source";
    ir_node *primary = NULL;
    for (int i = 0; i < io->n_in; i++) {
        const ir_input *in = &e->g->inputs[i];
        field_of[i] = -1;
        for (int j = 0; j < nf; j++)
            if (strcmp(fs[j].name, in->name) == 0) field_of[i] = j;
        if (field_of[i] < 0 && io->n_in == 1) field_of[i] = 0;
        if (field_of[i] < 0) {
            diag_error(e->d, in->node->loc, "model input '%s' is not given by the data\nhint: %s(...) gives the fields %s; "
                       "name each input after the field it reads%s", in->name, src, field_list(e, fs, nf),
                       strcmp(in->name, "image2") == 0 ? " (image2, a second view, with views = 2)"
                       : strcmp(src, "csv") == 0       ? " (a header column is one when listed in columns = [...])"
                                                       : "");
            diag_note(e->d, t->name_loc, "in the train section of '%s'", t->name);
            return -1;
        }
        if (fs[field_of[i]].kind == FIELD_PRIMARY) primary = in->node;
    }
    int64_t sym_len[IR_MAX_SYMS] = {0};
    for (int i = 0; i < io->n_in; i++) {
        ir_input *in = &e->g->inputs[i];
        const data_field *f = &fs[field_of[i]];
        ir_dtype dt;
        ir_shape s;
        if (f->kind == FIELD_SEQ) {
            if (check_seq_input(e, t, in, f, sym_len)) return -1;
            if (strcmp(f->name, in->name) != 0) in->field = f->name;
            continue;
        }
        if (f->kind == FIELD_EDGES || f->kind == FIELD_EDGE_ATTR) {
            if (check_edge_input(e, t, in, f, primary)) return -1;
            continue;
        }
        if (f->kind == FIELD_COLUMN && in->dtype == IR_I32) /* category ids: the runtime checks they are integers */
            e->mod->train->cfg.data.csv.column_i32[f->len] = 1;
        if (f->kind == FIELD_NODES && (!primary || primary->shape.rank != 3)) {
            diag_error(e->d, in->node->loc, "model input '%s' reads the graph's '%s', which needs the node features "
                       "read as features: f32[N, V, F]", in->name, f->name);
            return -1;
        }
        if (!field_type(f, io, primary, &dt, &s)) continue;
        if (f->kind == FIELD_COLUMN && in->dtype == IR_I32) dt = IR_I32;
        if (dt != in->dtype || !ir_shape_eq(&s, &in->shape)) {
            char want[160], have[160];
            /* one class per position (segmentation) asked of a source that gives one per sample */
            int per_position = f->kind == FIELD_CLASS && in->dtype == IR_I32 && in->shape.rank > 1;
            diag_error(e->d, in->node->loc, "model input '%s' is %s but the data field '%s' it reads is %s%s", in->name,
                       ir_shape_str(have, sizeof have, in->dtype, &in->shape, e->mod), f->name,
                       ir_shape_str(want, sizeof want, dt, &s, e->mod),
                       per_position ? "\nhint: the source gives one class per sample; labels per position (a "
                                      "segmentation's per pixel) can follow the pixels in the row, read back from the "
                                      "features by the model, e.g. cast_i32(reshape(features[:, 192:], [N, 8, 8])), "
                                      "and returned as an i32 output the loss names"
                       : f->kind == FIELD_COLUMN ? "\nhint: a CSV column is one number per sample: f32[N], or i32[N] "
                                                   "for integer ids; unsqueeze(x, 1) makes f32[N, 1] in the model"
                                                 : "");
            diag_note(e->d, t->name_loc, "in the train section of '%s'", t->name);
            return -1;
        }
        if (strcmp(f->name, in->name) != 0) in->field = f->name;
    }
    return 0;
}

/* A step loss (elab_steps.c) reads the data fields it names beyond the
 * primary one, which is already bound to `primary`: each becomes a graph
 * input typed as the source gives it. There is no model output to shape a
 * dense label by, so a step takes class labels, a mask shaped like the
 * primary field, or a CSV target f32[N, 1]; mixup's one-hot mixtures have no
 * fixed width here and are refused. -1 after an error. */
int train_step_fields(elab *e, frame *f, const ast_expr *loss, int label_is_class, ir_node *primary) {
    data_field fs[MAX_FIELDS];
    const dl_data_config *dc = &e->mod->train->cfg.data;
    int nf = data_fields(dc, label_is_class, fs);
    const ast_expr *names[256];
    int nn = 0;
    expr_names(loss, names, &nn, 256, 0);
    for (int j = 1; j < nf; j++) {
        const ast_expr *use = NULL;
        for (int k = 0; k < nn && !use; k++)
            if (strcmp(names[k]->name, fs[j].name) == 0) use = names[k];
        if (!use || strmap_get(&f->var_index, fs[j].name)) continue;
        ir_dtype dt = fs[j].dtype;
        ir_shape s;
        if (fs[j].kind == FIELD_DENSE && dc->kind && strcmp(dc->kind, "csv") == 0) {
            s = (ir_shape){.rank = 2, .d = {ir_dim_sym(IR_SYM_N), ir_dim_const(1)}};
        } else if (fs[j].kind == FIELD_DENSE && dc->kind && strcmp(dc->kind, "fashion_mnist_masks") == 0) {
            s = primary->shape;
        } else if (fs[j].kind == FIELD_DENSE) {
            diag_error(e->d, use->loc, "a step's loss cannot read '%s' here: with mixup the labels are one-hot "
                       "mixtures whose width no model output fixes\nhint: drop mixup from the section's augment",
                       fs[j].name);
            return -1;
        } else if (!field_type(&fs[j], NULL, primary, &dt, &s)) {
            continue;
        }
        ir_node *in = ir_input_node(e->g, fs[j].name, dt, &s, use->loc);
        frame_bind(e, f, fs[j].name, v_tensor(in, use->loc));
    }
    return 0;
}

/* graphs(dir, batch = G): the labels are one class per graph of a batch,
 * i32[N, G], so the first output must be a row of logits per graph,
 * f32[N, G, classes] — a readout by graph id of size G. -1 after an error. */
static int check_graphs_output(elab *e, const ast_decl *t, const model_io *io, const dl_data_config *dc) {
    const ir_node *o = io->out[0];
    if (o->dtype == IR_F32 && o->shape.rank == 3 && ir_dim_eq(o->shape.d[0], ir_dim_sym(IR_SYM_N)) &&
        ir_dim_eq(o->shape.d[1], ir_dim_const(dc->batch)))
        return 0;
    char have[160];
    const ast_setting *data = setting(t, "data", NULL);
    diag_error(e->d, data ? data->value->loc : t->name_loc, "the first output of model '%s' is %s, but graphs(..., batch = %lld) gives one label per graph "
               "of a batch, i32[N, %lld]: the output must be f32[N, %lld, classes]\nhint: pool the nodes into %lld rows "
               "by their graph, e.g. scatter_add(h, expand(unsqueeze(graph, 2), [N, V, D]), %lld, axis = 1)", t->name,
               ir_shape_str(have, sizeof have, o->dtype, &o->shape, e->mod), (long long)dc->batch, (long long)dc->batch,
               (long long)dc->batch, (long long)dc->batch, (long long)dc->batch);
    return -1;
}

ir_node *train_loss(elab *e, const ast_decl *t, const model_io *io, int label_is_class) {
    const ast_setting *s = setting(t, "loss", NULL);
    if (!s) return NULL;
    data_field fs[MAX_FIELDS];
    const dl_data_config *dc = e->mod->train ? &e->mod->train->cfg.data : &(dl_data_config){0};
    int nf = data_fields(dc, label_is_class, fs), field_of[ELAB_MAX_IO];
    if (bind_inputs_to_fields(e, t, io, fs, nf, field_of)) return NULL;
    if (dc->kind && strcmp(dc->kind, "graphs") == 0 && check_graphs_output(e, t, io, dc)) return NULL;
    ir_node *primary = NULL, *by_field[MAX_FIELDS] = {0};
    for (int i = 0; i < io->n_in; i++) {
        by_field[field_of[i]] = e->g->inputs[i].node;
        if (fs[field_of[i]].kind == FIELD_PRIMARY) primary = e->g->inputs[i].node;
    }
    /* greedy decoding feeds the model its own tokens through the input reading target_in */
    if (e->mod->train && (e->mod->train->cfg.metrics & DL_METRIC_EXACT_MATCH) && !(nf > 1 && by_field[1] && io->out[0]->shape.rank == 3)) {
        diag_error(e->d, setting(t, "metrics", NULL)->value->loc, "'exact_match' decodes greedily: model '%s' needs an "
                   "input reading target_in and logits f32[N, T, V] as its first output", t->name);
        return NULL;
    }
    /* mAP decodes the first output in the grid target's encoding, cell by cell, or as
     * per-anchor boxes [N, A, 5 + C] (x1, y1, x2, y2, background and class logits) */
    ir_dtype gdt;
    ir_shape gs;
    if (e->mod->train && (e->mod->train->cfg.metrics & DL_METRIC_MAP) && nf > 1 && field_type(&fs[1], io, primary, &gdt, &gs) &&
        !ir_shape_eq(&io->out[0]->shape, &gs)) {
        const ir_shape *os = &io->out[0]->shape;
        if (io->out[0]->dtype == IR_F32 && os->rank == 3 && ir_dim_eq(os->d[0], gs.d[0]) && ir_dim_is_const(os->d[1]) &&
            ir_dim_eq(os->d[2], gs.d[3])) {
            e->mod->train->cfg.metrics |= DL_METRIC_MAP_BOXES;
        } else {
            char have[160], want[160];
            diag_error(e->d, setting(t, "metrics", NULL)->value->loc, "'map' decodes the first output of model '%s' as the "
                       "grid target, %s, or as boxes f32[N, A, %lld]; it is %s", t->name,
                       ir_shape_str(want, sizeof want, IR_F32, &gs, e->mod), (long long)gs.d[3].k,
                       ir_shape_str(have, sizeof have, io->out[0]->dtype, &io->out[0]->shape, e->mod));
            return NULL;
        }
    }

    /* Names the loss can use: outputs, inputs, fields. */
    frame f = {.prefix = ""};
    const char *avail[3 * MAX_FIELDS + 1];
    int na = 0;
    if (io->n_out == 1) frame_bind(e, &f, "output", v_tensor(io->out[0], t->name_loc)), avail[na++] = "output";
    for (int i = 0; i < io->n_out; i++)
        if (strcmp(io->out_names[i], "output") != 0)
            frame_bind(e, &f, io->out_names[i], v_tensor(io->out[i], t->name_loc)), avail[na++] = io->out_names[i];
    for (int i = 0; i < io->n_in; i++)
        frame_bind(e, &f, e->g->inputs[i].name, v_tensor(e->g->inputs[i].node, t->name_loc)),
            avail[na++] = e->g->inputs[i].name;
    for (int j = 0; j < nf; j++)
        if (by_field[j]) frame_bind(e, &f, fs[j].name, v_tensor(by_field[j], t->name_loc));
    for (int j = 0; j < nf; j++)
        if (!strmap_get(&f.var_index, fs[j].name)) avail[na++] = fs[j].name;
    /* the model's run-time sizes by name, as in its body: sum(l) / N averages over the batch */
    for (int i = 0; i < e->mod->n_syms; i++)
        if (e->mod->syms[i].name && !strmap_get(&f.var_index, e->mod->syms[i].name))
            frame_bind(e, &f, e->mod->syms[i].name, (value){.kind = V_DIM, .dim = ir_dim_sym(i), .loc = t->name_loc});

    /* Fields the loss names become step inputs, in the source's order; the
     * form of model today's API has (one f32 input, one output) always takes
     * `label`, so its step functions keep their (x, y) signature. */
    const ast_expr *names[256];
    int nn = 0;
    expr_names(s->value, names, &nn, 256, 0);
    unsigned char used[MAX_FIELDS] = {0};
    for (int k = 0; k < nn; k++) {
        const char *nm = names[k]->name;
        if (strmap_get(&f.var_index, nm)) continue;
        int j = 0;
        while (j < nf && strcmp(fs[j].name, nm) != 0) j++;
        if (j < nf) {
            used[j] = 1;
            continue;
        }
        if (strcmp(nm, "training") == 0 || find_block(e, nm) || is_builtin(nm) || is_initializer(nm)) continue;
        const char *close = closest_name(nm, avail, na);
        if (close) diag_error(e->d, names[k]->loc, "unknown name '%s'\nhint: did you mean '%s'?", nm, close);
        else {
            const char *list = "";
            for (int i = 0; i < na; i++) list = arena_printf(e->a, "%s%s%s", list, i ? ", " : "", avail[i]);
            diag_error(e->d, names[k]->loc, "unknown name '%s' in the loss\nhint: the loss can use %s", nm, list);
        }
        return NULL;
    }
    const ir_input *x0 = &e->g->inputs[0];
    int today = io->n_in == 1 && io->n_out == 1 && x0->dtype == IR_F32 && e->mod->n_syms == 1;
    for (int j = 0; j < nf; j++) {
        if (by_field[j] || !(used[j] || (today && strcmp(fs[j].name, "label") == 0))) continue;
        ir_dtype dt;
        ir_shape fsh;
        if (fs[j].kind == FIELD_SEQ && fs[j].like >= 0 && by_field[fs[j].like]) {
            dt = IR_I32;
            fsh = by_field[fs[j].like]->shape;   /* target: target_in's T, a symbol or not */
        } else if (!field_type(&fs[j], io, primary, &dt, &fsh)) {
            diag_error(e->d, s->value->loc, "the loss uses the data field '%s', whose shape comes from the model input "
                       "that reads '%s', but no input does", fs[j].name, fs[0].name);
            return NULL;
        }
        ir_node *in = ir_input_node(e->g, fs[j].name, dt, &fsh, t->name_loc);
        frame_bind(e, &f, fs[j].name, v_tensor(in, t->name_loc));
    }
    value v = eval_expr(e, &f, s->value);
    /* The notes below explain a dtype or shape clash with the labels; after
     * any other error (an unknown name) they would mislead. */
    binding *lb = strmap_get(&f.var_index, "label");
    ir_node *label = lb && lb->v.kind == V_TENSOR ? lb->v.t : NULL;
    if (v.kind == V_ERROR && label && (strstr(e->d->last_error, "i32") || strstr(e->d->last_error, "f32"))) {
        if (label->dtype == IR_F32 && has_mixup(t))
            diag_note(e->d, s->value->loc, "with mixup or cutmix the labels are one-hot mixtures (f32[N, C]); use a soft-target "
                      "loss such as soft_cross_entropy(output, label)");
        else if (label->dtype == IR_I32)
            diag_note(e->d, s->value->loc, "this data source gives integer class labels (i32[N]); losses such as "
                      "cross_entropy take them, regression losses need float targets");
    }
    if (v.kind == V_ERROR) return NULL;
    if (v.kind != V_TENSOR || v.t->dtype != IR_F32 || v.t->shape.rank != 0) {
        diag_error(e->d, s->value->loc, "the loss must be a scalar f32[], got %s\nhint: reduce it, e.g. mean(...)",
                   v_describe(e, &v));
        return NULL;
    }
    if (e->mod->train && e->mod->train->adv.kind != ADV_NONE) {
        int k = 0;   /* the input reading the image */
        while (k < io->n_in - 1 && e->g->inputs[k].node != primary) k++;
        return adv_model_loss(e, t, &f, s->value, io, k, v.t);
    }
    return v.t;
}
