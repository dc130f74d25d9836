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

/* A group's members, listed by group id (each in graph order), and each
 * node's index in g->nodes: so that checking and moving a group touches that
 * group and the stretch of graph it spans, not the whole graph per conv. */
typedef struct epi_index {
    int *at;                /* by group id: its members are mem[at[id] .. at[id + 1]) */
    ir_node **mem;
    int *pos;               /* by node id */
    ir_node **tmp;          /* room for g->n_nodes pointers */
} epi_index;

static int index_graph(const ir_graph *g, int nid, epi_index *x)
{
    x->at = calloc((size_t)nid + 1, sizeof *x->at);
    x->mem = calloc((size_t)g->n_nodes + 1, sizeof *x->mem);
    x->pos = calloc((size_t)nid, sizeof *x->pos);
    x->tmp = calloc((size_t)g->n_nodes + 1, sizeof *x->tmp);
    int *fill = calloc((size_t)nid + 1, sizeof *fill);
    int ok = x->at && x->mem && x->pos && x->tmp && fill;
    for (int i = 0; ok && i < g->n_nodes; i++) {
        ir_node *u = g->nodes[i];
        x->pos[u->id] = i;
        if (u->group >= 0 && u->group < nid && lower_fusable(u)) x->at[u->group + 1]++;
    }
    for (int k = 0; ok && k < nid; k++) fill[k + 1] = x->at[k + 1] += x->at[k];
    for (int i = 0; ok && i < g->n_nodes; i++) {
        ir_node *u = g->nodes[i];
        if (u->group >= 0 && u->group < nid && lower_fusable(u)) x->mem[fill[u->group]++] = u;
    }
    free(fill);
    return ok;
}

static void index_free(epi_index *x)
{
    free(x->at);
    free(x->mem);
    free(x->pos);
    free(x->tmp);
}

/* Rule 3 for every leaf of the group rooted at `root`. */
static int leaves_ok(const epi_index *x, const ir_node *root, const ir_node *v)
{
    for (int j = x->at[root->id]; j < x->at[root->id + 1]; j++) {
        const ir_node *m = x->mem[j];
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

/* Rule 5: move v and the group's non-root members to just before root.
 * Nothing ahead of the first of them moves, so only that stretch is
 * rewritten (and its positions updated). */
static void move_before_root(ir_graph *g, ir_node *v, const ir_node *root, epi_index *x)
{
    int r = x->pos[root->id], first = x->pos[v->id] < r ? x->pos[v->id] : r;
    for (int j = x->at[root->id]; j < x->at[root->id + 1]; j++) {
        int p = x->pos[x->mem[j]->id];
        if (p < first) first = p;
    }
    int nm = 0, kept = first;
    for (int i = first; i < r; i++) {
        ir_node *u = g->nodes[i];
        if (u == v || in_group(u, root->id)) x->tmp[nm++] = u;
        else g->nodes[kept++] = u;
    }
    for (int j = 0; j < nm; j++) g->nodes[kept++] = x->tmp[j]; /* just before root, at r */
    for (int i = first; i < r; i++) x->pos[g->nodes[i]->id] = i;
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

/* The folds' new nodes go right before the node they serve and the nodes
 * they replace go away; both are applied in one pass over the node array
 * when all folds are done (moving the array per fold cost a graph with many
 * batch norms n^2). */
typedef struct fold_edits {
    ir_node **node, **before; /* node[k] goes right before before[k], in the order recorded */
    int n, cap;
    unsigned char *dropped;   /* by id (the graph's ids before the folds) */
    int nid;
} fold_edits;

static void insert_before(ir_graph *g, fold_edits *ed, ir_node *n, ir_node *before)
{
    if (ed->n == ed->cap) {
        int cap = ed->cap ? 2 * ed->cap : 16;
        ed->node = arena_grow(g->ar, ed->node, sizeof *ed->node, ed->cap, cap);
        ed->before = arena_grow(g->ar, ed->before, sizeof *ed->before, ed->cap, cap);
        ed->cap = cap;
    }
    ed->node[ed->n] = n;
    ed->before[ed->n++] = before;
}

/* The graph's first n0 nodes with the recorded edits applied (the nodes the
 * folds appended after them are all placed by the edits). */
static void apply_edits(ir_graph *g, const fold_edits *ed, int n0)
{
    int *at = calloc((size_t)ed->nid + 1, sizeof *at); /* by id: its insertions are ins[at[id] .. at[id + 1]) */
    int *fill = calloc((size_t)ed->nid + 1, sizeof *fill);
    ir_node **ins = calloc((size_t)ed->n + 1, sizeof *ins), **out = calloc((size_t)g->n_nodes + 1, sizeof *out);
    if (!at || !fill || !ins || !out) {
        fprintf(stderr, "dlnc: out of memory in pass_epilogue\n");
        exit(1);
    }
    for (int k = 0; k < ed->n; k++) at[ed->before[k]->id + 1]++;
    for (int id = 0; id < ed->nid; id++) fill[id + 1] = at[id + 1] += at[id];
    for (int k = 0; k < ed->n; k++) ins[fill[ed->before[k]->id]++] = ed->node[k];
    int w = 0;
    for (int i = 0; i < n0; i++) {
        ir_node *u = g->nodes[i];
        for (int k = at[u->id]; k < at[u->id + 1]; k++) out[w++] = ins[k];
        if (!ed->dropped[u->id]) out[w++] = u;
    }
    memcpy(g->nodes, out, sizeof *out * (size_t)w);
    g->n_nodes = w;
    free(at);
    free(fill);
    free(ins);
    free(out);
}

/* The fold at the add node `ad`, if the pattern in the header matches. */
static int fold_affine(ir_graph *g, ir_node *ad, fold_edits *ed)
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
            insert_before(g, ed, a, mu);
            ir_node *ma = ir_bin(g, OP_mul, m, a);
            insert_before(g, ed, ma, mu);
            ir_node *bb = ir_bin(g, OP_sub, b, ma);
            bb->group = bb->id;
            ma->group = ir_shape_eq(&ma->shape, &bb->shape) ? bb->id : ma->id;
            insert_before(g, ed, bb, ad); /* ad uses mu, so it comes after ma */
            mu->in[km] = x;
            mu->in[1 - km] = a;
            ad->in[1 - ka] = bb;
            ed->dropped[dv->id] = ed->dropped[sb->id] = 1;
            return 1;
        }
    }
    return 0;
}

