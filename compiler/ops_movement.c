/* ops_movement.c — data movement for convolutional networks: concat, slice,
 * pad, upsample, and the adjoints their gradients need (slice_grad,
 * pad_grad, upsample_grad).
 *
 * Why adjoint primitives rather than formulas: the gradient of a slice is a
 * scatter into zeros, of a reflect pad a scatter-add, of an upsample a
 * scatter-add over the pixels each source pixel fed. Written with existing
 * ops these would be chains of concats of zeros or one-hot matmuls; as one
 * op each they are a single readable loop. Each adjoint is linear, and its
 * own VJP is the forward op again (slice <-> slice_grad, pad <-> pad_grad,
 * upsample <-> upsample_grad), so second derivatives work as well.
 *
 * The IR keeps these ops simple: attributes are normalized (Python's
 * negative and out-of-range slice bounds are resolved by elaboration), the
 * moved dimensions are compile-time constants (the batch N may appear
 * elsewhere), and everything is f32 but a slice or concat of i32 tensors. Semantics are PyTorch's (torch.cat,
 * narrow/slicing, F.pad, nn.Upsample with an integer scale_factor). Costs:
 * pure copies are free; the adjoints and bilinear count their adds. */
#include <stdint.h>

#include "ops_impl.h"
#include "ops_movement.h"

static int all_f32(const ir_node *n, char *err, int errlen) {
    for (int k = 0; k < n->nin; k++)
        if (!ops_require_f32(n, k, err, errlen)) return 0;
    return 1;
}

/* The dimension of x moved along `axis` must be known at compile time (concat,
 * split and chunk along a run-time axis k·N are views of it as [k, N]: elab_movement.c). */
static int const_dim(const ir_node *n, const ir_node *x, int axis, char *err, int errlen) {
    if (ir_dim_is_const(x->shape.d[axis])) return 1;
    char b[OPS_TYPE_BUF];
    return ops_fail(err, errlen, "%s: dimension %d of %s is a run-time size\nhint: only dimensions known at compile "
                    "time can be sliced, padded, resized or concatenated%s", ir_ops[n->op].name, axis, ops_type(b, x),
                    axis > 0 ? "; a neighbour along a run-time time axis (GAE's next value, a shift by one step) is a "
                    "carry of a scan: vn = zeros(N) then scan reverse vt in v carry vn { ... vn = vt }" : "");
}

/* concat's, slice's or slice_grad's axis. */
static int64_t axis_of(const ir_node *n) { return n->op == OP_concat ? n->a.concat.axis : n->a.slice.axis; }

static int axis_attr(const ir_node *n, const ir_node *x, char *err, int errlen) {
    char b[OPS_TYPE_BUF];
    if (n->a.ni < 1 || axis_of(n) < 0 || axis_of(n) >= x->shape.rank)
        return ops_fail(err, errlen, "%s: axis %lld is out of range for %s", ir_ops[n->op].name,
                        (long long)(n->a.ni ? axis_of(n) : -1), ops_type(b, x));
    return 1;
}

/* ---- concat ---------------------------------------------------------------- */

/* concat(x0, x1, ...; axis): equal shapes except along axis, whose sizes add. */
int op_shape_concat(ir_node *n, char *err, int errlen) {
    if (n->nin < 1) return ops_fail(err, errlen, "concat: needs at least one tensor");
    /* i32 tensors join each other (ids, index columns: stack, roll), never f32 ones */
    int ids = 1;
    for (int k = 0; k < n->nin; k++) ids &= n->in[k]->dtype == IR_I32;
    if (!ids && !all_f32(n, err, errlen)) return 0;
    const ir_node *x0 = n->in[0];
    if (x0->shape.rank < 1) return ops_fail(err, errlen, "concat: cannot concatenate scalars\nhint: use stack for scalars");
    if (!axis_attr(n, x0, err, errlen)) return 0;
    int axis = (int)n->a.concat.axis;
    int64_t total = 0;
    for (int k = 0; k < n->nin; k++) {
        const ir_node *x = n->in[k];
        char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
        int same = x->shape.rank == x0->shape.rank;
        for (int d = 0; same && d < x0->shape.rank; d++)
            same = d == axis || ir_dim_eq(x->shape.d[d], x0->shape.d[d]);
        if (!same)
            return ops_fail(err, errlen, "concat: cannot join %s and %s along axis %d\nhint: all dimensions except "
                            "axis %d must be equal", ops_type(b1, x0), ops_type(b2, x), axis, axis);
        if (!const_dim(n, x, axis, err, errlen)) return 0;
        total += x->shape.d[axis].k;
    }
    n->dtype = x0->dtype;
    n->shape = x0->shape;
    n->shape.d[axis] = ir_dim_const(total);
    return 1;
}

