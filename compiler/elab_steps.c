/* elab_steps.c — a train section over several models, stepped in turn (GANs).
 *
 *   train dcgan {
 *       models = [gen, disc]
 *       data   = fashion_mnist(batch = 64)
 *       step disc { loss = ...; optim = adam(lr = 2e-4); repeat = 1; clip = 0.01 }
 *       step gen  { loss = ...; optim = adam(lr = 2e-4) }
 *   }
 *
 * Each step becomes a module of its own, `<section>_<step>` (dcgan_disc),
 * whose train_step is the step: in its loss the section's models are
 * callable like blocks, each instance named after its model (so disc(image)
 * and disc(fake) share disc.* and the parameter names are the checkpoint's
 * `gen.*`, `disc.*`), and only the stepped model's parameters are trainable
 * there, so autodiff differentiates with respect to them alone and the
 * optimizer (the step's own, with its own state) updates nothing else. The
 * driver keeps the modules' copies of a parameter equal (runtime/steps.c).
 * Why modules rather than several train functions in one: every module
 * already has its optimizer state, schedule, checks and C interface, so a
 * step costs no new emission; the price is one copy of the parameters per
 * step and a copy of the stepped model's after each step (docs/design.md). */
#include <string.h>

#include "autodiff.h"
#include "passes.h"
#include "elab_internal.h"

static const char *const section_keys[] = {"models", "data", "epochs", "seed", "checkpoint", "augment",
                                           "optim", "optimizer", "sched", "schedule", "step", "adversarial",
                                           "adversarial_input", "init_from", "init_prefix", "init_into"};
static const char *const step_keys[] = {"loss", "optim", "optimizer", "sched", "schedule", "repeat", "clip",
                                        "adversarial", "adversarial_input"};

#define COUNT(a) ((int)(sizeof(a) / sizeof *(a)))

static int is_key(const char *k, const char *const *keys, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(k, keys[i]) == 0) return 1;
    return 0;
}

int is_multistep(const ast_decl *t) {
    for (int i = 0; i < t->n_settings; i++)
        if (strcmp(t->settings[i].key, "models") == 0 || t->settings[i].step) return 1;
    return 0;
}

static const ast_decl *find_model(const ast_program *p, const char *name) {
    for (int i = 0; i < p->n_decls; i++)
        if (p->decls[i]->kind == AST_DECL_MODEL && strcmp(p->decls[i]->name, name) == 0) return p->decls[i];
    return NULL;
}

static const ast_setting *sub_setting(const ast_setting *s, const char *key, const char *alias) {
    for (int i = 0; i < s->n_sub; i++)
        if (strcmp(s->sub[i].key, key) == 0 || (alias && strcmp(s->sub[i].key, alias) == 0)) return &s->sub[i];
    return NULL;
}

/* The first tensor input of a model. */
static const ast_formal *first_input(const ast_decl *m) {
    for (int i = 0; i < m->n_formals; i++)
        if (m->formals[i].type && m->formals[i].type->kind == AST_TY_TENSOR) return &m->formals[i];
    return NULL;
}

/* The data's primary field (`image`) as graph input 0, typed like the first
 * input of the section model that names it, else of the last model (the
 * discriminator, which takes the data); binds it and the batch size `N`. */
static int bind_primary(elab *e, frame *f, const ast_decl *const *models, int n, const char *field) {
    const ast_decl *by = models[n - 1];
    for (int i = 0; i < n; i++)
        if (first_input(models[i]) && strcmp(first_input(models[i])->name, field) == 0) by = models[i];
    const ast_formal *fm = first_input(by);
    if (!fm) return 0;
    frame scratch = {.prefix = ""};
    if (!bind_tensor_input(e, &scratch, fm)) return 0;
    ir_input *in = &e->g->inputs[0];
    in->name = field;
    in->node->name = field;
    frame_bind(e, f, field, v_tensor(in->node, fm->loc));
    for (int d = 0; d < fm->type->rank; d++) {
        value v;
        if (fm->type->dims[d]->kind == AST_NAME && frame_lookup(e, &scratch, fm->type->dims[d]->name, &v))
            frame_bind(e, f, fm->type->dims[d]->name, v);
    }
    return 1;
}

