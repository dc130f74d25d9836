/* interp_conv.c — the reference interpreter's convolution and pooling
 * kernels (ops_conv.c), in double, as the plainest loops.
 *
 * These are the oracle the gradient checks difference and the emitted code
 * (im2col + GEMM in runtime/conv.c) is compared with, so each one is the
 * textbook definition written directly: for every output element, visit its
 * window and skip the positions that fall into the padding. Nothing here
 * shares code with the runtime, on purpose. Indices (i32 values) are
 * doubles holding integers, as everywhere in the interpreter. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "interp.h"
#include "ops_conv.h"

/* The four dims of an NCHW node at the current symbol values. */
typedef struct nchw {
    int64_t n, c, h, w;
} nchw;

static nchw dims4(const interp_state *s, const ir_node *v) {
    nchw d = {ir_dim_eval(v->shape.d[0], s->sym_values), v->shape.d[1].k, v->shape.d[2].k, v->shape.d[3].k};
    return d;
}

static const double *val(const interp_state *s, const ir_node *v) { return s->value[v->id]; }

/* conv2d: y[n, o, i, j] = sum over the group's channels c and window (a, b)
 * of x[n, c, i*sh - pt + a*dh, j*sw - pl + b*dw] * w[o, c, a, b]. */
static void conv2d(const conv_geom *g, nchw X, nchw Wt, nchw Y, const double *x, const double *w, double *y) {
    int64_t cg = Wt.c, og = Y.c / g->groups;
    for (int64_t n = 0; n < Y.n; n++)
        for (int64_t o = 0; o < Y.c; o++)
            for (int64_t i = 0; i < Y.h; i++)
                for (int64_t j = 0; j < Y.w; j++) {
                    double sum = 0;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t a = 0; a < Wt.h; a++)
                            for (int64_t b = 0; b < Wt.w; b++) {
                                int64_t r = i * g->sh - g->pt + a * g->dh, q = j * g->sw - g->pl + b * g->dw;
                                if (r < 0 || r >= X.h || q < 0 || q >= X.w) continue;
                                int64_t xc = (o / og) * cg + c;
                                sum += x[((n * X.c + xc) * X.h + r) * X.w + q] * w[((o * cg + c) * Wt.h + a) * Wt.w + b];
                            }
                    y[((n * Y.c + o) * Y.h + i) * Y.w + j] = sum;
                }
}

/* conv_transpose2d: every x[n, c, i, j] * w[c, o, a, b] lands on
 * y[n, group*og + o, i*sh - pt + a*dh, j*sw - pl + b*dw]. */
static void conv_transpose2d(const conv_geom *g, nchw X, nchw Wt, nchw Y, const double *x, const double *w, double *y) {
    int64_t og = Wt.c, cg = X.c / g->groups;
    memset(y, 0, sizeof(double) * (size_t)(Y.n * Y.c * Y.h * Y.w));
    for (int64_t n = 0; n < X.n; n++)
        for (int64_t c = 0; c < X.c; c++)
            for (int64_t i = 0; i < X.h; i++)
                for (int64_t j = 0; j < X.w; j++)
                    for (int64_t o = 0; o < og; o++)
                        for (int64_t a = 0; a < Wt.h; a++)
                            for (int64_t b = 0; b < Wt.w; b++) {
                                int64_t r = i * g->sh - g->pt + a * g->dh, q = j * g->sw - g->pl + b * g->dw;
                                if (r < 0 || r >= Y.h || q < 0 || q >= Y.w) continue;
                                int64_t yc = (c / cg) * og + o;
                                y[((n * Y.c + yc) * Y.h + r) * Y.w + q] +=
                                    x[((n * X.c + c) * X.h + i) * X.w + j] * w[((c * og + o) * Wt.h + a) * Wt.w + b];
                            }
}

/* conv2d_bwd_weight: dw[o, c, a, b] = sum over n, i, j of
 * gy[n, o, i, j] * x[n, group*cg + c, i*sh - pt + a*dh, j*sw - pl + b*dw]. */
