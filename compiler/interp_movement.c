/* interp_movement.c — reference kernels of the data-movement ops (concat,
 * slice, pad, upsample and their adjoints), kept beside interp.c so the
 * interpreter's main file stays a dispatcher over small kernels.
 *
 * Same rules as interp.c: doubles, the plainest loops, offsets recomputed
 * from coordinates. Every op here sees its tensors as [outer, len, inner]
 * around the moved axis, or (pad) as [outer, d_0, ..., d_k-1] with the
 * padded dims last; the adjoints are written as the literal transpose of
 * their forward loop (gather becomes scatter-add). */
#include <math.h>
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
    int axis = (int)n->a.concat.axis;
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
    int axis = (int)n->a.slice.axis, grad = n->op == OP_slice_grad;
    const ir_node *big = grad ? n : n->in[0], *small = grad ? n->in[0] : n;
    int64_t outer = prod(s, n, 0, axis), inner = prod(s, n, axis + 1, n->shape.rank);
    int64_t len = dim(s, big, axis), count = dim(s, small, axis), start = n->a.slice.start, step = n->a.slice.step;
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
    int grad = n->op == OP_pad_grad, mode = (int)n->a.pad.mode, k = (int)n->a.pad.dims;
    const ir_node *big = grad ? n->in[0] : n, *small = grad ? n : n->in[0];
    int r = n->shape.rank;
    int64_t outer = prod(s, n, 0, r - k), pn = prod(s, big, r - k, r), sn = prod(s, small, r - k, r);
    const double *x = s->value[n->in[0]->id];
    double fill = !grad && n->a.nf > 0 ? n->a.pad.value : 0;
    if (grad) memset(y, 0, sizeof(double) * (size_t)(outer * sn));
    for (int64_t o = 0; o < outer; o++)
        for (int64_t p = 0; p < pn; p++) {
            /* coordinates of p in the padded dims, mapped to the source; dim r-1-j has pads i[2+2j], i[3+2j] */
            int64_t rest = p, src = 0, stride = 1, inside = 1;
            for (int j = 0; j < k; j++) {
                int d = r - 1 - j;
                int64_t len = dim(s, small, d), c = rest % dim(s, big, d);
                rest /= dim(s, big, d);
                int64_t sc = mv_pad_src(mode, c, n->a.pad.pads[2 * j], len);
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
    int grad = n->op == OP_upsample_grad, mode = (int)n->a.upsample.mode, align = (int)n->a.upsample.align_corners;
    const ir_node *big = grad ? n->in[0] : n, *small = grad ? n : n->in[0];
    int64_t planes = dim(s, n, 0) * dim(s, n, 1), sh = n->a.upsample.num_h, sw = n->a.upsample.num_w;
    int64_t dh = MV_UP_DEN_H(&n->a), dw = MV_UP_DEN_W(&n->a);
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

/* RoI Align, the reference in double: torchvision's roi_align written out
 * per output value (forward) or per gradient value (adjoint, scattered). */
static double roi_weights(double y, double x, int64_t H, int64_t W, int64_t at[4], double w[4]) {
    if (y < -1.0 || y > (double)H || x < -1.0 || x > (double)W) return 0;
    if (y <= 0) y = 0;
    if (x <= 0) x = 0;
    int64_t y0 = (int64_t)y, x0 = (int64_t)x, y1 = y0 + 1, x1 = x0 + 1;
    if (y0 >= H - 1) y0 = y1 = H - 1, y = (double)y0;
    if (x0 >= W - 1) x0 = x1 = W - 1, x = (double)x0;
    const double ly = y - (double)y0, lx = x - (double)x0;
    at[0] = y0 * W + x0, at[1] = y0 * W + x1, at[2] = y1 * W + x0, at[3] = y1 * W + x1;
    w[0] = (1 - ly) * (1 - lx), w[1] = (1 - ly) * lx, w[2] = ly * (1 - lx), w[3] = ly * lx;
    return 1;
}

static void run_roi_align(const interp_state *s, const ir_node *n, double *y) {
    const int grad = n->op == OP_roi_align_grad;
    const ir_node *xs = grad ? n : n->in[0], *gs = grad ? n->in[0] : n;
    const double *in = s->value[n->in[0]->id], *boxes = s->value[n->in[1]->id];
    const int64_t N = dim(s, xs, 0), C = xs->shape.d[1].k, H = xs->shape.d[2].k, W = xs->shape.d[3].k;
    const ir_attrs_roi_align *a = &n->a.roi_align;
    const int64_t R = gs->shape.d[1].k, PH = a->out_h, PW = a->out_w, sr = a->sampling_ratio, aligned = a->aligned;
    const double scale = a->spatial_scale, off = aligned ? 0.5 : 0.0;
    if (grad) memset(y, 0, (size_t)(N * C * H * W) * sizeof *y);
    for (int64_t b = 0; b < N * R; b++) {
        const double *bx = boxes + 4 * b;
        const double x1 = bx[0] * scale - off, y1 = bx[1] * scale - off;
        double rw = bx[2] * scale - off - x1, rh = bx[3] * scale - off - y1;
        if (!aligned) rw = rw > 1 ? rw : 1, rh = rh > 1 ? rh : 1;
        const double bw = rw / (double)PW, bh = rh / (double)PH;
        const int64_t sh = sr > 0 ? sr : (int64_t)ceil(rh / (double)PH), sw = sr > 0 ? sr : (int64_t)ceil(rw / (double)PW);
        const double count = sh * sw > 1 ? (double)(sh * sw) : 1.0;
        for (int64_t c = 0; c < C; c++) {
            const int64_t plane = ((b / R) * C + c) * H * W, cell = (b * C + c) * PH * PW;
            for (int64_t p = 0; p < PH * PW; p++) {
                double acc = 0;
                for (int64_t iy = 0; iy < sh; iy++)
                    for (int64_t ix = 0; ix < sw; ix++) {
                        int64_t at[4];
                        double w[4];
                        if (!roi_weights(y1 + (double)(p / PW) * bh + ((double)iy + 0.5) * bh / (double)sh,
                                         x1 + (double)(p % PW) * bw + ((double)ix + 0.5) * bw / (double)sw, H, W, at, w))
                            continue;
                        for (int k = 0; k < 4; k++) {
                            if (grad) y[plane + at[k]] += in[cell + p] * w[k] / count;
                            else acc += w[k] * in[plane + at[k]];
                        }
                    }
                if (!grad) y[cell + p] = acc / count;
            }
        }
    }
}

/* grid_sample, the reference in double: torch's CPU grid_sampler_2d
 * written out per grid point — unnormalize, clip (border, with its zero
 * gradient), then nearest or the four bilinear neighbours; pixels outside
 * the image read 0 and take no gradient. The x adjoint scatters, the grid
 * adjoint sums the slope of the bilinear surface over the channels. */
static double gs_ref_source(double g, int64_t size, const ir_attrs_grid_sample *a, double *d) {
    double s = a->align_corners ? (g + 1) / 2 * (double)(size - 1) : ((g + 1) * (double)size - 1) / 2;
    *d = a->align_corners ? (double)(size - 1) / 2 : (double)size / 2;
    if (a->padding == MV_GRID_BORDER && s <= 0) s = 0, *d = 0;
    else if (a->padding == MV_GRID_BORDER && s >= (double)(size - 1)) s = (double)(size - 1), *d = 0;
    return s;
}

static void run_grid_sample(const interp_state *s, const ir_node *n, double *y) {
    const ir_attrs_grid_sample *a = &n->a.grid_sample;
    const ir_node *gn = n->in[n->nin - 1], *yn = n->op == OP_grid_sample ? n : n->in[0];
    const double *grid = s->value[gn->id], *in0 = s->value[n->in[0]->id];
    const double *x = n->op == OP_grid_sample ? in0 : n->op == OP_grid_sample_grad_grid ? s->value[n->in[1]->id] : NULL;
    const int64_t N = dim(s, gn, 0), C = yn->shape.d[1].k, H = a->in_h, W = a->in_w, P = gn->shape.d[1].k * gn->shape.d[2].k;
    if (n->op == OP_grid_sample_grad) memset(y, 0, (size_t)(N * C * H * W) * sizeof *y);
    for (int64_t np = 0; np < N * P; np++) {
        double dx, dy;
        const double ix = gs_ref_source(grid[2 * np], W, a, &dx), iy = gs_ref_source(grid[2 * np + 1], H, a, &dy);
        const int far = !(ix > -2 && ix < (double)W + 1 && iy > -2 && iy < (double)H + 1);
        const double fx = a->mode == MV_GRID_NEAREST ? nearbyint(ix) : floor(ix);
        const double fy = a->mode == MV_GRID_NEAREST ? nearbyint(iy) : floor(iy);
        const double tx = a->mode == MV_GRID_NEAREST ? 0 : ix - fx, ty = a->mode == MV_GRID_NEAREST ? 0 : iy - fy;
        const double w[4] = {(1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty};
        double sx = 0, sy = 0;
        for (int64_t c = 0; c < C; c++) {
            const int64_t plane = ((np / P) * C + c) * H * W, at = ((np / P) * C + c) * P + np % P;
            double v[4] = {0, 0, 0, 0}, acc = 0;
            for (int k = 0; k < 4 && !far; k++) {
                const double px = fx + (k & 1), py = fy + (k >> 1);
                if (px < 0 || px >= (double)W || py < 0 || py >= (double)H) continue;
                const int64_t pix = plane + (int64_t)py * W + (int64_t)px;
                if (x) v[k] = x[pix], acc += w[k] * x[pix];
                else y[pix] += w[k] * in0[at];
            }
            if (n->op == OP_grid_sample) y[at] = acc;
            if (n->op == OP_grid_sample_grad_grid && a->mode == MV_GRID_BILINEAR) {
                sx += in0[at] * ((v[1] - v[0]) * (1 - ty) + (v[3] - v[2]) * ty);
                sy += in0[at] * ((v[2] - v[0]) * (1 - tx) + (v[3] - v[1]) * tx);
            }
        }
        if (n->op == OP_grid_sample_grad_grid) y[2 * np] = sx * dx, y[2 * np + 1] = sy * dy;
    }
}

/* RoI pooling, the reference: torchvision's roi_pool kernel (box corners
 * rounded half away from zero after the scale, bins from floor and ceil of
 * multiples of the bin size, clipped to the map), first maximum wins; an
 * empty bin gives 0. The adjoint adds each bin's gradient at that maximum. */
static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static void run_roi_pool(const interp_state *s, const ir_node *n, double *y) {
    const int grad = n->op == OP_roi_pool_grad;
    const ir_node *xn = n->in[grad];
    const double *x = s->value[xn->id], *boxes = s->value[n->in[grad + 1]->id], *gy = grad ? s->value[n->in[0]->id] : NULL;
    const ir_attrs_roi_pool *a = &n->a.roi_pool;
    const int64_t N = dim(s, xn, 0), C = xn->shape.d[1].k, H = a->in_h, W = a->in_w, PH = a->out_h, PW = a->out_w;
    const int64_t R = n->in[grad + 1]->shape.d[1].k;
    if (grad) memset(y, 0, (size_t)(N * C * H * W) * sizeof *y);
    for (int64_t b = 0; b < N * R; b++) {
        const double *bx = boxes + 4 * b;
        const int64_t x1 = (int64_t)round(bx[0] * a->spatial_scale), y1 = (int64_t)round(bx[1] * a->spatial_scale);
        const int64_t x2 = (int64_t)round(bx[2] * a->spatial_scale), y2 = (int64_t)round(bx[3] * a->spatial_scale);
        const double bh = (double)(y2 - y1 + 1 > 1 ? y2 - y1 + 1 : 1) / (double)PH;
        const double bw = (double)(x2 - x1 + 1 > 1 ? x2 - x1 + 1 : 1) / (double)PW;
        for (int64_t c = 0; c < C; c++) {
            const int64_t plane = ((b / R) * C + c) * H * W, cell = (b * C + c) * PH * PW;
            for (int64_t p = 0; p < PH * PW; p++) {
                const int64_t ph = p / PW, pw = p % PW;
                const int64_t h0 = clamp64((int64_t)floor((double)ph * bh) + y1, 0, H);
                const int64_t h1 = clamp64((int64_t)ceil((double)(ph + 1) * bh) + y1, 0, H);
                const int64_t w0 = clamp64((int64_t)floor((double)pw * bw) + x1, 0, W);
                const int64_t w1 = clamp64((int64_t)ceil((double)(pw + 1) * bw) + x1, 0, W);
                int64_t at = -1;
                for (int64_t h = h0; h < h1; h++)
                    for (int64_t w = w0; w < w1; w++)
                        if (at < 0 || x[plane + h * W + w] > x[plane + at]) at = h * W + w;
                if (grad && at >= 0) y[plane + at] += gy[cell + p];
                if (!grad) y[cell + p] = at < 0 ? 0 : x[plane + at];
            }
        }
    }
}

/* Greedy NMS, the reference: not runtime/nms.c's sort, but the definition —
 * repeatedly the best undecided box (highest score, then lowest index) is
 * kept and every undecided box of its class overlapping it by more than the
 * threshold is dropped. IoU in double, 0 for an empty union. */
static double iou2(const double *a, const double *b) {
    const double w = fmin(a[2], b[2]) - fmax(a[0], b[0]), h = fmin(a[3], b[3]) - fmax(a[1], b[1]);
    const double inter = w > 0 && h > 0 ? w * h : 0;
    const double uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return uni > 0 ? inter / uni : 0;
}

static void run_nms(const interp_state *s, const ir_node *n, double *y) {
    const double *boxes = s->value[n->in[0]->id], *scores = s->value[n->in[1]->id];
    const double *cls = n->nin > 2 ? s->value[n->in[2]->id] : NULL;
    const int64_t N = dim(s, n, 0), A = n->shape.d[1].k, max_out = n->a.nms.max_out ? n->a.nms.max_out : A;
    const double thr = n->a.nms.iou, min_score = n->a.nms.has_threshold ? n->a.nms.score_threshold : -INFINITY;
    for (int64_t i = 0; i < N * A; i++) y[i] = scores[i] >= min_score ? -1 : 0;   /* -1: undecided */
    for (int64_t img = 0; img < N; img++) {
        double *yi = y + img * A;
        const double *sc = scores + img * A, *bx = boxes + img * A * 4;
        for (int64_t kept = 0;;) {
            int64_t best = -1;
            for (int64_t a = 0; a < A; a++)
                if (yi[a] < 0 && (best < 0 || sc[a] > sc[best])) best = a;
            if (best < 0) break;
            if (kept == max_out) {
                for (int64_t a = 0; a < A; a++) yi[a] = yi[a] < 0 ? 0 : yi[a];
                break;
            }
            yi[best] = 1, kept++;
            for (int64_t a = 0; a < A; a++)
                if (yi[a] < 0 && (!cls || cls[img * A + a] == cls[img * A + best]) && iou2(bx + 4 * a, bx + 4 * best) > thr)
                    yi[a] = 0;
        }
    }
}

int interp_movement(const interp_state *s, const ir_node *n, double *y) {
    switch (n->op) {
    case OP_concat: run_concat(s, n, y); return 0;
    case OP_slice: case OP_slice_grad: run_slice(s, n, y); return 0;
    case OP_pad: case OP_pad_grad: run_pad(s, n, y); return 0;
    case OP_upsample: case OP_upsample_grad: run_upsample(s, n, y); return 0;
    case OP_roi_align: case OP_roi_align_grad: run_roi_align(s, n, y); return 0;
    case OP_roi_pool: case OP_roi_pool_grad: run_roi_pool(s, n, y); return 0;
    case OP_grid_sample: case OP_grid_sample_grad: case OP_grid_sample_grad_grid: run_grid_sample(s, n, y); return 0;
    case OP_nms: run_nms(s, n, y); return 0;
    default: return -1;
    }
}
