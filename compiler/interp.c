/* interp.c — the reference interpreter: every op as the plainest loop over
 * doubles.
 *
 * It is the oracle: gradient checks difference it with h = 1e-6, which only
 * works in double, and the emitted C is tested against it. So each kernel is
 * written for obviousness — offsets are recomputed from the flat index for
 * every element, broadcasting is a zero stride — never for speed. i32 values
 * (labels) are stored as doubles holding integers. Random sources go
 * through the runtime's counter-based generator, so they agree with the
 * generated code bit for bit (before the widening to double). */
#include "interp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"

typedef struct dims {
    int rank;
    int64_t n[IR_MAX_RANK];
} dims;

static dims eval_dims(const ir_shape *s, const int64_t *sv) {
    dims d = {s->rank, {0}};
    for (int i = 0; i < s->rank; i++) d.n[i] = ir_dim_eval(s->d[i], sv);
    return d;
}

static int64_t dims_numel(const dims *d) {
    int64_t n = 1;
    for (int i = 0; i < d->rank; i++) n *= d->n[i];
    return n;
}

/* Row-major strides of `in` when read as if broadcast to `out` (NumPy:
 * aligned right; a dimension of 1 that is stretched gets stride 0). */
static void bcast_strides(const dims *in, const dims *out, int64_t *st) {
    int64_t s = 1;
    for (int i = out->rank - 1; i >= 0; i--) {
        int j = i - (out->rank - in->rank);
        if (j < 0) { st[i] = 0; continue; }
        st[i] = in->n[j] == 1 && out->n[i] != 1 ? 0 : s;
        s *= in->n[j];
    }
}

/* The offset into a tensor with strides st of flat element i of shape out. */
static int64_t offset_of(int64_t i, const dims *out, const int64_t *st) {
    int64_t off = 0;
    for (int d = out->rank - 1; d >= 0; d--) {
        off += (i % out->n[d]) * st[d];
        i /= out->n[d];
    }
    return off;
}

double interp_elementwise(const ir_node *n, double a, double b, double c) {
    const double f0 = n->a.f[0]; /* ops.def's ref column: the op's first double, whatever its group calls it */
    (void)a, (void)b, (void)c, (void)f0;
    switch (n->op) {
#define OP(name, arity, kind, family, attrs, c_expr, ref) \
    case OP_##name: return (ref);
#include "ops.def"
#undef OP
    default: return 0;
    }
}

int interp_elemwise(const interp_state *s, const ir_node *n, double *y) {
    dims out = eval_dims(&n->shape, s->sym_values);
    int64_t st[IR_MAX_IN][IR_MAX_RANK];
    for (int k = 0; k < n->nin; k++) {
        dims in = eval_dims(&n->in[k]->shape, s->sym_values);
        bcast_strides(&in, &out, st[k]);
    }
    int64_t total = dims_numel(&out);
    for (int64_t i = 0; i < total; i++) {
        double v[3] = {0, 0, 0};
        for (int k = 0; k < n->nin; k++) v[k] = s->value[n->in[k]->id][offset_of(i, &out, st[k])];
        y[i] = interp_elementwise(n, v[0], v[1], v[2]);
    }
    return 0;
}

/* Also used for broadcast_to: a broadcasting copy. */
static void run_broadcast(const interp_state *s, const ir_node *n, double *y) {
    dims out = eval_dims(&n->shape, s->sym_values), in = eval_dims(&n->in[0]->shape, s->sym_values);
    int64_t st[IR_MAX_RANK];
    bcast_strides(&in, &out, st);
    const double *x = s->value[n->in[0]->id];
    for (int64_t i = 0; i < dims_numel(&out); i++) y[i] = x[offset_of(i, &out, st)];
}

