/* emit_checks.c — what `dlnc --check-numerics` adds to train_step and
 * eval_step: after every kernel call, a call of the runtime's
 * dl_check_finite on the kernel's output, and after the optimizer update the
 * same on every updated parameter:
 *
 *     mlp_train_k12_log(n, t12, x);
 *     if (dl_check_finite(t12, (16 * n), "the output of log at mlp.dln:4:9 (kernel mlp_train_k12_log)",
 *                         "train_step, step", m->step)) return NAN;
 *
 * so the first NaN or infinity stops the step (NaN returned, dl_last_error()
 * saying where) at the op that made it, in the spirit of PyTorch's anomaly
 * detection. The driver compiles such a build without fusion (main.c), so
 * every op is a kernel and no intermediate escapes the check: a fused
 * relu(log(x)) would turn the log's NaN into 0 inside one loop.
 *
 * Nothing here runs without the flag, so ordinary builds carry no check. */
#include <inttypes.h>

#include "emit_internal.h"

static void emit_check_call(emit_ctx *c, FILE *f, const char *ptr, const char *count, const char *what)
{
    fprintf(f, "    if (dl_check_finite(%s, %s, ", ptr, count);
    emit_cstr(f, what);
    fprintf(f, ", ");
    emit_cstr(f, c->check_during);
    fprintf(f, ", m->step)) %s\n", c->fail_return);
}

static const char *where(emit_ctx *c, src_loc loc)
{
    if (!loc.file) return "(generated)";
    return arena_printf(c->ar, "%s:%d:%d", loc.file, loc.line, loc.col);
}

void emit_check_output(emit_ctx *c, const ir_node *n, const char *kernel, const ir_node *const *rs, int nr)
{
    for (int j = 0; j < nr; j++) {
        const ir_node *v = j ? rs[j] : n;
        if (v->dtype != IR_F32) continue; /* indices (max_pool2d_indices) are never NaN */
        const char *what = arena_printf(c->ar, "the output of %s at %s (kernel %s)", ir_ops[v->op].name,
                                        where(c, v->loc), kernel);
        emit_check_call(c, c->calls, emit_value_name(c, v), emit_numel(c, &v->shape), what);
    }
}

void emit_check_param(emit_ctx *c, FILE *f, int pi, int64_t offset)
{
    const ir_param *p = &c->mod->params[pi];
    const char *what = arena_printf(c->ar, "parameter '%s' (declared at %s) after the optimizer update", p->name,
                                    where(c, p->site));
    emit_check_call(c, f, arena_printf(c->ar, "m->params + %" PRId64, offset),
                    emit_numel(c, &p->shape), what);
}