double op_flops_concat(const ir_node *n, const int64_t *sv) { return ops_flops_none(n, sv); }

static ir_node *make_slice(ir_graph *g, ir_node *x, int64_t axis, int64_t start, int64_t step, int64_t count) {
    ir_attrs a = {.slice = {.axis = axis, .start = start, .step = step, .count = count}, .ni = 4};
    return ir_op_attrs(g, OP_slice, &x, 1, &a);
}

/* Each input's gradient is its slab of gy. */
void op_vjp_concat(ad_ctx *c, ir_node *n, ir_node *gy) {
    int64_t axis = n->a.concat.axis, at = 0;
    for (int k = 0; k < n->nin; k++) {
        int64_t len = n->in[k]->shape.d[axis].k;
        if (ad_wants(c, n->in[k])) ad_accum(c, n->in[k], make_slice(c->g, gy, axis, at, 1, len));
        at += len;
    }
}

/* ---- slice and its adjoint ------------------------------------------------------ */

/* Common to slice (length from x) and slice_grad (length in its count): `count`
 * positions start, start+step, ... must lie in [0, len). */
static int check_range(const ir_node *n, int64_t len, int64_t count, char *err, int errlen) {
    int64_t start = n->a.slice.start, step = n->a.slice.step;
    if (step < 1) return ops_fail(err, errlen, "%s: step must be at least 1, got %lld", ir_ops[n->op].name, (long long)step);
    if (count < 1 || start < 0 || start + (count - 1) * step >= len)
        return ops_fail(err, errlen, "%s: %lld positions from %lld in steps of %lld do not fit in a dimension of size %lld",
                        ir_ops[n->op].name, (long long)count, (long long)start, (long long)step, (long long)len);
    return 1;
}

/* slice also cuts i32 tensors (token ids, packed index columns: `ids[:, 0]`),
 * a plain copy of 4-byte elements; they get no gradient, so slice_grad stays f32. */
int op_shape_slice(ir_node *n, char *err, int errlen) {
    const ir_node *x = n->in[0];
    if ((x->dtype != IR_I32 && !all_f32(n, err, errlen)) || !axis_attr(n, x, err, errlen)) return 0;
    if (n->a.ni != 4) return ops_fail(err, errlen, "slice: needs axis, start, step, count in i[0..3]");
    int axis = (int)n->a.slice.axis;
    if (!const_dim(n, x, axis, err, errlen) || !check_range(n, x->shape.d[axis].k, n->a.slice.count, err, errlen))
        return 0;
    n->dtype = x->dtype;
    n->shape = x->shape;
    n->shape.d[axis] = ir_dim_const(n->a.slice.count);
    return 1;
}

int op_shape_slice_grad(ir_node *n, char *err, int errlen) {
    const ir_node *g = n->in[0];
    if (!all_f32(n, err, errlen) || !axis_attr(n, g, err, errlen)) return 0;
    if (n->a.ni != 4) return ops_fail(err, errlen, "slice_grad: needs axis, start, step, length in i[0..3]");
    int axis = (int)n->a.slice.axis;
    if (!const_dim(n, g, axis, err, errlen) || !check_range(n, n->a.slice.count, g->shape.d[axis].k, err, errlen))
        return 0;
    n->dtype = IR_F32;
    n->shape = g->shape;
    n->shape.d[axis] = ir_dim_const(n->a.slice.count);
    return 1;
}

