/* interp_contrastive.c — the reference interpreter's nt_xent, clip_loss and their
 * gradients (ops_contrastive.c), in double and straight from the definition:
 * the whole [2N, 2N] similarity matrix, each row's log-sum-exp over the
 * off-diagonal entries, and the gradient by the chain rule through the
 * matrix and the normalization, with none of runtime/nt_xent.c's shortcuts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"

#define NTX_EPS 1e-12

/* clip_loss and its gradient from the whole [N, N] matrix s = a b^T: each row's
 * and each column's log-sum-exp, the loss, and dL/ds = (P - I + Q - I) / 2N
 * (P the rows' softmax, Q the columns') through s to a or b. */
static int interp_clip(const interp_state *s, const ir_node *n, double *y) {
    const int64_t b = ir_dim_eval(n->in[0]->shape.d[0], s->sym_values), d = ir_dim_eval(n->in[0]->shape.d[1], s->sym_values);
    const double *za = s->value[n->in[0]->id], *zb = s->value[n->in[1]->id];
    double *sim = malloc(sizeof(double) * (size_t)(b * b + 1)), *lr = malloc(sizeof(double) * (size_t)(b + 1));
    double *lc = malloc(sizeof(double) * (size_t)(b + 1));
    if (!sim || !lr || !lc) {
        free(sim), free(lr), free(lc);
        fprintf(stderr, "interp: clip_loss: out of memory\n");
        return -1;
    }
    for (int64_t i = 0; i < b; i++)
        for (int64_t j = 0; j < b; j++) {
            double q = 0;
            for (int64_t k = 0; k < d; k++) q += za[i * d + k] * zb[j * d + k];
            sim[i * b + j] = q;
        }
    for (int64_t i = 0; i < b; i++) {
        double mr = -INFINITY, mc = -INFINITY, sr = 0, sc = 0;
        for (int64_t j = 0; j < b; j++) mr = fmax(mr, sim[i * b + j]), mc = fmax(mc, sim[j * b + i]);
        for (int64_t j = 0; j < b; j++) sr += exp(sim[i * b + j] - mr), sc += exp(sim[j * b + i] - mc);
        lr[i] = mr + log(sr), lc[i] = mc + log(sc);
    }
    if (n->op == OP_clip_loss) {
        double loss = 0;
        for (int64_t i = 0; i < b; i++) loss += lr[i] + lc[i] - 2 * sim[i * b + i];
        y[0] = b ? loss / (2.0 * (double)b) : 0;
    } else {
        const double gy = s->value[n->in[2]->id][0];
        const int which = (int)n->a.contrastive.which;
        memset(y, 0, sizeof(double) * (size_t)(b * d));
        for (int64_t i = 0; i < b; i++)
            for (int64_t j = 0; j < b; j++) {
                const double ds = (exp(sim[i * b + j] - lr[i]) + exp(sim[i * b + j] - lc[j]) - 2.0 * (i == j)) * gy / (2.0 * (double)b);
                for (int64_t k = 0; k < d; k++) {
                    if (which) y[j * d + k] += ds * za[i * d + k];
                    else y[i * d + k] += ds * zb[j * d + k];
                }
            }
    }
    free(sim), free(lr), free(lc);
    return 0;
}

int interp_contrastive(const interp_state *s, const ir_node *n, double *y) {
    if (n->op == OP_clip_loss || n->op == OP_clip_loss_grad) return interp_clip(s, n, y);
    const int64_t b = ir_dim_eval(n->in[0]->shape.d[0], s->sym_values), d = ir_dim_eval(n->in[0]->shape.d[1], s->sym_values);
    const int64_t m = 2 * b;
    const double *z1 = s->value[n->in[0]->id], *z2 = s->value[n->in[1]->id], t = n->a.contrastive.temperature;
    double *zn = malloc(sizeof(double) * (size_t)(m * d + 1)), *nrm = malloc(sizeof(double) * (size_t)(m + 1));
    double *sim = malloc(sizeof(double) * (size_t)(m * m + 1)), *lse = malloc(sizeof(double) * (size_t)(m + 1));
    double *g = malloc(sizeof(double) * (size_t)(m * d + 1));
    if (!zn || !nrm || !sim || !lse || !g) {
        free(zn), free(nrm), free(sim), free(lse), free(g);
        fprintf(stderr, "interp: nt_xent: out of memory\n");
        return -1;
    }
    for (int64_t i = 0; i < m; i++) {
        const double *r = i < b ? z1 + i * d : z2 + (i - b) * d;
        double q = 0;
        for (int64_t k = 0; k < d; k++) q += r[k] * r[k];
        nrm[i] = fmax(sqrt(q), NTX_EPS);
        for (int64_t k = 0; k < d; k++) zn[i * d + k] = r[k] / nrm[i];
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < m; j++) {
            double q = 0;
            for (int64_t k = 0; k < d; k++) q += zn[i * d + k] * zn[j * d + k];
            sim[i * m + j] = q / t;
        }
    for (int64_t i = 0; i < m; i++) {
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j < m; j++)
            if (j != i) mx = fmax(mx, sim[i * m + j]);
        for (int64_t j = 0; j < m; j++)
            if (j != i) sum += exp(sim[i * m + j] - mx);
        lse[i] = mx + log(sum);
    }
    if (n->op == OP_nt_xent) {
        double loss = 0;
        for (int64_t i = 0; i < m; i++) loss += lse[i] - sim[i * m + (i + b) % m];
        y[0] = m ? loss / (double)m : 0;
    } else {
        /* dL/dsim_ij = (softmax_ij - [j = positive(i)]) / 2N, then sim = zn zn^T / t */
        const double gy = s->value[n->in[2]->id][0];
        memset(g, 0, sizeof(double) * (size_t)(m * d));
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < m; j++) {
                if (j == i) continue;
                const double ds = (exp(sim[i * m + j] - lse[i]) - (j == (i + b) % m)) * gy / (double)m / t;
                for (int64_t k = 0; k < d; k++) g[i * d + k] += ds * zn[j * d + k], g[j * d + k] += ds * zn[i * d + k];
            }
        const int64_t off = n->a.contrastive.which ? b : 0;
        for (int64_t r = 0; r < b; r++) {
            const double *gi = g + (r + off) * d, *zi = zn + (r + off) * d, nr = nrm[r + off];
            double proj = 0;
            for (int64_t k = 0; k < d; k++) proj += zi[k] * gi[k];
            if (nr <= NTX_EPS) proj = 0;
            for (int64_t k = 0; k < d; k++) y[r * d + k] = (gi[k] - proj * zi[k]) / nr;
        }
    }
    free(zn), free(nrm), free(sim), free(lse), free(g);
    return 0;
}