/* Does the loss reach a trainable parameter other than through stop_grad? */
static int reaches_trainable(const ir_graph *g, ir_node *loss) {
    int max_id = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->id > max_id) max_id = g->nodes[i]->id;
    unsigned char *seen = ARENA_NEW_ARRAY(g->mod->ar, unsigned char, max_id + 1);
    memset(seen, 0, (size_t)max_id + 1);
    ir_node **stack = ARENA_NEW_ARRAY(g->mod->ar, ir_node *, g->n_nodes + 1);
    int sp = 0;
    stack[sp++] = loss;
    seen[loss->id] = 1;
    while (sp) {
        ir_node *n = stack[--sp];
        if (n->op == OP_param && g->mod->params[n->a.param.index].trainable) return 1;
        if (n->op == OP_stop_grad) continue;
        for (int i = 0; i < n->nin; i++)
            if (n->in[i] && !seen[n->in[i]->id] && sp < g->n_nodes) {
                seen[n->in[i]->id] = 1;
                stack[sp++] = n->in[i];
            }
    }
    return 0;
}

/* The step's loss evaluated again with the attacked input rebound (elab_adv.c). */
typedef struct step_attack {
    frame *f;
    const char *name;     /* the attacked input's name in f */
    const ast_expr *loss;
} step_attack;

static ir_node *step_loss_at(elab *e, void *ctx, ir_node *x) {
    step_attack *sa = ctx;
    frame_bind(e, sa->f, sa->name, v_tensor(x, sa->loss->loc));
    value v = eval_expr(e, sa->f, sa->loss);
    return v.kind == V_TENSOR ? v.t : NULL;
}

/* One graph of a step module: forward (the loss per row, f32[N, 1]), eval_step or train_step. */
static ir_graph *step_graph(elab *e, const ast_decl *const *models, int n, const char *field, const ast_setting *step,
                            int label_is_class, const char *name, ir_mode mode, int forward) {
    int errors = e->d->n_errors;
    e->g = ir_graph_new(e->mod, name, mode);
    e->next_stream = 0;
    e->updated = NULL;
    e->cap_updated = 0;
    frame f = {.prefix = ""};
    if (!bind_primary(e, &f, models, n, field)) return NULL;
    const ast_setting *ls = sub_setting(step, "loss", NULL);
    if (train_step_fields(e, &f, ls->value, label_is_class, e->g->inputs[0].node)) return NULL;
    value v = eval_expr(e, &f, ls->value);
    if (v.kind == V_ERROR || e->d->n_errors > errors) return NULL;
    if (v.kind != V_TENSOR || v.t->dtype != IR_F32 || v.t->shape.rank != 0) {
        diag_error(e->d, ls->value->loc, "the loss must be a scalar f32[], got %s\nhint: reduce it, e.g. mean(...)",
                   v_describe(e, &v));
        return NULL;
    }
    if (mode == IR_MODE_EVAL) {   /* the forward's output, which eval_step also gives */
        ir_shape s = {.rank = 2, .d = {ir_dim_sym(IR_SYM_N), ir_dim_const(1)}};
        ir_attrs a = {0};
        ir_attrs_set_shape(&a, 0, &s);
        ir_node *rows = ir_add(e->g, e->d, ls->value->loc, OP_broadcast_to, &v.t, 1, &a);
        ir_add_output(e->g, IR_OUT_VALUE, 0, "loss", rows);
        if (forward) return e->g;
    }
    const adv_config *adv = &e->mod->train->adv;
    if (adv->kind != ADV_NONE) {   /* the attacked input: the image, or a field the loss reads */
        int k = adv_input(e, adv, e->g->n_inputs, 0);
        if (k < 0) return NULL;
        step_attack sa = {.f = &f, .name = e->g->inputs[k].name, .loss = ls->value};
        if (mode == IR_MODE_TRAIN && !(v.t = adv_expand(e, adv, e->g->inputs[k].node, v.t, step_loss_at, &sa)))
            return NULL;
    }
    ir_add_output(e->g, IR_OUT_LOSS, 0, "loss", v.t);
    if (mode != IR_MODE_TRAIN) return e->g;
    if (!reaches_trainable(e->g, v.t)) {
        diag_error(e->d, ls->value->loc, "the loss of step '%s' does not depend on the parameters of model '%s'\n"
                   "hint: call %s(...) in the loss, and not only inside stop_grad", step->step, step->step, step->step);
        return NULL;
    }
    pass_attention(e->g); /* before autodiff, so the backward is the fused op's */
    return ad_differentiate(e->g, v.t, NULL, 0, e->d) == 0 ? e->g : NULL;
}

