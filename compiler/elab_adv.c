/* elab_adv.c — adversarial training as a train-section option.
 *
 *   adversarial = fgsm(eps = 0.1, mix = 0.5)
 *   adversarial = pgd(eps = 0.1, alpha = 0.025, steps = 7, random_start = true, mix = 0.5)
 *   adversarial_input = image          (default: the attacked input is the data's image field)
 *
 * The option is expanded here, at elaboration, into the train step's loss
 * graph: the section's loss is evaluated again with the attacked input bound
 * to each perturbed batch, so any loss the section writes is attacked as it
 * is written (the model calls in it included), and PGD's k steps unroll into
 * k gradient steps of the IR. Each step's input is a stop_grad constant
 * (PyTorch's .detach()): the weight update is first order, and the attack
 * costs k + 1 forward/backward passes, not a Hessian.
 *
 * Only the training graph is attacked; the evaluation graphs keep the clean
 * loss, so the test loss and metrics a run prints are on clean data. The
 * clean loss is elaborated first in both, which keeps the random streams of
 * dropout in the loss numbered alike in the two (the attack's own streams
 * come after). Why the clean call also gives the first attack gradient
 * (without random start): that is the same value PyTorch's reference
 * computes, at one model call less per step. */
#include <math.h>
#include <string.h>

#include "autodiff.h"
#include "elab_internal.h"

enum { ADV_MAX_STEPS = 100 };   /* each step is a forward and backward pass in the step's graph */

static const argspec adv_spec[] = {{"eps", 1}, {"alpha", 0}, {"steps", 0}, {"random_start", 0},
                                   {"mix", 0}, {"min", 0}, {"max", 0}};
enum { A_EPS, A_ALPHA, A_STEPS, A_START, A_MIX, A_MIN, A_MAX, A_N };

static int adv_number(elab *e, const value *v, const char *fn, const char *what, double *out) {
    if (v->kind == V_NONE) return 1;
    if (v->kind == V_BOOL || !as_number(v, out) || !isfinite(*out)) {
        diag_error(e->d, v->loc, "'%s' of %s must be a finite number, got %s", what, fn, v_describe(e, v));
        return 0;
    }
    return 1;
}

static int adv_positive(elab *e, const value *v, const char *fn, const char *what, double x) {
    if (v->kind == V_NONE || x > 0) return 1;
    diag_error(e->d, v->loc, "'%s' of %s must be > 0, got %g\nhint: %s", what, fn, x,
               strcmp(what, "eps") == 0 ? "the perturbation's size in the input's units, e.g. eps = 0.1 for pixels in [0, 1]"
                                        : "the size of each step, e.g. alpha = 2.5 * eps / steps (Madry et al.)");
    return 0;
}

