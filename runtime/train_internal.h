/* train_internal.h — what the one-model driver (train.c) shares with the
 * several-step one (steps.c). */
#ifndef DLNRT_TRAIN_INTERNAL_H
#define DLNRT_TRAIN_INTERNAL_H
#include "dlnrt.h"

/* The train section's dataset and its test set or validation split. */
int dl_load_data(const dl_data_config *dc, uint64_t seed, dl_dataset *train, dl_dataset *eval, int *have_eval);
const char *dl_first_field(const dl_data_config *dc);   /* "image" or "features" */

/* The train section's init_from (and init_prefix, init_skip), printing what was loaded. */
int dl_init_from(const dl_model_api *api, void *m, const dl_train_config *cfg);

double dl_now(void);   /* seconds on the monotonic clock */

/* A result before anything ran: no epochs, every figure NaN. */
dl_run_result dl_run_result_none(void);

#endif
