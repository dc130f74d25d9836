/* resume_internal.h — run checkpoints (resume.c), for the training driver. */
#ifndef DLNRT_RESUME_INTERNAL_H
#define DLNRT_RESUME_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"

/* Where a run stands at an epoch end. */
typedef struct dl_run_position {
    int epochs_done;
    int64_t steps;          /* the run's training steps so far */
    uint64_t seed;          /* the run's seed: a resume must use the same */
    const char *vocab;      /* a text source's vocabulary (dl_vocab_to_meta), saved as metadata; NULL: none */
    float *const *slow;     /* lookahead's slow weights by parameter (NULL entries skipped), "@slow.<name>"; NULL: none */
    float *const *swa;      /* SWA's average by parameter, "@swa.<name>"; NULL: none */
} dl_run_position;

/* The model's parameters, its optimizer slots and step, and `at`, written
 * atomically to path (still an ordinary checkpoint of the model). */
int dl_run_save(const dl_model_api *api, void *m, const char *path, const dl_run_position *at);
/* Restores what dl_run_save wrote into a created model; at->seed must be the
 * run's seed (checked), epochs_done and steps are filled in. */
int dl_run_load(const dl_model_api *api, void *m, const char *path, dl_run_position *at);

/* The same for a several-model section (steps.c): every model's tensors
 * from module `saver` (which holds them all), each step k's optimizer slots
 * as "@<steps[k]>.m1.<name>" and its step count as metadata
 * "dlnc.model_step.<steps[k]>". Loading fills module saver's tensors (the
 * caller shares them) and each module's slots and step count. */
int dl_run_save_steps(const dl_model_api *const *apis, void *const *m, const char *const *steps, int n, int saver,
                      const char *path, const dl_run_position *at);
int dl_run_load_steps(const dl_model_api *const *apis, void *const *m, const char *const *steps, int n, int saver,
                      const char *path, dl_run_position *at);

#endif