double op_flops_slice(const ir_node *n, const int64_t *sv) { return ops_flops_none(n, sv); }
double op_flops_slice_grad(const ir_node *n, const int64_t *sv) { return ops_flops_none(n, sv); }

void op_vjp_slice(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_attrs a = n->a;
    a.slice.count = n->in[0]->shape.d[n->a.slice.axis].k; /* slice_grad: the length it scatters into */
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_slice_grad, &gy, 1, &a));
}

void op_vjp_slice_grad(ad_ctx *c, ir_node *n, ir_node *gy) {
    int64_t axis = n->a.slice.axis;
    ad_accum(c, n->in[0], make_slice(c->g, gy, axis, n->a.slice.start, n->a.slice.step, n->in[0]->shape.d[axis].k));
}

/* ---- pad and its adjoint --------------------------------------------------------- */

static const char *pad_mode_name(int64_t m) {
    return m == MV_PAD_CONSTANT ? "constant" : m == MV_PAD_REFLECT ? "reflect" : "replicate";
}

/* Shared by pad (sign +1: x -> padded) and pad_grad (sign -1: padded -> x).
 * `from` is the input's shape; the padded dims are its last k. */
static int pad_shape(ir_node *n, int sign, char *err, int errlen) {
    const ir_node *x = n->in[0];
    const char *op = ir_ops[n->op].name;
    char b[OPS_TYPE_BUF];
    if (!(sign > 0 && x->dtype == IR_I32) && !all_f32(n, err, errlen)) return 0; /* pad copies i32 ids too */
    int64_t mode = n->a.ni > 0 ? n->a.pad.mode : -1, k = n->a.ni > 1 ? n->a.pad.dims : -1;
    if (mode < MV_PAD_CONSTANT || mode > MV_PAD_REPLICATE) return ops_fail(err, errlen, "%s: unknown mode %lld", op, (long long)mode);
    if (k < 1 || k > MV_PAD_MAX_DIMS || n->a.ni != 2 + 2 * k)
        return ops_fail(err, errlen, "%s: needs mode, k (1..%d) and 2k pads in its attributes", op, MV_PAD_MAX_DIMS);
    if (k > x->shape.rank)
        return ops_fail(err, errlen, "%s: %lld pairs of pads for %s, which has only %d dimensions\nhint: pads come in "
                        "(left, right) pairs, last dimension first", op, (long long)k, ops_type(b, x), x->shape.rank);
    n->dtype = x->dtype;
    n->shape = x->shape;
    for (int j = 0; j < k; j++) {
        int d = x->shape.rank - 1 - j;
        int64_t l = n->a.pad.pads[2 * j], r = n->a.pad.pads[2 * j + 1];
        if (l == 0 && r == 0) continue;
        if (!const_dim(n, x, d, err, errlen)) return 0;
        /* bounded before the sum: pads of 2^63 - 1 overflowed it (UBSan; tests/fuzz/mutate_dln.py) */
        if (l < -INT32_MAX || l > INT32_MAX || r < -INT32_MAX || r > INT32_MAX)
            return ops_fail(err, errlen, "%s: pads (%lld, %lld) are beyond +-2147483647", op, (long long)l,
                            (long long)r);
        int64_t have = x->shape.d[d].k, out = have + sign * (l + r), len = sign > 0 ? have : out;
        if (mode != MV_PAD_CONSTANT && (l < 0 || r < 0))
            return ops_fail(err, errlen, "%s: negative pads (%lld, %lld) are only allowed in constant mode, not %s",
                            op, (long long)l, (long long)r, pad_mode_name(mode));
        if (len < 1 || out < 1)
            return ops_fail(err, errlen, "%s: pads (%lld, %lld) leave nothing of dimension %d of %s", op,
                            (long long)l, (long long)r, d, ops_type(b, x));
        if (mode == MV_PAD_REFLECT && (l >= len || r >= len))
            return ops_fail(err, errlen, "%s: reflect pads (%lld, %lld) must be smaller than dimension %d (size %lld)\n"
                            "hint: reflection does not repeat the edge, so at most size - 1 elements can be mirrored",
                            op, (long long)l, (long long)r, d, (long long)len);
        n->shape.d[d] = ir_dim_const(out);
    }
    return 1;
}

