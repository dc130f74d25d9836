/* pass_epilogue.c — run the elementwise group that consumes a convolution
 * inside the convolution's per-image epilogue.
 *
 * Why: a conv2d is usually followed by one fused elementwise group — the
 * bias add of a plain conv layer, or an inference batch norm folded into a
 * per-channel affine with its ReLU and residual add:
 *     relu(add(mul(div(sub(conv, mean), sqrt(var + eps)), gamma), beta) [+ r])
 * Run after the whole convolution, that group streams the conv output back
 * from memory. dl_conv2d_ep (runtime/conv.c) instead calls back once per
 * image, right after that image's output is written and still in cache, and
 * the emitter's callback runs the group's ordinary kernel on that one image
 * (emit_conv.c). The group is not called again on its own.
 *
 * The rules, stated so they can be checked by reading a dump
 * (`dlnc --emit=ir --after=epilogue` prints `{epilogue G}` on the conv):
 *   1. v is a conv2d with f32 output [N, C, H, W] (batch symbol N first,
 *      every other dimension constant), and exactly one use: an input of a
 *      member of a fusion group G (pass_fuse). No graph output refers to v,
 *      so nothing else (the backward, a state update) needs its value.
 *   2. G's root is elementwise (not a reduction that took the group over,
 *      pass_fuse rule 6) and has v's shape: G is one [C, H, W] slice per image.
 *   3. Every leaf of G (an input from outside the group) is f32 and either
 *      has no run-time dimension at all (per-channel parameters, running
 *      statistics, constants: broadcast, the same for every image) or has
 *      G's rank with N first and constants elsewhere (offset per image, e.g.
 *      the residual). Anything else — a leaf mixing images — stays unfused.
 *   4. One conv per group (the first in graph order); a second conv feeding
 *      the same group stays an ordinary leaf.
 *   5. The conv and G's non-root members move to just before G's root, in
 *      their relative order. That keeps the order topological (members are
 *      used only inside G) and puts every leaf of G before the conv, which
 *      is where the epilogue now reads them. pass_plan keeps the conv's
 *      inputs alive until G's root, because G's output is written image by
 *      image while the convolution still reads later images of its input.
 * conv_transpose2d and matmul have no epilogue hook yet.
 *
 * Before linking, in eval-mode graphs only, an inference batch norm inside a
 * group is folded into a per-channel affine, as PyTorch computes it:
 *     add(mul(div(sub(x, M), S), G), B)  ->  add(mul(x, A), B')
 *     with A = G / S and B' = B - M * A
 * when sub, div and mul are non-root members of one group (single uses, so
 * nothing else reads their values), x has the group's shape, and M, S, G, B
 * have no run-time dimension. A and B' are per-channel values computed once
 * per call by their own tiny kernels (placed before the mul and the add);
 * per element, a division and a subtraction become one multiply-add. */
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "passes.h"

static int is_batch_dim(ir_dim d) { return d.k == 1 && d.syms == (1u << IR_SYM_N); }

/* [N, c, h, w, ...]: N first, constants after (rule 1 and 3). */
static int batch_major(const ir_shape *s)
{
    if (s->rank < 1 || !is_batch_dim(s->d[0])) return 0;
    for (int k = 1; k < s->rank; k++)
        if (s->d[k].syms) return 0;
    return 1;
}

static int no_symbols(const ir_shape *s)
{
    for (int k = 0; k < s->rank; k++)
        if (s->d[k].syms) return 0;
    return 1;
}

static int in_group(const ir_node *u, int group) { return u->group == group && lower_fusable(u); }

/* Rule 3 for every leaf of the group rooted at `root`. */
static int leaves_ok(const ir_graph *g, const ir_node *root, const ir_node *v)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *m = g->nodes[i];
        if (!in_group(m, root->id)) continue;
        for (int k = 0; k < m->nin; k++) {
            const ir_node *u = m->in[k];
            if (u == v || in_group(u, root->id)) continue;
            if (u->dtype != IR_F32) return 0;
            if (no_symbols(&u->shape)) continue;
            if (u->shape.rank != root->shape.rank || !batch_major(&u->shape)) return 0;
        }
    }
    return 1;
}

/* Rule 5: move v and the group's non-root members to just before root. */
static int move_before_root(ir_graph *g, ir_node *v, const ir_node *root)
{
    int n = g->n_nodes, r = -1;
    ir_node **moved = malloc((size_t)n * sizeof *moved);
    if (!moved) return 0; /* keep the order; the caller then does not link */
    int nm = 0, kept = 0;
    for (int i = 0; i < n; i++) {
        ir_node *u = g->nodes[i];
        if (u == root) r = i;
        if (r < 0 && (u == v || (u != root && in_group(u, root->id)))) moved[nm++] = u;
        else g->nodes[kept++] = u;
    }
    /* kept = n - nm; root is now at r - nm: open a gap of nm before it */
    int at = r - nm;
    for (int i = n - 1; i >= at + nm; i--) g->nodes[i] = g->nodes[i - nm];
    for (int j = 0; j < nm; j++) g->nodes[at + j] = moved[j];
    free(moved);
    return 1;
}

/* ---- the batch-norm affine fold ---- */

static int small_leaf(const ir_node *u, int group)
{
    return !in_group(u, group) && u->dtype == IR_F32 && no_symbols(&u->shape);
}

/* A non-root member of a group with op `op`. */
static int inner_member(const ir_node *u, ir_opcode op)
{
    return u->op == op && u->group >= 0 && u->group != u->id && lower_fusable(u);
}

