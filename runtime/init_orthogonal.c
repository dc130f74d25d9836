/* init_orthogonal.c — orthogonal(gain), torch.nn.init.orthogonal_.
 *
 * PyTorch's algorithm: the weight seen as rows x cols (rows = shape[0], cols
 * the product of the rest); an m x n Gaussian matrix with m = max, n = min;
 * its QR factorization; Q's columns multiplied by the signs of R's diagonal
 * (which makes Q Haar-distributed: the QR with a positive diagonal is
 * unique); Qᵀ when rows < cols; times gain. Rows ≤ cols then gives
 * W Wᵀ = gain² I, rows > cols gives Wᵀ W = gain² I.
 *
 * The QR is Householder's, in double, here rather than through LAPACK so
 * generated code keeps depending on libc, libm and OpenMP only. Matrices are
 * column-major (A[j * m + i]), so each reflection updates contiguous columns.
 * Serial: a parallel region per reflection made a 1024 x 256 weight 8 to 45
 * times slower at 2 threads than at 1 on the loaded machine (0.06-0.16 s
 * against 1.2-2.7 s, docs/results/init_orthogonal_time.log), and it runs
 * once, at init. Cost
 * about 4·m·n² flops (a 1024 x 256 LSTM recurrent weight: 0.27 Gflop). */
#include <math.h>
#include <stdlib.h>

#include "init_internal.h"

/* Reflection k, I − tau·v·vᵀ with v = A[k*m + k .. k*m + m), applied to
 * columns j0..n of X (m rows, column-major). */
static void reflect(const double *v, double tau, int64_t k, int64_t m, double *X, int64_t j0, int64_t n)
{
    for (int64_t j = j0; j < n; j++) {
        double *x = X + j * m;
        double s = 0.0;
        for (int64_t i = k; i < m; i++) s += v[i] * x[i];
        s *= tau;
        for (int64_t i = k; i < m; i++) x[i] -= s * v[i];
    }
}

int dl_fill_orthogonal(float *w, int64_t rows, int64_t cols, double gain, dl_rng *rng)
{
    int64_t m = rows >= cols ? rows : cols, n = rows >= cols ? cols : rows;
    double *A = malloc(sizeof *A * (size_t)(m * n)), *Q = malloc(sizeof *Q * (size_t)(m * n));
    double *tau = malloc(sizeof *tau * (size_t)n), *sign = malloc(sizeof *sign * (size_t)n);
    if (!A || !Q || !tau || !sign) {
        free(A), free(Q), free(tau), free(sign);
        dl_set_error("orthogonal: out of memory for a %lld x %lld matrix", (long long)rows, (long long)cols);
        return -1;
    }
    /* Drawn in column-major order of the m x n matrix: for rows < cols it is
     * the rows x cols matrix in row-major order, PyTorch's draw transposed. */
    for (int64_t i = 0; i < m * n; i++) A[i] = dl_rng_normal(rng);
    for (int64_t k = 0; k < n; k++) { /* A = H_0 ... H_{n-1} R; v_k overwrites A's column k from row k */
        double *v = A + k * m, norm = 0.0;
        for (int64_t i = k; i < m; i++) norm += v[i] * v[i];
        norm = sqrt(norm);
        double r = v[k] >= 0 ? -norm : norm; /* R[k][k]: the sign that avoids cancellation in v[k] */
        sign[k] = r < 0 ? -1.0 : 1.0;        /* torch's sign(0) is 0; a zero column has probability 0 */
        v[k] -= r;
        double vv = 0.0;
        for (int64_t i = k; i < m; i++) vv += v[i] * v[i];
        tau[k] = vv > 0 ? 2.0 / vv : 0.0;
        reflect(v, tau[k], k, m, A, k + 1, n);
    }
    for (int64_t j = 0; j < n; j++) /* Q = H_0 ... H_{n-1} applied to the first n columns of I */
        for (int64_t i = 0; i < m; i++) Q[j * m + i] = i == j;
    for (int64_t k = n - 1; k >= 0; k--) reflect(A + k * m, tau[k], k, m, Q, k, n);
    for (int64_t j = 0; j < n; j++) {
        double g = gain * sign[j];
        for (int64_t i = 0; i < m; i++) Q[j * m + i] *= g;
    }
    if (rows < cols) /* Qᵀ, rows x cols row-major: Q's column-major buffer as it is */
        for (int64_t i = 0; i < m * n; i++) w[i] = (float)Q[i];
    else
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) w[i * cols + j] = (float)Q[j * m + i];
    free(A), free(Q), free(tau), free(sign);
    return 0;
}
