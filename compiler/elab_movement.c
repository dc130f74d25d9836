/* elab_movement.c — the data-movement builtins: concat, stack, slice, split,
 * chunk, roll, pad, upsample, squeeze, unsqueeze (rows in elab_builtins.c's table).
 *
 * Their meaning is PyTorch's (torch.cat / stack / split / chunk / squeeze /
 * unsqueeze, Python slicing, F.pad, nn.Upsample with an integer
 * scale_factor); everything Python-ish is resolved here, at compile time, so
 * the IR ops stay simple: negative and out-of-range slice bounds are
 * normalized, pads are checked against the mode, split/chunk become a list
 * of slices, stack/squeeze/unsqueeze become reshapes (+ concat), and a
 * concat of more tensors than a node can take (IR_MAX_IN) becomes a chain.
 * The IR cannot hold an empty tensor, so an empty slice or split piece is an
 * error here rather than a zero-size value. */
#include <math.h>
#include <string.h>

#include "elab_internal.h"
#include "ops_movement.h"

/* An optional int argument (V_NONE = dflt). */
static int int_arg(elab *e, const value *v, int64_t dflt, const char *fname, const char *arg, int64_t *out) {
    if (v->kind == V_NONE) { *out = dflt; return 1; }
    value iv = int_like(v);
    if (iv.kind == V_INT) { *out = iv.i; return 1; }
    if (v->kind != V_ERROR)
        diag_error(e->d, v->loc, "argument '%s' of '%s' must be an int, got %s", arg, fname, v_describe(e, v));
    return 0;
}

/* An optional string argument that must be one of `choices` (NULL-terminated);
 * its index, or -1 after an error. */
static int choice_arg(elab *e, const value *v, int dflt, const char *fname, const char *arg, const char *const *choices,
                      const char *hint) {
    if (v->kind == V_NONE) return dflt;
    if (v->kind == V_STR)
        for (int k = 0; choices[k]; k++)
            if (strcmp(v->s, choices[k]) == 0) return k;
    if (v->kind != V_ERROR)
        diag_error(e->d, v->loc, "argument '%s' of '%s' cannot be %s\nhint: %s", arg, fname, v_describe(e, v), hint);
    return -1;
}

ir_node *reshape_to(elab *e, ir_node *x, const ir_shape *s, src_loc loc) {
    ir_attrs a = {0};
    ir_attrs_set_shape(&a, 0, s);
    return ir_add(e->g, e->d, loc, OP_reshape, &x, 1, &a);
}

/* A list argument whose items are all tensors; its length, or -1. */
static int tensor_list(elab *e, value *v, const char *fname, ir_node ***out) {
    if (v->kind == V_ERROR) return -1;
    if (v->kind != V_LIST || v->n < 1) {
        diag_error(e->d, v->loc, "the first argument of '%s' must be a non-empty list of tensors, got %s\nhint: %s([a, b], "
                   "axis = 1)", fname, v_describe(e, v), fname);
        return -1;
    }
    *out = ARENA_NEW_ARRAY(e->a, ir_node *, v->n);
    for (int k = 0; k < v->n; k++) {
        if (v->items[k].kind == V_ERROR) return -1;
        if (v->items[k].kind != V_TENSOR) {
            diag_error(e->d, v->items[k].loc, "item %d of the list given to '%s' must be a tensor, got %s", k + 1, fname,
                       v_describe(e, &v->items[k]));
            return -1;
        }
        (*out)[k] = v->items[k].t;
    }
    return v->n;
}

/* concat of any number of tensors: chained when longer than a node's inputs. */
static ir_node *concat_nodes(elab *e, ir_node **xs, int n, int axis, src_loc loc) {
    if (n == 1) return xs[0];
    ir_attrs a = {.concat = {.axis = axis}, .ni = 1};
    ir_node *acc = ir_add(e->g, e->d, loc, OP_concat, xs, n < IR_MAX_IN ? n : IR_MAX_IN, &a);
    for (int at = IR_MAX_IN; acc && at < n; at += IR_MAX_IN - 1) {
        ir_node *in[IR_MAX_IN] = {acc};
        int m = n - at < IR_MAX_IN - 1 ? n - at : IR_MAX_IN - 1;
        memcpy(in + 1, xs + at, sizeof(ir_node *) * (size_t)m);
        acc = ir_add(e->g, e->d, loc, OP_concat, in, m + 1, &a);
    }
    return acc;
}

/* ---- run-time lengths: a number of units S, S the product of run-time sizes ----
 *
 * A dimension is k·S (ir_dim), so joining along a run-time axis whose lengths
 * share S is exact, k1·S + k2·S = (k1 + k2)·S: each tensor's axis is viewed as
 * [k, S] (a reshape, no copy), the views are joined along the compile-time
 * axis k by the ordinary concat, and the result viewed as one axis again.
 * Cutting it back (split, chunk) is the same in reverse: view as [K, S], slice
 * the K axis, view each piece as one axis. The IR's concat and slice keep
 * their compile-time lengths, so forward, backward and every backend are
 * theirs; N + M (two run-time sizes) is not a dimension and stays an error. */

/* x with axis `axis` (k·S) viewed as the two axes [k, S], or merged back when `k` is 0. */
static ir_node *view_units(elab *e, ir_node *x, int axis, int64_t k, src_loc loc) {
    ir_shape s = {.rank = x->shape.rank + (k ? 1 : -1)};
    if (s.rank > IR_MAX_RANK) {
        diag_error(e->d, loc, "cannot join or cut a run-time dimension of a tensor of rank %d (the limit is %d)",
                   x->shape.rank, IR_MAX_RANK - 1);
        return NULL;
    }
    for (int d = 0, j = 0; d < s.rank; d++) {
        if (d != axis) s.d[d] = x->shape.d[j++];
        else if (k) s.d[d] = ir_dim_const(k), s.d[++d] = (ir_dim){.k = 1, .syms = x->shape.d[j++].syms};
        else s.d[d] = ir_dim_mul(x->shape.d[j], x->shape.d[j + 1]), j += 2;
    }
    return reshape_to(e, x, &s, loc);
}

