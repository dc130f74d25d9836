/* elab_init.c — parameter initializers: `param w: f32[64, 32] = he_uniform()`.
 *
 * An initializer is a compile-time value recording the distribution; fans
 * default to PyTorch's rule (fan_in = shape[1] * receptive field, fan_out =
 * shape[0] * receptive field) and are resolved once the parameter's shape is
 * known (elab.c). The runtime (dl_init_tensor) draws the numbers, seeded, at
 * model init — so the compiled C carries formulas, not weights. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "elab_internal.h"

typedef struct init_def {
    const char *name;
    ir_init_kind kind;
    argspec args[4];
    int nargs;
} init_def;

static const init_def inits[] = {
    {"zeros", IR_INIT_ZEROS, {{0}}, 0},
    {"ones", IR_INIT_ONES, {{0}}, 0},
    {"constant", IR_INIT_CONSTANT, {{"value", 1}}, 1},
    {"normal", IR_INIT_NORMAL, {{"mean", 0}, {"std", 0}}, 2},
    {"uniform", IR_INIT_UNIFORM, {{"low", 0}, {"high", 0}}, 2},
    {"lecun_uniform", IR_INIT_LECUN_UNIFORM, {{"fan_in", 0}, {"fan_out", 0}}, 2},
    {"lecun_normal", IR_INIT_LECUN_NORMAL, {{"fan_in", 0}, {"fan_out", 0}}, 2},
    {"xavier_uniform", IR_INIT_XAVIER_UNIFORM, {{"gain", 0}, {"fan_in", 0}, {"fan_out", 0}}, 3},
    {"xavier_normal", IR_INIT_XAVIER_NORMAL, {{"gain", 0}, {"fan_in", 0}, {"fan_out", 0}}, 3},
    {"glorot_uniform", IR_INIT_XAVIER_UNIFORM, {{"gain", 0}, {"fan_in", 0}, {"fan_out", 0}}, 3},
    {"glorot_normal", IR_INIT_XAVIER_NORMAL, {{"gain", 0}, {"fan_in", 0}, {"fan_out", 0}}, 3},
    {"he_uniform", IR_INIT_HE_UNIFORM, {{"gain", 0}, {"fan_in", 0}, {"fan_out", 0}}, 3},
    {"he_normal", IR_INIT_HE_NORMAL, {{"gain", 0}, {"fan_in", 0}, {"fan_out", 0}}, 3},
    {"kaiming_uniform", IR_INIT_HE_UNIFORM, {{"gain", 0}, {"fan_in", 0}, {"fan_out", 0}}, 3},
    {"kaiming_normal", IR_INIT_HE_NORMAL, {{"gain", 0}, {"fan_in", 0}, {"fan_out", 0}}, 3},
    /* drawn with the shape's structure (runtime/init_shaped.c), checked against it by init_check_shape */
    {"trunc_normal", IR_INIT_TRUNC_NORMAL, {{"mean", 0}, {"std", 0}, {"a", 0}, {"b", 0}}, 4},
    {"orthogonal", IR_INIT_ORTHOGONAL, {{"gain", 0}}, 1},
    {"sparse", IR_INIT_SPARSE, {{"sparsity", 1}, {"std", 0}}, 2},
    {"dirac", IR_INIT_DIRAC, {{"groups", 0}}, 1},
    {"eye", IR_INIT_EYE, {{0}}, 0},
    /* the values themselves, computed once the shape is known (elab_init_data.c) */
    {"values", IR_INIT_DATA, {{"values", 1}}, 1},
    {"chunks", IR_INIT_DATA, {{"values", 1}}, 1},
    {"bilinear_upsample", IR_INIT_DATA, {{0}}, 0},
    {"from_file", IR_INIT_DATA, {{"path", 1}, {"name", 1}}, 2},
};

static const init_def *find(const char *name) {
    for (size_t i = 0; i < sizeof inits / sizeof *inits; i++)
        if (strcmp(inits[i].name, name) == 0) return &inits[i];
    return NULL;
}

int is_initializer(const char *name) { return find(name) != NULL; }

/* The default gain is resolved at compile time, so the emitted table carries
 * the number that is used: sqrt(2) for He (PyTorch's calculate_gain('relu')),
 * 1 for everything else. */
