/* interp.h — the reference interpreter: evaluates a graph in double precision
 * with the plainest possible loops. It is the oracle for gradient checks
 * (central finite differences need more precision than float) and for testing
 * the emitted C. Not used by generated code. */
#ifndef DLNC_INTERP_H
#define DLNC_INTERP_H
#include <stdint.h>

#include "ir.h"

typedef struct interp_state {
    const ir_graph *g;
    int64_t sym_values[IR_MAX_SYMS];
    double **value;      /* by node id: malloc'ed, row-major; i32 values stored as doubles */
    int n_value;
} interp_state;

/* Evaluate every node. inputs[i] holds graph input i, params[j] module param j
 * (both row-major, numel at the given symbol values). Random sources draw
 * from dl_fill_uniform/dl_fill_normal with `seed` (so they agree with the
 * generated code). Returns 0, or -1 with a message on stderr. */
int interp_run(interp_state *s, const ir_graph *g, const int64_t *sym_values,
               double *const *inputs, double *const *params, uint64_t seed);
/* The value of graph output k (pointer into the state). */
const double *interp_output(const interp_state *s, int k);
int64_t interp_numel(const interp_state *s, const ir_node *n);
void interp_free(interp_state *s);
/* One element of an IR_ELEMWISE op n at operand values a, b, c (unused ones
 * ignored), in double: shared with constant folding. */
double interp_elementwise(const ir_node *n, double a, double b, double c);
/* The data-movement ops (concat, slice, pad, upsample and their adjoints;
 * interp_movement.c): computes node n into y, -1 for any other op. */
int interp_movement(const interp_state *s, const ir_node *n, double *y);
/* The convolution and pooling ops (ops_conv.c; interp_conv.c): computes
 * node n into y, -1 on a bad index or any other op. */
int interp_conv(const interp_state *s, const ir_node *n, double *y);

#endif
