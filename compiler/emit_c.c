/* emit_c.c — planned graphs to a C11 module: struct, API, step functions.
 *
 * Why this shape: the user of a compiled model wants a header that reads like
 * a small library (create / init / forward / train_step / save ...), and the
 * code behind it should be something a person can read and profile: one
 * static function per kernel (emit_kernels.c), and per graph one public
 * function that checks its arguments, names every buffer once
 * (`float *const t12 = act_n + 3 * m->max_batch;  /+ f32[N, 512] +/`), calls
 * the kernels in order and delivers the outputs.
 *
 * Memory: create() makes ONE allocation holding, in order, the parameters,
 * their gradients, the optimizer's state slots and the activation arena, so a
 * step allocates nothing. The arena's batch-sized class (pass_plan) comes
 * first — an offset `off` there means `off * max_batch` floats — and the
 * constant-size class after it; the three graphs of a module share the arena
 * (each graph's plan fits in max over graphs of each class). After the arena,
 * if any graph has STATIC values (pass_plan: computed from constants alone),
 * the statics region: each graph's own, filled by its first call under a bit
 * of m->statics_ready and never overwritten. At the end of each arena class,
 * a region per loop body (emit_scan.c).
 *
 * Graph conventions (from elaboration): forward: the model's inputs, one
 * IR_OUT_VALUE output per model output; eval_step: the model's inputs then
 * the data fields the loss reads (label), outputs VALUE + LOSS; train_step:
 * the same inputs, outputs LOSS, GRAD per trainable parameter, ASSIGN (state
 * updates applied after the step). emit_iface.c decides the C form: today's
 * (x, y, out, n) for one-input models, one argument per input, field, output
 * and symbol otherwise; a general model's arena has one class per symbol
 * mask, placed by create (m->cls_base, m->cls_unit). After the backward, train_step clips the
 * global gradient norm when optim.clip_norm > 0 and calls dl_optim_update
 * once per run of adjacent trainable parameters (usually once in all). With a train section's
 * accumulate = k > 1 the update (with its m->step++) sits inside `if (update)`:
 * dl_grads_accumulate sums the gradients in m->gacc and says when the k-th batch (or the
 * epoch's last) completes the group; state updates still run every batch. k = 1 emits
 * exactly the code without the setting. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emit_internal.h"
#include "passes.h"
#include "train.h"

typedef struct module_layout {
    int64_t *poff;      /* by param: offset in the parameter region */
    int64_t *goff;      /* by param: offset in the gradient region, -1 if not trainable */
    int64_t n_pfloats;  /* parameter region size */
    int64_t n_gfloats;  /* gradient region (and each optimizer slot) size */
    int64_t act_n;      /* batch-sized arena class, in units of max_batch */
    int64_t act_c;      /* constant-size arena class */
    int64_t *cls;       /* general models: by symbol mask, that class's size in units of its monomial */
    int64_t n_sfloats;  /* state buffers ([N, ...], ir_param.state) per sample; their poff is in these units */
    int64_t sbase[3];   /* by step function: where its STATIC values start in the statics region */
    int64_t n_statics;  /* the statics region: every step function's, one after another */
    emit_scan_regions scans; /* the loop bodies' regions, at the end of the batch-sized and constant classes */
    int n_table;        /* parameters in the tables (saved, loaded, initialized): all but the state */
    const decode_plan *decode; /* the forward graph runs incrementally (decode.h); NULL if it cannot, */
    const char *no_decode;     /* and then why */
    int cache_weights;  /* products by weights may keep them packed (dl_sgemm_w); not in exports */
} module_layout;

static int64_t align16(int64_t x) { return (x + 15) / 16 * 16; }

const char *emit_c_ident(arena *ar, const char *s)
{
    char *t = arena_strdup(ar, s ? s : "v");
    for (char *p = t; *p; p++)
        if (!isalnum((unsigned char)*p)) *p = '_';
    return t;
}

/* A C string literal with everything non-printable escaped. */
void emit_cstr(FILE *f, const char *s)
{
    if (!s) {
        fputs("NULL", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p < 32 || *p >= 127 || *p == '?') fprintf(f, "\\%03o", *p); /* '?': no trigraphs */
        else fputc(*p, f);
    }
    fputc('"', f);
}

static int64_t param_numel(const ir_param *p) { return ir_shape_numel(&p->shape).k; }

/* The train section's accumulate = k when k > 1 (the train step then sums its
 * gradients over k batches before the update), else 0: the step of every batch. */
static int emit_accumulate(const ir_module *m) { return m->train && m->train->cfg.accumulate > 1 ? m->train->cfg.accumulate : 0; }

/* The model has carried state: a `buffer` shaped [N, ...]. */
static int has_state(const ir_module *m)
{
    for (int i = 0; i < m->n_params; i++)
        if (m->params[i].state) return 1;
    return 0;
}


/* ---- names of values inside a step function ------------------------------ */

const char *emit_value_name(emit_ctx *c, const ir_node *n)
{
    switch (n->storage) {
    case IR_STORE_PARAM: {
        int i = (int)n->a.param.index;
        c->param_used[i] = 1;
        return arena_printf(c->ar, "p%d_%s", i, emit_c_ident(c->ar, c->mod->params[i].name));
    }
    case IR_STORE_INPUT:
        if (c->in_body) return arena_printf(c->ar, "in%d", (int)n->a.input.index);
        c->uses_in |= 1u << (n->a.input.index & 31);
        if (!c->legacy) return emit_in_name(c->ar, c->g, (int)n->a.input.index);
        return n->a.input.index == 0 ? "x" : "y";
    case IR_STORE_ALIAS: return emit_value_name(c, n->in[0]);
    default: return arena_printf(c->ar, "t%d", n->id);
    }
}

static const char *grad_name(emit_ctx *c, int i)
{
    return arena_printf(c->ar, "g%d_%s", i, emit_c_ident(c->ar, c->mod->params[i].name));
}

/* ---- per-graph step functions ------------------------------------------ */

typedef enum step_kind { STEP_FORWARD = EMIT_STEP_FORWARD, STEP_EVAL = EMIT_STEP_EVAL, STEP_TRAIN = EMIT_STEP_TRAIN } step_kind;

static const char *label_type(const ir_module *m)
{
    const ir_graph *gs[2] = {m->eval_step, m->train_step};
    for (int i = 0; i < 2; i++)
        if (gs[i] && gs[i]->n_inputs > 1) return gs[i]->inputs[1].dtype == IR_I32 ? "int32_t" : "float";
    return "int32_t";
}

static void step_signature(FILE *f, const ir_module *m, step_kind k)
{
    const char *p = m->name;
    if (!emit_legacy_api(m)) {
        static const char *const fn[] = {"void %s_forward(%s_model *m", "float %s_eval_step(%s_model *m",
                                         "float %s_train_step(%s_model *m"};
        fprintf(f, fn[k], p, p);
        emit_step_params(f, m, k, 0);
        fprintf(f, ")");
        return;
    }
    switch (k) {
    case STEP_FORWARD: fprintf(f, "void %s_forward(%s_model *m, const float *x, float *out, int64_t n)", p, p); break;
    case STEP_EVAL:
        fprintf(f, "float %s_eval_step(%s_model *m, const float *x, const %s *y, float *out, int64_t n)", p, p,
                label_type(m));
        break;
    case STEP_TRAIN:
        fprintf(f, "float %s_train_step(%s_model *m, const float *x, const %s *y, int64_t n)", p, p, label_type(m));
        break;
    }
}