/* The units of concat's run-time axis: 1 when the tensors can be joined
 * that way, 0 for the ordinary concat (then its shape rule speaks), -1 after an error. */
static int runtime_join(elab *e, ir_node **xs, int n, int axis, src_loc loc) {
    uint32_t syms = xs[0]->shape.d[axis].syms;
    int any = 0;
    for (int k = 0; k < n; k++) {
        if (xs[k]->shape.rank != xs[0]->shape.rank) return 0;
        any |= xs[k]->shape.d[axis].syms != 0;
        for (int d = 0; d < xs[0]->shape.rank; d++)
            if (d != axis && !ir_dim_eq(xs[k]->shape.d[d], xs[0]->shape.d[d])) return 0;
    }
    if (!any) return 0;
    for (int k = 1; k < n; k++)
        if (xs[k]->shape.d[axis].syms != syms) {
            char a[48], b[48];
            /* torch.cat([k, queue])[:K] is how MoCo's queue is written in torch */
            int queue = axis == 0 && (!xs[0]->shape.d[axis].syms || !xs[k]->shape.d[axis].syms);
            diag_error(e->d, loc, "concat cannot join %s and %s along axis %d: %s + %s is not a size a tensor can have\n"
                       "hint: a run-time length is a number times run-time sizes: tensors of lengths N and N, or N and "
                       "2*N, join (into 2*N, 3*N); N and M, or N and 3, do not%s", t_describe(e, xs[0]), t_describe(e, xs[k]),
                       axis, ir_dim_str(a, sizeof a, xs[0]->shape.d[axis], e->mod),
                       ir_dim_str(b, sizeof b, xs[k]->shape.d[axis], e->mod),
                       queue ? "; a buffer of the last K rows (MoCo's queue of keys) is update(queue, enqueue(queue, rows))" : "");
            return -1;
        }
    return 1;
}

/* concat(tensors, axis = 0): torch.cat. */
value b_concat(elab *e, src_loc loc, const char *name, value *args) {
    ir_node **xs;
    int n = tensor_list(e, &args[0], name, &xs), axis;
    if (n < 0) return v_error();
    value axv = args[1].kind == V_NONE ? v_int(0, loc) : args[1];
    if (!axis_norm(e, &axv, xs[0]->shape.rank, name, &axis)) return v_error();
    int rt = n > 1 ? runtime_join(e, xs, n, axis, loc) : 0;
    if (rt < 0) return v_error();
    if (!rt) return v_tensor(concat_nodes(e, xs, n, axis, loc), loc);
    ir_node **views = ARENA_NEW_ARRAY(e->a, ir_node *, n);
    for (int k = 0; k < n; k++)
        if (!(views[k] = view_units(e, xs[k], axis, xs[k]->shape.d[axis].k, loc))) return v_error();
    ir_node *joined = concat_nodes(e, views, n, axis, loc);
    return joined ? v_tensor(view_units(e, joined, axis, 0, loc), loc) : v_error();
}

/* x with a dimension of 1 inserted before position `axis` (0..rank). */
static ir_node *insert_one(elab *e, ir_node *x, int axis, src_loc loc) {
    if (x->shape.rank >= IR_MAX_RANK) {
        diag_error(e->d, loc, "cannot add a dimension to a tensor of rank %d (the limit is %d)", x->shape.rank, IR_MAX_RANK);
        return NULL;
    }
    ir_shape s = {.rank = x->shape.rank + 1};
    for (int d = 0, k = 0; d < s.rank; d++) s.d[d] = d == axis ? ir_dim_const(1) : x->shape.d[k++];
    return reshape_to(e, x, &s, loc);
}

/* An axis for inserting a dimension: -(rank+1) .. rank. */
static int insert_axis(elab *e, const value *v, int rank, const char *fname, int *out) {
    if (v->kind == V_INT && (v->i > rank || v->i < -rank - 1)) { /* say which rank the range comes from */
        diag_error(e->d, v->loc, "axis %lld is out of range for '%s' of a tensor of rank %d: the new axis is one of %d..%d",
                   (long long)v->i, fname, rank, -rank - 1, rank);
        return 0;
    }
    return axis_norm(e, v, rank + 1, fname, out);
}

/* stack(tensors, axis = 0): torch.stack = unsqueeze each, then concat. */
value b_stack(elab *e, src_loc loc, const char *name, value *args) {
    ir_node **xs;
    int n = tensor_list(e, &args[0], name, &xs), axis;
    if (n < 0) return v_error();
    value axv = args[1].kind == V_NONE ? v_int(0, loc) : args[1];
    if (!insert_axis(e, &axv, xs[0]->shape.rank, name, &axis)) return v_error();
    for (int k = 1; k < n; k++)
        if (!ir_shape_eq(&xs[k]->shape, &xs[0]->shape)) {
            diag_error(e->d, args[0].items[k].loc, "stack needs tensors of one shape: item %d is %s, item 1 is %s", k + 1,
                       v_describe(e, &args[0].items[k]), v_describe(e, &args[0].items[0]));
            return v_error();
        }
    for (int k = 0; k < n; k++)
        if (!(xs[k] = insert_one(e, xs[k], axis, loc))) return v_error();
    return v_tensor(concat_nodes(e, xs, n, axis, loc), loc);
}