int interp_reduce(const interp_state *s, const ir_node *n, double *y) {
    dims in = eval_dims(&n->in[0]->shape, s->sym_values);
    uint32_t axes = (uint32_t)n->a.reduce.axes;
    /* strides of the keepdims output, 0 along reduced axes */
    int64_t st[IR_MAX_RANK], acc = 1;
    for (int d = in.rank - 1; d >= 0; d--) {
        st[d] = axes & (1u << d) ? 0 : acc;
        if (!(axes & (1u << d))) acc *= in.n[d];
    }
    int64_t n_out = interp_numel(s, n);
    for (int64_t j = 0; j < n_out; j++) y[j] = n->op == OP_reduce_max ? -INFINITY : 0;
    const double *x = s->value[n->in[0]->id];
    for (int64_t i = 0; i < dims_numel(&in); i++) {
        int64_t j = offset_of(i, &in, st);
        if (n->op == OP_reduce_max) y[j] = fmax(y[j], x[i]);
        else y[j] += x[i];
    }
    return 0;
}

static void run_transpose(const interp_state *s, const ir_node *n, double *y) {
    dims in = eval_dims(&n->in[0]->shape, s->sym_values), out = eval_dims(&n->shape, s->sym_values);
    int64_t in_st[IR_MAX_RANK], st[IR_MAX_RANK], acc = 1;
    for (int d = in.rank - 1; d >= 0; d--) in_st[d] = acc, acc *= in.n[d];
    for (int k = 0; k < out.rank; k++) st[k] = in_st[n->a.transpose.perm[k]]; /* out dim k walks in dim perm[k] */
    const double *x = s->value[n->in[0]->id];
    for (int64_t i = 0; i < dims_numel(&out); i++) y[i] = x[offset_of(i, &out, st)];
}

int interp_matmul(const interp_state *s, const ir_node *n, double *y) {
    const ir_node *a = n->in[0], *b = n->in[1];
    dims da = eval_dims(&a->shape, s->sym_values), db = eval_dims(&b->shape, s->sym_values);
    dims out = eval_dims(&n->shape, s->sym_values);
    int ta = n->a.matmul.ta != 0, tb = n->a.matmul.tb != 0;
    int64_t ra = da.n[da.rank - 2], ca = da.n[da.rank - 1];
    int64_t rb = db.n[db.rank - 2], cb = db.n[db.rank - 1];
    int64_t M = ta ? ca : ra, K = ta ? ra : ca, P = tb ? rb : cb;
    /* batch dims: broadcast, in units of whole matrices */
    dims ba = da, bb = db, bo = out;
    ba.rank -= 2, bb.rank -= 2, bo.rank -= 2;
    int64_t sa[IR_MAX_RANK], sb[IR_MAX_RANK];
    bcast_strides(&ba, &bo, sa);
    bcast_strides(&bb, &bo, sb);
    const double *A = s->value[a->id], *B = s->value[b->id];
    for (int64_t t = 0; t < dims_numel(&bo); t++) {
        const double *At = A + offset_of(t, &bo, sa) * ra * ca;
        const double *Bt = B + offset_of(t, &bo, sb) * rb * cb;
        double *Y = y + t * M * P;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < P; j++) {
                double sum = 0;
                for (int64_t k = 0; k < K; k++) {
                    double av = ta ? At[k * ca + i] : At[i * ca + k];
                    double bv = tb ? Bt[j * cb + k] : Bt[k * cb + j];
                    sum += av * bv;
                }
                Y[i * P + j] = sum;
            }
    }
    return 0;
}

/* softmax / log_softmax along axis: [outer, len, inner] view of the tensor. */
int interp_softmax(const interp_state *s, const ir_node *n, double *y) {
    dims d = eval_dims(&n->shape, s->sym_values);
    int axis = (int)n->a.softmax.axis;
    int64_t outer = 1, len = d.n[axis], inner = 1;
    for (int i = 0; i < axis; i++) outer *= d.n[i];
    for (int i = axis + 1; i < d.rank; i++) inner *= d.n[i];
    const double *x = s->value[n->in[0]->id];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            const double *xr = x + o * len * inner + in;
            double *yr = y + o * len * inner + in;
            double mx = -INFINITY, sum = 0;
            for (int64_t k = 0; k < len; k++) mx = fmax(mx, xr[k * inner]);
            for (int64_t k = 0; k < len; k++) sum += exp(xr[k * inner] - mx);
            for (int64_t k = 0; k < len; k++)
                yr[k * inner] = n->op == OP_softmax ? exp(xr[k * inner] - mx) / sum : xr[k * inner] - mx - log(sum);
        }
    return 0;
}