int op_shape_pad(ir_node *n, char *err, int errlen) { return pad_shape(n, +1, err, errlen); }
int op_shape_pad_grad(ir_node *n, char *err, int errlen) { return pad_shape(n, -1, err, errlen); }

double op_flops_pad(const ir_node *n, const int64_t *sv) { return ops_flops_none(n, sv); }
double op_flops_pad_grad(const ir_node *n, const int64_t *sv) { return ops_numel(&n->in[0]->shape, sv); }

void op_vjp_pad(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_attrs a = n->a;
    a.nf = 0; /* the fill value has no gradient */
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_pad_grad, &gy, 1, &a));
}

void op_vjp_pad_grad(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_attrs a = n->a;
    a.pad.value = 0, a.nf = 1;
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_pad, &gy, 1, &a));
}

/* ---- upsample and its adjoint -------------------------------------------------------- */

static int up_shape(ir_node *n, int grow, char *err, int errlen) {
    const ir_node *x = n->in[0];
    const char *op = ir_ops[n->op].name;
    char b[OPS_TYPE_BUF];
    if (!all_f32(n, err, errlen)) return 0;
    const ir_attrs_upsample *u = &n->a.upsample;
    if ((n->a.ni != 4 && n->a.ni != 6) || u->mode < MV_UP_NEAREST || u->mode > MV_UP_BILINEAR || u->num_h < 1 ||
        u->num_w < 1 || MV_UP_DEN_H(&n->a) < 1 || MV_UP_DEN_W(&n->a) < 1)
        return ops_fail(err, errlen, "%s: needs mode, num_h >= 1, num_w >= 1, align_corners (and the "
                        "denominators den_h, den_w >= 1 when set)", op);
    if (x->shape.rank != 4)
        return ops_fail(err, errlen, "%s: expected f32[N, C, H, W], got %s\nhint: reshape a single image to "
                        "[1, C, H, W] first", op, ops_type(b, x));
    if (!const_dim(n, x, 2, err, errlen) || !const_dim(n, x, 3, err, errlen)) return 0;
    n->dtype = IR_F32;
    n->shape = x->shape;
    for (int j = 0; j < 2; j++) {
        int64_t have = x->shape.d[2 + j].k, num = j ? u->num_w : u->num_h, den = j ? MV_UP_DEN_W(&n->a) : MV_UP_DEN_H(&n->a);
        int64_t mul = grow ? num : den, div = grow ? den : num;
        if (have * mul % div != 0) {
            if (den == 1)
                return ops_fail(err, errlen, "%s: dimension %d of %s is not a multiple of the scale %lld", op, 2 + j,
                                ops_type(b, x), (long long)num);
            return ops_fail(err, errlen, "%s: dimension %d of %s times %lld/%lld is not a whole number", op, 2 + j,
                            ops_type(b, x), (long long)mul, (long long)div);
        }
        n->shape.d[2 + j] = ir_dim_const(have * mul / div);
    }
    return 1;
}

int op_shape_upsample(ir_node *n, char *err, int errlen) { return up_shape(n, 1, err, errlen); }
int op_shape_upsample_grad(ir_node *n, char *err, int errlen) { return up_shape(n, 0, err, errlen); }

/* bilinear: 4 multiplies and 3 adds (plus the weight products) per output. */
double op_flops_upsample(const ir_node *n, const int64_t *sv) {
    return n->a.upsample.mode == MV_UP_BILINEAR ? 8 * ops_numel(&n->shape, sv) : 0;
}
double op_flops_upsample_grad(const ir_node *n, const int64_t *sv) {
    return (n->a.upsample.mode == MV_UP_BILINEAR ? 8 : 1) * ops_numel(&n->in[0]->shape, sv);
}

void op_vjp_upsample(ad_ctx *c, ir_node *n, ir_node *gy) {
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_upsample_grad, &gy, 1, &n->a));
}

