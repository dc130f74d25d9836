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

/* The run's thread team (team.c): its limit and pin from --threads or
 * OMP_NUM_THREADS, and the DLNC_THREADS_CYCLE test hook. */
void dl_team_start(dl_team *t, const dl_run_options *opt);
/* dl_team_end, and with -v (on rank 0) a line when the chosen count changes. */
void dl_team_report(dl_team *t, double seconds, int64_t samples, const dl_run_options *opt, int lead);

/* A result before anything ran: no epochs, every figure NaN. */
dl_run_result dl_run_result_none(void);

#endif
