/* swa_internal.h — stochastic weight averaging (swa.c), for the training driver. */
#ifndef DLNRT_SWA_INTERNAL_H
#define DLNRT_SWA_INTERNAL_H
#include "dlnrt.h"
#include "step_internal.h"

typedef struct dl_swa {
    int start;              /* the first averaged epoch (1-based); 0: no SWA */
    float **avg;            /* by parameter: the average, NULL when not trainable */
    int n;                  /* entries of avg */
} dl_swa;

/* The rate of SWA epoch `epoch` (1-based, >= cfg->swa_start): cfg->swa_lr,
 * reached over cfg->swa_anneal_epochs epochs from lr0 (the schedule's rate at
 * the start of epoch swa_start) as torch.optim.swa_utils.SWALR anneals it when
 * stepped before each SWA epoch. */
float dl_swa_lr(const dl_train_config *cfg, int epoch, double lr0);
int dl_swa_init(dl_swa *s, const dl_train_config *cfg, const dl_model_api *api);
/* After epoch `epoch` (1-based): the average takes the weights in, when epoch >= start. */
void dl_swa_epoch(const dl_swa *s, const dl_model_api *api, void *m, int epoch);
/* The weights := the average; then batch norm's running statistics (the
 * buffers named *running_mean, *running_var) recomputed over one pass of
 * src in training mode as torch's update_bn does: the mean over the batches
 * of each batch's statistics. 0, or -1 with dl_last_error(). */
int dl_swa_finish(const dl_swa *s, const dl_model_api *api, void *m, dl_stepper *st, dl_source *src);
void dl_swa_free(dl_swa *s);
#endif
