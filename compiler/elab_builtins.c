/* elab_builtins.c — the functions every .dln file can call without a block.
 *
 * Each builtin maps onto primitive ops from ops.def, or onto a short
 * composition of them (mean = sum / count, flatten = reshape, dropout = mask
 * multiply in train mode and identity in eval mode). Anything expressible as
 * a composition of these belongs in the stdlib (.dln files) instead (dense, mlp, the
 * losses), so this table stays short: it is the language's primitive
 * vocabulary. One row per builtin: name, argument list, handler. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "autodiff.h"
#include "elab_internal.h"

typedef value (*builtin_fn)(elab *e, src_loc loc, const char *name, value *args);

typedef struct builtin {
    const char *name;
    argspec args[8];
    int nargs;
    builtin_fn fn;
    ir_opcode op;        /* for the simple one-op builtins */
    double f0;           /* default float attribute (slope, alpha) */
} builtin;

/* ---- helpers shared with elab.c ------------------------------------------- */

ir_node *op_binary(elab *e, ir_opcode op, ir_node *a, ir_node *b, src_loc loc) {
    ir_node *in[2] = {a, b};
    return ir_add(e->g, e->d, loc, op, in, 2, NULL);
}

ir_node *op_unary(elab *e, ir_opcode op, ir_node *a, src_loc loc) { return ir_add(e->g, e->d, loc, op, &a, 1, NULL); }

/* transpose(w) feeding a matmul becomes the matmul's transpose flag, so no
 * transposed copy of a weight matrix is ever materialized. */
static int is_last_two_swap(const ir_node *n) {
    if (n->op != OP_transpose) return 0;
    int r = n->shape.rank;
    if (r < 2) return 0;
    for (int i = 0; i < r - 2; i++)
        if (n->a.transpose.perm[i] != i) return 0;
    return n->a.transpose.perm[r - 2] == r - 1 && n->a.transpose.perm[r - 1] == r - 2;
}

static ir_node *op_matmul2(elab *e, ir_node *a, ir_node *b, src_loc loc);

/* A vector operand is torch.matmul's: a: f32[K] is the row [1, K] and b: f32[K]
 * the column [K, 1], and that dimension is dropped from the product again
 * (v @ w is a dot product f32[], x @ v of f32[N, K] is f32[N]). */
ir_node *op_matmul(elab *e, ir_node *a, ir_node *b, src_loc loc) {
    if (!a || !b) return NULL;
    if (a->shape.rank == 0 || b->shape.rank == 0) {
        diag_error(e->d, loc, "matmul: the %s operand is a scalar (f32[])\nhint: a scalar multiplies with *, as in "
                   "torch.matmul, which refuses one too", a->shape.rank == 0 ? "left" : "right");
        return NULL;
    }
    int va = a->shape.rank == 1, vb = b->shape.rank == 1;
    if (!va && !vb) return op_matmul2(e, a, b, loc);
    const ir_dim ka = a->shape.d[a->shape.rank - 1], kb = b->shape.d[vb ? 0 : b->shape.rank - 2];
    if (!ir_dim_eq(ka, kb)) { /* said of the vector as written, not of the row or column it becomes */
        diag_error(e->d, loc, "matmul: inner dimensions differ: %s @ %s\nhint: a vector on the %s of @ must have as "
                   "many elements as the %s", t_describe(e, a), t_describe(e, b), vb ? "right" : "left",
                   vb ? "left operand's last dimension" : "right operand's rows (its second-to-last dimension)");
        return NULL;
    }
    ir_shape s;
    if (va) {
        s = (ir_shape){.rank = 2, .d = {ir_dim_const(1), a->shape.d[0]}};
        a = reshape_to(e, a, &s, loc);
    }
    if (vb) {
        s = (ir_shape){.rank = 2, .d = {b->shape.d[0], ir_dim_const(1)}};
        b = reshape_to(e, b, &s, loc);
    }
    ir_node *y = op_matmul2(e, a, b, loc);
    if (!y) return NULL;
    s = (ir_shape){.rank = 0};
    for (int i = 0; i < y->shape.rank; i++) /* [.., M, P] without the M = 1 of a row a, the P = 1 of a column b */
        if (!(va && i == y->shape.rank - 2) && !(vb && i == y->shape.rank - 1)) s.d[s.rank++] = y->shape.d[i];
    return reshape_to(e, y, &s, loc);
}

/* a @ b of operands of rank >= 2; transpose(w) becomes the matmul's flag */
static ir_node *op_matmul2(elab *e, ir_node *a, ir_node *b, src_loc loc) {
    if (!a || !b) return NULL;
    int ta = 0, tb = 0;
    if (is_last_two_swap(a)) { ta = 1; a = a->in[0]; }
    if (is_last_two_swap(b)) { tb = 1; b = b->in[0]; }
    ir_attrs at = {.matmul = {.ta = ta, .tb = tb}, .ni = 2};
    ir_node *in[2] = {a, b};
    return ir_add(e->g, e->d, loc, OP_matmul, in, 2, &at);
}

ir_node *tensor_arg(elab *e, value *v, const char *fname, const char *arg) {
    if (v->kind == V_TENSOR) return v->t;
    double x;
    if (v->kind != V_BOOL && as_number(v, &x)) return op_scalar(e, x, v->loc); /* true is not 1.0 here */
    if (v->kind != V_ERROR)
        diag_error(e->d, v->loc, "argument '%s' of '%s' must be a tensor or a number, got %s", arg, fname, v_describe(e, v));
    return NULL;
}

/* tensor_arg for builtins made of several ops: an integer tensor is reported
 * once, in the builtin's name, rather than by whichever op meets it first. */
ir_node *float_tensor_arg(elab *e, value *v, const char *fname, const char *arg, src_loc call) {
    ir_node *x = tensor_arg(e, v, fname, arg);
    if (!x || x->dtype == IR_F32) return x;
    diag_error(e->d, call, "%s: expected a float tensor, got %s\nhint: integer tensors (labels) must be converted with cast_f32 first",
               fname, t_describe(e, x));
    return NULL;
}

int float_arg(elab *e, value *v, double dflt, const char *fname, const char *arg, double *out) {
    if (v->kind == V_NONE) { *out = dflt; return 1; }
    if (v->kind != V_BOOL && as_number(v, out)) return 1;
    diag_error(e->d, v->loc, "argument '%s' of '%s' must be a number, got %s", arg, fname, v_describe(e, v));
    return 0;
}

int axis_norm(elab *e, const value *v, int rank, const char *fname, int *out) {
    value iv = int_like(v);
    v = &iv;
    if (v->kind != V_INT) {
        diag_error(e->d, v->loc, "an axis of '%s' must be an int, got %s", fname, v_describe(e, v));
        return 0;
    }
    int64_t a = v->i < 0 ? v->i + rank : v->i;
    if (a < 0 || a >= rank) {
        diag_error(e->d, v->loc, "axis %lld is out of range for a tensor of rank %d", (long long)v->i, rank);
        return 0;
    }
    *out = (int)a;
    return 1;
}

/* axis = None (all), an int, or a list of ints → bitmask. */
int axes_mask(elab *e, const value *v, int rank, const char *fname, uint32_t *mask) {
    *mask = 0;
    if (v->kind == V_NONE) {
        *mask = rank ? (1u << rank) - 1 : 0;
        return 1;
    }
    if (v->kind == V_LIST) {
        for (int i = 0; i < v->n; i++) {
            int a;
            if (!axis_norm(e, &v->items[i], rank, fname, &a)) return 0;
            if (*mask & (1u << a)) {
                diag_error(e->d, v->items[i].loc, "axis %d listed twice", a);
                return 0;
            }
            *mask |= 1u << a;
        }
        return 1;
    }
    int a;
    if (!axis_norm(e, v, rank, fname, &a)) return 0;
    *mask = 1u << a;
    return 1;
}

int bool_arg(elab *e, value *v, int dflt, const char *fname, const char *arg, int *out) {
    if (v->kind == V_NONE) { *out = dflt; return 1; }
    if (v->kind == V_BOOL) { *out = (int)v->i; return 1; }
    diag_error(e->d, v->loc, "argument '%s' of '%s' must be a bool, got %s", arg, fname, v_describe(e, v));
    return 0;
}