/* The slice [start:start+count*step:step] of x along axis (already checked). */
ir_node *slice_along(elab *e, ir_node *x, int axis, int64_t start, int64_t step, int64_t count, src_loc loc) {
    if (start == 0 && step == 1 && ir_dim_eq(x->shape.d[axis], ir_dim_const(count))) return x;
    ir_attrs a = {.slice = {.axis = axis, .start = start, .step = step, .count = count}, .ni = 4};
    return ir_add(e->g, e->d, loc, OP_slice, &x, 1, &a);
}

/* The compile-time length of x's axis, or -1 after an error. */
static int64_t axis_len(elab *e, ir_node *x, int axis, const char *fname, src_loc loc) {
    if (ir_dim_is_const(x->shape.d[axis])) return x->shape.d[axis].k;
    char u[48];
    ir_dim d = x->shape.d[axis];
    if (!strcmp(fname, "roll") || d.k < 2) {   /* the hint is for an axis joined from run-time lengths */
        diag_error(e->d, loc, "'%s' cannot cut dimension %d of %s: its size is only known at run time", fname, axis,
                   t_describe(e, x));
        return -1;
    }
    diag_error(e->d, loc, "'%s' cannot cut dimension %d of %s: its size is only known at run time\nhint: cut it into "
               "pieces of a run-time size: split(x, %s, axis = %d), or chunk(x, %lld, axis = %d)", fname, axis,
               t_describe(e, x), ir_dim_str(u, sizeof u, (ir_dim){.k = 1, .syms = d.syms}, e->mod), axis,
               (long long)d.k, axis);
    return -1;
}

/* Python's rule for one slice bound: negative counts from the end, then clamp. */
int64_t slice_bound(int64_t b, int64_t len) {
    if (b < 0) b += len;
    return b < 0 ? 0 : b > len ? len : b;
}

/* slice(x, axis, start = None, end = None, step = 1): x[..., start:end:step, ...]. */
value b_slice(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    int axis;
    int64_t start, end, step;
    if (!x || !axis_norm(e, &args[1], x->shape.rank, name, &axis) || !int_arg(e, &args[4], 1, name, "step", &step))
        return v_error();
    if (step < 1) {
        diag_error(e->d, args[4].loc, "the step of a slice must be positive, got %lld", (long long)step);
        return v_error();
    }
    if (args[2].kind == V_NONE && args[3].kind == V_NONE && step == 1) return v_tensor(x, loc); /* x[:] */
    int64_t len = axis_len(e, x, axis, name, loc);
    if (len < 0 || !int_arg(e, &args[2], 0, name, "start", &start) || !int_arg(e, &args[3], len, name, "end", &end))
        return v_error();
    start = slice_bound(start, len), end = slice_bound(end, len);
    int64_t count = end > start ? (end - start + step - 1) / step : 0;
    if (count == 0) {
        diag_error(e->d, loc, "this slice of axis %d is empty: [%lld:%lld] of a dimension of size %lld\nhint: tensors "
                   "cannot have zero elements", axis, (long long)start, (long long)end, (long long)len);
        return v_error();
    }
    return v_tensor(slice_along(e, x, axis, start, step, count, loc), loc);
}

/* Consecutive pieces of the given sizes along axis, as a list of tensors. */
static value pieces(elab *e, ir_node *x, int axis, const int64_t *sizes, int n, src_loc loc) {
    value l = v_list(e, n, loc);
    int64_t at = 0;
    for (int k = 0; k < n; k++) {
        ir_node *p = slice_along(e, x, axis, at, 1, sizes[k], loc);
        if (!p) return v_error();
        l.items[k] = v_tensor(p, loc);
        at += sizes[k];
    }
    return l;
}

/* One operation per piece: a dimension of 10^9 cut into ones stops here, before its list is allocated. */
static int too_many_pieces(elab *e, int64_t n, const char *name, src_loc loc) {
    if (n <= ELAB_MAX_NODES - e->g->n_nodes) return 0;
    diag_error(e->d, loc, "'%s' would make %lld pieces, more than the %d operations a graph may have", name, (long long)n,
               ELAB_MAX_NODES);
    return 1;
}

/* Pieces of `size` (the last may be smaller): torch.split with an int. */
static value even_pieces(elab *e, ir_node *x, int axis, int64_t len, int64_t size, const char *name, src_loc loc) {
    int64_t n = len / size + (len % size != 0);   /* not (len + size - 1) / size: size = 2^63 - 1 overflowed it */
    if (too_many_pieces(e, n, name, loc)) return v_error();
    int64_t *sizes = ARENA_NEW_ARRAY(e->a, int64_t, n);
    for (int k = 0; k < n; k++) sizes[k] = k < n - 1 ? size : len - size * (n - 1);
    return pieces(e, x, axis, sizes, (int)n, loc);
}

/* Units j0 .. j0 + count - 1 of x's run-time axis K·S: x[j0·S : (j0 + count)·S] along axis. */
ir_node *slice_units(elab *e, ir_node *x, int axis, int64_t j0, int64_t count, src_loc loc) {
    ir_node *v = view_units(e, x, axis, x->shape.d[axis].k, loc);
    if (v) v = slice_along(e, v, axis, j0, 1, count, loc);
    return v ? view_units(e, v, axis, 0, loc) : NULL;
}

