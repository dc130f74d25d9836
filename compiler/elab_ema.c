/* elab_ema.c — a block called as the exponential moving average of another
 * call's parameters: `teacher = mlp(x, name = "teacher", ema_of = "student",
 * ema_decay = 0.996)` (BYOL's and DINO's target networks, MoCo's key encoder,
 * the EMA model of a whole network evaluated in its place).
 *
 * Inside such a call every `param` of the block (and of the blocks it calls)
 * becomes a non-trainable tensor under the call's own name, standing for the
 * parameter of the same relative name under `ema_of`'s prefix, which an
 * earlier call must have declared with the same shape. Its value in the
 * forward pass is
 *
 *     w = started ? teacher : stop_grad(student)        (the first step: a copy)
 *
 * and after each training step teacher takes ema_decay * w + (1 - ema_decay) *
 * student, both as the step read them (so one step behind an update after
 * opt.step(), as `update` always is). `started` is one buffer per call,
 * `<name>.ema_started`, set to 1 by the first step. The teacher's tensors get
 * no gradient and no optimizer state; a second call of the same EMA block in
 * one step reads the same w and updates nothing more. */
#include <string.h>

#include "elab_internal.h"

/* The parameter index of a buffer f32[shape] called `name` (created zero-initialized if new). */
static int ema_tensor(elab *e, const char *name, const ir_shape *shape, src_loc loc) {
    int idx = ir_module_find_param(e->mod, name);
    if (idx >= 0) return idx;
    ir_init zeros = {.kind = IR_INIT_ZEROS, .fan_in = 1, .fan_out = 1, .gain = 1};
    idx = ir_module_add_param(e->mod, name, *shape, zeros, 0, loc);
    e->mod->params[idx].site = e->user_site;
    return idx;
}

/* The value of `param` statement st of shape `shape` inside an EMA call (full name `full`). */
value ema_param(elab *e, const char *full, const ir_shape *shape, ir_init init, src_loc loc) {
    const char *rel = full + strlen(e->ema_dst);
    const char *src = arena_printf(e->a, "%s%s", e->ema_src, rel);
    int is = ir_module_find_param(e->mod, src);
    if (e->ema_failed) return v_error();   /* one error per call is enough */
    if (is < 0 || !ir_shape_eq(&e->mod->params[is].shape, shape)) {
        e->ema_failed = 1;
        char a[128], b[128];
        if (is < 0)
            diag_error(e->d, loc, "'%s' averages '%s', which no earlier call declared\nhint: call the online block "
                       "first, with name = \"%.*s\", then this one with ema_of = \"%.*s\"", full, src,
                       (int)strlen(e->ema_src) - 1, e->ema_src, (int)strlen(e->ema_src) - 1, e->ema_src);
        else
            diag_error(e->d, loc, "'%s' %s averages '%s', which is %s", full, ir_shape_str(a, sizeof a, IR_F32, shape,
                       e->mod), src, ir_shape_str(b, sizeof b, IR_F32, &e->mod->params[is].shape, e->mod));
        return v_error();
    }
    int it = ir_module_find_param(e->mod, full);
    if (it < 0) {
        it = ir_module_add_param(e->mod, full, *shape, init, 0, loc);
        e->mod->params[it].site = e->user_site;
    }
    ir_shape one = {.rank = 1, .d = {ir_dim_const(1)}};
    int started = ema_tensor(e, arena_printf(e->a, "%sema_started", e->ema_dst), &one, loc);
    ir_node *student = op_unary(e, OP_stop_grad, ir_param_node(e->g, is, loc), loc);
    ir_node *flag = op_binary(e, OP_gt, ir_param_node(e->g, started, loc), op_scalar(e, 0.5, loc), loc);
    ir_node *in[3] = {flag, ir_param_node(e->g, it, loc), student};
    ir_node *w = ir_add(e->g, e->d, loc, OP_where, in, 3, NULL);
    if (!w) return v_error();
    if (elab_training(e) && !(it < e->cap_updated && e->updated[it])) {   /* once per step */
        ir_node *avg = op_binary(e, OP_add, op_binary(e, OP_mul, op_scalar(e, e->ema_decay, loc), w, loc),
                                 op_binary(e, OP_mul, op_scalar(e, 1.0 - e->ema_decay, loc), student, loc), loc);
        elab_assign(e, it, avg);
        if (!(started < e->cap_updated && e->updated[started]))
            elab_assign(e, started, reshape_to(e, op_scalar(e, 1.0, loc), &one, loc));
    }
    return v_tensor(w, loc);
}

/* A call's `ema_of` (a string: the online call's name) or `ema_decay` (a number in
 * [0, 1)); 0 after an error. */
int ema_option(elab *e, const char *kw, const value *v, src_loc loc, const char **of, double *decay) {
    double x;
    if (!strcmp(kw, "ema_of")) {
        if (v->kind != V_STR || !v->s[0]) {
            diag_error(e->d, loc, "'ema_of' must be the name of the call whose parameters this one averages, e.g. "
                       "ema_of = \"student\"");
            return 0;
        }
        *of = v->s;
        return 1;
    }
    if (v->kind == V_BOOL || !as_number(v, &x) || !(x >= 0 && x < 1)) {
        diag_error(e->d, loc, "'ema_decay' must be a number in [0, 1), e.g. ema_decay = 0.996, got %s", v_describe(e, v));
        return 0;
    }
    *decay = x;
    return 1;
}

/* Checks a call's EMA options before its body runs; 0 after an error. */
int ema_begin(elab *e, const char *of, double decay, const char *caller_prefix, const char *prefix, src_loc loc) {
    if (!of || decay < 0) {
        diag_error(e->d, loc, "%s\nhint: an EMA copy of a block takes both: name = \"teacher\", ema_of = \"student\", "
                   "ema_decay = 0.996", of ? "'ema_of' needs 'ema_decay'" : "'ema_decay' needs 'ema_of'");
        return 0;
    }
    if (e->ema_dst) {
        diag_error(e->d, loc, "an EMA copy inside an EMA copy: its parameters already average '%s'", e->ema_src);
        return 0;
    }
    const char *src = arena_printf(e->a, "%s%s.", caller_prefix, of);
    if (!strcmp(src, prefix)) {
        diag_error(e->d, loc, "a call cannot average its own parameters: give it another name than ema_of = \"%s\"", of);
        return 0;
    }
    return 1;
}