double init_default_gain(ir_init_kind kind) {
    return kind == IR_INIT_HE_UNIFORM || kind == IR_INIT_HE_NORMAL ? sqrt(2.0) : 1.0;
}

static int num(elab *e, const value *v, double dflt, const char *what, double *out) {
    if (v->kind == V_NONE) {
        *out = dflt;
        return 1;
    }
    if (v->kind != V_BOOL && as_number(v, out)) return 1;
    diag_error(e->d, v->loc, "'%s' must be a number, got %s", what, v_describe(e, v));
    return 0;
}

static int positive(elab *e, const value *v, const char *what, double x) {
    if (x > 0) return 1;
    diag_error(e->d, v->loc, "%s must be positive, got %g", what, x);
    return 0;
}

static int fan(elab *e, const value *v, int64_t *out) {
    if (v->kind == V_NONE) return 1; /* keep -1: from the shape */
    value iv = int_like(v);
    v = &iv;
    if (v->kind == V_INT && v->i > 0) {
        *out = v->i;
        return 1;
    }
    diag_error(e->d, v->loc, "a fan must be a positive int, got %s", v_describe(e, v));
    return 0;
}

/* An initializer as the user would write it, with every value resolved:
 * "he_uniform(gain = 1.41421, fan_in = 96, fan_out = 10)". */
const char *init_describe(elab *e, const ir_init *in) {
    const init_def *def = NULL;
    for (size_t i = 0; i < sizeof inits / sizeof *inits && !def; i++)
        if (inits[i].kind == in->kind) def = &inits[i];
    if (!def) return "?";
    switch (in->kind) {
    case IR_INIT_ZEROS:
    case IR_INIT_ONES: return def->name;
    case IR_INIT_EYE: return "eye()";
    case IR_INIT_DATA: return "given values";
    case IR_INIT_CONSTANT: return arena_printf(e->a, "constant(%g)", in->a);
    case IR_INIT_NORMAL: return arena_printf(e->a, "normal(mean = %g, std = %g)", in->a, in->b);
    case IR_INIT_UNIFORM: return arena_printf(e->a, "uniform(low = %g, high = %g)", in->a, in->b);
    case IR_INIT_TRUNC_NORMAL:
        return arena_printf(e->a, "trunc_normal(mean = %g, std = %g, a = %g, b = %g)", in->a, in->b, in->lo, in->hi);
    case IR_INIT_ORTHOGONAL: return arena_printf(e->a, "orthogonal(gain = %g)", in->gain);
    case IR_INIT_SPARSE: return arena_printf(e->a, "sparse(sparsity = %g, std = %g)", in->a, in->b);
    case IR_INIT_DIRAC: return arena_printf(e->a, "dirac(groups = %g)", in->a);
    default:
        return arena_printf(e->a, "%s(gain = %g, fan_in = %lld, fan_out = %lld)", def->name, in->gain,
                            (long long)in->fan_in, (long long)in->fan_out);
    }
}

static int init_eq(const ir_init *a, const ir_init *b, const ir_shape *shape) {
    if (a->kind == IR_INIT_DATA && b->kind == IR_INIT_DATA)
        return memcmp(a->data, b->data, sizeof(float) * (size_t)ir_dim_eval(ir_shape_numel(shape), NULL)) == 0;
    return a->kind == b->kind && a->a == b->a && a->b == b->b && a->gain == b->gain && a->fan_in == b->fan_in &&
           a->fan_out == b->fan_out && a->lo == b->lo && a->hi == b->hi;
}

/* A second declaration of the same full name is the same tensor (weight
 * tying: `dense(h, 64, name = "cell")` twice); it must agree with the first
 * in everything, or which one won would depend on call order. */
