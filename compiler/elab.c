/* elab.c — elaboration: evaluate the program at compile time into IR.
 *
 * The .dln language is evaluated like a tiny interpreter whose tensor values
 * are IR nodes: running a model body once appends its computation to a graph.
 * Compile-time values (ints, floats, bools, strings, lists, symbolic
 * dimensions, initializers) are folded away here, so the IR only ever sees
 * tensors. A block call gets a fresh frame (blocks see only their arguments,
 * never the caller's variables) and a parameter-name prefix, which is what
 * makes names such as "dense1.weight" stable across compiles and across the
 * three graphs (forward, eval_step, train_step) built from the same model:
 * the graphs are elaborated separately, in eval and train mode, and find
 * their parameters in the module by name.
 *
 * Shapes are checked as nodes are built (ir_add runs the op table's shape
 * rule and reports at the node's source span); block signatures are checked
 * by unification: a dimension name in a formal's type that is not yet bound
 * binds to the argument's actual dimension, a bound one must match it. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "passes.h"
#include "elab_internal.h"

enum { ELAB_MAX_DEPTH = 64 };

/* Elaboration runs the program's compile-time part (repeat, if, block calls),
 * which can loop for ever (repeat 10^12, or a block calling itself twice per
 * level: 2^64 calls under the depth limit) or build a graph no machine holds.
 * Both budgets are far beyond any real network (ResNet-152 is ~10^4 nodes);
 * past them we report once and unwind. A step is a statement, a loop
 * iteration, a block call or an expression evaluated, and what grows with a
 * value rather than with the program text (a string's bytes, a list's items)
 * is charged by its size before it is built. Statements check the budgets;
 * so does anything charging a size, since one expression can be large. */
/* Not const: tests/fuzz/fuzz_compiler.c lowers both (declared there). */
int64_t elab_max_work = 20000000;
int64_t elab_max_nodes = ELAB_MAX_NODES;

int elab_charge(elab *e, src_loc loc, int64_t cost) {
    if (e->runaway) return 1;
    e->work += cost;
    if (e->work <= elab_max_work && (!e->g || e->g->n_nodes <= elab_max_nodes)) return 0;
    e->runaway = 1;
    if (e->work > elab_max_work)
        diag_error(e->d, loc, "elaboration did more than %lld steps; is a 'repeat' count or a recursion runaway?",
                   (long long)elab_max_work);
    else
        diag_error(e->d, loc, "the graph grew beyond %lld operations; is a 'repeat' count or a recursion runaway?",
                   (long long)elab_max_nodes);
    return 1;
}

static int over_budget(elab *e, src_loc loc) { return elab_charge(e, loc, 1); }

/* ---- values --------------------------------------------------------------- */

value v_error(void) { return (value){.kind = V_ERROR}; }
value v_int(int64_t i, src_loc loc) { return (value){.kind = V_INT, .i = i, .loc = loc}; }
value v_float(double f, src_loc loc) { return (value){.kind = V_FLOAT, .f = f, .loc = loc}; }
value v_bool(int b, src_loc loc) { return (value){.kind = V_BOOL, .i = !!b, .loc = loc}; }
value v_tensor(ir_node *t, src_loc loc) {
    if (!t) return v_error();
    return (value){.kind = V_TENSOR, .t = t, .loc = loc};
}
int elab_training(const elab *e) { return e->g->mode == IR_MODE_TRAIN && !e->eval_calls; }

static value v_dim(ir_dim d, src_loc loc) {
    if (ir_dim_is_const(d)) return v_int(d.k, loc);
    return (value){.kind = V_DIM, .dim = d, .loc = loc};
}

const char *v_kind_name(const value *v) {
    switch (v->kind) {
    case V_ERROR: return "<error>";
    case V_NONE: return "nothing";
    case V_INT: return "int";
    case V_FLOAT: return "float";
    case V_BOOL: return "bool";
    case V_STR: return "str";
    case V_DIM: return "dimension";
    case V_TENSOR: return "tensor";
    case V_LIST: return "list";
    case V_INIT: return "initializer";
    case V_FUNC: return "function";
    }
    return "?";
}

const char *t_describe(elab *e, const ir_node *t) {
    char buf[160];
    return arena_strdup(e->a, ir_shape_str(buf, sizeof buf, t->dtype, &t->shape, e->mod));
}

value v_list(elab *e, int n, src_loc loc) {
    value l = {.kind = V_LIST, .n = n, .loc = loc};
    l.items = ARENA_NEW_ARRAY(e->a, value, n);
    return l;
}

const char *v_describe(elab *e, const value *v) {
    switch (v->kind) {
    case V_INT: return arena_printf(e->a, "int %lld", (long long)v->i);
    case V_FLOAT: {
        /* shortest text that reads back as the value: 40 * 0.3 is 12.000000000000002, not "12" */
        char *s = arena_printf(e->a, "float %.15g", v->f);
        return strtod(s + 6, NULL) == v->f ? s : arena_printf(e->a, "float %.17g", v->f);
    }
    case V_BOOL: return v->i ? "bool true" : "bool false";
    case V_STR: return arena_printf(e->a, "str \"%s\"", v->s);
    case V_TENSOR: return t_describe(e, v->t);
    case V_FUNC: return arena_printf(e->a, "function '%s'", v->s);
    /* the count shows a block's several results where one was meant (unpack them) */
    case V_LIST: return arena_printf(e->a, "a list of %d value%s", v->n, v->n == 1 ? "" : "s");
    default: return v_kind_name(v);
    }
}

int as_number(const value *v, double *out) {
    switch (v->kind) {
    case V_INT:
    case V_BOOL: *out = (double)v->i; return 1;
    case V_FLOAT: *out = v->f; return 1;
    default: return 0;
    }
}

/* Wherever an int is required, a float with an integral value is one
 * (C * 0.5 = 36.0 as a channel count); a non-integral float stays a float, so
 * the caller's error shows its value. */
value int_like(const value *v) {
    if (v->kind == V_FLOAT && isfinite(v->f) && v->f == floor(v->f) && fabs(v->f) < 9.0e15)
        return (value){.kind = V_INT, .i = (int64_t)v->f, .loc = v->loc};
    return *v;
}

static int as_dim(const value *v, ir_dim *out) {
    value iv = int_like(v);
    if (iv.kind == V_INT) { *out = ir_dim_const(iv.i); return 1; }
    if (v->kind == V_DIM) { *out = v->dim; return 1; }
    return 0;
}

ir_node *op_scalar(elab *e, double v, src_loc loc) {
    ir_node *n = ir_const(e->g, v, NULL);
    if (n) n->loc = loc;
    return n;
}

/* A dimension's size as an f32 scalar: a constant, or for a run-time size
 * (N, a graph's V) the sum of that many ones, computed where it is used. */
ir_node *dim_scalar(elab *e, ir_dim d, src_loc loc) {
    if (ir_dim_is_const(d)) return op_scalar(e, (double)d.k, loc);
    ir_shape one = {.rank = 1, .d = {d}};
    ir_node *ones = ir_const(e->g, 1.0, &one);
    if (ones) ones->loc = loc;
    return ir_reduce_sum(e->g, ones, 1u, 0);
}

ir_node *as_tensor(elab *e, value v, src_loc loc) {
    double x;
    if (v.kind == V_TENSOR) return v.t;
    if (v.kind == V_ERROR) return NULL;
    if (as_number(&v, &x)) return op_scalar(e, x, loc);
    if (v.kind == V_DIM) return dim_scalar(e, v.dim, loc); /* loss / N: the run-time batch size */
    diag_error(e->d, loc, "expected a tensor, got %s", v_describe(e, &v));
    return NULL;
}

/* ---- scopes --------------------------------------------------------------- */

static binding *lookup(frame *f, const char *name) { return strmap_get(&f->var_index, name); }

void frame_bind(elab *e, frame *f, const char *name, value v) {
    binding *b = lookup(f, name);
    if (!b) {
        b = ARENA_NEW(e->a, binding);
        b->name = name;
        b->next = f->vars;
        f->vars = b;
        strmap_put(&f->var_index, e->a, name, b);
    }
    b->v = v;
    b->level = e->scan ? e->scan->level : 0;
}

int frame_lookup(elab *e, frame *f, const char *name, value *out) {
    binding *b = lookup(f, name);
    if (!b) return 0;
    if (e->scan && b->level < e->scan->level && b->v.kind != V_ERROR) frame_bind(e, f, name, scan_capture(e, b->v, b->level, name));
    *out = b->v;
    return 1;
}

static int next_instance(elab *e, frame *f, const char *block) {
    int *count = strmap_get(&f->counters, block);
    if (!count) {
        count = ARENA_NEW(e->a, int);
        strmap_put(&f->counters, e->a, block, count);
    }
    return (*count)++;
}

/* Levenshtein distance, for "did you mean" hints. */
static int edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 40 || lb > 40) return 99;
    int row[41];
    for (int j = 0; j <= lb; j++) row[j] = j;
    for (int i = 1; i <= la; i++) {
        int prev = row[0];
        row[0] = i;
        for (int j = 1; j <= lb; j++) {
            int cur = row[j];
            int sub = prev + (a[i - 1] != b[j - 1]);
            int best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            prev = cur;
        }
    }
    return row[lb];
}

typedef struct suggest {
    const char *best;
    int dist;
    const char *target;
} suggest;

static void suggest_try(suggest *s, const char *cand) {
    int d = edit_distance(s->target, cand);
    int limit = (int)strlen(s->target) <= 3 ? 1 : 2;
    if (d <= limit && d < s->dist) {
        s->dist = d;
        s->best = cand;
    }
}

const ast_decl *find_block(elab *e, const char *name) {
    const ast_decl *d = strmap_get(&e->step_models, name);
    if (d) return d;
    d = strmap_get(&e->user_blocks, name);
    return d ? d : strmap_get(&e->lib_blocks, name);
}

const char *closest_name(const char *name, const char *const *cands, int n) {
    suggest s = {.dist = 99, .target = name};
    for (int i = 0; i < n; i++) suggest_try(&s, cands[i]);
    return s.best;
}