/* repeat = k (an int >= 1) or clip = c (a number > 0). */
static int step_number(elab *e, const ast_setting *s, int integer, double *out) {
    frame f = {.prefix = ""};
    value v = eval_expr(e, &f, s->value);
    if (v.kind == V_ERROR) return 0;
    if ((integer && v.kind != V_INT) || !as_number(&v, out) || v.kind == V_BOOL || !(*out > 0) ||
        (integer && *out > 1000)) {
        diag_error(e->d, s->value->loc, "'%s' must be %s, got %s", s->key,
                   integer ? "an int in [1, 1000]" : "a number > 0", v_describe(e, &v));
        return 0;
    }
    return 1;
}

/* The section's settings that every step shares, then the step's own. */
static ast_decl *step_section(elab *e, const ast_decl *t, const ast_setting *step) {
    ast_decl *sd = ARENA_NEW(e->a, ast_decl);
    *sd = *t;
    sd->settings = ARENA_NEW_ARRAY(e->a, ast_setting, t->n_settings + step->n_sub + 1);
    sd->n_settings = 0;
    for (int i = 0; i < t->n_settings; i++) {
        const ast_setting *s = &t->settings[i];
        if (s->step || strcmp(s->key, "models") == 0) continue;
        const char *alias = !strcmp(s->key, "optim") ? "optimizer" : !strcmp(s->key, "optimizer") ? "optim"
                          : !strcmp(s->key, "sched") ? "schedule" : !strcmp(s->key, "schedule") ? "sched" : s->key;
        if (sub_setting(step, s->key, alias)) continue;   /* the step's own optimizer or schedule wins */
        sd->settings[sd->n_settings++] = *s;
    }
    for (int i = 0; i < step->n_sub; i++)
        if (strcmp(step->sub[i].key, "repeat") != 0 && strcmp(step->sub[i].key, "clip") != 0)
            sd->settings[sd->n_settings++] = step->sub[i];
    return sd;
}

/* The section's models: `models = [gen, disc]`, each a model of the file. */
static int section_models(elab *e, const ast_decl *t, const ast_decl **models) {
    const ast_setting *ms = NULL;
    for (int i = 0; i < t->n_settings; i++)
        if (strcmp(t->settings[i].key, "models") == 0) ms = &t->settings[i];
    if (!ms || ms->value->kind != AST_LIST || ms->value->n_items < 1) {
        diag_error(e->d, ms ? ms->value->loc : t->name_loc, "a train section with steps needs 'models = [...]', the "
                   "models it trains\nhint: e.g. models = [gen, disc]");
        return 0;
    }
    int n = ms->value->n_items;
    if (n > ELAB_MAX_IO) {
        diag_error(e->d, ms->value->loc, "a train section may train at most %d models", ELAB_MAX_IO);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        const ast_expr *x = ms->value->items[i];
        models[i] = x->kind == AST_NAME ? find_model(e->user, x->name) : NULL;
        if (!models[i]) {
            diag_error(e->d, x->loc, "'models' lists the models of this file, by name");
            return 0;
        }
        if (!first_input(models[i])) return 0;   /* its own elaboration reported it */
    }
    return n;
}