void op_vjp_upsample_grad(ad_ctx *c, ir_node *n, ir_node *gy) {
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_upsample, &gy, 1, &n->a));
}

/* ---- roi_align and its adjoint ---------------------------------------------------------- */

/* x f32[N, C, H, W] (or the adjoint's gy f32[N, R, C, PH, PW]) and boxes
 * f32[N, R, 4], C, H, W, R constant, N the same on both. */
static int roi_shape(ir_node *n, int grad, char *err, int errlen) {
    const ir_node *x = n->in[0], *bx = n->in[1];
    const char *op = ir_ops[n->op].name;
    char b[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
    if (!all_f32(n, err, errlen)) return 0;
    if (x->shape.rank != (grad ? 5 : 4))
        return ops_fail(err, errlen, "%s: expected %s, got %s", op, grad ? "f32[N, R, C, PH, PW]" : "f32[N, C, H, W]",
                        ops_type(b, x));
    const ir_attrs_roi_align *ra = &n->a.roi_align;
    if (n->a.ni != 6 || ra->out_h < 1 || ra->out_w < 1 || ra->aligned < 0 || ra->aligned > 1 || ra->in_h < 1 || ra->in_w < 1)
        return ops_fail(err, errlen, "%s: needs out_h, out_w >= 1, sampling_ratio, aligned, in_h, in_w", op);
    for (int d = 1; d < x->shape.rank; d++)
        if (!const_dim(n, x, d, err, errlen)) return 0;
    if (bx->shape.rank != 3 || !ir_dim_eq(bx->shape.d[0], x->shape.d[0]) || !ir_dim_is_const(bx->shape.d[1]) ||
        !ir_dim_eq(bx->shape.d[2], ir_dim_const(4)))
        return ops_fail(err, errlen, "%s: the boxes must be f32[N, R, 4] (R boxes (x1, y1, x2, y2) per image, R known "
                        "at compile time) for x %s, got %s", op, ops_type(b, x), ops_type(b2, bx));
    if (grad && (!ir_dim_eq(x->shape.d[1], bx->shape.d[1]) || x->shape.d[3].k != ra->out_h || x->shape.d[4].k != ra->out_w))
        return ops_fail(err, errlen, "%s: the gradient %s does not match %lld boxes of %lld x %lld", op, ops_type(b, x),
                        (long long)bx->shape.d[1].k, (long long)ra->out_h, (long long)ra->out_w);
    if (!grad && (x->shape.d[2].k != ra->in_h || x->shape.d[3].k != ra->in_w))
        return ops_fail(err, errlen, "%s: in_h, in_w must be the input's H, W", op);
    n->dtype = IR_F32;
    if (grad) {
        n->shape = (ir_shape){.rank = 4, .d = {x->shape.d[0], x->shape.d[2], ir_dim_const(ra->in_h), ir_dim_const(ra->in_w)}};
    } else {
        n->shape = (ir_shape){.rank = 5, .d = {x->shape.d[0], bx->shape.d[1], x->shape.d[1], ir_dim_const(ra->out_h),
                                               ir_dim_const(ra->out_w)}};
    }
    return 1;
}

int op_shape_roi_align(ir_node *n, char *err, int errlen) { return roi_shape(n, 0, err, errlen); }
int op_shape_roi_align_grad(ir_node *n, char *err, int errlen) { return roi_shape(n, 1, err, errlen); }

/* per output value, 4 samples of 4 products each at the common sampling of 2 x 2 */
double op_flops_roi_align(const ir_node *n, const int64_t *sv) { return 32 * ops_numel(&n->shape, sv); }
double op_flops_roi_align_grad(const ir_node *n, const int64_t *sv) { return 32 * ops_numel(&n->in[0]->shape, sv); }

/* ---- grid_sample and its adjoints ------------------------------------------------------ */

/* grid_sample: x f32[N, C, H, W], grid f32[N, Ho, Wo, 2]; grid_sample_grad:
 * gy f32[N, C, Ho, Wo], grid; grid_sample_grad_grid: gy, x, grid. C, H, W,
 * Ho, Wo constant, N the same on all. */
static int grid_shape(ir_node *n, char *err, int errlen) {
    const char *op = ir_ops[n->op].name;
    const int which = n->op == OP_grid_sample ? 0 : n->op == OP_grid_sample_grad ? 1 : 2;
    const ir_node *grid = n->in[n->nin - 1], *x = which == 1 ? NULL : n->in[which == 2];
    const ir_node *gy = which ? n->in[0] : NULL;
    const ir_attrs_grid_sample *ga = &n->a.grid_sample;
    char b[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
    if (!all_f32(n, err, errlen)) return 0;
    if (x && x->shape.rank != 4) return ops_fail(err, errlen, "%s: expected x f32[N, C, H, W], got %s", op, ops_type(b, x));
    if (n->a.ni != 5 || ga->mode < 0 || ga->mode > 1 || ga->padding < 0 || ga->padding > 1 || ga->align_corners < 0 ||
        ga->align_corners > 1 || ga->in_h < 1 || ga->in_w < 1)
        return ops_fail(err, errlen, "%s: needs mode, padding, align_corners and in_h, in_w >= 1", op);
    if (grid->shape.rank != 4 || !ir_dim_eq(grid->shape.d[3], ir_dim_const(2)))
        return ops_fail(err, errlen, "%s: the grid must be f32[N, Ho, Wo, 2] (x then y, in [-1, 1]), got %s", op,
                        ops_type(b, grid));
    for (int d = 1; d < 3; d++)
        if (!const_dim(n, grid, d, err, errlen)) return 0;
    const ir_node *lead = x ? x : gy;
    for (int d = 1; d < 4; d++)
        if (!const_dim(n, lead, d, err, errlen)) return 0;
    if (!ir_dim_eq(lead->shape.d[0], grid->shape.d[0]))
        return ops_fail(err, errlen, "%s: x %s and the grid %s have different batch sizes", op, ops_type(b, lead),
                        ops_type(b2, grid));
    if (x && (x->shape.d[2].k != ga->in_h || x->shape.d[3].k != ga->in_w))
        return ops_fail(err, errlen, "%s: in_h, in_w must be the input's H, W", op);
    const ir_shape y = {.rank = 4, .d = {grid->shape.d[0], lead->shape.d[1], grid->shape.d[1], grid->shape.d[2]}};
    if (gy && !ir_shape_eq(&gy->shape, &y))
        return ops_fail(err, errlen, "%s: the gradient %s does not match the grid %s", op, ops_type(b, gy),
                        ops_type(b2, grid));
    n->dtype = IR_F32;
    if (which == 0) n->shape = y;
    else if (which == 1) n->shape = (ir_shape){.rank = 4, .d = {y.d[0], y.d[1], ir_dim_const(ga->in_h), ir_dim_const(ga->in_w)}};
    else n->shape = grid->shape;
    return 1;
}

int op_shape_grid_sample(ir_node *n, char *err, int errlen) { return grid_shape(n, err, errlen); }
int op_shape_grid_sample_grad(ir_node *n, char *err, int errlen) { return grid_shape(n, err, errlen); }
int op_shape_grid_sample_grad_grid(ir_node *n, char *err, int errlen) { return grid_shape(n, err, errlen); }

/* per output value: bilinear, 4 weights and 4 products (about 12); nearest, a copy */
static double grid_flops(const ir_node *n, const ir_shape *y, const int64_t *sv) {
    return (n->a.grid_sample.mode == MV_GRID_BILINEAR ? 12 : 1) * ops_numel(y, sv);
}
double op_flops_grid_sample(const ir_node *n, const int64_t *sv) { return grid_flops(n, &n->shape, sv); }
double op_flops_grid_sample_grad(const ir_node *n, const int64_t *sv) { return grid_flops(n, &n->in[0]->shape, sv); }
double op_flops_grid_sample_grad_grid(const ir_node *n, const int64_t *sv) { return grid_flops(n, &n->in[0]->shape, sv); }

/* x: the adjoint scatters gy back along the same weights; the grid (bilinear
 * only): the slope of the bilinear surface, as torch. nearest is piecewise
 * constant in the grid: no gradient (torch gives zeros). */
void op_vjp_grid_sample(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *in[3] = {gy, n->in[1]};
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_grid_sample_grad, in, 2, &n->a));
    if (n->a.grid_sample.mode != MV_GRID_BILINEAR) return;
    in[1] = n->in[0], in[2] = n->in[1];
    ad_accum(c, n->in[1], ir_op_attrs(c->g, OP_grid_sample_grad_grid, in, 3, &n->a));
}

