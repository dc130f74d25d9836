/* autodiff.c — reverse-mode differentiation, as a graph transformation.
 *
 * Given a scalar y, walk the nodes y depends on in reverse topological order
 * (the graph order reversed) and, for each node with an accumulated gradient,
 * call its op's VJP from the op table; the VJP appends ordinary IR nodes and
 * hands each input's contribution to ad_accum. Only nodes that lie between a
 * wanted target (trainable parameter, requested input, or the x of
 * grad(y, x)) and y get gradients: labels, constants and frozen weights
 * generate no backward work. Integer values never get a gradient.
 *
 * ad_accum is the single place that undoes broadcasting: a contribution at
 * a broadcast shape is summed over the broadcast axes (reduce_sum) and
 * reshaped to its target's shape. Several contributions are added. */
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"

/* The sum of t over the axes along which it was broadcast to reach `to`. */
static ir_node *sum_to(ir_graph *g, ir_node *t, const ir_shape *to) {
    if (ir_shape_eq(&t->shape, to)) return t;
    ir_shape joint;
    if (ir_broadcast_shapes(to, &t->shape, &joint) && ir_shape_eq(&joint, to))
        return ir_broadcast(g, t, to); /* a smaller contribution (e.g. a scalar) */
    uint32_t axes = 0;
    int lead = t->shape.rank - to->rank;
    for (int i = 0; i < t->shape.rank; i++) {
        int j = i - lead;
        if (j < 0 || !ir_dim_eq(to->d[j], t->shape.d[i])) axes |= 1u << i;
    }
    /* usually the broadcast axes are leading ones (a bias over a batch):
     * then dropping them gives the target directly, with no reshape */
    ir_shape dropped = {0};
    for (int i = 0; i < t->shape.rank; i++)
        if (!(axes & (1u << i))) dropped.d[dropped.rank++] = t->shape.d[i];
    int keep = !ir_shape_eq(&dropped, to);
    ir_node *r = ir_reduce_sum(g, t, axes, keep);
    return ir_shape_eq(&r->shape, to) ? r : ir_reshape(g, r, to);
}

int ad_wants(const ad_ctx *c, const ir_node *x) {
    return x->id < c->n_grad && c->wanted[x->id] && x->dtype == IR_F32;
}

void ad_fail(ad_ctx *c, const char *message) {
    if (!c->fail) c->fail = message;
}

void ad_accum(ad_ctx *c, ir_node *x, ir_node *contrib) {
    if (!ad_wants(c, x)) return;
    contrib = sum_to(c->g, contrib, &x->shape);
    ir_node *prev = c->grad[x->id];
    c->grad[x->id] = prev ? ir_bin(c->g, OP_add, prev, contrib) : contrib;
}

static int index_of(const ir_graph *g, const ir_node *n) {
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i] == n) return i;
    return -1;
}

/* Fill c->grad for every node between the ys and a node marked in c->wanted
 * (on entry: the targets), starting from gradient seeds[k] at ys[k] (NULL:
 * the scalar 1). Returns 0, or -1 after reporting a node whose op has no
 * VJP. The caller frees c->grad and c->wanted. */
