/* elab_index.c — indexing: `x[:, 1:3]`, `x[0]`, `x[..., ::2]`-style slices of
 * tensors, and `sizes[0]`, `pair(k)[1]`, `blocks[1:]` on compile-time lists.
 *
 * Python's rules, resolved at compile time like the slice builtin's: a
 * negative index counts from the end, slice bounds are clamped, steps must
 * be positive (the IR has no reversing op). On a tensor each index applies to
 * one leading axis and the remaining axes are kept whole; an int index is a
 * slice of one element whose axis is then dropped by a reshape, so
 * `x[:, 0]` of f32[N, 10] is f32[N] and `x[0, 0]` of f32[3, 4] is f32[]. The
 * IR has one op for all of this (slice), so indexing needs no new kernel and
 * differentiates through slice_grad. A dimension known only at run time (N)
 * can be kept (`:`) but not cut: its length is needed to resolve the bounds.
 * Every error points at the offending index. */
#include <stdio.h>
#include <string.h>

#include "elab_internal.h"

/* A resolved slice: start, end (clamped), step > 0 and the number of
 * elements taken (0 for an empty slice). */
typedef struct span {
    int64_t start, end, step, count;
} span;

/* One optional slice bound or step: an int, or absent (V_NONE). */
static int bound_value(elab *e, frame *f, const ast_expr *b, const char *what, value *out) {
    if (!b) { *out = (value){.kind = V_NONE}; return 1; }
    *out = eval_expr(e, f, b);
    if (out->kind == V_ERROR) return 0;
    *out = int_like(out);
    if (out->kind != V_INT) {
        diag_error(e->d, b->loc, "%s must be an int, got %s", what, v_describe(e, out));
        return 0;
    }
    return 1;
}

/* Evaluate `lo:hi:step` against a length `len` (Python's slice.indices with a
 * positive step). */
static int resolve_slice(elab *e, frame *f, const ast_expr *s, int64_t len, span *out) {
    value lo, hi, st;
    if (!bound_value(e, f, s->items[0], "a slice bound", &lo) || !bound_value(e, f, s->items[1], "a slice bound", &hi) ||
        !bound_value(e, f, s->items[2], "the step of a slice", &st))
        return 0;
    int64_t step = st.kind == V_INT ? st.i : 1;
    if (step < 1) {
        diag_error(e->d, s->items[2]->loc, "the step of a slice must be positive, got %lld", (long long)step);
        return 0;
    }
    int64_t start = lo.kind == V_INT ? slice_bound(lo.i, len) : 0;
    int64_t end = hi.kind == V_INT ? slice_bound(hi.i, len) : len;
    *out = (span){start, end, step, end > start ? (end - start + step - 1) / step : 0};
    return 1;
}

/* An int index into something of length len, negative from the end. */
static int resolve_int(elab *e, const value *v, src_loc loc, int64_t len, const char *of_what, int64_t *out) {
    int64_t i = v->i < 0 ? v->i + len : v->i;
    if (i < 0 || i >= len) {
        diag_error(e->d, loc, "index %lld is out of range for %s of size %lld", (long long)v->i, of_what, (long long)len);
        return 0;
    }
    *out = i;
    return 1;
}

static int is_full_slice(const ast_expr *s) {
    return s->kind == AST_SLICE && !s->items[0] && !s->items[1] && !s->items[2];
}

/* items[k] of a list, or a sub-list for a slice. */
static value index_list(elab *e, frame *f, const ast_expr *x, const value *l) {
    if (x->n_items != 1) {
        diag_error(e->d, x->items[1]->loc, "a list takes one index, got %d", x->n_items);
        return v_error();
    }
    const ast_expr *ix = x->items[0];
    if (ix->kind == AST_SLICE) {
        span s;
        if (!resolve_slice(e, f, ix, l->n, &s) || elab_charge(e, x->loc, s.count)) return v_error();
        value r = v_list(e, (int)s.count, x->loc);
        for (int64_t k = 0; k < s.count; k++) r.items[k] = l->items[s.start + k * s.step];
        return r;
    }
    value v = eval_expr(e, f, ix);
    if (v.kind == V_ERROR) return v;
    v = int_like(&v);
    if (v.kind != V_INT) {
        diag_error(e->d, ix->loc, "a list index must be an int, got %s", v_describe(e, &v));
        return v_error();
    }
    int64_t i;
    if (!resolve_int(e, &v, ix->loc, l->n, "a list", &i)) return v_error();
    value r = l->items[i];
    if (r.kind != V_ERROR) r.loc = x->loc;
    return r;
}

/* The compile-time length of axis d of t, or -1 after reporting at loc. */
static int64_t cut_len(elab *e, ir_node *t, int d, src_loc loc) {
    if (ir_dim_is_const(t->shape.d[d])) return t->shape.d[d].k;
    diag_error(e->d, loc, "cannot index dimension %d of %s: its size is only known at run time\nhint: keep it whole with "
               "':'", d, t_describe(e, t));
    return -1;
}

/* A bound of a slice of the run-time axis K·S: a multiple j·S (N, 2 * N) or 0, j in 0..K,
 * absent: dflt. 0 after an error. */