/* Moves the last node of g (just appended) to index `at`. */
static void move_last_to(ir_graph *g, int at)
{
    ir_node *last = g->nodes[g->n_nodes - 1];
    memmove(&g->nodes[at + 1], &g->nodes[at], (size_t)(g->n_nodes - 1 - at) * sizeof *g->nodes);
    g->nodes[at] = last;
}

static int index_of(const ir_graph *g, const ir_node *n)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i] == n) return i;
    return -1;
}

/* Removes n (which has no uses left) from g's node list. */
static void drop_node(ir_graph *g, const ir_node *n)
{
    int i = index_of(g, n);
    if (i < 0) return;
    memmove(&g->nodes[i], &g->nodes[i + 1], (size_t)(g->n_nodes - 1 - i) * sizeof *g->nodes);
    g->n_nodes--;
}

/* The fold at the add node `ad`, if the pattern in the header matches. */
static int fold_affine(ir_graph *g, ir_node *ad)
{
    if (ad->op != OP_add || !lower_fusable(ad) || ad->group < 0 || ad->dtype != IR_F32) return 0;
    int grp = ad->group;
    for (int ka = 0; ka < 2; ka++) {
        ir_node *mu = ad->in[ka], *b = ad->in[1 - ka];
        if (!inner_member(mu, OP_mul) || mu->group != grp || !small_leaf(b, grp)) continue;
        for (int km = 0; km < 2; km++) {
            ir_node *dv = mu->in[km], *gm = mu->in[1 - km];
            if (!inner_member(dv, OP_div) || dv->group != grp || !small_leaf(gm, grp)) continue;
            ir_node *sb = dv->in[0], *sd = dv->in[1];
            if (!inner_member(sb, OP_sub) || sb->group != grp || !small_leaf(sd, grp)) continue;
            ir_node *x = sb->in[0], *m = sb->in[1];
            if (!small_leaf(m, grp) || x->dtype != IR_F32 || !ir_shape_eq(&x->shape, &ad->shape) ||
                !ir_shape_eq(&sb->shape, &ad->shape) || !ir_shape_eq(&mu->shape, &ad->shape))
                continue;
            /* A = G / S and M * A before the mul; B' = B - M * A before the add */
            ir_node *a = ir_bin(g, OP_div, gm, sd);
            a->group = a->id;
            move_last_to(g, index_of(g, mu));
            ir_node *ma = ir_bin(g, OP_mul, m, a);
            move_last_to(g, index_of(g, mu));
            ir_node *bb = ir_bin(g, OP_sub, b, ma);
            bb->group = bb->id;
            ma->group = ir_shape_eq(&ma->shape, &bb->shape) ? bb->id : ma->id;
            move_last_to(g, index_of(g, ad) > index_of(g, ma) ? index_of(g, ad) : index_of(g, ma) + 1);
            mu->in[km] = x;
            mu->in[1 - km] = a;
            ad->in[1 - ka] = bb;
            drop_node(g, dv);
            drop_node(g, sb);
            return 1;
        }
    }
    return 0;
}

void pass_epilogue(ir_graph *g)
{
    if (g->mode == IR_MODE_EVAL) {
        int folded = 0;
        for (int i = 0; i < g->n_nodes; i++) folded += fold_affine(g, g->nodes[i]);
        if (folded) ir_count_uses(g);
    }
    int nid = g->next_id > 0 ? g->next_id : 1;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->id >= nid) nid = g->nodes[i]->id + 1;
    int *uses = calloc((size_t)nid, sizeof *uses);
    ir_node **consumer = calloc((size_t)nid, sizeof *consumer);
    ir_node **by_id = calloc((size_t)nid, sizeof *by_id);
    unsigned char *taken = calloc((size_t)nid, 1); /* group ids already in an epilogue */
    if (!uses || !consumer || !by_id || !taken) { /* skipping the pass is always correct */
        free(uses), free(consumer), free(by_id), free(taken);
        return;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = g->nodes[i];
        n->epilogue = NULL;
        by_id[n->id] = n;
        for (int k = 0; k < n->nin; k++) {
            uses[n->in[k]->id]++;
            consumer[n->in[k]->id] = n;
        }
    }
    for (int i = 0; i < g->n_outputs; i++) uses[g->outputs[i].node->id] += 2;

    /* Decide first (the walk must not see a half-moved graph), then move. */
    ir_node **linked = calloc((size_t)g->n_nodes + 1, sizeof *linked);
    int nl = 0;
    for (int i = 0; linked && i < g->n_nodes; i++) {
        ir_node *v = g->nodes[i];
        if (v->op != OP_conv2d || v->dtype != IR_F32 || !batch_major(&v->shape) || uses[v->id] != 1) continue;
        ir_node *c = consumer[v->id];
        if (!c || c->group < 0 || c->group >= nid || !lower_fusable(c) || taken[c->group]) continue;
        ir_node *root = by_id[c->group];
        if (!root || !lower_fusable(root) || !ir_shape_eq(&root->shape, &v->shape) || root->dtype != IR_F32) continue;
        if (!leaves_ok(g, root, v)) continue;
        taken[root->id] = 1;
        v->epilogue = root;
        linked[nl++] = v;
    }
    for (int j = 0; j < nl; j++)
        if (!move_before_root(g, linked[j], linked[j]->epilogue)) linked[j]->epilogue = NULL;
    free(linked);
    free(uses);
    free(consumer);
    free(by_id);
    free(taken);
}
