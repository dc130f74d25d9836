/* test_gradcheck.c — every op's VJP against central finite differences.
 *
 * One table, one loop. For each case we build
 *     loss = reduce_sum(op(inputs...) * R)
 * with R a random graph input (so every output element gets a different
 * weight), run ad_differentiate, evaluate the graph with the reference
 * interpreter in double, and compare each input's analytic gradient with
 *     (loss(x + h e_i) - loss(x - h e_i)) / 2h,   h = 1e-6.
 * The error measure is |analytic - numeric| / max(1, |analytic|, |numeric|):
 * relative for large gradients, absolute near zero where a relative error
 * is meaningless; the bound is 1e-6 (double rounding contributes ~1e-9).
 * Kinks are avoided by the input domains (D_AWAY keeps |x| >= 0.2), except
 * maximum/minimum, which are fed small integers so that ties happen: the
 * central difference at a tie is exactly the half/half split we implement.
 *
 * The same graph then goes through fold, CSE and DCE and must give the same
 * gradients, which tests those passes on real backward graphs.
 *
 * A last test fails if an op in ops.def has no row here (sources excepted):
 * adding an op without its gradient check is a test failure. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "interp.h"
#include "ir.h"
#include "passes.h"
#include "ops_conv.h"

typedef enum gc_domain {
    D_ANY,   /* uniform [-2, 2] */
    D_POS,   /* uniform [0.5, 2] */
    D_AWAY,  /* |x| in [0.2, 2], random sign: away from kinks at 0 */
    D_TIES,  /* integers -2..2: ties are frequent */
    D_SIX,   /* uniform [-2, 8] at least 0.2 from 0 and 6: both of relu6's kinks, all three pieces */
    D_FRAC,  /* k + [0.1, 0.4] or k + [0.6, 0.9], k in -3..2: away from the jumps of floor and round */
    D_BOOL,  /* 0 or 1 (where's condition): not differentiated */
    D_LABEL, /* i32 in [0, classes): not differentiated */
    D_BOXES, /* roi_align's box coordinates, uniform [-1, 6]: not differentiated (no gradient, as torchvision) */
} gc_domain;

typedef struct gc_case {
    ir_opcode op;
    const char *shape[6]; /* "N,4" (N = batch symbol, T = symbol 1), "" = scalar */
    gc_domain dom[6];
    int ni;
    int64_t i[8];
    conv_geom conv;       /* the conv family's geometry */
    ir_attrs_attention attn; /* the attention family's attributes */
    double f0, f1;        /* leaky_relu slope, elu alpha; clamp_grad's bounds */
    const char *target;   /* reshape / broadcast_to target shape */
    int64_t n;            /* value of N (0 = 3) */
    int classes;          /* for D_LABEL */
    int zero_grad;        /* stop_grad: the analytic gradient must be 0 (FD sees through it) */
    int no_vjp;           /* differentiating it must fail with a message (attention_grad: no second derivative) */
    int own_stats;        /* batch_normalize: its stats operand is batch_stats(a), not an input (the training
                             case, whose VJP gives x the gradient through the statistics in one kernel) */
    int declared;         /* a custom gradient (with_grad, clamp_grad): compared with the declared rule
                             (declared_grad), not with finite differences of the value */
} gc_case;

#define A1(s, d) .shape = {s}, .dom = {d}
#define A2(s, t, d, e) .shape = {s, t}, .dom = {d, e}
#define A3(s, t, u, d, e, f) .shape = {s, t, u}, .dom = {d, e, f}