static const char *suggest_name(elab *e, frame *f, const char *name, int functions) {
    suggest s = {.dist = 99, .target = name};
    if (f && !functions)
        for (binding *b = f->vars; b; b = b->next) suggest_try(&s, b->name);
    if (functions) {
        for (int i = 0; i < e->user->n_decls; i++)
            if (e->user->decls[i]->kind == AST_DECL_BLOCK) suggest_try(&s, e->user->decls[i]->name);
        for (int l = 0; l < e->n_lib; l++)
            for (int i = 0; i < e->lib[l]->n_decls; i++)
                if (e->lib[l]->decls[i]->kind == AST_DECL_BLOCK) suggest_try(&s, e->lib[l]->decls[i]->name);
        static const char *const extra[] = {"relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax",
                                            "leaky_relu", "elu", "dropout", "transpose", "reshape",
                                            "flatten", "sum", "mean", "max", "matmul", "exp", "log",
                                            "sqrt", "abs", "he_uniform", "xavier_uniform", "zeros"};
        for (size_t i = 0; i < sizeof extra / sizeof *extra; i++) suggest_try(&s, extra[i]);
    }
    return s.best;
}

/* ---- argument binding ------------------------------------------------------ */

/* PyTorch's keyword names for what ours call otherwise (NULL: the size comes from the input's
 * shape), for the hint when a call uses one. */
static const char *const torch_kw[][2] = {
    {"dim", "axis"}, {"keepdim", "keepdims"}, {"kernel_size", "kernel"}, {"padding", "pad"},
    {"output_padding", "output_pad"}, {"scale_factor", "scale"}, {"bias", "use_bias"},
    {"negative_slope", "slope"}, {"out_features", "units"}, {"num_embeddings", "vocab"},
    {"in_channels", NULL}, {"in_features", NULL}, {"num_features", NULL}, {"normalized_shape", "features"},
    {"num_layers", "layers"}, {"hidden_size", "hidden"}, {"embedding_dim", "dim"},
};

/* "'f' has no argument named 'k'" with the arguments it has, and PyTorch's name mapped to ours. */
static void report_unknown_arg(elab *e, src_loc loc, const char *fname, const char *kw, const char *const *names, int n) {
    char list[256] = "";
    for (int i = 0; i < n; i++) {
        if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
    }
    for (size_t t = 0; t < sizeof torch_kw / sizeof *torch_kw; t++) {
        if (strcmp(torch_kw[t][0], kw) != 0) continue;
        if (!torch_kw[t][1]) {
            diag_error(e->d, loc, "'%s' has no argument named '%s'\nhint: PyTorch's '%s' is not given here: the "
                       "input's size comes from its shape; the arguments are: %s", fname, kw, kw, n ? list : "(none)");
            return;
        }
        for (int i = 0; i < n; i++)
            if (strcmp(names[i], torch_kw[t][1]) == 0) {
                diag_error(e->d, loc, "'%s' has no argument named '%s'\nhint: PyTorch's '%s' is '%s' here: "
                           "%s(..., %s = ...); the arguments are: %s", fname, kw, kw, names[i], fname, names[i], list);
                return;
            }
    }
    if (strcmp(kw, "max_norm") == 0) { /* nn.Embedding(max_norm = m): TransE's and some recommenders' renormalized rows */
        diag_error(e->d, loc, "'%s' has no argument named 'max_norm'\nhint: nn.Embedding(max_norm = m) renormalizes the "
                   "rows it looks up in place; here a table's rows are renormalized in the forward, their gradient passed "
                   "to the table as it is: take(with_grad(t * minimum(1.0, m / (sqrt(sum(t * t, axis = 1, keepdims = "
                   "true)) + 1e-7)), t), ids) of a param t: f32[vocab, dim]; to keep the renormalized rows from step to "
                   "step as PyTorch does, add a buffer shift: f32[vocab, dim] = zeros to t and update(shift, "
                   "stop_grad(renormalized - t)) (docs/language.md, \"Course models: recommenders, ...\"); the "
                   "arguments are: %s",
                   fname, n ? list : "(none)");
        return;
    }
    if (strcmp(kw, "batch_first") == 0) { /* nn.GRU(..., batch_first = True): the tagger's port */
        diag_error(e->d, loc, "'%s' has no argument named 'batch_first'\nhint: sequences are always batch first here, "
                   "f32[N, T, I] (PyTorch's batch_first = True); a time-first f32[T, N, I] is transpose(x, [1, 0, 2]); the "
                   "arguments are: %s", fname, n ? list : "(none)");
        return;
    }
    if (strcmp(kw, "inplace") == 0) { /* nn.ReLU(inplace = True), F.dropout(..., inplace = ...) */
        diag_error(e->d, loc, "'%s' has no argument named 'inplace'\nhint: every result here is a new value (the "
                   "compiler reuses memory itself), so leave inplace out; the arguments are: %s", fname,
                   n ? list : "(none)");
        return;
    }
    if (strcmp(kw, "reduction") == 0) { /* F.nll_loss(..., reduction = "none"): PPO's and REINFORCE's per-sample losses */
        diag_error(e->d, loc, "'%s' has no argument named 'reduction'\nhint: '%s' is always the mean, PyTorch's reduction = "
                   "\"mean\"; reduction = \"none\" (one loss per position) is written from the pieces (nll's is "
                   "-pick(logp, target), soft_cross_entropy's -sum(target * log_softmax(logits, axis = 1), axis = 1)); "
                   "\"sum\" is sum(...) of it; cross_entropy, mse, l1, huber, bce, bce_with_logits, smooth_l1, "
                   "focal_loss, kl_div and margin_ranking_loss take reduction; the arguments are: %s", fname, fname,
                   n ? list : "(none)");
        return;
    }
    diag_error(e->d, loc, "'%s' has no argument named '%s'\nhint: its arguments are: %s", fname, kw, n ? list : "(none)");
}

int bind_args(elab *e, const char *fname, src_loc call_loc, const argspec *spec, int nspec,
              value *pos, int npos, const char **kw_names, value *kw, int nkw, const src_loc *kw_locs,
              value *out) {
    int ok = 1;
    for (int i = 0; i < nspec; i++) out[i] = (value){.kind = V_NONE};
    if (npos > nspec) {
        diag_error(e->d, pos[nspec].loc, "too many arguments to '%s' (it takes at most %d)", fname, nspec);
        return -1;
    }
    for (int i = 0; i < npos; i++) out[i] = pos[i];
    for (int k = 0; k < nkw; k++) {
        int found = -1;
        for (int i = 0; i < nspec; i++)
            if (strcmp(spec[i].name, kw_names[k]) == 0) found = i;
        if (found < 0) {
            const char *names[64];
            int n = 0;
            for (int i = 0; i < nspec && n < 64; i++) names[n++] = spec[i].name;
            report_unknown_arg(e, kw_locs ? kw_locs[k] : call_loc, fname, kw_names[k], names, n);
            ok = 0;
        } else if (out[found].kind != V_NONE) {
            diag_error(e->d, kw_locs ? kw_locs[k] : call_loc, "argument '%s' of '%s' given twice", kw_names[k], fname);
            ok = 0;
        } else {
            out[found] = kw[k];
        }
    }
    for (int i = 0; ok && i < nspec; i++)
        if (spec[i].required && out[i].kind == V_NONE) {
            diag_error(e->d, call_loc, "missing argument '%s' in call to '%s'", spec[i].name, fname);
            ok = 0;
        }
    for (int i = 0; i < nspec; i++)
        if (out[i].kind == V_ERROR) ok = 0;
    return ok ? 0 : -1;
}

/* ---- types ---------------------------------------------------------------- */

static const char *type_str(elab *e, frame *f, const ast_type *t);

static int check_scalar_formal(elab *e, const ast_formal *fm, value *v, const char *block) {
    if (!fm->type || v->kind == V_ERROR) return 1;
    double x;
    switch (fm->type->kind) {
    case AST_TY_INT:
        *v = int_like(v);
        if (v->kind == V_INT || v->kind == V_DIM) return 1;
        break;
    case AST_TY_FLOAT:
        if (as_number(v, &x) && v->kind != V_BOOL) { *v = v_float(x, v->loc); return 1; }
        break;
    case AST_TY_BOOL:
        if (v->kind == V_BOOL) return 1;
        break;
    case AST_TY_STR:
        if (v->kind == V_STR) return 1;
        break;
    case AST_TY_TENSOR: return 1;
    }
    if (fm->type->kind == AST_TY_FLOAT && v->kind == V_TENSOR && v->t->shape.rank == 0) {
        diag_error(e->d, v->loc, "argument '%s' of '%s' must be float, got %s\nhint: a function of numbers such as "
                   "log(0.01) or sqrt(2.0) is an f32[] tensor, not a number: write its value", fm->name, block,
                   v_describe(e, v));
        return 0;
    }
    diag_error(e->d, v->loc, "argument '%s' of '%s' must be %s, got %s", fm->name, block,
               type_str(e, NULL, fm->type), v_describe(e, v));
    return 0;
}

static const char *type_str(elab *e, frame *f, const ast_type *t) {
    (void)f;
    switch (t->kind) {
    case AST_TY_INT: return "int";
    case AST_TY_FLOAT: return "float";
    case AST_TY_BOOL: return "bool";
    case AST_TY_STR: return "str";
    case AST_TY_TENSOR: break;
    }
    const char *s = t->dtype == AST_DT_F32 ? "f32" : "i32";
    if (!t->has_shape) return arena_printf(e->a, "an %s tensor", s);
    char buf[256];
    int len = snprintf(buf, sizeof buf, "%s[", s);
    for (int i = 0; i < t->rank && len < (int)sizeof buf - 32; i++) {
        const ast_expr *d = t->dims[i];
        if (d->kind == AST_NAME) len += snprintf(buf + len, sizeof buf - len, "%s%s", i ? ", " : "", d->name);
        else if (d->kind == AST_INT) len += snprintf(buf + len, sizeof buf - len, "%s%lld", i ? ", " : "", (long long)d->ival);
        else len += snprintf(buf + len, sizeof buf - len, "%s...", i ? ", " : "");
    }
    snprintf(buf + len, sizeof buf - len, "]");
    return arena_strdup(e->a, buf);
}

/* Unify a tensor value with a declared type, binding unbound dimension names
 * in f. what/where describe the value for the message. Returns 1 if it fits. */
