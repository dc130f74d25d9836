/* deploy_fold.c — `dlnc export`'s constants: what the forward computes from
 * the weights alone is computed once, here, and batch norm goes into the
 * convolution or dense layer before it.
 *
 * Why after the passes: pass_epilogue already rewrites an inference batch
 * norm as a per-channel affine, mul(x, A) then add(., B') with A = G / S and
 * B' = B - M * A, but A and B' are small kernels the trained model runs on
 * every call, because its weights change. In an export they do not, so:
 *   1. bake: every materialized value computed from parameters and constants
 *      alone (A, B', a sqrt of running variances, ...) is evaluated by the
 *      reference interpreter and becomes a new parameter holding its values;
 *   2. fold: mul(conv2d(x, W), A) with A per output channel, W used only
 *      there and the mul an inner member of the conv's group, becomes
 *      conv2d(x, W * A): each output channel's filter is scaled and the mul
 *      is gone. The same with the conv's bias between them,
 *      mul(add(conv2d(x, W), b), A) -> add(conv2d(x, W * A), b * A), and for
 *      a dense layer, matmul(x, W^T) (per output unit) before batch_norm1d.
 *   3. parameters the forward no longer reads (running statistics, gamma,
 *      beta, the baked-away A) are emptied, so the weights hold none of them.
 * A batch norm with no convolution or dense layer right before it stays a
 * per-channel scale and shift (one multiply-add per element, A and B' baked). */
#include <stdlib.h>
#include <string.h>

#include "deploy.h"
#include "interp.h"
#include "passes.h"

typedef struct fold_ctx {
    ir_module *m;
    ir_graph *g;
    float **params; /* by parameter index */
    int cap;
} fold_ctx;

static int64_t numel(const ir_shape *s) { return ir_shape_numel(s).k; }

/* A new parameter holding vals (numel of shape); its node is appended (bake moves it first). */
static ir_node *new_param(fold_ctx *c, const ir_node *like, float *vals)
{
    const char *name = arena_printf(c->m->ar, "export.t%d", like->id);
    ir_init init = {0};
    int idx = ir_module_add_param(c->m, name, like->shape, init, 0, like->loc);
    if (idx >= c->cap) {
        int cap = 2 * idx + 8;
        float **p = ARENA_NEW_ARRAY(c->m->ar, float *, cap);
        memcpy(p, c->params, sizeof *p * (size_t)c->cap);
        c->params = p, c->cap = cap;
    }
    c->params[idx] = vals;
    ir_node *n = ir_param_node(c->g, idx, like->loc);
    n->group = -1, n->offset = -1;
    return n;
}

/* 1. Bake: the values of parameter-only nodes, by the interpreter at N = 1. */
static int bake(fold_ctx *c, diag_ctx *d)
{
    ir_graph *g = c->g;
    const int nid = g->next_id > 0 ? g->next_id : 1, n0 = g->n_nodes, np = c->m->n_params;
    unsigned char *konst = calloc((size_t)nid, 1);
    double **pd = calloc((size_t)np + 1, sizeof *pd);
    int64_t syms[IR_MAX_SYMS] = {1};
    /* every input zero (one buffer, read only, as long as the largest): nothing kept depends on them */
    int64_t in_max = 0;
    for (int k = 0; k < g->n_inputs; k++) in_max = numel(&g->inputs[k].shape) > in_max ? numel(&g->inputs[k].shape) : in_max;
    double *x = calloc((size_t)in_max + 1, sizeof *x);
    double **inputs = calloc((size_t)g->n_inputs + 1, sizeof *inputs);
    int rc = -1;
    if (!konst || !pd || !x || !inputs) goto out;
    for (int k = 0; k < g->n_inputs; k++) inputs[k] = x;
    for (int i = 0; i < np; i++) {
        int64_t n = numel(&c->m->params[i].shape);
        if (!(pd[i] = malloc(sizeof(double) * (size_t)(n + 1)))) goto out;
        for (int64_t j = 0; j < n; j++) pd[i][j] = c->params[i][j];
    }
    for (int i = 0; i < n0; i++) {
        const ir_node *n = g->nodes[i];
        int k = n->op == OP_param || (n->nin > 0 && ir_ops[n->op].kind != IR_SOURCE && n->op != OP_scan);
        for (int j = 0; j < n->nin && k; j++) k = konst[n->in[j]->id];
        if (n->op == OP_constant || n->op == OP_iota) k = 1;
        /* a run-time size in the shape (a class token broadcast to the batch, ones(T) whose sum is T): the
         * value, and what is computed from it, depends on the call, and at N = 1 (T = 0) it would be wrong */
        if (!ir_dim_is_const(ir_shape_numel(&n->shape))) k = 0;
        konst[n->id] = (unsigned char)k;
    }
    interp_state s;
    if (interp_run(&s, g, syms, inputs, pd, 0) != 0) {
        diag_fatal_noloc(d, "%s: internal error: the reference interpreter cannot evaluate the forward", c->m->name);
        goto out;
    }
    for (int i = 0; i < n0; i++) {
        ir_node *n = g->nodes[i];
        if (!konst[n->id] || n->op == OP_param || n->dtype != IR_F32 ||
            (n->storage != IR_STORE_ARENA && n->storage != IR_STORE_STATIC))
            continue;
        int64_t len = numel(&n->shape);
        float *v = ARENA_NEW_ARRAY(c->m->ar, float, len + 1);
        for (int64_t j = 0; j < len; j++) v[j] = (float)s.value[n->id][j];
        ir_replace_uses(g, n, new_param(c, n, v));
    }
    interp_free(&s);
    /* the new parameter nodes (appended after n0) go first: before every use */
    ir_node **order = malloc(sizeof *order * (size_t)g->n_nodes);
    if (!order) goto out;
    memcpy(order, g->nodes + n0, sizeof *order * (size_t)(g->n_nodes - n0));
    memcpy(order + g->n_nodes - n0, g->nodes, sizeof *order * (size_t)n0);
    memcpy(g->nodes, order, sizeof *order * (size_t)g->n_nodes);
    free(order);
    pass_dce(g);
    rc = 0;
out:
    for (int i = 0; pd && i < np; i++) free(pd[i]); /* (the new parameters have none) */
    free(pd), free(konst), free(x), free(inputs);
    return rc;
}

