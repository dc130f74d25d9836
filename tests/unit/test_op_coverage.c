/* test_op_coverage.c — the per-op audit, one row per op of ops.def.
 *
 * The project's checklist for an op is: shape rule, forward, backward, a
 * gradient check, a PyTorch parity case, a bad-input case with a clear
 * diagnostic. Part of it is enforced where it is cheapest:
 *   - shape rule, VJP and FLOP count: ops_impl.h declares op_shape_<name>,
 *     op_vjp_<name> and op_flops_<name> for every row of ops.def, so a
 *     missing one is a link error;
 *   - gradient check: test_gradcheck.c fails when an op has no row there;
 *   - PyTorch parity: tests/parity/cases.py, per builtin and stdlib block
 *     (the user-visible names; several IR ops are only reached through them).
 * This file checks the rest, and fails when an op of ops.def has no row:
 *   1. a valid use is accepted by the shape rule and evaluated to finite
 *      values by the reference interpreter, forward and backward;
 *   2. the emitter can generate it (a c_expr for elementwise ops, an emit
 *      function otherwise; emit_check_table);
 *   3. the VJP matches the row's declaration: a differentiable op sends a
 *      non-zero gradient to one of its float operands; a non-differentiable
 *      one (piecewise constant, or an integer result) sends none, which the
 *      row states explicitly so that "zero gradient" is a decision, not an
 *      accident;
 *   4. a bad use is rejected by the shape rule with a message containing the
 *      expected words (the exact texts are pinned in test_shape.c and the
 *      golden files), or the row says why no operand can be wrong.
 *
 * Operand specs: "f:N,4" float in [-2, 2], "p:N,4" float in [0.5, 2]
 * (log, sqrt, pow bases), "i5:N" int32 in [0, 5) (labels, pool indices);
 * N is the batch symbol (3 when evaluated), "" after the colon a scalar. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>

#include "autodiff.h"
#include "elab_internal.h"
#include "emit_internal.h"
#include "interp.h"
#include "ir.h"
#include "ir_attrs.h"
#include "ops_conv.h"
#include "stdlib_embed.h"
#include "files.h"

typedef enum cov_grad {
    G_DIFF,   /* differentiable: a gradient reaches some float operand */
    G_ZERO,   /* declared non-differentiable: its VJP contributes nothing */
    G_SOURCE, /* no operands */
    G_NONE,   /* no VJP: differentiating through it fails with a message (attention_grad: no second derivative) */
    G_LOOP,   /* a scan and its parts: a valid use needs a body graph, so uses 1 and 3
                 are test_scan.c's (gradients at several lengths, emitted C vs reference) */
} cov_grad;

typedef struct cov_use {
    const char *in[6]; /* operand specs (see above) */
    ir_attrs a;
    const char *target; /* constant, reshape, broadcast_to, rand_*, iota: the packed shape */
} cov_use;

typedef struct cov_row {
    ir_opcode op;
    cov_grad grad;
    cov_use ok;
    cov_use bad;
    const char *bad_msg; /* words the rejection must contain */
    const char *total;   /* instead of bad: why every operand is acceptable */
} cov_row;

#define IN(...) .in = {__VA_ARGS__}
#define AT(...) .a = {__VA_ARGS__}
#define F0(v) AT(.f = {v}, .nf = 1)
/* The conv family's geometry (ir_attrs.conv): stride, padding, dilation, groups, kernel, size, flag. */
#define GEOM(sh, sw, pt, pb, pl, pr, dh, dw, grp, kh, kw, zh, zw, flag) \
    AT(.conv = {sh, sw, pt, pb, pl, pr, dh, dw, grp, kh, kw, zh, zw, flag})