static int emit_step(FILE *out, const ir_module *mod, const ir_graph *g, step_kind kind, const module_layout *L,
                     emit_share *share, int check_numerics, int profile, const decode_plan *dec, diag_ctx *d)
{
    static const char *const abbrev[] = {"fwd", "eval", "train"};
    const char *fail = kind == STEP_FORWARD ? "return;" : "return NAN;";
    const char *p = mod->name;
    const int legacy = emit_legacy_api(mod);
    if (!g) {
        step_signature(out, mod, kind);
        fprintf(out, "\n{\n");
        if (!legacy) {
            emit_step_voids(out, mod, kind);
        } else {
            fprintf(out, "    (void)m, (void)x, (void)n;\n");
            if (kind != STEP_FORWARD) fprintf(out, "    (void)y;\n");
            if (kind != STEP_TRAIN) fprintf(out, "    (void)out;\n");
        }
        fprintf(out, "    dl_set_error(\"%s has no %s function\");\n    %s\n}\n\n", p,
                kind == STEP_FORWARD ? "forward" : kind == STEP_EVAL ? "eval_step" : "train_step", fail);
        return 0;
    }

    emit_ctx c = {0};
    c.ar = mod->ar;
    c.mod = mod;
    c.g = g;
    c.d = d;
    c.prefix = p;
    c.fail_return = fail;
    c.share = share;
    c.legacy = legacy;
    c.scan_regions = &L->scans;
    /* forward returns nothing a caller could test, so it is never checked */
    if (check_numerics && kind != STEP_FORWARD)
        c.check_during = kind == STEP_TRAIN ? "train_step, step" : "eval_step after training step";
    c.kernel_prefix = arena_printf(mod->ar, "%s_%s", p, dec ? "dec" : abbrev[kind]);
    c.profile = profile;
    c.decode = dec;
    /* forward and eval_step read the weights as they are: their products may keep B packed */
    c.weights_cached = L->cache_weights && !dec && kind != STEP_TRAIN;
    c.param_used = arena_alloc(mod->ar, (size_t)(mod->n_params > 0 ? mod->n_params : 1));
    char *defs = NULL, *calls = NULL, *tail = NULL;
    size_t ldefs = 0, lcalls = 0, ltail = 0;
    c.defs = open_memstream(&defs, &ldefs);
    c.calls = open_memstream(&calls, &lcalls);
    FILE *t = open_memstream(&tail, &ltail);
    int errors_before = d->n_errors;
    /* the kernels of STATIC values: called under a once-only guard (pass_plan) */
    char *scalls = NULL;
    size_t lscalls = 0;
    FILE *statics = open_memstream(&scalls, &lscalls);

    /* by node id: a group root already computed in a conv's epilogue */
    unsigned char *in_epilogue = arena_alloc(mod->ar, (size_t)(g->next_id > 0 ? g->next_id : 1));
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        if (n->op == OP_scan) {
            emit_scan_loop(&c, n);
            continue;
        }
        if (n->storage != IR_STORE_ARENA && n->storage != IR_STORE_OUTPUT && n->storage != IR_STORE_STATIC) continue;
        if (n->op == OP_scan_part || (n->id < g->next_id && in_epilogue[n->id])) continue; /* written by its scan */
        if (n->storage == IR_STORE_STATIC) {
            FILE *step_calls = c.calls;
            c.calls = statics;
            emit_kernel(&c, n);
            c.calls = step_calls;
            continue;
        }
        /* (a checked build checks each kernel's output after its call: none may hide in an epilogue) */
        if (n->epilogue && n->epilogue->id < g->next_id && !c.check_during && emit_conv_epilogue(&c, n) == 1) {
            in_epilogue[n->epilogue->id] = 1;
            continue;
        }
        emit_kernel(&c, n);
    }

    /* Outputs. */
    int has_loss = 0, n_values = 0;
    for (int k = 0; k < g->n_outputs; k++) {
        const ir_output *o = &g->outputs[k];
        const ir_node *n = o->node;
        int direct = n->storage == IR_STORE_OUTPUT && n->offset == k;
        const char *src = direct ? NULL : emit_value_name(&c, n);
        const char *numel = emit_numel(&c, &n->shape);
        switch (o->kind) {
        case IR_OUT_VALUE: {
            if (kind == STEP_TRAIN) break;
            if (legacy && ++n_values > 1) {
                diag_error(d, n->loc, "the C emitter supports one value output per function");
                break;
            }
            const char *dst = legacy ? "out" : emit_out_name(c.ar, o->name);
            if (!direct)
                fprintf(t, "    %s%s%smemcpy(%s, %s, (size_t)%s * sizeof(float));\n", kind == STEP_EVAL ? "if (" : "",
                        kind == STEP_EVAL ? dst : "", kind == STEP_EVAL ? ") " : "", dst, src, numel);
            break;
        }
        case IR_OUT_LOSS:
            if (has_loss++) break;
            fprintf(t, "    const float loss = %s[0];\n", src ? src : emit_value_name(&c, n));
            break;
        case IR_OUT_GRAD:
            if (o->index < 0 || o->index >= mod->n_params || L->goff[o->index] < 0) {
                diag_error(d, n->loc, "gradient output for a parameter that is not trainable");
                break;
            }
            /* the gradient pointer is declared from the outputs; the parameter's own
             * pointer only if the step reads it (a parameter cut off from the loss
             * has a zero gradient and no use) */
            if (!direct)
                fprintf(t, "    memcpy(%s, %s, (size_t)%s * sizeof(float));\n", grad_name(&c, o->index), src, numel);
            break;
        case IR_OUT_ASSIGN: break; /* after the update, below */
        case IR_OUT_INPUT_GRAD:
            diag_error(d, n->loc, "the C emitter does not support gradients with respect to inputs as outputs yet");
            break;
        }
    }
    if (kind == STEP_TRAIN) {
        int ng = 0;
        for (int k = 0; k < g->n_outputs; k++) ng += g->outputs[k].kind == IR_OUT_GRAD;
        if (ng > 0) {
            /* the span of this step's gradients, summed over the ranks of a data-parallel run */
            int64_t lo = -1, hi = 0;
            for (int k = 0; k < g->n_outputs; k++) {
                const int pi = g->outputs[k].index;
                if (g->outputs[k].kind != IR_OUT_GRAD || pi < 0 || pi >= mod->n_params || L->goff[pi] < 0) continue;
                if (lo < 0 || L->goff[pi] < lo) lo = L->goff[pi];
                if (L->goff[pi] + param_numel(&mod->params[pi]) > hi) hi = L->goff[pi] + param_numel(&mod->params[pi]);
            }
            if (lo >= 0)
                fprintf(t, "\n    /* data-parallel runs: the gradients summed over the ranks */\n"
                           "    dl_grads_reduce(m->grads + %" PRId64 ", %" PRId64 ", %s);\n",
                        lo, hi - lo, has_loss ? "loss" : "NAN");
            const int accum = lo >= 0 ? emit_accumulate(mod) : 0;
            if (accum) {
                /* accumulate = k: the optimizer steps on the group's mean gradient, once every k batches */
                fprintf(t, "\n    /* gradient accumulation: the update once every %d batches, on their mean */\n"
                           "    const int update = dl_grads_accumulate(&m->gacc, &m->accum_n, &m->accum_close, m->grads + %" PRId64
                           ", %" PRId64 ", %d);\n    if (update < 0) return NAN;\n    if (update) {\n"
                           "    m->step++;\n",
                        accum, lo, hi - lo, accum);
            }
            fprintf(t, "\n    /* optimizer: clip the global gradient norm, then update the parameters */\n");
            fprintf(t, "    if (m->opt.clip_norm > 0.0f) {\n        float *const grads[] = {");
            int j = 0;
            for (int k = 0; k < g->n_outputs; k++)
                if (g->outputs[k].kind == IR_OUT_GRAD)
                    fprintf(t, "%s%s", j++ ? ", " : "", grad_name(&c, g->outputs[k].index));
            fprintf(t, "};\n        const int64_t sizes[] = {");
            j = 0;
            for (int k = 0; k < g->n_outputs; k++)
                if (g->outputs[k].kind == IR_OUT_GRAD)
                    fprintf(t, "%s%" PRId64, j++ ? ", " : "", param_numel(&mod->params[g->outputs[k].index]));
            fprintf(t, "};\n");
            fprintf(t, "        const double norm = dl_grad_norm(grads, sizes, %d);\n", ng);
            fprintf(t, "        if (norm > m->opt.clip_norm) {\n");
            fprintf(t, "            const float scale = (float)(m->opt.clip_norm / (norm + 1e-6));\n");
            fprintf(t, "            for (int k = 0; k < %d; k++)\n", ng);
            fprintf(t, "                for (int64_t i = 0; i < sizes[k]; i++) grads[k][i] *= scale;\n");
            fprintf(t, "        }\n    }\n");
            /* One call per run of consecutive updated parameters whose
             * parameter, gradient and state storage are each contiguous (the
             * layouts differ only where a non-trainable parameter sits): one
             * long loop instead of many short ones. The align16 padding in a
             * run is zero in all of them, and every optimizer keeps it zero. */
            unsigned char *upd = arena_alloc(c.ar, (size_t)(mod->n_params > 0 ? mod->n_params : 1));
            for (int k = 0; k < g->n_outputs; k++) {
                int pi = g->outputs[k].index;
                if (g->outputs[k].kind == IR_OUT_GRAD && pi >= 0 && pi < mod->n_params && L->goff[pi] >= 0) upd[pi] = 1;
            }
            /* LAMB's trust ratio takes the norms of each parameter tensor: one call each */
            const int per_tensor = mod->train && mod->train->cfg.optim.kind == DL_OPT_LAMB;
            for (int pi = 0; pi < mod->n_params; pi++) {
                if (!upd[pi]) continue;
                int last = pi;
                /* lr_scale (param_groups.h): a run shares one factor on the scheduled lr */
                const pg_groups *pg = mod->train ? &mod->train->groups : NULL;
                const float scale = pg_lr_scale(pg, mod->params[pi].name);
                while (!per_tensor && last + 1 < mod->n_params && upd[last + 1] &&
                       L->poff[last + 1] - L->goff[last + 1] == L->poff[pi] - L->goff[pi] &&
                       pg_lr_scale(pg, mod->params[last + 1].name) == scale)
                    last++;
                const int64_t len = L->poff[last] + param_numel(&mod->params[last]) - L->poff[pi];
                const char *lr = scale != 1.0f ? arena_printf(c.ar, "m->lr * %s", emit_float(&c, scale)) : "m->lr";
                const char *upd_call = arena_printf(c.ar, "dl_optim_update(&m->opt, %s, m->step, m->params + %" PRId64
                           ", m->grads + %" PRId64 ", m->m1 ? m->m1 + %" PRId64 " : NULL, m->m2 ? m->m2 + %" PRId64
                           " : NULL, %" PRId64 ");", lr, L->poff[pi], L->goff[pi], L->goff[pi], L->goff[pi], len);
                if (profile) fprintf(t, "    /* %s%s%s */\n", mod->params[pi].name, last > pi ? " .. " : "",
                                     last > pi ? mod->params[last].name : "");
                if (profile) emit_prof_optim(&c, t, pi, upd_call);
                else fprintf(t, "    %s /* %s%s%s */\n", upd_call, mod->params[pi].name, last > pi ? " .. " : "",
                             last > pi ? mod->params[last].name : "");
                pi = last;
            }
            fprintf(t, "    %s\n", EMIT_WEIGHTS_CHANGED);
            for (int pi = 0; c.check_during && pi < mod->n_params; pi++)
                if (upd[pi]) emit_check_param(&c, t, pi, L->poff[pi]);
            if (accum) fprintf(t, "    }\n");
        }
    }
    for (int k = 0; k < g->n_outputs; k++) {
        const ir_output *o = &g->outputs[k];
        if (o->kind != IR_OUT_ASSIGN) continue; /* (a forward has some only in `dlnc export`: carried state) */
        if (o->index < 0 || o->index >= mod->n_params) {
            diag_error(d, o->node->loc, "state update of a parameter that does not exist");
            continue;
        }
        if (k == 0 || g->outputs[k - 1].kind != IR_OUT_ASSIGN) fprintf(t, "\n    /* state updates */\n");
        c.param_used[o->index] = 1;
        fprintf(t, "    memmove(p%d_%s, %s, (size_t)%s * sizeof(float));\n", o->index,
                emit_c_ident(c.ar, mod->params[o->index].name), emit_value_name(&c, o->node),
                emit_numel(&c, &o->node->shape));
        if ((k + 1 == g->n_outputs || g->outputs[k + 1].kind != IR_OUT_ASSIGN) && kind != STEP_FORWARD)
            fprintf(t, "    %s\n", EMIT_WEIGHTS_CHANGED);
    }
    if (kind != STEP_FORWARD) fprintf(t, "    return %s;\n", has_loss ? "loss" : "0.0f");
    fclose(c.defs);
    fclose(c.calls);
    fclose(statics);
    fclose(t);

    /* Now that every reference is known, the declarations. */
    fputs(defs, out); /* kernels precede the function that calls them */
    free(defs);
    char *head = NULL;
    size_t lhead = 0;
    FILE *h = open_memstream(&head, &lhead);
    if (legacy) {
        if (!(c.uses_in & 1u)) fprintf(h, "    (void)x;\n");
        if (kind != STEP_FORWARD && !(c.uses_in & 2u)) fprintf(h, "    (void)y;\n");
    } else {
        for (int i = 0; i < g->n_inputs; i++)
            if (!(c.uses_in & (1u << i))) fprintf(h, "    (void)%s;\n", emit_in_name(c.ar, g, i));
        /* outputs are always written, symbols always checked */
    }
    /* (with accumulate = k the optimizer's step counts groups: it moves at the update, above) */
    if (kind == STEP_TRAIN && !emit_accumulate(mod)) fprintf(h, "    m->step++;\n");
    if (c.weights_cached_used || (L->cache_weights && emit_statics_read_params(g))) emit_weights_prologue(h);
    if (c.graph_uses_seed)
        fprintf(h, "    const uint64_t seed = m->seed ^ ((uint64_t)%s * UINT64_C(0x9E3779B97F4A7C15));\n",
                kind == STEP_TRAIN && emit_accumulate(mod)
                    ? arena_printf(c.ar, "(m->step * %d + m->accum_n + 1)", emit_accumulate(mod)) /* one per batch */
                    : "m->step");
    for (int i = 0; i < mod->n_params; i++)
        if (c.param_used[i]) {
            char shape[160];
            ir_shape_str(shape, sizeof shape, IR_F32, &mod->params[i].shape, mod);
            if (mod->params[i].state)
                fprintf(h, "    float *const p%d_%s = m->state + %" PRId64 " * m->max_batch; /* %s %s, carried state */\n",
                        i, emit_c_ident(c.ar, mod->params[i].name), L->poff[i], mod->params[i].name, shape);
            else
                fprintf(h, "    float *const p%d_%s = m->params + %" PRId64 "; /* %s %s */\n", i,
                        emit_c_ident(c.ar, mod->params[i].name), L->poff[i], mod->params[i].name, shape);
        }
    unsigned char *declared = arena_alloc(c.ar, (size_t)(mod->n_params > 0 ? mod->n_params : 1)); /* by param */
    for (int k = 0; k < g->n_outputs; k++) {
        int pi = g->outputs[k].index;
        if (g->outputs[k].kind != IR_OUT_GRAD || pi < 0 || pi >= mod->n_params || L->goff[pi] < 0 || declared[pi])
            continue;
        declared[pi] = 1;
        fprintf(h, "    float *const %s = m->grads + %" PRId64 ";\n", grad_name(&c, pi), L->goff[pi]);
    }
    int64_t cbase = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        char shape[160];
        ir_shape_str(shape, sizeof shape, n->dtype, &n->shape, mod);
        if (n->storage == IR_STORE_ARENA) {
            ir_dim sz = ir_shape_numel(&n->shape);
            /* i32 values (indices) live in the float arena: one cast here, none at the calls */
            const int i32 = n->dtype == IR_I32;
            fprintf(h, "    %s *const t%d = %s", i32 ? "int32_t" : "float", n->id, i32 ? "(int32_t *)(" : "");
            if (sz.syms && legacy) fprintf(h, "m->act + %" PRId64 " * m->max_batch", n->offset);
            else if (sz.syms)
                fprintf(h, "m->act + m->cls_base[%u] + %" PRId64 " * m->cls_unit[%u]", sz.syms, n->offset, sz.syms);
            else fprintf(h, "act_c + %" PRId64, n->offset), cbase = 1;
            fprintf(h, "%s;", i32 ? ")" : "");
            fprintf(h, " /* %s %s */\n", shape, ir_ops[n->op].name);
        } else if (n->storage == IR_STORE_STATIC) {
            const int i32 = n->dtype == IR_I32;
            fprintf(h, "    %s *const t%d = %sm->statics + %" PRId64 "%s; /* %s %s, computed once */\n",
                    i32 ? "int32_t" : "float", n->id, i32 ? "(int32_t *)(" : "", L->sbase[kind] + n->offset,
                    i32 ? ")" : "", shape, ir_ops[n->op].name);
        } else if (n->storage == IR_STORE_OUTPUT) {
            const ir_output *o = &g->outputs[n->offset];
            if (o->kind == IR_OUT_GRAD) fprintf(h, "    float *const t%d = %s;", n->id, grad_name(&c, o->index));
            else if (legacy) fprintf(h, "    float *const t%d = out;", n->id);
            else
                fprintf(h, "    %s *const t%d = %s;", n->dtype == IR_I32 ? "int32_t" : "float", n->id,
                        emit_out_name(c.ar, o->name));
            fprintf(h, " /* %s %s, written in place */\n", shape, ir_ops[n->op].name);
        }
    }
    if (dec) emit_decode_caches(h, mod, g, dec);
    fclose(h);
    if (dec) emit_decode_signature(out, mod, 0);
    else step_signature(out, mod, kind);
    fprintf(out, "\n{\n");
    emit_step_checks(out, mod, fail);
    if (dec) emit_decode_checks(out, mod);
    /* act_c must precede its users: the checks, then it, then the rest */
    if (cbase && legacy)
        fprintf(out, "    float *const act_c = m->act + %" PRId64 " * m->max_batch; /* constant-size buffers */\n",
                L->act_n);
    else if (cbase)
        fprintf(out, "    float *const act_c = m->act + m->cls_base[0]; /* constant-size buffers */\n");
    fputs(head, out);
    free(head);
    fprintf(out, "\n");
    if (lscalls) { /* the same every step: computed by the first call (per weights version: emit_weights.c) */
        emit_statics_open(out, g, kind, L->n_statics && L->cache_weights);
        for (char *line = scalls; *line;) {
            char *nl = strchr(line, '\n');
            size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
            fprintf(out, "    %.*s", (int)len, line);
            line += len;
        }
        emit_statics_close(out, g, kind, L->n_statics && L->cache_weights);
    }
    free(scalls);
    fputs(calls, out);
    free(calls);
    if (ltail) fprintf(out, "\n");
    fputs(tail, out);
    free(tail);
    fprintf(out, "}\n\n");
    return d->n_errors > errors_before ? -1 : 0;
}
/* ---- module layout -------------------------------------------------------- */