/* Pieces of a run-time axis K·S of x, the k-th ks[k]·S long (Σ ks = K). */
static value unit_pieces(elab *e, ir_node *x, int axis, const int64_t *ks, int n, src_loc loc) {
    ir_node *v = view_units(e, x, axis, x->shape.d[axis].k, loc);
    value l = v ? pieces(e, v, axis, ks, n, loc) : v_error();
    for (int k = 0; l.kind == V_LIST && k < n; k++)
        if (!(l.items[k].t = view_units(e, l.items[k].t, axis, 0, loc))) return v_error();
    return l;
}

/* split or chunk of a run-time axis K·S: pieces whose sizes are whole numbers
 * of S, each given (`sizes`, n of them: a dimension such as N) or, with
 * sizes NULL, `n` equal ones. */
static value runtime_pieces(elab *e, ir_node *x, int axis, const value *sizes, int64_t n, const char *name, src_loc loc) {
    ir_dim len = x->shape.d[axis];
    char a[48], b[48], c[48];
    if (!sizes && len.k % n) {   /* also n > K, before anything is allocated */
        diag_error(e->d, loc, "'%s' cannot cut dimension %d of %s into %lld equal pieces: its size %s is only known at "
                   "run time\nhint: a run-time dimension k*N is cut into a number of pieces that divides k",
                   name, axis, t_describe(e, x), (long long)n, ir_dim_str(a, sizeof a, len, e->mod));
        return v_error();
    }
    if (too_many_pieces(e, n, name, loc)) return v_error();
    int64_t *ks = ARENA_NEW_ARRAY(e->a, int64_t, n), total = 0;
    for (int k = 0; sizes && k < n; k++) {
        ir_dim d = sizes[k].kind == V_DIM ? sizes[k].dim : ir_dim_const(sizes[k].kind == V_INT ? sizes[k].i : 0);
        if ((sizes[k].kind != V_DIM && sizes[k].kind != V_INT) || d.syms != len.syms || d.k < 1 || d.k > len.k - total) {
            diag_error(e->d, sizes[k].loc, "'%s' cannot cut a piece of size %s from dimension %d of %s\nhint: along a "
                       "run-time dimension (here %s) the pieces are run-time sizes that add up to it: split(x, %s, axis "
                       "= %d), or chunk(x, %lld, axis = %d)", name, sizes[k].kind == V_DIM || sizes[k].kind == V_INT ?
                       ir_dim_str(a, sizeof a, d, e->mod) : v_describe(e, &sizes[k]), axis, t_describe(e, x),
                       ir_dim_str(b, sizeof b, len, e->mod), ir_dim_str(c, sizeof c, (ir_dim){.k = 1, .syms = len.syms},
                       e->mod), axis, (long long)len.k, axis);
            return v_error();
        }
        total += ks[k] = d.k;
    }
    for (int64_t k = 0; !sizes && k < n; k++) total += ks[k] = len.k / n;
    if (total != len.k) {
        diag_error(e->d, loc, "the sizes add up to %s but dimension %d has size %s", ir_dim_str(a, sizeof a,
                   (ir_dim){.k = total, .syms = len.syms}, e->mod), axis, ir_dim_str(b, sizeof b, len, e->mod));
        return v_error();
    }
    return unit_pieces(e, x, axis, ks, (int)n, loc);
}

/* split(x, sizes, axis = 0): torch.split — an int is the size of each piece
 * (the last may be smaller), a list gives every piece's size. */
value b_split(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    int axis;
    value axv = args[2].kind == V_NONE ? v_int(0, loc) : args[2];
    if (!x || !axis_norm(e, &axv, x->shape.rank, name, &axis)) return v_error();
    value *sv = &args[1];
    *sv = int_like(sv);
    if (sv->kind == V_LIST)
        for (int k = 0; k < sv->n; k++) sv->items[k] = int_like(&sv->items[k]);
    ir_dim rlen = x->shape.d[axis];
    if (!ir_dim_is_const(rlen) && sv->kind == V_DIM) {   /* split(h, N) of 2*N: equal pieces */
        if (sv->dim.syms != rlen.syms || sv->dim.k < 1 || sv->dim.k > rlen.k)
            return runtime_pieces(e, x, axis, sv, 1, name, loc);   /* its error */
        int64_t size = sv->dim.k, n = rlen.k / size + (rlen.k % size != 0);
        if (too_many_pieces(e, n, name, loc)) return v_error();
        int64_t *ks = ARENA_NEW_ARRAY(e->a, int64_t, n);
        for (int64_t k = 0; k < n; k++) ks[k] = k < n - 1 ? size : rlen.k - size * (n - 1);   /* the last may be smaller */
        return unit_pieces(e, x, axis, ks, (int)n, loc);
    }
    if (!ir_dim_is_const(rlen) && sv->kind == V_LIST && sv->n > 0) return runtime_pieces(e, x, axis, sv->items, sv->n, name, loc);
    int64_t len = axis_len(e, x, axis, name, loc);
    if (len < 0) return v_error();
    if (sv->kind == V_INT) {
        if (sv->i < 1) {
            diag_error(e->d, sv->loc, "the size of each piece must be at least 1, got %lld", (long long)sv->i);
            return v_error();
        }
        return even_pieces(e, x, axis, len, sv->i, name, loc);
    }
    if (sv->kind != V_LIST) {
        if (sv->kind != V_ERROR)
            diag_error(e->d, sv->loc, "'split' takes the size of each piece or a list of sizes, got %s\nhint: split(x, 2, "
                       "axis = 1) or split(x, [3, 5], axis = 1); chunk(x, n) cuts into n pieces", v_describe(e, sv));
        return v_error();
    }
    int64_t *sizes = ARENA_NEW_ARRAY(e->a, int64_t, sv->n ? sv->n : 1), total = 0;
    for (int k = 0; k < sv->n; k++) {
        if (sv->items[k].kind != V_INT || sv->items[k].i < 1) {
            diag_error(e->d, sv->items[k].loc, "a piece size must be a positive int, got %s", v_describe(e, &sv->items[k]));
            return v_error();
        }
        if (sv->items[k].i > len - total) {   /* before the sum, which 2^63 - 1 overflowed (UBSan) */
            diag_error(e->d, sv->loc, "the sizes add up to more than dimension %d's size %lld", axis, (long long)len);
            return v_error();
        }
        total += sizes[k] = sv->items[k].i;
    }
    if (sv->n == 0 || total != len) {
        diag_error(e->d, sv->loc, "the sizes add up to %lld but dimension %d has size %lld", (long long)total, axis,
                   (long long)len);
        return v_error();
    }
    return pieces(e, x, axis, sizes, sv->n, loc);
}