/* The number of elements in the reduced axes as a run-time scalar: a
 * constant when it is known at compile time, otherwise the sum of a
 * broadcast 1 over the symbolic extent (so 1/N needs no special op). */
static ir_node *count_of(elab *e, const ir_shape *s, uint32_t mask, src_loc loc) {
    ir_dim count = ir_dim_const(1);
    for (int i = 0; i < s->rank; i++)
        if (mask & (1u << i)) count = ir_dim_mul(count, s->d[i]);
    return dim_scalar(e, count, loc);
}

/* ---- handlers ---------------------------------------------------------------- */

static value b_unary(elab *e, src_loc loc, const char *name, value *args);
static value b_param1(elab *e, src_loc loc, const char *name, value *args);

static const builtin builtins[];
static const builtin *find(const char *name);

static value b_unary(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    return v_tensor(x ? op_unary(e, find(name)->op, x, loc) : NULL, loc);
}

/* leaky_relu(x, slope), elu(x, alpha): one float attribute. */
static value b_param1(elab *e, src_loc loc, const char *name, value *args) {
    const builtin *b = find(name);
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    double f0;
    if (!x || !float_arg(e, &args[1], b->f0, name, b->args[1].name, &f0)) return v_error();
    ir_attrs a = {.nf = 1};
    if (b->op == OP_elu) a.elu.alpha = f0;
    else a.leaky_relu.slope = f0;
    return v_tensor(ir_add(e->g, e->d, loc, b->op, &x, 1, &a), loc);
}

static value b_binary(elab *e, src_loc loc, const char *name, value *args) {
    const argspec *spec = find(name)->args;
    ir_node *a = tensor_arg(e, &args[0], name, spec[0].name), *b = tensor_arg(e, &args[1], name, spec[1].name);
    if (!a || !b) return v_error();
    if (strcmp(name, "matmul") == 0) return v_tensor(op_matmul(e, a, b, loc), loc);
    return v_tensor(op_binary(e, find(name)->op, a, b, loc), loc);
}

static value b_where(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *in[3];
    for (int i = 0; i < 3; i++)
        if (!(in[i] = tensor_arg(e, &args[i], name, find(name)->args[i].name))) return v_error();
    return v_tensor(ir_add(e->g, e->d, loc, OP_where, in, 3, NULL), loc);
}

/* masked_fill(x, mask, value): torch's x.masked_fill(mask, value) as
 * where(mask, value, x), a selection, so value = -inf adds no NaN to the
 * gradient (x gets gy where the mask is 0). The mask broadcasts to x's shape
 * (an i32 mask is nonzero where true); value is a number or an f32[]. */
static value b_masked_fill(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = float_tensor_arg(e, &args[0], name, "x", loc), *m = tensor_arg(e, &args[1], name, "mask");
    ir_node *v = tensor_arg(e, &args[2], name, "value");
    if (!x || !m || !v) return v_error();
    ir_shape out;
    if (!ir_broadcast_shapes(&m->shape, &x->shape, &out) || !ir_shape_eq(&out, &x->shape)) {
        diag_error(e->d, args[1].loc, "masked_fill: the mask %s does not broadcast to x's shape %s\n"
                   "hint: the mask's dimensions must be equal to x's or 1, aligned from the right",
                   t_describe(e, m), t_describe(e, x));
        return v_error();
    }
    if (v->shape.rank != 0 || v->dtype != IR_F32) {
        diag_error(e->d, args[2].loc, "masked_fill: value must be a number or an f32[] tensor, got %s\n"
                   "hint: to take the fill from a tensor of x's shape, write where(mask, other, x)", t_describe(e, v));
        return v_error();
    }
    if (m->dtype == IR_I32) m = op_unary(e, OP_cast_f32, m, loc);
    ir_node *in[3] = {m, v, x};
    return v_tensor(ir_add(e->g, e->d, loc, OP_where, in, 3, NULL), loc);
}

static value b_softmax(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    if (!x) return v_error();
    value axv = args[1].kind == V_NONE ? v_int(-1, loc) : args[1];
    int axis;
    if (!axis_norm(e, &axv, x->shape.rank, name, &axis)) return v_error();
    ir_attrs a = {.softmax = {.axis = axis}, .ni = 1};
    return v_tensor(ir_add(e->g, e->d, loc, find(name)->op, &x, 1, &a), loc);
}

/* layer_normalize(x, weight, bias, eps): nn.functional.layer_norm over the last axis;
 * batch_normalize(x, stats, weight, bias, eps): nn.functional.batch_norm in
 * training with stats = batch_stats(x) (ops_bnorm.c). Tensors, then eps. */
static value b_norm(elab *e, src_loc loc, const char *name, value *args) {
    const builtin *b = find(name);
    const int nt = b->nargs - 1;
    ir_node *in[4];
    for (int i = 0; i < nt; i++)
        if (!(in[i] = tensor_arg(e, &args[i], name, b->args[i].name))) return v_error();
    double eps;
    if (!float_arg(e, &args[nt], 1e-5, name, "eps", &eps)) return v_error();
    if (!(eps > 0)) {
        diag_error(e->d, args[nt].loc, "'%s': eps must be positive, got %g", name, eps);
        return v_error();
    }
    ir_attrs a = {.norm = {.eps = eps}, .nf = 1};
    return v_tensor(ir_add(e->g, e->d, loc, b->op, in, nt, &a), loc);
}

/* nt_xent(z1, z2, temperature): SimCLR's loss as one op, so the batch may be
 * the run-time N (ops_contrastive.c). */
static value b_nt_xent(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *in[2];
    for (int i = 0; i < 2; i++)
        if (!(in[i] = float_tensor_arg(e, &args[i], name, find(name)->args[i].name, loc))) return v_error();
    double t;
    if (!float_arg(e, &args[2], 0.5, name, "temperature", &t)) return v_error();
    if (!(t > 0)) {
        diag_error(e->d, args[2].loc, "'%s': temperature must be positive, got %g", name, t);
        return v_error();
    }
    ir_attrs a = {.contrastive = {.temperature = t}, .nf = 1};
    return v_tensor(ir_add(e->g, e->d, loc, OP_nt_xent, in, 2, &a), loc);
}

/* clip_loss(image, text, logit_scale): CLIP's symmetric cross-entropy as one op
 * over image @ text^T times the scale (a number, or a one-element tensor such as
 * exp(logit_scale), which gets its gradient through the product), so the batch
 * may be the run-time N: the [N, N] logits are not a value (ops_contrastive.c). */
static value b_clip_loss(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *in[2];
    for (int i = 0; i < 2; i++)
        if (!(in[i] = float_tensor_arg(e, &args[i], name, find(name)->args[i].name, loc))) return v_error();
    if (args[2].kind != V_NONE) {
        ir_node *s = float_tensor_arg(e, &args[2], name, "logit_scale", loc);
        if (!s) return v_error();
        if (s->shape.rank > 0 && !(s->shape.rank == 1 && ir_dim_eq(s->shape.d[0], ir_dim_const(1)))) {
            diag_error(e->d, args[2].loc, "'%s': logit_scale must be a number or one value (f32[] or f32[1]), got %s\n"
                       "hint: CLIP learns one scale, param logit_scale: f32[] = 2.6593, passed as exp(logit_scale)", name,
                       t_describe(e, s));
            return v_error();
        }
        in[0] = op_binary(e, OP_mul, in[0], s, loc);
    }
    return v_tensor(ir_add(e->g, e->d, loc, OP_clip_loss, in, 2, NULL), loc);
}

