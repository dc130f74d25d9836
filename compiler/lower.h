/* lower.h — the lowering contract: what the passes may ask of the C emitter.
 *
 * Fusion and planning decide which values become one loop and which get
 * storage; only the emitter knows what it can generate. These questions are
 * its public answers, so pass_fuse, pass_epilogue and pass_plan plan only
 * what the emitter will emit, without seeing its private parts
 * (emit_internal.h). The emitter implements them (emit_kernels.c). */
#ifndef DLNC_LOWER_H
#define DLNC_LOWER_H
#include "ir.h"

/* 1 if node n is computed inside an elementwise loop rather than by a kernel
 * of its own: elementwise ops (their c_expr) and broadcast_to (elementwise
 * with a broadcasting input). */
int lower_fusable(const ir_node *n);

/* Sibling reductions (pass_fuse rule 7): at most this many share a kernel,
 * which writes y (the first's output), y1, y2, ... */
enum { LOWER_MAX_SIBLINGS = 4 };

/* 1 if reductions a and b can be computed in one loop nest with each output
 * summed in the order its own kernel would use: same op, input shape, axes,
 * and the same collapsed loops for the operands of each. */
int lower_siblings_ok(const ir_node *a, const ir_node *b);

#endif