#define UNARY(name, g, dom) \
    {OP_##name, g, .ok = {IN(dom ":N,4")}, .bad = {IN("i3:N,4")}, .bad_msg = "expected a float tensor"}
#define BINARY(name, g, dom) \
    {OP_##name, g, .ok = {IN(dom ":N,4", "f:4")}, .bad = {IN("f:N,4", "f:3")}, .bad_msg = "broadcast"}

static const cov_row rows[] = {
    /* sources: built by the compiler; a malformed node is an internal error with a message */
    {OP_input, G_SOURCE, .ok = {IN("f:N,4")}, .bad_msg = "missing input index"},
    {OP_param, G_SOURCE, .ok = {IN("f:3,4")}, .bad_msg = "missing parameter index"},
    {OP_constant, G_SOURCE, .ok = {F0(0.5), .target = "N,4"}, .bad_msg = "needs its value and a shape"},
    {OP_rand_uniform, G_SOURCE, .ok = {AT(.i = {7}), .target = "N,4"}, .bad_msg = "needs a stream id"},
    {OP_rand_normal, G_SOURCE, .ok = {AT(.i = {7}), .target = "N,4"}, .bad_msg = "needs a stream id"},
    {OP_rand_int, G_SOURCE, .ok = {AT(.i = {7}, .f = {-2, 5}, .nf = 2), .target = "N,4"}, .bad_msg = "needs a stream id"},
    {OP_iota, G_SOURCE, .ok = {AT(.i = {1, 0}, .f = {0.5, 2}, .nf = 2), .target = "N,4"}, .bad_msg = "needs axis, i32, start, step"},
    /* elementwise unary */
    UNARY(neg, G_DIFF, "f"),
    UNARY(exp, G_DIFF, "f"),
    UNARY(log, G_DIFF, "p"),
    UNARY(log1p, G_DIFF, "p"),
    UNARY(sqrt, G_DIFF, "p"),
    UNARY(abs, G_DIFF, "f"),
    UNARY(sign, G_ZERO, "f"),
    UNARY(step, G_ZERO, "f"),
    UNARY(floor, G_ZERO, "f"),
    UNARY(round, G_ZERO, "f"),
    UNARY(ceil, G_ZERO, "f"),
    UNARY(relu, G_DIFF, "f"),
    UNARY(relu6, G_DIFF, "f"),
    {OP_leaky_relu, G_DIFF, .ok = {IN("f:N,4"), F0(0.01)}, .bad = {IN("f:N,4")}, .bad_msg = "needs its parameter"},
    {OP_elu, G_DIFF, .ok = {IN("f:N,4"), F0(1.0)}, .bad = {IN("i3:N,4"), F0(1.0)}, .bad_msg = "expected a float tensor"},
    UNARY(sigmoid, G_DIFF, "f"),
    UNARY(tanh, G_DIFF, "f"),
    UNARY(sin, G_DIFF, "f"),
    UNARY(cos, G_DIFF, "f"),
    UNARY(gelu, G_DIFF, "f"),
    UNARY(gelu_grad, G_DIFF, "f"),
    {OP_cast_f32, G_ZERO, .ok = {IN("i5:N,4")}, .total = "any tensor converts to f32 (labels are its use)"},
    /* elementwise binary / ternary */
    BINARY(add, G_DIFF, "f"),
    BINARY(sub, G_DIFF, "f"),
    BINARY(mul, G_DIFF, "f"),
    BINARY(div, G_DIFF, "p"),
    BINARY(pow, G_DIFF, "p"),
    BINARY(maximum, G_DIFF, "f"),
    BINARY(minimum, G_DIFF, "f"),
    BINARY(gt, G_ZERO, "f"),
    BINARY(ge, G_ZERO, "f"),
    BINARY(lt, G_ZERO, "f"),
    BINARY(le, G_ZERO, "f"),
    BINARY(eq, G_ZERO, "f"),
    {OP_where, G_DIFF, .ok = {IN("f:N,4", "f:4", "f:")}, .bad = {IN("f:N,4", "f:N,4", "f:5")}, .bad_msg = "broadcast"},
    /* custom gradients: with_grad's gradient reaches the surrogate (a's is zero); clamp_grad {min, max} */
    {OP_with_grad, G_DIFF, .ok = {IN("f:N,4", "f:4")}, .bad = {IN("f:4", "f:N,4")}, .bad_msg = "must broadcast to the value's shape"},
    {OP_clamp_grad, G_DIFF, .ok = {IN("f:N,4"), AT(.f = {-1, 1}, .nf = 2)}, .bad = {IN("f:N,4"), AT(.f = {1, -1}, .nf = 2)},
     .bad_msg = "min <= max"},
    /* reductions: i = {axis bitmask, keepdims} */
    {OP_reduce_sum, G_DIFF, .ok = {IN("f:N,4"), AT(.i = {2, 0}, .ni = 2)}, .bad = {IN("f:N,4"), AT(.i = {4, 0}, .ni = 2)},
     .bad_msg = "out of range"},
    {OP_reduce_max, G_DIFF, .ok = {IN("f:N,4"), AT(.i = {3, 1}, .ni = 2)}, .bad = {IN("f:N,4"), AT(.i = {8, 0}, .ni = 2)},
     .bad_msg = "out of range"},
    /* shape */
    {OP_reshape, G_DIFF, .ok = {IN("f:N,2,3"), .target = "N,6"}, .bad = {IN("f:N,2,3"), .target = "N,5"},
     .bad_msg = "cannot reshape"},
    {OP_broadcast_to, G_DIFF, .ok = {IN("f:N,1"), .target = "N,4"}, .bad = {IN("f:N,3"), .target = "N,4"},
     .bad_msg = "cannot broadcast"},
    {OP_transpose, G_DIFF, .ok = {IN("f:N,4"), AT(.i = {1, 0}, .ni = 2)}, .bad = {IN("f:N,4"), AT(.i = {0, 0}, .ni = 2)},
     .bad_msg = "permutation"},
    {OP_stop_grad, G_ZERO, .ok = {IN("f:N,4")}, .total = "the identity on any tensor"},
    /* contraction: i = {transpose a, transpose b} */
    {OP_matmul, G_DIFF, .ok = {IN("f:N,4", "f:5,4"), AT(.i = {0, 1}, .ni = 2)},
     .bad = {IN("f:N,4", "f:5,4"), AT(.i = {0, 0}, .ni = 2)}, .bad_msg = "inner dimensions differ"},
    /* normalizing activations, labels */
    {OP_softmax, G_DIFF, .ok = {IN("f:N,5"), AT(.i = {1}, .ni = 1)}, .bad = {IN("f:N,5"), AT(.i = {2}, .ni = 1)},
     .bad_msg = "out of range"},
    {OP_log_softmax, G_DIFF, .ok = {IN("f:N,5"), AT(.i = {1}, .ni = 1)}, .bad = {IN("f:N,5"), AT(.i = {2}, .ni = 1)},
     .bad_msg = "out of range"},
    {OP_pick, G_DIFF, .ok = {IN("f:N,5", "i5:N")}, .bad = {IN("f:N,5", "f:N")}, .bad_msg = "labels must be"},
    {OP_unpick, G_DIFF, .ok = {IN("f:N", "i4:N"), AT(.i = {4}, .ni = 1)}, .bad = {IN("f:N", "i4:N")},
     .bad_msg = "class count"},
    {OP_take, G_DIFF, .ok = {IN("f:5,3", "i5:N,2")}, .bad = {IN("f:5,3", "f:N,2")}, .bad_msg = "must be an integer tensor"},
    {OP_scatter_add, G_DIFF, .ok = {IN("f:N,2,3", "i4:N,2"), AT(.i = {4}, .ni = 1)},
     .bad = {IN("f:N,2,3", "i4:N,3"), AT(.i = {4}, .ni = 1)}, .bad_msg = "leading dimensions"},
    {OP_gather, G_DIFF, .ok = {IN("f:N,5,2", "i5:N,3,2"), AT(.i = {1}, .ni = 1)},
     .bad = {IN("f:N,5,2", "i5:N,3,3"), AT(.i = {1}, .ni = 1)}, .bad_msg = "except along axis 1"},
    {OP_gather_grad, G_DIFF, .ok = {IN("f:N,3,2", "i5:N,3,2"), AT(.i = {1, 5}, .ni = 2)},
     .bad = {IN("f:N,3,2", "i5:N,3,2"), AT(.i = {1}, .ni = 1)}, .bad_msg = "its length L"},
    {OP_scatter_max, G_DIFF, .ok = {IN("f:N,3,2", "i5:N,3,2"), AT(.i = {1, 5}, .ni = 2)},
     .bad = {IN("f:N,3,2", "i5:N,2,2"), AT(.i = {1, 5}, .ni = 2)}, .bad_msg = "must have the shape of the index"},
    {OP_argmax, G_ZERO, .ok = {IN("f:N,5,2"), AT(.i = {1, 1}, .ni = 2)}, .bad = {IN("f:N,5"), AT(.i = {2, 0}, .ni = 2)},
     .bad_msg = "out of range"},
    /* argsort {axis, descending, k}; cumsum {axis, reverse} */
    {OP_argsort, G_ZERO, .ok = {IN("f:N,5,2"), AT(.i = {1, 1, 3}, .ni = 3)}, .bad = {IN("f:N,5"), AT(.i = {1, 0, 6}, .ni = 3)},
     .bad_msg = "is not in [1, 5]"},
    {OP_cumsum, G_DIFF, .ok = {IN("f:N,5,2"), AT(.i = {1, 1}, .ni = 2)}, .bad = {IN("f:N,5"), AT(.i = {2, 0}, .ni = 2)},
     .bad_msg = "out of range"},
    /* cumprod, cumprod_grad (x, gy) {axis, reverse}; flip {axes bitmask}, f32 or i32 */
    {OP_cumprod, G_DIFF, .ok = {IN("f:N,5,2"), AT(.i = {1, 1}, .ni = 2)}, .bad = {IN("f:N,5"), AT(.i = {2, 0}, .ni = 2)},
     .bad_msg = "out of range"},
    {OP_cumprod_grad, G_NONE, .ok = {IN("f:N,5,2", "f:N,5,2"), AT(.i = {1, 0}, .ni = 2)},
     .bad = {IN("f:N,5", "f:N,4"), AT(.i = {1, 0}, .ni = 2)}, .bad_msg = "does not have the shape of x"},
    {OP_flip, G_DIFF, .ok = {IN("f:N,5,2"), AT(.i = {6}, .ni = 1)}, .bad = {IN("i5:N,5"), AT(.i = {4}, .ni = 1)},
     .bad_msg = "are not axes of"},
    {OP_cast_i32, G_ZERO, .ok = {IN("f:N,5")}, .bad = {IN("i5:N,5")}, .bad_msg = "expected a float tensor"},
    /* inverse, logabsdet: square matrices of a compile-time size */
    {OP_inverse, G_DIFF, .ok = {IN("f:N,3,3")}, .bad = {IN("f:N,3,4")}, .bad_msg = "square matrices"},
    {OP_logabsdet, G_DIFF, .ok = {IN("f:N,3,3")}, .bad = {IN("f:N,3")}, .bad_msg = "known at compile time"},
    /* data movement: concat {axis}; slice {axis, start, step, count}; slice_grad {axis, start, step, length};
     * pad/pad_grad {mode, k, (left, right) last dim first}; upsample/_grad {mode, scale_h, scale_w, align} */
    {OP_concat, G_DIFF, .ok = {IN("f:N,2,3", "f:N,4,3"), AT(.i = {1}, .ni = 1)},
     .bad = {IN("f:N,2,3", "f:N,4,4"), AT(.i = {1}, .ni = 1)}, .bad_msg = "cannot join"},
    {OP_slice, G_DIFF, .ok = {IN("f:N,7"), AT(.i = {1, 1, 2, 3}, .ni = 4)},
     .bad = {IN("f:N,7"), AT(.i = {1, 5, 2, 3}, .ni = 4)}, .bad_msg = "do not fit"},
    {OP_slice_grad, G_DIFF, .ok = {IN("f:N,3"), AT(.i = {1, 1, 2, 7}, .ni = 4)},
     .bad = {IN("f:N,3"), AT(.i = {1, 1, 2, 4}, .ni = 4)}, .bad_msg = "do not fit"},
    {OP_pad, G_DIFF, .ok = {IN("f:N,5"), AT(.i = {1, 1, 2, 1}, .ni = 4)},
     .bad = {IN("f:N,5"), AT(.i = {1, 1, 5, 0}, .ni = 4)}, .bad_msg = "reflect"},
    {OP_pad_grad, G_DIFF, .ok = {IN("f:N,8"), AT(.i = {0, 1, 2, 1}, .ni = 4)},
     .bad = {IN("f:N,2"), AT(.i = {0, 1, 2, 1}, .ni = 4)}, .bad_msg = "leave nothing"},
    {OP_roi_align, G_DIFF, .ok = {IN("f:N,2,5,6", "p:N,3,4"), AT(.i = {2, 2, 2, 0, 5, 6}, .ni = 6, .f = {1.0}, .nf = 1)},
     .bad = {IN("f:N,2,5,6", "p:N,3,5"), AT(.i = {2, 2, 2, 0, 5, 6}, .ni = 6, .f = {1.0}, .nf = 1)}, .bad_msg = "f32[N, R, 4]"},
    {OP_nms, G_ZERO, .ok = {IN("f:N,5,4", "f:N,5", "i3:N,5"), AT(.i = {2, 1}, .ni = 2, .f = {0.5, 0.0}, .nf = 2)},
     .bad = {IN("f:N,5,4", "f:N,4"), AT(.i = {0, 0}, .ni = 2, .f = {0.5, 0.0}, .nf = 2)}, .bad_msg = "the scores must be"},
    {OP_roi_align_grad, G_DIFF, .ok = {IN("f:N,3,2,2,2", "p:N,3,4"), AT(.i = {2, 2, 2, 0, 5, 6}, .ni = 6, .f = {1.0}, .nf = 1)},
     .bad = {IN("f:N,3,2,3,2", "p:N,3,4"), AT(.i = {2, 2, 2, 0, 5, 6}, .ni = 6, .f = {1.0}, .nf = 1)}, .bad_msg = "does not match"},
    {OP_grid_sample, G_DIFF, .ok = {IN("f:N,2,5,6", "f:N,3,4,2"), AT(.i = {0, 0, 0, 5, 6}, .ni = 5)},
     .bad = {IN("f:N,2,5,6", "f:N,3,4,3"), AT(.i = {0, 0, 0, 5, 6}, .ni = 5)}, .bad_msg = "the grid must be"},
    {OP_grid_sample_grad, G_NONE, .ok = {IN("f:N,2,3,4", "f:N,3,4,2"), AT(.i = {0, 1, 0, 5, 6}, .ni = 5)},
     .bad = {IN("f:N,2,3,3", "f:N,3,4,2"), AT(.i = {0, 1, 0, 5, 6}, .ni = 5)}, .bad_msg = "does not match"},
    {OP_grid_sample_grad_grid, G_NONE, .ok = {IN("f:N,2,3,4", "f:N,2,5,6", "f:N,3,4,2"), AT(.i = {0, 0, 1, 5, 6}, .ni = 5)},
     .bad = {IN("f:N,2,3,4", "f:N,2,5,6", "f:N,3,4,2"), AT(.i = {0, 0, 1, 5, 5}, .ni = 5)}, .bad_msg = "in_h, in_w"},
    {OP_roi_pool, G_DIFF, .ok = {IN("f:N,2,5,6", "p:N,3,4"), AT(.i = {2, 2, 5, 6}, .ni = 4, .f = {1.0}, .nf = 1)},
     .bad = {IN("f:N,2,5,6", "p:N,3,4"), AT(.i = {2, 2, 5, 5}, .ni = 4, .f = {1.0}, .nf = 1)}, .bad_msg = "in_h, in_w"},
    {OP_roi_pool_grad, G_NONE,
     .ok = {IN("f:N,3,2,2,2", "f:N,2,5,6", "p:N,3,4"), AT(.i = {2, 2, 5, 6}, .ni = 4, .f = {1.0}, .nf = 1)},
     .bad = {IN("f:N,3,2,3,2", "f:N,2,5,6", "p:N,3,4"), AT(.i = {2, 2, 5, 6}, .ni = 4, .f = {1.0}, .nf = 1)},
     .bad_msg = "does not match"},
    {OP_upsample, G_DIFF, .ok = {IN("f:N,2,3,4"), AT(.i = {1, 2, 2, 0}, .ni = 4)},
     .bad = {IN("f:N,12"), AT(.i = {0, 2, 2, 0}, .ni = 4)}, .bad_msg = "expected f32[N, C, H, W]"},
    {OP_upsample_grad, G_DIFF, .ok = {IN("f:N,2,6,8"), AT(.i = {0, 2, 2, 0}, .ni = 4)},
     .bad = {IN("f:N,2,5,8"), AT(.i = {0, 2, 2, 0}, .ni = 4)}, .bad_msg = "not a multiple of the scale"},
    /* convolution and pooling */
    {OP_conv2d, G_DIFF, .ok = {IN("f:N,2,5,5", "f:3,2,3,3"), GEOM(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0)},
     .bad = {IN("f:N,2,5,5", "f:3,4,3,3"), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0)}, .bad_msg = "input channels per group"},
    {OP_conv_transpose2d, G_DIFF, .ok = {IN("f:N,3,3,3", "f:3,2,3,3"), GEOM(2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0)},
     .bad = {IN("f:N,3,3,3", "f:3,2,3,3"), GEOM(2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0, 2, 2, 0)}, .bad_msg = "output padding"},
    {OP_conv2d_bwd_weight, G_DIFF, .ok = {IN("f:N,2,5,5", "f:N,3,3,3"), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 3, 3, 0, 0, 0)},
     .bad = {IN("f:N,2,5,5", "f:N,3,4,4"), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 3, 3, 0, 0, 0)}, .bad_msg = "does not match"},
    {OP_max_pool2d, G_DIFF, .ok = {IN("f:N,2,5,5"), GEOM(2, 2, 1, 1, 1, 1, 1, 1, 1, 3, 3, 0, 0, 0)},
     .bad = {IN("f:N,2,5,5"), GEOM(2, 2, 2, 2, 2, 2, 1, 1, 1, 3, 3, 0, 0, 0)}, .bad_msg = "at most half the kernel"},
    {OP_max_pool2d_indices, G_ZERO, .ok = {IN("f:N,2,4,4"), GEOM(2, 2, 0, 0, 0, 0, 1, 1, 1, 2, 2, 0, 0, 0)},
     .bad = {IN("f:N,4,4"), GEOM(2, 2, 0, 0, 0, 0, 1, 1, 1, 2, 2, 0, 0, 0)}, .bad_msg = "f32[N, C, H, W]"},
    {OP_max_pool2d_bwd, G_DIFF, .ok = {IN("f:N,2,2,2", "i16:N,2,2,2"), GEOM(2, 2, 0, 0, 0, 0, 1, 1, 1, 2, 2, 4, 4, 0)},
     .bad = {IN("f:N,2,2,2", "f:N,2,2,2"), GEOM(2, 2, 0, 0, 0, 0, 1, 1, 1, 2, 2, 4, 4, 0)}, .bad_msg = "the indices"},
    {OP_max_unpool2d, G_DIFF, .ok = {IN("f:N,2,1,1", "i6:N,2,1,1"), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 2, 3, 0)},
     .bad = {IN("f:N,2,1,1", "i6:N,2,2,1"), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 2, 3, 0)}, .bad_msg = "the indices"},
    {OP_max_unpool2d_bwd, G_DIFF, .ok = {IN("f:N,2,3,3", "i9:N,2,2,2"), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0)},
     .bad = {IN("f:N,2,3", "i9:N,2,2,2"), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0)}, .bad_msg = "f32[N, C, H, W]"},
    {OP_avg_pool2d, G_DIFF, .ok = {IN("f:N,2,5,5"), GEOM(2, 2, 1, 1, 1, 1, 1, 1, 1, 3, 3, 0, 0, 1)},
     .bad = {IN("f:N,2,2,2"), GEOM(2, 2, 0, 0, 0, 0, 1, 1, 1, 3, 3, 0, 0, 1)}, .bad_msg = "larger than the padded input"},
    {OP_avg_pool2d_bwd, G_DIFF, .ok = {IN("f:N,2,3,3"), GEOM(2, 2, 1, 1, 1, 1, 1, 1, 1, 3, 3, 5, 5, 1)},
     .bad = {IN("f:N,2,4,4"), GEOM(2, 2, 1, 1, 1, 1, 1, 1, 1, 3, 3, 5, 5, 1)}, .bad_msg = "does not match"},
    {OP_adaptive_avg_pool2d, G_DIFF, .ok = {IN("f:N,2,5,7"), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 3, 4, 0)},
     .bad = {IN("f:N,2,5,7"), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 4, 0)}, .bad_msg = "must be positive"},
    {OP_adaptive_avg_pool2d_bwd, G_DIFF, .ok = {IN("f:N,2,3,4"), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 5, 7, 0)},
     .bad = {IN("f:N,2,12"), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 5, 7, 0)}, .bad_msg = "f32[N, C, H, W]"},
    /* attention: q, k, v[, mask]; attention_grad: q, k, v, out, dout[, mask] (ir_attrs.attention) */
    {OP_attention, G_DIFF, .ok = {IN("f:N,3,4", "f:N,5,4", "f:N,5,2", "f:2,1,5"), AT(.attention = {.heads = 2, .causal = 1, .scale = 0.5}, .ni = 4, .nf = 1)},
     .bad = {IN("f:N,3,4", "f:N,5,4", "f:N,5,2", "f:2,3"), AT(.attention = {.heads = 2, .scale = 0.5}, .ni = 4, .nf = 1)}, .bad_msg = "does not broadcast"},
    {OP_attention_grad, G_NONE,
     .ok = {IN("f:N,3,4", "f:N,5,4", "f:N,5,2", "f:N,3,2", "f:N,3,2"), AT(.attention = {.heads = 1, .scale = 0.5, .which = ATTN_DK | ATTN_DV}, .ni = 4, .nf = 1)},
     .bad = {IN("f:N,3,4", "f:N,5,4", "f:N,5,2", "f:N,3,2", "f:N,3,2"), AT(.attention = {.heads = 1, .scale = 0.5, .which = ATTN_DQ | ATTN_DK}, .ni = 4, .nf = 1)},
     .bad_msg = "only when T = S"},
    /* layer norm: x, weight, bias (f0 = eps); layer_norm_grad: x, weight, gy, i = {0 dx | 1 dweight's parts} */
    {OP_layer_norm, G_DIFF, .ok = {IN("f:N,3,5", "f:5", "f:5"), F0(1e-5)}, .bad = {IN("f:N,3,5", "f:3", "f:5"), F0(1e-5)},
     .bad_msg = "one value per feature"},
    {OP_layer_norm_grad, G_NONE, .ok = {IN("f:N,5", "f:5", "f:N,5"), AT(.i = {1}, .ni = 1, .f = {1e-5}, .nf = 1)},
     .bad = {IN("f:N,5", "f:5", "f:N,4"), AT(.i = {0}, .ni = 1, .f = {1e-5}, .nf = 1)}, .bad_msg = "shape of x"},
    /* batch norm in training: batch_stats(x); batch_normalize: x, stats, weight, bias (f0 = eps);
       batch_norm_sums: x, stats, gy[, mask]; batch_norm_dx: x, stats, weight, gy, sums[, mask] (the ok forms with the
       mask pass_bnorm_mask adds; test_gradcheck.c has both forms) */
    {OP_batch_stats, G_DIFF, .ok = {IN("f:N,3,4,5")}, .bad = {IN("f:5")}, .bad_msg = "a batch and a channel axis"},
    {OP_batch_normalize, G_DIFF, .ok = {IN("f:N,3,4", "p:2,3", "f:3", "f:3"), F0(1e-5)},
     .bad = {IN("f:N,3,4", "p:3,2", "f:3", "f:3"), F0(1e-5)}, .bad_msg = "two rows of one value per channel"},
    {OP_batch_norm_sums, G_NONE, .ok = {IN("f:N,3,4", "p:2,3", "f:N,3,4", "f:N,3,4"), F0(1e-5)},
     .bad = {IN("f:N,3,4", "p:2,3", "f:N,4,3"), F0(1e-5)}, .bad_msg = "shape of x"},
    {OP_batch_norm_dx, G_NONE, .ok = {IN("f:N,3,4", "p:2,3", "f:3", "f:N,3,4", "f:2,3", "f:N,3,4"), F0(1e-5)},
     .bad = {IN("f:N,3,4", "p:2,3", "f:4", "f:N,3,4", "f:2,3"), F0(1e-5)}, .bad_msg = "one value per channel"},
    /* NT-Xent: z1, z2 f32[N, D] (f0 = temperature); nt_xent_grad: z1, z2, gy f32[], i = {0 dz1 | 1 dz2} */
    {OP_nt_xent, G_DIFF, .ok = {IN("f:N,8", "f:N,8"), F0(0.5)}, .bad = {IN("f:N,8", "f:N,4"), F0(0.5)},
     .bad_msg = "the same shape"},
    {OP_nt_xent_grad, G_NONE, .ok = {IN("f:N,8", "f:N,8", "f:"), AT(.i = {1}, .ni = 1, .f = {0.5}, .nf = 1)},
     .bad = {IN("f:N,8", "f:N,8", "f:N"), AT(.i = {0}, .ni = 1, .f = {0.5}, .nf = 1)}, .bad_msg = "must be a scalar"},
    /* CLIP's loss: a, b f32[N, D]; clip_loss_grad: a, b, gy f32[], i = {0 da | 1 db} */
    {OP_clip_loss, G_DIFF, .ok = {IN("f:N,8", "f:N,8")}, .bad = {IN("f:N,8", "f:8,8")}, .bad_msg = "the same shape"},
    {OP_clip_loss_grad, G_NONE, .ok = {IN("f:N,8", "f:N,8", "f:"), AT(.i = {1}, .ni = 1)},
     .bad = {IN("f:N,8", "f:N,8", "f:"), AT(.i = {2}, .ni = 1)}, .bad_msg = "must be 0 (da) or 1 (db)"},
    /* loops (ops_scan.h) */
    {OP_scan, G_LOOP, .bad = {IN("f:N,4"), AT(.i = {0, 1, 0, 0, 0, 0}, .ni = 6)}, .bad_msg = "at least one sequence"},
    {OP_scan_part, G_LOOP, .bad = {IN("f:N,4"), AT(.i = {0}, .ni = 1)}, .bad_msg = "must be a scan"},
};
enum { N_ROWS = sizeof rows / sizeof rows[0] };
#undef IN
#undef AT
#undef F0
#undef GEOM
#undef UNARY
#undef BINARY