static int check_keys(elab *e, const ast_decl *t) {
    int ok = 1, steps = 0;
    for (int i = 0; i < t->n_settings; i++) {
        const ast_setting *s = &t->settings[i];
        steps += s->step != NULL;
        if (s->step && strcmp(s->key, "step") != 0) {
            diag_error(e->d, s->key_loc, "unknown block '%s' in a train section\nhint: write step %s { loss = ... }",
                       s->key, s->step);
            ok = 0;
        } else if (strcmp(s->key, "accumulate") == 0) {
            diag_error(e->d, s->key_loc, "a train section with steps has no 'accumulate': each step updates its model "
                       "every batch\nhint: gradient accumulation is a single model's setting; a larger batch gives "
                       "each step the mean gradient of more samples");
            ok = 0;
        } else if (!is_key(s->key, section_keys, COUNT(section_keys))) {
            diag_error(e->d, s->key_loc, "unknown setting '%s' in a train section with steps\nhint: the section takes "
                       "models, data, epochs, seed, checkpoint, augment, optim, sched, adversarial, init_from, "
                       "init_prefix, init_into and step blocks; each step takes loss, optim, sched, repeat, clip, adversarial", s->key);
            ok = 0;
        }
        for (int j = 0; s->step && j < s->n_sub; j++)
            if (!is_key(s->sub[j].key, step_keys, COUNT(step_keys)) || s->sub[j].step) {
                diag_error(e->d, s->sub[j].key_loc, "unknown step setting '%s'\nhint: a step takes loss, optim, "
                           "sched, repeat, clip, adversarial; to name part of the loss (one batch of fakes used "
                           "twice), compute the loss in a block, which may call the section's models", s->sub[j].key);
                ok = 0;
            }
        if (s->step && ok && !sub_setting(s, "loss", NULL)) {
            diag_error(e->d, s->step_loc, "step '%s' needs 'loss = ...'", s->step);
            ok = 0;
        }
    }
    if (ok && steps > DL_MAX_STEPS) {
        diag_error(e->d, t->name_loc, "train section '%s' has %d steps; at most %d are supported", t->name, steps,
                   DL_MAX_STEPS);
        ok = 0;
    }
    if (ok && !steps) {
        diag_error(e->d, t->name_loc, "train section '%s' lists models but has no step\nhint: add step NAME { loss = ... "
                   "} per model it updates", t->name);
        ok = 0;
    }
    return ok;
}

