/* ops_attention.c — fused scaled-dot-product attention and its gradients.
 *
 * attention(q, k, v[, mask]) is ONE op rather than q @ transpose(k),
 * softmax, @ v: the T x S score matrix never exists in the IR, so T and S
 * may be run-time symbols (a shape cannot hold a symbol twice, ir.c), and
 * the kernel keeps one row of probabilities at a time. Per head h (columns
 * h*E/heads.. of q and k, h*Ev/heads.. of v):
 *
 *     out[b, t, h] = sum_s softmax_s(scale * q_h[b,t].k_h[b,s] + mask[.., t, s]) v_h[b, s]
 *
 * with causal: key s only for s <= t + q_pos0. A row whose every key is
 * masked (all -inf) gives 0, not NaN.
 *
 * The VJP is attention_grad, which recomputes the probabilities P tile by
 * tile, as flash attention does, from q, k, v, the forward's output and its
 * gradient: with D_t = dout_t.out_t, dP = dout v^T and dS = P o (dP - D),
 * dq = scale dS k, dk = scale dS^T q, dv = P^T dout, and dmask = dS (the
 * only one shaped like the scores, so the only one that needs T and S not
 * to be the same symbol). One node computes every gradient in its `which`
 * set side by side along the last axis (slices take them apart), so a
 * self-attention's backward recomputes P once. */
#include <math.h>
#include <string.h>

#include "ops_attention.h"
#include "ops_impl.h"

static int has_mask(const ir_node *n) { return n->nin == (n->op == OP_attention ? 4 : 6); }

attn_shape attn_shape_of(const ir_node *n) {
    const ir_shape *q = &n->in[0]->shape, *k = &n->in[1]->shape, *v = &n->in[2]->shape;
    attn_shape a = {.nb = q->rank - 2, .t = q->d[q->rank - 2], .s = k->d[k->rank - 2],
                    .e = q->d[q->rank - 1].k, .ev = v->d[v->rank - 1].k};
    a.mask = has_mask(n) ? n->in[n->nin - 1] : NULL;
    a.target.rank = 0;
    for (int i = 0; i < a.nb; i++) a.target.d[a.target.rank++] = q->d[i];
    if (n->a.attention.heads > 1) a.target.d[a.target.rank++] = ir_dim_const(n->a.attention.heads);
    a.target.d[a.target.rank++] = a.t;
    a.target.d[a.target.rank++] = a.s;
    return a;
}

ir_dim attn_mask_stride(const attn_shape *a, int j) {
    const ir_shape *m = &a->mask->shape;
    int mj = j - (a->target.rank - m->rank);
    if (mj < 0 || (ir_dim_eq(m->d[mj], ir_dim_const(1)) && !ir_dim_eq(a->target.d[j], ir_dim_const(1))))
        return ir_dim_const(0);
    ir_dim st = ir_dim_const(1);
    for (int i = mj + 1; i < m->rank; i++) st = ir_dim_mul(st, m->d[i]);
    return st;
}

static int same_lead(const ir_shape *a, const ir_shape *b) {
    if (a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank - 2; i++)
        if (!ir_dim_eq(a->d[i], b->d[i])) return 0;
    return 1;
}

/* Grouped-query attention written without repeating the key/value heads: the
 * ranks agree and one leading dimension of q (the heads) is a multiple g > 1 of
 * k's, the others equal. Returns g, or 0 for any other mismatch. */
static int64_t kv_group_factor(const ir_shape *q, const ir_shape *k) {
    if (q->rank != k->rank) return 0;
    int64_t g = 0;
    for (int i = 0; i < q->rank - 2; i++) {
        if (ir_dim_eq(q->d[i], k->d[i])) continue;
        if (g || !ir_dim_is_const(q->d[i]) || !ir_dim_is_const(k->d[i])) return 0;
        int64_t a = q->d[i].k, b = k->d[i].k;
        if (b < 1 || a <= b || a % b != 0) return 0;
        g = a / b;
    }
    return g;
}