/* ---- operands -------------------------------------------------------------- */

typedef struct cov_spec {
    ir_dtype dt;
    int hi;        /* i32: values in [0, hi) */
    int positive;  /* f32: values in [0.5, 2] */
    ir_shape shape;
} cov_spec;

static ir_shape parse_shape(const char *s) {
    ir_shape sh = {0};
    while (*s) {
        if (*s == 'N') sh.d[sh.rank++] = ir_dim_sym(IR_SYM_N), s++;
        else sh.d[sh.rank++] = ir_dim_const(strtoll(s, (char **)&s, 10));
        if (*s == ',') s++;
    }
    return sh;
}

static cov_spec parse_spec(const char *s) {
    cov_spec sp = {.dt = *s == 'i' ? IR_I32 : IR_F32, .positive = *s == 'p'};
    if (*s == 'i') sp.hi = (int)strtol(s + 1, NULL, 10);
    sp.shape = parse_shape(strchr(s, ':') + 1);
    return sp;
}

static int n_operands(const cov_use *u) {
    int k = 0;
    while (k < 6 && u->in[k]) k++;
    return k;
}

static ir_attrs use_attrs(ir_opcode op, const cov_use *u) {
    ir_attrs a = u->a;
    if (u->target) {
        ir_shape t = parse_shape(u->target);
        ir_attrs_set_shape(&a, op == OP_rand_uniform || op == OP_rand_normal || op == OP_rand_int ? 1 : op == OP_iota ? 2 : 0, &t);
    }
    return a;
}

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