static int check_label(const ir_node *n, double v, int64_t pos, int64_t classes) {
    if (v >= 0 && v < (double)classes && v == floor(v)) return 1;
    fprintf(stderr, "interp: %s: %s %g at position %lld is out of range [0, %lld)\n", ir_ops[n->op].name,
            n->op == OP_pick || n->op == OP_unpick ? "label" : "index", v, (long long)pos, (long long)classes);
    return 0;
}

/* pick / unpick's ignored label (ignore_index), if it has one. */
static int ignored(const ir_node *n, double label) {
    return n->a.ni >= 3 && n->a.pick.has_ignore && label == (double)n->a.pick.ignore;
}

static int run_pick(const interp_state *s, const ir_node *n, double *y) {
    const double *x = s->value[n->in[0]->id], *idx = s->value[n->in[1]->id];
    int64_t rows = interp_numel(s, n->in[1]), classes = n->in[0]->shape.d[n->in[0]->shape.rank - 1].k;
    for (int64_t r = 0; r < rows; r++) {
        if (ignored(n, idx[r])) {
            y[r] = 0;
            continue;
        }
        if (!check_label(n, idx[r], r, classes)) return -1;
        y[r] = x[r * classes + (int64_t)idx[r]];
    }
    return 0;
}

static int run_unpick(const interp_state *s, const ir_node *n, double *y) {
    const double *g = s->value[n->in[0]->id], *idx = s->value[n->in[1]->id];
    int64_t rows = interp_numel(s, n->in[1]), classes = n->a.pick.classes;
    memset(y, 0, sizeof(double) * (size_t)(rows * classes));
    for (int64_t r = 0; r < rows; r++) {
        if (ignored(n, idx[r])) continue;
        if (!check_label(n, idx[r], r, classes)) return -1;
        y[r * classes + (int64_t)idx[r]] = g[r];
    }
    return 0;
}

/* take: row idx[s] of the table, for each s; scatter_add: the adjoint, rows
 * of the source summed into row idx[s] of zeros in order of s. */
static int run_take(const interp_state *s, const ir_node *n, double *y) {
    const double *t = s->value[n->in[0]->id], *idx = s->value[n->in[1]->id];
    int64_t rows = interp_numel(s, n->in[1]), v = ir_dim_eval(n->in[0]->shape.d[0], s->sym_values);
    int64_t width = rows ? interp_numel(s, n) / rows : 0;
    for (int64_t r = 0; r < rows; r++) {
        if (!check_label(n, idx[r], r, v)) return -1;
        memcpy(y + r * width, t + (int64_t)idx[r] * width, sizeof(double) * (size_t)width);
    }
    return 0;
}

static int run_scatter_add(const interp_state *s, const ir_node *n, double *y) {
    const double *src = s->value[n->in[0]->id], *idx = s->value[n->in[1]->id];
    int64_t rows = interp_numel(s, n->in[1]), v = ir_dim_eval(n->shape.d[0], s->sym_values);
    int64_t width = interp_numel(s, n) / v;
    memset(y, 0, sizeof(double) * (size_t)(v * width));
    for (int64_t r = 0; r < rows; r++) {
        if (!check_label(n, idx[r], r, v)) return -1;
        for (int64_t j = 0; j < width; j++) y[(int64_t)idx[r] * width + j] += src[r * width + j];
    }
    return 0;
}

/* gather / gather_grad along axis a: idx viewed as [outer, K, inner], x (or
 * gather_grad's result) as [outer, L, inner]; element (o, k, i) of idx names
 * x's element (o, idx, i). */