/* q, k, v, the attributes and the mask of attention or attention_grad. */
static int check_operands(ir_node *n, char *err, int errlen) {
    const char *op = ir_ops[n->op].name;
    int want = n->op == OP_attention ? 3 : 5;
    if (n->nin != want && n->nin != want + 1)
        return ops_fail(err, errlen, "%s: takes %d or %d operands, got %d", op, want, want + 1, n->nin);
    for (int k = 0; k < n->nin; k++)
        if (!ops_require_f32(n, k, err, errlen)) return 0;
    const ir_node *q = n->in[0], *k = n->in[1], *v = n->in[2];
    char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF], b3[OPS_TYPE_BUF];
    if (q->shape.rank < 2)
        return ops_fail(err, errlen, "%s: q must be [.., T, E] (queries by features), got %s", op, ops_type(b1, q));
    if (!same_lead(&q->shape, &k->shape) || !same_lead(&q->shape, &v->shape)) {
        int64_t g = kv_group_factor(&q->shape, &k->shape);
        char hint[192] = "";
        if (g)
            snprintf(hint, sizeof hint, "\nhint: grouped-query attention: repeat each key and value head for its %lld query heads, "
                     "repeat_kv(k, %lld) and repeat_kv(v, %lld)", (long long)g, (long long)g, (long long)g);
        return ops_fail(err, errlen, "%s: q %s, k %s and v %s must have the same rank and the same leading dimensions "
                        "before their last two%s", op, ops_type(b1, q), ops_type(b2, k), ops_type(b3, v), hint);
    }
    int r = q->shape.rank;
    ir_dim e = q->shape.d[r - 1], ek = k->shape.d[r - 1], ev = v->shape.d[r - 1];
    if (!ir_dim_eq(e, ek))
        return ops_fail(err, errlen, "%s: the last dimensions of q %s and k %s must be equal: each query is compared "
                        "with each key", op, ops_type(b1, q), ops_type(b2, k));
    if (!ir_dim_eq(k->shape.d[r - 2], v->shape.d[r - 2]))
        return ops_fail(err, errlen, "%s: k %s and v %s must have as many rows: one value per key", op,
                        ops_type(b1, k), ops_type(b2, v));
    if (!ir_dim_is_const(e) || !ir_dim_is_const(ev))
        return ops_fail(err, errlen, "%s: the feature dimensions of q %s and v %s must be constants", op,
                        ops_type(b1, q), ops_type(b2, v));
    const ir_attrs_attention *at = &n->a.attention;
    if (n->a.ni != 4 || n->a.nf != 1) /* its four ints and scale are all set (ir_attrs.def) */
        return ops_fail(err, errlen, "%s: malformed attributes (%d int and %d float slots set, not 4 and 1)", op,
                        n->a.ni, n->a.nf);
    if (at->heads < 1 || e.k % at->heads || ev.k % at->heads)
        return ops_fail(err, errlen, "%s: heads = %lld must divide the last dimensions of q and k (%lld) and of v (%lld)",
                        op, (long long)at->heads, (long long)e.k, (long long)ev.k);
    if (at->causal < 0 || at->causal > 1 || at->q_pos0 < 0 || !isfinite(at->scale))
        return ops_fail(err, errlen, "%s: malformed attributes (causal %lld, q_pos0 %lld, scale %g)", op,
                        (long long)at->causal, (long long)at->q_pos0, at->scale);
    if (r - 2 + (at->heads > 1) + 2 > IR_MAX_RANK)
        return ops_fail(err, errlen, "%s: q %s has too many leading dimensions", op, ops_type(b1, q));
    attn_shape a = attn_shape_of(n);
    if (a.mask) {
        ir_shape bc;
        if (a.mask->shape.rank > a.target.rank || !ir_broadcast_shapes(&a.mask->shape, &a.target, &bc) ||
            !ir_shape_eq(&bc, &a.target)) {
            ir_shape_str(b2, sizeof b2, IR_F32, &a.target, NULL);
            /* [N, S], one entry per key of each sample: a key padding mask still missing its query axes */
            const ir_shape *ms = &a.mask->shape, *ts = &a.target;
            int per_key = ms->rank == 2 && ir_dim_eq(ms->d[0], ts->d[0]) && ir_dim_eq(ms->d[1], ts->d[ts->rank - 1]);
            char pad[96] = "";
            if (per_key)
                snprintf(pad, sizeof pad, "; a key padding bias [N, S] is reshape(mask, [N, 1, %sS])",
                         at->heads > 1 ? "1, " : "");
            return ops_fail(err, errlen, "%s: the mask %s does not broadcast to the scores %s%s%s", op,
                            ops_type(b1, a.mask), b2,
                            at->heads > 1 ? "\nhint: with several heads the scores are [.., heads, T, S]"
                                          : "\nhint: the scores are [.., T, S]: one row per query, one column per key",
                            pad);
        }
    }
    return 1;
}

