/* deploy_iface.c — the interface of an export (deploy.h): the header's
 * macros and prototype, and the arguments and checks of <model>_infer.
 *
 * One input and one output keep the first interface's names (x, out,
 * <MODEL>_IN_FLOATS or _IN_IDS, _VOCAB, _OUT_FLOATS), so a program written
 * for an image classifier's export reads a token model's the same way.
 * Several inputs or outputs are named after the model's: in_<name>,
 * out_<name> (prefixed, so that no name can meet weights, arena or n) and
 * <MODEL>_IN_<NAME>_FLOATS, ..., in the model's order, which is also the
 * order of <model>_forward's arguments. */
#include "deploy.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

static int single(const ir_graph *g) { return g->n_inputs == 1 && emit_n_values(g) == 1; }

/* Per sample: the batch (symbol 0) left out, each other symbol at its exported value. */
static int64_t numel_at(const ir_shape *s, const int64_t *len)
{
    const ir_dim n = ir_shape_numel(s);
    int64_t v = n.k;
    for (int k = 1; k < IR_MAX_SYMS; k++)
        if (n.syms >> k & 1u) v *= len[k];
    return v;
}

/* The ids input k may hold, [0, bound): the smallest table a take (or axis a
 * gather) reading the input directly indexes; 0 when none does (then only
 * the forward's own checks stand between an id and a read). <model>_infer
 * checks every id against it before the forward runs, so a bad id leaves the
 * outputs unwritten. */
static int64_t id_bound(const ir_graph *g, int k)
{
    int64_t bound = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        int64_t b = 0;
        if (n->op == OP_take && n->in[1] == g->inputs[k].node) b = n->in[0]->shape.d[0].k;
        if (n->op == OP_gather && n->in[1] == g->inputs[k].node) b = n->in[0]->shape.d[n->a.gather.axis].k;
        if (b > 0 && (bound == 0 || b < bound)) bound = b;
    }
    return bound;
}

static void upper(FILE *f, const char *s)
{
    for (; *s; s++) fputc(isalnum((unsigned char)*s) ? toupper((unsigned char)*s) : '_', f);
}

/* #define <MODEL>_<part>[_<NAME>]_<what> value comment */
static void hdef(FILE *h, const char *model, const char *part, const char *name, const char *what, int64_t v,
                 const char *comment)
{
    fprintf(h, "#define ");
    upper(h, model);
    fprintf(h, "_%s", part);
    if (name) fputc('_', h), upper(h, name);
    fprintf(h, "%s%s %" PRId64 " /* %s */\n", *what ? "_" : "", what, v, comment);
}

const char *deploy_arg_name(arena *ar, const ir_graph *g, int input, int k)
{
    if (single(g)) return input ? "x" : "out";
    return arena_printf(ar, "%s_%s", input ? "in" : "out", input ? g->inputs[k].name : g->outputs[k].name);
}

void deploy_put_sizes(FILE *h, const ir_module *m, const int64_t *len)
{
    const ir_graph *g = m->forward;
    const int one = single(g);
    for (int k = 0; k < g->n_inputs; k++) {
        const int ids = g->inputs[k].dtype == IR_I32;
        const int64_t vocab = ids ? id_bound(g, k) : 0;
        hdef(h, m->name, one ? (ids ? "IN_IDS" : "IN_FLOATS") : "IN", one ? NULL : g->inputs[k].name,
             one ? "" : ids ? "IDS" : "FLOATS", numel_at(&g->inputs[k].shape, len),
             ids ? "int32_t ids of one input sample (row-major)" : "floats of one input sample (row-major)");
        if (vocab > 0)
            hdef(h, m->name, one ? "VOCAB" : "IN", one ? NULL : g->inputs[k].name, one ? "" : "VOCAB", vocab,
                 "every id in [0, VOCAB), or the call returns -1");
    }
    for (int k = 0; k < emit_n_values(g); k++) {
        const int ids = g->outputs[k].node->dtype == IR_I32;
        hdef(h, m->name, one ? (ids ? "OUT_IDS" : "OUT_FLOATS") : "OUT", one ? NULL : g->outputs[k].name,
             one ? "" : ids ? "IDS" : "FLOATS", numel_at(&g->outputs[k].node->shape, len),
             ids ? "int32_t values of one sample's output" : "floats of one sample's output");
    }
}

