/* interp_movement.c — reference kernels of the data-movement ops (concat,
 * slice, pad, upsample and their adjoints), kept beside interp.c so the
 * interpreter's main file stays a dispatcher over small kernels.
 *
 * Same rules as interp.c: doubles, the plainest loops, offsets recomputed
 * from coordinates. Every op here sees its tensors as [outer, len, inner]
 * around the moved axis, or (pad) as [outer, d_0, ..., d_k-1] with the
 * padded dims last; the adjoints are written as the literal transpose of
 * their forward loop (gather becomes scatter-add). */
#include <string.h>

#include "interp.h"
#include "ops_movement.h"

static int64_t dim(const interp_state *s, const ir_node *x, int d) { return ir_dim_eval(x->shape.d[d], s->sym_values); }

static int64_t prod(const interp_state *s, const ir_node *x, int from, int to) {
    int64_t p = 1;
    for (int d = from; d < to; d++) p *= dim(s, x, d);
    return p;
}

static void run_concat(const interp_state *s, const ir_node *n, double *y) {
    int axis = (int)n->a.i[0];
    int64_t outer = prod(s, n, 0, axis), inner = prod(s, n, axis + 1, n->shape.rank), total = dim(s, n, axis);
    int64_t at = 0;
    for (int k = 0; k < n->nin; k++) {
        const double *x = s->value[n->in[k]->id];
        int64_t len = dim(s, n->in[k], axis);
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < len; j++)
                for (int64_t i = 0; i < inner; i++) y[(o * total + at + j) * inner + i] = x[(o * len + j) * inner + i];
        at += len;
    }
}

/* slice gathers positions start + j*step; slice_grad scatters them into zeros. */
static void run_slice(const interp_state *s, const ir_node *n, double *y) {
    int axis = (int)n->a.i[0], grad = n->op == OP_slice_grad;
    const ir_node *big = grad ? n : n->in[0], *small = grad ? n->in[0] : n;
    int64_t outer = prod(s, n, 0, axis), inner = prod(s, n, axis + 1, n->shape.rank);
    int64_t len = dim(s, big, axis), count = dim(s, small, axis), start = n->a.i[1], step = n->a.i[2];
    const double *x = s->value[n->in[0]->id];
    if (grad) memset(y, 0, sizeof(double) * (size_t)(outer * len * inner));
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < count; j++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t b = (o * len + start + j * step) * inner + i, sm = (o * count + j) * inner + i;
                if (grad) y[b] = x[sm];
                else y[sm] = x[b];
            }
}

/* pad gathers each padded element from its source (or the fill value);
 * pad_grad adds each padded element's gradient into its source. */
static void run_pad(const interp_state *s, const ir_node *n, double *y) {
    int grad = n->op == OP_pad_grad, mode = (int)n->a.i[0], k = (int)n->a.i[1];
    const ir_node *big = grad ? n->in[0] : n, *small = grad ? n : n->in[0];
    int r = n->shape.rank;
    int64_t outer = prod(s, n, 0, r - k), pn = prod(s, big, r - k, r), sn = prod(s, small, r - k, r);
    const double *x = s->value[n->in[0]->id];
    double fill = !grad && n->a.nf > 0 ? n->a.f[0] : 0;
    if (grad) memset(y, 0, sizeof(double) * (size_t)(outer * sn));
    for (int64_t o = 0; o < outer; o++)
        for (int64_t p = 0; p < pn; p++) {
            /* coordinates of p in the padded dims, mapped to the source; dim r-1-j has pads i[2+2j], i[3+2j] */
            int64_t rest = p, src = 0, stride = 1, inside = 1;
            for (int j = 0; j < k; j++) {
                int d = r - 1 - j;
                int64_t len = dim(s, small, d), c = rest % dim(s, big, d);
                rest /= dim(s, big, d);
                int64_t sc = mv_pad_src(mode, c, n->a.i[2 + 2 * j], len);
                if (sc < 0) inside = 0;
                src += sc * stride;
                stride *= len;
            }
            if (grad) {
                if (inside) y[o * sn + src] += x[o * pn + p];
            } else {
                y[o * pn + p] = inside ? x[o * sn + src] : fill;
            }
        }
}

/* upsample gathers (nearest) or blends four sources (bilinear); the adjoint
 * scatters the same weights back. */
static void run_upsample(const interp_state *s, const ir_node *n, double *y) {
    int grad = n->op == OP_upsample_grad, mode = (int)n->a.i[0], align = (int)n->a.i[3];
    const ir_node *big = grad ? n->in[0] : n, *small = grad ? n : n->in[0];
    int64_t planes = dim(s, n, 0) * dim(s, n, 1), sh = n->a.i[1], sw = n->a.i[2];
    int64_t dh = MV_UP_DEN(&n->a, 0), dw = MV_UP_DEN(&n->a, 1);
    int64_t H = dim(s, small, 2), W = dim(s, small, 3), OH = dim(s, big, 2), OW = dim(s, big, 3);
    const double *x = s->value[n->in[0]->id];
    if (grad) memset(y, 0, sizeof(double) * (size_t)(planes * H * W));
    for (int64_t p = 0; p < planes; p++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t h[2], w[2];
                double wt[2][2];
                if (mode == MV_UP_NEAREST) {
                    h[0] = h[1] = mv_nearest_src(oh, H, sh, dh);
                    w[0] = w[1] = mv_nearest_src(ow, W, sw, dw);
                    wt[0][0] = 1, wt[0][1] = wt[1][0] = wt[1][1] = 0;
                } else {
                    float lh, lw;
                    mv_linear_src(oh, H, sh, dh, align, &h[0], &h[1], &lh);
                    mv_linear_src(ow, W, sw, dw, align, &w[0], &w[1], &lw);
                    wt[0][0] = (1.0 - lh) * (1.0 - lw), wt[0][1] = (1.0 - lh) * lw;
                    wt[1][0] = lh * (1.0 - lw), wt[1][1] = (double)lh * lw;
                }
                int64_t out = (p * OH + oh) * OW + ow;
                double acc = 0;
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++) {
                        int64_t in = (p * H + h[a]) * W + w[b];
                        if (grad) y[in] += wt[a][b] * x[out];
                        else acc += wt[a][b] * x[in];
                    }
                if (!grad) y[out] = acc;
            }
}

int interp_movement(const interp_state *s, const ir_node *n, double *y) {
    switch (n->op) {
    case OP_concat: run_concat(s, n, y); return 0;
    case OP_slice: case OP_slice_grad: run_slice(s, n, y); return 0;
    case OP_pad: case OP_pad_grad: run_pad(s, n, y); return 0;
    case OP_upsample: case OP_upsample_grad: run_upsample(s, n, y); return 0;
    default: return -1;
    }
}