static int unify_tensor(elab *e, frame *f, const ast_type *t, const value *v, const char *what, src_loc where) {
    if (v->kind == V_ERROR) return 0;
    if (v->kind != V_TENSOR) {
        diag_error(e->d, where, "%s must be %s, got %s", what, type_str(e, f, t), v_describe(e, v));
        return 0;
    }
    ir_node *n = v->t;
    const char *have = t_describe(e, n);
    ir_dtype want = t->dtype == AST_DT_F32 ? IR_F32 : IR_I32;
    if (n->dtype != want) {
        diag_error(e->d, where, "%s must be %s, got %s", what, type_str(e, f, t), have);
        return 0;
    }
    if (!t->has_shape) return 1;
    if (t->rank != n->shape.rank) {
        diag_error(e->d, where, "%s must be %s (rank %d), got %s (rank %d)", what, type_str(e, f, t), t->rank, have,
                   n->shape.rank);
        return 0;
    }
    for (int i = 0; i < t->rank; i++) {
        const ast_expr *dx = t->dims[i];
        ir_dim actual = n->shape.d[i];
        if (dx->kind == AST_NAME && !lookup(f, dx->name)) {
            frame_bind(e, f, dx->name, v_dim(actual, dx->loc));
            continue;
        }
        value dv = eval_expr(e, f, dx);
        ir_dim expect;
        if (dv.kind == V_ERROR) return 0;
        if (!as_dim(&dv, &expect)) {
            diag_error(e->d, dx->loc, "a dimension must be an int, got %s", v_describe(e, &dv));
            return 0;
        }
        if (!ir_dim_eq(expect, actual)) {
            char ebuf[64], abuf[64];
            diag_error(e->d, where, "%s must be %s, got %s\nhint: dimension %d is %s here but %s was expected", what,
                       type_str(e, f, t), have, i, ir_dim_str(abuf, sizeof abuf, actual, e->mod),
                       ir_dim_str(ebuf, sizeof ebuf, expect, e->mod));
            return 0;
        }
    }
    return 1;
}

/* ---- statements ------------------------------------------------------------ */



static int64_t count_fan(const ir_shape *s, int in) {
    if (s->rank == 0) return 1;
    if (s->rank == 1) return s->d[0].k;
    int64_t rf = 1;
    for (int i = 2; i < s->rank; i++) rf *= s->d[i].k;
    return (in ? s->d[1].k : s->d[0].k) * rf;
}

static value declare_param(elab *e, frame *f, const ast_stmt *st) {
    const ast_type *t = st->type;
    int trainable = st->kind == AST_ST_PARAM && !st->frozen;
    const char *full = arena_printf(e->a, "%s%s", f->prefix, st->name);
    /* the train section's `freeze`: no gradient, no optimizer state */
    const int by_name = trainable && e->mod->train && pg_frozen(&e->mod->train->groups, full);
    if (by_name) trainable = 0;
    /* In a step, only the stepped model's parameters learn (elab_steps.c). */
    if (e->stepped && strncmp(f->prefix, e->stepped, strlen(e->stepped)) != 0) trainable = 0;
    if (!t || t->kind != AST_TY_TENSOR || !t->has_shape) {
        diag_error(e->d, st->loc, "%s '%s' needs a tensor type with a shape, e.g. f32[64, 128]",
                   st->kind == AST_ST_PARAM ? "parameter" : "buffer", st->name);
        return v_error();
    }
    if (t->dtype != AST_DT_F32) {
        diag_error(e->d, t->loc, "parameters must be f32");
        return v_error();
    }
    ir_shape shape = {.rank = t->rank};
    int state = 0;
    for (int i = 0; i < t->rank; i++) {
        value dv = eval_expr(e, f, t->dims[i]);
        if (dv.kind == V_ERROR) return v_error();
        dv = int_like(&dv);
        /* `buffer h: f32[N, 256]`: state carried across training steps, one row per sample */
        if (i == 0 && st->kind == AST_ST_BUFFER && dv.kind == V_DIM && e->mod->n_syms > 0 &&
            ir_dim_eq(dv.dim, ir_dim_sym(IR_SYM_N))) {
            shape.d[0] = dv.dim;
            state = 1;
            continue;
        }
        if (dv.kind != V_INT) {
            diag_error(e->d, t->dims[i]->loc, "parameter dimensions must be compile-time ints, got %s%s", v_describe(e, &dv),
                       dv.kind == V_DIM ? "\nhint: a parameter's size cannot depend on the batch size; only the first dimension of "
                       "a buffer may be the batch (state carried between training steps)"
                       : dv.kind == V_TENSOR ? "\nhint: this size is only known at run time (numel of a tensor with a run-time "
                       "dimension such as N); a block that sizes its parameters from an argument wants a weight or a "
                       "compile-time shape there, not a batch of activations" : "");
            return v_error();
        }
        if (dv.i <= 0) {
            diag_error(e->d, t->dims[i]->loc, "parameter dimension must be positive, got %lld", (long long)dv.i);
            return v_error();
        }
        shape.d[i] = ir_dim_const(dv.i);
    }
    /* Bounded so every size and offset computed from it (fans, layout, the
     * emitted C's int64 arithmetic) stays far from overflow. */
    const int64_t max_numel = (int64_t)1 << 32;
    int64_t numel = 1;
    for (int i = 0; i < t->rank && numel <= max_numel; i++)
        numel = shape.d[i].k > max_numel / numel ? max_numel + 1 : numel * shape.d[i].k;
    if (numel > max_numel) {
        char buf[160];
        ir_shape_str(buf, sizeof buf, IR_F32, &shape, e->mod);
        diag_error(e->d, st->loc, "%s '%s' %s has more than 2^32 elements",
                   st->kind == AST_ST_PARAM ? "parameter" : "buffer", st->name, buf);
        return v_error();
    }
    ir_init init = {.kind = t->rank >= 2 && !state ? IR_INIT_HE_UNIFORM : IR_INIT_ZEROS, .fan_in = -1, .fan_out = -1};
    init.gain = init_default_gain(init.kind);
    value iv_recipe = {0}; /* a data initializer's recipe, resolved below at this shape */
    if (st->value) {
        value iv = eval_expr(e, f, st->value);
        double x;
        if (iv.kind == V_ERROR) return v_error();
        if (iv.kind == V_FUNC && is_initializer(iv.s))
            iv = make_initializer(e, iv.s, iv.loc, NULL, 0, NULL, NULL, 0, NULL);
        if (iv.kind == V_INIT) init = iv.init, iv_recipe = iv;
        else if (as_number(&iv, &x)) init = (ir_init){.kind = IR_INIT_CONSTANT, .a = x, .fan_in = -1, .fan_out = -1, .gain = 1};
        else {
            diag_error(e->d, st->value->loc, "expected an initializer (zeros, he_uniform(), normal(std = 0.01), ...), got %s%s",
                       v_describe(e, &iv), iv.kind == V_TENSOR ? init_tensor_hint(e, st->value) : "");
            return v_error();
        }
    }
    if (state && init.kind != IR_INIT_ZEROS && init.kind != IR_INIT_ONES && init.kind != IR_INIT_CONSTANT) {
        diag_error(e->d, st->value->loc, "buffer '%s' holds state per sample and is reset to its initializer: it must "
                   "be zeros, ones or a number", st->name);
        return v_error();
    }
    if (init.kind == IR_INIT_DATA && !init_data_resolve(e, &iv_recipe, &shape, &init, st->loc)) return v_error();
    if (!init_check_shape(e, &init, &shape, st->value ? iv_recipe.loc : st->loc)) return v_error();
    if (init.fan_in < 0) init.fan_in = count_fan(&shape, 1);
    if (init.fan_out < 0) init.fan_out = count_fan(&shape, 0);
    if (lookup(f, st->name)) {
        diag_error(e->d, st->loc, "'%s' is already defined in this block", st->name);
        return v_error();
    }
    if (e->ema_dst && st->kind == AST_ST_PARAM && !st->frozen) return ema_param(e, full, &shape, init, st->loc);
    int idx = ir_module_find_param(e->mod, full);
    if (idx < 0) {
        idx = ir_module_add_param(e->mod, full, shape, init, trainable, st->loc);
        e->mod->params[idx].site = f->in_stdlib ? e->user_site : st->loc;
        e->mod->params[idx].state = state;
        e->mod->params[idx].frozen_by_name = by_name;
    } else if (!check_redeclaration(e, &e->mod->params[idx], st->kind == AST_ST_PARAM ? "parameter" : "buffer",
                                    &shape, &init, trainable, st->loc)) {
        return v_error();
    }
    /* a buffer an earlier call updated in this step: that call left it so */
    if (st->kind == AST_ST_BUFFER && idx < e->cap_updated && e->updated[idx]) return v_tensor(e->updated[idx], st->loc);
    return v_tensor(ir_param_node(e->g, idx, st->loc), st->loc);
}

static void exec_param(elab *e, frame *f, const ast_stmt *st) {
    value v = declare_param(e, f, st);
    /* A failed declaration still binds its name (to an error value, which
     * later uses pass on silently), so it is not reported again as unknown. */
    if (v.kind != V_ERROR || !lookup(f, st->name)) frame_bind(e, f, st->name, v);
}

