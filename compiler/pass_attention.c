/* pass_attention.c — attention written from primitives becomes the fused op.
 *
 * Every tutorial writes causal self-attention as
 *
 *     s = q @ transpose(k) / sqrt(hd)                      [B.., T, S]
 *     s = where(tril(ones(T, S)), s, full(T, S, value = -1e9))
 *     y = softmax(s, axis = -1) @ v
 *
 * which stores the scores and probabilities and differentiates four ops;
 * attention(q, k, v, causal, scale) (ops_attention.c) stores neither. The
 * rule, walking up from the last matmul:
 *
 *     matmul(softmax(chain, axis = last), v)
 *     chain:  matmul(q, k, tb) or matmul(q, transpose(k) of the last two)
 *             under any sequence of
 *               * c, c * x, / c   c a positive finite constant scalar
 *               where(M, x, F)    M a constant that is nonzero exactly where
 *                                 key s <= query t (causal), F constant with
 *                                 F times the scale applied after it <= -1e4
 *                                 at every masked place (or -inf); or
 *               where(U, F, x)    U nonzero exactly where s > t (masked_fill)
 *               x + A, A + x      any f32 A that broadcasts to the scores,
 *                                 when no scaling and no causal where comes
 *                                 after it (A is the op's additive mask: key
 *                                 padding)
 *     where the scores, each step of the chain and the probabilities have
 *     no other use, q, k, v have the same leading dimensions.
 *
 * Why -1e4: a masked weight is exp(F - m) / sum with m the row's largest
 * visible score, and in float exp underflows to exactly 0 below -104, so the
 * rewrite gives the same zeros as the fused op's -inf whenever every row's
 * largest visible score is above F + 104 (-9896 for F = -1e4; -1e9 leaves any
 * score a float model can see). The scale is folded into one multiplier
 * (1/c for `/ c`), so scores can differ from the composed form by one float
 * rounding.
 *
 * Heads as a leading axis: when q, k and v are all
 * transpose(reshape(x, [B.., T, H, hd]), swapping T and H) with the same H,
 * the op reads x itself with heads = H (its layout: heads are column blocks)
 * and its output goes back through reshape and transpose, which pass_fold
 * cancels against the caller's transpose-and-reshape that joins the heads.
 *
 * It runs inside elaboration, before autodiff (elab.c, elab_steps.c), so the
 * training graph differentiates the fused op (attention_grad) and not the
 * primitives, and again first in the pipeline, where it finds nothing new
 * but can be observed with --after=attention. */
#include <math.h>
#include <stdlib.h>

#include "interp.h"
#include "passes.h"

#define ATTN_FILL_MAX (-1e4) /* the largest fill that counts as masked: see above */

/* ---- constants evaluated at a (query, key) place --------------------------- */

static int swaps_last_two(const ir_node *t) {
    int r = t->shape.rank;
    if (t->op != OP_transpose || r < 2) return 0;
    for (int d = 0; d < r; d++)
        if (t->a.transpose.perm[d] != (d == r - 2 ? r - 1 : d == r - 1 ? r - 2 : d)) return 0;
    return 1;
}

/* n's value at row i, column j of its last two dimensions, when n is made of
 * constants, iotas, elementwise ops, broadcasts and transposes of the last two
 * dimensions over them and its leading dimensions are 1 (it broadcasts over
 * batch and heads). 0 if it is not such a value. */
static int const_at(const ir_node *n, int64_t i, int64_t j, double *out, int depth) {
    const ir_shape *s = &n->shape;
    for (int d = 0; d + 2 < s->rank; d++)
        if (!ir_dim_eq(s->d[d], ir_dim_const(1))) return 0;
    int64_t at[2] = {0, 0}; /* the row and column this node holds for (i, j): 0 along a size-1 dimension */
    for (int d = s->rank - 2 < 0 ? 0 : s->rank - 2; d < s->rank; d++) {
        if (!ir_dim_is_const(s->d[d])) return 0;
        at[d - (s->rank - 2)] = s->d[d].k == 1 ? 0 : d == s->rank - 1 ? j : i;
    }
    if (depth > 32) return 0;
    if (n->op == OP_constant) return *out = n->a.constant.value, 1;
    if (n->op == OP_iota) {
        int axis = (int)n->a.iota.axis, from_end = s->rank - axis; /* 1: the last dimension */
        *out = n->a.iota.start + n->a.iota.step * (double)(from_end == 1 ? at[1] : from_end == 2 ? at[0] : 0);
        return 1;
    }
    if (n->op == OP_broadcast_to) return const_at(n->in[0], i, j, out, depth + 1); /* aligned right, as (i, j) */
    if (swaps_last_two(n)) return const_at(n->in[0], j, i, out, depth + 1);
    if (ir_ops[n->op].kind != IR_ELEMWISE || n->nin < 1 || n->nin > 3) return 0;
    double v[3] = {0, 0, 0};
    for (int k = 0; k < n->nin; k++)
        if (!const_at(n->in[k], i, j, &v[k], depth + 1)) return 0;
    *out = interp_elementwise(n, v[0], v[1], v[2]);
    return 1;
}

