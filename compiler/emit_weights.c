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
