/* ops_matmul.c — batched matrix product a[.., M, K] @ b[.., K, P].
 *
 * matmul.ta/tb say that a/b are stored transposed in their last two dims, so
 * x @ transpose(w) is one node and the backward pass never materializes a
 * transpose: each of the four cases differentiates into matmuls with other
 * flags. Leading (batch) dims broadcast; ad_accum sums a broadcast weight's
 * gradient over the batch. Cost: 2*M*P*K multiply-adds per batch entry. */
#include "ops_impl.h"

/* The logical (rows, cols) of an operand after its transpose flag. */
static void mat_dims(const ir_shape *s, int t, ir_dim *rows, ir_dim *cols) {
    ir_dim r = s->d[s->rank - 2], c = s->d[s->rank - 1];
    *rows = t ? c : r;
    *cols = t ? r : c;
}

int op_shape_matmul(ir_node *n, char *err, int errlen) {
    if (!ops_require_f32(n, 0, err, errlen) || !ops_require_f32(n, 1, err, errlen)) return 0;
    const ir_node *a = n->in[0], *b = n->in[1];
    char ba[OPS_TYPE_BUF], bb[OPS_TYPE_BUF];
    for (int k = 0; k < 2; k++)
        if (n->in[k]->shape.rank < 2)
            return ops_fail(err, errlen, "matmul: operands need at least 2 dimensions, got %s\nhint: reshape a vector to [1, K] or [K, 1]",
                            ops_type(ba, n->in[k]));
    int ta = n->a.matmul.ta != 0, tb = n->a.matmul.tb != 0;
    ir_dim m, ka, kb, p;
    mat_dims(&a->shape, ta, &m, &ka);
    mat_dims(&b->shape, tb, &kb, &p);
    if (!ir_dim_eq(ka, kb)) {
        char s1[48], s2[48];
        return ops_fail(err, errlen, "matmul: inner dimensions differ: %s%s @ %s%s (%s vs %s)\nhint: did you mean transpose(...)?",
                        ta ? "transpose " : "", ops_type(ba, a), tb ? "transpose " : "", ops_type(bb, b),
                        ir_dim_str(s1, sizeof s1, ka, NULL), ir_dim_str(s2, sizeof s2, kb, NULL));
    }
    ir_shape batch_a = a->shape, batch_b = b->shape, batch;
    batch_a.rank -= 2, batch_b.rank -= 2;
    if (!ir_broadcast_shapes(&batch_a, &batch_b, &batch))
        return ops_fail(err, errlen, "matmul: the batch dimensions of %s and %s do not broadcast", ops_type(ba, a),
                        ops_type(bb, b));
    if (batch.rank + 2 > IR_MAX_RANK) return ops_fail(err, errlen, "matmul: result has too many dimensions");
    if (!ir_dim_is_const(m) && ir_dim_eq(m, p)) { /* a batch against itself: [N, D] @ [D, N] */
        char s1[48];
        return ops_fail(err, errlen,
                        "matmul: %s%s @ %s%s would be [%s, %s], the run-time size %s in two dimensions, which a value cannot "
                        "have (its size would grow as %s squared)\n"
                        "hint: the losses over a batch's similarity matrix are ops that never store it: clip_loss(image, text, "
                        "logit_scale = exp(s)) is CLIP's cross-entropy over image @ transpose(text) with labels arange(N), "
                        "nt_xent(z1, z2) SimCLR's; attention(q, k, v) attends over a run-time length; a loss over the pairs of a "
                        "group (SupCon, batch-hard triplets) takes the group as a compile-time axis of one sample, "
                        "f32[N, K, D]: e @ transpose(e) is then f32[N, K, K]",
                        ta ? "transpose " : "", ops_type(ba, a), tb ? "transpose " : "", ops_type(bb, b),
                        ir_dim_str(s1, sizeof s1, m, NULL), s1, s1, s1);
    }
    n->shape = batch;
    n->shape.d[n->shape.rank++] = m;
    n->shape.d[n->shape.rank++] = p;
    n->dtype = IR_F32;
    return 1;
}

double op_flops_matmul(const ir_node *n, const int64_t *sv) {
    ir_dim m, k;
    mat_dims(&n->in[0]->shape, n->a.matmul.ta != 0, &m, &k);
    return 2.0 * ops_numel(&n->shape, sv) * (double)ir_dim_eval(k, sv);
}

/* y = A' B' with A' = ta ? A^T : A, B' likewise. dA' = gy B'^T, dB' = A'^T gy;
 * when A is stored transposed we need dA = (dA')^T = B' gy^T, and so on.
 * Every case is one matmul with the right flags. */
/* [..., R, C] as [M, C], M the product of the other dimensions. */
static ir_node *rows_of(ir_graph *g, ir_node *x) {
    ir_shape s = {.rank = 2};
    s.d[0] = ir_dim_const(1);
    for (int i = 0; i < x->shape.rank - 1; i++) s.d[0] = ir_dim_mul(s.d[0], x->shape.d[i]);
    s.d[1] = x->shape.d[x->shape.rank - 1];
    return ir_reshape(g, x, &s);
}

void op_vjp_matmul(ad_ctx *c, ir_node *n, ir_node *gy) {
    ir_node *a = n->in[0], *b = n->in[1];
    int ta = n->a.matmul.ta != 0, tb = n->a.matmul.tb != 0;
    ir_node *da = NULL, *db = NULL;
    int want_a = ad_wants(c, a), want_b = ad_wants(c, b);
    /* A weight applied to every row of a batched input (x: [N, T, K] @ W^T, a
     * dense layer over a sequence): its gradient sums over every row, which is
     * ONE product of the rows stacked, [K, N*T] @ [N*T, O] — not N products of
     * T rows each, materialized as [N, O, K] and then summed. */
    if (want_b && !ta && b->shape.rank == 2 && a->shape.rank >= 3) {
        ir_node *a2 = rows_of(c->g, a), *g2 = rows_of(c->g, gy);
        ad_accum(c, b, tb ? ir_matmul(c->g, g2, a2, 1, 0) : ir_matmul(c->g, a2, g2, 1, 0));
        want_b = 0;
    }
    if (!ta && !tb) {
        if (want_a) da = ir_matmul(c->g, gy, b, 0, 1); /* gy B^T */
        if (want_b) db = ir_matmul(c->g, a, gy, 1, 0); /* A^T gy */
    } else if (!ta && tb) {
        if (want_a) da = ir_matmul(c->g, gy, b, 0, 0); /* gy B        (y = A B^T) */
        if (want_b) db = ir_matmul(c->g, gy, a, 1, 0); /* gy^T A */
    } else if (ta && !tb) {
        if (want_a) da = ir_matmul(c->g, b, gy, 0, 1); /* B gy^T      (y = A^T B) */
        if (want_b) db = ir_matmul(c->g, a, gy, 0, 0); /* A gy */
    } else {
        if (want_a) da = ir_matmul(c->g, b, gy, 1, 1); /* B^T gy^T    (y = A^T B^T) */
        if (want_b) db = ir_matmul(c->g, gy, a, 1, 1); /* gy^T A^T */
    }
    if (da) ad_accum(c, a, da);
    if (db) ad_accum(c, b, db);
}