/* A positive finite constant of one element. */
static int positive_scalar(const ir_node *n, double *c) {
    const ir_shape *s = &n->shape;
    for (int d = 0; d < s->rank; d++)
        if (!ir_dim_eq(s->d[d], ir_dim_const(1))) return 0;
    return const_at(n, 0, 0, c, 0) && isfinite(*c) && *c > 0;
}

/* where(cond, x, fill) (keep = 1) or where(cond, fill, x) (keep = 2, masked_fill's
 * form) over [.., T, S] scores is the causal mask: x is taken exactly where
 * key s <= query t, and fill * scale <= ATTN_FILL_MAX elsewhere. Judged at
 * every place, so at most ATTN_MAX_PLACES of them. */
#define ATTN_MAX_PLACES (1 << 22)
static int causal_where(const ir_node *w, int keep, double scale) {
    ir_dim td = w->shape.d[w->shape.rank - 2], sd = w->shape.d[w->shape.rank - 1];
    if (!ir_dim_is_const(td) || !ir_dim_is_const(sd) || td.k * sd.k > ATTN_MAX_PLACES) return 0;
    for (int64_t i = 0; i < td.k; i++)
        for (int64_t j = 0; j < sd.k; j++) {
            double c, f;
            if (!const_at(w->in[0], i, j, &c, 0) || ((c != 0) == (keep == 1)) != (j <= i)) return 0;
            if (j > i && (!const_at(w->in[3 - keep], i, j, &f, 0) || !(f * scale <= ATTN_FILL_MAX))) return 0;
        }
    return 1;
}

/* ---- the match ---------------------------------------------------------- */

typedef struct attn_match {
    ir_node *q, *k, *v, *mask;
    double scale;
    int causal;
} attn_match;

static int only_use(const ir_node *n) { return n->n_uses == 1 && n->dtype == IR_F32; }

static int same_lead(const ir_shape *a, const ir_shape *b) {
    if (a->rank != b->rank) return 0;
    for (int d = 0; d + 2 < a->rank; d++)
        if (!ir_dim_eq(a->d[d], b->d[d])) return 0;
    return 1;
}

/* The chain under the softmax, down to the scores' matmul. `above` is the
 * scale applied after the current node (towards the softmax). */
static int match_chain(ir_node *x, const ir_node *scores_shape, attn_match *m) {
    double above = 1;
    for (int steps = 0; steps < 16; steps++) {
        if (!only_use(x) || !ir_shape_eq(&x->shape, &scores_shape->shape)) return 0;
        double c;
        int same0 = x->nin >= 1 && ir_shape_eq(&x->in[0]->shape, &x->shape);
        int same1 = x->nin >= 2 && ir_shape_eq(&x->in[1]->shape, &x->shape);
        if (x->op == OP_mul && same0 && positive_scalar(x->in[1], &c)) above *= c, x = x->in[0];
        else if (x->op == OP_mul && same1 && positive_scalar(x->in[0], &c)) above *= c, x = x->in[1];
        else if (x->op == OP_div && same0 && positive_scalar(x->in[1], &c)) above /= c, x = x->in[0];
        /* not under a bias (m->mask set): that would add to the fill, which might no longer underflow */
        else if (x->op == OP_where && !m->causal && !m->mask && ir_shape_eq(&x->in[1]->shape, &x->shape) &&
                 causal_where(x, 1, above))
            m->causal = 1, x = x->in[1];
        else if (x->op == OP_where && !m->causal && !m->mask && ir_shape_eq(&x->in[2]->shape, &x->shape) &&
                 causal_where(x, 2, above))
            m->causal = 1, x = x->in[2];
        else if (x->op == OP_add && !m->mask && above == 1 && (same0 || same1)) {
            int chain = same0 ? 0 : 1; /* the other operand is the mask; with both full-size, the first is the chain */
            if (x->in[1 - chain]->dtype != IR_F32) return 0;
            m->mask = x->in[1 - chain], x = x->in[chain];
        } else if (x->op == OP_matmul && !x->a.matmul.ta) {
            m->q = x->in[0];
            if (x->a.matmul.tb) m->k = x->in[1];
            else if (swaps_last_two(x->in[1])) m->k = x->in[1]->in[0];
            else return 0;
            m->scale = above;
            return isfinite(above) && above > 0;
        } else
            return 0;
    }
    return 0;
}