void op_vjp_grid_sample_grad(ad_ctx *c, ir_node *n, ir_node *gy) {
    (void)n, (void)gy;
    ad_fail(c, "grid_sample: no second derivative (the gradient of grid_sample's gradient is not implemented)");
}

void op_vjp_grid_sample_grad_grid(ad_ctx *c, ir_node *n, ir_node *gy) { op_vjp_grid_sample_grad(c, n, gy); }

/* ---- roi_pool and its adjoint ----------------------------------------------------------- */

/* x f32[N, C, H, W] and boxes f32[N, R, 4] as roi_align's; the adjoint
 * also takes the gradient gy f32[N, R, C, PH, PW] first, since where each
 * bin's maximum lies depends on x. */
static int roi_pool_shape(ir_node *n, int grad, char *err, int errlen) {
    const ir_node *x = n->in[grad], *bx = n->in[grad + 1], *gy = grad ? n->in[0] : NULL;
    const char *op = ir_ops[n->op].name;
    char b[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
    if (!all_f32(n, err, errlen)) return 0;
    if (x->shape.rank != 4) return ops_fail(err, errlen, "%s: expected f32[N, C, H, W], got %s", op, ops_type(b, x));
    const ir_attrs_roi_pool *ra = &n->a.roi_pool;
    if (n->a.ni != 4 || ra->out_h < 1 || ra->out_w < 1 || ra->in_h < 1 || ra->in_w < 1)
        return ops_fail(err, errlen, "%s: needs out_h, out_w, in_h, in_w >= 1 and spatial_scale", op);
    for (int d = 1; d < 4; d++)
        if (!const_dim(n, x, d, err, errlen)) return 0;
    if (x->shape.d[2].k != ra->in_h || x->shape.d[3].k != ra->in_w)
        return ops_fail(err, errlen, "%s: in_h, in_w must be the input's H, W", op);
    if (bx->shape.rank != 3 || !ir_dim_eq(bx->shape.d[0], x->shape.d[0]) || !ir_dim_is_const(bx->shape.d[1]) ||
        !ir_dim_eq(bx->shape.d[2], ir_dim_const(4)))
        return ops_fail(err, errlen, "%s: the boxes must be f32[N, R, 4] (R boxes (x1, y1, x2, y2) per image, R known "
                        "at compile time) for x %s, got %s", op, ops_type(b, x), ops_type(b2, bx));
    const ir_shape y = {.rank = 5, .d = {x->shape.d[0], bx->shape.d[1], x->shape.d[1], ir_dim_const(ra->out_h),
                                         ir_dim_const(ra->out_w)}};
    if (grad && !ir_shape_eq(&gy->shape, &y))
        return ops_fail(err, errlen, "%s: the gradient %s does not match %lld boxes of %lld x %lld", op, ops_type(b, gy),
                        (long long)bx->shape.d[1].k, (long long)ra->out_h, (long long)ra->out_w);
    n->dtype = IR_F32;
    n->shape = grad ? x->shape : y;
    return 1;
}

int op_shape_roi_pool(ir_node *n, char *err, int errlen) { return roi_pool_shape(n, 0, err, errlen); }
int op_shape_roi_pool_grad(ir_node *n, char *err, int errlen) { return roi_pool_shape(n, 1, err, errlen); }

/* a comparison per pixel of the bin: a bin covers about (H / PH) x (W / PW) of a box's pixels at most */
double op_flops_roi_pool(const ir_node *n, const int64_t *sv) {
    const ir_attrs_roi_pool *ra = &n->a.roi_pool;
    return ops_numel(&n->shape, sv) * (double)((ra->in_h + ra->out_h - 1) / ra->out_h * ((ra->in_w + ra->out_w - 1) / ra->out_w));
}
double op_flops_roi_pool_grad(const ir_node *n, const int64_t *sv) {
    const ir_attrs_roi_pool *ra = &n->a.roi_pool;
    return ops_numel(&n->in[0]->shape, sv) *
           (double)((ra->in_h + ra->out_h - 1) / ra->out_h * ((ra->in_w + ra->out_w - 1) / ra->out_w));
}

/* piecewise linear in x: each bin's gradient goes to its maximum (the
 * adjoint recomputes where it is); the boxes get none, as torchvision's rois */
void op_vjp_roi_pool(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *in[3] = {gy, n->in[0], n->in[1]};
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_roi_pool_grad, in, 3, &n->a));
}