static const gc_case cases[] = {
    /* unary */
    {OP_neg, A1("N,4", D_ANY)},
    {OP_exp, A1("N,4", D_ANY)},
    {OP_exp, A1("", D_ANY)},
    {OP_log, A1("N,3", D_POS)},
    {OP_log1p, A1("N,3", D_POS)},
    {OP_sqrt, A1("N,3", D_POS)},
    {OP_abs, A1("N,5", D_AWAY)},
    {OP_sign, A1("N,5", D_AWAY)},
    {OP_step, A1("N,5", D_AWAY)},
    {OP_floor, A1("N,5", D_FRAC)},
    {OP_round, A1("N,5", D_FRAC)},
    {OP_ceil, A1("N,5", D_FRAC)},
    {OP_relu, A1("N,5", D_AWAY)},
    {OP_relu, A1("N,7", D_AWAY), .n = 1},
    {OP_relu6, A1("N,9", D_SIX)},
    {OP_leaky_relu, A1("N,5", D_AWAY), .f0 = 0.01},
    {OP_elu, A1("N,5", D_AWAY), .f0 = 1.0},
    {OP_elu, A1("2,N,3", D_AWAY), .f0 = 0.5},
    {OP_sigmoid, A1("N,4", D_ANY)},
    {OP_tanh, A1("N,4", D_ANY)},
    {OP_sin, A1("N,4", D_ANY)},
    {OP_cos, A1("N,4", D_ANY)},
    {OP_cos, A1("2,N,3", D_ANY), .n = 1},
    {OP_gelu, A1("N,4", D_ANY)},
    {OP_gelu_grad, A1("N,4", D_ANY)},
    {OP_cast_f32, A1("N", D_LABEL), .classes = 10},
    /* binary, with broadcasting */
    {OP_add, A2("N,4", "N,4", D_ANY, D_ANY)},
    {OP_add, A2("N,4", "4", D_ANY, D_ANY)},
    {OP_add, A2("N,1", "1,5", D_ANY, D_ANY)},
    {OP_add, A2("", "N,3", D_ANY, D_ANY)},
    {OP_add, A2("2,N,3", "N,1", D_ANY, D_ANY), .n = 1},
    {OP_sub, A2("N,4", "4", D_ANY, D_ANY)},
    {OP_sub, A2("1", "N,3", D_ANY, D_ANY)},
    {OP_mul, A2("N,4", "N,4", D_ANY, D_ANY)},
    {OP_mul, A2("N,1", "5", D_ANY, D_ANY)},
    {OP_div, A2("N,4", "N,4", D_ANY, D_AWAY)},
    {OP_div, A2("N,4", "4", D_ANY, D_AWAY)},
    {OP_div, A2("", "N,3", D_ANY, D_AWAY)},
    {OP_pow, A2("N,3", "N,3", D_POS, D_ANY)},
    {OP_pow, A2("N,3", "", D_POS, D_ANY)},
    {OP_maximum, A2("N,6", "N,6", D_TIES, D_TIES), .n = 4},
    {OP_maximum, A2("N,6", "6", D_ANY, D_ANY)},
    {OP_minimum, A2("N,6", "N,6", D_TIES, D_TIES), .n = 4},
    {OP_minimum, A2("N,1", "3", D_ANY, D_ANY)},
    {OP_gt, A2("N,4", "N,4", D_ANY, D_ANY)},
    {OP_ge, A2("N,4", "4", D_ANY, D_ANY)},
    {OP_lt, A2("N,4", "N,4", D_ANY, D_ANY)},
    {OP_le, A2("N,4", "", D_ANY, D_ANY)},
    {OP_eq, A2("N,4", "N,4", D_ANY, D_ANY)},
    {OP_where, .shape = {"N,4", "N,4", "N,4"}, .dom = {D_BOOL, D_ANY, D_ANY}},
    {OP_where, .shape = {"N,4", "4", ""}, .dom = {D_BOOL, D_ANY, D_ANY}},
    /* reductions */
    {OP_reduce_sum, A1("N,4", D_ANY), .ni = 2, .i = {2, 0}},
    {OP_reduce_sum, A1("N,4", D_ANY), .ni = 2, .i = {1, 1}},
    {OP_reduce_sum, A1("2,N,3", D_ANY), .ni = 2, .i = {5, 0}},
    {OP_reduce_sum, A1("N,3", D_ANY), .ni = 2, .i = {3, 0}, .n = 1},
    {OP_reduce_max, A1("N,5", D_ANY), .ni = 2, .i = {2, 0}},
    {OP_reduce_max, A1("N,5", D_ANY), .ni = 2, .i = {1, 1}},
    {OP_reduce_max, A1("2,N,3", D_ANY), .ni = 2, .i = {6, 0}},
    /* shape ops */
    {OP_reshape, A1("N,2,3", D_ANY), .target = "N,6"},
    {OP_reshape, A1("N,6", D_ANY), .target = "N,3,2"},
    {OP_broadcast_to, A1("N,1", D_ANY), .target = "N,4"},
    {OP_broadcast_to, A1("3", D_ANY), .target = "2,N,3"},
    {OP_transpose, A1("N,4", D_ANY), .ni = 2, .i = {1, 0}},
    {OP_transpose, A1("2,N,3", D_ANY), .ni = 3, .i = {2, 0, 1}},
    {OP_stop_grad, A1("N,4", D_ANY), .zero_grad = 1},
    /* custom gradients: with_grad(value, surrogate) sends R to the surrogate alone; clamp_grad {f0, f1} clamps R */
    {OP_with_grad, A2("N,4", "N,4", D_ANY, D_ANY), .declared = 1},
    {OP_clamp_grad, A1("N,4", D_ANY), .f0 = 0.0, .f1 = INFINITY, .declared = 1},
    {OP_clamp_grad, A1("N,4", D_ANY), .f0 = -0.5, .f1 = 0.25, .declared = 1},
    /* matmul: all transposes, batch 1, odd sizes, batched and broadcast batches */
    {OP_matmul, A2("N,4", "4,5", D_ANY, D_ANY), .ni = 2, .i = {0, 0}},
    {OP_matmul, A2("N,4", "5,4", D_ANY, D_ANY), .ni = 2, .i = {0, 1}},
    {OP_matmul, A2("4,N", "4,5", D_ANY, D_ANY), .ni = 2, .i = {1, 0}},
    {OP_matmul, A2("4,N", "5,4", D_ANY, D_ANY), .ni = 2, .i = {1, 1}},
    {OP_matmul, A2("N,7", "7,3", D_ANY, D_ANY), .ni = 2, .i = {0, 0}, .n = 1},
    {OP_matmul, A2("2,N,4", "4,5", D_ANY, D_ANY), .ni = 2, .i = {0, 0}},
    {OP_matmul, A2("2,3,4", "2,4,N", D_ANY, D_ANY), .ni = 2, .i = {0, 0}},
    {OP_matmul, A2("2,1,3,4", "N,2,4", D_ANY, D_ANY), .ni = 2, .i = {0, 1}, .n = 2},
    {OP_matmul, A2("N,4,3", "N,4,2", D_ANY, D_ANY), .ni = 2, .i = {1, 0}},
    /* nn */
    {OP_softmax, A1("N,5", D_ANY), .ni = 1, .i = {1}},
    {OP_softmax, A1("N,4,3", D_ANY), .ni = 1, .i = {1}},
    {OP_log_softmax, A1("N,5", D_ANY), .ni = 1, .i = {1}},
    {OP_log_softmax, A1("3,N", D_ANY), .ni = 1, .i = {0}, .n = 1},
    {OP_pick, A2("N,5", "N", D_ANY, D_LABEL), .classes = 5},
    {OP_pick, A2("2,N,3", "2,N", D_ANY, D_LABEL), .classes = 3},
    {OP_unpick, A2("N", "N", D_ANY, D_LABEL), .ni = 1, .i = {4}, .classes = 4},
    /* i = {C, 1, ignored label}: ignore_index (label 2 occurs among N = 6 draws in [0, 4) or [0, 5)) */
    {OP_pick, A2("N,5", "N", D_ANY, D_LABEL), .ni = 3, .i = {0, 1, 2}, .classes = 5, .n = 6},
    {OP_unpick, A2("N,2", "N,2", D_ANY, D_LABEL), .ni = 3, .i = {4, 1, 2}, .classes = 4},
    /* take / scatter_add: index shapes with repeats (N = 3 rows of 2 into 4 or 5), a rank-1 and a
     * symbolic table (V = N), a scalar index; scatter_add's i[0] = V packed (N: 1 << 48 | 1) */
    {OP_take, A2("5,3", "N,2", D_ANY, D_LABEL), .classes = 5},
    {OP_take, A2("4", "N", D_ANY, D_LABEL), .classes = 4},
    {OP_take, A2("N,2,3", "2,5", D_ANY, D_LABEL), .classes = 3},
    {OP_take, A2("6,2", "", D_ANY, D_LABEL), .classes = 6},
    {OP_scatter_add, A2("N,2,3", "N,2", D_ANY, D_LABEL), .ni = 1, .i = {4}, .classes = 4},
    {OP_scatter_add, A2("N,3", "N", D_ANY, D_LABEL), .ni = 1, .i = {(int64_t)1 << 48 | 1}, .classes = 3},
    {OP_scatter_add, A2("N", "N", D_ANY, D_LABEL), .ni = 1, .i = {2}, .classes = 2, .n = 5},
    /* gather {axis} along the middle, first and last axis (K < L, K > L); gather_grad {axis, L packed} */
    {OP_gather, A2("N,5,2", "N,3,2", D_ANY, D_LABEL), .ni = 1, .i = {1}, .classes = 5},
    {OP_gather, A2("4,N", "6,N", D_ANY, D_LABEL), .ni = 1, .i = {0}, .classes = 4},
    {OP_gather, A2("N,3", "N,7", D_ANY, D_LABEL), .ni = 1, .i = {1}, .classes = 3},
    {OP_gather_grad, A2("N,3,2", "N,3,2", D_ANY, D_LABEL), .ni = 2, .i = {1, 5}, .classes = 5},
    {OP_gather_grad, A2("6,N", "6,N", D_ANY, D_LABEL), .ni = 2, .i = {0, 4}, .classes = 4},
    /* scatter_max {axis, L packed}: 3 sources into 5 segments (some empty: 0, no gradient), 6 into 4 */
    {OP_scatter_max, A2("N,3,2", "N,3,2", D_ANY, D_LABEL), .ni = 2, .i = {1, 5}, .classes = 5},
    {OP_scatter_max, A2("6,N", "6,N", D_ANY, D_LABEL), .ni = 2, .i = {0, 4}, .classes = 4},
    /* argmax {axis, argmin}: an index, no gradient (ties have probability zero under D_ANY) */
    {OP_argmax, A1("N,5", D_ANY), .ni = 2, .i = {1, 0}, .zero_grad = 1},
    {OP_argmax, A1("3,N,4", D_ANY), .ni = 2, .i = {0, 1}, .zero_grad = 1},
    /* argsort {axis, descending, k (0 = all)}: positions, no gradient; cumsum {axis, reverse};
     * cast_i32: an integer, no gradient */
    {OP_argsort, A1("N,5", D_ANY), .ni = 3, .i = {1, 0, 0}, .zero_grad = 1},
    {OP_argsort, A1("4,N,3", D_ANY), .ni = 3, .i = {0, 1, 2}, .zero_grad = 1},
    {OP_cumsum, A1("N,5", D_ANY), .ni = 2, .i = {1, 0}},
    {OP_cumsum, A1("4,N,3", D_ANY), .ni = 2, .i = {0, 1}},
    {OP_cumsum, A1("N,3,4", D_ANY), .ni = 2, .i = {1, 1}},
    /* cumprod {axis, reverse}: D_TIES has exact zeros (the gradient there is not reverse_cumsum(g * y) / x);
     * cumprod_grad: x, gy, no second derivative; flip {axes bitmask} */
    {OP_cumprod, A1("N,5", D_ANY), .ni = 2, .i = {1, 0}},
    {OP_cumprod, A1("4,N,3", D_TIES), .ni = 2, .i = {0, 1}},
    {OP_cumprod, A1("N,6", D_TIES), .ni = 2, .i = {1, 0}},
    {OP_cumprod, A1("N,3,4", D_ANY), .ni = 2, .i = {1, 1}},
    {OP_cumprod_grad, A2("N,5", "N,5", D_ANY, D_ANY), .ni = 2, .i = {1, 0}, .no_vjp = 1},
    {OP_flip, A1("N,5", D_ANY), .ni = 1, .i = {2}},
    {OP_flip, A1("N,3,4", D_ANY), .ni = 1, .i = {5}},
    {OP_cast_i32, A1("N,5", D_FRAC), .zero_grad = 1},
    /* inverse, logabsdet: batches of square matrices (a fixed draw, none near singular) */
    {OP_inverse, A1("N,3,3", D_ANY)},
    {OP_inverse, A1("1,1", D_POS)},
    {OP_logabsdet, A1("N,3,3", D_ANY)},
    {OP_logabsdet, A1("2,N,2,2", D_ANY)},
    /* data movement (ops_movement.c). concat: i = {axis}; slice: {axis, start, step, count};
     * slice_grad: {axis, start, step, length}; pad/pad_grad: {mode (0 constant, 1 reflect,
     * 2 replicate), k, (left, right) per dim, last dim first}, f0 = fill; upsample/upsample_grad:
     * {mode (0 nearest, 1 bilinear), scale_h, scale_w, align_corners} */
    {OP_concat, A2("N,2,3", "N,4,3", D_ANY, D_ANY), .ni = 1, .i = {1}},
    {OP_concat, .shape = {"2,N", "1,N", "3,N"}, .dom = {D_ANY, D_ANY, D_ANY}, .ni = 1, .i = {0}, .n = 1},
    {OP_concat, A1("N,3", D_ANY), .ni = 1, .i = {1}},
    {OP_slice, A1("N,7", D_ANY), .ni = 4, .i = {1, 1, 2, 3}},
    {OP_slice, A1("5,N,3", D_ANY), .ni = 4, .i = {0, 4, 1, 1}, .n = 1},
    {OP_slice, A1("N,2,9", D_ANY), .ni = 4, .i = {2, 0, 3, 3}},
    {OP_slice_grad, A1("N,3", D_ANY), .ni = 4, .i = {1, 1, 2, 7}},
    {OP_slice_grad, A1("1,N,3", D_ANY), .ni = 4, .i = {0, 4, 1, 5}, .n = 1},
    {OP_pad, A1("N,5", D_ANY), .ni = 4, .i = {0, 1, 2, 1}, .f0 = 0.5},
    {OP_pad, A1("N,2,4,5", D_ANY), .ni = 6, .i = {0, 2, 1, -1, -2, 3}},
    {OP_pad, A1("N,2,4,5", D_ANY), .ni = 6, .i = {1, 2, 2, 4, 3, 1}},
    {OP_pad, A1("N,3,6", D_ANY), .ni = 4, .i = {1, 1, 5, 0}, .n = 1},
    {OP_pad, A1("N,3,4", D_ANY), .ni = 6, .i = {2, 2, 3, 3, 1, 0}},
    {OP_pad, A1("N,2,3,4", D_ANY), .ni = 8, .i = {2, 3, 1, 2, 0, 3, 2, 1}},
    {OP_pad_grad, A1("N,8", D_ANY), .ni = 4, .i = {0, 1, 2, 1}},
    {OP_pad_grad, A1("N,2,5,6", D_ANY), .ni = 6, .i = {0, 2, 1, -1, -2, 3}},
    {OP_pad_grad, A1("N,2,8,11", D_ANY), .ni = 6, .i = {1, 2, 2, 4, 3, 1}},
    {OP_pad_grad, A1("N,5,9", D_ANY), .ni = 6, .i = {2, 2, 3, 3, 1, 0}, .n = 1},
    /* roi_align {PH, PW, sampling, aligned, H, W}, f0 = spatial_scale: fixed and adaptive sampling, aligned,
     * boxes partly outside the map; the adjoint against its own differences (second order) */
    {OP_roi_align, A2("N,2,5,6", "N,3,4", D_ANY, D_BOXES), .ni = 6, .i = {2, 3, 2, 0, 5, 6}, .f0 = 1.0},
    {OP_roi_align, A2("N,1,4,4", "N,2,4", D_ANY, D_BOXES), .ni = 6, .i = {2, 2, -1, 1, 4, 4}, .f0 = 0.5, .n = 2},
    {OP_roi_align_grad, A2("N,3,2,2,3", "N,3,4", D_ANY, D_BOXES), .ni = 6, .i = {2, 3, 1, 1, 5, 6}, .f0 = 1.0},
    /* grid_sample {mode (0 bilinear, 1 nearest), padding (0 zeros, 1 border), align_corners, H, W}: grid
     * points in [-2, 2], so partly outside the image (zeros) or clamped (border: no grid gradient there);
     * nearest's grid gradient is 0 as its differences; the adjoints have no VJP (no second derivative) */
    {OP_grid_sample, A2("N,2,4,5", "N,3,2,2", D_ANY, D_ANY), .ni = 5, .i = {0, 0, 0, 4, 5}},
    {OP_grid_sample, A2("N,2,4,5", "N,3,2,2", D_ANY, D_ANY), .ni = 5, .i = {0, 1, 1, 4, 5}},
    {OP_grid_sample, A2("N,1,3,4", "N,2,3,2", D_ANY, D_ANY), .ni = 5, .i = {0, 0, 1, 3, 4}, .n = 2},
    {OP_grid_sample, A2("N,2,4,5", "N,3,2,2", D_ANY, D_ANY), .ni = 5, .i = {1, 0, 0, 4, 5}},
    {OP_grid_sample, A2("N,2,4,5", "N,3,2,2", D_ANY, D_ANY), .ni = 5, .i = {1, 1, 1, 4, 5}},
    {OP_grid_sample_grad, A2("N,2,3,2", "N,3,2,2", D_ANY, D_ANY), .ni = 5, .i = {0, 0, 0, 4, 5}, .no_vjp = 1},
    {OP_grid_sample_grad_grid, A3("N,2,3,2", "N,2,4,5", "N,3,2,2", D_ANY, D_ANY, D_ANY), .ni = 5, .i = {0, 1, 0, 4, 5},
     .no_vjp = 1},
    /* roi_pool {PH, PW, H, W}, f0 = spatial_scale: boxes partly outside the map (empty bins: no gradient),
     * bins of one pixel and of several, a scale of 0.5; its adjoint has no VJP (no second derivative) */
    {OP_roi_pool, A2("N,2,5,6", "N,3,4", D_ANY, D_BOXES), .ni = 4, .i = {2, 3, 5, 6}, .f0 = 1.0},
    {OP_roi_pool, A2("N,1,6,6", "N,2,4", D_ANY, D_BOXES), .ni = 4, .i = {1, 2, 6, 6}, .f0 = 0.5, .n = 2},
    {OP_roi_pool_grad, A3("N,3,2,3,3", "N,2,5,6", "N,3,4", D_ANY, D_ANY, D_BOXES), .ni = 4, .i = {3, 3, 5, 6}, .f0 = 1.0,
     .no_vjp = 1},
    /* nms {max_out (0 = all), threshold given}, f0 = iou, f1 = score threshold: a 0/1 mask, no gradient;
     * the class-aware form with a threshold and a limit */
    {OP_nms, A2("N,6,4", "N,6", D_BOXES, D_ANY), .ni = 2, .i = {0, 0}, .f0 = 0.3, .zero_grad = 1},
    {OP_nms, A3("N,6,4", "N,6", "N,6", D_BOXES, D_ANY, D_LABEL), .ni = 2, .i = {3, 1}, .f0 = 0.5, .f1 = -1.0,
     .classes = 2, .zero_grad = 1},
    {OP_upsample, A1("N,2,3,4", D_ANY), .ni = 4, .i = {0, 2, 2, 0}},
    {OP_upsample, A1("N,1,3,5", D_ANY), .ni = 4, .i = {0, 3, 1, 0}, .n = 1},
    {OP_upsample, A1("N,2,3,4", D_ANY), .ni = 4, .i = {1, 2, 2, 0}},
    {OP_upsample, A1("N,1,3,4", D_ANY), .ni = 4, .i = {1, 3, 2, 1}},
    {OP_upsample, A1("N,1,5,3", D_ANY), .ni = 4, .i = {1, 1, 3, 0}, .n = 1},
    /* to a size that is no multiple: {mode, num_h, num_w, align, den_h, den_w}, out = in * num / den */
    {OP_upsample, A1("N,1,3,4", D_ANY), .ni = 6, .i = {0, 5, 3, 0, 3, 2}},
    {OP_upsample, A1("N,1,3,4", D_ANY), .ni = 6, .i = {1, 7, 5, 0, 3, 4}},
    {OP_upsample, A1("N,1,4,3", D_ANY), .ni = 6, .i = {1, 3, 5, 1, 2, 3}},
    {OP_upsample_grad, A1("N,1,5,6", D_ANY), .ni = 6, .i = {0, 5, 3, 0, 3, 2}},
    {OP_upsample_grad, A1("N,1,7,5", D_ANY), .ni = 6, .i = {1, 7, 5, 0, 3, 4}},
    {OP_upsample_grad, A1("N,2,6,8", D_ANY), .ni = 4, .i = {0, 2, 2, 0}},
    {OP_upsample_grad, A1("N,1,9,5", D_ANY), .ni = 4, .i = {0, 3, 1, 0}, .n = 1},
    {OP_upsample_grad, A1("N,2,6,8", D_ANY), .ni = 4, .i = {1, 2, 2, 0}},
    {OP_upsample_grad, A1("N,1,9,8", D_ANY), .ni = 4, .i = {1, 3, 2, 1}},
    /* convolution and pooling (ops_conv.c). GEOM = stride, padding (top, bottom, left, right),
     * dilation, groups, kernel, size, flag: ir_attrs.conv */
#define GEOM(sh, sw, pt, pb, pl, pr, dh, dw, grp, kh, kw, zh, zw, flag) \
    .conv = {sh, sw, pt, pb, pl, pr, dh, dw, grp, kh, kw, zh, zw, flag}
    {OP_conv2d, A2("N,2,5,5", "3,2,3,3", D_ANY, D_ANY), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0)},
    {OP_conv2d, A2("N,2,7,6", "2,2,3,2", D_ANY, D_ANY), GEOM(2, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0)},
    {OP_conv2d, A2("N,4,5,5", "4,2,2,2", D_ANY, D_ANY), GEOM(2, 2, 1, 1, 1, 1, 2, 2, 2, 0, 0, 0, 0, 0), .n = 1},
    {OP_conv2d, A2("N,3,4,4", "5,3,1,1", D_ANY, D_ANY), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0)},
    {OP_conv2d, A2("N,1,6,6", "2,1,3,3", D_ANY, D_ANY), GEOM(2, 2, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0)},
    {OP_conv2d, A2("N,3,5,4", "3,1,3,3", D_ANY, D_ANY), GEOM(1, 1, 1, 1, 1, 1, 1, 1, 3, 0, 0, 0, 0, 0), .n = 2},
    {OP_conv2d, A2("N,1,5,5", "2,1,2,2", D_ANY, D_ANY), GEOM(1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0)},
    {OP_conv_transpose2d, A2("N,3,3,3", "3,2,3,3", D_ANY, D_ANY), GEOM(2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0)},
    {OP_conv_transpose2d, A2("N,3,4,3", "3,1,2,2", D_ANY, D_ANY), GEOM(1, 1, 0, 0, 0, 0, 2, 2, 3, 0, 0, 0, 0, 0)},
    {OP_conv_transpose2d, A2("N,2,3,4", "2,3,3,3", D_ANY, D_ANY), GEOM(2, 1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 0, 0), .n = 1},
    {OP_conv2d_bwd_weight, A2("N,2,5,5", "N,3,3,3", D_ANY, D_ANY), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 3, 3, 0, 0, 0)},
    {OP_conv2d_bwd_weight, A2("N,4,5,5", "N,2,3,3", D_ANY, D_ANY), GEOM(2, 2, 1, 1, 1, 1, 1, 1, 2, 3, 3, 0, 0, 0), .n = 2},
    {OP_max_pool2d, A1("N,2,5,5", D_ANY), GEOM(2, 2, 0, 0, 0, 0, 1, 1, 1, 2, 2, 0, 0, 0)},
    {OP_max_pool2d, A1("N,1,5,6", D_ANY), GEOM(2, 2, 1, 1, 1, 1, 1, 1, 1, 3, 3, 0, 0, 0), .n = 1},
    {OP_max_pool2d, A1("N,2,6,6", D_ANY), GEOM(1, 1, 0, 0, 0, 0, 2, 2, 1, 2, 2, 0, 0, 0)},
    {OP_max_pool2d_indices, A1("N,2,4,4", D_ANY), GEOM(2, 2, 0, 0, 0, 0, 1, 1, 1, 2, 2, 0, 0, 0), .zero_grad = 1},
    {OP_max_pool2d_bwd, A2("N,2,2,2", "N,2,2,2", D_ANY, D_LABEL), GEOM(2, 2, 0, 0, 0, 0, 1, 1, 1, 2, 2, 4, 4, 0),
     .classes = 16},
    {OP_max_unpool2d, A2("N,2,1,1", "N,2,1,1", D_ANY, D_LABEL), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 2, 3, 0),
     .classes = 6},
    {OP_max_unpool2d_bwd, A2("N,2,3,3", "N,2,2,2", D_ANY, D_LABEL), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0),
     .classes = 9},
    {OP_avg_pool2d, A1("N,2,5,5", D_ANY), GEOM(2, 2, 0, 0, 0, 0, 1, 1, 1, 2, 2, 0, 0, 1)},
    {OP_avg_pool2d, A1("N,1,5,6", D_ANY), GEOM(2, 2, 1, 1, 1, 1, 1, 1, 1, 3, 3, 0, 0, 1), .n = 1},
    {OP_avg_pool2d, A1("N,1,5,6", D_ANY), GEOM(2, 2, 1, 1, 1, 1, 1, 1, 1, 3, 3, 0, 0, 0)},
    {OP_avg_pool2d, A1("N,2,6,5", D_ANY), GEOM(2, 1, 1, 1, 0, 0, 1, 1, 1, 3, 2, 0, 0, 0)},
    {OP_avg_pool2d_bwd, A1("N,2,3,3", D_ANY), GEOM(2, 2, 1, 1, 1, 1, 1, 1, 1, 3, 3, 5, 5, 1)},
    {OP_avg_pool2d_bwd, A1("N,1,3,4", D_ANY), GEOM(2, 2, 1, 1, 1, 1, 1, 1, 1, 3, 3, 5, 7, 0), .n = 1},
    {OP_adaptive_avg_pool2d, A1("N,2,5,7", D_ANY), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 3, 4, 0)},
    {OP_adaptive_avg_pool2d, A1("N,1,4,4", D_ANY), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0), .n = 1},
    {OP_adaptive_avg_pool2d, A1("N,1,3,2", D_ANY), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 5, 4, 0)},
    {OP_adaptive_avg_pool2d_bwd, A1("N,2,3,4", D_ANY), GEOM(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 5, 7, 0)},
