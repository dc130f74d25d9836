/* elab_groups.c — the train section's `freeze` and `lr_scale`:
 *
 *   freeze   = ["conv1.", "block2.conv"]     # not trained
 *   lr_scale = [("features.", 0.1)]          # trained at lr x 0.1
 *   init_skip = ["head."]                    # not loaded by init_from
 *
 * Both select parameters by name prefix (the names of --summary and of the
 * checkpoint). A frozen parameter becomes non-trainable when declared, so
 * autodiff computes no gradient for it and the layout gives it no gradient
 * or optimizer state; a scaled one gets its own dl_optim_update call with
 * the scheduled lr times the factor — what torch.optim's param groups do.
 * A prefix that selects nothing is an error: a typo would otherwise train
 * the whole network silently. */
#include <string.h>

#include "elab_internal.h"

static int read_prefix(elab *e, const value *v, const char *key, pg_prefix *out) {
    if (v->kind != V_STR || !v->s[0]) {
        diag_error(e->d, v->loc, "'%s' lists parameter name prefixes such as \"conv1.\", got %s", key,
                   v->kind == V_STR ? "an empty string" : v_describe(e, v));
        return 0;
    }
    out->prefix = v->s;
    out->scale = 1;
    out->loc = v->loc;
    return 1;
}

/* `v` as a list: [a, b] is itself, a lone item a list of one. */
static const value *items_of(const value *v, int *n) {
    *n = v->kind == V_LIST ? v->n : 1;
    return v->kind == V_LIST ? v->items : v;
}

static void build_list(elab *e, const ast_setting *s, pg_prefix **list, int *count) {
    frame f = {.prefix = ""};
    value v = eval_expr(e, &f, s->value);
    if (v.kind == V_ERROR) return;
    int n;
    const value *it = items_of(&v, &n);
    *list = ARENA_NEW_ARRAY(e->a, pg_prefix, n > 0 ? n : 1);
    for (int i = 0; i < n; i++)
        if (read_prefix(e, &it[i], s->key, &(*list)[*count])) (*count)++;
}

static void build_scale(elab *e, const ast_setting *s, pg_groups *g) {
    frame f = {.prefix = ""};
    value v = eval_expr(e, &f, s->value);
    if (v.kind == V_ERROR) return;
    int n;
    const value *it = items_of(&v, &n);
    if (v.kind == V_LIST && n == 2 && it[0].kind == V_STR) it = &v, n = 1;  /* lr_scale = ("trunk.", 0.1) */
    g->scale = ARENA_NEW_ARRAY(e->a, pg_prefix, n > 0 ? n : 1);
    for (int i = 0; i < n; i++) {
        double x = -1;
        if (it[i].kind != V_LIST || it[i].n != 2) {
            diag_error(e->d, it[i].loc, "'lr_scale' lists (prefix, factor) pairs, got %s\nhint: lr_scale = "
                       "[(\"features.\", 0.1)] trains the parameters named features.* at a tenth of the learning rate",
                       it[i].kind == V_LIST ? arena_printf(e->a, "a list of %d", it[i].n) : v_describe(e, &it[i]));
            continue;
        }
        const value *f = &it[i].items[1];
        if (f->kind == V_BOOL || !as_number(f, &x) || !(x >= 0 && x <= 1e6)) {
            diag_error(e->d, f->loc, "an lr_scale factor must be a number in [0, 1e6], got %s", v_describe(e, f));
            continue;
        }
        pg_prefix *p = &g->scale[g->n_scale];
        if (!read_prefix(e, &it[i].items[0], "lr_scale", p)) continue;
        p->scale = (float)x;
        g->n_scale++;
    }
}

void groups_build(elab *e, const ast_setting *freeze, const ast_setting *scale, const ast_setting *skip,
                  pg_groups *g) {
    *g = (pg_groups){0};
    if (freeze) build_list(e, freeze, &g->freeze, &g->n_freeze);
    if (scale) build_scale(e, scale, g);
    if (skip) build_list(e, skip, &g->skip, &g->n_skip);
}