static double draw(uint64_t *s, const cov_spec *sp) {
    double u = (double)(rng_next(s) >> 11) / 9007199254740992.0;
    if (sp->dt == IR_I32) return floor(u * sp->hi);
    return sp->positive ? 0.5 + 1.5 * u : 4 * u - 2;
}

static const char *row_name(const cov_row *r) { return ir_ops[r->op].name; }

/* ---- 1 and 3: a valid use, evaluated forward and backward ------------------ */

static int all_finite(const double *v, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

/* The node of a valid use of r's op in g (sources through their builders). */
static ir_node *build_use(ir_graph *g, const cov_row *r, ir_node **in, int nin) {
    if (r->op == OP_input) return in[0];
    if (r->op == OP_param) return ir_param_node(g, 0, (src_loc){0});
    ir_attrs a = use_attrs(r->op, &r->ok);
    return ir_add(g, NULL, (src_loc){0}, r->op, in, nin, &a);
}

/* Builds, differentiates and evaluates one row; returns NULL or what failed. */
static const char *check_valid_use(const cov_row *r) {
    static char why[160];
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "cov");
    ir_graph *g = ir_graph_new(m, "cov", IR_MODE_TRAIN);
    int64_t sym[IR_MAX_SYMS] = {3, 1, 1, 1, 1, 1, 1, 1};
    uint64_t seed = 0x9E3779B97F4A7C15ull ^ (uint64_t)(r->op + 1) * 7919u;
    int nin = r->op == OP_param ? 0 : n_operands(&r->ok);
    ir_node *in[6];
    cov_spec spec[7];
    int wrt[6], n_wrt = 0;
    for (int k = 0; k < nin; k++) {
        spec[k] = parse_spec(r->ok.in[k]);
        static const char *names[] = {"a", "b", "c", "d", "e", "f"};
        in[k] = ir_input_node(g, names[k], spec[k].dt, &spec[k].shape, (src_loc){0});
        if (spec[k].dt == IR_F32) wrt[n_wrt++] = k;
    }
    double *pvals[1] = {NULL};
    if (r->op == OP_param) {
        cov_spec ps = parse_spec(r->ok.in[0]);
        ir_module_add_param(m, "w", ps.shape, (ir_init){0}, 1, (src_loc){0});
        int64_t pn = ir_dim_eval(ir_shape_numel(&ps.shape), sym);
        pvals[0] = malloc(sizeof(double) * (size_t)pn);
        for (int64_t e = 0; e < pn; e++) pvals[0][e] = draw(&seed, &ps);
    }
    const char *fail = NULL;
    double *vals[7] = {0};
    interp_state st = {0};
    int ran = 0;
    ir_node *y = build_use(g, r, in, nin);
    if (!y) {
        fail = "the shape rule rejected the valid use";
        goto done;
    }
    /* loss = sum(y * R): R weighs every element differently */
    ir_node *yf = y->dtype == IR_I32 ? ir_un(g, OP_cast_f32, y) : y;
    ir_node *rw = ir_input_node(g, "R", IR_F32, &yf->shape, (src_loc){0});
    spec[nin] = (cov_spec){.dt = IR_F32, .shape = yf->shape};
    ir_node *loss = ir_reduce_sum(g, ir_bin(g, OP_mul, yf, rw), (1u << yf->shape.rank) - 1, 0);
    ir_add_output(g, IR_OUT_LOSS, 0, "loss", loss);
    if ((ad_differentiate(g, loss, wrt, n_wrt, NULL) != 0) != (r->grad == G_NONE)) {
        fail = r->grad == G_NONE ? "declared without a VJP, but ad_differentiate succeeded" : "ad_differentiate failed";
        goto done;
    }
    if (r->grad == G_NONE) goto done; /* its forward is checked where it is used: attention's gradients */
    if (!ir_verify(g)) {
        fail = "the differentiated graph does not verify";
        goto done;
    }
    /* 3: the declaration */
    int nonzero = 0;
    for (int o = 0; o < g->n_outputs; o++)
        if (g->outputs[o].kind == IR_OUT_INPUT_GRAD && g->outputs[o].node->op != OP_constant) nonzero++;
    if (r->grad == G_DIFF && !nonzero) fail = "declared differentiable, but no gradient reaches a float operand";
    if (r->grad == G_ZERO && nonzero) fail = "declared non-differentiable, but its VJP sends a gradient";
    if (fail) goto done;
    /* 1: the interpreter, forward and backward */
    for (int k = 0; k <= nin; k++) {
        int64_t ne = ir_dim_eval(ir_shape_numel(&spec[k].shape), sym);
        vals[k] = malloc(sizeof(double) * (size_t)(ne ? ne : 1));
        for (int64_t e = 0; e < ne; e++) vals[k][e] = draw(&seed, &spec[k]);
    }
    if (interp_run(&st, g, sym, vals, pvals, 1) != 0) {
        fail = "the interpreter failed";
        goto done;
    }
    ran = 1;
    for (int i = 0; i < g->n_nodes && !fail; i++) {
        const ir_node *v = g->nodes[i];
        if (v->id < st.n_value && st.value[v->id] && !all_finite(st.value[v->id], interp_numel(&st, v))) {
            snprintf(why, sizeof why, "node %%%d (%s) is not finite", v->id, ir_ops[v->op].name);
            fail = why;
        }
    }
done:
    if (ran) interp_free(&st);
    for (int k = 0; k < 7; k++) free(vals[k]);
    free(pvals[0]);
    arena_free(&ar);
    return fail;
}

