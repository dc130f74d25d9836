/* decode.c — which forward graphs can run incrementally (decode.h).
 *
 * The question for each op is whether it mixes values of different
 * positions, i.e. whether it acts along an axis that carries the sequence
 * symbol T. Elementwise ops, layouts, matrix products over other axes and
 * lookups by token never do; a sum, a softmax or a contraction over T does,
 * and so does anything we have not thought through (the default refuses).
 * A reshape keeps positions apart when it keeps the number of elements per
 * position: dims are monomials, so a dimension holding T (N*T after a
 * flatten, say) is taken to hold it outside its constant factor, which is
 * how row-major merges of [N, T, ...] build them. */
#include "decode.h"

#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "ops_attention.h"

static int has_t(ir_dim d, uint32_t tb) { return (d.syms & tb) != 0; }

static int shape_has_t(const ir_shape *s, uint32_t tb)
{
    for (int i = 0; i < s->rank; i++)
        if (has_t(s->d[i], tb)) return 1;
    return 0;
}

static int node_touches_t(const ir_node *n, uint32_t tb)
{
    if (shape_has_t(&n->shape, tb)) return 1;
    for (int k = 0; k < n->nin; k++)
        if (shape_has_t(&n->in[k]->shape, tb)) return 1;
    return 0;
}

/* Elements per position: the constant factor of T's dim and every dim after
 * it; -1 when T is in no dim or in two. */
static int64_t per_position(const ir_shape *s, uint32_t tb)
{
    int at = -1;
    for (int i = 0; i < s->rank; i++)
        if (has_t(s->d[i], tb)) {
            if (at >= 0) return -1;
            at = i;
        }
    if (at < 0) return -1;
    int64_t inner = s->d[at].k;
    for (int i = at + 1; i < s->rank; i++) {
        if (s->d[i].syms) return -1;
        inner *= s->d[i].k;
    }
    return inner;
}

/* Axis `axis` of x carries T. */
static int axis_has_t(const ir_node *x, int64_t axis, uint32_t tb)
{
    return axis >= 0 && axis < x->shape.rank && has_t(x->shape.d[axis], tb);
}

static int matmul_contracts_t(const ir_node *n, uint32_t tb)
{
    const ir_node *a = n->in[0], *b = n->in[1];
    int ka = a->shape.rank - (n->a.matmul.ta ? 2 : 1), kb = b->shape.rank - (n->a.matmul.tb ? 1 : 2);
    return axis_has_t(a, ka, tb) || axis_has_t(b, kb, tb);
}

/* Attention over positions: the keys run over T (self-attention) and are
 * cached, or over something else (cross-attention to a fixed memory) and
 * only the queries' positions matter. Either way a causal one must know
 * where its queries start. */
static int attention_role(const ir_node *n, uint32_t tb, const char **what)
{
    attn_shape a = attn_shape_of(n);
    for (int i = 0; i < a.nb; i++)
        if (has_t(n->in[0]->shape.d[i], tb)) {
            *what = "an attention batched over positions";
            return -1;
        }
    const int exact_t = a.t.k == 1 && a.t.syms == tb;
    if (!has_t(a.s, tb)) {
        if (!has_t(a.t, tb) || !n->a.attention.causal) return DECODE_PLAIN;
        if (exact_t) return DECODE_OFFSET;
        *what = "a causal attention whose queries are not the positions";
        return -1;
    }
    if (!n->a.attention.causal) {
        *what = "an attention over the whole sequence (not causal)";
        return -1;
    }
    if (!exact_t || !(a.s.k == 1 && a.s.syms == tb) || a.mask) {
        *what = a.mask ? "a causal attention with a mask over the sequence" : "an attention over a multiple of the sequence";
        return -1;
    }
    return DECODE_CACHED;
}

