/* emit_attention.c — kernel bodies of attention and attention_grad.
 *
 * Each body is one call into runtime/attention.c, where the row loops live
 * as ordinary C (tested, profiled and tuned without touching the compiler);
 * the kernel spells out the geometry, so it still reads as what it computes:
 *
 *     dl_attention_geom g = {.batch = n, .t = sym1, .s = sym1, .e = 8, .ev = 8, .heads = 2,
 *                                  .causal = 1, .q_pos0 = 0, .scale = 0.5f, ...};
 *     return dl_attention(&g, x0, x1, x2, NULL, y);
 *
 * The mask's broadcasting becomes strides over the scores' coordinates
 * (batch dims, head, query, key), 0 where it broadcasts. */
#include "emit_internal.h"
#include "ops_attention.h"

static void emit_geom(emit_ctx *c, FILE *b, const ir_node *n, const attn_shape *a) {
    const ir_attrs_attention *at = &n->a.attention;
    ir_dim batch = ir_dim_const(1);
    for (int i = 0; i < a->nb; i++) batch = ir_dim_mul(batch, n->in[0]->shape.d[i]);
    fprintf(b, "    dl_attention_geom g = {.batch = %s, .t = %s, .s = %s, .e = %lld, .ev = %lld, .heads = %lld,\n",
            emit_dim(c, batch), emit_dim(c, a->t), emit_dim(c, a->s), (long long)a->e, (long long)a->ev,
            (long long)at->heads);
    const int from_pos = c->decode && c->decode->role[n->id] != DECODE_PLAIN; /* queries start at pos */
    fprintf(b, "                                 .causal = %d, .q_pos0 = %s, .scale = %s", (int)at->causal,
            from_pos ? "pos" : arena_printf(c->ar, "%lld", (long long)at->q_pos0), emit_float(c, at->scale));
    if (from_pos) c->uses_pos = 1;
    if (a->mask) {
        int r = a->target.rank, h = at->heads > 1;
        fprintf(b, ",\n                                 .nb = %d, .bdim = {", a->nb);
        for (int i = 0; i < a->nb; i++) fprintf(b, "%s%s", i ? ", " : "", emit_dim(c, n->in[0]->shape.d[i]));
        fprintf(b, "}, .mb = {");
        for (int i = 0; i < a->nb; i++) fprintf(b, "%s%s", i ? ", " : "", emit_dim(c, attn_mask_stride(a, i)));
        fprintf(b, "},\n                                 .mh = %s, .mt = %s, .ms = %s",
                h ? emit_dim(c, attn_mask_stride(a, a->nb)) : "0", emit_dim(c, attn_mask_stride(a, r - 2)),
                emit_dim(c, attn_mask_stride(a, r - 1)));
    }
    fprintf(b, "};\n");
}

/* Decoding (decode.h): the new keys and values go to the caches at rows
 * pos .., and the queries attend over the pos + T rows there. */
static void emit_cached(emit_ctx *c, FILE *b, const ir_node *n, const attn_shape *a) {
    const ir_attrs_attention *at = &n->a.attention;
    ir_dim batch = ir_dim_const(1);
    for (int i = 0; i < a->nb; i++) batch = ir_dim_mul(batch, n->in[0]->shape.d[i]);
    const char *B = emit_dim(c, batch), *T = emit_dim(c, a->t);
    fprintf(b, "    /* decoding: append the new keys and values at rows pos.. of the caches (cap rows each), */\n");
    fprintf(b, "    for (int64_t b = 0; b < %s; b++) {\n", B);
    fprintf(b, "        memcpy(kc + (b * cap + pos) * %lld, x1 + b * %s * %lld, sizeof(float) * (size_t)(%s * %lld));\n",
            (long long)a->e, T, (long long)a->e, T, (long long)a->e);
    fprintf(b, "        memcpy(vc + (b * cap + pos) * %lld, x2 + b * %s * %lld, sizeof(float) * (size_t)(%s * %lld));\n",
            (long long)a->ev, T, (long long)a->ev, T, (long long)a->ev);
    fprintf(b, "    }\n    /* then attend over the pos + %s keys so far: the queries are positions pos.. */\n", T);
    fprintf(b, "    const dl_attention_geom g = {.batch = %s, .t = %s, .s = pos + %s, .e = %lld, .ev = %lld, .heads = %lld,\n", B,
            T, T, (long long)a->e, (long long)a->ev, (long long)at->heads);
    fprintf(b, "                                 .causal = 1, .q_pos0 = pos, .scale = %s, .kb = cap * %lld, .vb = cap * %lld};\n",
            emit_float(c, at->scale), (long long)a->e, (long long)a->ev);
    fprintf(b, "    return dl_attention(&g, x0, kc, vc, NULL, y);\n");
    c->uses_pos = 1;
    c->extra_params = "float *restrict kc, float *restrict vc, int64_t cap";
    c->extra_args = arena_printf(c->ar, "%s, %s, m->sym_max[1]", emit_decode_kcache(c, n), emit_decode_vcache(c, n));
    c->returns_status = 1;
}

void emit_attention(emit_ctx *c, FILE *b, const ir_node *n) {
    attn_shape a = attn_shape_of(n);
    if (c->decode && c->decode->role[n->id] == DECODE_CACHED) {
        emit_cached(c, b, n, &a);
        return;
    }
    const char *mask = a.mask ? (n->op == OP_attention ? "x3" : "x5") : "NULL";
    fprintf(b, "    /* fused: a tile of scores per block of queries, no T x S buffer (runtime/attention.c) */\n");
    emit_geom(c, b, n, &a);
    if (n->op == OP_attention) fprintf(b, "    return dl_attention(&g, x0, x1, x2, %s, y);\n", mask);
    else {
        /* the gradients in `which` lie side by side in y's rows */
        int64_t w = n->a.attention.which, width = attn_grad_offset(&a, w, ATTN_DMASK);
        const char *out[4] = {"NULL", "NULL", "NULL", w == ATTN_DMASK ? "y" : "NULL"}; /* dq, dk, dv, dscores */
        for (int k = 0; k < 3; k++) {
            int64_t off = attn_grad_offset(&a, w, 1 << k);
            if (w & (1 << k)) out[k] = off ? arena_printf(c->ar, "y + %lld", (long long)off) : "y";
        }
        if (w != ATTN_DMASK && (w & (w - 1)))
            fprintf(b, "    g.ld_dq = g.ld_dk = g.ld_dv = %lld;\n", (long long)width);
        fprintf(b, "    return dl_attention_bwd(&g, x0, x1, x2, %s, x3, x4, %s, %s, %s, %s);\n", mask, out[0], out[1], out[2],
                out[3]);
    }
    c->returns_status = 1;
}
