/* deploy_state.c — the carried state of a streaming export (deploy.h).
 *
 * A model with a buffer shaped [N, ...] updated by update() (truncated
 * BPTT's hidden state) is exported with that state kept between calls: the
 * forward elaborated for dlnc export assigns it (elab_output.carry_state),
 * and the state lives in a context the caller owns, <model>_ctx, never in a
 * global, so two streams (two threads) need only two contexts and two
 * arenas. Why a fixed batch per context: row i of a call continues row i of
 * the call before, so a call with another n would mix streams or leave rows
 * stale; it is refused (-1) instead. The context holds MAX_BATCH rows of
 * each buffer at the offsets the forward indexes (m->state + poff *
 * max_batch, as in the training build), so nothing is allocated; reading and
 * writing the state (a saved session) goes through a packed layout, each
 * buffer's `batch` rows one after another, independent of MAX_BATCH. */
#include "deploy.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

int deploy_has_state(const ir_module *m)
{
    for (int i = 0; i < m->n_params; i++)
        if (m->params[i].state) return 1;
    return 0;
}

static int64_t row_floats(const ir_param *q) { return ir_shape_numel(&q->shape).k; }

static void upper(FILE *f, const char *s)
{
    for (; *s; s++) fputc(isalnum((unsigned char)*s) ? toupper((unsigned char)*s) : '_', f);
}

void deploy_put_state_header(FILE *h, const ir_module *m, const emit_forward_layout *L, int64_t max_batch)
{
    const char *p = m->name;
    int64_t row = 0;
    fprintf(h, "\n/* Carried state (streaming). The model keeps ");
    for (int i = 0, k = 0; i < m->n_params; i++)
        if (m->params[i].state) {
            fprintf(h, "%s%s (%" PRId64 " floats a row)", k++ ? ", " : "", m->params[i].name, row_floats(&m->params[i]));
            row += row_floats(&m->params[i]);
        }
    fprintf(h, " from one call\n"
               " * to the next, one row per sample of the batch: row i of a call continues the stream of row i\n"
               " * of the call before (a long sequence fed in chunks gives the outputs of feeding it at once).\n"
               " * The state lives in a %s_ctx the caller owns (on the stack, static or allocated), never in\n"
               " * a global: one context per stream of batches. Threads: the weights are only read and a call\n"
               " * writes only its context, its arena and its outputs, so calls on distinct contexts with\n"
               " * distinct arenas may run at the same time; one context (or arena) is one call at a time. (The\n"
               " * file's one shared variable, its error flag, is written only by a lookup failing inside the\n"
               " * forward, an id past a table reached through arithmetic, and by the call after that one.)\n"
               " *\n"
               " *     %s_ctx ctx;\n"
               " *     %s_ctx_init(&ctx, n);                 (every row at its initial value)\n"
               " *     for each chunk: %s_infer(&ctx, NULL, arena, chunk, out, n);\n"
               " *     %s_ctx_reset(&ctx, i);                (row i starts a new stream; -1: every row)\n"
               " */\n",
            p, p, p, p, p);
    fprintf(h, "#define ");
    upper(h, p);
    fprintf(h, "_STATE_FLOATS %" PRId64 " /* floats of one row's state: the buffers above, one after another */\n", row);
    fprintf(h, "typedef struct %s_ctx {\n"
               "    int batch;    /* the n of every call: the rows of state kept */\n"
               "    float state[%" PRId64 "]; /* private: each buffer's MAX_BATCH rows, as the forward reads them */\n"
               "} %s_ctx;\n",
            p, L->state_floats * max_batch > 0 ? L->state_floats * max_batch : 1, p);
    fprintf(h, "/* Sets the context up for calls of n = batch samples, every row at its initial value.\n"
               " * Returns 0, or -1 (batch outside [1, MAX_BATCH], ctx NULL). */\n"
               "int %s_ctx_init(%s_ctx *ctx, int batch);\n", p, p);
    fprintf(h, "/* Row `row` back to its initial value (a new stream starts there), or every row for row = -1.\n"
               " * Returns 0, or -1 (row outside [-1, batch), ctx NULL). */\n"
               "int %s_ctx_reset(%s_ctx *ctx, int row);\n", p, p);
    fprintf(h, "/* The state, batch * STATE_FLOATS floats: each buffer's batch rows in turn (a saved session), and\n"
               " * back (a session restored into a context of the same batch). Return 0, or -1 (a NULL pointer). */\n"
               "int %s_ctx_get_state(const %s_ctx *ctx, float *state);\n"
               "int %s_ctx_set_state(%s_ctx *ctx, const float *state);\n", p, p, p, p);
}