static void exec_stmt(elab *e, frame *f, const ast_stmt *st) {
    if (over_budget(e, st->loc)) return;
    switch (st->kind) {
    case AST_ST_ASSIGN: {
        value v = eval_expr(e, f, st->value);
        if (st->n_targets == 1) {
            frame_bind(e, f, st->targets[0], v);
            return;
        }
        if (v.kind == V_ERROR) {
            for (int i = 0; i < st->n_targets; i++) frame_bind(e, f, st->targets[i], v);
            return;
        }
        if (v.kind == V_LIST && v.n != st->n_targets) {
            /* split(x, 2) of 5 is three pieces (2, 2, 1), as torch.split: say how many came */
            diag_error(e->d, st->value->loc, "cannot unpack a list of %d values into %d names", v.n, st->n_targets);
            for (int i = 0; i < st->n_targets; i++) frame_bind(e, f, st->targets[i], v_error());
            return;
        }
        if (v.kind != V_LIST && st->value->kind == AST_CALL && st->n_targets == 2 &&
            (strcmp(st->value->name, "max") == 0 || strcmp(st->value->name, "min") == 0)) {
            /* torch.max(x, dim) returns (values, indices): FixMatch's confidences and pseudo-labels */
            const char *fn = st->value->name;
            diag_error(e->d, st->value->loc, "cannot unpack %s into %d names\nhint: %s(x, axis = a) is the values "
                       "alone (torch.a%s); PyTorch's values, indices = torch.%s(x, dim = a) are %s(x, axis = a) and "
                       "arg%s(x, axis = a), or topk(x, 1, axis = a%s) of one element along a",
                       v_describe(e, &v), st->n_targets, fn, fn, fn, fn, fn, fn[1] == 'i' ? ", largest = false" : "");
            for (int i = 0; i < st->n_targets; i++) frame_bind(e, f, st->targets[i], v_error());
            return;
        }
        if (v.kind != V_LIST) {
            diag_error(e->d, st->value->loc, "cannot unpack %s into %d names", v_describe(e, &v), st->n_targets);
            for (int i = 0; i < st->n_targets; i++) frame_bind(e, f, st->targets[i], v_error());
            return;
        }
        for (int i = 0; i < st->n_targets; i++) frame_bind(e, f, st->targets[i], v.items[i]);
        return;
    }
    case AST_ST_PARAM:
    case AST_ST_BUFFER: exec_param(e, f, st); return;
    case AST_ST_RETURN: {
        if (st->n_values == 1) {
            f->ret = eval_expr(e, f, st->values[0]);
        } else {
            value l = v_list(e, st->n_values, st->loc);
            for (int i = 0; i < st->n_values; i++) l.items[i] = eval_expr(e, f, st->values[i]);
            f->ret = l;
        }
        f->returned = 1;
        return;
    }
    case AST_ST_IF: {
        value c = eval_expr(e, f, st->value);
        if (c.kind == V_ERROR) return;
        if (c.kind != V_BOOL) {
            diag_error(e->d, st->value->loc, "an 'if' condition must be a compile-time bool, got %s\nhint: "
                       "to select between tensors element by element use where(cond, a, b)",
                       v_describe(e, &c));
            return;
        }
        exec_body(e, f, c.i ? &st->body : &st->else_body);
        return;
    }
    case AST_ST_REPEAT: {
        value c = eval_expr(e, f, st->value);
        if (c.kind == V_ERROR) return;
        c = int_like(&c);
        if (c.kind != V_INT || c.i < 0) {
            diag_error(e->d, st->value->loc, "'repeat' needs a non-negative compile-time int, got %s", v_describe(e, &c));
            return;
        }
        for (int64_t i = 0; i < c.i && !f->returned && !over_budget(e, st->loc); i++) {
            if (st->name) frame_bind(e, f, st->name, v_int(i, st->loc));
            int errors0 = e->d->n_errors;
            exec_body(e, f, &st->body);
            /* Every later copy would repeat the same messages: stop at the
             * first iteration that failed and say which one it was. */
            if (e->d->n_errors > errors0) {
                if (c.i > 1)
                    diag_note(e->d, st->loc, "in iteration %s%s%lld of %lld of this 'repeat'", st->name ? st->name : "",
                              st->name ? " = " : "", (long long)(st->name ? i : i + 1), (long long)c.i);
                return;
            }
        }
        return;
    }
    case AST_ST_SCAN: exec_scan(e, f, st); return;
    case AST_ST_YIELD: exec_yield(e, f, st); return;
    case AST_ST_EXPR: {
        value v = eval_expr(e, f, st->value);
        /* error(...) ends the block it is in (e->depth > 0; a model body goes on,
         * to report its other mistakes): the statements after it would only add
         * follow-on errors, and the call chain's note would stand under the last. */
        if (v.kind == V_ERROR && e->depth > 0 && st->value->kind == AST_CALL && strcmp(st->value->name, "error") == 0) {
            f->ret = v;
            f->returned = 1;
            return;
        }
        if (v.kind != V_NONE && v.kind != V_ERROR)
            diag_error(e->d, st->value->loc, "the result of this call is unused\nhint: assign it: name = %s(...)",
                       st->value->name);
        return;
    }
    }
}

void exec_body(elab *e, frame *f, const ast_block_body *body) {
    for (int i = 0; i < body->n_stmts && !f->returned; i++) exec_stmt(e, f, body->stmts[i]);
}

/* ---- block calls ----------------------------------------------------------- */

static int check_returns(elab *e, frame *f, const ast_decl *blk, src_loc call_loc) {
    if (!f->returned) {
        if (!e->runaway) diag_error(e->d, blk->name_loc, "'%s' ends without a return statement", blk->name);
        return 0;
    }
    if (blk->n_ret_types == 0 || f->ret.kind == V_ERROR) return f->ret.kind != V_ERROR;
    int n = f->ret.kind == V_LIST && blk->n_ret_types > 1 ? f->ret.n : 1;
    if (n != blk->n_ret_types) {
        diag_error(e->d, blk->name_loc, "'%s' returns %d values but its signature declares %d", blk->name, n,
                   blk->n_ret_types);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        const value *v = blk->n_ret_types > 1 ? &f->ret.items[i] : &f->ret;
        const ast_type *t = blk->ret_types[i];
        if (t->kind != AST_TY_TENSOR) continue;
        const char *what = arena_printf(e->a, "the result of '%s'", blk->name);
        if (!unify_tensor(e, f, t, v, what, t->loc)) {
            diag_note(e->d, call_loc, "in this call to '%s'", blk->name);
            return 0;
        }
    }
    return 1;
}

static int has_formal(const ast_decl *blk, const char *name) {
    for (int i = 0; i < blk->n_formals; i++)
        if (strcmp(blk->formals[i].name, name) == 0) return 1;
    return 0;
}

static int is_user_decl(const elab *e, const ast_decl *d) { return strmap_get(&e->user_blocks, d->name) == d; }

value call_block(elab *e, frame *caller, const ast_decl *blk, const ast_expr *call, value *pos, int npos,
                 const char **kw_names, value *kw, int nkw, src_loc loc) {
    if (over_budget(e, loc)) return v_error();
    if (e->depth >= ELAB_MAX_DEPTH) {
        diag_error(e->d, loc, "blocks nested more than %d deep (is '%s' recursive?)", ELAB_MAX_DEPTH, blk->name);
        e->runaway = 1;   /* b(x) + b(x) would hit the limit 2^64 times */
        return v_error();
    }
    frame f = {.decl = blk, .in_stdlib = !is_user_decl(e, blk)};
    /* The instance name: `name = "fc1"` or the block name and a per-frame count. */
    const char *inst = NULL;
    int eval_mode = 0;   /* `training = false` on a section's model in a step (elab_steps.c) */
    const char *ema_of = NULL;   /* `ema_of = "student"`, `ema_decay = 0.996` (elab_ema.c) */
    double ema_decay = -1;
    int nf = blk->n_formals;
    value *actual = ARENA_NEW_ARRAY(e->a, value, nf + 1);
    src_loc *aloc = ARENA_NEW_ARRAY(e->a, src_loc, nf + 1);
    int ok = 1;
    if (npos > nf) {
        diag_error(e->d, pos[nf].loc, "too many arguments to '%s' (it takes %d)", blk->name, nf);
        diag_note(e->d, blk->name_loc, "'%s' is defined here", blk->name);
        return v_error();
    }
    for (int i = 0; i < npos; i++) {
        actual[i] = pos[i];
        aloc[i] = call && i < call->n_args ? call->args[i].loc : loc;
    }
    for (int k = 0; k < nkw; k++) {
        src_loc kl = call ? call->args[npos + k].loc : loc;
        if (strcmp(kw_names[k], "training") == 0 && !has_formal(blk, "training")) {
            if (!step_training_option(e, blk, &kw[k], kl, &eval_mode)) ok = 0;
            continue;
        }
        if ((!strcmp(kw_names[k], "ema_of") || !strcmp(kw_names[k], "ema_decay")) && !has_formal(blk, kw_names[k])) {
            if (!ema_option(e, kw_names[k], &kw[k], kl, &ema_of, &ema_decay)) ok = 0;
            continue;
        }
        if (strcmp(kw_names[k], "name") == 0) {
            /* It becomes part of parameter names: checkpoint keys, C comments
             * and identifiers. PyTorch's alphabet keeps all three safe. */
            size_t bad = kw[k].kind == V_STR ? strspn(kw[k].s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                "0123456789_.-") : 0;
            if (kw[k].kind != V_STR) {
                diag_error(e->d, kl, "'name' must be a string");
                ok = 0;
            } else if (!kw[k].s[0] || kw[k].s[bad]) {
                diag_error(e->d, kl, "'name' must be non-empty and use only letters, digits, '_', '.' and '-'");
                ok = 0;
            } else {
                inst = kw[k].s;
            }
            continue;
        }
        int found = -1;
        for (int i = 0; i < nf; i++)
            if (strcmp(blk->formals[i].name, kw_names[k]) == 0) found = i;
        if (found < 0) {
            const char *names[64];
            int n = 0;
            for (int i = 0; i < nf && n < 64; i++) names[n++] = blk->formals[i].name;
            report_unknown_arg(e, kl, blk->name, kw_names[k], names, n);
            ok = 0;
        } else if (actual[found].kind != V_NONE || found < npos) {
            diag_error(e->d, kl, "argument '%s' of '%s' given twice", kw_names[k], blk->name);
            ok = 0;
        } else {
            actual[found] = kw[k];
            aloc[found] = kl;
        }
    }
    if (!ok) return v_error();
    for (int i = 0; i < nf + 1; i++)
        if (actual[i].kind == V_ERROR) return v_error();
    /* A model called in a step's loss is one instance wherever it is called, in
     * a block of the loss too: its name is its whole prefix. */
    if (!inst) inst = blk->kind == AST_DECL_MODEL ? blk->name
                                                  : arena_printf(e->a, "%s%d", blk->name, next_instance(e, caller, blk->name));
    f.prefix = arena_printf(e->a, "%s%s.", blk->kind == AST_DECL_MODEL ? "" : caller->prefix, inst);
    if ((ema_of || ema_decay >= 0) && !ema_begin(e, ema_of, ema_decay, caller->prefix, f.prefix, loc)) return v_error();

    /* Compile-time arguments first (tensor shapes may mention them), then
     * tensors, unifying dimensions, then defaults. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < nf; i++) {
            const ast_formal *fm = &blk->formals[i];
            int is_tensor = fm->type && fm->type->kind == AST_TY_TENSOR;
            if (actual[i].kind == V_NONE || is_tensor != pass) continue;
            if (is_tensor) {
                const char *what = arena_printf(e->a, "argument '%s' of '%s'", fm->name, blk->name);
                if (!unify_tensor(e, &f, fm->type, &actual[i], what, aloc[i])) {
                    diag_note(e->d, fm->loc, "'%s' is declared here", fm->name);
                    return v_error();
                }
            } else if (!check_scalar_formal(e, fm, &actual[i], blk->name)) {
                return v_error();
            }
            frame_bind(e, &f, fm->name, actual[i]);
        }
    for (int i = 0; i < nf; i++) {
        const ast_formal *fm = &blk->formals[i];
        if (actual[i].kind != V_NONE) continue;
        if (!fm->default_value) {
            diag_error(e->d, loc, "missing argument '%s' in call to '%s'", fm->name, blk->name);
            diag_note(e->d, blk->name_loc, "'%s' is defined here", blk->name);
            return v_error();
        }
        value dv = eval_expr(e, &f, fm->default_value);
        if (!check_scalar_formal(e, fm, &dv, blk->name)) return v_error();
        frame_bind(e, &f, fm->name, dv);
    }
    e->depth++;
    int errors0 = e->d->n_errors;
    e->eval_calls += eval_mode;
    src_loc outer_site = e->user_site;
    if (!caller->in_stdlib) e->user_site = loc;
    int first_node = e->g ? e->g->n_nodes : 0;
    const char *outer_dst = e->ema_dst, *outer_src = e->ema_src;
    double outer_decay = e->ema_decay;
    int outer_failed = e->ema_failed;
    if (ema_of) {
        e->ema_dst = f.prefix, e->ema_src = arena_printf(e->a, "%s%s.", caller->prefix, ema_of);
        e->ema_decay = ema_decay, e->ema_failed = 0;
    }
    exec_body(e, &f, &blk->body);
    e->ema_dst = outer_dst, e->ema_src = outer_src, e->ema_decay = outer_decay, e->ema_failed = outer_failed;
    e->user_site = outer_site;
    e->eval_calls -= eval_mode;
    /* The user's call into the stdlib names the nodes its block made: the
     * generated C then points at a line of the user's file. Only this call
     * scans them (the stdlib calls no user code), so the cost stays linear. */
    if (!caller->in_stdlib && f.in_stdlib && e->g)
        for (int k = first_node; k < e->g->n_nodes; k++) {
            e->g->nodes[k]->site = loc;
            e->g->nodes[k]->site_block = blk->name;
        }
    e->depth--;
    /* An error inside the body points into the block (perhaps the stdlib):
     * say which call of the user's led there, innermost call first. */
    if (e->d->n_errors > errors0) {
        diag_note(e->d, loc, "in this call to '%s'", blk->name);
        return v_error();
    }
    if (!check_returns(e, &f, blk, loc)) return v_error();
    /* Results keep the call's location so later errors point at the call. */
    value r = f.ret;
    r.loc = loc;
    return eval_mode ? step_no_grad(e, r, f.prefix) : r;
}

