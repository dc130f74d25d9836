/* lookahead_internal.h — Lookahead's slow weights (lookahead.c), for the training driver. */
#ifndef DLNRT_LOOKAHEAD_INTERNAL_H
#define DLNRT_LOOKAHEAD_INTERNAL_H
#include "dlnrt.h"

typedef struct dl_lookahead {
    int k;                  /* inner steps between syncs; 0: no lookahead */
    float alpha;
    float **slow;           /* by parameter: its slow weights, NULL when not trainable (or no lookahead) */
    int n;                  /* entries of slow */
} dl_lookahead;

/* A copy of each trainable parameter of m (NULL entries for the others);
 * NULL and dl_last_error() ("out of memory for <what>") on failure. */
float **dl_trainable_copy(const dl_model_api *api, void *m, const char *what);
void dl_trainable_free(float **c, int n);

/* cfg's lookahead on model m: the slow weights start as m's weights now. 0, or -1 out of memory. */
int dl_lookahead_init(dl_lookahead *la, const dl_train_config *cfg, const dl_model_api *api, void *m);
/* After the run's step `steps` (from 1): every k-th, slow += alpha * (fast - slow), fast = slow. */
void dl_lookahead_step(const dl_lookahead *la, const dl_model_api *api, void *m, int64_t steps);
void dl_lookahead_free(dl_lookahead *la);
#endif
