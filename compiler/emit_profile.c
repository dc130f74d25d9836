/* emit_profile.c — what `dlnc run --profile` adds to the step functions:
 * each kernel call wrapped in the runtime's DL_PROF macro with its site,
 *
 *     #ifdef DL_PROFILE
 *     static dl_prof_site mlp_train_prof12 = {.kernel = "mlp_train_k12_log", .phase = "backward",
 *         .line = "mlp.dln:4", .what = "log", .self = 1, .op = "log"};
 *     #endif
 *     ...
 *     DL_PROF(mlp_train_prof12, 16.0 * (double)n, mlp_train_k12_log(n, t12, x));
 *
 * The site names the kernel, the phase (forward or backward part of
 * train_step, the optimizer, eval_step, forward), the user's .dln line (the
 * call site of a stdlib block, as the kernel's comment says) and the FLOPs
 * of the call from the op table's cost functions. A model emitted without
 * profiling has none of this (its C is byte for byte what it was), and a
 * profiled one compiled without -DDL_PROFILE is the same code again.
 *
 * Scan bodies are not wrapped: the scan's call, wrapped, holds their time. */
#include <math.h>
#include <string.h>

#include "emit_internal.h"

/* The kernel's FLOPs at the given symbol values (symbol 0 is the batch). */
static double flops_at(const ir_node *const *nodes, int count, int64_t n, int64_t others)
{
    int64_t syms[IR_MAX_SYMS];
    syms[0] = n;
    for (int k = 1; k < IR_MAX_SYMS; k++) syms[k] = others;
    double f = 0;
    for (int i = 0; i < count; i++)
        if (ir_ops[nodes[i]->op].flops) f += ir_ops[nodes[i]->op].flops(nodes[i], syms);
    return f;
}

const char *emit_prof_flops(emit_ctx *c, const ir_node *const *nodes, int count)
{
    /* the cost as a C expression in the batch n, when it is a + b n; a count
     * that moves with another symbol (a sequence length) is left unknown */
    const double f1 = flops_at(nodes, count, 1, 1), f2 = flops_at(nodes, count, 2, 1), f3 = flops_at(nodes, count, 3, 1);
    if (flops_at(nodes, count, 1, 2) != f1 || fabs(f3 - 2 * f2 + f1) > 0.5) return "-1.0";
    const double a = f2 - f1, b = f1 - a;
    if (a == 0) return arena_printf(c->ar, "%.17g", b);
    if (b == 0) return arena_printf(c->ar, "%.17g * (double)n", a);
    return arena_printf(c->ar, "(%.17g * (double)n + %.17g)", a, b);
}

static const char *phase_of(const emit_ctx *c, const ir_node *v)
{
    const char *kind = strrchr(c->kernel_prefix, '_');
    if (kind && !strcmp(kind, "_eval")) return "eval";
    if (kind && !strcmp(kind, "_fwd")) return "inference";
    return v && v->grad_of > 0 ? "backward" : "forward";
}

/* The site's definition, under #ifdef DL_PROFILE (a build without it would
 * not use the variable), then the wrapped statement. */
static void wrap(emit_ctx *c, const char *site, const char *kernel, const char *phase, const char *line,
                 const char *what, const char *inner, const char *op, const char *flops, const char *stmt)
{
    fprintf(c->defs, "#ifdef DL_PROFILE\nstatic dl_prof_site %s = {.kernel = ", site);
    emit_cstr(c->defs, kernel);
    fprintf(c->defs, ", .phase = \"%s\", .line = ", phase);
    emit_cstr(c->defs, line);
    fprintf(c->defs, ", .what = ");
    emit_cstr(c->defs, what);
    if (inner) {
        fprintf(c->defs, ", .inner = ");
        emit_cstr(c->defs, inner);
    } else {
        fprintf(c->defs, ", .self = 1");
    }
    fprintf(c->defs, ", .op = ");
    emit_cstr(c->defs, op);
    fprintf(c->defs, "};\n#endif\n\n");
    /* the statement without its indentation and its final ';' (the macro's call ends it) */
    size_t b = strspn(stmt, " "), e = strlen(stmt);
    while (e > b && (stmt[e - 1] == '\n' || stmt[e - 1] == ' ')) e--;
    if (e > b && stmt[e - 1] == ';') e--;
    fprintf(c->calls, "    DL_PROF(%s, %s, %.*s);\n", site, flops, (int)(e - b), stmt + b);
}

void emit_prof_call(emit_ctx *c, const ir_node *n, const char *kernel, const char *flops, const char *stmt)
{
    const ir_node *v = emit_located(n);
    const char *line = "-", *op = ir_ops[v ? v->op : n->op].name, *what = op, *inner = NULL;
    if (v && v->site.file) {
        line = arena_printf(c->ar, "%s:%d", v->site.file, v->site.line);
        inner = arena_printf(c->ar, "%s:%d", v->loc.file, v->loc.line);
        if (v->site_block) what = v->site_block;
    } else if (v) {
        line = arena_printf(c->ar, "%s:%d", v->loc.file, v->loc.line);
    }
    wrap(c, arena_printf(c->ar, "%s_prof%d", c->kernel_prefix, n->id), kernel, phase_of(c, v), line, what, inner,
         op, flops, stmt);
}

void emit_prof_optim(emit_ctx *c, FILE *f, int first_param, const char *stmt)
{
    FILE *calls = c->calls;
    c->calls = f;
    const ir_param *p = &c->mod->params[first_param];
    const char *line = p->site.file ? arena_printf(c->ar, "%s:%d", p->site.file, p->site.line) : "-";
    wrap(c, arena_printf(c->ar, "%s_prof_opt%d", c->kernel_prefix, first_param), "dl_optim_update", "optimizer",
         line, "update", NULL, "update", "-1.0", stmt);
    c->calls = calls;
}
