/* elab_consts.c — the builtins that make tensors from nothing, or from a
 * shape: zeros, ones, full (and their _like forms), arange, eye, the
 * triangle masks tril and triu, and expand.
 *
 * Two primitives carry them all: `constant` (one value broadcast to a shape;
 * free when it feeds an elementwise kernel, where it becomes a literal) and
 * `iota` (start + step * the index along one axis). arange is one iota;
 * eye(n, m) compares a column of row indices with a row of column indices;
 * tril/triu keep x where the same comparison, shifted by k, holds (`where`,
 * so the gradient is gy on the triangle and 0 elsewhere); expand is
 * broadcast_to with PyTorch's spelling of the sizes. Masks are made of [R, 1]
 * and [1, C] index vectors, so the [R, C] comparison is fused into whatever
 * consumes it and never stored on its own.
 *
 * Shapes are written as separate arguments, zeros(N, 64), or as one list or
 * tuple, zeros((N, 64)) — PyTorch accepts both. A dimension is a positive
 * int or a dimension symbol such as N. A shape may use each symbol once:
 * [N, N] has N*N elements, which a dimension (a monomial in which each
 * symbol appears at most once, ir.h) cannot express. */
#include <math.h>
#include <string.h>

#include "elab_internal.h"

enum { CONST_MAX_NUMEL_LOG2 = 32 }; /* per sample, as for parameters and conv results */

/* One dimension: a positive int (an integral float is one) or a dimension
 * symbol; with allow_keep, -1 (expand's "keep this dimension") gives k = -1. */
static int dim_of(elab *e, const value *v0, const char *fname, int allow_keep, ir_dim *out) {
    value v = int_like(v0);
    if (v.kind == V_DIM) { *out = v.dim; return 1; }
    if (v.kind == V_INT && v.i > ((int64_t)1 << CONST_MAX_NUMEL_LOG2)) {
        diag_error(e->d, v.loc, "'%s': a dimension of %lld is more than 2^32", fname, (long long)v.i);
        return 0;
    }
    if (v.kind == V_INT && (v.i > 0 || (allow_keep && v.i == -1))) {
        *out = ir_dim_const(v.i);
        return 1;
    }
    if (v.kind != V_ERROR)
        diag_error(e->d, v.loc, "a dimension of '%s' must be a positive int%s or a dimension name such as N, got %s", fname,
                   allow_keep ? ", -1 (keep it)" : "", v_describe(e, &v));
    return 0;
}

/* The sizes given as args[0..nmax): separate arguments, or one list/tuple in
 * args[0]. Sets *items and returns their count, or -1 after an error. */
static int size_items(elab *e, value *args, int nmax, const char *fname, value **items) {
    if (args[0].kind == V_LIST) {
        for (int k = 1; k < nmax; k++)
            if (args[k].kind != V_NONE) {
                diag_error(e->d, args[k].loc, "'%s' takes its sizes either as separate arguments or as one list, not both",
                           fname);
                return -1;
            }
        *items = args[0].items;
        return args[0].n;
    }
    int n = 0;
    while (n < nmax && args[n].kind != V_NONE) n++;
    for (int k = n; k < nmax; k++)
        if (args[k].kind != V_NONE) {
            diag_error(e->d, args[k].loc, "the sizes of '%s' must be given in order, without gaps", fname);
            return -1;
        }
    *items = args;
    return n;
}

/* A shape this compiler can hold: each symbol once, at most 2^32 elements per sample. */
static int shape_ok(elab *e, src_loc loc, const char *fname, const ir_shape *s) {
    uint32_t seen = 0;
    for (int i = 0; i < s->rank; i++) {
        if (seen & s->d[i].syms) {
            char b[160];
            diag_error(e->d, loc, "%s: the shape %s uses a dimension symbol twice\n"
                       "hint: a tensor cannot have N*N elements; use a constant size, e.g. T = 16 (a loss over the pairs "
                       "of a batch takes the group as a compile-time axis of one sample, f32[N, K, D], and eye(K))",
                       fname, ir_shape_str(b, sizeof b, IR_F32, s, e->mod));
            return 0;
        }
        seen |= s->d[i].syms;
    }
    if (ir_shape_numel(s).k > ((int64_t)1 << CONST_MAX_NUMEL_LOG2)) {
        char b[160];
        diag_error(e->d, loc, "%s: the result %s has more than 2^32 elements per sample", fname,
                   ir_shape_str(b, sizeof b, IR_F32, s, e->mod));
        return 0;
    }
    return 1;
}

