/* pass_plan.c — the memory plan: where every value of a graph lives.
 *
 * Why: a training step must allocate nothing, and activations dominate its
 * memory. Every value gets a storage kind, and the ones that need fresh memory
 * get an offset in one activation arena, reusing the space of values that are
 * dead (liveness), so the arena is far smaller than the sum of all tensors.
 *
 * Storage kinds (IR_STORE_*):
 *   PARAM   param nodes: the model's own weights;
 *   INPUT   input nodes: the caller's buffers;
 *   INLINE  non-root members of a fusion group (kept in registers) and
 *           constants whose every consumer is fused (printed as literals);
 *   ALIAS   reshape and stop_grad: the storage of in[0], unchanged;
 *           (a scan is INLINE too: a token whose parts are the arena values
 *           its loop writes, all born where the scan runs);
 *   OUTPUT  written straight into a destination: a gradient buffer
 *           (IR_OUT_GRAD) or the caller's `out` (IR_OUT_VALUE, only in graphs
 *           without a loss, whose `out` may be NULL). `offset` then holds the
 *           index of that graph output, not an arena offset;
 *   STATIC  a value computed from constants alone with a constant shape (an
 *           arange, a mask's index vectors, a positional encoding): it
 *           does not change from step to step, so it gets its own place in
 *           a region no other value shares (`offset` there), the step
 *           function computes it on its first call and keeps it. In an
 *           eval-mode graph parameters count as constants too (an inference
 *           batch norm's scale and shift): the step function then computes
 *           its statics again whenever the weights' version changed. Not for
 *           values written to a destination (OUTPUT) or computed by another
 *           node's kernel (sibling reductions, a conv's epilogue);
 *   ARENA   everything else, at `offset`.
 *
 * Sizes are symbolic (k, k*N, k*N*T). Buffers are grouped into classes by
 * their symbol mask; each class is planned on its own in units of its
 * monomial, so an offset `off` in class N means `class_base + off * max_N`
 * floats once max_N is known at create time. Classes are laid out in
 * increasing mask order, each after the previous one's end; emit_c.c
 * recomputes each class's size from the offsets (plan_class_size).
 *
 * Liveness: a value is born at its node's position and dies at its last use.
 * A fused member's inputs are read where its group's root runs, a conv's
 * with an epilogue (pass_epilogue) likewise; sibling reductions (pass_fuse
 * rule 7, contiguous in the node order) are all born where the first of them
 * runs, since its kernel writes them all there; an alias's
 * uses count as uses of the aliased value; graph outputs live to the end.
 * Placement is first fit in order of birth (plan_fit.c). Two values overlap
 * in time when their [birth, death] intervals intersect, so a kernel never
 * writes its output over one of its own inputs.
 *
 * graph->arena_floats is the arena size with each symbol at its declared
 * maximum (1 when the maximum is only known at create time), i.e. a lower
 * bound for reports; the emitter derives the exact formula. */
#include <stdlib.h>

#include "lower.h"
#include "passes.h"
#include "plan_fit.h"

#define PLAN_ALIGN 16 /* floats: 64 bytes, one cache line, for constant-size buffers */

typedef struct plan_buf {
    ir_node *n;
    int birth, death;
    uint32_t cls;  /* symbol mask */
    int64_t units; /* size in units of the class monomial */
} plan_buf;

static void *plan_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size);
    if (!p) {
        fprintf(stderr, "dlnc: out of memory in pass_plan\n");
        exit(1);
    }
    return p;
}

static int max_id(const ir_graph *g)
{
    int nid = g->next_id > 0 ? g->next_id : 1;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->id >= nid) nid = g->nodes[i]->id + 1;
    return nid;
}