/* ---- expressions ----------------------------------------------------------- */

int eval_call_args(elab *e, frame *f, const ast_expr *x, call_args *ca) {
    int n = x->n_args, err = 0;
    ca->pos = ARENA_NEW_ARRAY(e->a, value, n + 1);
    ca->kw = ARENA_NEW_ARRAY(e->a, value, n + 1);
    ca->kw_names = ARENA_NEW_ARRAY(e->a, const char *, n + 1);
    ca->kw_locs = ARENA_NEW_ARRAY(e->a, src_loc, n + 1);
    ca->npos = ca->nkw = 0;
    for (int i = 0; i < n; i++) {
        value v = eval_expr(e, f, x->args[i].value);
        if (v.kind == V_ERROR) err = 1;
        if (x->args[i].name) {
            ca->kw_names[ca->nkw] = x->args[i].name;
            ca->kw_locs[ca->nkw] = x->args[i].loc;
            ca->kw[ca->nkw++] = v;
        } else {
            ca->pos[ca->npos++] = v;
        }
    }
    return err ? -1 : 0;
}

/* torch.nn.init's in-place spelling of an initializer (orthogonal_,
 * kaiming_uniform_): a user porting a model writes it first. The name
 * without the '_', or NULL. */
static const char *torch_inplace_initializer(elab *e, const char *name) {
    size_t n = strlen(name);
    if (n < 2 || name[n - 1] != '_') return NULL;
    const char *stem = arena_strndup(e->a, name, n - 1);
    return is_initializer(stem) ? stem : NULL;
}

static value eval_call(elab *e, frame *f, const ast_expr *x) {
    const ast_decl *blk = find_block(e, x->name);
    if (!blk && !is_builtin(x->name) && !is_initializer(x->name)) {
        const char *s = suggest_name(e, f, x->name, 1);
        const char *torch = torch_inplace_initializer(e, x->name), *act = torch_only_activation(x->name);
        if (act)
            diag_error(e->d, x->loc, "unknown function '%s'\nhint: no builtin, but PyTorch's %s", x->name, act);
        else if (torch)
            diag_error(e->d, x->loc, "unknown function '%s'\nhint: PyTorch's nn.init.%s_ is the initializer %s() here, "
                       "without the '_': param w: f32[...] = %s(...)", x->name, torch, torch, torch);
        else if (s) diag_error(e->d, x->loc, "unknown function '%s'\nhint: did you mean '%s'?", x->name, s);
        else diag_error(e->d, x->loc, "unknown function '%s'", x->name);
        return v_error();
    }
    call_args ca;
    if (eval_call_args(e, f, x, &ca) != 0) return v_error();
    value *pos = ca.pos, *kw = ca.kw;
    const char **kwn = ca.kw_names;
    src_loc *kwl = ca.kw_locs;
    int npos = ca.npos, nkw = ca.nkw;
    /* In a pipeline the error should point at the stage, not the whole chain. */
    src_loc loc = x->loc;
    /* Top-level calls of a model body are its layers, for --summary. */
    int top = e->summary && f->decl && f->decl->kind == AST_DECL_MODEL && !is_initializer(x->name);
    int node0 = e->g->n_nodes, param0 = e->mod->n_params;
    value r;
    if (blk) r = call_block(e, f, blk, x, pos, npos, kwn, kw, nkw, loc);
    else if (npos == 0 && nkw == 0 && is_initializer(x->name)) /* `= zeros()`: the initializer, not a tensor of no size */
        return make_initializer(e, x->name, loc, pos, npos, kwn, kw, nkw, kwl);
    else if (!call_builtin(e, x->name, loc, pos, npos, kwn, kw, nkw, kwl, &r))
        return make_initializer(e, x->name, loc, pos, npos, kwn, kw, nkw, kwl);
    const value *first = r.kind == V_LIST && r.n > 0 ? &r.items[0] : &r;
    if (top && first->kind == V_TENSOR) {
        elab_layer l = {.type = x->name, .dtype = first->t->dtype, .shape = first->t->shape, .param_begin = param0,
                        .param_end = e->mod->n_params, .node_begin = node0, .node_end = e->g->n_nodes};
        l.name = x->name;
        if (blk) {
            /* the instance name is the prefix of the call's frame: recover it from the params' names,
             * or rebuild it from the counter (the call just incremented it) */
            const int *count = strmap_get(&f->counters, x->name);
            if (count) l.name = arena_printf(e->a, "%s%d", x->name, *count - 1);
            for (int k = 0; k < nkw; k++)
                if (strcmp(kwn[k], "name") == 0 && kw[k].kind == V_STR) l.name = kw[k].s;
        }
        ARENA_PUSH(e->a, e->summary->layers, e->summary->n_layers, e->summary->cap_layers, l);
    }
    return r;
}

static value arith_numbers(elab *e, ast_op op, value a, value b, src_loc loc) {
    ir_dim da, db;
    if ((a.kind == V_DIM || b.kind == V_DIM) && as_dim(&a, &da) && as_dim(&b, &db)) {
        if (op == AST_OP_MUL) {
            if (da.syms & db.syms) {
                diag_error(e->d, loc, "a dimension may contain the batch dimension only once (N*N is not supported)");
                return v_error();
            }
            return v_dim(ir_dim_mul(da, db), loc);
        }
        if (op == AST_OP_EQ) return v_bool(ir_dim_eq(da, db), loc);
        if (op == AST_OP_NE) return v_bool(!ir_dim_eq(da, db), loc);
        diag_error(e->d, loc, "only '*' and comparisons are defined on symbolic dimensions\nhint: in tensor arithmetic a "
                   "dimension is its run-time size (sum(l) / N); for a number made from one, such as N - 1, "
                   "write numel(x, axis = 0) - 1 (x any tensor whose axis 0 is N)");
        return v_error();
    }
    double x, y;
    if (!as_number(&a, &x) || !as_number(&b, &y)) {
        diag_error(e->d, loc, "operator '%s' is not defined for %s and %s", ast_op_name(op), v_describe(e, &a),
                   v_describe(e, &b));
        return v_error();
    }
    int ints = a.kind != V_FLOAT && b.kind != V_FLOAT;
    switch (op) {
    case AST_OP_ADD: return ints ? v_int(a.i + b.i, loc) : v_float(x + y, loc);
    case AST_OP_SUB: return ints ? v_int(a.i - b.i, loc) : v_float(x - y, loc);
    case AST_OP_MUL: return ints ? v_int(a.i * b.i, loc) : v_float(x * y, loc);
    case AST_OP_DIV:
        if (y == 0) {
            diag_error(e->d, loc, "division by zero in a compile-time expression");
            return v_error();
        }
        /* Integer division of ints stays an int when exact (2*units/2). */
        if (ints && a.i % b.i == 0) return v_int(a.i / b.i, loc);
        return v_float(x / y, loc);
    case AST_OP_FLOORDIV:
    case AST_OP_MOD:
        if (y == 0) {
            diag_error(e->d, loc, "%s by zero in a compile-time expression",
                       op == AST_OP_MOD ? "modulo" : "division");
            return v_error();
        }
        /* Python's rules: the quotient rounds toward -infinity and the
         * remainder takes the divisor's sign, so (k - 1) // 2 and i % n work
         * for negative operands as they do there. */
        if (ints) {
            int64_t q = a.i / b.i, r = a.i % b.i;
            if (r != 0 && ((r < 0) != (b.i < 0))) q--, r += b.i;
            return v_int(op == AST_OP_MOD ? r : q, loc);
        }
        if (op == AST_OP_FLOORDIV) return v_float(floor(x / y), loc);
        {
            double r = fmod(x, y);
            if (r != 0 && ((r < 0) != (y < 0))) r += y;
            return v_float(r, loc);
        }
    case AST_OP_POW: return v_float(pow(x, y), loc);
    case AST_OP_EQ: return v_bool(x == y, loc);
    case AST_OP_NE: return v_bool(x != y, loc);
    case AST_OP_LT: return v_bool(x < y, loc);
    case AST_OP_LE: return v_bool(x <= y, loc);
    case AST_OP_GT: return v_bool(x > y, loc);
    case AST_OP_GE: return v_bool(x >= y, loc);
    default: break;
    }
    diag_error(e->d, loc, "operator '%s' is not defined for numbers", ast_op_name(op));
    return v_error();
}

