/* train.h — a model's train section, resolved at compile time into the
 * runtime's dl_train_config (so a typo in an optimizer argument is a compile
 * error with a caret, not a run-time surprise). */
#ifndef DLNC_TRAIN_H
#define DLNC_TRAIN_H
#include "dlnrt.h"
#include "diag.h"
#include "param_groups.h"

/* `adversarial = fgsm(...) | pgd(...)`: the attack expanded into the train step's loss (elab_adv.c). */
typedef enum adv_kind { ADV_NONE, ADV_FGSM, ADV_PGD } adv_kind;
typedef struct adv_config {
    adv_kind kind;
    double eps, alpha;      /* the L-inf radius; the size of each step (fgsm: eps) */
    int steps;              /* attack steps (fgsm: 1) */
    int random_start;       /* start from x + U[-eps, eps] */
    double mix;             /* trained loss: (1 - mix) * clean + mix * attacked */
    double lo, hi;          /* the data range every attacked batch is clamped to */
    const char *input;      /* adversarial_input, or NULL: the data's primary field */
    src_loc loc, input_loc;
} adv_config;
typedef struct train_config {
    dl_train_config cfg;  /* strings point into the compiler arena */
    src_loc loc;
    /* A step of a section training several models (elab_steps.c); section NULL otherwise. */
    const char *section;   /* the train section's name */
    const char *step;      /* the model this step updates */
    int repeat;            /* times per batch (>= 1) */
    float clip;            /* > 0: clamp the stepped model's parameters to [-clip, clip] after each step */
    pg_groups groups;      /* freeze and lr_scale (elab_groups.c) */
    adv_config adv;        /* adversarial training, kind ADV_NONE without it */
} train_config;

#endif
