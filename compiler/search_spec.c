/* search_spec.c — parsing a search space and enumerating its trials.
 *
 * The settings a search may override are one table: where the value lives in
 * dl_train_config, whether it is an integer, and the interval it must lie in
 * (checked at parse time, ranges included, so a trial never starts with a
 * learning rate of -1). Random draws use their own counter-based generator,
 * so trial k is the same whatever else the run does. */
#include "search_spec.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { SET_FLOAT, SET_I64, SET_INT } setting_type;

typedef struct setting {
    const char *name;
    size_t offset;                     /* in dl_train_config */
    setting_type type;
    double lo, hi;                     /* the value must be in [lo, hi] ... */
    int open_lo, open_hi;              /* ... or the open end(s) */
    unsigned optims;                   /* bit per dl_optim_kind it applies to; 0 = every optimizer */
    const char *optim_names;           /* for the message when it does not */
} setting;

#define OPT(k) (1u << (k))
static const setting settings[] = {
    {"lr", offsetof(dl_train_config, optim.lr), SET_FLOAT, 0, 1e3, 1, 0, 0, NULL},
    {"weight_decay", offsetof(dl_train_config, optim.weight_decay), SET_FLOAT, 0, 1e3, 0, 0, 0, NULL},
    {"momentum", offsetof(dl_train_config, optim.momentum), SET_FLOAT, 0, 1, 0, 1,
     OPT(DL_OPT_SGD) | OPT(DL_OPT_RMSPROP), "sgd and rmsprop"},
    {"beta1", offsetof(dl_train_config, optim.beta1), SET_FLOAT, 0, 1, 0, 1, OPT(DL_OPT_ADAM) | OPT(DL_OPT_ADAMW) | OPT(DL_OPT_LAMB),
     "adam, adamw and lamb"},
    {"beta2", offsetof(dl_train_config, optim.beta2), SET_FLOAT, 0, 1, 0, 1, OPT(DL_OPT_ADAM) | OPT(DL_OPT_ADAMW) | OPT(DL_OPT_LAMB),
     "adam, adamw and lamb"},
    {"eps", offsetof(dl_train_config, optim.eps), SET_FLOAT, 0, 1, 1, 0, 0, NULL},
    {"batch", offsetof(dl_train_config, data.batch), SET_I64, 1, 65536, 0, 0, 0, NULL},
    {"epochs", offsetof(dl_train_config, epochs), SET_INT, 1, 100000, 0, 0, 0, NULL},
};
#define N_SETTINGS ((int)(sizeof settings / sizeof *settings))

const char *search_setting_name(int k) { return settings[k].name; }

const char *search_setting_unused(int k, dl_optim_kind kind) {
    return settings[k].optims && !(settings[k].optims & OPT(kind)) ? settings[k].optim_names : NULL;
}