static value b_reduce(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = float_tensor_arg(e, &args[0], name, "x", loc);
    uint32_t mask;
    int keep;
    if (!x || !axes_mask(e, &args[1], x->shape.rank, name, &mask) || !bool_arg(e, &args[2], 0, name, "keepdims", &keep))
        return v_error();
    int is_max = strcmp(name, "max") == 0, is_min = strcmp(name, "min") == 0;
    if (is_min) x = op_unary(e, OP_neg, x, loc);
    ir_attrs a = {.reduce = {.axes = mask, .keepdims = keep}, .ni = 2};
    ir_node *r = ir_add(e->g, e->d, loc, is_max || is_min ? OP_reduce_max : OP_reduce_sum, &x, 1, &a);
    if (!r) return v_error();
    if (is_min) r = op_unary(e, OP_neg, r, loc);
    if (strcmp(name, "mean") == 0) r = op_binary(e, OP_div, r, count_of(e, &x->shape, mask, loc), loc);
    return v_tensor(r, loc);
}

/* var(x, axis = all, unbiased = true, keepdims = false) = torch.var, and
 * std its square root, composed: sum((x - mean(x, axis, keepdims = true))²,
 * axis) / (n - 1) (n when unbiased = false), n the count of the reduced
 * elements. With n = 1 and unbiased, 0 / 0 is NaN, as in torch. */
static value b_var(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = float_tensor_arg(e, &args[0], name, "x", loc);
    uint32_t mask;
    int unbiased, keep;
    if (!x || !axes_mask(e, &args[1], x->shape.rank, name, &mask) ||
        !bool_arg(e, &args[2], 1, name, "unbiased", &unbiased) || !bool_arg(e, &args[3], 0, name, "keepdims", &keep))
        return v_error();
    ir_node *n = count_of(e, &x->shape, mask, loc);
    ir_attrs a = {.reduce = {.axes = mask, .keepdims = 1}, .ni = 2};
    ir_node *mean = op_binary(e, OP_div, ir_add(e->g, e->d, loc, OP_reduce_sum, &x, 1, &a), n, loc);
    ir_node *d = op_binary(e, OP_sub, x, mean, loc);
    d = op_binary(e, OP_mul, d, d, loc);
    a.reduce.keepdims = keep;
    ir_node *r = ir_add(e->g, e->d, loc, OP_reduce_sum, &d, 1, &a);
    if (unbiased) n = op_binary(e, OP_sub, n, op_scalar(e, 1, loc), loc);
    r = op_binary(e, OP_div, r, n, loc);
    if (strcmp(name, "std") == 0) r = op_unary(e, OP_sqrt, r, loc);
    return v_tensor(r, loc);
}

static value b_transpose(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    if (!x) return v_error();
    int r = x->shape.rank;
    ir_attrs a = {.ni = r};
    if (args[1].kind == V_NONE) {
        if (r < 2) {
            diag_error(e->d, loc, "transpose needs a tensor of rank 2 or more, got rank %d", r);
            return v_error();
        }
        for (int i = 0; i < r; i++) a.transpose.perm[i] = i;
        a.transpose.perm[r - 2] = r - 1;
        a.transpose.perm[r - 1] = r - 2;
    } else {
        value *p = &args[1];
        if (p->kind != V_LIST || p->n != r) {
            diag_error(e->d, p->loc, "the permutation of a rank-%d tensor must be a list of %d axes", r, r);
            return v_error();
        }
        uint32_t seen = 0;
        for (int i = 0; i < r; i++) {
            int ax;
            if (!axis_norm(e, &p->items[i], r, name, &ax)) return v_error();
            if (seen & (1u << ax)) {
                diag_error(e->d, p->items[i].loc, "axis %d appears twice in the permutation", ax);
                return v_error();
            }
            seen |= 1u << ax;
            a.transpose.perm[i] = ax;
        }
    }
    return v_tensor(ir_add(e->g, e->d, loc, OP_transpose, &x, 1, &a), loc);
}

/* classes_last(logits, target): logits with their class axis last, as the
 * stdlib's cross_entropy and nll want them. Logits of rank r >= 3 whose shape
 * without axis 1 is the target's, and without the last axis is not, carry
 * their classes on axis 1 (PyTorch's [N, C, H, W] with [N, H, W]): moved to the
 * end. Anything else (classes already last, or both readings possible) is
 * returned as it is. */
static value b_classes_last(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "logits"), *t = tensor_arg(e, &args[1], name, "target");
    if (!x || !t) return v_error();
    const int r = x->shape.rank;
    if (r < 3 || t->shape.rank != r - 1) return args[0];
    ir_shape last = {.rank = r - 1}, second = {.rank = r - 1};
    for (int i = 0; i < r - 1; i++) last.d[i] = x->shape.d[i], second.d[i] = x->shape.d[i < 1 ? i : i + 1];
    if (ir_shape_eq(&last, &t->shape) || !ir_shape_eq(&second, &t->shape)) return args[0];
    ir_attrs a = {.ni = r};
    for (int i = 0; i < r; i++) a.transpose.perm[i] = i == 0 ? 0 : i == r - 1 ? 1 : i + 1;
    return v_tensor(ir_add(e->g, e->d, loc, OP_transpose, &x, 1, &a), loc);
}

static value do_reshape(elab *e, src_loc loc, ir_node *x, ir_shape target) {
    ir_attrs a = {0};
    ir_attrs_set_shape(&a, 0, &target);
    return v_tensor(ir_add(e->g, e->d, loc, OP_reshape, &x, 1, &a), loc);
}

static value b_reshape(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    if (!x) return v_error();
    value *sv = &args[1];
    if (sv->kind != V_LIST || sv->n > IR_MAX_RANK) {
        diag_error(e->d, sv->loc, "the shape for reshape must be a list of at most %d dimensions, e.g. [N, -1]", IR_MAX_RANK);
        return v_error();
    }
    ir_shape t = {.rank = sv->n};
    int infer = -1;
    ir_dim known = ir_dim_const(1);
    for (int i = 0; i < sv->n; i++) {
        value di = int_like(&sv->items[i]), *d = &di;
        if (d->kind == V_INT && d->i == -1 && infer < 0) {
            infer = i;
            continue;
        }
        if (d->kind == V_INT && d->i > 0) t.d[i] = ir_dim_const(d->i);
        else if (d->kind == V_DIM) t.d[i] = d->dim;
        else if (d->kind == V_INT && d->i == -1) {
            diag_error(e->d, d->loc, "only one dimension of a reshape can be -1");
            return v_error();
        } else {
            diag_error(e->d, d->loc, "a reshape dimension must be a positive int, a dimension name or one -1, got %s",
                       v_describe(e, d));
            return v_error();
        }
        /* Dimensions are monomials with each symbol at most once: N*N (or N in
         * two dimensions of one shape) would be a size the planner cannot bound. */
        if (known.syms & t.d[i].syms) {
            diag_error(e->d, d->loc, "a shape may use the batch dimension only once (N*N elements are not supported)");
            return v_error();
        }
        known = ir_dim_mul(known, t.d[i]);
    }
    if (infer >= 0) {
        ir_dim total = ir_shape_numel(&x->shape);
        /* total / known must be a monomial: known's symbols ⊆ total's, k divides. */
        if ((known.syms & ~total.syms) || known.k == 0 || total.k % known.k != 0) {
            char nb[64], kb[64];
            diag_error(e->d, loc, "cannot infer the -1 dimension: %s has %s elements, not a multiple of %s (the other dimensions)",
                       t_describe(e, x), ir_dim_str(nb, sizeof nb, total, e->mod),
                       ir_dim_str(kb, sizeof kb, known, e->mod));
            return v_error();
        }
        t.d[infer] = (ir_dim){.k = total.k / known.k, .syms = total.syms & ~known.syms};
    }
    return do_reshape(e, loc, x, t);
}

static value b_flatten(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    if (!x) return v_error();
    value sv = args[1].kind == V_NONE ? v_int(1, loc) : args[1];
    int start;
    if (x->shape.rank == 0) return do_reshape(e, loc, x, (ir_shape){.rank = 1, .d = {ir_dim_const(1)}});
    if (!axis_norm(e, &sv, x->shape.rank, name, &start)) return v_error();
    ir_shape t = {.rank = start + 1};
    for (int i = 0; i < start; i++) t.d[i] = x->shape.d[i];
    t.d[start] = ir_dim_const(1);
    for (int i = start; i < x->shape.rank; i++) t.d[start] = ir_dim_mul(t.d[start], x->shape.d[i]);
    return do_reshape(e, loc, x, t);
}

