/* autodiff.h — reverse-mode differentiation on the IR, at compile time.
 *
 * The backward graph is appended to the same ir_graph as ordinary nodes, so
 * every later pass (DCE, CSE, fusion, memory planning) treats forward and
 * backward alike. Each op's vector-Jacobian product is a formula over
 * primitive ops (ir_op_info.vjp); broadcasting is undone in exactly one place,
 * ad_accum(), which sums a contribution down to the shape of its target. */
#ifndef DLNC_AUTODIFF_H
#define DLNC_AUTODIFF_H
#include "ir.h"

struct ad_ctx {
    ir_graph *g;
    ir_node **grad;      /* indexed by node id: accumulated gradient, NULL = zero */
    int n_grad;
    unsigned char *wanted; /* by node id: lies between a target and the output (else no gradient) */
    const char *fail;    /* set by a VJP that cannot build its formula for this use (ad_fail): reported at the op */
};

/* For a VJP that cannot differentiate this use of its op (a second derivative
 * it has no formula for, a gradient whose shape the IR cannot hold): the
 * message, with an optional "\nhint: ...", is reported at the op's line and
 * differentiation fails. */
void ad_fail(ad_ctx *c, const char *message);

/* Whether x needs a gradient (lies between a target and the output): VJPs
 * may skip building contributions nobody wants (ad_accum drops them anyway). */
int ad_wants(const ad_ctx *c, const ir_node *x);

/* Add `contrib` to the gradient of x, reducing broadcast dimensions first. */
void ad_accum(ad_ctx *c, ir_node *x, ir_node *contrib);

/* Differentiate the scalar `loss` w.r.t. every node it depends on. For each
 * trainable module parameter reachable from loss, adds an IR_OUT_GRAD output
 * (parameters the loss does not reach get a zero gradient output so the
 * optimizer sees every parameter). For each graph input listed in
 * wrt_inputs (may be NULL/0), adds an IR_OUT_INPUT_GRAD output.
 * Returns 0, or -1 after reporting through d (e.g. a non-differentiable op on
 * the path, at that node's location). */
int ad_differentiate(ir_graph *g, ir_node *loss, const int *wrt_inputs, int n_wrt, diag_ctx *d);

/* The gradient of `y` (scalar) with respect to `x` as a value in the same graph:
 * the building block of `grad(loss, x)` expressions. NULL + diagnostic on failure. */
ir_node *ad_grad_value(ir_graph *g, ir_node *y, ir_node *x, diag_ctx *d, src_loc loc);

/* Reverse mode from several values at once (a loop body's outputs): seeds[k]
 * is the gradient arriving at ys[k]. Sets grads[j] to the gradient of
 * wrt[j], NULL where it does not depend on them (or is an integer). Returns
 * 0, or -1 after reporting through d. */
int ad_vjp(ir_graph *g, ir_node *const *ys, ir_node *const *seeds, int n_ys, ir_node *const *wrt, int n_wrt,
           ir_node **grads, diag_ctx *d);

#endif