#undef GEOM
    /* attention (ops_attention.c): q, k, v[, mask] (T = S: one attention_grad for dq, dk, dv; T != S: two);
     * attention_grad: q, k, v, out, dout */
    {OP_attention, .shape = {"N,3,4", "N,5,4", "N,5,6"}, .attn = {.heads = 1, .scale = 0.5}},
    {OP_attention, .shape = {"N,4,4", "N,4,4", "N,4,2"}, .attn = {.heads = 2, .causal = 1, .scale = 0.7}},
    {OP_attention, .shape = {"N,2,3,4", "N,2,5,4", "N,2,5,2", "2,1,5"}, .attn = {.heads = 2, .scale = 0.6}, .n = 2},
    {OP_attention, .shape = {"N,2,4", "N,3,4", "N,3,3", "N,1,3"}, .attn = {.heads = 1, .causal = 1, .q_pos0 = 1, .scale = 1}},
    {OP_attention, .shape = {"3,4", "5,4", "5,3", "3,5"}, .attn = {.heads = 1, .scale = 0.4}},
    {OP_attention, .shape = {"N,T,4", "N,T,4", "N,T,4"}, .attn = {.heads = 2, .causal = 1, .scale = 0.5}},
    {OP_attention_grad, .shape = {"N,2,4", "N,3,4", "N,3,2", "N,2,2", "N,2,2"}, .attn = {.heads = 1, .scale = 0.5, .which = ATTN_DK | ATTN_DV},
     .no_vjp = 1},
    /* layer norm over the last axis (f0 = eps): x, weight, bias; layer_norm_grad: x, weight, gy */
    {OP_layer_norm, A3("N,5", "5", "5", D_ANY, D_ANY, D_ANY), .f0 = 1e-5},
    {OP_layer_norm, A3("2,N,3", "3", "3", D_ANY, D_ANY, D_ANY), .f0 = 0.5},
    {OP_layer_norm, A3("N,T,4", "4", "4", D_ANY, D_ANY, D_ANY), .f0 = 1e-3, .n = 2},
    {OP_layer_norm, A3("7", "7", "7", D_ANY, D_ANY, D_ANY), .f0 = 1e-5},
    {OP_layer_norm_grad, A3("N,4", "4", "N,4", D_ANY, D_ANY, D_ANY), .ni = 1, .i = {1}, .f0 = 1e-5, .no_vjp = 1},
    /* batch norm in training (f0 = eps): batch_stats(x) -> [2, C]; batch_normalize(x, stats, weight, bias) with
       given statistics (the plain rule, gradients to the statistics too) and with x's own (own_stats: x, weight,
       bias; the gradient through the statistics); batch_norm_sums: x, stats, gy[, mask]; batch_norm_dx: x, stats,
       weight, gy, sums[, mask] */
    {OP_batch_stats, A1("N,3,2,2", D_ANY)},
    {OP_batch_stats, A1("N,4", D_ANY), .n = 5},
    {OP_batch_stats, A1("2,3,5", D_ANY)},
    {OP_batch_normalize, .shape = {"N,3,4", "2,3", "3", "3"}, .dom = {D_ANY, D_POS, D_ANY, D_ANY}, .f0 = 1e-5},
    {OP_batch_normalize, .shape = {"N,2", "2,2", "2", "2"}, .dom = {D_ANY, D_POS, D_ANY, D_ANY}, .f0 = 0.1},
    {OP_batch_normalize, A3("N,3,2,2", "3", "3", D_ANY, D_ANY, D_ANY), .own_stats = 1, .f0 = 1e-5},
    {OP_batch_normalize, A3("N,4", "4", "4", D_ANY, D_ANY, D_ANY), .own_stats = 1, .f0 = 1e-3, .n = 5},
    {OP_batch_normalize, A3("1,2,7", "2", "2", D_ANY, D_ANY, D_ANY), .own_stats = 1, .f0 = 0.5},
    {OP_batch_norm_sums, A3("N,3,4", "2,3", "N,3,4", D_ANY, D_POS, D_ANY), .f0 = 1e-5, .no_vjp = 1},
    {OP_batch_norm_dx, .shape = {"N,3,4", "2,3", "3", "N,3,4", "2,3"}, .f0 = 1e-5, .no_vjp = 1},
    /* ... with a ReLU mask, the optional last operand (pass_bnorm_mask): gy * step(mask) stands for gy */
    {OP_batch_norm_sums, .shape = {"N,3,5", "2,3", "N,3,5", "N,3,5"}, .dom = {D_ANY, D_POS, D_ANY, D_ANY}, .f0 = 1e-5,
     .no_vjp = 1},
    {OP_batch_norm_dx, .shape = {"N,3,5", "2,3", "3", "N,3,5", "2,3", "N,3,5"}, .f0 = 1e-5, .no_vjp = 1},
    /* ... with a ReLU6 mask (f1 = mask_hi = 6): gy * step(mask) * step(6 - mask) */
    {OP_batch_norm_sums, .shape = {"N,3,5", "2,3", "N,3,5", "N,3,5"}, .dom = {D_ANY, D_POS, D_ANY, D_SIX}, .f0 = 1e-5,
     .f1 = 6, .no_vjp = 1},
    {OP_batch_norm_dx, .shape = {"N,3,5", "2,3", "3", "N,3,5", "2,3", "N,3,5"},
     .dom = {D_ANY, D_ANY, D_ANY, D_ANY, D_ANY, D_SIX}, .f0 = 1e-5, .f1 = 6, .no_vjp = 1},
    /* NT-Xent of two views (f0 = temperature): a run-time batch, a larger one at a low temperature, one sample;
       nt_xent_grad: z1, z2, gy (i = {0 dz1 | 1 dz2}) */
    {OP_nt_xent, A2("N,4", "N,4", D_ANY, D_ANY), .f0 = 0.5},
    {OP_nt_xent, A2("N,3", "N,3", D_ANY, D_ANY), .f0 = 0.1, .n = 5},
    {OP_nt_xent, A2("1,6", "1,6", D_ANY, D_ANY), .f0 = 1},
    {OP_nt_xent_grad, A3("N,4", "N,4", "", D_ANY, D_ANY, D_ANY), .ni = 1, .i = {1}, .f0 = 0.5, .no_vjp = 1},
    /* CLIP's loss over a b^T: a run-time batch, a larger one, one pair; clip_loss_grad (i = {0 da | 1 db}) */
    {OP_clip_loss, A2("N,4", "N,4", D_ANY, D_ANY)},
    {OP_clip_loss, A2("N,3", "N,3", D_ANY, D_ANY), .n = 5},
    {OP_clip_loss, A2("1,6", "1,6", D_ANY, D_ANY)},
    {OP_clip_loss_grad, A3("N,4", "N,4", "", D_ANY, D_ANY, D_ANY), .ni = 1, .i = {1}, .no_vjp = 1},
    {OP_clip_loss_grad, A3("N,4", "N,4", "", D_ANY, D_ANY, D_ANY), .ni = 1, .i = {0}, .no_vjp = 1},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

