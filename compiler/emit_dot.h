/* emit_dot.h — `dlnc --emit=dot`: a model's forward graph for Graphviz. */
#ifndef DLNC_EMIT_DOT_H
#define DLNC_EMIT_DOT_H
#include <stdio.h>

#include "elab.h"

/* One digraph with a cluster per model: a node per layer (each top-level
 * call of the model body, as in --summary: name, block, output shape,
 * parameters), a node per operation written outside any call (`h + x`),
 * the inputs and outputs, and an edge wherever one feeds another. Call
 * before the passes change the forward graphs (the layers' node ranges
 * refer to the graph as elaborated). */
void emit_dot(FILE *out, ir_module *const *mods, const elab_summary *sums, int n_mods, const char *source);

#endif