static int unit_bound(elab *e, frame *f, const ast_expr *b, ir_dim len, int64_t dflt, int64_t *j) {
    if (!b) { *j = dflt; return 1; }
    value v = eval_expr(e, f, b);
    if (v.kind == V_ERROR) return 0;
    v = int_like(&v);
    if (v.kind == V_INT && v.i == 0) { *j = 0; return 1; }
    if (v.kind == V_DIM && v.dim.syms == len.syms && v.dim.k >= 0 && v.dim.k <= len.k) { *j = v.dim.k; return 1; }
    char a[48], u[48], got[64];
    if (v.kind == V_DIM) snprintf(got, sizeof got, "%s", ir_dim_str(u, sizeof u, v.dim, e->mod));
    else snprintf(got, sizeof got, "%s", v_describe(e, &v));
    diag_error(e->d, b->loc, "a bound of a run-time dimension of size %s must be a multiple of %s from 0 to it, got %s\n"
               "hint: h[:N] and h[N:] are the two halves of a batch of 2*N rows", ir_dim_str(a, sizeof a, len, e->mod),
               ir_dim_str(u, sizeof u, (ir_dim){.k = 1, .syms = len.syms}, e->mod), got);
    return 0;
}

/* x[a:b] along a run-time axis k·S (k >= 2: joined by concat) with bounds
 * that are multiples of S: h[:N], h[N:], h[N:2 * N]. NULL after an error. */
static ir_node *slice_runtime(elab *e, frame *f, const ast_expr *ix, ir_node *t, int d) {
    ir_dim len = t->shape.d[d];
    int64_t j0, j1;
    if (ix->items[2]) {
        diag_error(e->d, ix->items[2]->loc, "a slice of a run-time dimension takes no step");
        return NULL;
    }
    if (!unit_bound(e, f, ix->items[0], len, 0, &j0) || !unit_bound(e, f, ix->items[1], len, len.k, &j1)) return NULL;
    if (j1 <= j0) {
        diag_error(e->d, ix->loc, "this slice of axis %d is empty\nhint: tensors cannot have zero elements", d);
        return NULL;
    }
    return slice_units(e, t, d, j0, j1 - j0, ix->loc);
}

/* x[i0, i1, ...]: one slice per listed axis, then a reshape dropping the
 * axes given an int. */
static value index_tensor(elab *e, frame *f, const ast_expr *x, ir_node *t) {
    int rank = t->shape.rank;
    if (x->n_items > rank) {
        diag_error(e->d, x->items[rank]->loc, "too many indices: %s has %d dimension%s, %d indices given", t_describe(e, t),
                   rank, rank == 1 ? "" : "s", x->n_items);
        return v_error();
    }
    int dropped[IR_MAX_RANK] = {0}, any_dropped = 0;
    ir_node *cur = t;
    for (int d = 0; d < x->n_items; d++) {
        const ast_expr *ix = x->items[d];
        if (is_full_slice(ix)) continue;
        span s = {.step = 1, .count = 1};
        if (ix->kind == AST_SLICE && !ir_dim_is_const(cur->shape.d[d]) && cur->shape.d[d].k >= 2) {
            if (!(cur = slice_runtime(e, f, ix, cur, d))) return v_error();
            continue;
        }
        if (ix->kind == AST_SLICE) {
            int64_t len = cut_len(e, cur, d, ix->loc);
            if (len < 0 || !resolve_slice(e, f, ix, len, &s)) return v_error();
            if (s.count == 0) {
                diag_error(e->d, ix->loc, "this slice of axis %d is empty: [%lld:%lld] of a dimension of size %lld\n"
                           "hint: tensors cannot have zero elements", d, (long long)s.start, (long long)s.end,
                           (long long)len);
                return v_error();
            }
        } else {
            value v = eval_expr(e, f, ix);
            if (v.kind == V_ERROR) return v;
            v = int_like(&v);
            if (v.kind != V_INT) {
                if (v.kind == V_TENSOR)
                    diag_error(e->d, ix->loc, "indexing with a tensor is not supported\nhint: an index is a "
                               "compile-time int or a slice such as 1:3");
                else diag_error(e->d, ix->loc, "an index must be an int or a slice, got %s", v_describe(e, &v));
                return v_error();
            }
            int64_t len = cut_len(e, cur, d, ix->loc);
            if (len < 0) return v_error();
            char what[32];
            snprintf(what, sizeof what, "dimension %d", d);
            if (!resolve_int(e, &v, ix->loc, len, what, &s.start)) return v_error();
            dropped[d] = any_dropped = 1;
        }
        if (!(cur = slice_along(e, cur, d, s.start, s.step, s.count, x->loc))) return v_error();
    }
    if (!any_dropped) return v_tensor(cur, x->loc);
    ir_shape kept = {0};
    for (int d = 0; d < rank; d++)
        if (!dropped[d]) kept.d[kept.rank++] = cur->shape.d[d];
    return v_tensor(reshape_to(e, cur, &kept, x->loc), x->loc);
}

value eval_index(elab *e, frame *f, const ast_expr *x) {
    value base = eval_expr(e, f, x->lhs);
    if (base.kind == V_ERROR) return base;
    if (base.kind == V_LIST) return index_list(e, f, x, &base);
    if (base.kind == V_TENSOR) return index_tensor(e, f, x, base.t);
    diag_error(e->d, x->lhs->loc, "cannot index %s\nhint: tensors and lists (such as a block's several results) can be "
               "indexed", v_describe(e, &base));
    return v_error();
}
