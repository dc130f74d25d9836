/* search_spec.h — the search space of `dlnc search`: which train settings a
 * trial overrides and with which values. A spec is
 *
 *   SETTING=VALUES[;SETTING=VALUES]...   VALUES: v1,v2,...  |  log(lo,hi)  |  uniform(lo,hi)
 *
 * A grid takes every combination of the lists (the first setting varies
 * slowest); a random search draws each setting of each trial on its own,
 * uniformly from a list, uniformly or log-uniformly from a range. Pure
 * functions: search_cmd.c runs the trials. */
#ifndef DLNC_SEARCH_SPEC_H
#define DLNC_SEARCH_SPEC_H
#include <stddef.h>
#include <stdint.h>

#include "dlnrt.h"

#define SEARCH_MAX_KEYS 8
#define SEARCH_MAX_VALUES 32
#define SEARCH_MAX_TRIALS 1000

typedef enum search_dist { SEARCH_LIST, SEARCH_UNIFORM, SEARCH_LOG } search_dist;

typedef struct search_key {
    int setting;                       /* index into the settings table (search_setting_name) */
    search_dist dist;
    int n;                             /* values in a list; 2 for a range (v[0] = lo, v[1] = hi) */
    double v[SEARCH_MAX_VALUES];
} search_key;

typedef struct search_space {
    int n;
    search_key keys[SEARCH_MAX_KEYS];
} search_space;

/* One trial: the value of each key of the space, in the space's order. */
typedef struct search_trial {
    double v[SEARCH_MAX_KEYS];
} search_trial;

/* Parses spec; on an error returns -1 with a message (no "error:" prefix) in err. */
int search_space_parse(const char *spec, search_space *s, char *err, size_t errlen);
/* Whether every key is a list (a grid needs that). */
int search_space_is_grid(const search_space *s);
/* The number of combinations of a grid (capped at SEARCH_MAX_TRIALS + 1). */
int64_t search_grid_size(const search_space *s);
/* The k-th combination of a grid, k in [0, search_grid_size). */
void search_grid_trial(const search_space *s, int64_t k, search_trial *t);
/* The k-th random trial: a function of (seed, k) only. Integer settings are rounded. */
void search_random_trial(const search_space *s, uint64_t seed, int64_t k, search_trial *t);
/* Writes the trial's values into cfg. */
void search_apply(const search_space *s, const search_trial *t, dl_train_config *cfg);
/* Whether the setting means something to this optimizer; NULL if it does,
 * else the optimizers it is for. */
const char *search_setting_unused(int setting, dl_optim_kind kind);
const char *search_setting_name(int setting);
/* "lr=0.001 batch=64" into buf. */
void search_trial_format(const search_space *s, const search_trial *t, char *buf, size_t len);

#endif
