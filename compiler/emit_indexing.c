/* emit_indexing.c — kernel bodies of argsort, cumsum, cumprod(_grad), flip
 * and cast_i32 (ops_indexing.c). argsort and the running sums and products
 * see x as [outer, L, inner] and give each (outer, inner) line to one
 * iteration of a parallel loop.
 *
 * argsort ranks each position j by counting the positions that come before
 * it (a smaller value, or an equal one further left): O(L²) per line with no
 * scratch memory, stable by definition, and its result does not depend on
 * the thread count. That suits the lengths sorted in a network (classes,
 * boxes, a few thousand at most); a merge sort would need a buffer per
 * thread. */
#include "emit_internal.h"

/* The C condition "a comes strictly before b" in the sort's order, NaN the
 * largest value (torch.sort). */
static const char *before(emit_ctx *c, const char *a, const char *b, int descending) {
    if (descending) {
        const char *t = a;
        a = b, b = t;
    }
    return arena_printf(c->ar, "(%s < %s || (%s != %s && %s == %s))", a, b, b, b, a, a);
}

/* x0 along the node's axis as lines: L (the axis's length) and I (the
 * stride between a line's elements), as C expressions. */
typedef struct lines {
    int axis;
    const char *L, *I;
    ir_dim count;       /* outer * inner lines */
    int64_t len;        /* L when a constant, else 64 (a guess, for the parallel threshold) */
} lines;

static lines lines_of(emit_ctx *c, const ir_node *n) {
    const ir_shape *xs = &n->in[0]->shape;
    lines l = {.axis = (int)(n->op == OP_argsort ? n->a.argsort.axis : n->a.cumsum.axis)};
    ir_dim outer, inner;
    emit_axis_view(xs, l.axis, &outer, &inner);
    l.L = emit_dim(c, xs->d[l.axis]), l.I = emit_dim(c, inner);
    l.count = ir_dim_mul(outer, inner);
    l.len = ir_dim_is_const(xs->d[l.axis]) ? xs->d[l.axis].k : 64;
    return l;
}

/* The position of a line's j-th element, from the end when reversed. */
static const char *line_pos(emit_ctx *c, const lines *l, int rev) {
    return arena_printf(c->ar, "(%s) * %s", rev ? arena_printf(c->ar, "%s - 1 - j", l->L) : "j", l->I);
}

/* Opens the loop over the lines, `work` operations each; leaves xr (the
 * line of x0) and the line's (o, i) in scope. */
static void open_lines(emit_ctx *c, FILE *b, const lines *l, int64_t work) {
    emit_for(c, b, "    ", "q", l->count, work, "");
    fprintf(b, " {\n        const int64_t o = q / %s, i = q %% %s;\n", l->I, l->I);
    fprintf(b, "        const float *xr = x0 + o * %s * %s + i;\n", l->L, l->I);
}

static void emit_argsort(emit_ctx *c, FILE *b, const ir_node *n) {
    lines l = lines_of(c, n);
    int desc = (int)n->a.argsort.descending;
    const char *L = l.L, *I = l.I, *K = emit_dim(c, n->shape.d[l.axis]);
    fprintf(b, "    /* positions of the first %s of %s along axis %d, %s, stable: rank = how many come before */\n", K, L,
            l.axis, desc ? "descending" : "ascending");
    open_lines(c, b, &l, l.len * l.len);
    fprintf(b, "        int32_t *yr = y + o * %s * %s + i;\n", K, I);
    fprintf(b, "        for (int64_t j = 0; j < %s; j++) {\n", L);
    fprintf(b, "            const float v = xr[j * %s];\n            int64_t r = 0;\n", I);
    fprintf(b, "            for (int64_t m = 0; m < %s; m++) {\n                const float u = xr[m * %s];\n", L, I);
    fprintf(b, "                r += %s || (m < j && !%s);\n            }\n", before(c, "u", "v", desc),
            before(c, "v", "u", desc));
    fprintf(b, "            if (r < %s) yr[r * %s] = (int32_t)j;\n        }\n    }\n", K, I);
}