/* ---- helpers ------------------------------------------------------------ */

static ir_shape parse_shape(const char *s) {
    ir_shape sh = {0};
    while (*s) {
        if (*s == 'N') sh.d[sh.rank++] = ir_dim_sym(0), s++;
        else if (*s == 'T') sh.d[sh.rank++] = ir_dim_sym(1), s++;
        else sh.d[sh.rank++] = ir_dim_const(strtoll(s, (char **)&s, 10));
        if (*s == ',') s++;
    }
    return sh;
}

typedef struct rng { uint64_t s; } rng;
static double rnd(rng *r) { /* [0, 1) */
    r->s ^= r->s << 13, r->s ^= r->s >> 7, r->s ^= r->s << 17;
    return (double)(r->s >> 11) / 9007199254740992.0;
}

static double draw(rng *r, gc_domain d, int classes) {
    switch (d) {
    case D_ANY: return 4 * rnd(r) - 2;
    case D_POS: return 0.5 + 1.5 * rnd(r);
    case D_AWAY: return (rnd(r) < 0.5 ? -1 : 1) * (0.2 + 1.8 * rnd(r));
    case D_TIES: return floor(5 * rnd(r)) - 2;
    case D_SIX: {
        const double v = -2 + 9.2 * rnd(r); /* [-2, 7.2) with the two 0.4-wide gaps cut out */
        return v < -0.2 ? v : v < 5.4 ? v + 0.4 : v + 0.8;
    }
    case D_FRAC: return floor(6 * rnd(r)) - 3 + (rnd(r) < 0.5 ? 0.1 : 0.6) + 0.3 * rnd(r);
    case D_BOOL: return rnd(r) < 0.5;
    case D_LABEL: return floor(classes * rnd(r));
    case D_BOXES: return 7 * rnd(r) - 1;
    }
    return 0;
}