/* The shape written as sizes in args[0..nmax) (see size_items). */
static int shape_arg(elab *e, src_loc loc, value *args, int nmax, const char *fname, ir_shape *out) {
    value *items;
    int n = size_items(e, args, nmax, fname, &items);
    if (n < 0) return 0;
    if (n > IR_MAX_RANK) {
        diag_error(e->d, items[IR_MAX_RANK].loc, "'%s': a tensor has at most %d dimensions", fname, IR_MAX_RANK);
        return 0;
    }
    out->rank = n;
    for (int i = 0; i < n; i++)
        if (!dim_of(e, &items[i], fname, 0, &out->d[i])) return 0;
    return shape_ok(e, loc, fname, out);
}

static ir_node *constant_of(elab *e, double v, const ir_shape *s, src_loc loc) {
    ir_node *c = ir_const(e->g, v, s);
    if (c) c->loc = loc;
    return c;
}

/* iota of shape s along axis: start + step * index. */
ir_node *elab_iota(elab *e, const ir_shape *s, int axis, double start, double step, int i32, src_loc loc) {
    ir_attrs a = {.iota = {.axis = axis, .i32 = i32, .start = start, .step = step}, .nf = 2};
    ir_attrs_set_shape(&a, 2, s);
    return ir_add(e->g, e->d, loc, OP_iota, NULL, 0, &a);
}

/* ---- zeros, ones, full and the _like forms ----------------------------------- */

enum { CONST_SIZES = IR_MAX_RANK }; /* zeros(d0, ..., d5): the SIZES arguments of their rows in elab_builtins.c */

/* zeros(d0, ...), ones(d0, ...), full(d0, ..., value = v). full's value may
 * also follow a list of sizes positionally, as in torch.full((2, 3), 0.5). */
value b_fill(elab *e, src_loc loc, const char *name, value *args) {
    double v = strcmp(name, "ones") == 0 ? 1.0 : 0.0;
    if (strcmp(name, "full") == 0) {
        value *val = &args[CONST_SIZES];
        if (val->kind == V_NONE && args[0].kind == V_LIST && args[1].kind != V_NONE && args[2].kind == V_NONE) {
            *val = args[1]; /* full((2, 3), 0.5) */
            args[1] = (value){.kind = V_NONE};
        }
        if (val->kind == V_NONE) {
            /* full(0.5) alone is usually a parameter's constant initial value (layer scale) */
            int one_number = (args[0].kind == V_FLOAT || args[0].kind == V_INT) && args[1].kind == V_NONE;
            diag_error(e->d, loc, "missing argument 'value' in call to 'full'\nhint: full(N, 64, value = 0.5)%s",
                       one_number ? "; a parameter's constant initial value is a bare number, "
                                    "param gamma: f32[64] = 0.5, or constant(0.5) (nn.init.constant_)" : "");
            return v_error();
        }
        if (!float_arg(e, val, 0.0, name, "value", &v)) return v_error();
    }
    ir_shape s;
    if (!shape_arg(e, loc, args, CONST_SIZES, name, &s)) return v_error();
    return v_tensor(constant_of(e, v, &s, loc), loc);
}

/* zeros_like(x), ones_like(x), full_like(x, value): x's shape, always f32. */
value b_fill_like(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    double v = strcmp(name, "ones_like") == 0 ? 1.0 : 0.0;
    if (!x || (strcmp(name, "full_like") == 0 && !float_arg(e, &args[1], 0.0, name, "value", &v))) return v_error();
    return v_tensor(constant_of(e, v, &x->shape, loc), loc);
}

/* ---- arange ------------------------------------------------------------------ */

static int number_arg(elab *e, value *v, double dflt, const char *fname, const char *arg, double *out, int *is_int) {
    value iv = int_like(v);
    *is_int = v->kind == V_NONE || v->kind == V_INT;
    if (iv.kind == V_DIM) {
        diag_error(e->d, v->loc, "argument '%s' of '%s' must be a number, got %s\nhint: only the end of an arange may be a "
                   "dimension name, as in arange(T)", arg, fname, v_describe(e, v));
        return 0;
    }
    return float_arg(e, v, dflt, fname, arg, out);
}

/* arange(end), arange(start, end, step = 1): torch.arange's values and length
 * ceil((end - start) / step). The end may be a dimension name (arange(T)):
 * the length is then T (or T / step), known at run time. */