static int64_t units_of(const ir_node *n)
{
    ir_dim d = ir_shape_numel(&n->shape);
    int64_t u = d.k < 1 ? 1 : d.k;
    if (d.syms == 0) u = (u + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN;
    return u;
}

/* Storage kinds (the rules in the comment above). */
static void assign_storage(ir_graph *g)
{
    int nid = max_id(g);
    unsigned char *nonfused_use = plan_calloc((size_t)nid, 1);
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = g->nodes[i];
        for (int k = 0; k < n->nin; k++)
            if (!lower_fusable(n)) nonfused_use[n->in[k]->id] = 1;
    }
    for (int i = 0; i < g->n_outputs; i++) nonfused_use[g->outputs[i].node->id] = 1;

    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = g->nodes[i];
        n->offset = -1;
        if (n->op == OP_param) n->storage = IR_STORE_PARAM;
        else if (n->op == OP_input) n->storage = IR_STORE_INPUT;
        else if (n->op == OP_reshape || n->op == OP_stop_grad) n->storage = IR_STORE_ALIAS;
        else if (n->op == OP_scan) n->storage = IR_STORE_INLINE; /* a token: its parts hold the results */
        else if (n->op == OP_constant && !nonfused_use[n->id]) n->storage = IR_STORE_INLINE;
        else if (n->group >= 0 && n->group != n->id) n->storage = IR_STORE_INLINE;
        else n->storage = IR_STORE_ARENA;
    }
    free(nonfused_use);

    int has_loss = 0;
    for (int i = 0; i < g->n_outputs; i++) has_loss |= g->outputs[i].kind == IR_OUT_LOSS;
    for (int i = 0; i < g->n_outputs; i++) {
        ir_output *o = &g->outputs[i];
        ir_node *n = o->node;
        int direct = o->kind == IR_OUT_GRAD || (o->kind == IR_OUT_VALUE && !has_loss);
        if (direct && n->storage == IR_STORE_ARENA && n->dtype == IR_F32) {
            n->storage = IR_STORE_OUTPUT;
            n->offset = i;
        }
    }
}

static int by_birth(const void *a, const void *b)
{
    const plan_buf *p = a, *q = b;
    if (p->birth != q->birth) return p->birth < q->birth ? -1 : 1;
    return p->n->id < q->n->id ? -1 : p->n->id > q->n->id;
}

/* Whether param node n is a STATIC source: in an eval-mode graph, a stored
 * (not carried-state) parameter, which only the model's tracked writes
 * change (emit_c.c recomputes such statics per weights version). */
static int static_param(const ir_graph *g, const ir_node *n)
{
    if (n->op != OP_param || g->mode != IR_MODE_EVAL || !g->mod) return 0;
    const int64_t i = n->a.param.index;
    return i >= 0 && i < g->mod->n_params && !g->mod->params[i].state;
}

/* STATIC (the rule in the comment above): what is computed from constant,
 * iota and (eval mode) parameter sources alone, at a constant shape, and
 * would be in the arena. */
static void mark_static(ir_graph *g)
{
    if (g->loop_body) return; /* a loop body computes everything at every step (emit_scan.c plans no statics region) */
    unsigned char *is_static = plan_calloc((size_t)max_id(g), 1);
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = g->nodes[i];
        int s = n->op == OP_constant || n->op == OP_iota || static_param(g, n) ||
                (n->nin > 0 && ir_ops[n->op].kind != IR_SOURCE && !n->sibling && !n->epilogue &&
                 n->op != OP_scan && n->op != OP_scan_part); /* a loop runs every step */
        for (int k = 0; k < n->nin && s; k++) s = is_static[n->in[k]->id];
        s = s && ir_shape_numel(&n->shape).syms == 0;
        is_static[n->id] = (unsigned char)s;
        if (s && n->storage == IR_STORE_ARENA) n->storage = IR_STORE_STATIC;
    }
    free(is_static);
}

/* Buffers with their live intervals; returns the count, *out malloc'ed. */
static int live_buffers(const ir_graph *g, plan_buf **out)
{
    int nid = max_id(g);
    int *pos = plan_calloc((size_t)nid, sizeof *pos);
    int *death = plan_calloc((size_t)nid, sizeof *death);
    ir_node **by_id = plan_calloc((size_t)nid, sizeof *by_id);
    for (int i = 0; i < g->n_nodes; i++) {
        pos[g->nodes[i]->id] = i;
        death[g->nodes[i]->id] = i;
        by_id[g->nodes[i]->id] = g->nodes[i];
    }
    for (int i = 0; i < g->n_outputs; i++) death[g->outputs[i].node->id] = g->n_nodes;
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        ir_node *n = g->nodes[i];
        int when;
        if (n->storage == IR_STORE_ALIAS) when = death[n->id];
        else if (n->storage == IR_STORE_INLINE && n->group >= 0 && n->group < nid && by_id[n->group])
            when = pos[n->group]; /* read where the group's root runs */
        else if (n->epilogue && n->epilogue->id < nid && by_id[n->epilogue->id] == n->epilogue)
            when = pos[n->epilogue->id]; /* read until its epilogue has written the group's last image */
        else when = i;
        for (int k = 0; k < n->nin; k++)
            if (death[n->in[k]->id] < when) death[n->in[k]->id] = when;
    }
    plan_buf *bufs = plan_calloc((size_t)g->n_nodes, sizeof *bufs);
    int nb = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = g->nodes[i];
        if (n->storage != IR_STORE_ARENA) continue;
        ir_dim d = ir_shape_numel(&n->shape);
        int birth = n->sibling && n->sibling->id < nid && by_id[n->sibling->id] ? pos[n->sibling->id] : i;
        if (n->op == OP_scan_part) birth = pos[n->in[0]->id]; /* the loop writes its parts from its first step */
        bufs[nb++] = (plan_buf){n, birth, death[n->id], d.syms, units_of(n)};
    }
    free(pos);
    free(death);
    free(by_id);
    /* placement walks births in order; a scan's parts made later by its
     * gradient are born back at the scan */
    qsort(bufs, (size_t)nb, sizeof *bufs, by_birth);
    *out = bufs;
    return nb;
}