int check_redeclaration(elab *e, const ir_param *first, const char *what, const ir_shape *shape,
                        const ir_init *init, int trainable, src_loc loc) {
    char a[160], b[160];
    const char *problem = NULL, *then = NULL, *now = NULL;
    int init_differs = 0;
    if (!ir_shape_eq(&first->shape, shape)) {
        ir_shape_str(a, sizeof a, IR_F32, &first->shape, e->mod);
        ir_shape_str(b, sizeof b, IR_F32, shape, e->mod);
        problem = "a different shape", then = a, now = b;
    } else if (first->trainable != trainable) {
        problem = "a different trainability", then = first->trainable ? "trainable" : "frozen or a buffer",
        now = trainable ? "trainable" : "frozen or a buffer";
    } else if (!init_eq(&first->init, init, shape)) {
        problem = "a different initializer", then = init_describe(e, &first->init), now = init_describe(e, init);
        init_differs = 1;
    }
    if (!problem) return 1;
    char how[400] = "; give the call another name = \"...\" for separate weights";
    if (init_differs) /* dense(h, V, name = "emb") after embedding(..., name = "emb"): tying meant, initializers differ */
        snprintf(how, sizeof how, ": to tie them give both the same initializer (the first's is %s; a dense tied "
                 "to an embedding takes init = normal()); for separate weights give the call another name = \"...\"",
                 then);
    diag_error(e->d, loc,
               "%s '%s' is declared again with %s: %s here, %s before\nhint: declarations with the same name are one "
               "tensor (weight tying) and must agree%s", what, first->name, problem, now, then, how);
    diag_note(e->d, first->site, "'%s' is first declared here", first->name);
    return 0;
}

value make_initializer(elab *e, const char *name, src_loc loc, value *pos, int npos, const char **kw_names, value *kw,
                       int nkw, const src_loc *kw_locs) {
    const init_def *def = find(name);
    value args[4];
    if (bind_args(e, name, loc, def->args, def->nargs, pos, npos, kw_names, kw, nkw, kw_locs, args) != 0) return v_error();
    ir_init in = {.kind = def->kind, .fan_in = -1, .fan_out = -1, .gain = init_default_gain(def->kind)};
    if (def->kind == IR_INIT_DATA) { /* a recipe: its name and arguments, for init_data_resolve */
        value r = {.kind = V_INIT, .init = in, .s = def->name, .loc = loc, .n = def->nargs};
        r.items = ARENA_NEW_ARRAY(e->a, value, def->nargs ? def->nargs : 1);
        for (int k = 0; k < def->nargs; k++) r.items[k] = args[k];
        return r;
    }
    int ok = 1;
    switch (def->kind) {
    case IR_INIT_CONSTANT: ok = num(e, &args[0], 0, "value", &in.a); break;
    case IR_INIT_NORMAL: ok = num(e, &args[0], 0, "mean", &in.a) && num(e, &args[1], 1, "std", &in.b); break;
    case IR_INIT_UNIFORM: ok = num(e, &args[0], 0, "low", &in.a) && num(e, &args[1], 1, "high", &in.b); break;
    case IR_INIT_LECUN_UNIFORM:
    case IR_INIT_LECUN_NORMAL: ok = fan(e, &args[0], &in.fan_in) && fan(e, &args[1], &in.fan_out); break;
    case IR_INIT_XAVIER_UNIFORM:
    case IR_INIT_XAVIER_NORMAL:
    case IR_INIT_HE_UNIFORM:
    case IR_INIT_HE_NORMAL:
        ok = num(e, &args[0], in.gain, "gain", &in.gain) && fan(e, &args[1], &in.fan_in) &&
             fan(e, &args[2], &in.fan_out);
        if (ok && !(in.gain > 0)) {
            diag_error(e->d, args[0].loc, "gain must be positive, got %g", in.gain);
            ok = 0;
        }
        break;
    case IR_INIT_TRUNC_NORMAL:
        ok = num(e, &args[0], 0, "mean", &in.a) && num(e, &args[1], 1, "std", &in.b) && num(e, &args[2], -2, "a", &in.lo) &&
             num(e, &args[3], 2, "b", &in.hi) && positive(e, &args[1], "std", in.b);
        if (ok && !(in.lo < in.hi)) {
            diag_error(e->d, loc, "trunc_normal needs a < b, got a = %g, b = %g\nhint: a and b are absolute values, not "
                       "multiples of std (PyTorch's trunc_normal_ too)", in.lo, in.hi);
            ok = 0;
        }
        break;
    case IR_INIT_ORTHOGONAL: ok = num(e, &args[0], 1, "gain", &in.gain) && positive(e, &args[0], "gain", in.gain); break;
    case IR_INIT_SPARSE:
        ok = num(e, &args[0], 0, "sparsity", &in.a) && num(e, &args[1], 0.01, "std", &in.b) &&
             positive(e, &args[1], "std", in.b);
        if (ok && !(in.a >= 0 && in.a <= 1)) {
            diag_error(e->d, args[0].loc, "sparsity is the fraction of each column set to zero, in [0, 1]; got %g", in.a);
            ok = 0;
        }
        break;
    case IR_INIT_DIRAC:
        if (args[0].kind != V_NONE) {
            value g = int_like(&args[0]);
            ok = g.kind == V_INT && g.i > 0;
            if (ok) in.a = (double)g.i;
            else diag_error(e->d, args[0].loc, "groups must be a positive int, got %s", v_describe(e, &args[0]));
        } else {
            in.a = 1;
        }
        break;
    default: break;
    }
    if (!ok) return v_error();
    if (def->kind == IR_INIT_NORMAL && in.b < 0) {
        diag_error(e->d, args[1].loc, "std must be non-negative, got %g", in.b);
        return v_error();
    }
    if (def->kind == IR_INIT_UNIFORM && !(in.a < in.b)) {
        diag_error(e->d, loc, "uniform needs low < high, got [%g, %g)", in.a, in.b);
        return v_error();
    }
    return (value){.kind = V_INIT, .init = in, .loc = loc};
}