value b_arange(elab *e, src_loc loc, const char *name, value *args) {
    value *startv = &args[0], *endv = &args[1], none = {.kind = V_NONE, .loc = loc};
    if (endv->kind == V_NONE) endv = startv, startv = &none;
    if (endv->kind == V_NONE) {
        diag_error(e->d, loc, "'arange' needs an end: arange(end) or arange(start, end, step)");
        return v_error();
    }
    int i32 = 0;
    if (args[3].kind == V_STR && (strcmp(args[3].s, "f32") == 0 || strcmp(args[3].s, "i32") == 0)) i32 = args[3].s[0] == 'i';
    else if (args[3].kind != V_NONE) {
        diag_error(e->d, args[3].loc, "argument 'dtype' of 'arange' must be \"f32\" or \"i32\", got %s", v_describe(e, &args[3]));
        return v_error();
    }
    double start, step;
    int start_int, step_int;
    if (!number_arg(e, startv, 0, name, "start", &start, &start_int) || !number_arg(e, &args[2], 1, name, "step", &step, &step_int))
        return v_error();
    if (step == 0 || !isfinite(step) || !isfinite(start)) {
        diag_error(e->d, args[2].kind == V_NONE ? startv->loc : args[2].loc, "arange: the start and step must be finite and the step non-zero");
        return v_error();
    }
    ir_shape s = {.rank = 1};
    value endi = int_like(endv);
    if (endi.kind == V_DIM) {
        ir_dim end = endi.dim;
        if (start != 0 || !step_int || step < 0 || end.k % (int64_t)step != 0) {
            char b[64];
            diag_error(e->d, loc, "arange: with a symbolic end (%s) the start must be 0 and the step a positive int dividing it",
                       ir_dim_str(b, sizeof b, end, e->mod));
            return v_error();
        }
        s.d[0] = (ir_dim){end.k / (int64_t)step, end.syms};
    } else {
        double end;
        int end_int;
        if (!number_arg(e, endv, 0, name, "end", &end, &end_int)) return v_error();
        if (i32 && !(start_int && end_int && step_int)) {
            diag_error(e->d, loc, "arange: dtype = \"i32\" needs an int start, end and step");
            return v_error();
        }
        double len = ceil((end - start) / step);
        if (!(len >= 1)) {
            diag_error(e->d, loc, "arange(%g, %g, %g) would be empty\nhint: tensors cannot have zero elements", start, end, step);
            return v_error();
        }
        if (len > (double)((int64_t)1 << CONST_MAX_NUMEL_LOG2)) {
            diag_error(e->d, loc, "arange: %.0f elements are more than 2^32", len);
            return v_error();
        }
        s.d[0] = ir_dim_const((int64_t)len);
    }
    if (i32 && (fabs(start) >= 2147483648.0 || fabs(start + step * (double)(s.d[0].k - 1)) >= 2147483648.0)) {
        diag_error(e->d, loc, "arange: the values do not fit in an i32");
        return v_error();
    }
    return v_tensor(elab_iota(e, &s, 0, start, step, i32, loc), loc);
}

/* ---- eye, tril, triu ------------------------------------------------------------ */

/* [R, 1] row indices + k and [1, C] column indices, for comparing. */
static int index_grid(elab *e, ir_dim r, ir_dim c, double k, src_loc loc, ir_node **rows, ir_node **cols) {
    ir_shape rs = {.rank = 2, .d = {r, ir_dim_const(1)}}, cs = {.rank = 2, .d = {ir_dim_const(1), c}};
    *rows = elab_iota(e, &rs, 0, k, 1, 0, loc);
    *cols = elab_iota(e, &cs, 1, 0, 1, 0, loc);
    return *rows && *cols;
}

/* eye(n, m = n): ones on the diagonal of an [n, m] matrix. */
value b_eye(elab *e, src_loc loc, const char *name, value *args) {
    ir_shape s = {.rank = 2};
    if (!dim_of(e, &args[0], name, 0, &s.d[0])) return v_error();
    s.d[1] = s.d[0];
    if (args[1].kind != V_NONE && !dim_of(e, &args[1], name, 0, &s.d[1])) return v_error();
    ir_node *rows, *cols;
    if (!shape_ok(e, loc, name, &s) || !index_grid(e, s.d[0], s.d[1], 0, loc, &rows, &cols)) return v_error();
    return v_tensor(op_binary(e, OP_eq, rows, cols, loc), loc);
}

/* tril(x, k = 0) keeps x[..., i, j] where j <= i + k, triu where j >= i + k
 * (torch.tril/triu: the last two dims, k shifts the diagonal up). */