/* An op whose valid use sets attributes names a group in its ops.def row
 * (so they have names, a printed form and a CSE comparison). */
static void test_attrs_described(void) {
    for (int i = 0; i < N_ROWS; i++) {
        const cov_use *u = &rows[i].ok;
        int has = u->a.ni || u->a.nf || u->target || ir_ops[rows[i].op].family == IR_FAM_attention ||
                  ir_ops[rows[i].op].family == IR_FAM_conv;
        if (!has) continue;
        if (!ir_attrs_group(rows[i].op)) printf("\n  %s: attributes without an ir_attrs.def group", row_name(&rows[i]));
        CU_ASSERT_PTR_NOT_NULL(ir_attrs_group(rows[i].op));
    }
}

static void test_valid_uses(void) {
    for (int i = 0; i < N_ROWS; i++) {
        if (rows[i].grad == G_LOOP) continue;
        const char *fail = check_valid_use(&rows[i]);
        if (fail) printf("\n  %s: %s", row_name(&rows[i]), fail);
        CU_ASSERT_PTR_NULL(fail);
    }
}

/* ---- 2: the emitter ------------------------------------------------------------ */

static void test_emitters(void) {
    char *listing = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&listing, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    emit_check_table(f);
    fclose(f);
    for (int i = 0; i < N_ROWS; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "op '%s' ", row_name(&rows[i]));
        int has = strstr(listing, needle) == NULL;
        if (!has) printf("\n  %s: no C emitter", row_name(&rows[i]));
        CU_ASSERT(has);
        if (ir_ops[rows[i].op].kind == IR_ELEMWISE) CU_ASSERT_PTR_NOT_NULL(ir_ops[rows[i].op].c_expr);
    }
    free(listing);
}