void pass_plan(ir_graph *g)
{
    assign_storage(g);
    mark_static(g);
    plan_buf *bufs;
    int nb = live_buffers(g, &bufs);
    plan_fit *fit = plan_fit_new(nb);
    g->arena_floats = 0;
    /* the classes planned so far: a handful (masks over IR_MAX_SYMS symbols) */
    uint32_t seen[1 << IR_MAX_SYMS];
    int n_seen = 0;
    for (int b0 = 0; b0 < nb; b0++) {
        uint32_t cls = bufs[b0].cls;
        int first_of_class = 1;
        for (int j = 0; j < n_seen; j++)
            if (seen[j] == cls) first_of_class = 0;
        if (!first_of_class) continue;
        if (n_seen < (int)(sizeof seen / sizeof *seen)) seen[n_seen++] = cls;
        plan_fit_reset(fit);
        int64_t class_units = 0;
        for (int b = b0; b < nb; b++) {
            plan_buf *p = &bufs[b];
            if (p->cls != cls) continue;
            plan_fit_expire(fit, p->birth);
            int64_t off = plan_fit_place(fit, p->units, p->death);
            p->n->offset = off;
            if (off + p->units > class_units) class_units = off + p->units;
        }
        int64_t scale = 1;
        for (int s = 0; s < IR_MAX_SYMS; s++)
            if (cls & (1u << s)) {
                int64_t mx = g->mod && s < g->mod->n_syms ? g->mod->syms[s].max : 0;
                scale *= mx > 0 ? mx : 1;
            }
        g->arena_floats += class_units * scale;
    }
    plan_fit_free(fit);
    free(bufs);
    int64_t statics = 0; /* one after another, never reused */
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->storage == IR_STORE_STATIC) {
            g->nodes[i]->offset = statics;
            statics += units_of(g->nodes[i]);
        }
    g->arena_floats += statics;
}

int64_t plan_static_size(const ir_graph *g)
{
    int64_t size = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->storage == IR_STORE_STATIC) size += units_of(g->nodes[i]);
    return size;
}

int64_t plan_class_size(const ir_graph *g, uint32_t cls)
{
    int64_t size = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        if (n->storage != IR_STORE_ARENA || ir_shape_numel(&n->shape).syms != cls) continue;
        int64_t end = n->offset + units_of(n);
        if (end > size) size = end;
    }
    return size;
}

int plan_verify(const ir_graph *g, FILE *err)
{
    plan_buf *bufs;
    int nb = live_buffers(g, &bufs);
    int bad = 0;
    for (int a = 0; a < nb; a++) {
        if (bufs[a].n->offset < 0) {
            if (err) fprintf(err, "plan: %%%d has no arena offset\n", bufs[a].n->id);
            bad++;
        }
        for (int b = a + 1; b < nb; b++) {
            plan_buf *p = &bufs[a], *q = &bufs[b];
            if (p->cls != q->cls || p->death < q->birth || q->death < p->birth) continue;
            if (p->n->offset + p->units <= q->n->offset || q->n->offset + q->units <= p->n->offset) continue;
            if (err)
                fprintf(err, "plan: %%%d [%lld, +%lld) live %d..%d overlaps %%%d [%lld, +%lld) live %d..%d\n",
                        p->n->id, (long long)p->n->offset, (long long)p->units, p->birth, p->death, q->n->id,
                        (long long)q->n->offset, (long long)q->units, q->birth, q->death);
            bad++;
        }
    }
    free(bufs);
    return bad == 0;
}