int op_shape_attention(ir_node *n, char *err, int errlen) {
    if (!check_operands(n, err, errlen)) return 0;
    n->dtype = IR_F32;
    n->shape = n->in[0]->shape;
    n->shape.d[n->shape.rank - 1] = n->in[2]->shape.d[n->shape.rank - 1];
    return 1;
}

int64_t attn_grad_offset(const attn_shape *a, int64_t which, int bit) {
    int64_t off = 0;
    if (bit > ATTN_DQ && (which & ATTN_DQ)) off += a->e;
    if (bit > ATTN_DK && (which & ATTN_DK)) off += a->e;
    if (bit > ATTN_DV && (which & ATTN_DV)) off += a->ev;
    return off;
}

int op_shape_attention_grad(ir_node *n, char *err, int errlen) {
    if (!check_operands(n, err, errlen)) return 0;
    ir_shape o = n->in[0]->shape;
    o.d[o.rank - 1] = n->in[2]->shape.d[o.rank - 1];
    char b1[OPS_TYPE_BUF], b2[OPS_TYPE_BUF], b3[OPS_TYPE_BUF];
    if (!ir_shape_eq(&n->in[3]->shape, &o) || !ir_shape_eq(&n->in[4]->shape, &o))
        return ops_fail(err, errlen, "attention_grad: the output %s and its gradient %s must be %s", ops_type(b1, n->in[3]),
                        ops_type(b2, n->in[4]), ir_shape_str(b3, sizeof b3, IR_F32, &o, NULL));
    attn_shape a = attn_shape_of(n);
    int64_t w = n->a.attention.which;
    int kv = (w & (ATTN_DK | ATTN_DV)) != 0;
    if (w == ATTN_DMASK ? !has_mask(n) : w < 1 || w > 7 || ((w & ATTN_DQ) && kv && !ir_dim_eq(a.t, a.s)))
        return ops_fail(err, errlen, "attention_grad: which = %lld is not a set of dq (1), dk (2), dv (4) (dq with the "
                        "others only when T = S) nor dmask (8, with a mask)", (long long)w);
    n->dtype = IR_F32;
    if (w == ATTN_DMASK) {
        n->shape = a.target;
        return 1;
    }
    n->shape = n->in[w & ATTN_DQ ? 0 : 1]->shape;
    n->shape.d[n->shape.rank - 1] = ir_dim_const(attn_grad_offset(&a, w, ATTN_DMASK));
    return 1;
}

/* Pairs (t, s) that take part: all, or about half under a causal mask. */
static double pairs(const ir_node *n, const int64_t *sv) {
    attn_shape a = attn_shape_of(n);
    double b = 1;
    for (int i = 0; i < a.nb; i++) b *= (double)ir_dim_eval(n->in[0]->shape.d[i], sv);
    return b * (double)ir_dim_eval(a.t, sv) * (double)ir_dim_eval(a.s, sv) * (n->a.attention.causal ? 0.5 : 1);
}

