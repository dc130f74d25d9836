/* emit_decode.c — <model>_decode: the forward graph over new positions only.
 *
 * decode_analyze (decode.c) has checked that every op of the forward graph
 * keeps positions apart, except the causal self-attentions (which read their
 * caches) and the ranges over T (which count from pos). So the decode step
 * is forward's own kernels called with T = the number of new positions, plus
 * a position offset for those few: one graph, two entry points. The caches
 * live in m->kv, each [max_batch * heads-independent rows, max_T, E] so that
 * a row of keys never moves once written. */
#include <inttypes.h>

#include "emit_internal.h"

void emit_decode_signature(FILE *f, const ir_module *m, int header)
{
    fprintf(f, "void %s_decode(%s_model *m", m->name, m->name);
    emit_step_params(f, m, EMIT_STEP_FORWARD, header);
    fprintf(f, ", int64_t pos)");
}

void emit_decode_checks(FILE *f, const ir_module *m)
{
    fprintf(f, "    if (pos < 0 || pos > m->sym_max[1] - sym1) {\n");
    fprintf(f, "        dl_set_error(\"%s_decode: positions %%lld..%%lld do not fit the caches of max_%s = %%lld positions\", "
               "(long long)pos, (long long)(pos + sym1 - 1), (long long)m->sym_max[1]);\n        return;\n    }\n",
            m->name, m->syms[1].name);
}

const char *emit_decode_kcache(emit_ctx *c, const ir_node *n) { return arena_printf(c->ar, "kc%d", n->id); }
const char *emit_decode_vcache(emit_ctx *c, const ir_node *n) { return arena_printf(c->ar, "vc%d", n->id); }

void emit_decode_caches(FILE *h, const ir_module *m, const ir_graph *g, const decode_plan *p)
{
    (void)m;
    fprintf(h, "    const int64_t kv_unit = m->sym_max[0] * m->sym_max[1]; /* max_batch * max_%s */\n", m->syms[1].name);
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        if (p->role[n->id] != DECODE_CACHED) continue;
        fprintf(h, "    float *const kc%d = m->kv + %" PRId64 " * kv_unit, *const vc%d = m->kv + %" PRId64
                   " * kv_unit; /* keys and values of attention %%%d */\n",
                n->id, p->kv_off[n->id], n->id, p->kv_off[n->id] + p->kv_row_k[n->id], n->id);
    }
}

void emit_decode_header(FILE *h, const ir_module *m)
{
    const char *T = m->syms[1].name;
    fprintf(h, "/* Incremental inference: the outputs at positions pos .. pos + %s - 1 given only the inputs\n"
               " * there, the earlier positions' keys and values being in the model's caches (written by the\n"
               " * calls that computed them). Call with pos = 0 for a prompt, then with each new token at the\n"
               " * next position: the outputs equal forward's over the whole sequence, at O(%s) cost per\n"
               " * position instead of O(%s^2). pos + %s must not exceed max_%s. */\n", T, T, T, T, T);
    emit_decode_signature(h, m, 1);
    fprintf(h, ";\n");
}

void emit_decode_io(FILE *f, const ir_module *m)
{
    const char *p = m->name;
    fprintf(f, "static void %s_io_decode(void *m, const void *const *in, void *const *out, int64_t n, const int64_t *syms, "
               "int64_t pos)\n{\n    %s_decode(m", p, p);
    for (int i = 0; i < m->forward->n_inputs; i++) fprintf(f, ", in[%d]", i);
    for (int k = 0; k < emit_n_outputs(m); k++) fprintf(f, ", out[%d]", k);
    fprintf(f, ", n, syms[0], pos);\n}\n");
}