/* dropout: train mode multiplies by a Bernoulli(1-p) mask scaled by 1/(1-p)
 * (inverted dropout, as PyTorch); eval mode is the identity. `training = true`
 * drops in evaluation too (MC dropout, F.dropout(x, p, training = True)),
 * `training = false` never drops. */
static value b_dropout(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    double p;
    int drop;
    if (!x || !float_arg(e, &args[1], 0.5, name, "p", &p) || !bool_arg(e, &args[2], elab_training(e), name, "training", &drop))
        return v_error();
    if (p < 0 || p >= 1) {
        diag_error(e->d, args[1].loc, "dropout probability must be in [0, 1), got %g", p);
        return v_error();
    }
    int channels = strcmp(name, "dropout2d") == 0;
    if (channels && x->shape.rank != 4) { /* checked in every mode: eval must reject what train rejects */
        diag_error(e->d, loc, "dropout2d needs f32[N, C, H, W], got %s\nhint: dropout(x, p) drops single elements of any shape",
                   t_describe(e, x));
        return v_error();
    }
    int stream = e->next_stream++;
    if (!drop || p == 0) return v_tensor(x, loc);
    /* dropout2d zeroes whole channels: one draw per (sample, channel). */
    ir_shape ms = x->shape;
    if (channels) ms.d[2] = ms.d[3] = ir_dim_const(1);
    ir_attrs a = {.rand = {.stream = stream}};
    ir_attrs_set_shape(&a, 1, &ms);
    ir_node *u = ir_add(e->g, e->d, loc, OP_rand_uniform, NULL, 0, &a);
    ir_node *keep = op_binary(e, OP_ge, u, op_scalar(e, p, loc), loc);
    ir_node *scaled = op_binary(e, OP_mul, keep, op_scalar(e, 1.0 / (1.0 - p), loc), loc);
    return v_tensor(op_binary(e, OP_mul, x, scaled, loc), loc);
}

/* The tensor whose shape random draws take. */
static ir_node *like_arg(elab *e, value *v, const char *name) {
    if (v->kind != V_TENSOR) { /* a number would silently give one scalar draw */
        if (v->kind != V_ERROR)
            diag_error(e->d, v->loc, "argument 'like' of '%s' must be a tensor (the noise takes its shape), got %s", name,
                       v_describe(e, v));
        return NULL;
    }
    return v->t;
}

/* randn(like) / rand(like): noise shaped like a tensor (VAE reparameterization). */
static value b_random(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = like_arg(e, &args[0], name);
    if (!x) return v_error();
    ir_attrs a = {.rand = {.stream = e->next_stream++}};
    ir_attrs_set_shape(&a, 1, &x->shape);
    return v_tensor(ir_add(e->g, e->d, loc, strcmp(name, "randn") == 0 ? OP_rand_normal : OP_rand_uniform, NULL, 0, &a), loc);
}

/* randint(like, high) / randint(like, low, high): i32 uniform in [low, high)
 * shaped like a tensor (torch.randint's bounds); a DDPM step per image. */
static value b_randint(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = like_arg(e, &args[0], name);
    value lov = int_like(&args[1]), hiv = int_like(&args[2]);
    if (hiv.kind == V_NONE) hiv = lov, lov = v_int(0, loc); /* one bound: the exclusive high */
    if (hiv.kind == V_NONE) {
        diag_error(e->d, loc, "'randint' needs a bound: randint(like, high) or randint(like, low, high)");
        return v_error();
    }
    if (hiv.kind == V_DIM && lov.kind == V_INT && x && lov.i >= INT32_MIN && lov.i <= INT32_MAX) {
        /* high a run-time size (a graph's V: negative sampling): low + floor(u * (high - low)) from
         * rand's uniform u in [0, 1), kept in [0, high - low - 1] (the float product may round up;
         * an empty range gives low). */
        ir_attrs a = {.rand = {.stream = e->next_stream++}};
        ir_attrs_set_shape(&a, 1, &x->shape);
        ir_node *u = ir_add(e->g, e->d, loc, OP_rand_uniform, NULL, 0, &a);
        ir_node *span = op_binary(e, OP_sub, dim_scalar(e, hiv.dim, hiv.loc), op_scalar(e, (double)lov.i, loc), loc);
        ir_node *r = op_unary(e, OP_floor, op_binary(e, OP_mul, u, span, loc), loc);
        r = op_binary(e, OP_minimum, r, op_binary(e, OP_sub, span, op_scalar(e, 1.0, loc), loc), loc);
        r = op_binary(e, OP_maximum, r, op_scalar(e, 0.0, loc), loc);
        if (lov.i) r = op_binary(e, OP_add, r, op_scalar(e, (double)lov.i, loc), loc);
        return v_tensor(op_unary(e, OP_cast_i32, r, loc), loc);
    }
    if (hiv.kind == V_DIM && lov.kind == V_INT && x) {
        diag_error(e->d, lov.loc, "randint: low %lld does not fit in i32", (long long)lov.i);
        return v_error();
    }
    const char *names[2] = {"low", "high"};
    value *b[2] = {&lov, &hiv};
    for (int k = 0; k < 2; k++)
        if (b[k]->kind != V_INT) {
            if (b[k]->kind != V_ERROR)
                diag_error(e->d, b[k]->loc, "argument '%s' of 'randint' must be an int%s, got %s", names[k],
                           k ? " or a dimension" : "", v_describe(e, b[k]));
            return v_error();
        }
    if (!x) return v_error();
    if (lov.i >= hiv.i || lov.i < INT32_MIN || hiv.i > INT32_MAX) {
        diag_error(e->d, hiv.loc, "randint: the range [%lld, %lld) %s", (long long)lov.i, (long long)hiv.i,
                   lov.i >= hiv.i ? "is empty\nhint: high is exclusive: randint(x, 0, 10) draws 0 .. 9"
                                  : "does not fit in i32");
        return v_error();
    }
    ir_attrs a = {.rand = {.stream = e->next_stream++, .low = (double)lov.i, .high = (double)hiv.i}, .nf = 2};
    ir_attrs_set_shape(&a, 1, &x->shape);
    return v_tensor(ir_add(e->g, e->d, loc, OP_rand_int, NULL, 0, &a), loc);
}

/* An optional int argument (V_NONE: *set = 0). */
static int opt_int_arg(elab *e, value *v, const char *fname, const char *arg, int *set, int64_t *out) {
    value iv = int_like(v);
    *set = iv.kind != V_NONE;
    if (iv.kind == V_NONE || iv.kind == V_INT) {
        *out = iv.i;
        return 1;
    }
    if (iv.kind != V_ERROR)
        diag_error(e->d, iv.loc, "argument '%s' of '%s' must be an int, got %s", arg, fname, v_describe(e, &iv));
    return 0;
}

/* pick(x, index, ignore_index = None): x[..., index[...]], 0 where index is ignore_index. */
static value b_pick(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x"), *idx = tensor_arg(e, &args[1], name, "index");
    int has_ignore;
    int64_t ignore;
    if (!opt_int_arg(e, &args[2], name, "ignore_index", &has_ignore, &ignore) || !x || !idx) return v_error();
    /* the labels are i32: a value beyond that never matches one (and made C that
     * -Werror refuses: "comparison is always false") */
    if (has_ignore && (ignore < INT32_MIN || ignore > INT32_MAX)) {
        diag_error(e->d, int_like(&args[2]).loc, "argument 'ignore_index' of '%s' must fit in i32 (-2147483648 to "
                   "2147483647), got %lld", name, (long long)ignore);
        return v_error();
    }
    ir_node *in[2] = {x, idx};
    ir_attrs a = {.pick = {.has_ignore = 1, .ignore = ignore}, .ni = 3};
    return v_tensor(ir_add(e->g, e->d, loc, OP_pick, in, 2, has_ignore ? &a : NULL), loc);
}