static int run_gather(const interp_state *s, const ir_node *n, double *y) {
    int grad = n->op == OP_gather_grad, max = n->op == OP_scatter_max, axis = (int)n->a.gather.axis;
    const ir_node *idx_node = n->in[1], *wide = grad || max ? n : n->in[0];
    const double *v = s->value[n->in[0]->id], *idx = s->value[idx_node->id];
    dims d = eval_dims(&idx_node->shape, s->sym_values);
    int64_t outer = 1, inner = 1, K = d.n[axis], L = ir_dim_eval(wide->shape.d[axis], s->sym_values);
    for (int k = 0; k < axis; k++) outer *= d.n[k];
    for (int k = axis + 1; k < d.rank; k++) inner *= d.n[k];
    if (grad) memset(y, 0, sizeof(double) * (size_t)(outer * L * inner));
    for (int64_t q = 0; max && q < outer * L * inner; q++) y[q] = -INFINITY;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < K; k++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t p = (o * K + k) * inner + i;
                if (!check_label(n, idx[p], p, L)) return -1;
                int64_t q = (o * L + (int64_t)idx[p]) * inner + i;
                if (grad) y[q] += v[p];
                else if (max && (v[p] > y[q] || isnan(v[p]))) y[q] = v[p];
                else if (!max) y[p] = v[q];
            }
    /* a segment no index named: torch's fill, 0 */
    for (int64_t q = 0; max && q < outer * L * inner; q++)
        if (y[q] == -INFINITY) y[q] = 0.0;
    return 0;
}

/* argmax / argmin along axis a: x viewed as [outer, L, inner]; the first
 * extreme wins, a NaN beats every number. */
static int run_argmax(const interp_state *s, const ir_node *n, double *y) {
    int axis = (int)n->a.argmax.axis, lowest = n->a.ni > 1 && n->a.argmax.min;
    const double *x = s->value[n->in[0]->id];
    dims d = eval_dims(&n->in[0]->shape, s->sym_values);
    int64_t outer = 1, inner = 1, L = d.n[axis];
    for (int k = 0; k < axis; k++) outer *= d.n[k];
    for (int k = axis + 1; k < d.rank; k++) inner *= d.n[k];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const double *xr = x + o * L * inner + i;
            int64_t at = 0;
            for (int64_t k = 1; k < L; k++) {
                double v = xr[k * inner], best = xr[at * inner];
                if (!isnan(best) && (isnan(v) || (lowest ? v < best : v > best))) at = k;
            }
            y[o * inner + i] = (double)at;
        }
    return 0;
}

static int run_random(const ir_node *n, double *y, int64_t count, uint64_t seed) {
    if (n->op == OP_rand_int) {
        int32_t *ti = malloc(sizeof(int32_t) * (size_t)(count ? count : 1));
        if (!ti) return -1;
        dl_fill_randint(ti, count, seed, (uint64_t)n->a.rand.stream, (int32_t)n->a.rand.low, (int32_t)n->a.rand.high);
        for (int64_t i = 0; i < count; i++) y[i] = ti[i];
        free(ti);
        return 0;
    }
    float *tmp = malloc(sizeof(float) * (size_t)(count ? count : 1));
    if (!tmp) return -1;
    if (n->op == OP_rand_uniform) dl_fill_uniform(tmp, count, seed, (uint64_t)n->a.rand.stream);
    else dl_fill_normal(tmp, count, seed, (uint64_t)n->a.rand.stream);
    for (int64_t i = 0; i < count; i++) y[i] = tmp[i];
    free(tmp);
    return 0;
}

/* iota: start + step * (the element's index along axis). */
static void run_iota(const interp_state *s, const ir_node *n, double *y, int64_t count) {
    const ir_attrs_iota *a = &n->a.iota;
    int axis = (int)a->axis;
    int64_t size = ir_dim_eval(n->shape.d[axis], s->sym_values), inner = 1;
    for (int d = axis + 1; d < n->shape.rank; d++) inner *= ir_dim_eval(n->shape.d[d], s->sym_values);
    for (int64_t i = 0; i < count; i++) y[i] = a->start + a->step * (double)(i / inner % size);
}

