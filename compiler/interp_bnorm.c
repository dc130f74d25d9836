/* interp_bnorm.c — the reference interpreter's batch norm ops (ops_bnorm.c),
 * in double, straight from the definitions: x is viewed as [N, C, P] (P the
 * product of the axes after the channel), and every per-channel sum runs
 * over n and p. */
#include <math.h>
#include <string.h>

#include "interp.h"

typedef struct shape3 {
    int64_t n, c, p;
} shape3;

static shape3 view(const interp_state *s, const ir_node *x) {
    shape3 v = {ir_dim_eval(x->shape.d[0], s->sym_values), ir_dim_eval(x->shape.d[1], s->sym_values), 1};
    for (int i = 2; i < x->shape.rank; i++) v.p *= ir_dim_eval(x->shape.d[i], s->sym_values);
    return v;
}

/* The optional mask's factor: the ReLU's step(m) (hi 0), the ReLU6's step(m) * step(hi - m) (hi 6). */
static double mask_of(double m, double hi) { return m > 0 && (hi <= 0 || hi - m > 0) ? 1 : 0; }

#define AT(v, i, ch, j) ((i) * (v).c * (v).p + (ch) * (v).p + (j))

int interp_bnorm(const interp_state *s, const ir_node *n, double *y) {
    const shape3 v = view(s, n->in[0]);
    const double *x = s->value[n->in[0]->id];
    const double m = (double)(v.n * v.p);
    if (n->op == OP_batch_stats) {
        for (int64_t ch = 0; ch < v.c; ch++) {
            double sum = 0, sq = 0;
            for (int64_t i = 0; i < v.n; i++)
                for (int64_t j = 0; j < v.p; j++) sum += x[AT(v, i, ch, j)];
            const double mean = sum / m;
            for (int64_t i = 0; i < v.n; i++)
                for (int64_t j = 0; j < v.p; j++) sq += (x[AT(v, i, ch, j)] - mean) * (x[AT(v, i, ch, j)] - mean);
            y[ch] = mean, y[v.c + ch] = sq / m;
        }
        return 0;
    }
    const double *st = s->value[n->in[1]->id], eps = n->a.norm.eps, hi = n->a.nf > 1 ? n->a.norm.mask_hi : 0;
    if (n->op == OP_batch_norm_sums) memset(y, 0, sizeof(double) * (size_t)(2 * v.c));
    for (int64_t ch = 0; ch < v.c; ch++) {
        const double mean = st[ch], rstd = 1 / sqrt(st[v.c + ch] + eps);
        for (int64_t i = 0; i < v.n; i++)
            for (int64_t j = 0; j < v.p; j++) {
                const int64_t e = AT(v, i, ch, j);
                const double xhat = (x[e] - mean) * rstd;
                if (n->op == OP_batch_normalize) {
                    const double *w = s->value[n->in[2]->id], *b = s->value[n->in[3]->id];
                    y[e] = xhat * w[ch] + b[ch];
                } else if (n->op == OP_batch_norm_sums) {
                    const double gy = s->value[n->in[2]->id][e] * (n->nin > 3 ? mask_of(s->value[n->in[3]->id][e], hi) : 1);
                    y[ch] += gy, y[v.c + ch] += gy * xhat;
                } else { /* batch_norm_dx */
                    const double *w = s->value[n->in[2]->id], *gy = s->value[n->in[3]->id];
                    const double *sums = s->value[n->in[4]->id];
                    const double g = gy[e] * (n->nin > 5 ? mask_of(s->value[n->in[5]->id][e], hi) : 1);
                    y[e] = w[ch] * rstd * (g - sums[ch] / m - xhat * sums[v.c + ch] / m);
                }
            }
    }
    return 0;
}
