/* param_groups.h — the train section's per-parameter settings by name prefix:
 * `freeze` (not trained: no gradient, no optimizer state), `lr_scale`
 * (the learning rate times a factor, PyTorch's param groups) and
 * `init_skip` (left out of init_from's load). Resolved by
 * elab (elab_groups.c), read by declare_param and by the emitter's
 * optimizer calls. */
#ifndef DLNC_PARAM_GROUPS_H
#define DLNC_PARAM_GROUPS_H
#include "diag.h"

typedef struct pg_prefix {
    const char *prefix;     /* "conv1." — a parameter whose name starts with it belongs */
    float scale;            /* lr_scale: the factor; freeze: unused */
    src_loc loc;            /* the string in the train section, for errors */
} pg_prefix;

typedef struct pg_groups {
    pg_prefix *freeze;
    int n_freeze;
    pg_prefix *scale;       /* the first listed prefix that matches wins */
    int n_scale;
    pg_prefix *skip;        /* init_skip: not loaded by init_from (a new head) */
    int n_skip;
} pg_groups;

/* The first prefix of list[0..n) that name starts with, or -1. */
int pg_match(const pg_prefix *list, int n, const char *name);
int pg_frozen(const pg_groups *g, const char *name);
/* The factor on the learning rate of parameter `name` (1 when no prefix matches). */
float pg_lr_scale(const pg_groups *g, const char *name);

#endif