/* ---- 4: a bad use ------------------------------------------------------------ */

static void test_bad_uses(void) {
    for (int i = 0; i < N_ROWS; i++) {
        const cov_row *r = &rows[i];
        if (r->total) {
            CU_ASSERT(r->bad.in[0] == NULL && r->bad_msg == NULL); /* one or the other */
            continue;
        }
        CU_ASSERT_PTR_NOT_NULL(r->bad_msg);
        if (!r->bad_msg) continue;
        ir_node ops[6], n = {.op = r->op};
        for (int k = 0; k < n_operands(&r->bad); k++) {
            cov_spec sp = parse_spec(r->bad.in[k]);
            ops[k] = (ir_node){.dtype = sp.dt, .shape = sp.shape};
            n.in[n.nin++] = &ops[k];
        }
        n.a = use_attrs(r->op, &r->bad);
        char err[512] = "";
        int accepted = ir_ops[r->op].shape(&n, err, sizeof err);
        int clear = !accepted && err[0] && strstr(err, r->bad_msg) && !strstr(err, "(null)");
        if (!clear || getenv("COV_VERBOSE")) printf("\n  %s: bad use %s: \"%s\" (want \"%s\")", row_name(r), accepted ? "accepted" : "rejected", err, r->bad_msg);
        CU_ASSERT(clear);
    }
}

