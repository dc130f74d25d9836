/* interp_norm.c — the reference interpreter's layer_norm and its gradients
 * (ops_norm.c), in double, straight from the definitions: per row the mean,
 * the biased variance, xhat; dx by the closed form, the weight's partial sums
 * over the same fixed blocks of rows as runtime/layer_norm.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "interp.h"

/* xhat of one row of f features; returns 1 / sqrt(var + eps). */
static double normalize(const double *x, int64_t f, double eps, double *xhat) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < f; j++) mean += x[j];
    mean /= (double)f;
    for (int64_t j = 0; j < f; j++) var += (x[j] - mean) * (x[j] - mean);
    const double rstd = 1 / sqrt(var / (double)f + eps);
    for (int64_t j = 0; j < f; j++) xhat[j] = (x[j] - mean) * rstd;
    return rstd;
}

int interp_norm(const interp_state *s, const ir_node *n, double *y) {
    const ir_shape *xs = &n->in[0]->shape;
    const int64_t f = ir_dim_eval(xs->d[xs->rank - 1], s->sym_values);
    const int64_t rows = f ? interp_numel(s, n->in[0]) / f : 0;
    const double *x = s->value[n->in[0]->id], *w = s->value[n->in[1]->id], *z = s->value[n->in[2]->id];
    const double eps = n->a.norm.eps;
    double *xhat = malloc(sizeof(double) * (size_t)(f ? f : 1));
    if (!xhat) {
        fprintf(stderr, "interp: layer_norm: out of memory\n");
        return -1;
    }
    if (n->op == OP_layer_norm) { /* z = bias */
        for (int64_t r = 0; r < rows; r++) {
            normalize(x + r * f, f, eps, xhat);
            for (int64_t j = 0; j < f; j++) y[r * f + j] = xhat[j] * w[j] + z[j];
        }
    } else if (n->a.norm.which == LN_DW) { /* z = gy: dweight's partial sums */
        memset(y, 0, sizeof(double) * (size_t)(DL_LAYER_NORM_PARTS * f));
        for (int p = 0; p < DL_LAYER_NORM_PARTS; p++)
            for (int64_t r = rows * p / DL_LAYER_NORM_PARTS; r < rows * (p + 1) / DL_LAYER_NORM_PARTS; r++) {
                normalize(x + r * f, f, eps, xhat);
                for (int64_t j = 0; j < f; j++) y[p * f + j] += z[r * f + j] * xhat[j];
            }
    } else {
        for (int64_t r = 0; r < rows; r++) { /* dx = rstd (g - mean(g) - xhat mean(g xhat)), g = gy w */
            const double *gr = z + r * f;
            const double rstd = normalize(x + r * f, f, eps, xhat);
            double mg = 0, mgx = 0;
            for (int64_t j = 0; j < f; j++) mg += gr[j] * w[j], mgx += gr[j] * w[j] * xhat[j];
            mg /= (double)f, mgx /= (double)f;
            for (int64_t j = 0; j < f; j++) y[r * f + j] = rstd * (gr[j] * w[j] - mg - xhat[j] * mgx);
        }
    }
    free(xhat);
    return 0;
}
