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

static int single(const ir_graph *g) { return g->n_inputs == 1 && g->n_outputs == 1; }

static int64_t numel_at(const ir_shape *s, int64_t t)
{
    const ir_dim n = ir_shape_numel(s);
    return n.k * (n.syms & 2u ? t : 1);
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

void deploy_put_sizes(FILE *h, const ir_module *m, int64_t t)
{
    const ir_graph *g = m->forward;
    const int one = single(g);
    for (int k = 0; k < g->n_inputs; k++) {
        const int ids = g->inputs[k].dtype == IR_I32;
        const int64_t vocab = ids ? id_bound(g, k) : 0;
        hdef(h, m->name, one ? (ids ? "IN_IDS" : "IN_FLOATS") : "IN", one ? NULL : g->inputs[k].name,
             one ? "" : ids ? "IDS" : "FLOATS", numel_at(&g->inputs[k].shape, t),
             ids ? "int32_t ids of one input sample (row-major)" : "floats of one input sample (row-major)");
        if (vocab > 0)
            hdef(h, m->name, one ? "VOCAB" : "IN", one ? NULL : g->inputs[k].name, one ? "" : "VOCAB", vocab,
                 "every id in [0, VOCAB), or the call returns -1");
    }
    for (int k = 0; k < g->n_outputs; k++)
        hdef(h, m->name, one ? "OUT_FLOATS" : "OUT", one ? NULL : g->outputs[k].name, one ? "" : "FLOATS",
             numel_at(&g->outputs[k].node->shape, t), "floats of one sample's output");
}

void deploy_put_signature(FILE *f, arena *ar, const ir_module *m)
{
    const ir_graph *g = m->forward;
    fprintf(f, "int %s_infer(const float *weights, void *arena", m->name);
    for (int k = 0; k < g->n_inputs; k++)
        fprintf(f, ", const %s *%s", g->inputs[k].dtype == IR_I32 ? "int32_t" : "float", deploy_arg_name(ar, g, 1, k));
    for (int k = 0; k < g->n_outputs; k++) fprintf(f, ", float *%s", deploy_arg_name(ar, g, 0, k));
    fprintf(f, ", int n)");
}

int deploy_has_ids(const ir_module *m)
{
    for (int k = 0; k < m->forward->n_inputs; k++)
        if (m->forward->inputs[k].dtype == IR_I32) return 1;
    return 0;
}

void deploy_put_checks(FILE *f, arena *ar, const ir_module *m, int64_t max_batch, int64_t t)
{
    const ir_graph *g = m->forward;
    int any = 0;
    for (int k = 0; k < g->n_inputs; k++) any |= g->inputs[k].dtype == IR_I32 && id_bound(g, k) > 0;
    fprintf(f, "    if (n < 1 || n > %" PRId64 " || !weights || !arena", max_batch);
    for (int k = 0; k < g->n_inputs; k++) fprintf(f, " || !%s", deploy_arg_name(ar, g, 1, k));
    for (int k = 0; k < g->n_outputs; k++) fprintf(f, " || !%s", deploy_arg_name(ar, g, 0, k));
    fprintf(f, ") return -1;\n");
    if (any) fprintf(f, "    {\n        int64_t i;\n");
    for (int k = 0; k < g->n_inputs; k++) {
        const int64_t vocab = g->inputs[k].dtype == IR_I32 ? id_bound(g, k) : 0;
        if (vocab > 0)
            fprintf(f, "        for (i = 0; i < (int64_t)n * %" PRId64 "; i++) /* before any read of a table */\n"
                       "            if (%s[i] < 0 || %s[i] >= %" PRId64 ") return -1;\n",
                    numel_at(&g->inputs[k].shape, t), deploy_arg_name(ar, g, 1, k), deploy_arg_name(ar, g, 1, k), vocab);
    }
    if (any) fprintf(f, "    }\n");
}

const char *deploy_forward_args(arena *ar, const ir_module *m)
{
    const ir_graph *g = m->forward;
    const char *s = "";
    for (int k = 0; k < g->n_inputs; k++) s = arena_printf(ar, "%s%s, ", s, deploy_arg_name(ar, g, 1, k));
    for (int k = 0; k < g->n_outputs; k++) s = arena_printf(ar, "%s%s, ", s, deploy_arg_name(ar, g, 0, k));
    return s;
}