/* chunk(x, chunks, axis = 0): torch.chunk — pieces of ceil(len / chunks), so
 * there may be fewer than `chunks` of them. */
value b_chunk(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    int axis;
    int64_t chunks;
    value axv = args[2].kind == V_NONE ? v_int(0, loc) : args[2];
    if (!x || !int_arg(e, &args[1], 1, name, "chunks", &chunks) || !axis_norm(e, &axv, x->shape.rank, name, &axis))
        return v_error();
    if (chunks < 1) {
        diag_error(e->d, args[1].loc, "the number of chunks must be at least 1, got %lld", (long long)chunks);
        return v_error();
    }
    if (!ir_dim_is_const(x->shape.d[axis])) return runtime_pieces(e, x, axis, NULL, chunks, name, loc);   /* chunk(h, 2) of 2*N */
    int64_t len = axis_len(e, x, axis, name, loc);
    if (len < 0) return v_error();
    return even_pieces(e, x, axis, len, len / chunks + (len % chunks != 0), name, loc);
}

/* roll(x, shifts, axis): torch.roll with dims given. Each (shift, axis)
 * pair is two slices swapped by a concat, so it differentiates like them
 * and needs no op of its own; the shift is taken modulo the length, as
 * torch does, so -1 and len - 1 are the same roll. */
value b_roll(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    if (!x) return v_error();
    value one_s[1], one_a[1], *sv = &args[1], *av = &args[2];
    *sv = int_like(sv);
    int n = sv->kind == V_LIST ? sv->n : 1;
    if (av->kind == V_NONE) {
        diag_error(e->d, loc, "'roll' needs the axis to roll along\nhint: roll(x, 2, axis = 1), or roll(x, (-3, -3), "
                   "axis = (1, 2)) for several (torch.roll without dims flattens first; reshape for that)");
        return v_error();
    }
    if ((sv->kind == V_LIST) != (av->kind == V_LIST) || (av->kind == V_LIST && av->n != n) || n < 1) {
        if (sv->kind != V_ERROR && av->kind != V_ERROR)
            diag_error(e->d, av->loc, "'roll' takes one shift per axis: an int and an int, or two lists of one length; "
                       "got %s and %s", v_describe(e, sv), v_describe(e, av));
        return v_error();
    }
    value *shifts = sv->kind == V_LIST ? sv->items : (one_s[0] = *sv, one_s);
    value *axes = av->kind == V_LIST ? av->items : (one_a[0] = *av, one_a);
    for (int k = 0; k < n; k++) {
        int64_t shift, len;
        int axis;
        if (!int_arg(e, &shifts[k], 0, name, "shifts", &shift) || !axis_norm(e, &axes[k], x->shape.rank, name, &axis) ||
            (len = axis_len(e, x, axis, name, loc)) < 0)
            return v_error();
        shift = ((shift % len) + len) % len;
        if (shift == 0) continue;
        ir_node *parts[2] = {slice_along(e, x, axis, len - shift, 1, shift, loc), slice_along(e, x, axis, 0, 1, len - shift, loc)};
        if (!parts[0] || !parts[1] || !(x = concat_nodes(e, parts, 2, axis, loc))) return v_error();
    }
    return v_tensor(x, loc);
}

/* pad(x, pads, mode = "constant", value = 0.0): torch.nn.functional.pad —
 * pads = (left, right) for the last dim, then (top, bottom) for the one
 * before, ...; up to 3 dims. */
value b_pad(elab *e, src_loc loc, const char *name, value *args) {
    static const char *const modes[] = {"constant", "reflect", "replicate", NULL};
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    if (!x) return v_error();
    int mode = choice_arg(e, &args[2], MV_PAD_CONSTANT, name, "mode", modes,
                          "the modes are \"constant\", \"reflect\" and \"replicate\"");
    if (mode < 0) return v_error();
    value *pv = &args[1];
    if (pv->kind != V_LIST || pv->n < 2 || pv->n % 2 || pv->n > 2 * MV_PAD_MAX_DIMS) {
        const char *got = pv->kind == V_LIST ? arena_printf(e->a, "%d values", pv->n) : v_describe(e, pv);
        if (pv->kind != V_ERROR)
            diag_error(e->d, pv->loc, "pads must be a list of 2, 4 or 6 ints, got %s\nhint: (left, right) for the last "
                       "dimension first, then (top, bottom), as torch.nn.functional.pad", got);
        return v_error();
    }
    ir_attrs a = {.pad = {.mode = mode, .dims = pv->n / 2}, .ni = 2 + pv->n, .nf = 1};
    int any = 0;
    for (int k = 0; k < pv->n; k++) {
        pv->items[k] = int_like(&pv->items[k]);
        if (pv->items[k].kind != V_INT) {
            diag_error(e->d, pv->items[k].loc, "a pad must be an int, got %s", v_describe(e, &pv->items[k]));
            return v_error();
        }
        any |= (a.pad.pads[k] = pv->items[k].i) != 0;
    }
    if (args[3].kind != V_NONE && mode != MV_PAD_CONSTANT) {
        diag_error(e->d, args[3].loc, "padding mode \"%s\" does not take a value", modes[mode]);
        return v_error();
    }
    if (!float_arg(e, &args[3], 0.0, name, "value", &a.pad.value)) return v_error();
    if (x->dtype == IR_I32 && (a.pad.value != floor(a.pad.value) || fabs(a.pad.value) > 2147483647.0)) {
        diag_error(e->d, args[3].loc, "pad of %s: the value must be an int (e.g. the PAD id), got %g", t_describe(e, x),
                   a.pad.value);
        return v_error();
    }
    if (!any) return v_tensor(x, loc);
    return v_tensor(ir_add(e->g, e->d, loc, OP_pad, &x, 1, &a), loc);
}