static void conv2d_bwd_weight(const conv_geom *g, nchw X, nchw GY, nchw DW, const double *x, const double *gy, double *dw) {
    int64_t cg = DW.c, og = GY.c / g->groups;
    for (int64_t o = 0; o < DW.n; o++)
        for (int64_t c = 0; c < cg; c++)
            for (int64_t a = 0; a < DW.h; a++)
                for (int64_t b = 0; b < DW.w; b++) {
                    double sum = 0;
                    for (int64_t n = 0; n < X.n; n++)
                        for (int64_t i = 0; i < GY.h; i++)
                            for (int64_t j = 0; j < GY.w; j++) {
                                int64_t r = i * g->sh - g->pt + a * g->dh, q = j * g->sw - g->pl + b * g->dw;
                                if (r < 0 || r >= X.h || q < 0 || q >= X.w) continue;
                                int64_t xc = (o / og) * cg + c;
                                sum += gy[((n * GY.c + o) * GY.h + i) * GY.w + j] * x[((n * X.c + xc) * X.h + r) * X.w + q];
                            }
                    dw[((o * cg + c) * DW.h + a) * DW.w + b] = sum;
                }
}

/* max_pool2d and its indices, as PyTorch's CPU kernel: the window's first
 * valid position is the initial candidate, and a later element replaces it
 * only when strictly greater (or NaN), so ties go to the first maximum. */
static void max_pool(const conv_geom *g, nchw X, nchw Y, const double *x, double *y, int want_index) {
    for (int64_t p = 0; p < X.n * X.c; p++)
        for (int64_t i = 0; i < Y.h; i++)
            for (int64_t j = 0; j < Y.w; j++) {
                int64_t r0 = i * g->sh - g->pt, q0 = j * g->sw - g->pl;
                while (r0 < 0) r0 += g->dh;
                while (q0 < 0) q0 += g->dw;
                int64_t best = r0 * X.w + q0;
                double m = -INFINITY;
                for (int64_t r = r0; r < i * g->sh - g->pt + g->dh * (g->kh - 1) + 1 && r < X.h; r += g->dh)
                    for (int64_t q = q0; q < j * g->sw - g->pl + g->dw * (g->kw - 1) + 1 && q < X.w; q += g->dw) {
                        double v = x[p * X.h * X.w + r * X.w + q];
                        if (v > m || isnan(v)) m = v, best = r * X.w + q;
                    }
                y[(p * Y.h + i) * Y.w + j] = want_index ? (double)best : m;
            }
}

static int check_index(const ir_node *n, double v, int64_t plane) {
    if (v >= 0 && v < (double)plane && v == floor(v)) return 1;
    fprintf(stderr, "interp: %s: index %g is outside the plane of %lld elements\n", ir_ops[n->op].name, v, (long long)plane);
    return 0;
}

/* max_pool2d_bwd (add) and max_unpool2d (assign): v[p, k] goes to plane
 * position idx[p, k] of the output. */
static int scatter(const ir_node *n, nchw V, nchw Y, const double *v, const double *idx, double *y, int add) {
    int64_t plane = Y.h * Y.w, m = V.h * V.w;
    memset(y, 0, sizeof(double) * (size_t)(Y.n * Y.c * plane));
    for (int64_t p = 0; p < V.n * V.c; p++)
        for (int64_t k = 0; k < m; k++) {
            double t = idx[p * m + k];
            if (!check_index(n, t, plane)) return -1;
            if (add) y[p * plane + (int64_t)t] += v[p * m + k];
            else y[p * plane + (int64_t)t] = v[p * m + k];
        }
    return 0;
}

/* max_unpool2d_bwd: y[p, k] = g[p, idx[p, k]]. */
static int gather(const ir_node *n, nchw G, nchw Y, const double *g, const double *idx, double *y) {
    int64_t plane = G.h * G.w, m = Y.h * Y.w;
    for (int64_t p = 0; p < Y.n * Y.c; p++)
        for (int64_t k = 0; k < m; k++) {
            double t = idx[p * m + k];
            if (!check_index(n, t, plane)) return -1;
            y[p * m + k] = g[p * plane + (int64_t)t];
        }
    return 0;
}

/* avg_pool2d as PyTorch: the window is clipped to the padded input, then to
 * the input; the divisor is the padded window size with count_include_pad,
 * else the number of real elements. adjoint = 1 runs the transpose
 * (avg_pool2d_bwd): the output gradient spread back over the window. */