static void layout_module(const ir_module *m, module_layout *L)
{
    int np = m->n_params > 0 ? m->n_params : 1;
    L->cache_weights = 0;
    L->poff = ARENA_NEW_ARRAY(m->ar, int64_t, np);
    L->goff = ARENA_NEW_ARRAY(m->ar, int64_t, np);
    L->n_pfloats = L->n_gfloats = L->act_n = L->act_c = L->n_sfloats = L->n_statics = 0;
    L->n_table = 0;
    for (int i = 0; i < m->n_params; i++) {
        int64_t n = param_numel(&m->params[i]);
        if (m->params[i].state) { /* per sample, in the state region after the optimizer's */
            L->poff[i] = L->n_sfloats;
            L->n_sfloats += align16(n);
            L->goff[i] = -1;
            continue;
        }
        L->n_table++;
        L->poff[i] = L->n_pfloats;
        L->n_pfloats += align16(n);
        L->goff[i] = -1;
        if (m->params[i].trainable) {
            L->goff[i] = L->n_gfloats;
            L->n_gfloats += align16(n);
        }
    }
    const ir_graph *gs[3] = {m->forward, m->eval_step, m->train_step};
    for (int i = 0; i < 3; i++) {
        if (!gs[i]) continue;
        int64_t an = plan_class_size(gs[i], 1u << IR_SYM_N), ac = plan_class_size(gs[i], 0);
        if (an > L->act_n) L->act_n = an;
        if (ac > L->act_c) L->act_c = ac;
        L->sbase[i] = L->n_statics;
        L->n_statics += plan_static_size(gs[i]);
    }
    const int ncls = 1 << (m->n_syms > 0 ? m->n_syms : 1);
    L->cls = ARENA_NEW_ARRAY(m->ar, int64_t, ncls);
    for (int k = 0; k < ncls; k++)
        for (int i = 0; i < 3; i++) {
            int64_t sz = gs[i] ? plan_class_size(gs[i], (uint32_t)k) : 0;
            if (sz > L->cls[k]) L->cls[k] = sz;
        }
    char why[256] = "";
    L->decode = emit_legacy_api(m) ? NULL : decode_analyze(m, why, sizeof why);
    L->no_decode = emit_legacy_api(m) ? "the model has no sequence symbol" : arena_strdup(m->ar, why);
    /* the loop bodies' regions: after the batch-sized and the constant class */
    if (emit_legacy_api(m)) {
        emit_scan_layout(m, &L->act_n, &L->act_c, &L->scans);
        L->scans.wn = "m->act";
        L->scans.wc = arena_printf(m->ar, "(m->act + %" PRId64 " * m->max_batch)", L->act_n);
    } else {
        emit_scan_layout(m, &L->cls[1], &L->cls[0], &L->scans);
        L->act_n = L->cls[1], L->act_c = L->cls[0];
        L->scans.wn = "(m->act + m->cls_base[1])";
        L->scans.wc = "(m->act + m->cls_base[0])";
    }
}

/* Per-sample shape of a batched value: dims after the leading N. */
static int per_sample(const ir_shape *s, int64_t *shape, int *rank, int64_t *numel)
{
    *rank = 0;
    *numel = 1;
    if (s->rank < 1 || s->d[0].syms != (1u << IR_SYM_N) || s->d[0].k != 1) return 0;
    for (int i = 1; i < s->rank; i++) {
        if (s->d[i].syms) return 0;
        if (shape) shape[(*rank)++] = s->d[i].k;
        *numel *= s->d[i].k;
    }
    return 1;
}

/* ---- the header ----------------------------------------------------------- */

static void emit_header_module(FILE *h, const ir_module *m, const module_layout *L)
{
    const char *p = m->name;
    fprintf(h, "/* ---- model %s ---- */\n\n", p);
    fprintf(h, "/* An instance: parameters, gradients, optimizer state and activations in one allocation. */\n");
    fprintf(h, "typedef struct %s_model %s_model;\n\n", p, p);
    if (!emit_legacy_api(m)) {
        emit_header_general(h, m);
        if (L->decode) emit_decode_header(h, m);
        goto rest;
    }
    fprintf(h, "/* Allocate a model for batches of up to max_batch samples (NULL + dl_last_error() on failure).\n"
               " * Parameters are zero until %s_init or %s_load. */\n", p, p);
    fprintf(h, "%s_model *%s_create(int64_t max_batch);\n", p, p);
    fprintf(h, "void %s_free(%s_model *m);\n", p, p);
    fprintf(h, "/* Run the initializers of the .dln file with this seed; resets gradients, optimizer state, step. */\n");
    fprintf(h, "void %s_init(%s_model *m, uint64_t seed);\n", p, p);
    fprintf(h, "/* Inference (eval mode): x holds n samples, out receives n outputs. */\n");
    fprintf(h, "void %s_forward(%s_model *m, const float *x, float *out, int64_t n);\n", p, p);
    const char *lt = label_type(m);
    fprintf(h, "/* Loss on n labelled samples in eval mode; also the outputs when out is not NULL.\n"
               " * Returns NaN (see dl_last_error()) on a bad batch size or label. */\n");
    fprintf(h, "float %s_eval_step(%s_model *m, const float *x, const %s *y, float *out, int64_t n);\n", p, p, lt);
    fprintf(h, "/* One training step: forward, backward, optimizer update. Returns the loss (NaN on error). */\n");
    fprintf(h, "float %s_train_step(%s_model *m, const float *x, const %s *y, int64_t n);\n", p, p, lt);
rest:
    fprintf(h, "/* Learning rate for the following steps (schedules call this). */\n");
    fprintf(h, "void %s_set_lr(%s_model *m, float lr);\n", p, p);
    fprintf(h, "/* Parameters and buffers, by index: name, shape, trainable. */\n");
    fprintf(h, "int %s_num_params(void);\n", p);
    fprintf(h, "const dl_param_info *%s_param_info(int i);\n", p);
    fprintf(h, "/* Data of a parameter by its .dln name (\"fc1.weight\"); NULL if there is none. */\n");
    fprintf(h, "float *%s_param(%s_model *m, const char *name);\n", p, p);
    fprintf(h, "/* Its gradient from the last train_step; NULL if absent or not trainable. */\n");
    fprintf(h, "float *%s_grad(%s_model *m, const char *name);\n", p, p);
    fprintf(h, "/* Checkpoints in safetensors format (readable by PyTorch); save is atomic. 0 = ok, -1 = error. */\n");
    fprintf(h, "int %s_save(%s_model *m, const char *path);\n", p, p);
    fprintf(h, "int %s_load(%s_model *m, const char *path);\n", p, p);
    fprintf(h, "/* Loads the part of a checkpoint this model owns: each parameter from the\n"
               " * file's tensor named prefix + its name (\"\" for the same names; \"dec.\" to take\n"
               " * a decoder from its VAE's checkpoint). Parameters the file lacks keep their\n"
               " * values; report (may be NULL) counts what was used, skipped and missing.\n"
               " * A shape mismatch or no match at all is an error and changes nothing. */\n");
    fprintf(h, "int %s_load_prefix(%s_model *m, const char *path, const char *prefix, dl_load_report *report);\n", p, p);
    fprintf(h, "/* The same model behind a generic descriptor, for drivers such as dl_run_training. */\n");
    if (has_state(m)) {
        fprintf(h, "/* Carried state (each `buffer` shaped [N, ...]) back to its initializer, for every row: at the\n"
                   " * start of a new stream. init does it too; checkpoints never hold this state. */\n");
        fprintf(h, "void %s_reset_state(%s_model *m);\n", p, p);
    }
    fprintf(h, "const dl_model_api *%s_api(void);\n\n", p);
}