/* argmax(x, axis = -1) / argmin: the index of the first extreme along axis, i32. */
static value b_argmax(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = float_tensor_arg(e, &args[0], name, "x", loc);
    if (!x) return v_error();
    value axv = args[1].kind == V_NONE ? v_int(-1, loc) : args[1];
    int axis;
    if (!axis_norm(e, &axv, x->shape.rank, name, &axis)) return v_error();
    ir_attrs a = {.argmax = {.axis = axis, .min = strcmp(name, "argmin") == 0}, .ni = 2};
    return v_tensor(ir_add(e->g, e->d, loc, OP_argmax, &x, 1, &a), loc);
}

/* one_hot(index, classes): 1.0 at index along a new last axis of `classes`
 * (F.one_hot as float): unpick of ones, which checks the indices. */
static value b_one_hot(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *idx = tensor_arg(e, &args[0], name, "index");
    value cv = int_like(&args[1]);
    if (cv.kind != V_ERROR && (cv.kind != V_INT || cv.i < 1)) {
        diag_error(e->d, cv.loc, "argument 'classes' of '%s' must be a positive int, got %s", name, v_describe(e, &cv));
        return v_error();
    }
    if (!idx || cv.kind == V_ERROR) return v_error();
    if (idx->dtype != IR_I32) {
        diag_error(e->d, args[0].loc, "'%s' needs integer indices (i32), got %s", name, t_describe(e, idx));
        return v_error();
    }
    ir_node *ones = ir_const(e->g, 1.0, &idx->shape);
    ones->loc = loc;
    ir_node *in[2] = {ones, idx};
    ir_attrs a = {.pick = {.classes = cv.i}, .ni = 1};
    return v_tensor(ir_add(e->g, e->d, loc, OP_unpick, in, 2, &a), loc);
}

/* take(table, index): rows of the table by integer indices (embeddings). */
static value b_take(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *t = tensor_arg(e, &args[0], name, "table"), *idx = tensor_arg(e, &args[1], name, "index");
    if (!t || !idx) return v_error();
    if (t->dtype != IR_F32) {   /* mixup's y[perm]: PyTorch indexes integer tensors too */
        diag_error(e->d, loc, "take: the table must be a float tensor, got %s\n"
                   "hint: to reorder class labels, take(one_hot(label, C), perm) gives the one-hot rows "
                   "(what mixup mixes), cast_i32(take(cast_f32(label), perm)) the labels themselves", t_describe(e, t));
        return v_error();
    }
    ir_node *in[2] = {t, idx};
    return v_tensor(ir_add(e->g, e->d, loc, OP_take, in, 2, NULL), loc);
}

/* scatter_add(src, index, size, axis = None): rows of src summed into `size`
 * rows of zeros at the indices; size is an int or a symbolic dimension (N).
 * With an axis it is torch's scatter_add along that axis (index shaped like
 * src), which is gather's adjoint: a graph batch f32[N, V, F] sums its edge
 * messages f32[N, E, F] into the V nodes of each graph. scatter_max(src,
 * index, size, axis) is the same along an axis with each segment's maximum
 * (torch.scatter_reduce "amax"): PyG's max aggregation and max-pool readout. */
static value b_scatter_add(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *src = tensor_arg(e, &args[0], name, "src"), *idx = tensor_arg(e, &args[1], name, "index");
    value sv = int_like(&args[2]);
    ir_dim size = sv.kind == V_DIM ? sv.dim : ir_dim_const(sv.kind == V_INT ? sv.i : 0);
    if (sv.kind != V_ERROR && (!(sv.kind == V_INT || sv.kind == V_DIM) || size.k < 1)) {
        diag_error(e->d, sv.loc, "argument 'size' of '%s' must be a positive int or dimension (the rows of the result), got %s",
                   name, v_describe(e, &sv));
        return v_error();
    }
    if (!src || !idx || sv.kind == V_ERROR) return v_error();
    ir_node *in[2] = {src, idx};
    int max = strcmp(name, "scatter_max") == 0;
    if (max && args[3].kind == V_NONE) {
        diag_error(e->d, loc, "'scatter_max' needs the axis it reduces along, e.g. scatter_max(h, index, nodes, axis = 1)\n"
                   "hint: index is shaped like src, each element naming its segment along the axis "
                   "(torch: zeros(...).scatter_reduce(axis, index, src, \"amax\", include_self = False))");
        return v_error();
    }
    if (args[3].kind != V_NONE) {
        int axis;
        if (!axis_norm(e, &args[3], src->shape.rank, name, &axis)) return v_error();
        if (idx->dtype == IR_I32 && !ir_shape_eq(&idx->shape, &src->shape)) {
            diag_error(e->d, args[1].loc, "'%s' along an axis needs an index shaped like the source: %s is not %s\n"
                       "hint: one index per element of src, e.g. expand(unsqueeze(index, 2), -1, -1, F) for rows of F",
                       name, t_describe(e, idx), t_describe(e, src));
            return v_error();
        }
        ir_attrs ga = {.gather = {.axis = axis, .len = ir_dim_pack(size)}, .ni = 2};
        return v_tensor(ir_add(e->g, e->d, loc, max ? OP_scatter_max : OP_gather_grad, in, 2, &ga), loc);
    }
    ir_attrs a = {.scatter_add = {.rows = ir_dim_pack(size)}, .ni = 1};
    return v_tensor(ir_add(e->g, e->d, loc, OP_scatter_add, in, 2, &a), loc);
}

/* gather(x, index, axis): torch.gather. */
static value b_gather(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x"), *idx = tensor_arg(e, &args[1], name, "index");
    int axis;
    if (!x || !idx || !axis_norm(e, &args[2], x->shape.rank, name, &axis)) return v_error();
    ir_node *in[2] = {x, idx};
    ir_attrs a = {.gather = {.axis = axis}, .ni = 1};
    return v_tensor(ir_add(e->g, e->d, loc, OP_gather, in, 2, &a), loc);
}

/* Compositions kept here rather than in the stdlib because they are
 * single expressions that read better as builtins. */
static value b_compose(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = float_tensor_arg(e, &args[0], name, "x", loc);
    if (!x) return v_error();
    ir_node *r = NULL;
    if (strcmp(name, "square") == 0) r = op_binary(e, OP_mul, x, x, loc);
    else if (strcmp(name, "silu") == 0 || strcmp(name, "swish") == 0)
        r = op_binary(e, OP_mul, x, op_unary(e, OP_sigmoid, x, loc), loc);
    else if (strcmp(name, "softplus") == 0) {
        /* (x + |x|) / 2 + log1p(exp(-|x|)): no overflow, and the value of relu(x) + ...
         * bit for bit; unlike relu(x) (whose gradient at 0 is 0) the half-sum's gradient at
         * 0 is 1/2, so the derivative is sigmoid(x) everywhere, 0.5 at 0 as F.softplus */
        ir_node *ax = op_unary(e, OP_abs, x, loc);
        r = op_binary(e, OP_add, op_binary(e, OP_mul, op_binary(e, OP_add, x, ax, loc), op_scalar(e, 0.5, loc), loc),
                      op_unary(e, OP_log1p, op_unary(e, OP_exp, op_unary(e, OP_neg, ax, loc), loc), loc), loc);
    }
    else if (strcmp(name, "selu") == 0) {
        ir_attrs a = {.elu = {.alpha = 1.6732632423543772}, .nf = 1};
        r = op_binary(e, OP_mul, ir_add(e->g, e->d, loc, OP_elu, &x, 1, &a), op_scalar(e, 1.0507009873554805, loc), loc);
    } else if (strcmp(name, "hard_sigmoid") == 0) {
        /* relu6(x + 3) / 6, F.hardsigmoid's formula: the same float rounding, and relu6's
         * gradient, 0 at both ends (x = ±3) as PyTorch (a minimum's tie would give half) */
        ir_node *sh = op_binary(e, OP_add, x, op_scalar(e, 3.0, loc), loc);
        r = op_binary(e, OP_div, op_unary(e, OP_relu6, sh, loc), op_scalar(e, 6.0, loc), loc);
    }
    return v_tensor(r, loc);
}