/* The role of n, or -1 when n mixes positions (what it does then in *what). */
static int role_of(const ir_node *n, uint32_t tb, const char **what)
{
    const ir_op_info *info = &ir_ops[n->op];
    if (!node_touches_t(n, tb)) return DECODE_PLAIN;
    switch (n->op) {
    case OP_input: case OP_param: case OP_constant: return DECODE_PLAIN;
    case OP_iota: {
        const ir_dim d = n->shape.d[n->a.iota.axis];
        if (!has_t(d, tb)) return DECODE_PLAIN;
        if (d.k == 1 && d.syms == tb) return DECODE_OFFSET;
        *what = "a range over a multiple of the sequence length";
        return -1;
    }
    case OP_reduce_sum: case OP_reduce_max:
        for (int i = 0; i < n->in[0]->shape.rank; i++)
            if ((n->a.reduce.axes >> i & 1) && axis_has_t(n->in[0], i, tb)) {
                *what = "a reduction over the sequence";
                return -1;
            }
        return DECODE_PLAIN;
    case OP_reshape:
        if (per_position(&n->in[0]->shape, tb) == per_position(&n->shape, tb) && per_position(&n->shape, tb) > 0)
            return DECODE_PLAIN;
        *what = "a reshape that regroups positions";
        return -1;
    case OP_broadcast_to: case OP_transpose: case OP_stop_grad: return DECODE_PLAIN;
    case OP_matmul:
        if (!matmul_contracts_t(n, tb)) return DECODE_PLAIN;
        *what = "a matrix product over the sequence";
        return -1;
    case OP_softmax: case OP_log_softmax:
        if (!axis_has_t(n->in[0], n->a.softmax.axis, tb)) return DECODE_PLAIN;
        *what = "a softmax over the sequence";
        return -1;
    case OP_layer_norm:
        if (!axis_has_t(n->in[0], n->in[0]->shape.rank - 1, tb)) return DECODE_PLAIN;
        *what = "a layer norm over the sequence";
        return -1;
    case OP_take:
        if (!axis_has_t(n->in[0], 0, tb)) return DECODE_PLAIN;
        *what = "a lookup into a table of positions";
        return -1;
    case OP_pick:
        if (!axis_has_t(n->in[0], n->in[0]->shape.rank - 1, tb)) return DECODE_PLAIN;
        *what = "a pick along the sequence";
        return -1;
    case OP_attention: return attention_role(n, tb, what);
    case OP_concat: case OP_slice: case OP_pad:
        /* they act along constant dimensions only (ops_movement.c) */
        return DECODE_PLAIN;
    default: break;
    }
    if (info->kind == IR_ELEMWISE) return DECODE_PLAIN;
    *what = info->name;
    return -1;
}

/* Room for n's keys and values: per sample and position, the rows of its
 * constant batch dims (heads of a [N, H, T, d] layout) times E and Ev. */
static int cache_layout(decode_plan *p, const ir_node *n)
{
    attn_shape a = attn_shape_of(n);
    ir_dim batch = ir_dim_const(1);
    for (int i = 0; i < a.nb; i++) batch = ir_dim_mul(batch, n->in[0]->shape.d[i]);
    if (batch.syms != 1u << IR_SYM_N) return 0;
    p->kv_off[n->id] = p->kv_floats;
    p->kv_row_k[n->id] = batch.k * a.e;
    p->kv_floats += batch.k * (a.e + a.ev);
    p->n_cached++;
    return 1;
}

decode_plan *decode_analyze(const ir_module *m, char *why, int whylen)
{
    const ir_graph *g = m->forward;
    why[0] = '\0';
    if (!g || m->n_syms != 2) {
        snprintf(why, (size_t)whylen, "the model has %s sequence symbol", m->n_syms < 2 ? "no" : "more than one");
        return NULL;
    }
    for (int i = 0; i < m->n_params; i++)
        if (m->params[i].state) {
            snprintf(why, (size_t)whylen, "the model carries state between calls (%s)", m->params[i].name);
            return NULL;
        }
    const uint32_t tb = 1u << 1;
    decode_plan *p = arena_alloc(m->ar, sizeof *p);
    p->sym = 1;
    p->role = arena_alloc(m->ar, (size_t)(g->next_id > 0 ? g->next_id : 1));
    p->kv_off = arena_alloc(m->ar, sizeof(int64_t) * (size_t)(g->next_id > 0 ? g->next_id : 1));
    p->kv_row_k = arena_alloc(m->ar, sizeof(int64_t) * (size_t)(g->next_id > 0 ? g->next_id : 1));
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        const char *what = NULL;
        int r = role_of(n, tb, &what);
        if (r < 0) {
            snprintf(why, (size_t)whylen, "%s at %s:%d:%d mixes positions", what, n->loc.file ? n->loc.file : "?",
                     n->loc.line, n->loc.col);
            return NULL;
        }
        p->role[n->id] = (unsigned char)r;
        if (r == DECODE_CACHED && !cache_layout(p, n)) {
            snprintf(why, (size_t)whylen, "the attention at %s:%d:%d is not batched by N", n->loc.file ? n->loc.file : "?",
                     n->loc.line, n->loc.col);
            return NULL;
        }
    }
    if (p->n_cached == 0) {
        snprintf(why, (size_t)whylen, "the model has no causal self-attention to cache");
        return NULL;
    }
    return p;
}
