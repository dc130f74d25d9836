/* run_record_internal.h — what a training run leaves besides its history
 * CSV (runtime only; used by train.c): the loss of every step, the last
 * evaluation's confusion matrix, and the pictures drawn from them. */
#ifndef DLNRT_RUN_RECORD_INTERNAL_H
#define DLNRT_RUN_RECORD_INTERNAL_H
#include <stdint.h>
#include <stdio.h>

typedef struct dl_run_record {
    const char *history;                  /* the history CSV; NULL: no files, only the printed table */
    char *steps_path;                     /* <stem>.steps.csv */
    FILE *steps;
    int classes;                          /* confusion matrix size; 0 when not a classifier */
    int64_t *confusion;                   /* classes x classes, filled by each evaluation */
    double last_drawn;                    /* when the curves were last redrawn (monotonic seconds) */
    int undrawn;                          /* epochs recorded since */
} dl_run_record;

/* A classifier with more classes has no confusion matrix. */
enum { DL_CONFUSION_MAX_CLASSES = 1000 };

/* classes: the model's outputs when its evaluation counts accuracy, else 0.
 * history NULL records nothing to disk. */
int dl_record_open(dl_run_record *r, const char *history, int classes);
void dl_record_step(dl_run_record *r, int64_t step, double epoch, float loss);
/* After the epoch's history row: flushes, and redraws the curves unless they
 * were drawn less than two seconds ago (a run of many short epochs). */
int dl_record_epoch(dl_run_record *r);
/* At the end of a run: the curves, and the confusion matrix (printed unless
 * quiet, and with a history its CSV and heat map). */
int dl_record_finish(dl_run_record *r, const char *eval_name, int quiet);
/* Closes the files; a run that stopped early gets its curves drawn as far
 * as it went (best effort: the run is already reporting its own error). */
void dl_record_close(dl_run_record *r);

#endif