/* ---- the table itself ------------------------------------------------------- */

static void test_every_op_has_a_row(void) {
    int count[OP__COUNT] = {0};
    for (int i = 0; i < N_ROWS; i++) count[rows[i].op]++;
    for (int op = 0; op < OP__COUNT; op++) {
        if (count[op] != 1) printf("\n  op '%s' has %d rows in test_op_coverage.c (want 1)", ir_ops[op].name, count[op]);
        CU_ASSERT_EQUAL(count[op], 1);
        /* sources and only sources are declared as such */
        for (int i = 0; i < N_ROWS; i++)
            if ((int)rows[i].op == op) CU_ASSERT_EQUAL(rows[i].grad == G_SOURCE, ir_ops[op].kind == IR_SOURCE);
    }
}

/* ---- the language's names: builtins and stdlib blocks ------------------------
 *
 * Every builtin (elab_builtins.c) and every stdlib block must be documented
 * in docs/language.md (in a table row, or in a code example) and have a
 * bad-input case in tests/golden/ — an error whose quoted source line calls
 * it, whose message names it, or that a note attributes to a call of it. The
 * files are read from the repository root, where `make unit-test` runs. */

static int is_word_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

/* `name` as a whole word in [s, end), followed by `after` when it is not 0. */
static int has_word(const char *s, const char *end, const char *name, char after) {
    size_t n = strlen(name);
    for (const char *p = s; p + n <= end && (p = strstr(p, name)) && p + n <= end; p++) {
        if (p > s && is_word_char(p[-1])) continue;
        if (after ? p[n] == after : !is_word_char(p[n])) return 1;
    }
    return 0;
}