/* One integer scale factor (an int, or a float with an integer value). */
static int scale_item(elab *e, const value *v, int64_t *out) {
    double f;
    if (v->kind != V_BOOL && as_number(v, &f) && f >= 1 && f == floor(f) && f < 1e6) {
        *out = (int64_t)f;
        return 1;
    }
    if (v->kind != V_ERROR)
        diag_error(e->d, v->loc, "a scale factor must be a whole number >= 1, got %s\nhint: upsample supports integer "
                   "factors such as 2 or (2, 1); for another ratio give the output size = (h, w)", v_describe(e, v));
    return 0;
}

/* The output size of one axis from a `size` item: a positive int. */
static int size_item(elab *e, const value *v, int64_t *out) {
    value iv = int_like(v);
    if (iv.kind == V_INT && iv.i >= 1 && iv.i < 1000000) {
        *out = iv.i;
        return 1;
    }
    if (v->kind != V_ERROR)
        diag_error(e->d, v->loc, "an output size must be a positive int, got %s", v_describe(e, v));
    return 0;
}

static int64_t gcd64(int64_t a, int64_t b) { return b ? gcd64(b, a % b) : a; }

/* upsample(x, scale = 2, mode = "nearest", align_corners = false, size = None):
 * nn.Upsample(scale_factor = scale) or nn.Upsample(size = size) on
 * f32[N, C, H, W]; scale and size are one number or a pair (h, w). A size
 * becomes the ratio size / H in lowest terms (attributes num, den). */
value b_upsample(elab *e, src_loc loc, const char *name, value *args) {
    static const char *const modes[] = {"nearest", "bilinear", NULL};
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    if (!x) return v_error();
    int mode = choice_arg(e, &args[2], MV_UP_NEAREST, name, "mode", modes, "the modes are \"nearest\" and \"bilinear\"");
    if (mode < 0) return v_error();
    int64_t num[2] = {2, 2}, den[2] = {1, 1};
    int by_size = args[4].kind != V_NONE;
    if (by_size && args[1].kind != V_NONE) {
        diag_error(e->d, args[4].loc, "give upsample a scale or a size, not both");
        return v_error();
    }
    value *sv = by_size ? &args[4] : &args[1];
    int (*item)(elab *, const value *, int64_t *) = by_size ? size_item : scale_item;
    if (sv->kind == V_LIST) {
        if (sv->n != 2) {
            diag_error(e->d, sv->loc, "%s must be one number or (h, w), got %d numbers", by_size ? "size" : "scale", sv->n);
            return v_error();
        }
        if (!item(e, &sv->items[0], &num[0]) || !item(e, &sv->items[1], &num[1])) return v_error();
    } else if (sv->kind != V_NONE) {
        if (!item(e, sv, &num[0])) return v_error();
        num[1] = num[0];
    }
    if (by_size) {
        for (int j = 0; j < 2; j++) {
            ir_dim have = x->shape.rank == 4 ? x->shape.d[2 + j] : ir_dim_const(0);
            if (!ir_dim_is_const(have) || have.k < 1) {
                diag_error(e->d, loc, "upsample with a size needs f32[N, C, H, W] with H and W known at compile time, got %s",
                           t_describe(e, x));
                return v_error();
            }
            int64_t g = gcd64(num[j], have.k);
            den[j] = have.k / g, num[j] /= g;
        }
    }
    int align;
    if (!bool_arg(e, &args[3], 0, name, "align_corners", &align)) return v_error();
    if (args[3].kind != V_NONE && mode != MV_UP_BILINEAR) {
        diag_error(e->d, args[3].loc, "align_corners can only be set with mode = \"bilinear\"");
        return v_error();
    }
    ir_attrs a = {.upsample = {.mode = mode, .num_h = num[0], .num_w = num[1], .align_corners = align, .den_h = den[0],
                               .den_w = den[1]},
                  .ni = den[0] == 1 && den[1] == 1 ? 4 : 6};
    return v_tensor(ir_add(e->g, e->d, loc, OP_upsample, &x, 1, &a), loc);
}

/* nms(boxes, scores, iou = 0.5, score_threshold = none, max_out = all,
 * class_ids = none): torchvision.ops.nms per image (batched_nms with class
 * ids) as a fixed-shape f32[N, A] mask, 1 for each box kept. */