int elab_multistep(elab *e, const ast_decl *t, ir_module ***mods, int *n_mods, int *cap) {
    const ast_decl *models[ELAB_MAX_IO];
    int n = 0;
    if (!check_keys(e, t) || !(n = section_models(e, t, models))) return -1;
    for (int i = 0; i < t->n_settings; i++) {
        const ast_setting *step = &t->settings[i];
        if (!step->step) continue;
        int which = -1;
        for (int k = 0; k < n; k++)
            if (strcmp(models[k]->name, step->step) == 0) which = k;
        if (which < 0) {
            diag_error(e->d, step->step_loc, "step '%s' names no model of the section\nhint: a step is named after "
                       "the model it updates, one of 'models'", step->step);
            continue;
        }
        int errors = e->d->n_errors;
        train_config *tc = ARENA_NEW(e->a, train_config);
        e->mod = ir_module_new(e->a, arena_printf(e->a, "%s_%s", t->name, step->step));
        int label_is_class = 1;
        if (train_config_build(e, step_section(e, t, step), tc, &label_is_class) != 0) continue;
        if (tc->cfg.sched.kind == DL_SCHED_PLATEAU) {
            diag_error(e->d, t->name_loc, "a train section with steps has no validation loss to watch: "
                       "'plateau' is for a single model\nhint: a step may use step(...), cosine(...) or poly(...)");
            return -1;
        }
        const char *kind = tc->cfg.data.kind ? tc->cfg.data.kind : "";
        if (!strcmp(kind, "text") || !strcmp(kind, "tokens") || !strcmp(kind, "seq2seq_task") || !strcmp(kind, "graph") || !strcmp(kind, "detection_canvas") ||
            !strcmp(kind, "sbm") || !strcmp(kind, "graphs")) {
            diag_error(e->d, t->name_loc, "a train section with steps reads image or csv data, not %s(...)", kind);
            return -1;
        }
        tc->section = t->name;
        tc->step = step->step;
        tc->repeat = 1;
        double x;
        const ast_setting *s;
        if ((s = sub_setting(step, "repeat", NULL)) && step_number(e, s, 1, &x)) tc->repeat = (int)x;
        if ((s = sub_setting(step, "clip", NULL)) && step_number(e, s, 0, &x)) tc->clip = (float)x;
        e->mod->train = tc;
        const char *field = train_primary_field(&tc->cfg.data);
        for (int k = 0; k < n; k++) strmap_put(&e->step_models, e->a, models[k]->name, (void *)models[k]);
        e->stepped = arena_printf(e->a, "%s.", step->step);
        e->mod->forward = step_graph(e, models, n, field, step, label_is_class, "forward", IR_MODE_EVAL, 1);
        if (e->mod->forward) e->mod->eval_step = step_graph(e, models, n, field, step, label_is_class, "eval_step", IR_MODE_EVAL, 0);
        if (e->mod->eval_step) e->mod->train_step = step_graph(e, models, n, field, step, label_is_class, "train_step", IR_MODE_TRAIN, 0);
        e->step_models = (strmap){0};
        e->stepped = NULL;
        if (e->d->n_errors > errors || !e->mod->train_step) continue;
        ARENA_PUSH(e->a, *mods, *n_mods, *cap, e->mod);
    }
    return e->d->n_errors ? -1 : 0;
}

/* `teacher(x, training = false)`: a section's model called in evaluation mode
 * inside a step's loss, as PyTorch's `teacher.eval()` under `torch.no_grad()`
 * (distillation). The option belongs to the call, not to the model, because
 * one model may be called both ways in one loss; `true` is the default. */
int step_training_option(elab *e, const ast_decl *blk, const value *v, src_loc loc, int *eval_mode) {
    if (blk->kind != AST_DECL_MODEL || strmap_get(&e->step_models, blk->name) != blk) {
        diag_error(e->d, loc, "'training = ...' is an option of a section's model called in a step's loss, and "
                   "'%s' is not one\nhint: a block sees `training` as its caller does; to give it a mode, declare "
                   "an argument, e.g. block %s(..., train: bool)", blk->name, blk->name);
        return 0;
    }
    if (v->kind != V_BOOL) {
        diag_error(e->d, loc, "'training' must be true or false, got %s\nhint: training = false calls the "
                   "model in evaluation mode, as PyTorch's model.eval() under torch.no_grad()", v_describe(e, v));
        return 0;
    }
    *eval_mode = !v->i;
    return 1;
}

/* Only another model's results are cut: the stepped model called in
 * evaluation mode still learns through that call (PyTorch: `model.eval()`
 * without no_grad). Its parameters are constants of this step anyway, but its
 * input may carry the stepped model's gradient, which torch.no_grad() drops. */
value step_no_grad(elab *e, value r, const char *prefix) {
    if (e->stepped && strcmp(prefix, e->stepped) == 0) return r;
    if (r.kind == V_TENSOR && r.t->dtype == IR_F32) return v_tensor(op_unary(e, OP_stop_grad, r.t, r.loc), r.loc);
    if (r.kind != V_LIST) return r;
    value out = r;
    out.items = ARENA_NEW_ARRAY(e->a, value, r.n + 1);
    for (int i = 0; i < r.n; i++) out.items[i] = step_no_grad(e, r.items[i], prefix);
    return out;
}
