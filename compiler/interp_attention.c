/* interp_attention.c — the reference interpreter's attention and its
 * gradients (ops_attention.c), in double, as the plainest loops: for every
 * batch, head and query, the row of scores, its softmax, and the sums the
 * definition writes. The mask is indexed by broadcasting each coordinate of
 * the scores directly, independently of the emitter's strides. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"
#include "ops_attention.h"

/* The mask's element at scores coordinate c[0..rank) (NumPy broadcasting). */
static double mask_at(const interp_state *s, const attn_shape *a, const int64_t *c) {
    const ir_shape *m = &a->mask->shape;
    int off = a->target.rank - m->rank;
    int64_t idx = 0;
    for (int i = 0; i < m->rank; i++) {
        int64_t len = ir_dim_eval(m->d[i], s->sym_values);
        idx = idx * len + (len == 1 ? 0 : c[off + i]);
    }
    return s->value[a->mask->id][idx];
}

int interp_attention(const interp_state *s, const ir_node *n, double *y) {
    attn_shape a = attn_shape_of(n);
    const ir_attrs_attention *at = &n->a.attention;
    int64_t nb = 1, bd[IR_MAX_RANK];
    for (int i = 0; i < a.nb; i++) nb *= bd[i] = ir_dim_eval(n->in[0]->shape.d[i], s->sym_values);
    int64_t T = ir_dim_eval(a.t, s->sym_values), S = ir_dim_eval(a.s, s->sym_values), H = at->heads;
    int64_t E = a.e, Ev = a.ev, dh = E / H, dv = Ev / H;
    const double *q = s->value[n->in[0]->id], *k = s->value[n->in[1]->id], *v = s->value[n->in[2]->id];
    int grad = n->op == OP_attention_grad;
    const double *out = grad ? s->value[n->in[3]->id] : NULL, *dout = grad ? s->value[n->in[4]->id] : NULL;
    memset(y, 0, sizeof(double) * (size_t)interp_numel(s, n));
    double *p = malloc(sizeof(double) * (size_t)(S ? S : 1)), *ds = malloc(sizeof(double) * (size_t)(S ? S : 1));
    if (!p || !ds) {
        free(p), free(ds);
        fprintf(stderr, "interp: attention: out of memory\n");
        return -1;
    }
    for (int64_t b = 0; b < nb; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t t = 0; t < T; t++) {
                int64_t c[IR_MAX_RANK], rem = b;
                for (int i = a.nb - 1; i >= 0; i--) c[i] = rem % bd[i], rem /= bd[i];
                if (H > 1) c[a.nb] = h;
                c[a.target.rank - 2] = t;
                const double *qr = q + (b * T + t) * E + h * dh;
                double mx = -INFINITY;
                for (int64_t j = 0; j < S; j++) {
                    c[a.target.rank - 1] = j;
                    double sc = 0;
                    for (int64_t i = 0; i < dh; i++) sc += qr[i] * k[(b * S + j) * E + h * dh + i];
                    sc *= at->scale;
                    if (a.mask) sc += mask_at(s, &a, c);
                    if (at->causal && j > t + at->q_pos0) sc = -INFINITY;
                    p[j] = sc;
                    mx = fmax(mx, sc);
                }
                if (mx == -INFINITY) continue; /* every key masked: the row is 0, so are its gradients */
                double sum = 0;
                for (int64_t j = 0; j < S; j++) sum += p[j] = exp(p[j] - mx);
                for (int64_t j = 0; j < S; j++) p[j] /= sum;
                int64_t orow = (b * T + t) * Ev + h * dv;
                if (!grad) {
                    for (int64_t j = 0; j < S; j++)
                        for (int64_t i = 0; i < dv; i++) y[orow + i] += p[j] * v[(b * S + j) * Ev + h * dv + i];
                    continue;
                }
                double D = 0;
                for (int64_t i = 0; i < dv; i++) D += dout[orow + i] * out[orow + i];
                for (int64_t j = 0; j < S; j++) {
                    double dp = 0;
                    for (int64_t i = 0; i < dv; i++) dp += dout[orow + i] * v[(b * S + j) * Ev + h * dv + i];
                    ds[j] = p[j] * (dp - D);
                }
                const int64_t w = at->which, W = attn_grad_offset(&a, w, ATTN_DMASK);
                const int64_t oq = attn_grad_offset(&a, w, ATTN_DQ), ok = attn_grad_offset(&a, w, ATTN_DK);
                const int64_t ov = attn_grad_offset(&a, w, ATTN_DV);
                for (int64_t j = 0; j < S; j++) {
                    if (w == ATTN_DMASK) {
                        y[((b * H + h) * T + t) * S + j] = ds[j]; /* [B.., T, S] when H = 1 */
                        continue;
                    }
                    for (int64_t i = 0; w & ATTN_DQ && i < dh; i++)
                        y[(b * T + t) * W + oq + h * dh + i] += at->scale * ds[j] * k[(b * S + j) * E + h * dh + i];
                    for (int64_t i = 0; w & ATTN_DK && i < dh; i++)
                        y[(b * S + j) * W + ok + h * dh + i] += at->scale * ds[j] * qr[i];
                    for (int64_t i = 0; w & ATTN_DV && i < dv; i++)
                        y[(b * S + j) * W + ov + h * dv + i] += p[j] * dout[orow + i];
                }
            }
    free(p), free(ds);
    return 0;
}