value b_nms(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *in[3] = {tensor_arg(e, &args[0], name, "boxes"), tensor_arg(e, &args[1], name, "scores"), NULL};
    if (!in[0] || !in[1]) return v_error();
    if (args[5].kind != V_NONE && !(in[2] = tensor_arg(e, &args[5], name, "class_ids"))) return v_error();
    double iou, thr = 0;
    int64_t max_out;
    if (!float_arg(e, &args[2], 0.5, name, "iou", &iou) || !int_arg(e, &args[4], 0, name, "max_out", &max_out) ||
        (args[3].kind != V_NONE && !float_arg(e, &args[3], 0, name, "score_threshold", &thr)))
        return v_error();
    if (!(iou >= 0 && iou <= 1)) {
        diag_error(e->d, args[2].loc, "iou must be in [0, 1], got %g", iou);
        return v_error();
    }
    if (max_out < 0 || (args[4].kind != V_NONE && max_out == 0)) {
        diag_error(e->d, args[4].loc, "max_out must be >= 1, got %lld", (long long)max_out);
        return v_error();
    }
    ir_attrs a = {.nms = {.max_out = max_out, .has_threshold = args[3].kind != V_NONE, .iou = iou, .score_threshold = thr},
                  .ni = 2, .nf = 2};
    return v_tensor(ir_add(e->g, e->d, loc, OP_nms, in, in[2] ? 3 : 2, &a), loc);
}

/* output_size of roi_align and roi_pool: one int (square) or (h, w) */
static int roi_output_size(elab *e, value *sv, int64_t size[2]) {
    if (sv->kind == V_LIST && sv->n == 2)
        return size_item(e, &sv->items[0], &size[0]) && size_item(e, &sv->items[1], &size[1]);
    if (sv->kind == V_LIST) {
        diag_error(e->d, sv->loc, "output_size must be one int or (h, w), got %d numbers", sv->n);
        return 0;
    }
    if (!size_item(e, sv, &size[0])) return 0;
    size[1] = size[0];
    return 1;
}

/* roi_align(x, boxes, output_size, spatial_scale = 1.0, sampling_ratio = -1,
 * aligned = false): torchvision.ops.roi_align with the boxes of each image
 * as a fixed-size f32[N, R, 4] (the list form of its `boxes`), giving
 * f32[N, R, C, PH, PW] where torchvision gives [N R, C, PH, PW]. */
value b_roi_align(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *in[2] = {tensor_arg(e, &args[0], name, "x"), tensor_arg(e, &args[1], name, "boxes")};
    if (!in[0] || !in[1]) return v_error();
    int64_t size[2];
    if (!roi_output_size(e, &args[2], size)) return v_error();
    double scale, sampling;
    int aligned;
    if (!float_arg(e, &args[3], 1.0, name, "spatial_scale", &scale) ||
        !float_arg(e, &args[4], -1.0, name, "sampling_ratio", &sampling) ||
        !bool_arg(e, &args[5], 0, name, "aligned", &aligned))
        return v_error();
    if (!(scale > 0) || sampling != floor(sampling) || sampling > 64) {
        diag_error(e->d, !(scale > 0) ? args[3].loc : args[4].loc, !(scale > 0) ? "spatial_scale must be > 0"
                   : "sampling_ratio must be a whole number <= 64 (<= 0: adaptive, as torchvision's -1)");
        return v_error();
    }
    const ir_shape *xs = &in[0]->shape;
    const int64_t H = xs->rank == 4 ? xs->d[2].k : 0, W = xs->rank == 4 ? xs->d[3].k : 0;
    ir_attrs a = {.roi_align = {.out_h = size[0], .out_w = size[1], .sampling_ratio = (int64_t)sampling, .aligned = aligned,
                                .in_h = H, .in_w = W, .spatial_scale = scale},
                  .ni = 6, .nf = 1};
    return v_tensor(ir_add(e->g, e->d, loc, OP_roi_align, in, 2, &a), loc);
}

/* roi_pool(x, boxes, output_size, spatial_scale = 1.0): torchvision.ops.
 * roi_pool with roi_align's box layout, f32[N, R, 4] in, f32[N, R, C, PH,
 * PW] out. */
value b_roi_pool(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *in[2] = {tensor_arg(e, &args[0], name, "x"), tensor_arg(e, &args[1], name, "boxes")};
    if (!in[0] || !in[1]) return v_error();
    int64_t size[2];
    double scale;
    if (!roi_output_size(e, &args[2], size) || !float_arg(e, &args[3], 1.0, name, "spatial_scale", &scale))
        return v_error();
    if (!(scale > 0)) {
        diag_error(e->d, args[3].loc, "spatial_scale must be > 0");
        return v_error();
    }
    const ir_shape *xs = &in[0]->shape;
    ir_attrs a = {.roi_pool = {.out_h = size[0], .out_w = size[1], .in_h = xs->rank == 4 ? xs->d[2].k : 0,
                               .in_w = xs->rank == 4 ? xs->d[3].k : 0, .spatial_scale = scale},
                  .ni = 4, .nf = 1};
    return v_tensor(ir_add(e->g, e->d, loc, OP_roi_pool, in, 2, &a), loc);
}

/* grid_sample(x, grid, mode = "bilinear", padding_mode = "zeros",
 * align_corners = false): F.grid_sample on x f32[N, C, H, W] at the points
 * of grid f32[N, Ho, Wo, 2], giving f32[N, C, Ho, Wo]. */
