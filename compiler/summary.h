/* summary.h — `dlnc --summary`: a Keras-style table of a model's layers. */
#ifndef DLNC_SUMMARY_H
#define DLNC_SUMMARY_H
#include <stdio.h>

#include "elab.h"

/* Layers with their output shapes, parameter counts and forward FLOPs per
 * sample, then the totals. Call before the passes change the forward graph. */
void summary_print(FILE *out, const ir_module *m, const elab_summary *s);

#endif
