/* pass_cse.c — common subexpression elimination.
 *
 * Two nodes are the same computation if they have the same op, dtype, shape,
 * attributes and (already merged) inputs. One forward sweep with a hash
 * table suffices because inputs precede their uses. Random sources are never
 * merged — two dropout masks are two draws, even with equal attributes — and
 * graph inputs are distinct by definition. The later duplicate is dropped and
 * its uses redirected to the first. */
#include <stdlib.h>
#include <string.h>

#include "ir_attrs.h"
#include "passes.h"

static int mergeable(const ir_node *n) {
    return n->op != OP_rand_uniform && n->op != OP_rand_normal && n->op != OP_rand_int && n->op != OP_input;
}

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 1099511628211ull; }

static uint64_t node_hash(const ir_node *n) {
    uint64_t h = 1469598103934665603ull;
    h = mix(h, (uint64_t)n->op);
    h = mix(h, (uint64_t)n->dtype);
    h = mix(h, (uint64_t)n->shape.rank);
    for (int i = 0; i < n->shape.rank; i++) h = mix(mix(h, (uint64_t)n->shape.d[i].k), n->shape.d[i].syms);
    for (int k = 0; k < n->nin; k++) h = mix(h, (uint64_t)n->in[k]->id);
    return ir_attrs_hash(&n->a, h, mix);
}

static int same(const ir_node *a, const ir_node *b) {
    if (a->op != b->op || a->dtype != b->dtype || a->nin != b->nin || !ir_shape_eq(&a->shape, &b->shape)) return 0;
    for (int k = 0; k < a->nin; k++)
        if (a->in[k] != b->in[k]) return 0;
    return ir_attrs_same(&a->a, &b->a);
}

typedef struct cse_table {
    ir_node **slot;  /* open addressing, cap a power of two */
    int cap;
} cse_table;

/* The first node computing what n computes, or NULL when n is the first. */
static ir_node *first_same(ir_node *n, void *ctx) {
    cse_table *t = ctx;
    if (!mergeable(n)) return NULL;
    uint64_t at = node_hash(n) & (uint64_t)(t->cap - 1);
    while (t->slot[at] && !same(t->slot[at], n)) at = (at + 1) & (uint64_t)(t->cap - 1);
    if (t->slot[at]) return t->slot[at];
    t->slot[at] = n;
    return NULL;
}

void pass_cse(ir_graph *g) {
    cse_table t = {.cap = 16};
    while (t.cap < 2 * g->n_nodes) t.cap *= 2;
    if (!(t.slot = calloc((size_t)t.cap, sizeof *t.slot))) return;
    pass_rewrite(g, first_same, &t);
    free(t.slot);
}