/* ---- the .c: tables ------------------------------------------------------- */

/* One float literal that reads back as the same float ("0.25f", "3.0f", "1e-08f"). */
static void put_float(FILE *f, float v)
{
    char b[48];
    snprintf(b, sizeof b, "%.9g", (double)v);
    fprintf(f, "%s%sf", b, strpbrk(b, ".e") ? "" : ".0");
}

/* The values of the parameters initialized with given values (values([...]),
 * bilinear_upsample(), from_file()), one array each, copied by <p>_init. */
static void emit_given_values(FILE *f, const ir_module *m)
{
    for (int i = 0; i < m->n_params; i++) {
        const ir_param *q = &m->params[i];
        if (q->state || q->init.kind != IR_INIT_DATA) continue;
        int64_t n = param_numel(q);
        fprintf(f, "/* %s: its initial values, given in the .dln */\n", q->name);
        fprintf(f, "static const float %s_values_%d[%" PRId64 "] = {", m->name, i, n);
        for (int64_t k = 0; k < n; k++) {
            fprintf(f, "%s", k % 8 ? ", " : k ? ",\n    " : "\n    ");
            put_float(f, q->init.data[k]);
        }
        fprintf(f, "\n};\n\n");
    }
}

static const char *const init_kind_names[] = {
    [IR_INIT_ZEROS] = "DL_INIT_ZEROS",
    [IR_INIT_ONES] = "DL_INIT_ONES",
    [IR_INIT_CONSTANT] = "DL_INIT_CONSTANT",
    [IR_INIT_NORMAL] = "DL_INIT_NORMAL",
    [IR_INIT_UNIFORM] = "DL_INIT_UNIFORM",
    [IR_INIT_LECUN_UNIFORM] = "DL_INIT_LECUN_UNIFORM",
    [IR_INIT_LECUN_NORMAL] = "DL_INIT_LECUN_NORMAL",
    [IR_INIT_XAVIER_UNIFORM] = "DL_INIT_XAVIER_UNIFORM",
    [IR_INIT_XAVIER_NORMAL] = "DL_INIT_XAVIER_NORMAL",
    [IR_INIT_HE_UNIFORM] = "DL_INIT_HE_UNIFORM",
    [IR_INIT_HE_NORMAL] = "DL_INIT_HE_NORMAL",
    [IR_INIT_TRUNC_NORMAL] = "DL_INIT_TRUNC_NORMAL",
    [IR_INIT_ORTHOGONAL] = "DL_INIT_ORTHOGONAL",
    [IR_INIT_SPARSE] = "DL_INIT_SPARSE",
    [IR_INIT_DIRAC] = "DL_INIT_DIRAC",
    [IR_INIT_EYE] = "DL_INIT_EYE",
};

static void emit_tables(FILE *f, emit_ctx *c, const ir_module *m, const module_layout *L)
{
    const char *p = m->name;
    /* carried state is no parameter: not initialized, saved or loaded through the tables */
    int np = L->n_table, cap = np > 0 ? np : 1;
    fprintf(f, "#define %s_NUM_PARAMS %d\n\n", p, np);
    fprintf(f, "/* name, rank, shape, numel, trainable */\n");
    fprintf(f, "static const dl_param_info %s_params[%d] = {\n", p, cap);
    for (int i = 0; i < m->n_params; i++) {
        const ir_param *q = &m->params[i];
        if (q->state) continue;
        fprintf(f, "    {");
        emit_cstr(f, q->name);
        fprintf(f, ", %d, {", q->shape.rank);
        for (int k = 0; k < q->shape.rank; k++) fprintf(f, "%s%" PRId64, k ? ", " : "", q->shape.d[k].k);
        fprintf(f, "}, %" PRId64 ", %d},\n", param_numel(q), q->trainable != 0);
    }
    if (np == 0) fprintf(f, "    {NULL, 0, {0}, 0, 0},\n");
    fprintf(f, "};\n\n");
    fprintf(f, "/* initializers (kind, a, b, fan_in, fan_out, gain, lo, hi), from the .dln */\n");
    fprintf(f, "static const dl_init %s_inits[%d] = {\n", p, cap);
    for (int i = 0; i < m->n_params; i++) {
        const ir_init *in = &m->params[i].init;
        if (m->params[i].state) continue;
        int kind = (int)in->kind;
        /* given values (IR_INIT_DATA): zeros here, then <p>_init copies <p>_values_<i> over them */
        const char *kn = kind >= 0 && kind < IR_INIT_DATA ? init_kind_names[kind] : "DL_INIT_ZEROS";
        /* sparse: the runtime takes the zeros per column, torch's ceil(sparsity * rows) in double */
        double a = in->kind == IR_INIT_SPARSE ? ceil(in->a * (double)m->params[i].shape.d[0].k) : in->a;
        fprintf(f, "    {%s, %s, %s, %" PRId64 ", %" PRId64 ", %s, ", kn, emit_float(c, a), emit_float(c, in->b),
                in->fan_in, in->fan_out, emit_float(c, in->gain));
        fprintf(f, "%s, %s}, /* %s */\n", emit_float(c, in->lo), emit_float(c, in->hi), m->params[i].name);
    }
    if (np == 0) fprintf(f, "    {DL_INIT_ZEROS, 0.0f, 0.0f, 0, 0, 1.0f, 0.0f, 0.0f},\n");
    fprintf(f, "};\n\n");
    fprintf(f, "/* offsets (floats) of each parameter in m->params and of its gradient in m->grads (-1: none) */\n");
    fprintf(f, "static const int64_t %s_param_offset[%d] = {", p, cap);
    for (int i = 0, j = 0; i < m->n_params; i++)
        if (!m->params[i].state) fprintf(f, "%s%" PRId64, j++ ? ", " : "", L->poff[i]);
    if (np == 0) fprintf(f, "0");
    fprintf(f, "};\nstatic const int64_t %s_grad_offset[%d] = {", p, cap);
    for (int i = 0, j = 0; i < m->n_params; i++)
        if (!m->params[i].state) fprintf(f, "%s%" PRId64, j++ ? ", " : "", L->goff[i]);
    if (np == 0) fprintf(f, "-1");
    fprintf(f, "};\n\n");
    emit_given_values(f, m);
    fprintf(f, "/* the above, for the runtime's dl_params_* (init, find, save, load) */\n");
    fprintf(f, "static const dl_param_table %s_param_table = {%s_NUM_PARAMS, %s_params, %s_inits, %s_param_offset};\n\n",
            p, p, p, p, p);
}

/* The runtime's enum constants by value, so the config reads DL_OPT_ADAM, not
 * (dl_optim_kind)3; each name is spelled once, by the preprocessor. */
#define ENUM_NAME(k) [k] = #k
static const char *const optim_kind_names[] = {
    ENUM_NAME(DL_OPT_SGD), ENUM_NAME(DL_OPT_ADAGRAD), ENUM_NAME(DL_OPT_RMSPROP), ENUM_NAME(DL_OPT_ADAM),
    ENUM_NAME(DL_OPT_ADAMW), ENUM_NAME(DL_OPT_LAMB),
};
static const char *const sched_kind_names[] = {
    ENUM_NAME(DL_SCHED_CONSTANT), ENUM_NAME(DL_SCHED_STEP), ENUM_NAME(DL_SCHED_EXPONENTIAL), ENUM_NAME(DL_SCHED_COSINE),
    ENUM_NAME(DL_SCHED_POLY),     ENUM_NAME(DL_SCHED_PLATEAU),
};
#undef ENUM_NAME

/* names[k], or a cast of k when the table has no name for it */
static const char *enum_name(emit_ctx *c, const char *const *names, int n, const char *type, int k)
{
    if (k >= 0 && k < n && names[k]) return names[k];
    return arena_printf(c->ar, "(%s)%d", type, k);
}

