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
 * Epilogue fusion into matmul is not done yet; pass_epilogue runs a
 * convolution's consuming group per image.
 *
 * Walking the nodes backwards decides each consumer before its producers. */
#include <stdlib.h>

#include "emit_internal.h"
#include "passes.h"

enum { FUSE_MAX_DEPTH = 64, FUSE_MAX_MEMBERS = 256 };

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
        if (!emit_is_fusable(v) || v->group != v->id || uses[v->id] != 1 || v->dtype != IR_F32 || members[v->id] >= FUSE_MAX_MEMBERS ||
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
        if (!emit_is_fusable(v)) continue;
        ir_node *c = consumer[v->id];
        if (uses[v->id] == 1 && c && emit_is_fusable(c) && c->group >= 0 && v->dtype == c->dtype &&
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
    free(uses);
    free(depth);
    free(members);
    free(consumer);
}
