/* pca.c — principal components of a small set of vectors (`dlnc sample
 * --pca`): the covariance matrix (d x d, in double), then its leading
 * eigenvectors one at a time by power iteration with deflation, each
 * iterate re-orthogonalized against the ones already found so that rounding
 * cannot bring them back. Deterministic: a fixed start vector, and each
 * direction's sign chosen so its largest component is positive (PCA's sign
 * is arbitrary; a fixed rule makes the picture the same on every run). */
#include "dlnrt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PCA_MAX_ITERS 5000

int dl_pca(const float *x, int64_t n, int64_t d, int k, double *proj, double *dirs, double *var_frac) {
    if (n < 2 || d < 1 || k < 1 || k > d || d > DL_PCA_MAX_DIM) {
        dl_set_error("PCA needs at least 2 vectors of 1 to %d values and 1 to d components (%lld vectors of %lld, %d "
                     "components)", DL_PCA_MAX_DIM, (long long)n, (long long)d, k);
        return -1;
    }
    double *mean = calloc((size_t)d, sizeof *mean), *cov = calloc((size_t)(d * d), sizeof *cov);
    double *v = malloc((size_t)d * sizeof *v), *w = malloc((size_t)d * sizeof *w);
    if (!mean || !cov || !v || !w) {
        free(mean), free(cov), free(v), free(w);
        dl_set_error("out of memory (PCA of %lld values)", (long long)d);
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mean[j] += x[i * d + j];
    for (int64_t j = 0; j < d; j++) mean[j] /= (double)n;
    /* cov is (d, d): the upper triangle accumulated, then mirrored */
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t a = 0; a < d; a++)
        for (int64_t i = 0; i < n; i++) {
            const double xa = x[i * d + a] - mean[a];
            for (int64_t b = a; b < d; b++) cov[a * d + b] += xa * (x[i * d + b] - mean[b]);
        }
    double trace = 0;
    for (int64_t a = 0; a < d; a++) {
        for (int64_t b = a; b < d; b++) cov[b * d + a] = cov[a * d + b] /= (double)(n - 1);
        trace += cov[a * d + a];
    }
    for (int c = 0; c < k; c++) {
        double *u = dirs + (int64_t)c * d, lambda = 0;
        memset(u, 0, (size_t)d * sizeof *u);
        for (int64_t j = 0; j < d; j++) v[j] = 1.0 + 0.01 * (double)(j % 7);  /* not orthogonal to anything likely */
        for (int it = 0; it < PCA_MAX_ITERS; it++) {
            for (int p = 0; p < c; p++) {    /* deflation: stay orthogonal to the directions found */
                const double *q = dirs + (int64_t)p * d;
                double dot = 0;
                for (int64_t j = 0; j < d; j++) dot += v[j] * q[j];
                for (int64_t j = 0; j < d; j++) v[j] -= dot * q[j];
            }
            double norm = 0;
            for (int64_t j = 0; j < d; j++) norm += v[j] * v[j];
            norm = sqrt(norm);
            if (!(norm > 0)) break;          /* no variance left in the remaining directions */
            for (int64_t j = 0; j < d; j++) v[j] /= norm;
            for (int64_t a = 0; a < d; a++) {
                double s = 0;
                for (int64_t b = 0; b < d; b++) s += cov[a * d + b] * v[b];
                w[a] = s;
            }
            double next = 0, change = 0;
            for (int64_t j = 0; j < d; j++) next += v[j] * w[j];
            for (int64_t j = 0; j < d; j++) change += fabs(v[j] - u[j]);
            memcpy(u, v, (size_t)d * sizeof *u);
            memcpy(v, w, (size_t)d * sizeof *v);
            const int done = it > 0 && change < 1e-12 * (double)d && fabs(next - lambda) <= 1e-14 * fabs(next);
            lambda = next;
            if (done) break;
        }
        int64_t big = 0;
        for (int64_t j = 1; j < d; j++)
            if (fabs(u[j]) > fabs(u[big]) + 1e-12) big = j;
        if (u[big] < 0)
            for (int64_t j = 0; j < d; j++) u[j] = -u[j];
        if (var_frac) var_frac[c] = trace > 0 ? lambda / trace : 0;
    }
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < k; c++) {
            double s = 0;
            for (int64_t j = 0; j < d; j++) s += (x[i * d + j] - mean[j]) * dirs[(int64_t)c * d + j];
            proj[i * k + c] = s;
        }
    free(mean), free(cov), free(v), free(w);
    return 0;
}