/* A parameter node read by this one use only (through aliases such as reshape): its index, else -1. */
static int sole_param(const ir_node *n)
{
    while (n->storage == IR_STORE_ALIAS && n->nin == 1 && n->n_uses == 1) n = n->in[0];
    return n->op == OP_param && n->n_uses == 1 ? (int)n->a.param.index : -1;
}

/* The per-channel factor of mul node mu's operand other than x: its values when it is a
 * parameter of `ch` values, broadcast along channel axis `axis` of x; else NULL. */
static const float *channel_factor(const fold_ctx *c, const ir_node *f, const ir_node *x, int axis, int64_t ch)
{
    if (f->op != OP_param || numel(&f->shape) != ch || f->shape.rank > x->shape.rank) return NULL;
    int off = x->shape.rank - f->shape.rank; /* right-aligned broadcasting */
    if (axis < off || f->shape.d[axis - off].k != ch) return NULL;
    return c->params[f->a.param.index];
}

/* 2. Fold at mul node mu, if the pattern in the header matches. */
static int fold_at(fold_ctx *c, ir_node *mu)
{
    if (mu->op != OP_mul || mu->group < 0 || mu->group == mu->id || mu->dtype != IR_F32) return 0;
    for (int k = 0; k < 2; k++) {
        ir_node *x = mu->in[k], *bias_add = NULL;
        if (x->op == OP_add && x->n_uses == 1 && x->group == mu->group) bias_add = x, x = NULL;
        for (int kb = 0; kb < 2 && !x; kb++)
            if (bias_add->in[kb]->op == OP_conv2d || bias_add->in[kb]->op == OP_matmul) x = bias_add->in[kb];
        if (!x || x->n_uses != 1 || !ir_shape_eq(&x->shape, &mu->shape)) continue;
        const int conv = x->op == OP_conv2d;
        if (!conv && !(x->op == OP_matmul && x->shape.rank == 2)) continue;
        const int64_t ch = x->shape.d[1].k; /* channels of [N, C, H, W], units of [N, units] */
        const float *a = channel_factor(c, mu->in[1 - k], x, 1, ch);
        int w = sole_param(x->in[1]), b = -1;
        if (!a || w < 0 || (!conv && x->in[1]->op != OP_param)) continue;
        if (bias_add) {
            const ir_node *bn = bias_add->in[bias_add->in[0] == x ? 1 : 0];
            b = sole_param(bn);
            if (b < 0 || numel(&bn->shape) != ch) continue;
        }
        float *wv = c->params[w];
        const int64_t wn = numel(&c->m->params[w].shape), per = wn / ch;
        const int tb = !conv && x->a.matmul.tb;
        for (int64_t j = 0; j < wn; j++) /* conv [oc, ...] and dense W^T [units, K]: rows; W [K, units]: columns */
            wv[j] *= a[conv || tb ? j / per : j % ch];
        if (b >= 0)
            for (int64_t j = 0; j < ch; j++) c->params[b][j] *= a[j];
        ir_replace_uses(c->g, mu, mu->in[k]);
        return 1;
    }
    return 0;
}

/* 3. Empty the parameters the forward does not read: a shape of [0]. */
static void drop_unused(fold_ctx *c)
{
    unsigned char *used = calloc((size_t)c->m->n_params + 1, 1);
    if (!used) return;
    for (int i = 0; i < c->g->n_nodes; i++)
        if (c->g->nodes[i]->op == OP_param) used[c->g->nodes[i]->a.param.index] = 1;
    for (int i = 0; i < c->m->n_params; i++)
        if (!used[i]) c->m->params[i].shape = (ir_shape){.rank = 1, .d = {{0, 0}}};
    free(used);
}

float **deploy_fold(ir_module *m, float **params, int *folded, diag_ctx *d)
{
    fold_ctx c = {.m = m, .g = m->forward, .params = params, .cap = m->n_params};
    *folded = 0;
    ir_count_uses(c.g);
    if (bake(&c, d) != 0) return NULL;
    for (int i = 0; i < c.g->n_nodes; i++) *folded += fold_at(&c, c.g->nodes[i]);
    pass_dce(c.g);
    drop_unused(&c);
    return c.params;
}