static void avg_pool(const conv_geom *g, nchw X, nchw Y, const double *in, double *out, int adjoint) {
    if (adjoint) memset(out, 0, sizeof(double) * (size_t)(X.n * X.c * X.h * X.w));
    for (int64_t p = 0; p < X.n * X.c; p++)
        for (int64_t i = 0; i < Y.h; i++)
            for (int64_t j = 0; j < Y.w; j++) {
                int64_t r0 = i * g->sh - g->pt, q0 = j * g->sw - g->pl;
                int64_t r1 = r0 + g->kh, q1 = q0 + g->kw;
                if (r1 > X.h + g->pb) r1 = X.h + g->pb;
                if (q1 > X.w + g->pr) q1 = X.w + g->pr;
                int64_t padded = (r1 - r0) * (q1 - q0);
                if (r0 < 0) r0 = 0;
                if (q0 < 0) q0 = 0;
                if (r1 > X.h) r1 = X.h;
                if (q1 > X.w) q1 = X.w;
                double div = g->flag ? (double)padded : (double)((r1 - r0) * (q1 - q0));
                double *xp = adjoint ? out + p * X.h * X.w : NULL;
                const double *xr = adjoint ? NULL : in + p * X.h * X.w;
                int64_t yo = (p * Y.h + i) * Y.w + j;
                double sum = 0;
                for (int64_t r = r0; r < r1; r++)
                    for (int64_t q = q0; q < q1; q++) {
                        if (adjoint) xp[r * X.w + q] += in[yo] / div;
                        else sum += xr[r * X.w + q];
                    }
                if (!adjoint) out[yo] = sum / div;
            }
}

/* adaptive_avg_pool2d: output row i averages input rows
 * [floor(i*H/oh), ceil((i+1)*H/oh)), likewise for columns. adjoint = 1 is
 * the backward: X is the input (gradient result), Y the pooled size. */
static void adaptive_pool(nchw X, nchw Y, const double *in, double *out, int adjoint) {
    if (adjoint) memset(out, 0, sizeof(double) * (size_t)(X.n * X.c * X.h * X.w));
    for (int64_t p = 0; p < X.n * X.c; p++)
        for (int64_t i = 0; i < Y.h; i++)
            for (int64_t j = 0; j < Y.w; j++) {
                int64_t r0 = i * X.h / Y.h, r1 = ((i + 1) * X.h + Y.h - 1) / Y.h;
                int64_t q0 = j * X.w / Y.w, q1 = ((j + 1) * X.w + Y.w - 1) / Y.w;
                double area = (double)((r1 - r0) * (q1 - q0)), sum = 0;
                int64_t yo = (p * Y.h + i) * Y.w + j;
                for (int64_t r = r0; r < r1; r++)
                    for (int64_t q = q0; q < q1; q++) {
                        if (adjoint) out[p * X.h * X.w + r * X.w + q] += in[yo] / area;
                        else sum += in[p * X.h * X.w + r * X.w + q];
                    }
                if (!adjoint) out[yo] = sum / area;
            }
}

int interp_conv(const interp_state *s, const ir_node *n, double *y) {
    conv_geom g;
    if (!conv_geom_get(&n->a, &g)) {
        fprintf(stderr, "interp: %s: malformed geometry\n", ir_ops[n->op].name);
        return -1;
    }
    const ir_node *a = n->in[0], *b = n->nin > 1 ? n->in[1] : NULL;
    nchw A = dims4(s, a), B = b ? dims4(s, b) : A, Y = dims4(s, n);
    switch (n->op) {
    case OP_conv2d: conv2d(&g, A, B, Y, val(s, a), val(s, b), y); return 0;
    case OP_conv_transpose2d: conv_transpose2d(&g, A, B, Y, val(s, a), val(s, b), y); return 0;
    case OP_conv2d_bwd_weight: conv2d_bwd_weight(&g, A, B, Y, val(s, a), val(s, b), y); return 0;
    case OP_max_pool2d: max_pool(&g, A, Y, val(s, a), y, 0); return 0;
    case OP_max_pool2d_indices: max_pool(&g, A, Y, val(s, a), y, 1); return 0;
    case OP_max_pool2d_bwd: return scatter(n, A, Y, val(s, a), val(s, b), y, 1);
    case OP_max_unpool2d: return scatter(n, A, Y, val(s, a), val(s, b), y, 0);
    case OP_max_unpool2d_bwd: return gather(n, A, Y, val(s, a), val(s, b), y);
    case OP_avg_pool2d: avg_pool(&g, A, Y, val(s, a), y, 0); return 0;
    case OP_avg_pool2d_bwd: avg_pool(&g, Y, A, val(s, a), y, 1); return 0;
    case OP_adaptive_avg_pool2d: adaptive_pool(A, Y, val(s, a), y, 0); return 0;
    case OP_adaptive_avg_pool2d_bwd: adaptive_pool(Y, A, val(s, a), y, 1); return 0;
    default:
        fprintf(stderr, "interp: %s is not a convolution or pooling op\n", ir_ops[n->op].name);
        return -1;
    }
}