static int backward(ad_ctx *c, ir_node *const *ys, ir_node *const *seeds, int n_ys, diag_ctx *d) {
    ir_graph *g = c->g;
    int top = -1;
    for (int k = 0; k < n_ys; k++) {
        int at = index_of(g, ys[k]);
        if (at < 0) return -1;
        if (at > top) top = at;
    }
    if (top < 0) return 0;
    /* forward: wanted = depends on a target; stop_grad and integers cut it
     * (a stop_grad node stays wanted when it is a target itself: PGD's
     * grad(loss, x_k) at a detached batch x_k) */
    for (int i = 0; i <= top; i++) {
        ir_node *n = g->nodes[i];
        if (n->dtype != IR_F32) {
            c->wanted[n->id] = 0;
            continue;
        }
        if (n->op == OP_stop_grad) continue;
        for (int k = 0; k < n->nin && !c->wanted[n->id]; k++) c->wanted[n->id] = c->wanted[n->in[k]->id];
    }
    /* backward: keep only what the ys depend on */
    unsigned char *reach = calloc((size_t)c->n_grad, 1);
    if (!reach) return -1;
    for (int k = 0; k < n_ys; k++) reach[ys[k]->id] = 1;
    for (int i = top; i >= 0; i--) {
        ir_node *n = g->nodes[i];
        if (!reach[n->id]) continue;
        for (int k = 0; k < n->nin; k++) reach[n->in[k]->id] = 1;
    }
    for (int i = 0; i < c->n_grad; i++) c->wanted[i] &= reach[i];
    free(reach);
    for (int k = 0; k < n_ys; k++) {
        ir_node *y = ys[k];
        if (!c->wanted[y->id]) continue;
        ir_node *s = seeds && seeds[k] ? seeds[k] : NULL;
        if (!s) { /* d y / d y: said of y's own line */
            s = ir_const(g, 1.0, &y->shape);
            s->loc = y->loc, s->site = y->site, s->site_block = y->site_block;
        }
        c->grad[y->id] = c->grad[y->id] ? ir_bin(g, OP_add, c->grad[y->id], s) : s;
    }
    int rc = 0;
    const char *reported = NULL; /* the last ad_fail message reported, and where */
    src_loc at = {0};
    for (int i = top; i >= 0; i--) {
        ir_node *n = g->nodes[i]; /* re-read: VJPs append and may move the array */
        ir_node *gy = c->grad[n->id];
        int feeds_target = 0;
        for (int k = 0; k < n->nin; k++) feeds_target |= c->wanted[n->in[k]->id];
        if (!gy || !feeds_target) continue;
        const ir_op_info *info = &ir_ops[n->op];
        if (!info->vjp) {
            if (d) diag_error(d, n->loc, "cannot differentiate through '%s'", info->name);
            rc = -1;
            continue;
        }
        /* The nodes of n's VJP take n's position in the .dln (and its user
         * call site) and remember n's op: a backward kernel's comment, and a
         * --check-numerics message about it, then point at the op it
         * differentiates rather than at whatever its first input happened to
         * come from (often nothing). */
        int first = g->n_nodes;
        info->vjp(c, n, gy);
        if (c->fail) { /* once per message and line: dq, dk and dv of one op fail alike */
            if (d && (c->fail != reported || n->loc.line != at.line || n->loc.col != at.col))
                diag_error(d, n->loc, "%s", c->fail);
            reported = c->fail, at = n->loc;
            c->fail = NULL;
            rc = -1;
        }
        for (int k = first; k < g->n_nodes; k++) {
            ir_node *b = g->nodes[k];
            b->loc = n->loc, b->site = n->site, b->site_block = n->site_block;
            b->grad_of = 1 + (int)n->op;
        }
    }
    return rc;
}

static int ctx_init(ad_ctx *c, ir_graph *g) {
    c->g = g;
    c->n_grad = g->next_id;
    c->grad = calloc((size_t)c->n_grad, sizeof *c->grad);
    c->wanted = calloc((size_t)c->n_grad, 1);
    c->fail = NULL;
    return c->grad && c->wanted ? 0 : -1;
}

static void ctx_free(ad_ctx *c) {
    free(c->grad);
    free(c->wanted);
}

