/* pass_fuse.c — assign fusion groups.
 *
 * Why: an unfused training step streams every intermediate tensor through
 * memory. Chains like relu(add(matmul, bias)) or the backward's
 * mul(gy, step(h)) are cheap per element and memory-bound, so computing a
 * whole chain in one loop, element by element, saves a store and a load per
 * intermediate and the arena space to hold it.
 *
 * The rules (v0), stated so they can be checked by reading a dump:
 *   1. Fusable nodes are the elementwise ops (ir_ops[op].kind == IR_ELEMWISE)
 *      and broadcast_to, which is elementwise with a broadcasting input.
 *   2. A fusable node v joins the group of its consumer c when v has exactly
 *      one use (no graph output refers to it), c is fusable, and v has the
 *      same shape and dtype as c. By induction every member of a group has
 *      the shape of the group's output, so one flat loop index serves them
 *      all; inputs from outside the group (leaves) may broadcast.
 *   3. Otherwise v is the root of its own group.
 *   4. A group's id is the id of its root, the one member whose value is
 *      materialized; the other members stay in registers (pass_plan marks them
 *      IR_STORE_INLINE). Non-fusable nodes get group -1.
 *   5. A group is at most FUSE_MAX_DEPTH deep and FUSE_MAX_MEMBERS large: the
 *      emitter writes a group as one nested C expression, recursively, and
 *      `repeat 100000 { h = relu(h) }` must not overflow its stack (or the C
 *      compiler's patience). A longer chain is split into several groups.
 *   6. A reduction (reduce_sum, reduce_max; f32) whose input is the root of
 *      an f32 group with exactly one use — this reduction — and that reduces
 *      at least one element away takes that group over: the group's id
 *      becomes the reduction's id, the reduction is the root (materialized),
 *      and the former root turns into an inline member. The emitter then
 *      evaluates the group inside the reduction's loops, so e.g. the
 *      batch-norm variance sum((x - m) * (x - m)) or a backward
 *      sum(gy * step(h)) never stores its [N, C, H, W] operand.
 *   7. Sibling reductions share one loop nest: reductions (after rule 6) with
 *      the same op, input shape, axes and collapsed loop nest
 *      (lower_siblings_ok: the emitter loops the same way for each
 *      alone, so every output keeps its accumulation order), none depending
 *      on another, at most LOWER_MAX_SIBLINGS of them within
 *      FUSE_SIBLING_WINDOW nodes, become one kernel with one accumulator and
 *      one output each: a batch norm's backward sum(g), sum(g * x_hat) and
 *      the variance gradient's sum were three passes over [N, C, H, W].
 *      Each member's `sibling` is the first member (the leader). Placement:
 *      the kernel must run where all inputs exist and before any output is
 *      used, so the earlier members, and the nodes between that depend on
 *      them (their reshapes, consumers), sink to just after the last member's
 *      place: the set becomes contiguous with the leader first, the kernel
 *      runs at the leader's place, and pass_plan births every member there.
 *      A set that another set's sinking split is dissolved (still correct,
 *      just separate kernels).
 * Epilogue fusion into matmul is not done yet; pass_epilogue runs a
 * convolution's consuming group per image.
 *
 * Walking the nodes backwards decides each consumer before its producers. */
#include <stdlib.h>

#include "lower.h"
#include "passes.h"

enum { FUSE_MAX_DEPTH = 64, FUSE_MAX_MEMBERS = 256 };
/* Rule 7 looks for siblings this many nodes back. A batch norm's backward
 * sums lie within ~12 nodes; farther apart, sinking the first would keep its
 * [N, C, H, W] input alive across unrelated work. */
enum { FUSE_SIBLING_WINDOW = 32 };