int adv_config_build(elab *e, const ast_setting *s, const ast_setting *input, adv_config *out) {
    *out = (adv_config){.kind = ADV_NONE};
    if (input && !s) {
        diag_error(e->d, input->key_loc, "'adversarial_input' without 'adversarial'\nhint: add adversarial = "
                   "fgsm(eps = 0.1) or pgd(eps = 0.1, alpha = 0.025)");
        return -1;
    }
    if (!s) return 0;
    const ast_expr *x = s->value;
    if (x->kind != AST_CALL || (strcmp(x->name, "fgsm") != 0 && strcmp(x->name, "pgd") != 0)) {
        diag_error(e->d, x->loc, "'adversarial' must be fgsm(...) or pgd(...)\nhint: adversarial = fgsm(eps = 0.1, "
                   "mix = 0.5) or pgd(eps = 0.1, alpha = 0.025, steps = 7)");
        return -1;
    }
    const char *fn = x->name;
    int pgd = fn[0] == 'p';
    frame f = {.prefix = ""};
    call_args ca;
    value a[A_N];
    if (eval_call_args(e, &f, x, &ca) != 0 ||
        bind_args(e, fn, x->loc, adv_spec, A_N, ca.pos, ca.npos, ca.kw_names, ca.kw, ca.nkw, ca.kw_locs, a) != 0)
        return -1;
    if (!pgd)
        for (int i = A_ALPHA; i <= A_START; i++)
            if (a[i].kind != V_NONE) {
                diag_error(e->d, a[i].loc, "fgsm does not take '%s'\nhint: fgsm is one step of size eps; "
                           "several steps are pgd(eps = ..., alpha = ..., steps = ...)", adv_spec[i].name);
                return -1;
            }
    if (pgd && a[A_ALPHA].kind == V_NONE) {
        diag_error(e->d, x->loc, "pgd needs 'alpha', the size of each attack step\nhint: e.g. alpha = 2.5 * eps / "
                   "steps (Madry et al.)");
        return -1;
    }
    adv_config c = {.kind = pgd ? ADV_PGD : ADV_FGSM, .steps = pgd ? 10 : 1, .random_start = pgd, .mix = 1.0,
                    .lo = 0.0, .hi = 1.0, .loc = x->loc};
    if (!adv_number(e, &a[A_EPS], fn, "eps", &c.eps) || !adv_positive(e, &a[A_EPS], fn, "eps", c.eps) ||
        !adv_number(e, &a[A_ALPHA], fn, "alpha", &c.alpha) || !adv_positive(e, &a[A_ALPHA], fn, "alpha", c.alpha) ||
        !adv_number(e, &a[A_MIX], fn, "mix", &c.mix) || !adv_number(e, &a[A_MIN], fn, "min", &c.lo) ||
        !adv_number(e, &a[A_MAX], fn, "max", &c.hi))
        return -1;
    if (!pgd) c.alpha = c.eps;
    if (!(c.mix > 0 && c.mix <= 1)) {
        diag_error(e->d, a[A_MIX].loc, "'mix' of %s must be in (0, 1], got %g\nhint: the trained loss is (1 - mix) * "
                   "clean + mix * attacked; mix = 1 trains on the attacked batch alone", fn, c.mix);
        return -1;
    }
    if (!(c.lo < c.hi)) {
        diag_error(e->d, a[A_MIN].kind != V_NONE ? a[A_MIN].loc : a[A_MAX].loc, "the data range of %s is empty: "
                   "min %g is not below max %g", fn, c.lo, c.hi);
        return -1;
    }
    if (a[A_STEPS].kind != V_NONE) {
        value st = int_like(&a[A_STEPS]);
        if (st.kind != V_INT || st.i < 1 || st.i > ADV_MAX_STEPS) {
            diag_error(e->d, a[A_STEPS].loc, "'steps' of pgd must be an int in [1, %d], got %s", ADV_MAX_STEPS,
                       v_describe(e, &a[A_STEPS]));
            return -1;
        }
        c.steps = (int)st.i;
    }
    if (a[A_START].kind != V_NONE) {
        if (a[A_START].kind != V_BOOL) {
            diag_error(e->d, a[A_START].loc, "'random_start' of pgd must be true or false, got %s",
                       v_describe(e, &a[A_START]));
            return -1;
        }
        c.random_start = (int)a[A_START].i;
    }
    if (input) {
        if (input->value->kind != AST_NAME) {
            diag_error(e->d, input->value->loc, "'adversarial_input' names the input the attack perturbs\nhint: e.g. "
                       "adversarial_input = image");
            return -1;
        }
        c.input = input->value->name;
        c.input_loc = input->value->loc;
    }
    *out = c;
    return 0;
}

int adv_input(elab *e, const adv_config *c, int n, int dflt) {
    int k = c->input ? -1 : dflt;
    for (int i = 0; i < n && k < 0; i++) {
        const ir_input *in = &e->g->inputs[i];
        if (strcmp(in->name, c->input) == 0 || (in->field && strcmp(in->field, c->input) == 0)) k = i;
    }
    src_loc at = c->input ? c->input_loc : c->loc;
    if (k < 0) {
        const char *list = "";
        for (int i = 0; i < n; i++) list = arena_printf(e->a, "%s%s%s", list, i ? ", " : "", e->g->inputs[i].name);
        diag_error(e->d, at, "the attack has no input '%s' to perturb\nhint: adversarial_input names one of %s",
                   c->input, list);
        return -1;
    }
    const ir_node *x = e->g->inputs[k].node;
    if (x->dtype != IR_F32 || x->shape.rank < 1 || !ir_dim_eq(x->shape.d[0], ir_dim_sym(IR_SYM_N))) {
        diag_error(e->d, at, "the attack perturbs '%s', which is %s; it needs an f32 input with the batch first "
                   "(an image)\nhint: adversarial training attacks a model's f32 input; name one with "
                   "adversarial_input = ...", e->g->inputs[k].name, t_describe(e, x));
        return -1;
    }
    return k;
}

/* clamp(x, lo, hi) with tensor or scalar bounds, as the builtin clamp does it. */
static ir_node *clamp_to(elab *e, ir_node *x, ir_node *lo, ir_node *hi, src_loc loc) {
    return op_binary(e, OP_minimum, op_binary(e, OP_maximum, x, lo, loc), hi, loc);
}