static void describe(char *buf, int len, const gc_case *c) {
    int p = snprintf(buf, (size_t)len, "%s(", ir_ops[c->op].name);
    for (int k = 0; k < 6 && c->shape[k]; k++) p += snprintf(buf + p, (size_t)(len - p), "%s[%s]", k ? ", " : "", c->shape[k]);
    p += snprintf(buf + p, (size_t)(len - p), ")");
    if (c->ni) {
        p += snprintf(buf + p, (size_t)(len - p), " i=");
        for (int k = 0; k < c->ni; k++) p += snprintf(buf + p, (size_t)(len - p), "%s%lld", k ? "," : "", (long long)c->i[k]);
    }
    if (c->f0) p += snprintf(buf + p, (size_t)(len - p), " f0=%g", c->f0);
    if (c->target) p += snprintf(buf + p, (size_t)(len - p), " to [%s]", c->target);
    snprintf(buf + p, (size_t)(len - p), " N=%lld", (long long)(c->n ? c->n : 3));
}

/* The graph of one case: inputs (a, b, c, ..., R), loss, input gradients. */
typedef struct gc_graph {
    arena ar;
    ir_graph *g;
    int n_in;              /* op operands (R is input n_in) */
    int wrt[6], n_wrt;
    int64_t sym[IR_MAX_SYMS];
    double *vals[7];
    int64_t numel[7];
} gc_graph;

