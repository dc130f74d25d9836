/* step_internal.h — how the training driver calls a model's steps on
 * named-field batches (step.c). */
#ifndef DLNRT_STEP_INTERNAL_H
#define DLNRT_STEP_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"

#define DL_STEP_MAX_ARGS 16 /* model inputs + data fields */
#define DL_STEP_MAX_SYMS 8

/* A model's step arguments bound to batch fields by name. An api with the
 * io entry points (ABI 4) reads each input's `field` and each step field's
 * name; a hand-written api without them takes the batch's first field as x
 * and "label" as y, as drivers always did. */
typedef struct dl_stepper {
    const dl_model_api *api;
    int io;                                   /* 1: create_io / train_io / eval_io */
    int n_args;                               /* inputs then fields */
    const char *field[DL_STEP_MAX_ARGS];      /* the batch field each argument reads (NULL: the first) */
    const dl_io_info *info[DL_STEP_MAX_ARGS]; /* its declared type (io only) */
    const void *arg[DL_STEP_MAX_ARGS];        /* bound by dl_stepper_bind */
    int n_syms;
    int64_t sym[DL_STEP_MAX_SYMS];            /* symbol values of the bound batch (sym[0] = n) */
    int64_t sym_max[DL_STEP_MAX_SYMS];        /* their bounds: from the bounds batch given to init */
    int n_out;
    void *out[8];                             /* eval outputs, each at the bounds */
    int64_t out_numel[8];                     /* per sample, at the bound batch's symbol values */
} dl_stepper;

/* Binds the api to the fields of `bounds` (a batch of the source's largest
 * shapes; data may be NULL), which fixes every symbol's bound, sym_max[0] =
 * max_batch, and allocates the eval outputs. -1 with an error naming the
 * field that is missing or does not fit. */
int dl_stepper_init(dl_stepper *s, const dl_model_api *api, const dl_batch *bounds, int64_t max_batch);
void dl_stepper_free(dl_stepper *s);
/* The model, created at the stepper's bounds. */
void *dl_stepper_create(const dl_stepper *s);
/* Points the arguments at b's fields and takes the symbol values from their
 * shapes; -1 with an error when a field is missing, of another dtype or
 * shape, or a symbol exceeds its bound. */
int dl_stepper_bind(dl_stepper *s, const dl_batch *b);
float dl_stepper_train(dl_stepper *s, void *m);
/* The loss; the outputs into s->out. */
float dl_stepper_eval(dl_stepper *s, void *m);

#endif