/* Rule 6. uses and members are pass_fuse's counts, by node / group id. */
static void fuse_into_reductions(ir_graph *g, const int *uses, const int *members, int nid)
{
    int *into = calloc((size_t)nid, sizeof *into); /* by old group id: the reduction's id + 1 */
    if (!into) return;                              /* fusing less is always correct */
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *r = g->nodes[i];
        if ((r->op != OP_reduce_sum && r->op != OP_reduce_max) || r->dtype != IR_F32) continue;
        ir_node *v = r->in[0];
        ir_dim vn = ir_shape_numel(&v->shape), rn = ir_shape_numel(&r->shape);
        if (!lower_fusable(v) || v->group != v->id || uses[v->id] != 1 || v->dtype != IR_F32 || members[v->id] >= FUSE_MAX_MEMBERS ||
            (vn.k == rn.k && vn.syms == rn.syms))
            continue;
        into[v->id] = r->id + 1;
        r->group = r->id;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *v = g->nodes[i];
        if (v->group >= 0 && v->group < nid && into[v->group]) v->group = into[v->group] - 1;
    }
    free(into);
}

/* ---- rule 7: sibling reductions ------------------------------------------ */

static int is_reduction(const ir_node *r)
{
    return (r->op == OP_reduce_sum || r->op == OP_reduce_max) && r->dtype == IR_F32 &&
           (r->group < 0 || r->group == r->id);
}

/* Does the node at position `at` depend on a member of set L (all of whose
 * members lie in [from, at))? dep[id] == stamp marks the dependents found. */
static int depends_on_set(const ir_graph *g, const ir_node *L, int from, int at, int *dep, int stamp)
{
    for (int i = from; i <= at; i++) {
        ir_node *v = g->nodes[i];
        int d = i < at && v->sibling == L;
        for (int k = 0; k < v->nin && !d; k++) d = dep[v->in[k]->id] == stamp;
        if (i == at) return d;
        if (d) dep[v->id] = stamp;
    }
    return 0;
}

/* The members of each set, linked: next[v->id] follows v, starting from the
 * leader's entry head[L->id]; and pos[v->id], v's index in g->nodes. Sinking
 * and checking a set then touch its own span of the graph, not all of it. */
typedef struct sib_sets {
    ir_node **head, **next;
    int *pos;
} sib_sets;

/* Makes set L contiguous: its members before the last one, and the nodes in
 * between that depend on them, move to just after the last one's place
 * (members, then the last one, then those dependents), each part in its old
 * order. Topological order holds: the last member depends on no other member
 * (checked when the set was formed), and nothing left ahead depends on what
 * moved. tmp has room for g->n_nodes pointers. */
static void sink_set(ir_graph *g, const ir_node *L, sib_sets *s, ir_node **tmp, int *dep, int stamp)
{
    int first = -1, last = -1;
    for (const ir_node *v = s->head[L->id]; v; v = s->next[v->id]) {
        int at = s->pos[v->id];
        if (first < 0 || at < first) first = at;
        if (at > last) last = at;
    }
    if (first < 0 || first == last) return;
    ir_node *mem[LOWER_MAX_SIBLINGS], *anchor = g->nodes[last];
    int nm = 0, nd = 0, w = first;
    for (int i = first; i < last; i++) {
        ir_node *v = g->nodes[i];
        int d = v->sibling == L;
        for (int k = 0; k < v->nin && !d; k++) d = dep[v->in[k]->id] == stamp;
        if (!d) {
            g->nodes[w++] = v;
            continue;
        }
        dep[v->id] = stamp;
        if (v->sibling == L && nm < LOWER_MAX_SIBLINGS) mem[nm++] = v;
        else tmp[nd++] = v;
    }
    for (int j = 0; j < nm; j++) g->nodes[w++] = mem[j];
    g->nodes[w++] = anchor;
    for (int j = 0; j < nd; j++) g->nodes[w++] = tmp[j];
    for (int i = first; i <= last; i++) s->pos[g->nodes[i]->id] = i;
}

/* Is every set contiguous with its leader first? Dissolves the ones that are
 * not. count is by leader id. */
static void check_sets(ir_graph *g, const int *count, const sib_sets *s)
{
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *v = g->nodes[i];
        if (!v->sibling) continue;
        const ir_node *L = v->sibling;
        int n = count[L->id], ok = L == v && i + n <= g->n_nodes;
        for (int j = 0; ok && j < n; j++) ok = g->nodes[i + j]->sibling == L;
        if (ok) {
            i += n - 1;
            continue;
        }
        for (ir_node *u = s->head[L->id]; u; u = s->next[u->id]) u->sibling = NULL;
    }
}