static void emit_train_config(FILE *f, emit_ctx *c, const ir_module *m)
{
    if (!m->train) return;
    const dl_train_config *t = &m->train->cfg;
    fprintf(f, "/* the train section of the .dln */\nstatic const dl_train_config %s_train_config = {\n", m->name);
    fprintf(f, "    .data = {.kind = ");
    emit_cstr(f, t->data.kind);
    fprintf(f, ", .path = ");
    emit_cstr(f, t->data.path);
    fprintf(f, ", .test_path = ");
    emit_cstr(f, t->data.test_path);
    fprintf(f, ",\n             .batch = %" PRId64 ", .shuffle = %d, .val_split = %s,\n", t->data.batch, t->data.shuffle,
            emit_float(c, t->data.val_split));
    fprintf(f, "             .csv = {.label_col = %d, .header = %d, .classify = %d, .delimiter = (char)%d, "
               ".has_weight = %d, .weight_col = %d, .n_columns = %d", t->data.csv.label_col, t->data.csv.header,
            t->data.csv.classify, (int)t->data.csv.delimiter, t->data.csv.has_weight, t->data.csv.weight_col,
            t->data.csv.n_columns);
    for (int k = 0; k < t->data.csv.n_columns; k++) { /* csv(columns = [...]): names, and which i32[N] inputs read */
        fprintf(f, ", .columns[%d] = ", k);
        emit_cstr(f, t->data.csv.columns[k]);
        fprintf(f, ", .column_i32[%d] = %d", k, t->data.csv.column_i32[k]);
    }
    fprintf(f, "},\n");
    const dl_augment_config *a = &t->data.augment;
    fprintf(f, "             .channels = %d, .mask_threshold = %s,\n", t->data.channels, emit_float(c, t->data.mask_threshold));
    fprintf(f, "             .augment = {.crop_pad = %d, .hflip = %s, .vflip = %s, .rotate_deg = %s, .brightness = %s, "
               ".contrast = %s,\n", a->crop_pad, emit_float(c, a->hflip), emit_float(c, a->vflip), emit_float(c, a->rotate_deg),
            emit_float(c, a->brightness), emit_float(c, a->contrast));
    fprintf(f, "                         .noise_std = %s, .norm_channels = %d, .norm_mean = {", emit_float(c, a->noise_std),
            a->norm_channels);
    for (int k = 0; k < DL_AUG_MAX_CHANNELS; k++) fprintf(f, "%s%s", k ? ", " : "", emit_float(c, a->norm_mean[k]));
    fprintf(f, "}, .norm_std = {");
    for (int k = 0; k < DL_AUG_MAX_CHANNELS; k++) fprintf(f, "%s%s", k ? ", " : "", emit_float(c, a->norm_std[k]));
    fprintf(f, "},\n                         .cutout_size = %d, .cutout_count = %d, .mixup_alpha = %s,\n", a->cutout_size,
            a->cutout_count, emit_float(c, a->mixup_alpha));
    fprintf(f, "                         .rrc_scale = {%s, %s}, .rrc_ratio = {%s, %s}, .saturation = %s, .hue = %s,\n",
            emit_float(c, a->rrc_scale[0]), emit_float(c, a->rrc_scale[1]), emit_float(c, a->rrc_ratio[0]),
            emit_float(c, a->rrc_ratio[1]), emit_float(c, a->saturation), emit_float(c, a->hue));
    fprintf(f, "                         .cutmix_alpha = %s, .cutmix_p = %s, .views = %d,\n",
            emit_float(c, a->cutmix_alpha), emit_float(c, a->cutmix_p), a->views);
    fprintf(f, "                         .affine = %d, .affine_deg = %s, .affine_translate = {%s, %s}, "
               ".affine_scale = {%s, %s}, .affine_shear = %s,\n", a->affine, emit_float(c, a->affine_deg),
            emit_float(c, a->affine_translate[0]), emit_float(c, a->affine_translate[1]), emit_float(c, a->affine_scale[0]),
            emit_float(c, a->affine_scale[1]), emit_float(c, a->affine_shear));
    fprintf(f, "                         .gray_p = %s, .blur_kernel = %d, .blur_sigma = {%s, %s}, .blur_p = %s,\n",
            emit_float(c, a->gray_p), a->blur_kernel, emit_float(c, a->blur_sigma[0]), emit_float(c, a->blur_sigma[1]),
            emit_float(c, a->blur_p));
    fprintf(f, "                         .erase_p = %s, .erase_scale = {%s, %s}, .erase_ratio = {%s, %s}, "
               ".erase_value = %s, .erase_random = %d,\n", emit_float(c, a->erase_p), emit_float(c, a->erase_scale[0]),
            emit_float(c, a->erase_scale[1]), emit_float(c, a->erase_ratio[0]), emit_float(c, a->erase_ratio[1]),
            emit_float(c, a->erase_value), a->erase_random);
    fprintf(f, "                         .solarize_threshold = %s, .solarize_p = %s, .posterize_bits = %d, "
               ".posterize_p = %s, .autocontrast_p = %s, .equalize_p = %s,\n", emit_float(c, a->solarize_threshold),
            emit_float(c, a->solarize_p), a->posterize_bits, emit_float(c, a->posterize_p), emit_float(c, a->autocontrast_p),
            emit_float(c, a->equalize_p));
    fprintf(f, "                         .ra_ops = %d, .ra_magnitude = %d},\n", a->ra_ops, a->ra_magnitude);
    fprintf(f, "             .seq_len = %" PRId64 ", .contiguous = %d, .vocab = %" PRId64 ", .mlm = %s,\n",
            t->data.seq_len, t->data.contiguous, t->data.vocab, emit_float(c, t->data.mlm));
    fprintf(f, "             .task = ");
    emit_cstr(f, t->data.task);
    fprintf(f, ", .length = %" PRId64 ", .min_length = %" PRId64 ", .digits = %" PRId64 ", .n_train = %" PRId64
               ", .n_test = %" PRId64 ",\n", t->data.length, t->data.min_length, t->data.digits, t->data.n_train,
            t->data.n_test);
    fprintf(f, "             .graph_nodes = %" PRId64 ", .graph_classes = %" PRId64 ", .graph_features = %" PRId64
               ", .p_in = %s, .p_out = %s, .noise = %s,\n", t->data.graph_nodes, t->data.graph_classes,
            t->data.graph_features, emit_float(c, t->data.p_in), emit_float(c, t->data.p_out), emit_float(c, t->data.noise));
    fprintf(f, "             .train_per_class = %" PRId64 ", .graph_val = %" PRId64 ", .graph_test = %" PRId64
               ", .graph_seed = %" PRIu64 "u,\n", t->data.train_per_class, t->data.graph_val, t->data.graph_test,
            t->data.graph_seed);
    fprintf(f, "              .classes = ");
    if (t->data.classes) {
        fprintf(f, "(const int[]){");
        for (int k = 0; k < t->data.n_classes; k++) fprintf(f, "%s%d", k ? ", " : "", t->data.classes[k]);
        fprintf(f, "}");
    } else fprintf(f, "NULL");
    fprintf(f, ", .n_classes = %d, .fraction = %s,\n", t->data.n_classes, emit_float(c, t->data.fraction));
    fprintf(f, "             .canvas = %" PRId64 ", .grid = %" PRId64 ", .min_objects = %" PRId64 ", .max_objects = %" PRId64
               ",\n             .masks_path = ", t->data.canvas, t->data.grid, t->data.min_objects, t->data.max_objects);
    emit_cstr(f, t->data.masks_path);
    fprintf(f, ", .test_masks_path = ");
    emit_cstr(f, t->data.test_masks_path);
    fprintf(f, ", .ignore_index = %d},\n", t->data.ignore_index);
    const dl_optim_config *o = &t->optim;
    fprintf(f, "    .optim = {.kind = %s, .lr = %s, .momentum = %s, .dampening = %s, .nesterov = %d,\n",
            enum_name(c, optim_kind_names, (int)(sizeof optim_kind_names / sizeof *optim_kind_names), "dl_optim_kind",
                      (int)o->kind),
            emit_float(c, o->lr), emit_float(c, o->momentum), emit_float(c, o->dampening), o->nesterov);
    fprintf(f, "              .beta1 = %s, .beta2 = %s, .alpha = %s, .eps = %s, .weight_decay = %s,\n",
            emit_float(c, o->beta1), emit_float(c, o->beta2), emit_float(c, o->alpha), emit_float(c, o->eps),
            emit_float(c, o->weight_decay));
    fprintf(f, "              .lr_decay = %s, .initial_accumulator = %s, .clip_norm = %s},\n", emit_float(c, o->lr_decay),
            emit_float(c, o->initial_accumulator), emit_float(c, o->clip_norm));
    const dl_sched_config *s = &t->sched;
    fprintf(f, "    .sched = {.kind = %s, .step_size = %d, .gamma = %s, .min_lr = %s, .warmup = %d, "
               ".warmup_start = %s,\n",
            enum_name(c, sched_kind_names, (int)(sizeof sched_kind_names / sizeof *sched_kind_names), "dl_sched_kind",
                      (int)s->kind),
            s->step_size, emit_float(c, s->gamma), emit_float(c, s->min_lr), s->warmup,
            emit_float(c, s->warmup_start));
    fprintf(f, "              .power = %s, .factor = %s, .patience = %d, .threshold = %s},\n", emit_float(c, s->power),
            emit_float(c, s->factor), s->patience, emit_float(c, s->threshold));
    fprintf(f, "    .epochs = %d, .metrics = %uu, .seed = UINT64_C(%" PRIu64 "), .checkpoint = ", t->epochs, t->metrics,
            t->seed);
    emit_cstr(f, t->checkpoint);
    fprintf(f, ",\n    .init_from = ");
    emit_cstr(f, t->init_from);
    fprintf(f, ", .init_prefix = ");
    emit_cstr(f, t->init_prefix);
    fprintf(f, ", .init_into = ");
    emit_cstr(f, t->init_into);
    fprintf(f, ",\n    .early_stop = {.patience = %d, .min_delta = %s, .monitor = %s}, .log_every = %d,\n",
            t->early_stop.patience, emit_float(c, t->early_stop.min_delta),
            t->early_stop.monitor == DL_MONITOR_VAL_ACC ? "DL_MONITOR_VAL_ACC" : "DL_MONITOR_VAL_LOSS", t->log_every);
    if (t->accumulate > 1) fprintf(f, "    .accumulate = %d,\n", t->accumulate);
    fprintf(f, "    .param_groups = ");
    emit_cstr(f, t->param_groups);
    if (t->init_skip) {
        fprintf(f, ",\n    .init_skip = (const char *const[]){");
        for (int k = 0; t->init_skip[k]; k++) {
            emit_cstr(f, t->init_skip[k]);
            fprintf(f, ", ");
        }
        fprintf(f, "NULL}");
    }
    if (t->lookahead_k > 0) /* (absent otherwise: the C of a run without it is unchanged) */
        fprintf(f, ",\n    .lookahead_k = %d, .lookahead_alpha = %s", t->lookahead_k, emit_float(c, t->lookahead_alpha));
    if (t->swa_start > 0)
        fprintf(f, ",\n    .swa_start = %d, .swa_lr = %s, .swa_anneal_epochs = %d, .swa_anneal_linear = %d", t->swa_start,
                emit_float(c, t->swa_lr), t->swa_anneal_epochs, t->swa_anneal_linear);
    fprintf(f, ",\n};\n\n");
}

/* ---- the .c: struct and API functions -------------------------------------- */

static void emit_struct(FILE *f, const ir_module *m, const module_layout *L)
{
    fprintf(f, "struct %s_model {\n", m->name);
    fprintf(f, "    int64_t max_batch;     /* the largest n a step accepts */\n");
    fprintf(f, "    int64_t step;          /* training steps taken (the optimizer's time step) */\n");
    fprintf(f, "    uint64_t seed;         /* from init: random sources draw from (seed, step) */\n");
    fprintf(f, "    float lr;              /* current learning rate */\n");
    fprintf(f, "    dl_optim_config opt;   /* from the train section (plain SGD without one) */\n");
    fprintf(f, "    float *mem;            /* the one allocation; the pointers below point into it */\n");
    fprintf(f, "    float *params, *grads; /* parameters; gradients of the trainable ones */\n");
    fprintf(f, "    float *m1, *m2;        /* optimizer state slots (NULL when the optimizer has none) */\n");
    fprintf(f, "    float *act;            /* activations: batch-sized class, then constant-size class */\n");
    if (emit_accumulate(m))
        fprintf(f, "    float *gacc;           /* accumulate = %d: the group's summed gradients (dl_grads_accumulate) */\n"
                   "    int64_t accum_n;       /* batches in the current group */\n"
                   "    int accum_close;       /* the next train step closes its group (end_group) */\n", emit_accumulate(m));
    if (has_state(m))
        fprintf(f, "    float *state;          /* buffers carried between training steps, max_batch rows each */\n");
    if (L->decode) fprintf(f, "    float *kv;             /* decode's key/value caches (%s_decode) */\n", m->name);
    emit_weights_fields(f);
    if (L->n_statics) { /* (pass_plan's STATIC values) */
        fprintf(f, "    float *statics;        /* values computed from constants alone, by each step function's first call */\n");
        fprintf(f, "    unsigned statics_ready; /* bit k: step function k (forward, eval_step, train_step) has computed them */\n");
        fprintf(f, "    uint64_t statics_wver[3]; /* by step function: the weights' version its statics from parameters hold */\n");
    }
    if (!emit_legacy_api(m)) {
        const int k = m->n_syms, ncls = 1 << k;
        fprintf(f, "    int64_t sym_max[%d];     /* bound of each symbol (N, then", k);
        for (int i = 1; i < k; i++) fprintf(f, " %s", m->syms[i].name);
        fprintf(f, ") given to create */\n");
        fprintf(f, "    int64_t cls_base[%d];    /* by symbol mask: where that arena class starts in act, */\n", ncls);
        fprintf(f, "    int64_t cls_unit[%d];    /* and its unit, the product of the bounds of its symbols */\n", ncls);
    }
    fprintf(f, "};\n\n");
}