/* The length of a name's first component with its dot ("conv1." of "conv1.weight"). */
static size_t top_len(const char *name) {
    const char *dot = strchr(name, '.');
    return dot ? (size_t)(dot - name) + 1 : strlen(name);
}

/* "conv1., block2., fc." — the first component of each name, for a hint. */
static const char *top_prefixes(elab *e, const ir_module *m) {
    const char *s = "";
    int shown = 0;
    for (int i = 0; i < m->n_params; i++) {
        const char *name = m->params[i].name;
        size_t len = top_len(name);
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = top_len(m->params[j].name) == len && strncmp(m->params[j].name, name, len) == 0;
        if (seen) continue;
        if (shown++ == 12) return arena_printf(e->a, "%s, ...", s);
        s = arena_printf(e->a, "%s%s'%.*s'", s, shown > 1 ? ", " : "", (int)len, name);
    }
    return s;
}

static int check_list(elab *e, const ir_module *m, const pg_prefix *list, int n, const char *key) {
    int ok = 1;
    for (int k = 0; k < n; k++) {
        int hits = 0;
        for (int i = 0; i < m->n_params; i++)
            if (strncmp(m->params[i].name, list[k].prefix, strlen(list[k].prefix)) == 0) hits++;
        if (!hits) {
            diag_error(e->d, list[k].loc, "%s prefix '%s' matches no parameter of model '%s'\nhint: its names start "
                       "with %s (dlnc --emit=ir lists every parameter)", key, list[k].prefix, m->name, top_prefixes(e, m));
            ok = 0;
        }
    }
    return ok;
}

/* Counts what freeze and lr_scale selected into the line the run prints. */
static const char *report(elab *e, const ir_module *m, const pg_groups *g) {
    const char *s = "";
    if (g->n_freeze) {
        int tensors = 0;
        int64_t numel = 0;
        for (int i = 0; i < m->n_params; i++) {
            if (!m->params[i].frozen_by_name) continue;
            int64_t n = 1;
            for (int d = 0; d < m->params[i].shape.rank; d++) n *= m->params[i].shape.d[d].k;
            tensors++;
            numel += n;
        }
        for (int k = 0; k < g->n_freeze; k++) s = arena_printf(e->a, "%s%s%s", s, k ? ", " : "freeze ", g->freeze[k].prefix);
        s = arena_printf(e->a, "%s: %d tensor%s (%lld parameters) not trained", s, tensors, tensors == 1 ? "" : "s",
                         (long long)numel);
    }
    for (int k = 0; k < g->n_scale; k++) {
        int tensors = 0;
        for (int i = 0; i < m->n_params; i++)
            if (m->params[i].trainable && pg_match(g->scale, g->n_scale, m->params[i].name) == k) tensors++;
        s = arena_printf(e->a, "%s%slr x %g for %s (%d tensor%s)", s, *s ? "; " : "", (double)g->scale[k].scale,
                         g->scale[k].prefix, tensors, tensors == 1 ? "" : "s");
    }
    return *s ? s : NULL;
}

int groups_check(elab *e, train_config *tc) {
    const pg_groups *g = &tc->groups;
    int ok = check_list(e, e->mod, g->freeze, g->n_freeze, "freeze");
    ok &= check_list(e, e->mod, g->scale, g->n_scale, "lr_scale");
    ok &= check_list(e, e->mod, g->skip, g->n_skip, "init_skip");
    if (!ok) return -1;
    tc->cfg.param_groups = report(e, e->mod, g);
    if (g->n_skip) {
        const char **skip = ARENA_NEW_ARRAY(e->a, const char *, g->n_skip + 1);
        for (int k = 0; k < g->n_skip; k++) skip[k] = g->skip[k].prefix;
        skip[g->n_skip] = NULL;
        tc->cfg.init_skip = skip;
    }
    return 0;
}