void op_vjp_roi_pool_grad(ad_ctx *c, ir_node *n, ir_node *gy) {
    (void)n, (void)gy;
    ad_fail(c, "roi_pool: no second derivative (the gradient of roi_pool's gradient is not implemented)");
}

/* ---- nms -------------------------------------------------------------------------------------- */

/* boxes f32[N, A, 4], scores f32[N, A], class ids i32[N, A] (optional), A constant */
int op_shape_nms(ir_node *n, char *err, int errlen) {
    char b[OPS_TYPE_BUF], b2[OPS_TYPE_BUF];
    if (n->nin < 2 || n->nin > 3) return ops_fail(err, errlen, "nms: takes boxes, scores and optional class ids");
    const ir_node *bx = n->in[0], *sc = n->in[1];
    if (bx->dtype != IR_F32 || bx->shape.rank != 3 || !ir_dim_is_const(bx->shape.d[1]) ||
        !ir_dim_eq(bx->shape.d[2], ir_dim_const(4)))
        return ops_fail(err, errlen, "nms: the boxes must be f32[N, A, 4] (A boxes (x1, y1, x2, y2) per image, A known at "
                        "compile time), got %s", ops_type(b, bx));
    const ir_shape want = {.rank = 2, .d = {bx->shape.d[0], bx->shape.d[1]}};
    if (sc->dtype != IR_F32 || !ir_shape_eq(&sc->shape, &want))
        return ops_fail(err, errlen, "nms: the scores must be f32[N, A], one per box of %s, got %s", ops_type(b, bx),
                        ops_type(b2, sc));
    if (n->nin == 3 && (n->in[2]->dtype != IR_I32 || !ir_shape_eq(&n->in[2]->shape, &want)))
        return ops_fail(err, errlen, "nms: the class ids must be i32[N, A], one per box of %s, got %s", ops_type(b, bx),
                        ops_type(b2, n->in[2]));
    if (n->a.nf < 2 || n->a.ni < 2 || n->a.nms.max_out < 0)
        return ops_fail(err, errlen, "nms: needs iou, score_threshold in f[0..1] and max_out >= 0, a threshold flag in i[0..1]");
    n->dtype = IR_F32;
    n->shape = want;
    return 1;
}

/* every pair of boxes at worst: an IoU of about 10 operations */
double op_flops_nms(const ir_node *n, const int64_t *sv) {
    return 10 * ops_numel(&n->shape, sv) * (double)n->in[0]->shape.d[1].k;
}

/* a selection, piecewise constant in its inputs: no gradient (as argmax, and torchvision.ops.nms's indices) */
void op_vjp_nms(ad_ctx *c, ir_node *n, ir_node *gy) { (void)c, (void)n, (void)gy; }

/* linear in x: the adjoint pair, as upsample's; the boxes get none (torchvision's rois neither) */
void op_vjp_roi_align(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *in[2] = {gy, n->in[1]};
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_roi_align_grad, in, 2, &n->a));
}

void op_vjp_roi_align_grad(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *in[2] = {gy, n->in[1]};
    ad_accum(c, n->in[0], ir_op_attrs(c->g, OP_roi_align, in, 2, &n->a));
}