/* Rule 7. */
static void fuse_siblings(ir_graph *g, int nid)
{
    int *count = calloc((size_t)nid, sizeof *count); /* members, by leader id */
    int *dep = calloc((size_t)nid, sizeof *dep);
    ir_node **tmp = calloc((size_t)g->n_nodes + 1, sizeof *tmp);
    ir_node **lead = calloc((size_t)g->n_nodes + 1, sizeof *lead);
    sib_sets s = {calloc((size_t)nid, sizeof *s.head), calloc((size_t)nid, sizeof *s.next),
                  calloc((size_t)nid, sizeof *s.pos)};
    for (int i = 0; i < g->n_nodes; i++) g->nodes[i]->sibling = NULL;
    if (!count || !dep || !tmp || !lead || !s.head || !s.next || !s.pos) goto done; /* fusing less is always correct */
    int stamp = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *r = g->nodes[i];
        if (!is_reduction(r)) continue;
        for (int j = i - 1; j >= 0 && j >= i - FUSE_SIBLING_WINDOW && !r->sibling; j--) {
            ir_node *L = g->nodes[j];
            if (L->sibling != L || count[L->id] >= LOWER_MAX_SIBLINGS || !lower_siblings_ok(L, r)) continue;
            if (depends_on_set(g, L, j, i, dep, ++stamp)) continue;
            r->sibling = L;
            count[L->id]++;
        }
        if (!r->sibling) {
            r->sibling = r;
            count[r->id] = 1;
        }
    }
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *v = g->nodes[i];
        if (v->sibling && count[v->sibling->id] < 2) v->sibling = NULL;
    }
    int nl = 0; /* the leaders, listed first: sinking reorders the nodes */
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        ir_node *v = g->nodes[i];
        s.pos[v->id] = i;
        if (!v->sibling) continue;
        s.next[v->id] = s.head[v->sibling->id];
        s.head[v->sibling->id] = v;
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->sibling == g->nodes[i]) lead[nl++] = g->nodes[i];
    for (int j = 0; j < nl; j++) sink_set(g, lead[j], &s, tmp, dep, ++stamp);
    check_sets(g, count, &s);
done:
    free(count);
    free(dep);
    free(tmp);
    free(lead);
    free(s.head);
    free(s.next);
    free(s.pos);
}

void pass_fuse(ir_graph *g)
{
    int nid = g->next_id > 0 ? g->next_id : 1;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->id >= nid) nid = g->nodes[i]->id + 1;
    int *uses = calloc((size_t)nid, sizeof *uses);
    int *depth = calloc((size_t)nid, sizeof *depth);   /* a member's distance from its group's root */
    int *members = calloc((size_t)nid, sizeof *members); /* per group id */
    ir_node **consumer = calloc((size_t)nid, sizeof *consumer);
    if (!uses || !depth || !members || !consumer) {
        fprintf(stderr, "dlnc: out of memory in pass_fuse\n");
        exit(1);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = g->nodes[i];
        for (int k = 0; k < n->nin; k++) {
            uses[n->in[k]->id]++;
            consumer[n->in[k]->id] = n;
        }
    }
    for (int i = 0; i < g->n_outputs; i++) uses[g->outputs[i].node->id] += 2; /* never fused away */

    for (int i = g->n_nodes - 1; i >= 0; i--) {
        ir_node *v = g->nodes[i];
        v->group = -1;
        if (!lower_fusable(v)) continue;
        ir_node *c = consumer[v->id];
        if (uses[v->id] == 1 && c && lower_fusable(c) && c->group >= 0 && v->dtype == c->dtype &&
            ir_shape_eq(&v->shape, &c->shape) && depth[c->id] + 1 < FUSE_MAX_DEPTH &&
            members[c->group] < FUSE_MAX_MEMBERS) {
            v->group = c->group;
            depth[v->id] = depth[c->id] + 1;
            members[v->group]++;
        } else {
            v->group = v->id;
            members[v->id] = 1;
        }
    }
    fuse_into_reductions(g, uses, members, nid);
    fuse_siblings(g, nid);
    free(uses);
    free(depth);
    free(members);
    free(consumer);
}