/* create's optimizer settings: the train section's, plain SGD without one. */
static void emit_create_optimizer(FILE *f, const ir_module *m)
{
    const char *p = m->name;
    if (m->train) fprintf(f, "    m->opt = %s_train_config.optim;\n", p);
    else fprintf(f, "    m->opt = (dl_optim_config){.kind = DL_OPT_SGD, .lr = 0.01f};\n");
    fprintf(f, "    m->lr = m->opt.lr;\n");
    fprintf(f, "    const int slots = dl_optim_state_slots(m->opt.kind);\n");
}

/* create's one allocation of `floats` floats and the regions at its start. */
static void emit_create_memory(FILE *f, const char *p)
{
    fprintf(f, "    const size_t bytes = ((size_t)floats * sizeof(float) + 63) / 64 * 64 + 64;\n");
    fprintf(f, "    m->mem = aligned_alloc(64, bytes);\n");
    fprintf(f, "    if (!m->mem) {\n        free(m);\n");
    fprintf(f, "        dl_set_error(\"%s_create: cannot allocate %%zu bytes\", bytes);\n        return NULL;\n    }\n", p);
    fprintf(f, "    memset(m->mem, 0, bytes);\n");
    fprintf(f, "    %s\n", EMIT_WEIGHTS_CHANGED);
    fprintf(f, "    m->params = m->mem;\n    m->grads = m->params + n_params;\n");
    fprintf(f, "    m->m1 = slots >= 1 ? m->grads + n_grads : NULL;\n");
    fprintf(f, "    m->m2 = slots >= 2 ? m->grads + 2 * n_grads : NULL;\n");
}

/* <model>_reset_state: every carried-state buffer back to its constant
 * initializer, all max_batch rows. init calls it; so does a driver when a
 * batch starts a new stream. */
static void emit_reset_state(FILE *f, const ir_module *m, const module_layout *L)
{
    const char *p = m->name;
    emit_ctx c = {.ar = m->ar, .mod = m, .prefix = p};
    fprintf(f, "void %s_reset_state(%s_model *m)\n{\n", p, p);
    for (int i = 0; i < m->n_params; i++) {
        const ir_param *q = &m->params[i];
        if (!q->state) continue;
        const double v = q->init.kind == IR_INIT_ONES ? 1.0 : q->init.kind == IR_INIT_CONSTANT ? q->init.a : 0.0;
        fprintf(f, "    for (int64_t i = 0; i < %" PRId64 " * m->max_batch; i++) m->state[%" PRId64
                   " * m->max_batch + i] = %s; /* %s */\n",
                param_numel(q), L->poff[i], emit_float(&c, v), q->name);
    }
    fprintf(f, "}\n\n");
}

/* A general model's create: every symbol has a bound; the arena holds each
 * class (symbol mask) at its own base, an offset `off` in class c meaning
 * base[c] + off * unit[c] floats, unit[c] the product of c's bounds; then the
 * constant-size class. Sizes are checked for overflow. */
static void emit_create_general(FILE *f, const ir_module *m, const module_layout *L)
{
    const char *p = m->name;
    const int K = m->n_syms, ncls = 1 << K;
    fprintf(f, "static %s_model *%s_create_sym(const int64_t *sym_max)\n{\n", p, p);
    fprintf(f, "    /* each arena class's size in units of its symbols' product, by symbol mask */\n");
    fprintf(f, "    static const int64_t cls_size[%d] = {", ncls);
    for (int c = 0; c < ncls; c++) fprintf(f, "%s%" PRId64, c ? ", " : "", c ? L->cls[c] : align16(L->cls[0]));
    fprintf(f, "};\n");
    for (int k = 0; k < K; k++) {
        fprintf(f, "    if (sym_max[%d] < 1 || sym_max[%d] > INT32_MAX) {\n", k, k);
        fprintf(f, "        dl_set_error(\"%s_create: max_%s %%lld is out of range\", (long long)sym_max[%d]);\n", p,
                k == 0 ? "batch" : m->syms[k].name, k);
        fprintf(f, "        return NULL;\n    }\n");
    }
    fprintf(f, "    int64_t base[%d], unit[%d], act = 0;\n", ncls, ncls);
    fprintf(f, "    int ok = 1;\n");
    fprintf(f, "    for (int c = 1; c <= %d; c++) {\n", ncls);
    fprintf(f, "        const int cls = c %% %d; /* the constant class (0) last */\n", ncls);
    fprintf(f, "        int64_t size = 0;\n        unit[cls] = 1;\n");
    fprintf(f, "        for (int k = 0; k < %d; k++)\n", K);
    fprintf(f, "            if (cls >> k & 1) ok &= !__builtin_mul_overflow(unit[cls], sym_max[k], &unit[cls]);\n");
    fprintf(f, "        base[cls] = act;\n");
    fprintf(f, "        ok &= !__builtin_mul_overflow(cls_size[cls], unit[cls], &size);\n");
    fprintf(f, "        ok &= !__builtin_add_overflow(act, size, &act);\n    }\n");
    fprintf(f, "    const int64_t n_params = %" PRId64 ", n_grads = %" PRId64 ";\n", L->n_pfloats, L->n_gfloats);
    fprintf(f, "    const int64_t state = %" PRId64 " * sym_max[0]; /* carried state, max_batch rows */\n", L->n_sfloats);
    fprintf(f, "    const int64_t statics = %" PRId64 "; /* values computed once (pass_plan's STATIC) */\n", L->n_statics);
    if (L->decode) {
        fprintf(f, "    int64_t kv = 0; /* decode's caches: %" PRId64 " floats per sample and position */\n",
                L->decode->kv_floats);
        fprintf(f, "    ok &= !__builtin_mul_overflow(sym_max[0], sym_max[1], &kv) && !__builtin_mul_overflow(kv, "
                   "(int64_t)%" PRId64 ", &kv);\n", L->decode->kv_floats);
        fprintf(f, "    ok &= kv <= INT64_MAX / 8 - statics;\n");
    } else {
        fprintf(f, "    const int64_t kv = 0;\n");
    }
    fprintf(f, "    if (!ok || act > INT64_MAX / 8 - n_params - 3 * n_grads - 16 - state - statics - kv) {\n");
    fprintf(f, "        dl_set_error(\"%s_create: the bounds are too large\");\n        return NULL;\n    }\n", p);
    fprintf(f, "    %s_model *m = calloc(1, sizeof *m);\n", p);
    fprintf(f, "    if (!m) {\n        dl_set_error(\"%s_create: out of memory\");\n        return NULL;\n    }\n", p);
    fprintf(f, "    m->max_batch = sym_max[0];\n");
    fprintf(f, "    memcpy(m->sym_max, sym_max, sizeof m->sym_max);\n");
    fprintf(f, "    memcpy(m->cls_base, base, sizeof base);\n    memcpy(m->cls_unit, unit, sizeof unit);\n");
    emit_create_optimizer(f, m);
    fprintf(f, "    const int64_t floats = n_params + (1 + slots) * n_grads + state + act + statics + kv;\n");
    emit_create_memory(f, m->name);
    if (L->n_sfloats) fprintf(f, "    m->state = m->grads + (1 + slots) * n_grads;\n    m->act = m->state + state;\n");
    else fprintf(f, "    m->act = m->grads + (1 + slots) * n_grads + state;\n");
    if (L->n_statics) fprintf(f, "    m->statics = m->act + act;\n");
    if (L->decode) fprintf(f, "    m->kv = m->act + act + statics;\n");
    fprintf(f, "    return m;\n}\n\n");
    fprintf(f, "%s_model *%s_create(int64_t max_batch", p, p);
    for (int k = 1; k < K; k++) fprintf(f, ", int64_t max_sym%d", k);
    fprintf(f, ")\n{\n    const int64_t sym_max[%d] = {max_batch", K);
    for (int k = 1; k < K; k++) fprintf(f, ", max_sym%d", k);
    fprintf(f, "};\n    return %s_create_sym(sym_max);\n}\n\n", p);
}

