/* elab_scan.c — the `scan` statement: a loop over axis 1 of its sequences.
 *
 *     hs = scan xt in gx carry h, c {      # gx: f32[N, T, 4H]; h, c bound before
 *         ...                              # xt: f32[N, 4H], one step
 *         h = ...                          # the carries' new values
 *         yield h                          # stacked: hs is f32[N, T, H]
 *     }                                    # afterwards h, c hold the final state
 *
 * The body is elaborated ONCE into a graph of its own (ir_module.bodies): its
 * parameters exist once, so they are shared by every step by construction,
 * and the outer graph holds one OP_scan node (ops_scan.h) whatever T is.
 * Names bound outside the body are visible in it; a tensor among them becomes
 * a body input (a capture) the first time the body reads it, and so does
 * every parameter the body declares or uses, so the body is a pure function
 * of its inputs and reverse mode can treat all of them alike. Names the body
 * binds stay inside it, except the carries. */
#include <string.h>

#include "elab_internal.h"
#include "ops_scan.h"

static int capture_slot(elab *e, scan_ctx *c, ir_node *outer, const char *name, ir_node **out) {
    for (int i = 0; i < c->n_captured; i++)
        if (c->captured[i] == outer) return *out = c->as_input[i], 1;
    if (c->n_captured >= (int)(sizeof c->captured / sizeof *c->captured)) {
        if (!e->runaway) diag_error(e->d, outer->loc, "a scan body may read at most %d tensors from outside it",
                                    (int)(sizeof c->captured / sizeof *c->captured));
        return 0;
    }
    ir_node *in = ir_input_node(c->body, name ? name : "captured", outer->dtype, &outer->shape, outer->loc);
    c->captured[c->n_captured] = outer;
    c->as_input[c->n_captured++] = in;
    *out = in;
    return 1;
}

/* outer (a node of the graph at `level`) as a node of scan c's body. */
static ir_node *capture_node(elab *e, scan_ctx *c, ir_node *outer, int level, const char *name) {
    if (!c || c->level <= level) return outer;
    outer = capture_node(e, c->parent, outer, level, name);
    ir_node *in;
    return outer && capture_slot(e, c, outer, name, &in) ? in : NULL;
}

value scan_capture(elab *e, value v, int level, const char *name) {
    if (v.kind == V_TENSOR) {
        ir_node *t = capture_node(e, e->scan, v.t, level, name);
        return t ? v_tensor(t, v.loc) : v_error();
    }
    if (v.kind == V_LIST) {
        value l = v_list(e, v.n, v.loc);
        for (int i = 0; i < v.n; i++) l.items[i] = scan_capture(e, v.items[i], level, name);
        return l;
    }
    return v;
}

void exec_yield(elab *e, frame *f, const ast_stmt *st) {
    scan_ctx *c = e->scan;
    if (!c || c->frame != f) {
        diag_error(e->d, st->loc, "'yield' outside a scan body\nhint: yield gives a scan's per-step results: "
                   "ys = scan xt in xs carry h { ...; yield h }");
        return;
    }
    if (c->yields.kind != V_NONE) {
        diag_error(e->d, st->loc, "a second 'yield' in this scan body");
        diag_note(e->d, c->yield_loc, "the first is here");
        return;
    }
    value l = v_list(e, st->n_values, st->loc);
    for (int i = 0; i < st->n_values; i++) l.items[i] = eval_expr(e, f, st->values[i]);
    c->yields = l;
    c->yield_loc = st->loc;
}

/* [N, T, ...] without axis 1. */
static ir_shape step_shape(const ir_shape *s) {
    ir_shape r = {.rank = s->rank - 1};
    r.d[0] = s->d[0];
    for (int i = 2; i < s->rank; i++) r.d[i - 1] = s->d[i];
    return r;
}

/* Every parameter node of the body becomes an input fed by the parameter's
 * node in the outer graph (in place, so the body's order stays valid). */
static int lift_params(elab *e, scan_ctx *c) {
    ir_graph *b = c->body;
    for (int i = 0; i < b->n_nodes; i++) {
        ir_node *n = b->nodes[i];
        if (n->op != OP_param) continue;
        if (c->n_captured >= (int)(sizeof c->captured / sizeof *c->captured)) {
            diag_error(e->d, n->loc, "a scan body may read at most %d tensors from outside it",
                       (int)(sizeof c->captured / sizeof *c->captured));
            return 0;
        }
        int p = (int)n->a.param.index;
        c->captured[c->n_captured] = ir_param_node(c->outer, p, n->loc);
        c->as_input[c->n_captured++] = n;
        n->op = OP_input;
        n->a = (ir_attrs){.input = {.index = b->n_inputs}, .ni = 1};
        n->storage = IR_STORE_INPUT;
        n->name = e->mod->params[p].name;
        ir_input rec = {.name = n->name, .dtype = n->dtype, .shape = n->shape, .node = n};
        ARENA_PUSH(b->ar, b->inputs, b->n_inputs, b->cap_inputs, rec);
        if (p < b->cap_param_nodes) b->param_nodes[p] = NULL;
    }
    return 1;
}