static int match(ir_node *n, attn_match *m) {
    *m = (attn_match){0};
    if (n->op != OP_matmul || n->a.matmul.ta || n->a.matmul.tb || n->dtype != IR_F32) return 0;
    ir_node *p = n->in[0];
    if (p->op != OP_softmax || !only_use(p) || p->a.softmax.axis != p->shape.rank - 1 || p->shape.rank < 2) return 0;
    m->v = n->in[1];
    if (!match_chain(p->in[0], p, m)) return 0;
    const ir_shape *q = &m->q->shape, *k = &m->k->shape, *v = &m->v->shape;
    return q->rank >= 2 && same_lead(q, k) && same_lead(q, v) && m->q->dtype == IR_F32 && m->k->dtype == IR_F32 &&
           ir_dim_is_const(q->d[q->rank - 1]) && ir_dim_is_const(v->d[v->rank - 1]) && /* the op's rule */
           m->v->dtype == IR_F32 && ir_dim_eq(q->d[q->rank - 1], k->d[k->rank - 1]) &&
           ir_dim_eq(k->d[k->rank - 2], v->d[v->rank - 2]);
}

/* x = transpose(reshape(base, [B.., T, H, hd]), swapping T and H): base and H. */
static ir_node *heads_of(ir_node *x, int64_t *heads) {
    int r = x->shape.rank;
    if (x->op != OP_transpose || r < 3) return NULL;
    for (int d = 0; d < r; d++)
        if (x->a.transpose.perm[d] != (d == r - 3 ? r - 2 : d == r - 2 ? r - 3 : d)) return NULL;
    ir_node *y = x->in[0], *base = y->in[0];
    if (y->op != OP_reshape || base->shape.rank != r - 1) return NULL;
    for (int d = 0; d < r - 2; d++)
        if (!ir_dim_eq(y->shape.d[d], base->shape.d[d])) return NULL;
    ir_dim h = y->shape.d[r - 2];
    if (!ir_dim_is_const(h) || !ir_dim_eq(ir_dim_mul(h, y->shape.d[r - 1]), base->shape.d[r - 2])) return NULL;
    *heads = h.k;
    return base;
}

/* The fused op for a match, appended to g; its value shaped like the last matmul's. */
static ir_node *fuse(ir_graph *g, ir_node *last, const attn_match *m) {
    int64_t hq = 0, hk = 0, hv = 0;
    ir_node *bq = heads_of(m->q, &hq), *bk = heads_of(m->k, &hk), *bv = heads_of(m->v, &hv);
    int split = bq && bk && bv && hq == hk && hq == hv;
    ir_node *in[4] = {split ? bq : m->q, split ? bk : m->k, split ? bv : m->v, m->mask};
    ir_attrs a = {.attention = {.heads = split ? hq : 1, .causal = m->causal, .scale = m->scale}, .ni = 4, .nf = 1};
    ir_node *y = ir_add(g, NULL, last->loc, OP_attention, in, m->mask ? 4 : 3, &a);
    if (!y || !split) return y;
    /* [B.., T, Ev] -> [B.., T, H, hd] -> [B.., H, T, hd], as the primitives' product */
    int r = last->shape.rank;
    ir_shape s = y->shape;
    s.rank = r;
    s.d[r - 2] = ir_dim_const(hq);
    s.d[r - 1] = last->shape.d[r - 1];
    ir_attrs t = {.ni = r};
    for (int d = 0; d < r; d++) t.transpose.perm[d] = d == r - 3 ? r - 2 : d == r - 2 ? r - 3 : d;
    ir_node *heads = ir_reshape(g, y, &s);
    return ir_op_attrs(g, OP_transpose, &heads, 1, &t);
}

static ir_node *lower(ir_graph *g, ir_node *n, void *ctx) {
    (void)ctx;
    attn_match m;
    if (!match(n, &m)) return NULL;
    ir_node *y = fuse(g, n, &m);
    return y && ir_shape_eq(&y->shape, &n->shape) ? y : NULL;
}

void pass_attention(ir_graph *g) {
    ir_count_uses(g);
    pass_lower_in_place(g, lower, NULL);
}