value b_grid_sample(elab *e, src_loc loc, const char *name, value *args) {
    static const char *const modes[] = {"bilinear", "nearest", NULL}, *const paddings[] = {"zeros", "border", NULL};
    ir_node *in[2] = {tensor_arg(e, &args[0], name, "x"), tensor_arg(e, &args[1], name, "grid")};
    if (!in[0] || !in[1]) return v_error();
    const int mode = choice_arg(e, &args[2], MV_GRID_BILINEAR, name, "mode", modes,
                                "the modes are \"bilinear\" and \"nearest\"");
    const int padding = choice_arg(e, &args[3], MV_GRID_ZEROS, name, "padding_mode", paddings,
                                   "the padding modes are \"zeros\" and \"border\" (\"reflection\" is not supported)");
    int align;
    if (mode < 0 || padding < 0 || !bool_arg(e, &args[4], 0, name, "align_corners", &align)) return v_error();
    const ir_shape *xs = &in[0]->shape;
    ir_attrs a = {.grid_sample = {.mode = mode, .padding = padding, .align_corners = align,
                                  .in_h = xs->rank == 4 ? xs->d[2].k : 0, .in_w = xs->rank == 4 ? xs->d[3].k : 0},
                  .ni = 5};
    return v_tensor(ir_add(e->g, e->d, loc, OP_grid_sample, in, 2, &a), loc);
}

/* affine_grid(theta, size, align_corners = false): F.affine_grid for theta
 * f32[N, 2, 3] and size [N, C, H, W] (or [C, H, W]: only H and W are used),
 * giving f32[N, H, W, 2]. Composed, so differentiable in theta: the base
 * grid (x_j, y_i) — torch's linspace(-1, 1) shrunk by (size - 1) / size
 * without align_corners — times theta's columns, plus its translation. */
value b_affine_grid(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *theta = tensor_arg(e, &args[0], name, "theta");
    if (!theta) return v_error();
    const ir_shape *ts = &theta->shape;
    if (ts->rank != 3 || !ir_dim_eq(ts->d[1], ir_dim_const(2)) || !ir_dim_eq(ts->d[2], ir_dim_const(3))) {
        diag_error(e->d, args[0].loc, "affine_grid's theta must be f32[N, 2, 3], got %s\nhint: 3-D grids "
                   "(theta f32[N, 3, 4]) are not supported", t_describe(e, theta));
        return v_error();
    }
    value *sv = &args[1];
    if (sv->kind != V_LIST || sv->n < 3 || sv->n > 4) {
        if (sv->kind != V_ERROR)
            diag_error(e->d, sv->loc, "affine_grid's size must be [N, C, H, W] (or [C, H, W]), got %s", v_describe(e, sv));
        return v_error();
    }
    const value n0 = int_like(&sv->items[0]);
    if (sv->n == 4 && n0.kind == V_INT && ir_dim_is_const(ts->d[0]) && n0.i != ts->d[0].k) {
        diag_error(e->d, sv->items[0].loc, "affine_grid's size is for a batch of %lld, theta %s has %lld",
                   (long long)n0.i, t_describe(e, theta), (long long)ts->d[0].k);
        return v_error();
    }
    int64_t hw[2];
    int align;
    if (!size_item(e, &sv->items[sv->n - 2], &hw[0]) || !size_item(e, &sv->items[sv->n - 1], &hw[1]) ||
        !bool_arg(e, &args[2], 0, name, "align_corners", &align))
        return v_error();
    ir_node *t = theta;
    const ir_shape one_hw = {.rank = 4, .d = {ir_dim_const(1), ir_dim_const(hw[0]), ir_dim_const(hw[1]), ir_dim_const(1)}};
    const ir_shape col = {.rank = 4, .d = {ts->d[0], ir_dim_const(1), ir_dim_const(1), ir_dim_const(2)}};
    const ir_shape plane = {.rank = 2, .d = {ir_dim_const(hw[0]), ir_dim_const(hw[1])}};
    for (int axis = 1; axis >= 0; axis--) {   /* x along W (theta's column 0), then y along H (column 1) */
        const int64_t len = hw[axis];
        const double step = len < 2 ? 0 : align ? 2.0 / (double)(len - 1) : 2.0 / (double)len;
        const double start = len < 2 ? 0 : align ? -1.0 : 1.0 / (double)len - 1.0;
        ir_node *base = reshape_to(e, elab_iota(e, &plane, axis, start, step, 0, loc), &one_hw, loc);
        ir_node *column = reshape_to(e, slice_along(e, theta, 2, 1 - axis, 1, 1, loc), &col, loc);
        t = op_binary(e, OP_add, axis == 1 ? reshape_to(e, slice_along(e, theta, 2, 2, 1, 1, loc), &col, loc) : t,
                      op_binary(e, OP_mul, base, column, loc), loc);
    }
    return v_tensor(t, loc);
}

/* squeeze(x, axis = None): torch.squeeze — drops the given axis if its size
 * is 1 (else x is unchanged), or every dimension of size 1. A run-time
 * dimension (N) is never dropped. */
value b_squeeze(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    int only = -1;
    if (!x || (args[1].kind != V_NONE && !axis_norm(e, &args[1], x->shape.rank, name, &only))) return v_error();
    ir_shape s = {0};
    for (int d = 0; d < x->shape.rank; d++) {
        int one = ir_dim_eq(x->shape.d[d], ir_dim_const(1));
        if (!(one && (only < 0 || only == d))) s.d[s.rank++] = x->shape.d[d];
    }
    if (s.rank == x->shape.rank) return v_tensor(x, loc);
    return v_tensor(reshape_to(e, x, &s, loc), loc);
}

/* unsqueeze(x, axis): torch.unsqueeze — a dimension of 1 before `axis`
 * (-(rank+1) .. rank). */
value b_unsqueeze(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    int axis;
    if (!x || !insert_axis(e, &args[1], x->shape.rank, name, &axis)) return v_error();
    return v_tensor(insert_one(e, x, axis, loc), loc);
}