static value eval_binary(elab *e, frame *f, const ast_expr *x) {
    if (x->op == AST_OP_AND || x->op == AST_OP_OR) {
        value a = eval_expr(e, f, x->lhs);
        if (a.kind == V_ERROR) return a;
        if (a.kind != V_BOOL) {
            diag_error(e->d, x->lhs->loc, "'%s' needs compile-time bools, got %s", ast_op_name(x->op), v_describe(e, &a));
            return v_error();
        }
        if ((x->op == AST_OP_AND) != (a.i != 0)) return a; /* short-circuit */
        value b = eval_expr(e, f, x->rhs);
        if (b.kind == V_ERROR) return b;
        if (b.kind != V_BOOL) {
            diag_error(e->d, x->rhs->loc, "'%s' needs compile-time bools, got %s", ast_op_name(x->op), v_describe(e, &b));
            return v_error();
        }
        return b;
    }
    value a = eval_expr(e, f, x->lhs), b = eval_expr(e, f, x->rhs);
    if (a.kind == V_ERROR || b.kind == V_ERROR) return v_error();
    if (a.kind == V_STR && b.kind == V_STR && (x->op == AST_OP_EQ || x->op == AST_OP_NE))
        return v_bool((strcmp(a.s, b.s) == 0) == (x->op == AST_OP_EQ), x->loc);
    if (a.kind == V_STR && b.kind == V_STR && x->op == AST_OP_ADD) {
        if (elab_charge(e, x->loc, (int64_t)(strlen(a.s) + strlen(b.s)))) return v_error();
        return (value){.kind = V_STR, .s = arena_printf(e->a, "%s%s", a.s, b.s), .loc = x->loc};
    }
    if (a.kind == V_LIST && b.kind == V_LIST && x->op == AST_OP_ADD) { /* Python's list + list: outs = outs + [y] */
        if (elab_charge(e, x->loc, (int64_t)a.n + b.n)) return v_error();
        value l = v_list(e, a.n + b.n, x->loc);
        for (int k = 0; k < a.n + b.n; k++) l.items[k] = k < a.n ? a.items[k] : b.items[k - a.n];
        return l;
    }
    if (a.kind != V_TENSOR && b.kind != V_TENSOR) {
        if (x->op == AST_OP_MATMUL) {
            diag_error(e->d, x->loc, "'@' needs tensors, got %s and %s", v_describe(e, &a), v_describe(e, &b));
            return v_error();
        }
        return arith_numbers(e, x->op, a, b, x->loc);
    }
    /* x ** c with a compile-time exponent: cheaper, exact forms for the common cases. */
    double c;
    if (x->op == AST_OP_POW && a.kind == V_TENSOR && as_number(&b, &c)) {
        if (c == 1) return a;
        if (c == 2) return v_tensor(op_binary(e, OP_mul, a.t, a.t, x->loc), x->loc);
        if (c == 0.5) return v_tensor(op_unary(e, OP_sqrt, a.t, x->loc), x->loc);
    }
    ir_node *ta = as_tensor(e, a, x->lhs->loc), *tb = as_tensor(e, b, x->rhs->loc);
    if (!ta || !tb) return v_error();
    /* A comparison reads an i32 tensor (token ids, labels) as floats: `tokens == 0`
     * is the padding mask, as in PyTorch; ids below 2^24 compare exactly.
     * Arithmetic on i32 still needs cast_f32, which the shape rules ask for. */
    int cmp = x->op == AST_OP_LT || x->op == AST_OP_LE || x->op == AST_OP_GT || x->op == AST_OP_GE ||
              x->op == AST_OP_EQ || x->op == AST_OP_NE;
    if (cmp && ta->dtype == IR_I32) ta = op_unary(e, OP_cast_f32, ta, x->lhs->loc);
    if (cmp && tb->dtype == IR_I32) tb = op_unary(e, OP_cast_f32, tb, x->rhs->loc);
    if (!ta || !tb) return v_error();
    static const ir_opcode ops[] = {
        [AST_OP_ADD] = OP_add, [AST_OP_SUB] = OP_sub, [AST_OP_MUL] = OP_mul, [AST_OP_DIV] = OP_div,
        [AST_OP_POW] = OP_pow, [AST_OP_LT] = OP_lt, [AST_OP_LE] = OP_le, [AST_OP_GT] = OP_gt,
        [AST_OP_GE] = OP_ge, [AST_OP_EQ] = OP_eq,
    };
    switch (x->op) {
    case AST_OP_MATMUL: return v_tensor(op_matmul(e, ta, tb, x->loc), x->loc);
    case AST_OP_NE: {
        ir_node *eq = op_binary(e, OP_eq, ta, tb, x->loc);
        if (!eq) return v_error();
        return v_tensor(op_binary(e, OP_sub, op_scalar(e, 1.0, x->loc), eq, x->loc), x->loc);
    }
    case AST_OP_ADD: case AST_OP_SUB: case AST_OP_MUL: case AST_OP_DIV: case AST_OP_POW:
    case AST_OP_LT: case AST_OP_LE: case AST_OP_GT: case AST_OP_GE: case AST_OP_EQ:
        return v_tensor(op_binary(e, ops[x->op], ta, tb, x->loc), x->loc);
    case AST_OP_FLOORDIV:
    case AST_OP_MOD: {
        /* a // b = floor(a / b) and a % b = a - b * floor(a / b) (torch's
         * floor_divide and remainder); floor has a zero gradient, so the
         * remainder's gradient is 1 for a and -floor(a / b) for b, as torch's. */
        ir_node *q = op_unary(e, OP_floor, op_binary(e, OP_div, ta, tb, x->loc), x->loc);
        if (x->op == AST_OP_FLOORDIV) return v_tensor(q, x->loc);
        return v_tensor(op_binary(e, OP_sub, ta, op_binary(e, OP_mul, tb, q, x->loc), x->loc), x->loc);
    }
    default:
        diag_error(e->d, x->loc, "operator '%s' is not defined for tensors", ast_op_name(x->op));
        return v_error();
    }
}

static value eval_unary(elab *e, frame *f, const ast_expr *x) {
    value a = eval_expr(e, f, x->lhs);
    if (a.kind == V_ERROR) return a;
    switch (x->op) {
    case AST_OP_NOT:
        if (a.kind != V_BOOL) {
            diag_error(e->d, x->loc, "'not' needs a compile-time bool, got %s", v_describe(e, &a));
            return v_error();
        }
        return v_bool(!a.i, x->loc);
    case AST_OP_POS: return a;
    case AST_OP_NEG:
        if (a.kind == V_INT) return v_int(-a.i, x->loc);
        if (a.kind == V_FLOAT) return v_float(-a.f, x->loc);
        if (a.kind == V_TENSOR) return v_tensor(op_unary(e, OP_neg, a.t, x->loc), x->loc);
        break;
    default: break;
    }
    diag_error(e->d, x->loc, "operator '%s' is not defined for %s", ast_op_name(x->op), v_describe(e, &a));
    return v_error();
}

static value eval_expr_at(elab *e, frame *f, const ast_expr *x);

/* (ELAB_MAX_EXPR_DEPTH, elab_internal.h: the parser bounds parentheses, but
 * a left-associative chain (x + x + ..., x |> relu |> ..., x[...][...]) is
 * deep without any: each level costs this recursion about a kilobyte of
 * stack.) */

value eval_expr(elab *e, frame *f, const ast_expr *x) {
    if (e->expr_depth >= ELAB_MAX_EXPR_DEPTH) {
        diag_error(e->d, x->loc, "expression nested too deeply (more than %d levels)\n"
                   "hint: split it into several statements", ELAB_MAX_EXPR_DEPTH);
        return v_error();
    }
    e->expr_depth++;
    e->work++; /* checked by the statement (a statement's expressions are bounded by its text) */
    value v = eval_expr_at(e, f, x);
    e->expr_depth--;
    return v;
}