/* cumsum and cumprod: accumulated in double, as PyTorch's CPU kernels do. */
static void emit_running(emit_ctx *c, FILE *b, const ir_node *n) {
    lines l = lines_of(c, n);
    int rev = (int)n->a.cumsum.reverse, prod = n->op == OP_cumprod;
    fprintf(b, "    /* running %s along axis %d%s */\n", prod ? "product" : "sum", l.axis, rev ? ", from the end" : "");
    open_lines(c, b, &l, l.len);
    fprintf(b, "        float *yr = y + o * %s * %s + i;\n        double acc = %s;\n", l.L, l.I, prod ? "1.0" : "0.0");
    fprintf(b, "        for (int64_t j = 0; j < %s; j++) {\n", l.L);
    fprintf(b, "            const int64_t p = %s;\n", line_pos(c, &l, rev));
    fprintf(b, "            acc %s= xr[p];\n            yr[p] = (float)acc;\n        }\n    }\n", prod ? "*" : "+");
}

/* dx_j = E_j S_j with E_j = prod_{k < j} x_k (first pass, kept in dx) and
 * S_j = gy_j + x_{j+1} S_{j+1} (second pass, from the end): exact where x
 * has zeros, no division, O(L). */
static void emit_cumprod_grad(emit_ctx *c, FILE *b, const ir_node *n) {
    lines l = lines_of(c, n);
    int rev = (int)n->a.cumsum.reverse;
    const char *p = line_pos(c, &l, rev);
    fprintf(b, "    /* gradient of the running product along axis %d%s: prefix products times a suffix sum */\n", l.axis,
            rev ? ", from the end" : "");
    open_lines(c, b, &l, 3 * l.len);
    fprintf(b, "        const float *gr = x1 + o * %s * %s + i;\n", l.L, l.I);
    fprintf(b, "        float *yr = y + o * %s * %s + i;\n        double e = 1.0, s = 0.0;\n", l.L, l.I);
    fprintf(b, "        for (int64_t j = 0; j < %s; j++) {\n", l.L);
    fprintf(b, "            const int64_t p = %s;\n            yr[p] = (float)e;\n            e *= xr[p];\n        }\n", p);
    fprintf(b, "        for (int64_t j = %s - 1; j >= 0; j--) {\n", l.L);
    fprintf(b, "            const int64_t p = %s;\n            s = gr[p] + s;\n", p);
    fprintf(b, "            yr[p] = (float)(yr[p] * s);\n            s *= xr[p];\n        }\n    }\n");
}

/* y[j] = x0 at j's coordinates, mirrored along the flipped axes. */
static void emit_flip(emit_ctx *c, FILE *b, const ir_node *n) {
    const ir_shape *xs = &n->in[0]->shape;
    int rank = xs->rank;
    fprintf(b, "    /* reversed along the axes of bitmask %lld */\n", (long long)n->a.flip.axes);
    emit_for(c, b, "    ", "j", ir_shape_numel(&n->shape), rank, "");
    fprintf(b, " {\n        int64_t r = j, s = 0;\n");
    for (int k = rank - 1; k >= 0; k--)
        fprintf(b, "        const int64_t c%d = r %% %s;\n        r /= %s;\n", k, emit_dim(c, xs->d[k]), emit_dim(c, xs->d[k]));
    for (int k = 0; k < rank; k++) {
        const char *D = emit_dim(c, xs->d[k]);
        if (n->a.flip.axes & (1 << k)) fprintf(b, "        s = s * %s + (%s - 1 - c%d);\n", D, D, k);
        else fprintf(b, "        s = s * %s + c%d;\n", D, k);
    }
    fprintf(b, "        (void)r;\n        y[j] = x0[s];\n    }\n");
}

void emit_indexing(emit_ctx *c, FILE *b, const ir_node *n) {
    if (n->op == OP_argsort) {
        emit_argsort(c, b, n);
        return;
    }
    if (n->op == OP_cumsum || n->op == OP_cumprod) {
        emit_running(c, b, n);
        return;
    }
    if (n->op == OP_cumprod_grad) {
        emit_cumprod_grad(c, b, n);
        return;
    }
    if (n->op == OP_flip) {
        emit_flip(c, b, n);
        return;
    }
    fprintf(b, "    /* toward zero, as torch's .int(); NaN -> 0, out of range -> the nearest int32 */\n");
    emit_for(c, b, "    ", "j", ir_shape_numel(&n->shape), 1, "");
    fprintf(b, " {\n        const float v = x0[j];\n");
    fprintf(b, "        y[j] = v != v ? 0 : v >= 2147483648.0f ? INT32_MAX : v < -2147483648.0f ? INT32_MIN : (int32_t)v;\n    }\n");
}
