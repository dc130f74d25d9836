/* train.h — a model's train section, resolved at compile time into the
 * runtime's dl_train_config (so a typo in an optimizer argument is a compile
 * error with a caret, not a run-time surprise). */
#ifndef DLNC_TRAIN_H
#define DLNC_TRAIN_H
#include "dlnrt.h"
#include "diag.h"
#include "param_groups.h"

typedef struct train_config {
    dl_train_config cfg;  /* strings point into the compiler arena */
    src_loc loc;
    /* A step of a section training several models (elab_steps.c); section NULL otherwise. */
    const char *section;   /* the train section's name */
    const char *step;      /* the model this step updates */
    int repeat;            /* times per batch (>= 1) */
    float clip;            /* > 0: clamp the stepped model's parameters to [-clip, clip] after each step */
    pg_groups groups;      /* freeze and lr_scale (elab_groups.c) */
} train_config;

#endif
