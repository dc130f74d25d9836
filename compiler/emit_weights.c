/* emit_weights.c — the generated side of runtime/gemm_weights.c and
 * runtime/conv_winograd_weights.c: products and convolutions by weights
 * that keep the weights packed (transformed) between calls.
 *
 * Why in the generated code: only the model knows when its parameters are
 * written. Each model carries `wver`, a version from dl_weights_version()
 * (unique in the process), taken anew after every write the model makes or
 * sees: create, init, load, each optimizer step, state updates. forward and
 * eval_step pass it to dl_sgemm_w, which repacks a weight when the version it
 * holds differs. A caller can also write parameters through the pointers
 * <model>_param() and the descriptor's param_data hand out, at any later
 * time; once one has been handed out (params_exposed), every forward and
 * eval_step takes a new version first, so it packs again: slower, never
 * stale. train_step keeps plain dl_sgemm: its weights change every step. */
#include "emit_internal.h"

void emit_weights_fields(FILE *f)
{
    fprintf(f, "    uint64_t wver;         /* the parameters' version: new after every write (dl_sgemm_w's key) */\n");
    fprintf(f, "    int params_exposed;    /* a writable parameter pointer was handed out: new version every step */\n");
}

void emit_weights_prologue(FILE *h)
{
    fprintf(h, "    if (m->params_exposed) m->wver = dl_weights_version(); /* written through a pointer? */\n");
}

/* Whether b is a stored, non-state parameter of a step that keeps derived
 * forms of its weights (marks the step as using wver). */
static int weights_param(emit_ctx *c, const ir_node *b)
{
    if (!c->weights_cached || c->in_body || c->serial) return 0;
    while (b->storage == IR_STORE_ALIAS) b = b->in[0];
    if (b->storage != IR_STORE_PARAM || c->mod->params[b->a.param.index].state) return 0;
    c->weights_cached_used = 1;
    return 1;
}

/* A convolution by w passes this as its weights version: dl_conv2d_*_w keep
 * Winograd's transformed filters while it stays the same. */
const char *emit_weights_conv_version(emit_ctx *c, const ir_node *w)
{
    return weights_param(c, w) ? "m->wver" : "0";
}

int emit_weights_cached_b(emit_ctx *c, const ir_node *b)
{
    if (!weights_param(c, b)) return 0;
    c->extra_params = "uint64_t wver";
    c->extra_args = "m->wver";
    return 1;
}

/* Statics from parameters (pass_plan): in forward and eval_step, values that
 * depend on the weights alone, such as an inference batch norm's
 * scale = gamma / sqrt(var + eps) and shift = beta - mean * scale, are
 * computed once per weights version instead of on every call: the same
 * `wver` that keeps packed panels fresh guards them, and every write of the
 * parameters or running statistics (init, load, optimizer step, state
 * updates, an exposed pointer) takes a new one. */
/* u is a parameter, or an alias or fused member (INLINE: computed inside
 * its root's kernel) that reads one: a group `exp(add(p, 1))` reads p only
 * through its member. */
static int reads_param(const ir_node *u)
{
    while (u->storage == IR_STORE_ALIAS) u = u->in[0];
    if (u->storage == IR_STORE_PARAM) return 1;
    if (u->storage != IR_STORE_INLINE || u->op == OP_scan) return 0;
    for (int k = 0; k < u->nin; k++)
        if (reads_param(u->in[k])) return 1;
    return 0;
}

int emit_statics_read_params(const ir_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        if (n->storage != IR_STORE_STATIC) continue;
        for (int k = 0; k < n->nin; k++)
            if (reads_param(n->in[k])) return 1;
    }
    return 0;
}

void emit_statics_open(FILE *out, const ir_graph *g, int kind, int versioned)
{
    if (!emit_statics_read_params(g))
        fprintf(out, "    if (!(m->statics_ready & %du)) {\n", 1 << kind);
    else if (versioned)
        fprintf(out, "    if (!(m->statics_ready & %du) || m->statics_wver[%d] != m->wver) { /* weights changed */\n",
                1 << kind, kind);
    else fprintf(out, "    { /* from parameters, and no version kept: every call */\n");
}

void emit_statics_close(FILE *out, const ir_graph *g, int kind, int versioned)
{
    if (emit_statics_read_params(g) && versioned) fprintf(out, "        m->statics_wver[%d] = m->wver;\n", kind);
    fprintf(out, "        m->statics_ready |= %du;\n    }\n", 1 << kind);
}
