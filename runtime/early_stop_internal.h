/* early_stop_internal.h — early stopping with keep-best (early_stop.c), for
 * the training driver. */
#ifndef DLNRT_EARLY_STOP_INTERNAL_H
#define DLNRT_EARLY_STOP_INTERNAL_H
#include "dlnrt.h"

typedef struct dl_keep_best {
    double best;                          /* the best monitored value so far (NaN before the first epoch) */
    int best_epoch;                       /* its epoch, 1-based; 0 before the first */
    int bad_epochs;                       /* epochs since it improved */
    float *snapshot;                      /* the best epoch's parameters and buffers, all of them in a row */
} dl_keep_best;

void dl_keep_best_init(dl_keep_best *k);
/* After epoch `epoch` (1-based) with the validation loss and accuracy:
 * returns 1 when the monitored one improved (the driver saves this epoch's
 * weights), 0 otherwise. A NaN accuracy never improves. */
int dl_keep_best_update(dl_keep_best *k, const dl_early_stop *es, int epoch, double val_loss, double val_acc);
/* 1 when patience has run out: the run stops here. */
int dl_keep_best_exhausted(const dl_keep_best *k, const dl_early_stop *es);
/* Copies the model's parameters (and buffers) into k's snapshot; puts
 * them back. -1 with an error when out of memory. */
int dl_keep_best_snapshot(dl_keep_best *k, const dl_model_api *api, void *m);
void dl_keep_best_restore(const dl_keep_best *k, const dl_model_api *api, void *m);
void dl_keep_best_free(dl_keep_best *k);
/* "val_loss" or "val_acc" */
const char *dl_monitor_name(dl_monitor m);

#endif