static value eval_expr_at(elab *e, frame *f, const ast_expr *x) {
    switch (x->kind) {
    case AST_INT: return v_int(x->ival, x->loc);
    case AST_FLOAT: return v_float(x->fval, x->loc);
    case AST_BOOL: return v_bool((int)x->ival, x->loc);
    case AST_STRING: return (value){.kind = V_STR, .s = x->sval, .loc = x->loc};
    case AST_NAME: {
        value v;
        if (frame_lookup(e, f, x->name, &v)) {
            if (v.kind != V_ERROR) v.loc = x->loc;
            return v;
        }
        /* `training`: true while elaborating the train step, false for inference. */
        if (strcmp(x->name, "training") == 0) return v_bool(elab_training(e), x->loc);
        /* `inf`: the float infinity (Python's math.inf), for masks: where(keep, 0.0, -inf). */
        if (strcmp(x->name, "inf") == 0) return v_float(INFINITY, x->loc);
        /* `pi`: the float 3.14159... (math.pi): a Gaussian's log(2.0 * pi), cos(pi * t) schedules. */
        if (strcmp(x->name, "pi") == 0) return v_float(3.14159265358979323846, x->loc);
        if (find_block(e, x->name) || is_builtin(x->name) || is_initializer(x->name) || strcmp(x->name, "accuracy") == 0 ||
            strcmp(x->name, "loss") == 0)
            return (value){.kind = V_FUNC, .s = x->name, .loc = x->loc};
        const char *s = suggest_name(e, f, x->name, 0);
        if (s) diag_error(e->d, x->loc, "unknown name '%s'\nhint: did you mean '%s'?", x->name, s);
        else diag_error(e->d, x->loc, "unknown name '%s'", x->name);
        return v_error();
    }
    case AST_LIST: {
        value l = v_list(e, x->n_items, x->loc);
        for (int i = 0; i < x->n_items; i++) {
            l.items[i] = eval_expr(e, f, x->items[i]);
            if (l.items[i].kind == V_ERROR) return v_error();
        }
        return l;
    }
    case AST_CALL: return eval_call(e, f, x);
    case AST_BINARY: return eval_binary(e, f, x);
    case AST_UNARY: return eval_unary(e, f, x);
    case AST_INDEX: return eval_index(e, f, x);
    case AST_MEMBER:
    case AST_SLICE: break;
    }
    if (x->kind == AST_MEMBER && (strcmp(x->name, "weight") == 0 || strcmp(x->name, "bias") == 0)) {
        /* emb.weight: a PyTorch port reaching into a layer for its weight (tying) */
        diag_error(e->d, x->loc, "member access is not supported yet: a layer's parameters are not values in the "
                   "model\nhint: to use a layer's weight elsewhere (an embedding tied to the output projection), "
                   "declare it with the same name: embedding(x, V, D, name = \"emb\") and dense(h, V, init = normal(), "
                   "name = \"emb\") are one emb.weight f32[V, D]; or declare the table yourself, param emb: f32[V, D] "
                   "= normal(), with take(emb, x) and h @ transpose(emb)");
        return v_error();
    }
    diag_error(e->d, x->loc, "member access is not supported yet");
    return v_error();
}

/* ---- models ---------------------------------------------------------------- */

/* The symbol a dimension name stands for, making it if it is new: the first
 * input's first dimension is the batch N (symbol 0), every other name a
 * further run-time symbol (T, ...) bounded at create time like N. -1 after
 * an error. */
static int model_symbol(elab *e, const ast_expr *dx, int first) {
    ir_module *m = e->mod;
    for (int k = 0; k < m->n_syms; k++)
        if (strcmp(m->syms[k].name, dx->name) == 0) return k;
    if (first && m->n_syms == 0) {
        m->syms[m->n_syms++] = (ir_symbol){.name = dx->name, .max = 0};
        return IR_SYM_N;
    }
    if (first) {
        diag_error(e->d, dx->loc, "all model inputs must share the batch dimension '%s'", m->syms[0].name);
        return -1;
    }
    if (m->n_syms >= IR_MAX_SYMS) {
        diag_error(e->d, dx->loc, "a model may have at most %d symbolic dimensions", IR_MAX_SYMS);
        return -1;
    }
    m->syms[m->n_syms] = (ir_symbol){.name = dx->name, .max = 0};
    return m->n_syms++;
}

/* One tensor input of a model: its first dimension is the batch symbol N; a
 * dimension that is a name with no compile-time value is a further run-time
 * symbol (`T` in `tokens: i32[N, T]`), shared by every input naming it. */
static int bind_tensor_input_as(elab *e, frame *f, const ast_formal *fm, ir_node *given) {
    const ast_type *t = fm->type;
    if (!t->has_shape) {
        diag_error(e->d, t->loc, "model input '%s' needs a shape, e.g. f32[N, 784]", fm->name);
        return 0;
    }
    ir_shape s = {.rank = t->rank};
    if (t->rank > IR_MAX_RANK) {
        diag_error(e->d, t->loc, "model input '%s' has rank %d; at most %d is supported", fm->name, t->rank, IR_MAX_RANK);
        return 0;
    }
    for (int d = 0; d < t->rank; d++) {
        const ast_expr *dx = t->dims[d];
        if (dx->kind == AST_NAME && !lookup(f, dx->name)) {
            int k = model_symbol(e, dx, d == 0);
            if (k < 0) return 0;
            frame_bind(e, f, dx->name, v_dim(ir_dim_sym(k), dx->loc));
            s.d[d] = ir_dim_sym(k);
            continue;
        }
        value dv = eval_expr(e, f, dx);
        if (dv.kind == V_ERROR) return 0;
        if (!as_dim(&dv, &s.d[d])) {
            diag_error(e->d, dx->loc, "a dimension must be an int, got %s", v_describe(e, &dv));
            return 0;
        }
        if (ir_dim_is_const(s.d[d]) && s.d[d].k <= 0) {
            diag_error(e->d, dx->loc, "model input dimension must be positive, got %lld\n"
                       "hint: tensors cannot have zero elements", (long long)s.d[d].k);
            return 0;
        }
        /* sizes derived from it (padding, convolution, chunks) are int64 sums: 2^63 - 1 overflowed them
         * (UBSan; tests/fuzz/mutate_dln.py) */
        if (ir_dim_is_const(s.d[d]) && s.d[d].k > INT32_MAX) {
            diag_error(e->d, dx->loc, "model input dimension %lld is more than 2147483647", (long long)s.d[d].k);
            return 0;
        }
        if (d > 0 && (s.d[d].syms & (1u << IR_SYM_N))) {
            diag_error(e->d, dx->loc, "the batch dimension '%s' may only be the first dimension of model input '%s'",
                       e->mod->syms[IR_SYM_N].name, fm->name);
            return 0;
        }
    }
    if (t->rank == 0 || !ir_dim_eq(s.d[0], ir_dim_sym(IR_SYM_N))) {
        diag_error(e->d, t->loc, "model input '%s' must start with the batch dimension, e.g. f32[N, ...]", fm->name);
        return 0;
    }
    if (!given && e->g->n_inputs >= ELAB_MAX_IO) {
        diag_error(e->d, fm->loc, "a model may take at most %d tensor inputs", ELAB_MAX_IO);
        return 0;
    }
    ir_node *in = given ? given : ir_input_node(e->g, fm->name, t->dtype == AST_DT_F32 ? IR_F32 : IR_I32, &s, fm->loc);
    frame_bind(e, f, fm->name, v_tensor(in, fm->loc));
    return 1;
}

int bind_tensor_input(elab *e, frame *f, const ast_formal *fm) { return bind_tensor_input_as(e, f, fm, NULL); }

/* Bind the model's arguments: scalars (which must have defaults) first, so
 * that `d: int = 64` sizes `x: f32[N, d]` wherever it is listed; then the
 * tensor inputs in order (graph inputs 0, 1, ...; or given[0], given[1], ...
 * when the body runs again on other tensors). */
static int bind_model_inputs(elab *e, frame *f, const ast_decl *model, ir_node *const *given) {
    for (int i = 0; i < model->n_formals; i++) {
        const ast_formal *fm = &model->formals[i];
        if (fm->type && fm->type->kind == AST_TY_TENSOR) continue;
        if (!fm->default_value) {
            diag_error(e->d, fm->loc, "model argument '%s' must be a tensor or have a default value", fm->name);
            return 0;
        }
        value dv = eval_expr(e, f, fm->default_value);
        if (dv.kind == V_ERROR || !check_scalar_formal(e, fm, &dv, model->name)) return 0;
        frame_bind(e, f, fm->name, dv);
    }
    for (int i = 0, k = 0; i < model->n_formals; i++) {
        const ast_formal *fm = &model->formals[i];
        if (fm->type && fm->type->kind == AST_TY_TENSOR && !bind_tensor_input_as(e, f, fm, given ? given[k++] : NULL))
            return 0;
    }
    if (e->g->n_inputs == 0) {
        diag_error(e->d, model->name_loc, "model '%s' takes no tensor input\nhint: e.g. model %s(x: f32[N, 784]) -> ...",
                   model->name, model->name);
        return 0;
    }
    return 1;
}

/* The model's outputs from its return value: one tensor (called `output`,
 * or the name its signature gives it), or several, named in the signature
 * `-> (logits: f32[N, T, V], h: f32[N, 256])`. Each starts with N. */
static int model_outputs(elab *e, const ast_decl *model, const value *ret, model_io *io) {
    const char *bn = e->mod->syms[IR_SYM_N].name;
    if (ret->kind == V_LIST) {
        int named = model->n_ret_types == ret->n;
        for (int i = 0; named && i < model->n_ret_types; i++) named = model->ret_types[i]->name != NULL;
        if (!named) {
            diag_error(e->d, model->name_loc, "model '%s' returns %d values: name them in its signature\n"
                       "hint: e.g. -> (logits: f32[%s, 10], hidden: f32[%s, 64]) and return logits, h",
                       model->name, ret->n, bn, bn);
            return 0;
        }
        if (ret->n > ELAB_MAX_IO) {
            diag_error(e->d, model->name_loc, "model '%s' has %d outputs; a model may have at most %d\n"
                       "hint: return several tensors of one shape as one output, stack([a, b, c], axis = 1)",
                       model->name, ret->n, ELAB_MAX_IO);
            return 0;
        }
    } else if (ret->kind != V_TENSOR) {
        diag_error(e->d, model->name_loc, "model '%s' must return one tensor, it returns %s", model->name,
                   v_describe(e, ret));
        return 0;
    }
    io->n_out = ret->kind == V_LIST ? ret->n : 1;
    for (int i = 0; i < io->n_out; i++) {
        const value *v = ret->kind == V_LIST ? &ret->items[i] : ret;
        const ast_type *rt = model->n_ret_types == io->n_out ? model->ret_types[i] : NULL;
        const char *name = rt && rt->name ? rt->name : "output";
        src_loc at = rt && rt->name ? rt->name_loc : model->name_loc;
        if (v->kind != V_TENSOR) {
            diag_error(e->d, at, "output '%s' of model '%s' must be a tensor, it is %s", name, model->name,
                       v_describe(e, v));
            return 0;
        }
        ir_node *t = v->t;
        if (t->shape.rank == 0 || !ir_dim_eq(t->shape.d[0], ir_dim_sym(IR_SYM_N))) {
            /* A value over the whole batch (a loss computed in the model) is the usual cause. */
            char hint[160] = "";
            if (t->shape.rank == 0)
                snprintf(hint, sizeof hint, "\nhint: outputs are per sample; return a value of the whole batch as "
                         "'zeros(%s) + v', one copy per sample", bn);
            if (io->n_out == 1)
                diag_error(e->d, model->name_loc, "model '%s' must return %s[%s, ...], it returns %s%s", model->name,
                           t->dtype == IR_I32 ? "i32" : "f32", bn, t_describe(e, t), hint);
            else
                diag_error(e->d, at, "output '%s' of model '%s' must start with the batch dimension %s, it is %s%s",
                           name, model->name, bn, t_describe(e, t), hint);
            return 0;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(io->out_names[j], name) == 0) {
                diag_error(e->d, at, "model '%s' has two outputs named '%s'", model->name, name);
                return 0;
            }
        for (int j = 0; j < e->g->n_inputs; j++)
            if (strcmp(e->g->inputs[j].name, name) == 0) {
                diag_error(e->d, at, "output '%s' of model '%s' has the name of an input", name, model->name);
                return 0;
            }
        io->out_names[i] = name;
        io->out[i] = t;
    }
    return 1;
}