/* A step runs with n as its only size: the body's kernels are called once per
 * step with the batch size and no other symbol. So a value the body computes
 * may not be sized by another run-time length — an encoder's S that the
 * decoder's loop attends over, say — even when the body reads such a tensor
 * from outside (a capture, kept whole, is fine). Reported once, at the scan,
 * before the C would fail to compile. */
static void body_sizes_check(elab *e, const ast_stmt *st, const ir_graph *body) {
    for (int i = 0; i < body->n_nodes; i++) {
        const ir_node *n = body->nodes[i];
        uint32_t other = ir_shape_numel(&n->shape).syms & ~(1u << IR_SYM_N);
        if (n->op == OP_input || !other) continue;
        int s = __builtin_ctz(other);
        const char *name = s < e->mod->n_syms && e->mod->syms[s].name ? e->mod->syms[s].name : "a run-time size";
        char tb[160];
        diag_error(e->d, st->loc, "a value computed in this scan body is sized by the run-time length '%s': %s\n"
                   "hint: a step knows only the batch size N; give '%s' a number in the model's input (e.g. "
                   "i32[N, 8]), or compute what depends on it before the scan", name,
                   ir_shape_str(tb, sizeof tb, n->dtype, &n->shape, e->mod), name);
        diag_note(e->d, n->loc, "computed here");
        return;
    }
}