static int build(gc_graph *gg, const gc_case *c, char *why, int whylen) {
    memset(gg, 0, sizeof *gg);
    ir_module *m = ir_module_new(&gg->ar, "gc");
    ir_graph *g = gg->g = ir_graph_new(m, "gradcheck", IR_MODE_TRAIN);
    for (int s = 0; s < IR_MAX_SYMS; s++) gg->sym[s] = 1;
    gg->sym[0] = c->n ? c->n : 3;
    gg->sym[1] = 2;
    ir_node *in[6];
    static const char *names[] = {"a", "b", "c", "d", "e", "f"};
    for (int k = 0; k < 6 && c->shape[k]; k++) {
        ir_shape sh = parse_shape(c->shape[k]);
        ir_dtype dt = c->dom[k] == D_LABEL ? IR_I32 : IR_F32;
        in[k] = ir_input_node(g, names[k], dt, &sh, (src_loc){0});
        if (c->dom[k] != D_LABEL && c->dom[k] != D_BOOL && c->dom[k] != D_BOXES) gg->wrt[gg->n_wrt++] = k;
        gg->n_in++;
    }
    ir_attrs a = {.ni = c->ni, .nf = 2, .f = {c->f0, c->f1}, .conv = c->conv};
    memcpy(a.i, c->i, sizeof c->i);
    if (ir_ops[c->op].family == IR_FAM_attention) a.attention = c->attn, a.ni = 4, a.nf = 1;
    if (c->target) {
        ir_shape t = parse_shape(c->target);
        ir_attrs_set_shape(&a, 0, &t);
    }
    ir_node *own[4], **operands = in;
    int n_operands = gg->n_in;
    if (c->own_stats) { /* x, batch_stats(x), weight, bias */
        own[0] = in[0], own[1] = ir_un(g, OP_batch_stats, in[0]), own[2] = in[1], own[3] = in[2];
        operands = own, n_operands = 4;
    }
    ir_node *y = ir_add(g, NULL, (src_loc){0}, c->op, operands, n_operands, &a);
    if (!y) return snprintf(why, (size_t)whylen, "the shape rule rejected the case"), 0;
    if (y->dtype == IR_I32) y = ir_un(g, OP_cast_f32, y); /* integer results (indices): zero gradient */
    ir_node *r = ir_input_node(g, "R", IR_F32, &y->shape, (src_loc){0});
    uint32_t all = (1u << y->shape.rank) - 1;
    ir_node *loss = ir_reduce_sum(g, ir_bin(g, OP_mul, y, r), all, 0);
    ir_add_output(g, IR_OUT_LOSS, 0, "loss", loss);
    if (ad_differentiate(g, loss, gg->wrt, gg->n_wrt, NULL) != 0)
        return c->no_vjp ? -1 : (snprintf(why, (size_t)whylen, "ad_differentiate failed"), 0);
    if (c->no_vjp) return snprintf(why, (size_t)whylen, "ad_differentiate succeeded for an op without a VJP"), 0;
    if (!ir_verify(g)) return snprintf(why, (size_t)whylen, "the differentiated graph does not verify"), 0;
    rng rg = {0x9E3779B97F4A7C15ull ^ (uint64_t)c->op * 7919u};
    for (int k = 0; k <= gg->n_in; k++) {
        const ir_input *ii = &g->inputs[k];
        gg->numel[k] = ir_dim_eval(ir_shape_numel(&ii->shape), gg->sym);
        gg->vals[k] = malloc(sizeof(double) * (size_t)(gg->numel[k] ? gg->numel[k] : 1));
        gc_domain dom = k < gg->n_in ? c->dom[k] : D_ANY;
        for (int64_t e = 0; e < gg->numel[k]; e++) gg->vals[k][e] = draw(&rg, dom, c->classes);
    }
    return 1;
}