ir_node *adv_expand(elab *e, const adv_config *c, ir_node *x, ir_node *clean, adv_loss_at loss_at, void *ctx) {
    src_loc loc = c->loc;
    int errors = e->d->n_errors;
    ir_node *lo = op_scalar(e, c->lo, loc), *hi = op_scalar(e, c->hi, loc);
    ir_node *xa = x, *at = clean;   /* the current attacked batch and the loss there (NULL: not yet evaluated) */
    if (c->random_start) {   /* x + U[-eps, eps], in the data range */
        ir_attrs a = {.i = {e->next_stream++}};
        ir_attrs_set_shape(&a, 1, &x->shape);
        ir_node *u = ir_add(e->g, e->d, loc, OP_rand_uniform, NULL, 0, &a);
        ir_node *delta = op_binary(e, OP_mul, op_binary(e, OP_sub, op_binary(e, OP_mul, u, op_scalar(e, 2.0, loc), loc),
                                                        op_scalar(e, 1.0, loc), loc),
                                   op_scalar(e, c->eps, loc), loc);
        xa = op_unary(e, OP_stop_grad, clamp_to(e, op_binary(e, OP_add, x, delta, loc), lo, hi, loc), loc);
        at = NULL;
    }
    ir_node *x_lo = NULL, *x_hi = NULL;   /* PGD's eps-ball around the clean batch */
    if (c->kind == ADV_PGD) {
        x_lo = op_binary(e, OP_sub, x, op_scalar(e, c->eps, loc), loc);
        x_hi = op_binary(e, OP_add, x, op_scalar(e, c->eps, loc), loc);
    }
    for (int k = 0; k < c->steps; k++) {
        if (!at && !(at = loss_at(e, ctx, xa))) return NULL;
        ir_node *g = ad_grad_value(e->g, at, xa, e->d, loc);
        if (!g) return NULL;
        ir_node *next = op_binary(e, OP_add, xa, op_binary(e, OP_mul, op_scalar(e, c->alpha, loc),
                                                            op_unary(e, OP_sign, g, loc), loc), loc);
        if (x_lo) next = clamp_to(e, next, x_lo, x_hi, loc);
        xa = op_unary(e, OP_stop_grad, clamp_to(e, next, lo, hi, loc), loc);
        at = NULL;
        if (e->d->n_errors > errors || e->runaway) return NULL;
    }
    ir_node *attacked = loss_at(e, ctx, xa);
    if (!attacked || c->mix == 1.0) return attacked;
    return op_binary(e, OP_add, op_binary(e, OP_mul, op_scalar(e, 1.0 - c->mix, loc), clean, loc),
                     op_binary(e, OP_mul, op_scalar(e, c->mix, loc), attacked, loc), loc);
}

/* A one-model section (elab_train.c): the loss's frame binds the model's
 * outputs and inputs by name (`output`, `logits`, `x`, `image`); each
 * attacked batch runs the model body again and rebinds them, found once as
 * the bindings that hold the clean run's tensors. */
enum { ADV_MAX_BOUND = 32 };
typedef struct model_attack {
    const ast_decl *model;
    const ast_expr *loss;
    frame *f;
    int k, n_in;                         /* the attacked input among the model's n_in */
    binding *bound[ADV_MAX_BOUND];       /* the frame's names for the input and outputs ... */
    int which[ADV_MAX_BOUND];            /* ... -1: the attacked input, j >= 0: output j */
    int n_bound;
} model_attack;

static ir_node *model_loss_at(elab *e, void *ctx, ir_node *x) {
    model_attack *ma = ctx;
    ir_node *ins[ELAB_MAX_IO];
    for (int i = 0; i < ma->n_in; i++) ins[i] = e->g->inputs[i].node;
    ins[ma->k] = x;
    model_io io;
    if (!rerun_model(e, ma->model, ins, &io)) return NULL;
    for (int i = 0; i < ma->n_bound; i++) ma->bound[i]->v.t = ma->which[i] < 0 ? x : io.out[ma->which[i]];
    value v = eval_expr(e, ma->f, ma->loss);
    return v.kind == V_TENSOR ? v.t : NULL;
}

ir_node *adv_model_loss(elab *e, const ast_decl *t, frame *f, const ast_expr *loss, const model_io *io, int dflt,
                        ir_node *clean) {
    const adv_config *c = &e->mod->train->adv;
    int k = adv_input(e, c, io->n_in, dflt);
    if (k < 0) return NULL;
    if (e->g->mode != IR_MODE_TRAIN) return clean;
    model_attack ma = {.loss = loss, .f = f, .k = k, .n_in = io->n_in};
    for (int i = 0; i < e->user->n_decls && !ma.model; i++)
        if (e->user->decls[i]->kind == AST_DECL_MODEL && strcmp(e->user->decls[i]->name, t->name) == 0)
            ma.model = e->user->decls[i];
    ir_node *x = e->g->inputs[k].node;
    for (binding *b = f->vars; b && ma.n_bound < ADV_MAX_BOUND; b = b->next) {
        if (b->v.kind != V_TENSOR) continue;
        int w = b->v.t == x ? -1 : -2;
        for (int j = 0; j < io->n_out && w == -2; j++)
            if (b->v.t == io->out[j]) w = j;
        if (w == -2) continue;
        ma.bound[ma.n_bound] = b;
        ma.which[ma.n_bound++] = w;
    }
    return ma.model ? adv_expand(e, c, x, clean, model_loss_at, &ma) : NULL;
}