void deploy_put_signature(FILE *f, arena *ar, const ir_module *m)
{
    const ir_graph *g = m->forward;
    fprintf(f, "int %s_infer(", m->name);
    if (deploy_has_state(m)) fprintf(f, "%s_ctx *ctx, ", m->name);
    fprintf(f, "const float *weights, void *arena");
    for (int k = 0; k < g->n_inputs; k++)
        fprintf(f, ", const %s *%s", g->inputs[k].dtype == IR_I32 ? "int32_t" : "float", deploy_arg_name(ar, g, 1, k));
    for (int k = 0; k < emit_n_values(g); k++)
        fprintf(f, ", %s *%s", g->outputs[k].node->dtype == IR_I32 ? "int32_t" : "float", deploy_arg_name(ar, g, 0, k));
    fprintf(f, ", int n)");
}

int deploy_has_ids(const ir_module *m)
{
    for (int k = 0; k < m->forward->n_inputs; k++)
        if (m->forward->inputs[k].dtype == IR_I32) return 1;
    return 0;
}

int deploy_has_int32(const ir_module *m)
{
    for (int k = 0; k < emit_n_values(m->forward); k++)
        if (m->forward->outputs[k].node->dtype == IR_I32) return 1;
    return deploy_has_ids(m);
}

int64_t deploy_stage_floats(const ir_module *m, int64_t max_batch, const int64_t *len, int64_t *off)
{
    int64_t floats = 0;
    for (int k = 0; k < emit_n_values(m->forward); k++) {
        off[k] = floats;
        floats += (numel_at(&m->forward->outputs[k].node->shape, len) * max_batch + 15) / 16 * 16;
    }
    return floats;
}

void deploy_put_copy_out(FILE *f, arena *ar, const ir_module *m, const int64_t *len, int64_t base, const int64_t *off)
{
    const ir_graph *g = m->forward;
    fprintf(f, "    if (dl_error_text) return -1; /* the outputs untouched: the forward wrote into the arena */\n");
    for (int k = 0; k < emit_n_values(g); k++)
        fprintf(f, "    memcpy(%s, m.act + %" PRId64 ", (size_t)n * %" PRId64 " * sizeof *%s);\n",
                deploy_arg_name(ar, g, 0, k), base + off[k], numel_at(&g->outputs[k].node->shape, len),
                deploy_arg_name(ar, g, 0, k));
    fprintf(f, "    return 0;\n");
}

void deploy_put_checks(FILE *f, arena *ar, const ir_module *m, int64_t max_batch, const int64_t *len)
{
    const ir_graph *g = m->forward;
    int any = 0;
    for (int k = 0; k < g->n_inputs; k++) any |= g->inputs[k].dtype == IR_I32 && id_bound(g, k) > 0;
    fprintf(f, "    if (n < 1 || n > %" PRId64 " || !weights || !arena", max_batch);
    if (deploy_has_state(m)) fprintf(f, " || !ctx || n != ctx->batch"); /* the rows of state it keeps */
    for (int k = 0; k < g->n_inputs; k++) fprintf(f, " || !%s", deploy_arg_name(ar, g, 1, k));
    for (int k = 0; k < emit_n_values(g); k++) fprintf(f, " || !%s", deploy_arg_name(ar, g, 0, k));
    fprintf(f, ") return -1;\n");
    if (any) fprintf(f, "    {\n        int64_t i;\n");
    for (int k = 0; k < g->n_inputs; k++) {
        const int64_t vocab = g->inputs[k].dtype == IR_I32 ? id_bound(g, k) : 0;
        if (vocab > 0)
            fprintf(f, "        for (i = 0; i < (int64_t)n * %" PRId64 "; i++) /* before any read of a table */\n"
                       "            if (%s[i] < 0 || %s[i] >= %" PRId64 ") return -1;\n",
                    numel_at(&g->inputs[k].shape, len), deploy_arg_name(ar, g, 1, k), deploy_arg_name(ar, g, 1, k), vocab);
    }
    if (any) fprintf(f, "    }\n");
}

const char *deploy_forward_args(arena *ar, const ir_module *m, int64_t base, const int64_t *off)
{
    const ir_graph *g = m->forward;
    const char *s = "";
    for (int k = 0; k < g->n_inputs; k++) s = arena_printf(ar, "%s%s, ", s, deploy_arg_name(ar, g, 1, k));
    for (int k = 0; k < emit_n_values(g); k++) {
        const int ids = g->outputs[k].node->dtype == IR_I32;
        if (off) s = arena_printf(ar, "%s%sm.act + %" PRId64 "%s, ", s, ids ? "(int32_t *)(void *)(" : "", base + off[k], ids ? ")" : "");
        else s = arena_printf(ar, "%s%s, ", s, deploy_arg_name(ar, g, 0, k));
    }
    return s;
}