/* The names of the language: builtins, then stdlib blocks (arena of the caller). */
static int language_names(const char **names, int cap) {
    int n = 0;
    for (int i = 0; builtin_name(i) && n < cap; i++) names[n++] = builtin_name(i);
    static char blocks[256][64];
    int nb = 0;
    for (int f = 0; f < stdlib_n_files; f++)
        for (const char *p = stdlib_files[f].text; (p = strstr(p, "block ")) && n < cap && nb < 256; p++) {
            if (p != stdlib_files[f].text && p[-1] != '\n') continue;
            const char *q = p + 6;
            int len = 0;
            while (is_word_char(q[len]) && len < 63) len++;
            memcpy(blocks[nb], q, (size_t)len);
            blocks[nb][len] = '\0';
            names[n++] = blocks[nb++];
        }
    return n;
}

static void test_docs_name_everything(void) {
    char *doc = (char *)test_read_file("docs/language.md", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const char *names[512];
    int n = language_names(names, 512), missing = 0;
    CU_ASSERT(n > 60);
    for (int i = 0; i < n; i++) {
        /* a table row ("| `dense(x, units)` | ...") or a line of an example that calls it */
        int found = 0;
        for (const char *line = doc; *line && !found;) {
            const char *end = strchr(line, '\n');
            if (!end) end = line + strlen(line);
            if (line[0] == '|' ? has_word(line, end, names[i], 0) : has_word(line, end, names[i], '(')) found = 1;
            line = *end ? end + 1 : end;
        }
        if (!found) printf("\n  docs/language.md does not mention '%s'", names[i]), missing++;
    }
    CU_ASSERT_EQUAL(missing, 0);
    free(doc);
}

static void test_golden_misuse_everything(void) {
    DIR *dir = opendir("tests/golden");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    const char *names[512];
    int n = language_names(names, 512);
    unsigned char covered[512] = {0};
    struct dirent *ent;
    while ((ent = readdir(dir))) {
        size_t len = strlen(ent->d_name);
        if (len < 5 || strcmp(ent->d_name + len - 4, ".err")) continue;
        char path[512];
        snprintf(path, sizeof path, "tests/golden/%s", ent->d_name);
        char *text = (char *)test_read_file(path, NULL);
        if (!text) continue;
        /* an error (its message and quoted line), or a note "in this call to 'x'" */
        for (char *p = text; (p = strstr(p, ": error: ")) != NULL; p++) {
            char *msg_end = strchr(p, '\n');
            if (!msg_end) break;
            char *quote_end = strchr(msg_end + 1, '\n');
            if (!quote_end) quote_end = msg_end + 1 + strlen(msg_end + 1);
            for (int i = 0; i < n; i++) {
                char quoted[80];
                snprintf(quoted, sizeof quoted, "'%s'", names[i]);
                size_t ql = strlen(quoted);
                int in_msg = has_word(p, msg_end, names[i], ':') || (strstr(p, quoted) && strstr(p, quoted) + ql <= msg_end);
                if (in_msg || has_word(msg_end, quote_end, names[i], '(')) covered[i] = 1;
            }
        }
        for (char *p = text; (p = strstr(p, "note: in this call to '")); p++) {
            p += strlen("note: in this call to '");
            for (int i = 0; i < n; i++)
                if (!strncmp(p, names[i], strlen(names[i])) && p[strlen(names[i])] == '\'') covered[i] = 1;
        }
        free(text);
    }
    closedir(dir);
    int missing = 0;
    for (int i = 0; i < n; i++)
        if (!covered[i]) printf("\n  no golden diagnostic for a misuse of '%s' in tests/golden", names[i]), missing++;
    CU_ASSERT_EQUAL(missing, 0);
}

void suite_op_coverage(void) {
    CU_pSuite s = CU_add_suite("op_coverage", NULL, NULL);
    CU_add_test(s, "every op of ops.def has one audit row", test_every_op_has_a_row);
    CU_add_test(s, "valid use: shape rule, interpreter, declared gradient", test_valid_uses);
    CU_add_test(s, "every op can be emitted", test_emitters);
    CU_add_test(s, "every op with attributes names an ir_attrs.def group", test_attrs_described);
    CU_add_test(s, "bad use: a clear shape-rule message", test_bad_uses);
    CU_add_test(s, "docs/language.md names every builtin and stdlib block", test_docs_name_everything);
    CU_add_test(s, "tests/golden misuses every builtin and stdlib block", test_golden_misuse_everything);
}