/* 2E for the scores, about 5 per score and head for the softmax, 2Ev for P v. */
double op_flops_attention(const ir_node *n, const int64_t *sv) {
    attn_shape a = attn_shape_of(n);
    return pairs(n, sv) * (double)(2 * a.e + 2 * a.ev + 5 * n->a.attention.heads);
}

/* Recomputed scores (2E), dv's product (2Ev), dP and the products for dq and dk (2Ev + 2E each). */
double op_flops_attention_grad(const ir_node *n, const int64_t *sv) {
    attn_shape a = attn_shape_of(n);
    int64_t w = n->a.attention.which, f = 2 * a.e + 5 * n->a.attention.heads;
    if (w & ATTN_DV) f += 2 * a.ev;
    if (w & (ATTN_DQ | ATTN_DK | ATTN_DMASK)) f += 2 * a.ev + 3 * n->a.attention.heads;
    if (w & ATTN_DQ) f += 2 * a.e;
    if (w & ATTN_DK) f += 2 * a.e;
    return pairs(n, sv) * (double)f;
}

/* One attention_grad node computing the gradients in `which` side by side, and each one's columns. */
static void grads(ad_ctx *c, ir_node *n, ir_node *const *in, int nin, int64_t which) {
    ir_attrs a = n->a;
    a.attention.which = which;
    ir_node *g = ir_op_attrs(c->g, OP_attention_grad, in, nin, &a);
    attn_shape s = attn_shape_of(n);
    for (int k = 0; k < 3; k++) {
        int bit = 1 << k;
        if (!(which & bit)) continue;
        ir_node *part = g;
        if (which != bit) {
            int64_t width = k == 2 ? s.ev : s.e;
            ir_attrs sl = {.slice = {.axis = g->shape.rank - 1, .start = attn_grad_offset(&s, which, bit), .step = 1,
                                     .count = width},
                           .ni = 4};
            part = ir_op_attrs(c->g, OP_slice, &g, 1, &sl);
        }
        ad_accum(c, n->in[k], part);
    }
}

/* The wanted gradients of q, k and v come from one recomputation when they
 * have as many rows (self-attention) and from two otherwise; the mask's
 * from its own (it is the only one shaped like the scores). */
void op_vjp_attention(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *in[6] = {n->in[0], n->in[1], n->in[2], n, gy, has_mask(n) ? n->in[3] : NULL};
    int nin = has_mask(n) ? 6 : 5;
    int64_t want = 0;
    for (int k = 0; k < 3; k++)
        if (ad_wants(c, n->in[k])) want |= 1 << k;
    attn_shape s = attn_shape_of(n);
    if ((want & ATTN_DQ) && (want & (ATTN_DK | ATTN_DV)) && !ir_dim_eq(s.t, s.s)) {
        grads(c, n, in, nin, ATTN_DQ);
        want &= ~(int64_t)ATTN_DQ;
    }
    if (want) grads(c, n, in, nin, want);
    if (!has_mask(n) || !ad_wants(c, n->in[3])) return;
    uint32_t seen = 0, twice = 0;
    for (int i = 0; i < s.target.rank; i++) twice |= seen & s.target.d[i].syms, seen |= s.target.d[i].syms;
    if (twice) {
        ad_fail(c, "attention: the gradient of the mask is shaped like the scores [.., T, S], which cannot "
                   "have the same run-time size in two dimensions\nhint: give the queries or the keys a "
                   "constant length, or pass stop_grad(mask) if the mask needs no gradient");
        return;
    }
    ir_attrs a = n->a;
    a.attention.which = ATTN_DMASK;
    ad_accum(c, n->in[3], ir_op_attrs(c->g, OP_attention_grad, in, nin, &a));
}

void op_vjp_attention_grad(ad_ctx *c, ir_node *n, ir_node *gy) {
    (void)n, (void)gy;
    ad_fail(c, "attention: no second derivative (the gradient of attention's gradient is not implemented)");
}