static void emit_lifecycle(FILE *f, const ir_module *m, const module_layout *L)
{
    const char *p = m->name;
    if (!emit_legacy_api(m)) {
        emit_create_general(f, m, L);
        goto rest;
    }
    fprintf(f, "%s_model *%s_create(int64_t max_batch)\n{\n", p, p);
    /* (carried state is per sample too: it counts as activations here) */
    fprintf(f, "    const int64_t act_per_sample = %" PRId64 ", fixed = %" PRId64 ";\n", align16(L->act_n) + L->n_sfloats,
            L->n_pfloats + 3 * L->n_gfloats + align16(L->act_c) + L->n_statics + 16);
    if (L->act_n + L->n_sfloats > 0)
        fprintf(f, "    if (max_batch < 1 || max_batch > (INT64_MAX / 8 - fixed) / act_per_sample) {\n");
    else
        fprintf(f, "    (void)fixed;\n    if (max_batch < 1 || max_batch > INT64_MAX / 8) {\n");
    fprintf(f, "        dl_set_error(\"%s_create: max_batch %%lld is out of range\", (long long)max_batch);\n", p);
    fprintf(f, "        return NULL;\n    }\n");
    fprintf(f, "    %s_model *m = calloc(1, sizeof *m);\n", p);
    fprintf(f, "    if (!m) {\n        dl_set_error(\"%s_create: out of memory\");\n        return NULL;\n    }\n", p);
    fprintf(f, "    m->max_batch = max_batch;\n");
    emit_create_optimizer(f, m);
    fprintf(f, "    const int64_t n_params = %" PRId64 ", n_grads = %" PRId64 ";\n", L->n_pfloats, L->n_gfloats);
    fprintf(f, "    const int64_t floats = n_params + (1 + slots) * n_grads + act_per_sample * max_batch + %" PRId64 ";\n",
            align16(L->act_c) + L->n_statics);
    emit_create_memory(f, m->name);
    if (L->n_sfloats) {
        fprintf(f, "    m->state = m->grads + (1 + slots) * n_grads;\n");
        fprintf(f, "    m->act = m->state + %" PRId64 " * max_batch;\n", L->n_sfloats);
    } else {
        fprintf(f, "    m->act = m->grads + (1 + slots) * n_grads;\n");
    }
    if (L->n_statics)
        fprintf(f, "    m->statics = m->act + %" PRId64 " * max_batch + %" PRId64 ";\n", align16(L->act_n), align16(L->act_c));
    fprintf(f, "    return m;\n}\n\n");

rest:
    if (L->n_sfloats) emit_reset_state(f, m, L);
    fprintf(f, "void %s_free(%s_model *m)\n{\n    if (!m) return;\n", p, p);
    fprintf(f, "    dl_weights_release(m->params, %" PRId64 "); /* their packed copies (dl_sgemm_w) */\n", L->n_pfloats);
    if (emit_accumulate(m)) fprintf(f, "    free(m->gacc);\n");
    fprintf(f, "    free(m->mem);\n    free(m);\n}\n\n");

    fprintf(f, "void %s_init(%s_model *m, uint64_t seed)\n{\n", p, p);
    fprintf(f, "    m->seed = seed;\n    m->step = 0;\n");
    if (emit_accumulate(m)) fprintf(f, "    m->accum_n = 0;\n");
    fprintf(f, "    dl_params_init(&%s_param_table, m->params, seed);\n", p);
    for (int i = 0; i < m->n_params; i++)
        if (!m->params[i].state && m->params[i].init.kind == IR_INIT_DATA)
            fprintf(f, "    memcpy(m->params + %" PRId64 ", %s_values_%d, sizeof %s_values_%d); /* %s */\n", L->poff[i], p,
                    i, p, i, m->params[i].name);
    fprintf(f, "    memset(m->grads, 0, (size_t)(m->act - m->grads) * sizeof(float)); /* gradients, optimizer state */\n");
    fprintf(f, "    %s\n", EMIT_WEIGHTS_CHANGED);
    if (L->n_sfloats) fprintf(f, "    %s_reset_state(m);\n", p);
    fprintf(f, "}\n\n");

    fprintf(f, "void %s_set_lr(%s_model *m, float lr) { m->lr = lr; }\n\n", p, p);
    fprintf(f, "int %s_num_params(void) { return %s_NUM_PARAMS; }\n\n", p, p);
    fprintf(f, "const dl_param_info *%s_param_info(int i)\n{\n", p);
    fprintf(f, "    return i >= 0 && i < %s_NUM_PARAMS ? &%s_params[i] : NULL;\n}\n\n", p, p);
    fprintf(f, "float *%s_param(%s_model *m, const char *name)\n{\n", p, p);
    fprintf(f, "    const int i = dl_param_find(&%s_param_table, name);\n", p);
    fprintf(f, "    m->params_exposed = 1; /* the caller may write through it: see wver */\n");
    fprintf(f, "    return i < 0 ? NULL : m->params + %s_param_offset[i];\n}\n\n", p);
    fprintf(f, "float *%s_grad(%s_model *m, const char *name)\n{\n", p, p);
    fprintf(f, "    const int i = dl_param_find(&%s_param_table, name);\n", p);
    fprintf(f, "    return i < 0 || %s_grad_offset[i] < 0 ? NULL : m->grads + %s_grad_offset[i];\n}\n\n", p, p);
    fprintf(f, "int %s_save(%s_model *m, const char *path) { return dl_params_save(&%s_param_table, m->params, path); }\n\n",
            p, p, p);
    fprintf(f, "int %s_load(%s_model *m, const char *path)\n{\n", p, p);
    fprintf(f, "    const int rc = dl_params_load(&%s_param_table, m->params, path, NULL, NULL);\n", p);
    fprintf(f, "    %s\n    return rc;\n}\n\n", EMIT_WEIGHTS_CHANGED);
    fprintf(f, "int %s_load_prefix(%s_model *m, const char *path, const char *prefix, dl_load_report *report)\n{\n", p, p);
    fprintf(f, "    const int rc = dl_params_load(&%s_param_table, m->params, path, prefix, report);\n", p);
    fprintf(f, "    %s\n    return rc;\n}\n\n", EMIT_WEIGHTS_CHANGED);
}

static void emit_api(FILE *f, const ir_module *m, const module_layout *L, diag_ctx *d)
{
    const char *p = m->name;
    const int legacy = emit_legacy_api(m);
    fprintf(f, "/* ---- the generic descriptor (void * wrappers) ---- */\n");
    emit_io_tables(f, m, d);
    if (L->decode) emit_decode_io(f, m);
    if (!legacy) fprintf(f, "static void *%s_create_io(const int64_t *sym_max) { return %s_create_sym(sym_max); }\n", p, p);
    if (legacy) {
        fprintf(f, "static void *%s_create_io(const int64_t *sym_max) { return %s_create(sym_max[0]); }\n", p, p);
        fprintf(f, "static void *%s_api_create(int64_t b) { return %s_create(b); }\n", p, p);
    }
    fprintf(f, "static void %s_api_destroy(void *m) { %s_free(m); }\n", p, p);
    fprintf(f, "static void %s_api_init(void *m, uint64_t s) { %s_init(m, s); }\n", p, p);
    if (legacy) {
        fprintf(f, "static void %s_api_forward(void *m, const float *x, float *out, int64_t n) { %s_forward(m, x, out, n); }\n",
                p, p);
        fprintf(f, "static float %s_api_eval_step(void *m, const float *x, const void *y, float *out, int64_t n)\n", p);
        fprintf(f, "{\n    return %s_eval_step(m, x, y, out, n);\n}\n", p);
        fprintf(f, "static float %s_api_train_step(void *m, const float *x, const void *y, int64_t n)\n", p);
        fprintf(f, "{\n    return %s_train_step(m, x, y, n);\n}\n", p);
    }
    fprintf(f, "static void %s_api_set_lr(void *m, float lr) { %s_set_lr(m, lr); }\n", p, p);
    if (emit_accumulate(m))
        fprintf(f, "static void %s_api_end_group(void *m) { ((%s_model *)m)->accum_close = 1; }\n", p, p);
    fprintf(f, "static float *%s_api_param_data(void *m, int i)\n{\n", p);
    fprintf(f, "    ((%s_model *)m)->params_exposed = 1; /* the caller may write through it: see wver */\n", p);
    fprintf(f, "    return i >= 0 && i < %s_NUM_PARAMS ? ((%s_model *)m)->params + %s_param_offset[i] : NULL;\n}\n", p, p, p);
    fprintf(f, "static float *%s_api_grad_data(void *m, int i)\n{\n", p);
    fprintf(f, "    if (i < 0 || i >= %s_NUM_PARAMS || %s_grad_offset[i] < 0) return NULL;\n", p, p);
    fprintf(f, "    return ((%s_model *)m)->grads + %s_grad_offset[i];\n}\n", p, p);
    fprintf(f, "static int %s_api_save(void *m, const char *path) { return %s_save(m, path); }\n", p, p);
    fprintf(f, "static int %s_api_load(void *m, const char *path) { return %s_load(m, path); }\n", p, p);
    fprintf(f, "static int %s_api_load_prefix(void *m, const char *path, const char *prefix, dl_load_report *rep)\n", p);
    fprintf(f, "{\n    return %s_load_prefix(m, path, prefix, rep);\n}\n", p);
    fprintf(f, "static float *%s_api_optim_slot(void *m, int slot, int i)\n{\n", p);
    fprintf(f, "    float *base = slot == 0 ? ((%s_model *)m)->m1 : slot == 1 ? ((%s_model *)m)->m2 : NULL;\n", p, p);
    fprintf(f, "    if (!base || i < 0 || i >= %s_NUM_PARAMS || %s_grad_offset[i] < 0) return NULL;\n", p, p);
    fprintf(f, "    return base + %s_grad_offset[i];\n}\n", p);
    fprintf(f, "static int64_t *%s_api_step_count(void *m) { return &((%s_model *)m)->step; }\n\n", p, p);
    if (has_state(m)) fprintf(f, "static void %s_api_reset_state(void *m) { %s_reset_state(m); }\n\n", p, p);

    /* Per-sample shapes from the graphs. */
    const ir_graph *any = m->forward ? m->forward : m->eval_step ? m->eval_step : m->train_step;
    int64_t in_shape[8] = {0}, in_numel = 0, out_numel = 0, label_numel = 1;
    int in_rank = 0, r;
    if (legacy && any && any->n_inputs > 0 && !per_sample(&any->inputs[0].shape, in_shape, &in_rank, &in_numel))
        diag_error(d, any->inputs[0].node->loc, "the input of model '%s' must have the batch N as its first dimension", p);
    const ir_graph *vg = m->forward ? m->forward : m->eval_step;
    for (int k = 0; legacy && vg && k < vg->n_outputs; k++)
        if (vg->outputs[k].kind == IR_OUT_VALUE && !per_sample(&vg->outputs[k].node->shape, NULL, &r, &out_numel))
            diag_error(d, vg->outputs[k].node->loc, "the output of model '%s' must have the batch N as its first dimension",
                       p);
    const char *label_kind = "DL_LABEL_CLASS";
    const ir_graph *lg = m->train_step ? m->train_step : m->eval_step;
    if (legacy && lg && lg->n_inputs > 1 && lg->inputs[1].dtype == IR_F32) {
        label_kind = "DL_LABEL_DENSE";
        if (!per_sample(&lg->inputs[1].shape, NULL, &r, &label_numel))
            diag_error(d, lg->inputs[1].node->loc, "the labels of model '%s' must have the batch N as their first dimension",
                       p);
    }
    fprintf(f, "#define %s_API_INIT { \\\n", p);
    fprintf(f, "    .name = \"%s\", .abi_version = DL_ABI_VERSION, \\\n", p);
    fprintf(f, "    .in_numel = %" PRId64 ", .in_rank = %d, .in_shape = {", in_numel, in_rank);
    for (int i = 0; i < in_rank; i++) fprintf(f, "%s%" PRId64, i ? ", " : "", in_shape[i]);
    if (in_rank == 0) fprintf(f, "0");
    fprintf(f, "}, \\\n    .out_numel = %" PRId64 ", .label_kind = %s, .label_numel = %" PRId64 ", \\\n", out_numel,
            label_kind, label_numel);
    fprintf(f, "    .n_params = %s_NUM_PARAMS, .params = %s_params, \\\n", p, p);
    if (legacy) {
        fprintf(f, "    .create = %s_api_create, .destroy = %s_api_destroy, .init = %s_api_init, \\\n", p, p, p);
        fprintf(f, "    .forward = %s_api_forward, .eval_step = %s_api_eval_step, .train_step = %s_api_train_step, \\\n",
                p, p, p);
    } else {
        fprintf(f, "    .destroy = %s_api_destroy, .init = %s_api_init, \\\n", p, p);
    }
    fprintf(f, "    .set_lr = %s_api_set_lr, .param_data = %s_api_param_data, .grad_data = %s_api_grad_data, \\\n", p, p,
            p);
    fprintf(f, "    .save = %s_api_save, .load = %s_api_load, .load_prefix = %s_api_load_prefix, .train = %s, \\\n", p, p,
            p, m->train ? arena_printf(m->ar, "&%s_train_config", p) : "NULL");
    fprintf(f, "    .optim_slot = %s_api_optim_slot, .step_count = %s_api_step_count, \\\n", p, p);
    fprintf(f, "    .n_syms = %d, .sym_names = %s_sym_names, \\\n", m->n_syms, p);
    fprintf(f, "    .n_inputs = %d, .n_outputs = %d, .n_fields = %d, \\\n", m->forward->n_inputs, emit_n_outputs(m),
            emit_n_fields(m));
    fprintf(f, "    .inputs = %s_io_inputs, .outputs = %s_io_outputs, .fields = %s_io_fields, \\\n", p, p, p);
    fprintf(f, "    .create_io = %s_create_io, .forward_io = %s_io_forward, .eval_io = %s_io_eval, .train_io = %s_io_train, \\\n",
            p, p, p, p);
    fprintf(f, "    .reset_state = %s, \\\n", has_state(m) ? arena_printf(m->ar, "%s_api_reset_state", p) : "NULL");
    fprintf(f, "    .decode_io = %s, .no_decode = ", L->decode ? arena_printf(m->ar, "%s_io_decode", p) : "NULL");
    emit_cstr(f, L->decode ? NULL : L->no_decode);
    fprintf(f, ", \\\n    .end_group = %s }\n\n", emit_accumulate(m) ? arena_printf(m->ar, "%s_api_end_group", p) : "NULL");
    fprintf(f, "static const dl_model_api %s_api_desc = %s_API_INIT;\n\n", p, p);
    fprintf(f, "const dl_model_api *%s_api(void) { return &%s_api_desc; }\n\n", p, p);
}