static value b_clamp(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    if (!x) return v_error();
    if (args[1].kind != V_NONE) {
        ir_node *lo = tensor_arg(e, &args[1], name, "min");
        x = lo ? op_binary(e, OP_maximum, x, lo, loc) : NULL;
    }
    if (x && args[2].kind != V_NONE) {
        ir_node *hi = tensor_arg(e, &args[2], name, "max");
        x = hi ? op_binary(e, OP_minimum, x, hi, loc) : NULL;
    }
    return v_tensor(x, loc);
}

/* clamp_grad(x, min = None, max = None): x, with the gradient passing back
 * through it clamped (a missing bound is infinite). */
static value b_clamp_grad(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = float_tensor_arg(e, &args[0], name, "x", loc);
    ir_attrs a = {.nf = 2};
    if (!x || !float_arg(e, &args[1], -INFINITY, name, "min", &a.clamp_grad.min) ||
        !float_arg(e, &args[2], INFINITY, name, "max", &a.clamp_grad.max))
        return v_error();
    if (!(a.clamp_grad.min <= a.clamp_grad.max)) {
        diag_error(e->d, loc, "clamp_grad: min %g is larger than max %g", a.clamp_grad.min, a.clamp_grad.max);
        return v_error();
    }
    return v_tensor(ir_add(e->g, e->d, loc, OP_clamp_grad, &x, 1, &a), loc);
}

/* update(buffer, value): in training, the buffer takes `value` after the step
 * (an ASSIGN output of the graph, e.g. batch-norm running statistics); in
 * evaluation, nothing, except in the forward graph of `dlnc export` for
 * carried state (a buffer shaped [N, ...]): a streaming export keeps it. */
static value b_update(elab *e, src_loc loc, const char *name, value *args) {
    value *t = &args[0];
    if (e->scan) {
        diag_error(e->d, loc, "'%s' inside a scan body: a buffer takes one new value per training step, not per loop "
                   "step\nhint: carry the value through the scan and update the buffer after it", name);
        return v_error();
    }
    /* the buffer, or the value an earlier call of its block gave it in this step (chained below) */
    int idx = t->kind == V_TENSOR && t->t->op == OP_param ? (int)t->t->a.param.index : -1;
    for (int i = 0; t->kind == V_TENSOR && idx < 0 && i < e->cap_updated; i++)
        if (e->updated[i] == t->t) idx = i;
    if (idx < 0 || e->mod->params[idx].trainable) {
        diag_error(e->d, t->loc, "the first argument of '%s' must be a buffer (declared with 'buffer')", name);
        return v_error();
    }
    ir_node *v = tensor_arg(e, &args[1], name, "value");
    if (!v) return v_error();
    if (!ir_shape_eq(&v->shape, &t->t->shape) || v->dtype != IR_F32) {
        char a[128];
        diag_error(e->d, args[1].loc, "cannot update %s with a value of shape %s",
                   ir_shape_str(a, sizeof a, IR_F32, &t->t->shape, e->mod), t_describe(e, v));
        return v_error();
    }
    if (!elab_training(e) && !(e->carry_state && !e->eval_calls && e->mod->params[idx].state))
        return (value){.kind = V_NONE, .loc = loc};
    if (idx < e->cap_updated && e->updated[idx] && t->t != e->updated[idx]) {
        diag_error(e->d, loc, "buffer '%s' is updated twice in one step", e->mod->params[idx].name);
        return v_error();
    }
    elab_assign(e, idx, v);
    return (value){.kind = V_NONE, .loc = loc};
}

void elab_assign(elab *e, int idx, ir_node *v) {
    if (idx >= e->cap_updated) {
        int cap = e->cap_updated ? e->cap_updated : 64;
        while (cap <= idx) cap *= 2;
        e->updated = arena_grow(e->a, e->updated, sizeof *e->updated, e->cap_updated, cap);
        e->cap_updated = cap;
    }
    /* A model called twice in a step's loss (a GAN's discriminator on real,
     * then fake images) updates its running statistics twice, in the order
     * written, as PyTorch's two calls do: the second call read the first's
     * value, and its update replaces the first's as what the step assigns. */
    for (int k = 0; e->updated[idx] && k < e->g->n_outputs; k++)
        if (e->g->outputs[k].kind == IR_OUT_ASSIGN && e->g->outputs[k].index == idx) e->g->outputs[k].node = v;
    if (!e->updated[idx]) ir_add_output(e->g, IR_OUT_ASSIGN, idx, e->mod->params[idx].name, v);
    e->updated[idx] = v;
}

/* error(message): a compile-time error of the program's own, for blocks
 * whose arguments are out of what they support (stdlib/recurrent.dln's layer
 * count); reported at the call. */
static value b_error(elab *e, src_loc loc, const char *name, value *args) {
    if (args[0].kind != V_STR) {
        diag_error(e->d, args[0].loc, "the argument of '%s' must be a string, got %s", name, v_describe(e, &args[0]));
        return v_error();
    }
    diag_error(e->d, loc, "%s", args[0].s); /* (the call chain follows, as for every error in a block) */
    return v_error();
}

/* numel(x, axis = None): the number of elements (over the given axes) — a
 * compile-time int when known, else a run-time scalar (it involves N). */
static value b_numel(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    uint32_t mask;
    if (!x || !axes_mask(e, &args[1], x->shape.rank, name, &mask)) return v_error();
    ir_node *c = count_of(e, &x->shape, mask, loc);
    if (c && c->op == OP_constant) return v_int((int64_t)c->a.constant.value, loc);
    return v_tensor(c, loc);
}

/* ndim(x): the rank of x, a compile-time int (x.ndim), for blocks that take
 * several ranks (batch_norm1d: f32[N, C] or f32[N, C, L]). */
static value b_ndim(elab *e, src_loc loc, const char *name, value *args) {
    ir_node *x = tensor_arg(e, &args[0], name, "x");
    if (!x) return v_error();
    return v_int(x->shape.rank, loc);
}

/* Explicit regularization terms for a loss: the sum of |w| or w² over the
 * trainable parameters (weights_only: rank >= 2, i.e. not biases or norms). */
static value b_penalty(elab *e, src_loc loc, const char *name, value *args) {
    int weights_only;
    if (!bool_arg(e, &args[0], 1, name, "weights_only", &weights_only)) return v_error();
    int l1 = strcmp(name, "l1_penalty") == 0;
    ir_node *total = NULL;
    for (int i = 0; i < e->mod->n_params; i++) {
        const ir_param *p = &e->mod->params[i];
        if (!p->trainable || (weights_only && p->shape.rank < 2)) continue;
        ir_node *w = ir_param_node(e->g, i, loc);
        ir_node *t = l1 ? op_unary(e, OP_abs, w, loc) : op_binary(e, OP_mul, w, w, loc);
        ir_attrs a = {.reduce = {.axes = (1u << p->shape.rank) - 1}, .ni = 2};
        t = ir_add(e->g, e->d, loc, OP_reduce_sum, &t, 1, &a);
        total = total ? op_binary(e, OP_add, total, t, loc) : t;
    }
    return v_tensor(total ? total : op_scalar(e, 0.0, loc), loc);
}

/* grad(y, x): the gradient of the scalar y with respect to the tensor x, as
 * a value in the same graph (ad_grad_value appends the backward nodes), so
 * it can be computed with — FGSM's x + eps * sign(grad(loss, x)), input
 * gradient penalties — and the train step differentiates through it like
 * any other value (second order). x must be a tensor y was computed from. */
static value b_grad(elab *e, src_loc loc, const char *name, value *args) {
    for (int k = 0; k < 2; k++)
        if (args[k].kind != V_TENSOR) {
            if (args[k].kind != V_ERROR)
                diag_error(e->d, args[k].loc, "argument '%s' of '%s' must be a tensor, got %s", k ? "x" : "y", name,
                           v_describe(e, &args[k]));
            return v_error();
        }
    if (!args[0].t || !args[1].t) return v_error();
    return v_tensor(ad_grad_value(e->g, args[0].t, args[1].t, e->d, loc), loc);
}

/* pair(v): (v, v) for an int, v itself for a pair — how stdlib layers accept
 * `kernel = 3` and `kernel = (3, 5)` alike. */