int ad_differentiate(ir_graph *g, ir_node *loss, const int *wrt_inputs, int n_wrt, diag_ctx *d) {
    ad_ctx c;
    if (!loss || ctx_init(&c, g) < 0) return -1;
    ir_module *m = g->mod;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = g->nodes[i];
        if (n->op == OP_param && m && m->params[n->a.param.index].trainable) c.wanted[n->id] = 1;
    }
    for (int k = 0; k < n_wrt; k++)
        if (wrt_inputs[k] >= 0 && wrt_inputs[k] < g->n_inputs) c.wanted[g->inputs[wrt_inputs[k]].node->id] = 1;
    int rc = backward(&c, &loss, NULL, 1, d);
    ir_node **pgrad = NULL; /* by param index: its gradient */
    if (rc == 0 && m && !(pgrad = calloc((size_t)m->n_params + 1, sizeof *pgrad))) {
        if (d) diag_fatal_noloc(d, "out of memory");
        rc = -1;
    }
    if (rc == 0 && m) {
        for (int i = 0; i < g->n_nodes; i++) {
            ir_node *n = g->nodes[i];
            int64_t p = n->a.param.index; /* meaningful for OP_param only, tested below */
            if (n->op == OP_param && n->id < c.n_grad && p >= 0 && p < m->n_params && !pgrad[p]) pgrad[p] = c.grad[n->id];
        }
        for (int p = 0; p < m->n_params; p++) {
            if (!m->params[p].trainable) continue;
            ir_node *gp = pgrad[p];
            if (!gp) { /* the loss does not reach it: zeros, said of the parameter's declaration */
                gp = ir_const(g, 0.0, &m->params[p].shape);
                gp->loc = m->params[p].site.file ? m->params[p].site : m->params[p].loc;
            }
            ir_add_output(g, IR_OUT_GRAD, p, m->params[p].name, gp);
        }
    }
    free(pgrad);
    if (rc == 0) {
        for (int k = 0; k < n_wrt; k++) {
            if (wrt_inputs[k] < 0 || wrt_inputs[k] >= g->n_inputs) continue;
            const ir_input *in = &g->inputs[wrt_inputs[k]];
            ir_node *gi = c.grad[in->node->id];
            if (!gi) gi = ir_const(g, 0.0, &in->shape);
            ir_add_output(g, IR_OUT_INPUT_GRAD, wrt_inputs[k], in->name, gi);
        }
    }
    ctx_free(&c);
    return rc;
}

ir_node *ad_grad_value(ir_graph *g, ir_node *y, ir_node *x, diag_ctx *d, src_loc loc) {
    if (!y || !x) return NULL;
    char b[128];
    if (y->shape.rank != 0 || y->dtype != IR_F32) {
        if (d)
            diag_error(d, loc, "grad: the differentiated value must be a float scalar, got %s\nhint: reduce it first, e.g. with sum(...) or mean(...)",
                       ir_shape_str(b, sizeof b, y->dtype, &y->shape, g->mod));
        return NULL;
    }
    if (x->dtype != IR_F32) {
        if (d)
            diag_error(d, loc, "grad: cannot differentiate with respect to the integer tensor %s",
                       ir_shape_str(b, sizeof b, x->dtype, &x->shape, g->mod));
        return NULL;
    }
    ad_ctx c;
    if (ctx_init(&c, g) < 0) return NULL;
    c.wanted[x->id] = 1;
    int rc = backward(&c, &y, NULL, 1, d);
    ir_node *r = rc == 0 ? c.grad[x->id] : NULL;
    if (rc == 0 && !r) r = ir_const(g, 0.0, &x->shape); /* y does not depend on x */
    ctx_free(&c);
    return r;
}

int ad_vjp(ir_graph *g, ir_node *const *ys, ir_node *const *seeds, int n_ys, ir_node *const *wrt, int n_wrt,
           ir_node **grads, diag_ctx *d) {
    ad_ctx c;
    if (ctx_init(&c, g) < 0) return -1;
    for (int j = 0; j < n_wrt; j++)
        if (wrt[j]->dtype == IR_F32) c.wanted[wrt[j]->id] = 1;
    int rc = backward(&c, ys, seeds, n_ys, d);
    for (int j = 0; j < n_wrt; j++) grads[j] = rc == 0 && wrt[j]->id < c.n_grad ? c.grad[wrt[j]->id] : NULL;
    ctx_free(&c);
    return rc;
}
