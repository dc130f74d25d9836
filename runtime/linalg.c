/* linalg.c — matrix inverse and log|det| of a batch of small square
 * matrices (the `inverse` and `logabsdet` builtins): Glow's invertible 1x1
 * convolution needs log|det W| and its gradient W^-T.
 *
 * Each matrix is factored in double by Gaussian elimination with partial
 * pivoting (the row of the largest |pivot| below the diagonal, the first
 * on ties), in a per-thread scratch copy, so a step allocates nothing after
 * the first. Matrices are independent and each is one thread's work, so the
 * bits do not depend on the thread count. A singular matrix (a zero pivot)
 * gives -inf for log|det| (torch.linalg.slogdet's logabsdet) and NaNs for
 * the inverse (torch.linalg.inv raises). */
#include <math.h>
#include <string.h>

#include "dlnrt.h"
#include "scratch_internal.h"

/* Eliminates below the diagonal of a (n x n, row-major) and applies the same
 * row operations to the n x m block b (NULL: none); returns log|det a|. */
static double dl_eliminate(double *a, double *b, int64_t n, int64_t m)
{
    double logdet = 0.0;
    for (int64_t k = 0; k < n; k++) {
        int64_t p = k;
        for (int64_t i = k + 1; i < n; i++)
            if (fabs(a[i * n + k]) > fabs(a[p * n + k])) p = i;
        if (a[p * n + k] == 0.0 || !isfinite(a[p * n + k])) return a[p * n + k] == 0.0 ? -INFINITY : NAN;
        if (p != k) {
            for (int64_t j = 0; j < n; j++) {
                double t = a[k * n + j];
                a[k * n + j] = a[p * n + j], a[p * n + j] = t;
            }
            for (int64_t j = 0; b && j < m; j++) {
                double t = b[k * m + j];
                b[k * m + j] = b[p * m + j], b[p * m + j] = t;
            }
        }
        logdet += log(fabs(a[k * n + k]));
        for (int64_t i = k + 1; i < n; i++) {
            const double f = a[i * n + k] / a[k * n + k];
            if (f == 0.0) continue;
            for (int64_t j = k; j < n; j++) a[i * n + j] -= f * a[k * n + j];
            for (int64_t j = 0; b && j < m; j++) b[i * m + j] -= f * b[k * m + j];
        }
    }
    return logdet;
}

/* The scratch of the calling thread: 2 n^2 doubles. */
static double *dl_linalg_scratch(int64_t n)
{
    return (double *)dl_scratch(DL_SCRATCH_LINALG, 4 * n * n + 2);
}

int dl_logabsdet(const float *x, int64_t count, int64_t n, float *y)
{
    int failed = 0;
#pragma omp parallel for schedule(static) reduction(| : failed) if (count > 1 && !DL_IN_PARALLEL())
    for (int64_t q = 0; q < count; q++) {
        double *a = dl_linalg_scratch(n);
        if (!a) {
            failed = 1;
            continue;
        }
        for (int64_t j = 0; j < n * n; j++) a[j] = x[q * n * n + j];
        y[q] = (float)dl_eliminate(a, NULL, n, 0);
    }
    return failed ? -1 : 0;
}

int dl_inverse(const float *x, int64_t count, int64_t n, float *y)
{
    int failed = 0;
#pragma omp parallel for schedule(static) reduction(| : failed) if (count > 1 && !DL_IN_PARALLEL())
    for (int64_t q = 0; q < count; q++) {
        double *a = dl_linalg_scratch(n), *b = a + n * n;
        if (!a) {
            failed = 1;
            continue;
        }
        for (int64_t j = 0; j < n * n; j++) a[j] = x[q * n * n + j], b[j] = (j / n == j % n);
        float *out = y + q * n * n;
        if (!isfinite(dl_eliminate(a, b, n, n))) {
            for (int64_t j = 0; j < n * n; j++) out[j] = NAN;
            continue;
        }
        /* back substitution: U X = B, from the last row up */
        for (int64_t i = n - 1; i >= 0; i--)
            for (int64_t j = 0; j < n; j++) {
                double s = b[i * n + j];
                for (int64_t k = i + 1; k < n; k++) s -= a[i * n + k] * b[k * n + j];
                b[i * n + j] = s / a[i * n + i];
            }
        for (int64_t j = 0; j < n * n; j++) out[j] = (float)b[j];
    }
    return failed ? -1 : 0;
}