static value b_pair(elab *e, src_loc loc, const char *name, value *args) {
    value iv = int_like(&args[0]), *v = &iv;
    if (v->kind == V_LIST && v->n == 2) return *v;
    if (v->kind == V_INT) {
        value l = v_list(e, 2, loc);
        l.items[0] = l.items[1] = *v;
        return l;
    }
    diag_error(e->d, v->loc, "'%s' expects an int or a pair of ints, got %s", name, v_describe(e, v));
    return v_error();
}

#define X1 {{"x", 1}}, 1
#define SIZES {"d0", 0}, {"d1", 0}, {"d2", 0}, {"d3", 0}, {"d4", 0}, {"d5", 0} /* IR_MAX_RANK of them */
static const builtin builtins[] = {
    {"relu", X1, b_unary, OP_relu, 0},
    {"sigmoid", X1, b_unary, OP_sigmoid, 0},
    {"tanh", X1, b_unary, OP_tanh, 0},
    {"sin", X1, b_unary, OP_sin, 0},
    {"cos", X1, b_unary, OP_cos, 0},
    {"gelu", X1, b_unary, OP_gelu, 0},
    {"exp", X1, b_unary, OP_exp, 0},
    {"log", X1, b_unary, OP_log, 0},
    {"log1p", X1, b_unary, OP_log1p, 0},
    {"sqrt", X1, b_unary, OP_sqrt, 0},
    {"abs", X1, b_unary, OP_abs, 0},
    {"sign", X1, b_unary, OP_sign, 0},
    {"floor", X1, b_unary, OP_floor, 0},
    {"round", X1, b_unary, OP_round, 0},
    {"ceil", X1, b_unary, OP_ceil, 0},
    {"cast_i32", X1, b_cast_i32, OP_cast_i32, 0},
    {"stop_grad", X1, b_unary, OP_stop_grad, 0},
    {"with_grad", {{"value", 1}, {"surrogate", 1}}, 2, b_binary, OP_with_grad, 0},
    {"clamp_grad", {{"x", 1}, {"min", 0}, {"max", 0}}, 3, b_clamp_grad, OP_clamp_grad, 0},
    {"cast_f32", X1, b_unary, OP_cast_f32, 0},
    {"square", X1, b_compose, OP_mul, 0},
    {"silu", X1, b_compose, OP_mul, 0},
    {"swish", X1, b_compose, OP_mul, 0},
    {"softplus", X1, b_compose, OP_add, 0},
    {"selu", X1, b_compose, OP_elu, 0},
    {"relu6", X1, b_unary, OP_relu6, 0},
    {"hard_sigmoid", X1, b_compose, OP_minimum, 0},
    {"leaky_relu", {{"x", 1}, {"slope", 0}}, 2, b_param1, OP_leaky_relu, 0.01},
    {"elu", {{"x", 1}, {"alpha", 0}}, 2, b_param1, OP_elu, 1.0},
    {"softmax", {{"x", 1}, {"axis", 0}}, 2, b_softmax, OP_softmax, 0},
    {"log_softmax", {{"x", 1}, {"axis", 0}}, 2, b_softmax, OP_log_softmax, 0},
    {"layer_normalize", {{"x", 1}, {"weight", 1}, {"bias", 1}, {"eps", 0}}, 4, b_norm, OP_layer_norm, 0},
    {"batch_stats", X1, b_unary, OP_batch_stats, 0},
    {"batch_normalize", {{"x", 1}, {"stats", 1}, {"weight", 1}, {"bias", 1}, {"eps", 0}}, 5, b_norm, OP_batch_normalize, 0},
    {"nt_xent", {{"z1", 1}, {"z2", 1}, {"temperature", 0}}, 3, b_nt_xent, OP_nt_xent, 0},
    {"clip_loss", {{"image", 1}, {"text", 1}, {"logit_scale", 0}}, 3, b_clip_loss, OP_clip_loss, 0},
    {"matmul", {{"a", 1}, {"b", 1}}, 2, b_binary, OP_matmul, 0},
    {"einsum", {{"spec", 1}, {"a", 1}, {"b", 0}, {"c", 0}}, 4, b_einsum, OP_matmul, 0},
    {"maximum", {{"a", 1}, {"b", 1}}, 2, b_binary, OP_maximum, 0},
    {"minimum", {{"a", 1}, {"b", 1}}, 2, b_binary, OP_minimum, 0},
    {"pow", {{"a", 1}, {"b", 1}}, 2, b_binary, OP_pow, 0},
    {"where", {{"cond", 1}, {"a", 1}, {"b", 1}}, 3, b_where, OP_where, 0},
    {"masked_fill", {{"x", 1}, {"mask", 1}, {"value", 1}}, 3, b_masked_fill, OP_where, 0},
    {"clamp", {{"x", 1}, {"min", 0}, {"max", 0}}, 3, b_clamp, OP_minimum, 0},
    {"sum", {{"x", 1}, {"axis", 0}, {"keepdims", 0}}, 3, b_reduce, OP_reduce_sum, 0},
    {"mean", {{"x", 1}, {"axis", 0}, {"keepdims", 0}}, 3, b_reduce, OP_reduce_sum, 0},
    {"var", {{"x", 1}, {"axis", 0}, {"unbiased", 0}, {"keepdims", 0}}, 4, b_var, OP_reduce_sum, 0},
    {"std", {{"x", 1}, {"axis", 0}, {"unbiased", 0}, {"keepdims", 0}}, 4, b_var, OP_sqrt, 0},
    {"max", {{"x", 1}, {"axis", 0}, {"keepdims", 0}}, 3, b_reduce, OP_reduce_max, 0},
    {"min", {{"x", 1}, {"axis", 0}, {"keepdims", 0}}, 3, b_reduce, OP_reduce_max, 0},
    {"transpose", {{"x", 1}, {"perm", 0}}, 2, b_transpose, OP_transpose, 0},
    {"reshape", {{"x", 1}, {"shape", 1}}, 2, b_reshape, OP_reshape, 0},
    {"flatten", {{"x", 1}, {"start", 0}}, 2, b_flatten, OP_reshape, 0},
    {"dropout", {{"x", 1}, {"p", 0}, {"training", 0}}, 3, b_dropout, OP_mul, 0},
    {"dropout2d", {{"x", 1}, {"p", 0}, {"training", 0}}, 3, b_dropout, OP_mul, 0},
    {"update", {{"buffer", 1}, {"value", 1}}, 2, b_update, OP_param, 0},
    {"error", {{"message", 1}}, 1, b_error, OP_param, 0},
    {"pair", {{"v", 1}}, 1, b_pair, OP_param, 0},
    {"numel", {{"x", 1}, {"axis", 0}}, 2, b_numel, OP_reduce_sum, 0},
    {"ndim", {{"x", 1}}, 1, b_ndim, OP_reshape, 0},
    {"l1_penalty", {{"weights_only", 0}}, 1, b_penalty, OP_abs, 0},
    {"l2_penalty", {{"weights_only", 0}}, 1, b_penalty, OP_mul, 0},
    {"randn", {{"like", 1}}, 1, b_random, OP_rand_normal, 0},
    {"rand", {{"like", 1}}, 1, b_random, OP_rand_uniform, 0},
    {"randint", {{"like", 1}, {"low", 0}, {"high", 0}}, 3, b_randint, OP_rand_int, 0},
    {"pick", {{"x", 1}, {"index", 1}, {"ignore_index", 0}}, 3, b_pick, OP_pick, 0},
    {"classes_last", {{"logits", 1}, {"target", 1}}, 2, b_classes_last, OP_transpose, 0},
    {"one_hot", {{"index", 1}, {"classes", 1}}, 2, b_one_hot, OP_unpick, 0},
    {"argmax", {{"x", 1}, {"axis", 0}}, 2, b_argmax, OP_argmax, 0},
    {"argmin", {{"x", 1}, {"axis", 0}}, 2, b_argmax, OP_argmax, 0},
    {"grad", {{"y", 1}, {"x", 1}}, 2, b_grad, OP_param, 0},
    {"take", {{"table", 1}, {"index", 1}}, 2, b_take, OP_take, 0},
    {"scatter_add", {{"src", 1}, {"index", 1}, {"size", 1}, {"axis", 0}}, 4, b_scatter_add, OP_scatter_add, 0},
    {"scatter_max", {{"src", 1}, {"index", 1}, {"size", 1}, {"axis", 0}}, 4, b_scatter_add, OP_scatter_max, 0},
    {"gather", {{"x", 1}, {"index", 1}, {"axis", 1}}, 3, b_gather, OP_gather, 0},
    /* sorting and running sums (elab_sort.c) */
    {"sort", {{"x", 1}, {"axis", 0}, {"descending", 0}}, 3, b_sort, OP_argsort, 0},
    {"argsort", {{"x", 1}, {"axis", 0}, {"descending", 0}}, 3, b_sort, OP_argsort, 0},
    {"topk", {{"x", 1}, {"k", 1}, {"axis", 0}, {"largest", 0}}, 4, b_topk, OP_argsort, 0},
    {"cumsum", {{"x", 1}, {"axis", 1}}, 2, b_cumsum, OP_cumsum, 0},
    {"cumprod", {{"x", 1}, {"axis", 1}}, 2, b_cumsum, OP_cumprod, 0},
    {"flip", {{"x", 1}, {"axis", 1}}, 2, b_flip, OP_flip, 0},
    /* square matrices (ops_linalg.c) */
    {"inverse", X1, b_unary, OP_inverse, 0},
    {"logabsdet", X1, b_unary, OP_logabsdet, 0},
    /* data movement (elab_movement.c) */
    {"concat", {{"tensors", 1}, {"axis", 0}}, 2, b_concat, OP_concat, 0},
    {"stack", {{"tensors", 1}, {"axis", 0}}, 2, b_stack, OP_concat, 0},
    {"slice", {{"x", 1}, {"axis", 1}, {"start", 0}, {"end", 0}, {"step", 0}}, 5, b_slice, OP_slice, 0},
    {"split", {{"x", 1}, {"sizes", 1}, {"axis", 0}}, 3, b_split, OP_slice, 0},
    {"chunk", {{"x", 1}, {"chunks", 1}, {"axis", 0}}, 3, b_chunk, OP_slice, 0},
    {"roll", {{"x", 1}, {"shifts", 1}, {"axis", 0}}, 3, b_roll, OP_concat, 0},
    {"pad", {{"x", 1}, {"pads", 1}, {"mode", 0}, {"value", 0}}, 4, b_pad, OP_pad, 0},
    {"upsample", {{"x", 1}, {"scale", 0}, {"mode", 0}, {"align_corners", 0}, {"size", 0}}, 5, b_upsample, OP_upsample, 0},
    {"roi_align", {{"x", 1}, {"boxes", 1}, {"output_size", 1}, {"spatial_scale", 0}, {"sampling_ratio", 0}, {"aligned", 0}},
     6, b_roi_align, OP_roi_align, 0},
    {"roi_pool", {{"x", 1}, {"boxes", 1}, {"output_size", 1}, {"spatial_scale", 0}}, 4, b_roi_pool, OP_roi_pool, 0},
    {"nms", {{"boxes", 1}, {"scores", 1}, {"iou", 0}, {"score_threshold", 0}, {"max_out", 0}, {"class_ids", 0}},
     6, b_nms, OP_nms, 0},
    {"grid_sample", {{"x", 1}, {"grid", 1}, {"mode", 0}, {"padding_mode", 0}, {"align_corners", 0}}, 5, b_grid_sample,
     OP_grid_sample, 0},
    {"affine_grid", {{"theta", 1}, {"size", 1}, {"align_corners", 0}}, 3, b_affine_grid, OP_iota, 0},
    {"squeeze", {{"x", 1}, {"axis", 0}}, 2, b_squeeze, OP_reshape, 0},
    {"unsqueeze", {{"x", 1}, {"axis", 1}}, 2, b_unsqueeze, OP_reshape, 0},
    /* fused scaled-dot-product attention (elab_attention.c) */
    {"attention", {{"q", 1}, {"k", 1}, {"v", 1}, {"heads", 0}, {"causal", 0}, {"mask", 0}, {"scale", 0}}, 7, b_attention,
     OP_attention, 0},
    /* constant and index tensors (elab_consts.c); sizes as separate arguments or one list */
    {"zeros", {SIZES}, IR_MAX_RANK, b_fill, OP_constant, 0},
    {"ones", {SIZES}, IR_MAX_RANK, b_fill, OP_constant, 0},
    {"full", {SIZES, {"value", 0}}, IR_MAX_RANK + 1, b_fill, OP_constant, 0},
    {"zeros_like", {{"x", 1}}, 1, b_fill_like, OP_constant, 0},
    {"ones_like", {{"x", 1}}, 1, b_fill_like, OP_constant, 0},
    {"full_like", {{"x", 1}, {"value", 1}}, 2, b_fill_like, OP_constant, 0},
    {"arange", {{"start", 0}, {"end", 0}, {"step", 0}, {"dtype", 0}}, 4, b_arange, OP_iota, 0},
    {"eye", {{"n", 1}, {"m", 0}}, 2, b_eye, OP_iota, 0},
    {"tril", {{"x", 1}, {"k", 0}}, 2, b_triangle, OP_where, 0},
    {"triu", {{"x", 1}, {"k", 0}}, 2, b_triangle, OP_where, 0},
    {"expand", {{"x", 1}, SIZES}, IR_MAX_RANK + 1, b_expand, OP_broadcast_to, 0},
    {"class_weight", {{"label", 1}, {"weights", 1}}, 2, b_class_weight, OP_eq, 0},
    /* convolution and pooling (elab_conv.c) */
    {"conv", {{"x", 1}, {"w", 1}, {"stride", 0}, {"pad", 0}, {"dilation", 0}, {"groups", 0}}, 6, b_conv, OP_conv2d, 0},
    {"conv_transpose", {{"x", 1}, {"w", 1}, {"stride", 0}, {"pad", 0}, {"output_pad", 0}, {"dilation", 0}, {"groups", 0}},
     7, b_conv, OP_conv_transpose2d, 0},
    {"max_pool2d", {{"x", 1}, {"kernel", 1}, {"stride", 0}, {"pad", 0}, {"dilation", 0}}, 5, b_pool, OP_max_pool2d, 0},
    {"max_pool2d_with_indices", {{"x", 1}, {"kernel", 1}, {"stride", 0}, {"pad", 0}, {"dilation", 0}}, 5, b_pool,
     OP_max_pool2d_indices, 0},
    {"avg_pool2d", {{"x", 1}, {"kernel", 1}, {"stride", 0}, {"pad", 0}, {"count_include_pad", 0}}, 5, b_pool,
     OP_avg_pool2d, 0},
    {"adaptive_avg_pool2d", {{"x", 1}, {"size", 1}}, 2, b_adaptive_pool, OP_adaptive_avg_pool2d, 0},
    {"max_unpool2d", {{"x", 1}, {"indices", 1}, {"size", 1}}, 3, b_unpool, OP_max_unpool2d, 0},
};
#undef X1
#undef SIZES

static const builtin *find(const char *name) {
    for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
        if (strcmp(builtins[i].name, name) == 0) return &builtins[i];
    return NULL;
}

int is_builtin(const char *name) { return find(name) != NULL; }

const char *builtin_name(int i) {
    return i >= 0 && (size_t)i < sizeof builtins / sizeof *builtins ? builtins[i].name : NULL;
}

int call_builtin(elab *e, const char *name, src_loc loc, value *pos, int npos, const char **kw_names, value *kw, int nkw,
                 const src_loc *kw_locs, value *result) {
    const builtin *b = find(name);
    if (!b) return 0;
    value args[8];
    if (bind_args(e, name, loc, b->args, b->nargs, pos, npos, kw_names, kw, nkw, kw_locs, args) != 0) {
        *result = v_error();
        return 1;
    }
    *result = b->fn(e, loc, name, args);
    return 1;
}
