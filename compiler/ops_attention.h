/* ops_attention.h — the shapes of the attention family (ops_attention.c),
 * shared by its shape rules, the reference kernel and the emitter.
 *
 * Operands: attention(q, k, v[, mask]), attention_grad(q, k, v, out, dout[,
 * mask]); the mask, when present, is always the last operand. q is
 * f32[B.., T, E], k f32[B.., S, E], v f32[B.., S, Ev]; the heads split E and
 * Ev into equal column blocks. The mask is added to the scaled scores and
 * broadcasts (NumPy rules, aligned right) to the scores' shape, `target`:
 * [B.., T, S] for one head, [B.., heads, T, S] for several. */
#ifndef DLNC_OPS_ATTENTION_H
#define DLNC_OPS_ATTENTION_H
#include "ir.h"

typedef struct attn_shape {
    int nb;              /* leading (batch) dimensions B.. of q, k and v */
    ir_dim t, s;         /* queries, keys */
    int64_t e, ev;       /* widths of q and k, of v (all heads) */
    const ir_node *mask; /* NULL: none */
    ir_shape target;     /* the scores' shape, which the mask broadcasts to */
} attn_shape;

/* The shapes of a node whose shape rule has accepted it. */
attn_shape attn_shape_of(const ir_node *n);
/* The mask's stride (in elements) along dimension j of target; 0 where it
 * broadcasts (a dimension of 1, or one the mask does not have). */
ir_dim attn_mask_stride(const attn_shape *a, int j);

/* Where gradient `bit` (ATTN_DQ, ATTN_DK, ATTN_DV) starts among the columns
 * of an attention_grad computing the set `which`: dq, dk, dv in that order.
 * With bit = ATTN_DMASK: the total width. */
int64_t attn_grad_offset(const attn_shape *a, int64_t which, int bit);

#endif