value b_triangle(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    if (!x) return v_error();
    if (x->dtype != IR_F32 || x->shape.rank < 2) {
        diag_error(e->d, loc, "%s needs a float tensor of rank 2 or more (it keeps a triangle of the last two dimensions), got %s",
                   name, t_describe(e, x));
        return v_error();
    }
    value kv = args[1].kind == V_NONE ? v_int(0, loc) : int_like(&args[1]);
    if (kv.kind != V_INT) {
        diag_error(e->d, kv.loc, "argument 'k' of '%s' must be an int (the diagonal), got %s", name, v_describe(e, &kv));
        return v_error();
    }
    int r = x->shape.rank;
    ir_node *rows, *cols;
    if (!index_grid(e, x->shape.d[r - 2], x->shape.d[r - 1], (double)kv.i, loc, &rows, &cols)) return v_error();
    ir_node *keep = strcmp(name, "tril") == 0 ? op_binary(e, OP_ge, rows, cols, loc) : op_binary(e, OP_le, rows, cols, loc);
    ir_node *in[3] = {keep, x, op_scalar(e, 0.0, loc)};
    return v_tensor(keep ? ir_add(e->g, e->d, loc, OP_where, in, 3, NULL) : NULL, loc);
}

/* ---- expand --------------------------------------------------------------------- */

/* expand(x, d0, ...) as torch.Tensor.expand: the sizes align with x's dims
 * from the right, -1 keeps a dim, a size-1 dim may grow, and new leading dims
 * may be added. The gradient sums over what was broadcast (broadcast_to). */
value b_expand(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    if (!x) return v_error();
    value *items;
    int n = size_items(e, args + 1, CONST_SIZES, name, &items), r = x->shape.rank;
    if (n < 0) return v_error();
    if (n < r || n > IR_MAX_RANK) {
        diag_error(e->d, loc, "expand: %d size%s for %s, which has %d dimension%s\n"
                   "hint: give one size per dimension (-1 keeps it), after any new leading ones; at most %d in all",
                   n, n == 1 ? "" : "s", t_describe(e, x), r, r == 1 ? "" : "s", IR_MAX_RANK);
        return v_error();
    }
    ir_shape s = {.rank = n};
    for (int i = 0; i < n; i++) {
        value iv = int_like(&items[i]);
        if (i < n - r && iv.kind == V_INT && iv.i == -1) {
            diag_error(e->d, iv.loc, "expand: a new leading dimension cannot be -1 (there is no dimension of %s to keep)",
                       t_describe(e, x));
            return v_error();
        }
        if (!dim_of(e, &items[i], name, i >= n - r, &s.d[i])) return v_error();
        if (s.d[i].k == -1) s.d[i] = x->shape.d[i - (n - r)];
    }
    if (!shape_ok(e, loc, name, &s)) return v_error();
    ir_attrs a = {0};
    ir_attrs_set_shape(&a, 0, &s);
    return v_tensor(ir_add(e->g, e->d, loc, OP_broadcast_to, &x, 1, &a), loc);
}

/* ---- class_weight ------------------------------------------------------------------ */

enum { CLASS_WEIGHTS_MAX = 1024 };

/* class_weight(label, [w0, ..., w(K-1)]): f32 shaped like the i32 label,
 * w[label] where 0 <= label < K and 0 elsewhere — torch's per-class weight=
 * of cross_entropy, as the per-sample mask the stdlib losses take:
 * sum(w[y] l) / sum(w[y]). Written as sum_k w_k (label == k), so it is
 * ordinary elementwise ops (fused into one loop, no gradient to the label). */
value b_class_weight(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *label = tensor_arg(e, &args[0], name, "label");
    if (!label) return v_error();
    if (label->dtype != IR_I32) {
        diag_error(e->d, args[0].loc, "%s: the label must be i32 class labels, got %s\nhint: class_weight(label, [1.0, "
                   "2.0, ...]) weighs each sample by its class", name, t_describe(e, label));
        return v_error();
    }
    const value *w = &args[1];
    const int k = w->kind == V_LIST ? w->n : 0;
    if (k < 1 || k > CLASS_WEIGHTS_MAX) {
        diag_error(e->d, w->loc, "%s: the weights must be a list of 1 to %d numbers, one per class, got %s", name,
                   CLASS_WEIGHTS_MAX, v_describe(e, w));
        return v_error();
    }
    ir_node *cls = op_unary(e, OP_cast_f32, label, loc), *sum = NULL;
    for (int c = 0; c < k && cls; c++) {
        double v;
        if (w->items[c].kind == V_BOOL || !as_number(&w->items[c], &v) || !(v >= 0 && v <= 1e30)) {
            diag_error(e->d, w->items[c].loc, "%s: weight %d must be a finite number >= 0, got %s", name, c,
                       v_describe(e, &w->items[c]));
            return v_error();
        }
        if (v == 0 && sum) continue;
        ir_node *term = op_binary(e, OP_mul, op_binary(e, OP_eq, cls, op_scalar(e, (double)c, loc), loc),
                                  op_scalar(e, v, loc), loc);
        sum = sum ? op_binary(e, OP_add, sum, term, loc) : term;
    }
    return v_tensor(sum, loc);
}