void pass_epilogue(ir_graph *g)
{
    if (g->mode == IR_MODE_EVAL) {
        int n0 = g->n_nodes;
        fold_edits ed = {.nid = g->next_id > 0 ? g->next_id : 1};
        for (int i = 0; i < n0; i++)
            if (g->nodes[i]->id >= ed.nid) ed.nid = g->nodes[i]->id + 1;
        ed.dropped = calloc((size_t)ed.nid, 1);
        int folded = 0;
        /* again at the same add while it folds: its new input may be one more normalization */
        for (int i = 0; ed.dropped && i < n0; i++)
            while (fold_affine(g, g->nodes[i], &ed)) folded++;
        if (folded) {
            apply_edits(g, &ed, n0);
            ir_count_uses(g);
        }
        free(ed.dropped);
    }
    int nid = g->next_id > 0 ? g->next_id : 1;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->id >= nid) nid = g->nodes[i]->id + 1;
    int *uses = calloc((size_t)nid, sizeof *uses);
    ir_node **consumer = calloc((size_t)nid, sizeof *consumer);
    ir_node **by_id = calloc((size_t)nid, sizeof *by_id);
    unsigned char *taken = calloc((size_t)nid, 1); /* group ids already in an epilogue */
    epi_index x = {0};
    if (!uses || !consumer || !by_id || !taken || !index_graph(g, nid, &x)) { /* skipping the pass is always correct */
        free(uses), free(consumer), free(by_id), free(taken), index_free(&x);
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
        if (!leaves_ok(&x, root, v)) continue;
        taken[root->id] = 1;
        v->epilogue = root;
        linked[nl++] = v;
    }
    for (int j = 0; j < nl; j++) move_before_root(g, linked[j], linked[j]->epilogue, &x);
    free(linked);
    free(uses);
    free(consumer);
    free(by_id);
    free(taken);
    index_free(&x);
}
