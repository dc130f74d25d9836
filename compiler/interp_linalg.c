/* interp_linalg.c — the reference interpreter's inverse and logabsdet
 * (ops_linalg.c), in double, written apart from runtime/linalg.c: the
 * inverse by Gauss-Jordan on [x | I] (reducing above and below each pivot),
 * log|det| from the pivots of the same reduction. Partial pivoting, the
 * first largest |pivot| on ties. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "interp.h"

/* Reduces the n x 2n block [a | b] to [I | a^-1] in place; returns log|det a|
 * (-inf when a pivot is zero, leaving the block half reduced). */
static double gauss_jordan(double *m, int64_t n) {
    const int64_t w = 2 * n;
    double logdet = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t p = k;
        for (int64_t i = k + 1; i < n; i++)
            if (fabs(m[i * w + k]) > fabs(m[p * w + k])) p = i;
        if (m[p * w + k] == 0) return -INFINITY;
        for (int64_t j = 0; j < w && p != k; j++) {
            double t = m[k * w + j];
            m[k * w + j] = m[p * w + j], m[p * w + j] = t;
        }
        const double piv = m[k * w + k];
        logdet += log(fabs(piv));
        for (int64_t j = 0; j < w; j++) m[k * w + j] /= piv;
        for (int64_t i = 0; i < n; i++) {
            if (i == k) continue;
            const double f = m[i * w + k];
            for (int64_t j = 0; j < w; j++) m[i * w + j] -= f * m[k * w + j];
        }
    }
    return logdet;
}

int interp_linalg(const interp_state *s, const ir_node *n, double *y) {
    const ir_shape *xs = &n->in[0]->shape;
    const int64_t d = xs->d[xs->rank - 1].k, count = interp_numel(s, n->in[0]) / (d * d);
    const double *x = s->value[n->in[0]->id];
    double *m = malloc(sizeof(double) * (size_t)(2 * d * d));
    if (!m) {
        fprintf(stderr, "interp: %s: out of memory\n", ir_ops[n->op].name);
        return -1;
    }
    for (int64_t q = 0; q < count; q++) {
        for (int64_t i = 0; i < d; i++)
            for (int64_t j = 0; j < d; j++) m[i * 2 * d + j] = x[q * d * d + i * d + j], m[i * 2 * d + d + j] = i == j;
        const double ld = gauss_jordan(m, d);
        if (n->op == OP_logabsdet) {
            y[q] = ld;
            continue;
        }
        for (int64_t i = 0; i < d; i++)
            for (int64_t j = 0; j < d; j++) y[q * d * d + i * d + j] = isinf(ld) ? NAN : m[i * 2 * d + d + j];
    }
    free(m);
    return 0;
}
