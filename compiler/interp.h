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
    double *const *inputs, *const *params; /* as given to interp_run */
    uint64_t seed;
    double **extra;      /* by node id: a scan's parts, one after another (interp_scan.c), or NULL */
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
/* The reference kernel of each op family (op_families.def): computes node n
 * into y (numel at s's symbol values); 0, or -1 with a message (a label out
 * of range, missing input data). interp_movement is in interp_movement.c,
 * interp_conv in interp_conv.c, the others in interp.c. */
#define FAMILY(name, files) int interp_##name(const interp_state *s, const ir_node *n, double *y);
#include "op_families.def"
#undef FAMILY

#endif