void exec_scan(elab *e, frame *f, const ast_stmt *st) {
    const int nc = st->n_carries, ns = st->n_values;
    char tb[160], tb2[160];
    ir_node *seq[IR_MAX_LOOP_IN], *init[IR_MAX_LOOP_IN];
    int bad = 0;
    if (nc + ns > IR_MAX_LOOP_IN) {
        diag_error(e->d, st->loc, "a scan takes at most %d sequences and carries together, this one has %d", IR_MAX_LOOP_IN,
                   nc + ns);
        return;
    }
    for (int k = 0; k < ns; k++) {
        value v = eval_expr(e, f, st->values[k]);
        if (v.kind == V_ERROR) { bad = 1; continue; }
        if (v.kind != V_TENSOR || v.t->shape.rank < 2) {
            diag_error(e->d, st->values[k]->loc, "a scanned sequence must be a tensor [N, T, ...], got %s\nhint: the "
                       "loop runs over axis 1 (batch first)", v_describe(e, &v));
            bad = 1;
            continue;
        }
        seq[k] = v.t;
        /* seq[0] is unset when the first sequence was an error (reported already) */
        if (k > 0 && !bad && (!ir_dim_eq(seq[k]->shape.d[0], seq[0]->shape.d[0]) ||
                      !ir_dim_eq(seq[k]->shape.d[1], seq[0]->shape.d[1]))) {
            diag_error(e->d, st->values[k]->loc, "the sequences of a scan must agree in their first two dimensions, "
                       "got %s and %s", t_describe(e, seq[0]), t_describe(e, seq[k]));
            bad = 1;
        }
    }
    for (int k = 0; k < nc; k++) {
        value v;
        if (!frame_lookup(e, f, st->carries[k], &v)) {
            diag_error(e->d, st->carry_locs[k], "the carried name '%s' must have a value before the scan\nhint: give it "
                       "the initial state, e.g. %s = zeros(N, 64)", st->carries[k], st->carries[k]);
            bad = 1;
            continue;
        }
        if (v.kind == V_ERROR) { bad = 1; continue; }
        if (v.kind != V_TENSOR || v.t->dtype != IR_F32) {
            diag_error(e->d, st->carry_locs[k], "a carried state must be a float tensor, '%s' is %s", st->carries[k],
                       v_describe(e, &v));
            bad = 1;
            continue;
        }
        init[k] = v.t;
    }
    if (bad) goto unbind;

    scan_ctx c = {.parent = e->scan, .level = (e->scan ? e->scan->level : 0) + 1, .outer = e->g};
    c.body = ir_graph_new(e->mod, arena_printf(e->a, "scan_%d_%d", st->loc.line, st->loc.col), e->g->mode);
    frame body = {.prefix = f->prefix, .decl = f->decl, .in_stdlib = f->in_stdlib, .counters = f->counters};
    /* the body sees every name bound so far (oldest first, so the copies keep their order) */
    int nb = 0;
    for (binding *b = f->vars; b; b = b->next) nb++;
    binding **all = arena_alloc(e->a, sizeof *all * (size_t)(nb ? nb : 1));
    nb = 0;
    for (binding *b = f->vars; b; b = b->next) all[nb++] = b;
    for (int i = nb - 1; i >= 0; i--) {
        frame_bind(e, &body, all[i]->name, all[i]->v);
        ((binding *)strmap_get(&body.var_index, all[i]->name))->level = all[i]->level;
    }
    c.frame = &body;
    e->scan = &c;
    e->g = c.body;
    for (int k = 0; k < nc; k++)
        frame_bind(e, &body, st->carries[k], v_tensor(ir_input_node(c.body, st->carries[k], IR_F32, &init[k]->shape,
                                                                    st->carry_locs[k]), st->carry_locs[k]));
    for (int k = 0; k < ns; k++) {
        ir_shape s1 = step_shape(&seq[k]->shape);
        frame_bind(e, &body, st->scan_vars[k], v_tensor(ir_input_node(c.body, st->scan_vars[k], seq[k]->dtype, &s1,
                                                                      st->scan_var_locs[k]), st->scan_var_locs[k]));
    }
    int errors = e->d->n_errors;
    exec_body(e, &body, &st->body);
    if (body.returned) diag_error(e->d, st->loc, "'return' inside a scan body\nhint: the body ends with yield; return after the scan");
    /* the results: new carries, then the yields */
    ir_node *outs[2 * IR_MAX_LOOP_IN];
    int ny = c.yields.kind == V_LIST ? c.yields.n : 0;
    if (ny != st->n_targets && e->d->n_errors == errors) {
        if (st->n_targets && !ny)
            diag_error(e->d, st->loc, "this scan is assigned to %d name%s but its body yields nothing\nhint: end the "
                       "body with yield", st->n_targets, st->n_targets == 1 ? "" : "s");
        else
            diag_error(e->d, st->n_targets ? st->loc : c.yield_loc, "the scan body yields %d value%s but %d name%s "
                       "receive%s them", ny, ny == 1 ? "" : "s", st->n_targets, st->n_targets == 1 ? "" : "s",
                       st->n_targets == 1 ? "s" : "");
    }
    for (int k = 0; k < nc && e->d->n_errors == errors; k++) {
        value v;
        frame_lookup(e, &body, st->carries[k], &v);
        if (v.kind == V_ERROR) continue;
        if (v.kind != V_TENSOR || v.t->dtype != IR_F32 || !ir_shape_eq(&v.t->shape, &init[k]->shape)) {
            diag_error(e->d, st->carry_locs[k], "the carried state '%s' must keep its type through the scan body: "
                       "%s before, %s after", st->carries[k], ir_shape_str(tb, sizeof tb, IR_F32, &init[k]->shape, e->mod),
                       v.kind == V_TENSOR ? ir_shape_str(tb2, sizeof tb2, v.t->dtype, &v.t->shape, e->mod)
                                          : v_describe(e, &v));
            continue;
        }
        outs[k] = v.t;
    }
    for (int j = 0; j < ny && e->d->n_errors == errors; j++) {
        value *v = &c.yields.items[j];
        if (v->kind == V_ERROR) continue;
        if (v->kind != V_TENSOR || v->t->dtype != IR_F32 || v->t->shape.rank < 1 ||
            !ir_dim_eq(v->t->shape.d[0], seq[0]->shape.d[0])) {
            diag_error(e->d, v->loc, "a yielded value must be a float tensor starting with the batch dimension, got %s",
                       v_describe(e, v));
            continue;
        }
        outs[nc + j] = v->t;
    }
    if (e->d->n_errors == errors) body_sizes_check(e, st, c.body);
    int ok = e->d->n_errors == errors && lift_params(e, &c);
    f->counters = body.counters;
    e->g = c.outer;
    e->scan = c.parent;
    if (!ok) goto unbind;
    if (nc + ns + c.n_captured > IR_MAX_LOOP_IN || 2 * nc + ns + ny + c.n_captured > IR_MAX_LOOP_IN) {
        diag_error(e->d, st->loc, "this scan reads %d values from outside its body and carries %d; at most %d "
                   "inputs fit a scan and its gradient (2 * carries + sequences + results + captures)",
                   c.n_captured, nc, IR_MAX_LOOP_IN);
        goto unbind;
    }
    for (int k = 0; k < nc; k++) ir_add_output(c.body, IR_OUT_VALUE, 0, st->carries[k], outs[k]);
    for (int j = 0; j < ny; j++)
        ir_add_output(c.body, IR_OUT_VALUE, 0, st->n_targets > j ? st->targets[j] : "yield", outs[nc + j]);
    ir_node *ins[IR_MAX_LOOP_IN];
    int nin = 0;
    for (int k = 0; k < nc; k++) ins[nin++] = init[k];
    for (int k = 0; k < ns; k++) ins[nin++] = seq[k];
    for (int k = 0; k < c.n_captured; k++) ins[nin++] = c.captured[k];
    int bi = ir_module_add_body(e->mod, c.body);
    ir_node *scan = scan_build(e->g, bi, ins, nin, nc, ns, ny, 0, st->reverse);
    scan->loc = st->loc;
    for (int k = 0; k < nc; k++) frame_bind(e, f, st->carries[k], v_tensor(scan_part(e->g, scan, k), st->carry_locs[k]));
    for (int j = 0; j < ny && j < st->n_targets; j++)
        frame_bind(e, f, st->targets[j], v_tensor(scan_part(e->g, scan, nc + j), st->target_locs[j]));
    return;
unbind:
    /* after an error every name the scan would have bound is an error value, reported once */
    for (int k = 0; k < nc; k++) frame_bind(e, f, st->carries[k], v_error());
    for (int j = 0; j < st->n_targets; j++) frame_bind(e, f, st->targets[j], v_error());
}