/* ---- the families (op_families.def): one function each, called through
 * the table below, which ops.def's family column fills ---------------------- */

int interp_source(const interp_state *s, const ir_node *n, double *y) {
    int64_t count = interp_numel(s, n);
    double *const *from = n->op == OP_input ? s->inputs : s->params;
    int64_t index = n->op == OP_input ? n->a.input.index : n->a.param.index;
    switch (n->op) {
    case OP_input:
    case OP_param:
        if (!from || !from[index]) {
            fprintf(stderr, "interp: no data for %s '%s'\n", n->op == OP_input ? "input" : "parameter",
                    n->name ? n->name : "?");
            return -1;
        }
        memcpy(y, from[index], sizeof(double) * (size_t)count);
        return 0;
    case OP_constant:
        for (int64_t i = 0; i < count; i++) y[i] = n->a.constant.value;
        return 0;
    case OP_iota: run_iota(s, n, y, count); return 0;
    default: return run_random(n, y, count, s->seed);
    }
}

int interp_layout(const interp_state *s, const ir_node *n, double *y) {
    if (n->op == OP_transpose) run_transpose(s, n, y);
    else if (n->op == OP_broadcast_to) run_broadcast(s, n, y);
    else memcpy(y, s->value[n->in[0]->id], sizeof(double) * (size_t)interp_numel(s, n)); /* reshape, stop_grad */
    return 0;
}

int interp_label(const interp_state *s, const ir_node *n, double *y) {
    switch (n->op) {
    case OP_pick: return run_pick(s, n, y);
    case OP_unpick: return run_unpick(s, n, y);
    case OP_take: return run_take(s, n, y);
    case OP_scatter_add: return run_scatter_add(s, n, y);
    case OP_argmax: return run_argmax(s, n, y);
    default: return run_gather(s, n, y); /* gather, gather_grad, scatter_max */
    }
}

typedef int (*interp_fn)(const interp_state *s, const ir_node *n, double *y);
static const interp_fn interp_by_op[OP__COUNT] = {
#define OP(name, arity, kind, family, attrs, c_expr, ref) [OP_##name] = interp_##family,
#include "ops.def"
#undef OP
};

int64_t interp_numel(const interp_state *s, const ir_node *n) { return ir_dim_eval(ir_shape_numel(&n->shape), s->sym_values); }

int interp_run(interp_state *s, const ir_graph *g, const int64_t *sym_values, double *const *inputs,
               double *const *params, uint64_t seed) {
    memset(s, 0, sizeof *s);
    s->g = g;
    s->inputs = inputs, s->params = params, s->seed = seed;
    for (int i = 0; i < IR_MAX_SYMS; i++) s->sym_values[i] = sym_values ? sym_values[i] : 1;
    s->n_value = g->next_id;
    s->value = calloc((size_t)(s->n_value ? s->n_value : 1), sizeof *s->value);
    s->extra = calloc((size_t)(s->n_value ? s->n_value : 1), sizeof *s->extra);
    if (!s->value || !s->extra) return -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        int64_t count = interp_numel(s, n);
        s->value[n->id] = calloc((size_t)(count ? count : 1), sizeof(double));
        if (!s->value[n->id]) {
            fprintf(stderr, "interp: out of memory\n");
            return -1;
        }
        if (interp_by_op[n->op](s, n, s->value[n->id]) < 0) return -1;
    }
    return 0;
}

const double *interp_output(const interp_state *s, int k) { return s->value[s->g->outputs[k].node->id]; }

void interp_free(interp_state *s) {
    for (int i = 0; i < s->n_value; i++) free(s->value[i]);
    for (int i = 0; s->extra && i < s->n_value; i++) free(s->extra[i]);
    free(s->value);
    free(s->extra);
    s->value = NULL;
    s->extra = NULL;
    s->n_value = 0;
}