static void gc_free(gc_graph *gg) {
    for (int k = 0; k < 7; k++) free(gg->vals[k]);
    arena_free(&gg->ar);
}

static int find_output(const ir_graph *g, ir_out_kind kind, int index) {
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i].kind == kind && g->outputs[i].index == index) return i;
    return -1;
}

static double eval_loss(gc_graph *gg) {
    interp_state s;
    double loss = NAN;
    if (interp_run(&s, gg->g, gg->sym, gg->vals, NULL, 1) == 0) loss = interp_output(&s, find_output(gg->g, IR_OUT_LOSS, 0))[0];
    interp_free(&s);
    return loss;
}

/* The analytic gradients of every wrt input, concatenated (malloc'ed). */
static double *eval_grads(gc_graph *gg, int64_t *total) {
    interp_state s;
    *total = 0;
    for (int w = 0; w < gg->n_wrt; w++) *total += gg->numel[gg->wrt[w]];
    double *out = calloc((size_t)(*total ? *total : 1), sizeof(double));
    if (interp_run(&s, gg->g, gg->sym, gg->vals, NULL, 1) == 0) {
        int64_t p = 0;
        for (int w = 0; w < gg->n_wrt; w++) {
            int o = find_output(gg->g, IR_OUT_INPUT_GRAD, gg->wrt[w]);
            const double *gv = o >= 0 ? interp_output(&s, o) : NULL;
            for (int64_t e = 0; e < gg->numel[gg->wrt[w]]; e++) out[p++] = gv ? gv[e] : NAN;
        }
    } else {
        for (int64_t e = 0; e < *total; e++) out[e] = NAN;
    }
    interp_free(&s);
    return out;
}

/* The gradient a custom-gradient op declares for input k, element e, where
 * the loss is sum(y * R): with_grad's surrogate gets R, its value nothing;
 * clamp_grad passes R clamped to its bounds. */
static double declared_grad(const gc_graph *gg, const gc_case *c, int k, int64_t e) {
    double r = gg->vals[gg->n_in][e];
    if (c->op == OP_with_grad) return k == 1 ? r : 0;
    return fmin(fmax(r, c->f0), c->f1);
}

static double rel_err(double a, double b) {
    double scale = fmax(1.0, fmax(fabs(a), fabs(b)));
    double e = fabs(a - b) / scale;
    return isnan(e) ? INFINITY : e;
}

/* ---- tests -------------------------------------------------------------- */

static void test_all_cases(void) {
    const double h = 1e-6, tol = 1e-6;
    int failed = 0;
    int64_t checked = 0;
    double worst_overall = 0;
    for (int ci = 0; ci < N_CASES; ci++) {
        const gc_case *c = &cases[ci];
        char desc[200], why[200] = "";
        describe(desc, sizeof desc, c);
        gc_graph gg;
        int built = build(&gg, c, why, sizeof why);
        if (built < 0) { /* failed as it must (no_vjp) */
            gc_free(&gg);
            continue;
        }
        if (!built) {
            printf("\n  gradcheck %s: %s", desc, why);
            failed++;
            gc_free(&gg);
            continue;
        }
        int64_t total;
        double *ana = eval_grads(&gg, &total);
        double worst = 0, worst_a = 0, worst_n = 0;
        int64_t worst_e = -1;
        const char *worst_in = "";
        int64_t p = 0;
        for (int w = 0; w < gg.n_wrt; w++) {
            int k = gg.wrt[w];
            for (int64_t e = 0; e < gg.numel[k]; e++, p++) {
                double keep = gg.vals[k][e], num = 0;
                if (c->declared) {
                    num = declared_grad(&gg, c, k, e);
                } else if (!c->zero_grad) {
                    gg.vals[k][e] = keep + h;
                    double lp = eval_loss(&gg);
                    gg.vals[k][e] = keep - h;
                    double lm = eval_loss(&gg);
                    gg.vals[k][e] = keep;
                    num = (lp - lm) / (2 * h);
                }
                double err = rel_err(ana[p], num);
                if (err > worst || worst_e < 0) {
                    worst = err, worst_a = ana[p], worst_n = num, worst_e = e;
                    worst_in = gg.g->inputs[k].name;
                }
            }
        }
        checked += p;
        if (worst > worst_overall) worst_overall = worst;
        if (getenv("GRADCHECK_VERBOSE")) printf("\n  %-50s worst error %.3g", desc, worst);
        if (worst > tol) {
            printf("\n  gradcheck %s: d/d%s[%lld] analytic %.12g vs numeric %.12g (error %.3g)", desc, worst_in,
                   (long long)worst_e, worst_a, worst_n, worst);
            failed++;
        }
        /* The simplifying passes must not change any gradient. */
        pass_fold(gg.g);
        pass_cse(gg.g);
        pass_dce(gg.g);
        if (!ir_verify(gg.g)) {
            printf("\n  gradcheck %s: graph does not verify after fold/cse/dce", desc);
            failed++;
        } else {
            int64_t total2;
            double *after = eval_grads(&gg, &total2);
            for (int64_t e = 0; e < total; e++)
                if (rel_err(after[e], ana[e]) > 1e-12) {
                    printf("\n  gradcheck %s: fold/cse/dce changed gradient element %lld: %.15g -> %.15g", desc,
                           (long long)e, ana[e], after[e]);
                    failed++;
                    break;
                }
            free(after);
        }
        free(ana);
        gc_free(&gg);
    }
    if (getenv("GRADCHECK_VERBOSE"))
        printf("\n  %d cases, %lld gradient elements, worst error %.3g\n", N_CASES, (long long)checked, worst_overall);
    CU_ASSERT_EQUAL(failed, 0);
}

/* Adding an op to ops.def without a gradient check here fails this test. */
static void test_every_op_has_a_case(void) {
    for (int op = 0; op < OP__COUNT; op++) {
        if (ir_ops[op].kind == IR_SOURCE) continue; /* no inputs, nothing to differentiate */
        if (op == OP_scan || op == OP_scan_part) continue; /* a loop: test_scan.c checks it at several lengths */
        int found = 0;
        for (int ci = 0; ci < N_CASES && !found; ci++) found = (int)cases[ci].op == op;
        if (!found) printf("\n  op '%s' has no gradcheck case", ir_ops[op].name);
        CU_ASSERT_TRUE(found);
    }
}

/* torch.amax semantics: tied maxima share the gradient equally (a central
 * difference cannot measure this for 3-way ties, so it is pinned here). */
static void test_reduce_max_ties(void) {
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "t");
    ir_graph *g = ir_graph_new(m, "g", IR_MODE_TRAIN);
    ir_shape s = {1, {{4, 0}}};
    ir_node *x = ir_input_node(g, "x", IR_F32, &s, (src_loc){0});
    ir_attrs a = {.i = {1, 0}, .ni = 2};
    ir_node *loss = ir_op_attrs(g, OP_reduce_max, &x, 1, &a);
    ir_add_output(g, IR_OUT_LOSS, 0, "loss", loss);
    int wrt = 0;
    CU_ASSERT_EQUAL(ad_differentiate(g, loss, &wrt, 1, NULL), 0);
    double xv[4] = {1, 3, 3, 3}, *ins[1] = {xv};
    interp_state st;
    CU_ASSERT_EQUAL(interp_run(&st, g, NULL, ins, NULL, 1), 0);
    const double *gx = interp_output(&st, 1);
    CU_ASSERT_DOUBLE_EQUAL(gx[0], 0, 1e-15);
    for (int i = 1; i < 4; i++) CU_ASSERT_DOUBLE_EQUAL(gx[i], 1.0 / 3, 1e-15);
    interp_free(&st);
    arena_free(&ar);
}