/* The hint for a tensor where an initializer belongs (`param w: f32[4, 4] =
 * eye(4)`): what is accepted, and the initializer a constant-tensor call
 * meant, written without its sizes — the parameter's shape gives them. */
const char *init_tensor_hint(elab *e, const ast_expr *x) {
    static const char *const meant[][2] = {
        {"eye", "eye() without sizes"},
        {"zeros", "zeros (the bare name)"},
        {"ones", "ones (the bare name)"},
        {"full", "constant(value), or the bare number"},
    };
    for (size_t i = 0; x->kind == AST_CALL && i < sizeof meant / sizeof *meant; i++)
        if (strcmp(x->name, meant[i][0]) == 0)
            return arena_printf(e->a, "\nhint: the initializer is %s: the parameter's shape gives the sizes", meant[i][1]);
    return "\nhint: a parameter starts from an initializer, not a tensor: zeros, ones, a number, eye(), "
           "values([...]), from_file(path, name) or a random one; to use a computed tensor as a constant, assign it "
           "(k = ...) instead of declaring a parameter";
}

/* The shapes torch.nn.init accepts for the structured initializers (its own
 * ValueErrors), refused here when the model is compiled rather than when it
 * is initialized. */
int init_check_shape(elab *e, const ir_init *in, const ir_shape *shape, src_loc loc) {
    char buf[160];
    ir_shape_str(buf, sizeof buf, IR_F32, shape, e->mod);
    int rank = shape->rank;
    switch (in->kind) {
    case IR_INIT_ORTHOGONAL:
        if (rank >= 2) return 1;
        diag_error(e->d, loc, "orthogonal() needs a parameter of 2 or more dimensions, got %s\nhint: PyTorch's "
                   "orthogonal_ makes the rows (dimension 0) or the columns (the rest, flattened) orthonormal", buf);
        return 0;
    case IR_INIT_SPARSE:
    case IR_INIT_EYE:
        if (rank == 2) return 1;
        diag_error(e->d, loc, "%s() needs a parameter of 2 dimensions [rows, cols], got %s",
                   in->kind == IR_INIT_EYE ? "eye" : "sparse", buf);
        return 0;
    case IR_INIT_DIRAC:
        if (rank < 3 || rank > 5) {
            diag_error(e->d, loc, "dirac() needs a convolution weight of 3, 4 or 5 dimensions [out, in / groups, "
                       "kernel...], got %s", buf);
            return 0;
        }
        if (shape->d[0].k % (int64_t)in->a != 0) {
            diag_error(e->d, loc, "dirac(groups = %g) needs the out channels (dimension 0) divisible by groups, got %s",
                       in->a, buf);
            return 0;
        }
        return 1;
    default: return 1;
    }
}