static int fail(char *err, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

static int in_range(const setting *st, double v) {
    if (!isfinite(v)) return 0;
    if (st->open_lo ? v <= st->lo : v < st->lo) return 0;
    if (st->open_hi ? v >= st->hi : v > st->hi) return 0;
    return st->type == SET_FLOAT || v == floor(v);
}

static void describe(const setting *st, char *buf, size_t len) {
    snprintf(buf, len, "%s in %c%g, %g%c", st->type == SET_FLOAT ? "a number" : "an integer", st->open_lo ? '(' : '[',
             st->lo, st->hi, st->open_hi ? ')' : ']');
}

/* A number at *p, up to one of the stop characters (the end of the text
 * counts as ';'); advances *p. */
static int number(const char **p, const char *stops, double *v) {
    char *end;
    errno = 0;
    *v = strtod(*p, &end);
    if (end == *p || errno || !strchr(stops, *end ? *end : ';')) return -1;
    *p = end;
    return 0;
}

/* VALUES of one key, from p to the end of the key's text (';' or NUL). */
static int parse_values(const char *p, const setting *st, search_key *k, char *err, size_t len) {
    char want[64];
    describe(st, want, sizeof want);
    const char *name = st->name;
    int log = !strncmp(p, "log(", 4), uni = !strncmp(p, "uniform(", 8);
    if (log || uni) {
        p += log ? 4 : 8;
        k->dist = log ? SEARCH_LOG : SEARCH_UNIFORM;
        k->n = 2;
        int bad = number(&p, ",", &k->v[0]);
        if (!bad) p++, bad = number(&p, ")", &k->v[1]);
        if (bad || (p[1] != ';' && p[1] != 0))
            return fail(err, len, "%s: a range is %s(LO,HI), e.g. %s=log(1e-4,1e-2)", name, log ? "log" : "uniform", name);
        for (int e = 0; e < 2; e++) /* an integer setting's ends as they will be rounded */
            if (!in_range(st, st->type == SET_FLOAT ? k->v[e] : floor(k->v[e] + 0.5)))
                return fail(err, len, "%s: the range's ends must each be %s", name, want);
        if (!(k->v[0] < k->v[1])) return fail(err, len, "%s: a range needs LO < HI, not %g,%g", name, k->v[0], k->v[1]);
        if (log && k->v[0] <= 0) return fail(err, len, "%s: log(LO,HI) needs LO > 0", name);
        return 0;
    }
    k->dist = SEARCH_LIST;
    k->n = 0;
    for (;;) {
        double v;
        if (number(&p, ",;", &v))
            return fail(err, len, "%s: expected a list of numbers (v1,v2,...) or log(LO,HI) or uniform(LO,HI)", name);
        if (!in_range(st, v)) return fail(err, len, "%s: %g is not %s", name, v, want);
        if (k->n == SEARCH_MAX_VALUES) return fail(err, len, "%s: more than %d values", name, SEARCH_MAX_VALUES);
        k->v[k->n++] = v;
        if (*p != ',') return 0;
        p++;
    }
}

int search_space_parse(const char *spec, search_space *s, char *err, size_t len) {
    memset(s, 0, sizeof *s);
    const char *p = spec;
    if (!*p) return fail(err, len, "empty search space; e.g. \"lr=1e-3,3e-3;batch=64,128\"");
    for (;;) {
        const char *eq = strchr(p, '=');
        const char *semi = strchr(p, ';');
        if (!eq || (semi && semi < eq))
            return fail(err, len, "'%.*s' is not SETTING=VALUES", (int)(semi ? semi - p : (long)strlen(p)), p);
        int which = -1;
        for (int k = 0; k < N_SETTINGS; k++)
            if (strlen(settings[k].name) == (size_t)(eq - p) && !strncmp(p, settings[k].name, eq - p)) which = k;
        if (which < 0)
            return fail(err, len, "unknown setting '%.*s' (lr, weight_decay, momentum, beta1, beta2, eps, batch, epochs)",
                        (int)(eq - p), p);
        for (int k = 0; k < s->n; k++)
            if (s->keys[k].setting == which) return fail(err, len, "%s is given twice", settings[which].name);
        if (s->n == SEARCH_MAX_KEYS) return fail(err, len, "more than %d settings", SEARCH_MAX_KEYS);
        search_key *k = &s->keys[s->n++];
        k->setting = which;
        if (parse_values(eq + 1, &settings[which], k, err, len)) return -1;
        if (!semi) return 0;
        p = semi + 1;
    }
}

int search_space_is_grid(const search_space *s) {
    for (int k = 0; k < s->n; k++)
        if (s->keys[k].dist != SEARCH_LIST) return 0;
    return 1;
}

int64_t search_grid_size(const search_space *s) {
    int64_t n = 1;
    for (int k = 0; k < s->n && n <= SEARCH_MAX_TRIALS; k++) n *= s->keys[k].n;
    return n > SEARCH_MAX_TRIALS ? SEARCH_MAX_TRIALS + 1 : n;
}

void search_grid_trial(const search_space *s, int64_t idx, search_trial *t) {
    *t = (search_trial){{0}}; /* the keys past s->n too: trials compare as whole values */
    for (int k = s->n - 1; k >= 0; k--) {
        t->v[k] = s->keys[k].v[idx % s->keys[k].n];
        idx /= s->keys[k].n;
    }
}

/* splitmix64 of (seed, trial, key): uniform in [0, 1). */
static double draw(uint64_t seed, int64_t trial, int key) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * ((uint64_t)trial * SEARCH_MAX_KEYS + (uint64_t)key + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

void search_random_trial(const search_space *s, uint64_t seed, int64_t idx, search_trial *t) {
    *t = (search_trial){{0}};
    for (int k = 0; k < s->n; k++) {
        const search_key *key = &s->keys[k];
        double u = draw(seed, idx, k), v;
        if (key->dist == SEARCH_LIST) v = key->v[(int)(u * key->n)];
        else if (key->dist == SEARCH_UNIFORM) v = key->v[0] + u * (key->v[1] - key->v[0]);
        else v = exp(log(key->v[0]) + u * (log(key->v[1]) - log(key->v[0])));
        if (settings[key->setting].type != SET_FLOAT) v = floor(v + 0.5); /* within the rounded ends */
        t->v[k] = v;
    }
}

void search_apply(const search_space *s, const search_trial *t, dl_train_config *cfg) {
    for (int k = 0; k < s->n; k++) {
        const setting *st = &settings[s->keys[k].setting];
        char *at = (char *)cfg + st->offset;
        if (st->type == SET_FLOAT) *(float *)at = (float)t->v[k];
        else if (st->type == SET_I64) *(int64_t *)at = (int64_t)t->v[k];
        else *(int *)at = (int)t->v[k];
    }
}

void search_trial_format(const search_space *s, const search_trial *t, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = 0;
    for (int k = 0; k < s->n && used < len; k++)
        used += snprintf(buf + used, len - used, "%s%s=%g", k ? " " : "", settings[s->keys[k].setting].name, t->v[k]);
}