/* For each carried buffer, what of get (context to packed), set (packed to context) or reset (rows lo..hi-1). */
static void each_buffer(FILE *c, const ir_module *m, const emit_forward_layout *L, int64_t max_batch, const char *what)
{
    int64_t packed = 0;
    for (int i = 0; i < m->n_params; i++) {
        const ir_param *q = &m->params[i];
        if (!q->state) continue;
        const int64_t at = L->param_offset[i] * max_batch, n = row_floats(q);
        if (!strcmp(what, "get"))
            fprintf(c, "    memcpy(state + %" PRId64 " * ctx->batch, ctx->state + %" PRId64 ", (size_t)ctx->batch * %" PRId64
                       " * sizeof *state); /* %s */\n", packed, at, n, q->name);
        else if (!strcmp(what, "set"))
            fprintf(c, "    memcpy(ctx->state + %" PRId64 ", state + %" PRId64 " * ctx->batch, (size_t)ctx->batch * %" PRId64
                       " * sizeof *state); /* %s */\n", at, packed, n, q->name);
        else { /* reset rows [lo, hi): the training build's reset_state values */
            const double v = q->init.kind == IR_INIT_ONES ? 1.0 : q->init.kind == IR_INIT_CONSTANT ? q->init.a : 0.0;
            fprintf(c, "    for (i = lo * %" PRId64 "; i < hi * %" PRId64 "; i++) ctx->state[%" PRId64 " + i] = (float)%.9g; /* %s */\n",
                    n, n, at, v, q->name);
        }
        packed += n;
    }
}

void deploy_put_state_functions(FILE *c, const ir_module *m, const emit_forward_layout *L, int64_t max_batch)
{
    const char *p = m->name;
    fprintf(c, "int %s_ctx_reset(%s_ctx *ctx, int row)\n{\n    int64_t i, lo, hi;\n"
               "    if (!ctx || ctx->batch < 1 || ctx->batch > %" PRId64 " || row < -1 || row >= ctx->batch) return -1;\n"
               "    lo = row < 0 ? 0 : row, hi = row < 0 ? ctx->batch : row + 1;\n",
            p, p, max_batch);
    each_buffer(c, m, L, max_batch, "reset");
    fprintf(c, "    return 0;\n}\n\n");
    fprintf(c, "int %s_ctx_init(%s_ctx *ctx, int batch)\n{\n"
               "    if (!ctx || batch < 1 || batch > %" PRId64 ") return -1;\n"
               "    memset(ctx, 0, sizeof *ctx);\n    ctx->batch = batch;\n    return %s_ctx_reset(ctx, -1);\n}\n\n",
            p, p, max_batch, p);
    fprintf(c, "int %s_ctx_get_state(const %s_ctx *ctx, float *state)\n{\n"
               "    if (!ctx || !state || ctx->batch < 1 || ctx->batch > %" PRId64 ") return -1;\n", p, p, max_batch);
    each_buffer(c, m, L, max_batch, "get");
    fprintf(c, "    return 0;\n}\n\n");
    fprintf(c, "int %s_ctx_set_state(%s_ctx *ctx, const float *state)\n{\n"
               "    if (!ctx || !state || ctx->batch < 1 || ctx->batch > %" PRId64 ") return -1;\n", p, p, max_batch);
    each_buffer(c, m, L, max_batch, "set");
    fprintf(c, "    return 0;\n}\n\n");
}