/* scatter_max as torch.scatter_reduce("amax", include_self=False) into zeros:
 * tied maxima of a segment share its gradient, an empty segment is 0 and a
 * segment of negative numbers keeps its (negative) maximum. */
static void test_scatter_max_ties(void) {
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "t");
    ir_graph *g = ir_graph_new(m, "g", IR_MODE_TRAIN);
    ir_shape s = {1, {{6, 0}}};
    ir_node *in[2] = {ir_input_node(g, "x", IR_F32, &s, (src_loc){0}), ir_input_node(g, "i", IR_I32, &s, (src_loc){0})};
    ir_attrs a = {.gather = {.axis = 0, .len = ir_dim_pack(ir_dim_const(4))}, .ni = 2};
    ir_node *y = ir_op_attrs(g, OP_scatter_max, in, 2, &a);
    ir_shape ws = {1, {{4, 0}}};
    ir_node *w = ir_input_node(g, "w", IR_F32, &ws, (src_loc){0});
    ir_node *loss = ir_reduce_sum(g, ir_bin(g, OP_mul, y, w), 1, 0);
    ir_add_output(g, IR_OUT_VALUE, 0, "y", y);
    ir_add_output(g, IR_OUT_LOSS, 0, "loss", loss);
    int wrt = 0;
    CU_ASSERT_EQUAL(ad_differentiate(g, loss, &wrt, 1, NULL), 0);
    double xv[6] = {1, 3, 3, -2, -5, 3}, iv[6] = {0, 0, 0, 3, 3, 0}, wv[4] = {1, 2, 3, 4}, *ins[3] = {xv, iv, wv};
    interp_state st;
    CU_ASSERT_EQUAL_FATAL(interp_run(&st, g, NULL, ins, NULL, 1), 0);
    const double *yv = interp_output(&st, 0), *gx = interp_output(&st, 2);
    const double want_y[4] = {3, 0, 0, -2}, want_g[6] = {0, 1.0 / 3, 1.0 / 3, 4, 0, 1.0 / 3};
    for (int i = 0; i < 4; i++) CU_ASSERT_DOUBLE_EQUAL(yv[i], want_y[i], 1e-15);
    for (int i = 0; i < 6; i++) CU_ASSERT_DOUBLE_EQUAL(gx[i], want_g[i], 1e-15);
    interp_free(&st);
    arena_free(&ar);
}

/* grad(y, x) as a value, then differentiated again: the backward graph is
 * ordinary IR, so second derivatives come for free. d/dx sum(R2 * d/dx
 * sum(R1 * tanh(x))) = R2 * R1 * (-2 tanh(x) (1 - tanh(x)^2)). */
static void test_second_order(void) {
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "t");
    ir_graph *g = ir_graph_new(m, "g", IR_MODE_TRAIN);
    ir_shape s = {2, {{1, 1}, {3, 0}}};
    ir_node *x = ir_input_node(g, "x", IR_F32, &s, (src_loc){0});
    ir_node *r1 = ir_input_node(g, "r1", IR_F32, &s, (src_loc){0});
    ir_node *r2 = ir_input_node(g, "r2", IR_F32, &s, (src_loc){0});
    ir_node *y = ir_reduce_sum(g, ir_bin(g, OP_mul, ir_un(g, OP_tanh, x), r1), 3, 0);
    ir_node *gx = ad_grad_value(g, y, x, NULL, (src_loc){0});
    CU_ASSERT_PTR_NOT_NULL_FATAL(gx);
    ir_node *loss = ir_reduce_sum(g, ir_bin(g, OP_mul, gx, r2), 3, 0);
    ir_add_output(g, IR_OUT_LOSS, 0, "loss", loss);
    int wrt = 0;
    CU_ASSERT_EQUAL(ad_differentiate(g, loss, &wrt, 1, NULL), 0);
    CU_ASSERT_TRUE(ir_verify(g));
    int64_t sym[IR_MAX_SYMS] = {2, 1, 1, 1, 1, 1, 1, 1};
    double xv[6] = {0.1, -0.5, 1.2, 0.7, -1.5, 0.3}, a[6] = {1, 2, -1, 0.5, 3, -2}, b[6] = {0.3, -1, 2, 1, -0.5, 0.25};
    double *ins[3] = {xv, a, b};
    interp_state st;
    CU_ASSERT_EQUAL_FATAL(interp_run(&st, g, sym, ins, NULL, 1), 0);
    const double *g2 = interp_output(&st, 1);
    for (int i = 0; i < 6; i++) {
        double t = tanh(xv[i]);
        CU_ASSERT_DOUBLE_EQUAL(g2[i], b[i] * a[i] * (-2 * t * (1 - t * t)), 1e-12);
    }
    interp_free(&st);
    /* grad of a non-scalar is a user error, not a crash */
    CU_ASSERT_PTR_NULL(ad_grad_value(g, x, x, NULL, (src_loc){0}));
    arena_free(&ar);
}

/* Parameters: trainable ones get IR_OUT_GRAD (zeros when unreached), frozen ones none. */
static void test_param_outputs(void) {
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "t");
    ir_shape ws = {2, {{3, 0}, {2, 0}}}, xs = {2, {{1, 1}, {2, 0}}};
    ir_init init = {0};
    int w = ir_module_add_param(m, "w", ws, init, 1, (src_loc){0});
    int unused = ir_module_add_param(m, "unused", ws, init, 1, (src_loc){0});
    int frozen = ir_module_add_param(m, "frozen", ws, init, 0, (src_loc){0});
    CU_ASSERT_EQUAL(ir_module_add_param(m, "w", ws, init, 1, (src_loc){0}), -1);
    ir_graph *g = ir_graph_new(m, "train_step", IR_MODE_TRAIN);
    ir_node *x = ir_input_node(g, "x", IR_F32, &xs, (src_loc){0});
    ir_node *h = ir_matmul(g, x, ir_param_node(g, w, (src_loc){0}), 0, 1);
    h = ir_bin(g, OP_add, h, ir_matmul(g, x, ir_param_node(g, frozen, (src_loc){0}), 0, 1));
    CU_ASSERT_PTR_EQUAL(ir_param_node(g, w, (src_loc){0}), ir_param_node(g, w, (src_loc){0}));
    ir_node *loss = ir_reduce_sum(g, h, 3, 0);
    CU_ASSERT_EQUAL(ad_differentiate(g, loss, NULL, 0, NULL), 0);
    CU_ASSERT_EQUAL(g->n_outputs, 2);
    CU_ASSERT_EQUAL(g->outputs[0].kind, IR_OUT_GRAD);
    CU_ASSERT_EQUAL(g->outputs[0].index, w);
    CU_ASSERT_EQUAL(g->outputs[1].index, unused);
    CU_ASSERT_EQUAL(g->outputs[1].node->op, OP_constant);
    CU_ASSERT_TRUE(ir_verify(g));
    arena_free(&ar);
}

void suite_gradcheck(void) {
    CU_pSuite s = CU_add_suite("gradcheck", NULL, NULL);
    CU_add_test(s, "every op, central differences", test_all_cases);
    CU_add_test(s, "every op has a case", test_every_op_has_a_case);
    CU_add_test(s, "reduce_max splits ties", test_reduce_max_ties);
    CU_add_test(s, "scatter_max splits ties, fills empty segments with 0", test_scatter_max_ties);
    CU_add_test(s, "second order via grad value", test_second_order);
    CU_add_test(s, "parameter gradient outputs", test_param_outputs);
}