/* ---- costs, for benchmarks ------------------------------------------------ */

/* FLOPs of one evaluation of g (the op table's counts, every node including
 * fused ones) with the batch N = n and other symbols at 1. */
static double graph_flops(const ir_graph *g, int64_t n)
{
    int64_t sv[IR_MAX_SYMS];
    for (int i = 0; i < IR_MAX_SYMS; i++) sv[i] = 1;
    sv[IR_SYM_N] = n;
    double f = 0;
    for (int i = 0; g && i < g->n_nodes; i++)
        if (ir_ops[g->nodes[i]->op].flops) f += ir_ops[g->nodes[i]->op].flops(g->nodes[i], sv);
    return f;
}

/* dlnc_flops(graph, n): 0 forward, 1 eval_step, 2 train_step (without the
 * optimizer update). Costs are at most quadratic in the batch for every op
 * we have, so three samples give the exact polynomial. dlnc_memory_bytes is
 * create()'s one allocation for a given max_batch. */
static void emit_costs(FILE *f, const ir_module *m)
{
    module_layout L;
    layout_module(m, &L);
    const ir_graph *gs[3] = {m->forward, m->eval_step, m->train_step};
    fprintf(f, "/* ---- costs of the entry model, for benchmarks (FLOPs from the op table) ---- */\n");
    fprintf(f, "double dlnc_flops(int graph, int64_t n);\n");
    fprintf(f, "double dlnc_flops(int graph, int64_t n)\n{\n    const double x = (double)n;\n    switch (graph) {\n");
    for (int k = 0; k < 3; k++) {
        double f1 = graph_flops(gs[k], 1), f2 = graph_flops(gs[k], 2), f3 = graph_flops(gs[k], 3);
        double c2 = (f3 - 2 * f2 + f1) / 2, c1 = f2 - f1 - 3 * c2, c0 = f1 - c1 - c2;
        fprintf(f, "    case %d: return %.17g + %.17g * x + %.17g * x * x;\n", k, c0, c1, c2);
    }
    fprintf(f, "    default: return 0.0;\n    }\n}\n");
    fprintf(f, "int64_t dlnc_memory_bytes(int64_t max_batch, int optim_slots);\n");
    fprintf(f, "int64_t dlnc_memory_bytes(int64_t max_batch, int optim_slots)\n{\n");
    fprintf(f, "    const int64_t floats = %" PRId64 " + (1 + optim_slots) * (int64_t)%" PRId64 " + %" PRId64
               " * max_batch + %" PRId64 ";\n",
            L.n_pfloats, L.n_gfloats, align16(L.act_n) + L.n_sfloats, align16(L.act_c) + L.n_statics);
    fprintf(f, "    return (floats * 4 + 63) / 64 * 64 + 64;\n}\n\n");
}

/* ---- entry point ---------------------------------------------------------- */

static void emit_guard_name(FILE *h, const char *header)
{
    for (const char *s = header ? header : "model.h"; *s; s++)
        fputc(isalnum((unsigned char)*s) ? toupper((unsigned char)*s) : '_', h);
}

int emit_forward_only(FILE *out, ir_module *m, emit_forward_layout *lay, diag_ctx *d)
{
    if (!m->forward) { /* (the rest of what an export takes is deploy_check's) */
        diag_fatal_noloc(d, "%s: a model with no forward pass cannot be exported", m->name);
        return -1;
    }
    /* the other graphs would only make the arena larger */
    ir_graph *eval = m->eval_step, *train = m->train_step;
    m->eval_step = m->train_step = NULL;
    module_layout L;
    layout_module(m, &L);
    m->eval_step = eval, m->train_step = train;
    int rc = emit_step(out, m, m->forward, STEP_FORWARD, &L, emit_share_new(m->ar), 0, 0, NULL, d);
    *lay = (emit_forward_layout){.param_floats = L.n_pfloats, .act_n = align16(L.act_n), .act_c = align16(L.act_c),
                                 .statics = L.n_statics, .state_floats = L.n_sfloats, .param_offset = L.poff, .cls = L.cls,
                                 .n_cls = 1 << (m->n_syms > 0 ? m->n_syms : 1)};
    return rc;
}

int emit_c(ir_module *const *mods, int n_mods, FILE *c_out, FILE *h_out, const emit_options *opt, diag_ctx *d)
{
    int errors_before = d->n_errors;
    const char *hname = opt && opt->header_name ? opt->header_name : "model.h";
    const char *src = opt && opt->source_name ? opt->source_name : "(unknown)";
    const int check = opt && opt->check_numerics, prof = opt && opt->profile;
    if (n_mods < 1) {
        diag_fatal_noloc(d, "no model to emit");
        return -1;
    }
    if (emit_check_table(NULL) > 0) {
        emit_check_table(d->out ? d->out : stderr);
        diag_fatal_noloc(d, "the C emitter's op table is incomplete");
        return -1;
    }

    fprintf(h_out, "/* %s — generated by dlnc " DLNRT_VERSION " from %s. Do not edit.\n *\n", hname, src);
    fprintf(h_out, " * Typical use:\n *     m = <model>_create(128); <model>_init(m, 42);\n");
    fprintf(h_out, " *     loss = <model>_train_step(m, x, y, n); <model>_forward(m, x, out, n);\n");
    fprintf(h_out, " * Tensors are row-major float32; x holds n samples one after another.\n");
    fprintf(h_out, " * Errors: functions return NULL / NaN / -1 and dl_last_error() says why. */\n");
    fprintf(h_out, "#ifndef ");
    emit_guard_name(h_out, hname);
    fprintf(h_out, "\n#define ");
    emit_guard_name(h_out, hname);
    fprintf(h_out, "\n#include <stdint.h>\n\n#include \"dlnrt.h\"\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");

    fprintf(c_out, "/* Generated by dlnc " DLNRT_VERSION " from %s. Do not edit: change the .dln and recompile.\n", src);
    fprintf(c_out, " * Kernels are named <model>_<graph>_k<node id>_<ops>; `dlnc --emit=ir` shows the same ids.\n"
                   " * Each distinct kernel is defined once, under the name of its first use: eval_step and\n"
                   " * train_step call forward's kernels, repeated blocks the first block's, and the models\n"
                   " * of a section with steps the first model's.");
    if (check)
        fprintf(c_out, "\n * Built with --check-numerics: train_step and eval_step stop at the first kernel output\n"
                       " * (or updated parameter) that is not finite, naming its op and .dln position.");
    fprintf(c_out, " */\n");
    fprintf(c_out, "#include <math.h>\n#include <stdint.h>\n#include <stdlib.h>\n#include <string.h>\n\n");
    fprintf(c_out, "#include \"dlnrt.h\"\n#include \"%s\"\n\n", hname);

    int entry = 0;
    for (int i = n_mods - 1; i >= 0; i--)
        if (mods[i]->train) entry = i;
    /* One for the whole file: a kernel repeated anywhere in it (another graph, a repeated
     * block, another module of a section with steps) is defined once. */
    emit_share *share = emit_share_new(mods[0]->ar);
    for (int i = 0; i < n_mods; i++) {
        const ir_module *m = mods[i];
        module_layout L;
        layout_module(m, &L);
        L.cache_weights = 1;
        emit_ctx c = {.ar = m->ar, .mod = m, .d = d, .prefix = m->name};
        emit_header_module(h_out, m, &L);
        fprintf(c_out, "/* ======== model %s ======== */\n\n", m->name);
        emit_struct(c_out, m, &L);
        emit_tables(c_out, &c, m, &L);
        emit_train_config(c_out, &c, m);
        emit_lifecycle(c_out, m, &L);
        fprintf(c_out, "/* ---- forward (eval mode) ---- */\n\n");
        emit_step(c_out, m, m->forward, STEP_FORWARD, &L, share, check, prof, NULL, d);
        if (L.decode) {
            fprintf(c_out, "/* ---- decode: forward over new positions, with the key/value caches ---- */\n\n");
            emit_step(c_out, m, m->forward, STEP_FORWARD, &L, share, 0, 0, L.decode, d);
        }
        fprintf(c_out, "/* ---- eval_step: loss in eval mode ---- */\n\n");
        emit_step(c_out, m, m->eval_step, STEP_EVAL, &L, share, check, prof, NULL, d);
        fprintf(c_out, "/* ---- train_step: forward, backward, update ---- */\n\n");
        emit_step(c_out, m, m->train_step, STEP_TRAIN, &L, share, check, prof, NULL, d);
        emit_api(c_out, m, &L, d);
    }
    fprintf(c_out, "/* ---- entry points for drivers: the first model with a train section ---- */\n");
    fprintf(c_out, "const dl_model_api *dlnc_entry(void);\n");
    fprintf(c_out, "const dl_model_api *dlnc_entry(void) { return &%s_api_desc; }\n", mods[entry]->name);
    fprintf(c_out, "extern const dl_model_api dlnc_model_api;\n");
    fprintf(c_out, "const dl_model_api dlnc_model_api = %s_API_INIT;\n", mods[entry]->name);
    fprintf(c_out, "extern const dl_model_api *const dlnc_models[];\n");
    fprintf(c_out, "const dl_model_api *const dlnc_models[] = {");
    for (int i = 0; i < n_mods; i++) fprintf(c_out, "&%s_api_desc, ", mods[i]->name);
    fprintf(c_out, "NULL};\n\n");
    emit_costs(c_out, mods[entry]);
    fprintf(h_out, "#ifdef __cplusplus\n}\n#endif\n#endif\n");
    return d->n_errors > errors_before ? -1 : 0;
}