/* Run the model body into e->g: its inputs (new graph inputs, or `given`)
 * and outputs into io. */
static int run_model(elab *e, const ast_decl *model, model_io *io, ir_node *const *given) {
    frame f = {.prefix = "", .decl = model};
    *io = (model_io){0};
    if (!bind_model_inputs(e, &f, model, given)) return 0;
    io->n_in = e->g->n_inputs;
    exec_body(e, &f, &model->body);
    if (!check_returns(e, &f, model, model->name_loc)) return 0;
    return model_outputs(e, model, &f.ret, io);
}

/* The model body again, on other tensors (adversarial training's attacked
 * batches): the same instance names, so the same parameters, and batch-norm
 * statistics chained after the first run's (e->updated). */
int rerun_model(elab *e, const ast_decl *model, ir_node *const *inputs, model_io *io) {
    return run_model(e, model, io, inputs);
}

static ir_graph *build_graph(elab *e, const ast_decl *model, const char *name, ir_mode mode, const ast_decl *train,
                             int label_is_class) {
    int errors = e->d->n_errors;
    e->g = ir_graph_new(e->mod, name, mode);
    e->next_stream = 0;
    e->updated = NULL;
    e->cap_updated = 0;
    model_io io;
    if (!run_model(e, model, &io, NULL) || e->d->n_errors > errors) return NULL;
    if (!train) {
        for (int i = 0; i < io.n_out; i++) ir_add_output(e->g, IR_OUT_VALUE, i, io.out_names[i], io.out[i]);
        /* carried state (e->carry_state): its assignments after the values, so value k is output k */
        for (int k = 0, j = 0; k < e->g->n_outputs; k++) {
            const ir_output o = e->g->outputs[k];
            if (o.kind != IR_OUT_VALUE) continue;
            memmove(&e->g->outputs[j + 1], &e->g->outputs[j], (size_t)(k - j) * sizeof o);
            e->g->outputs[j++] = o;
        }
        return e->g;
    }
    ir_node *loss = train_loss(e, train, &io, label_is_class);
    if (!loss || e->d->n_errors > errors) return NULL;
    if (mode == IR_MODE_EVAL)
        for (int i = 0; i < io.n_out; i++) ir_add_output(e->g, IR_OUT_VALUE, i, io.out_names[i], io.out[i]);
    ir_add_output(e->g, IR_OUT_LOSS, 0, "loss", loss);
    pass_attention(e->g); /* before autodiff, so the backward is the fused op's */
    if (mode == IR_MODE_TRAIN && ad_differentiate(e->g, loss, NULL, 0, e->d) != 0) return NULL;
    return e->g;
}

static int check_duplicates(elab *e, const ast_program *p) {
    int ok = 1;
    for (int i = 0; i < p->n_decls; i++)
        for (int j = 0; j < i; j++) {
            const ast_decl *a = p->decls[j], *b = p->decls[i];
            int same_space = (a->kind == AST_DECL_TRAIN) == (b->kind == AST_DECL_TRAIN);
            if (same_space && strcmp(a->name, b->name) == 0) {
                diag_error(e->d, b->name_loc, "redefinition of '%s'", b->name);
                diag_note(e->d, a->name_loc, "'%s' was first defined here", a->name);
                ok = 0;
            }
        }
    for (int i = 0; i < p->n_decls; i++) {
        const ast_decl *t = p->decls[i];
        if (t->kind != AST_DECL_TRAIN || is_multistep(t)) continue;
        int found = 0;
        for (int j = 0; j < p->n_decls; j++)
            if (p->decls[j]->kind == AST_DECL_MODEL && strcmp(p->decls[j]->name, t->name) == 0) found = 1;
        if (!found) {
            diag_error(e->d, t->name_loc, "train section for unknown model '%s'", t->name);
            ok = 0;
        }
    }
    return ok;
}

int elab_program(arena *a, diag_ctx *d, const ast_program *user, ast_program *const *lib, int n_lib,
                 elab_output *out) {
    elab e = {.a = a, .d = d, .user = user, .lib = lib, .n_lib = n_lib};
    out->mods = NULL;
    out->summaries = NULL;
    out->n_mods = 0;
    int cap = 0;
    if (!check_duplicates(&e, user)) return -1;
    /* User blocks shadow the stdlib's; within the stdlib the first file wins. */
    for (int i = 0; i < user->n_decls; i++)
        if (user->decls[i]->kind == AST_DECL_BLOCK) strmap_put(&e.user_blocks, a, user->decls[i]->name, (void *)user->decls[i]);
    for (int l = 0; l < n_lib; l++)
        for (int i = 0; i < lib[l]->n_decls; i++) {
            const ast_decl *d = lib[l]->decls[i];
            if (d->kind == AST_DECL_BLOCK && !strmap_get(&e.lib_blocks, d->name)) strmap_put(&e.lib_blocks, a, d->name, (void *)d);
        }
    for (int i = 0; i < user->n_decls; i++) {
        const ast_decl *model = user->decls[i];
        if (model->kind != AST_DECL_MODEL) continue;
        int errors = d->n_errors;
        /* The model's name prefixes every generated C symbol; "dl" would give
         * dl_init, the runtime's type, and dlnc_* are the generated entry points. */
        const char *mn = model->name;
        if (!strcmp(mn, "dl") || !strncmp(mn, "dl_", 3) || !strcmp(mn, "dlnc") || !strncmp(mn, "dlnc_", 5)) {
            diag_error(d, model->name_loc, "model name '%s' is reserved: 'dl', 'dlnc' and names starting 'dl_' or "
                       "'dlnc_' belong to the runtime and the generated entry points", mn);
            continue;
        }
        /* ... and <name>_create, _init, _free: names libraries a model links already define (a model
         * named acc ran libgomp's OpenACC acc_init, "libgomp: no device found") */
        static const struct {
            const char *name, *lib;
        } taken[] = {{"acc", "the OpenMP library's OpenACC acc_init, acc_create and acc_free"},
                     {"omp", "OpenMP's omp_free"},
                     {"pthread", "POSIX threads' pthread_create"},
                     {"sem", "POSIX semaphores' sem_init"},
                     {"timer", "POSIX timers' timer_create"},
                     {"thrd", "C11 threads' thrd_create"},
                     {"mtx", "C11 threads' mtx_init"},
                     {"cnd", "C11 threads' cnd_init"},
                     {"tss", "C11 threads' tss_create"},
                     {"png", "libpng's png_free"}};
        int clash = 0;
        for (size_t k = 0; k < sizeof taken / sizeof *taken && !clash; k++)
            if (!strcmp(mn, taken[k].name)) {
                diag_error(d, model->name_loc, "model name '%s' is reserved: its generated functions would replace %s"
                           "\nhint: name the model otherwise, e.g. '%s_net'", mn, taken[k].lib, mn);
                clash = 1;
            }
        if (clash) continue;
        e.mod = ir_module_new(a, model->name);
        const ast_decl *train = find_train_section(user, model->name);
        int label_is_class = 1;
        if (train) {
            train_config *tc = ARENA_NEW(a, train_config);
            if (train_config_build(&e, train, tc, &label_is_class) == 0) e.mod->train = tc;
        }
        elab_summary *sum = ARENA_NEW(a, elab_summary);
        e.summary = sum;
        e.carry_state = out->carry_state;
        e.mod->forward = build_graph(&e, model, "forward", IR_MODE_EVAL, NULL, 0);
        e.carry_state = 0;
        e.summary = NULL;
        if (e.mod->forward && train && d->n_errors == errors) {
            e.mod->eval_step = build_graph(&e, model, "eval_step", IR_MODE_EVAL, train, label_is_class);
            if (e.mod->eval_step)
                e.mod->train_step = build_graph(&e, model, "train_step", IR_MODE_TRAIN, train, label_is_class);
        }
        if (e.mod->train && d->n_errors == errors) groups_check(&e, e.mod->train);
        if (d->n_errors > errors) continue;
        int n = out->n_mods, cap2 = cap;
        ARENA_PUSH(a, out->mods, out->n_mods, cap, e.mod);
        ARENA_PUSH(a, out->summaries, n, cap2, *sum);
    }
    int n_models = out->n_mods;
    /* a model's own errors would repeat in every step calling it */
    for (int i = 0, clean = !d->n_errors; i < user->n_decls && clean; i++)
        if (user->decls[i]->kind == AST_DECL_TRAIN && is_multistep(user->decls[i]))
            elab_multistep(&e, user->decls[i], &out->mods, &out->n_mods, &cap);
    if (out->n_mods > n_models) {   /* step modules have no layer summary of their own */
        elab_summary *all = ARENA_NEW_ARRAY(a, elab_summary, out->n_mods);
        for (int k = 0; k < n_models; k++) all[k] = out->summaries[k];
        out->summaries = all;
    }
    return d->n_errors ? -1 : 0;
}
