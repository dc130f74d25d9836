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
 * column-major (A[j * m + i]), so each reflector is a contiguous column.
 *
 * Blocked (LAPACK's dgeqrf/dorgqr scheme): a panel of NB columns is
 * factorized reflection by reflection, its NB reflectors gathered into the
 * compact WY form H_k0 ... H_k0+NB-1 = I − V T Vᵀ (dlarft), and the rest of
 * the matrix is updated once per panel, X ← (I − V Tᵀ Vᵀ) X, a few columns at
 * a time so each pass over V serves several columns. Q is formed the same
 * way, panels in reverse. The updates are shared out by columns (OpenMP, one
 * region per panel); each column's arithmetic is the same whichever thread
 * does it, so the result is the same bits at any thread count. Cost about
 * 4·m·n² flops (a 1024 x 256 LSTM recurrent weight: 0.27 Gflop); the panel
 * loops vectorize (omp simd reductions) where the serial reflection loop of
 * the first version did not (docs/performance.md, "orthogonal() at init"). */
#include <math.h>
#include <stdlib.h>

#include "init_internal.h"

enum { NB = 32, COLS = 4 }; /* reflectors per panel; columns updated per pass over V */

/* Reflection k, I − tau·v·vᵀ with v = A[k*m + k .. k*m + m), applied to
 * columns j0..n of X (m rows, column-major): the panel's own columns. */
static void reflect(const double *v, double tau, int64_t k, int64_t m, double *X, int64_t j0, int64_t n)
{
    for (int64_t j = j0; j < n; j++) {
        double *x = X + j * m;
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (int64_t i = k; i < m; i++) s += v[i] * x[i];
        s *= tau;
#pragma omp simd
        for (int64_t i = k; i < m; i++) x[i] -= s * v[i];
    }
}

/* T of the compact WY form of the panel's kb reflectors (V's column p
 * starts at row k0 + p): T upper triangular, T[p][p] = tau[p],
 * T[0:p, p] = −tau[p] · T[0:p, 0:p] · V[:, 0:p]ᵀ v_p. */
static void wy_t(const double *V, const double *tau, int kb, int64_t k0, int64_t m, double T[NB][NB])
{
    for (int p = 0; p < kb; p++) {
        const double *vp = V + (int64_t)p * m;
        double z[NB];
        for (int q = 0; q < p; q++) {
            const double *vq = V + (int64_t)q * m;
            double s = 0.0;
#pragma omp simd reduction(+ : s)
            for (int64_t i = k0 + p; i < m; i++) s += vq[i] * vp[i];
            z[q] = s;
        }
        for (int q = 0; q < p; q++) {
            double s = 0.0;
            for (int r = q; r < p; r++) s += T[q][r] * z[r];
            T[q][p] = -tau[p] * s;
        }
        for (int q = p + 1; q < kb; q++) T[q][p] = 0.0;
        T[p][p] = tau[p];
    }
}

/* Columns j0..j0+c (c ≤ COLS) of X ← (I − V M Vᵀ) X over rows k0..m, where
 * M = T (trans = 0) or Tᵀ (trans = 1). */
static void block_cols(const double *V, double T[NB][NB], int kb, int trans, int64_t k0, int64_t m, double *X,
                       int64_t j0, int c)
{
    double w[NB][COLS] = {{0}}, u[NB][COLS];
    double *x[COLS];
    for (int t = 0; t < COLS; t++) x[t] = X + (j0 + (t < c ? t : 0)) * m; /* a short group repeats column j0 */
    for (int p = 0; p < kb; p++) {                                           /* w = Vᵀ x */
        const double *v = V + (int64_t)p * m;
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
        for (int64_t i = k0 + p; i < m; i++) {
            s0 += v[i] * x[0][i];
            s1 += v[i] * x[1][i];
            s2 += v[i] * x[2][i];
            s3 += v[i] * x[3][i];
        }
        w[p][0] = s0, w[p][1] = s1, w[p][2] = s2, w[p][3] = s3;
    }
    for (int p = 0; p < kb; p++) /* u = M w */
        for (int t = 0; t < COLS; t++) {
            double s = 0.0;
            if (trans)
                for (int q = 0; q <= p; q++) s += T[q][p] * w[q][t];
            else
                for (int q = p; q < kb; q++) s += T[p][q] * w[q][t];
            u[p][t] = s;
        }
    for (int t = 0; t < c; t++) /* x −= V u */
        for (int p = 0; p < kb; p++) {
            const double *v = V + (int64_t)p * m;
            double s = u[p][t], *xt = x[t];
#pragma omp simd
            for (int64_t i = k0 + p; i < m; i++) xt[i] -= s * v[i];
        }
}

/* Columns j0..n of X ← (I − V M Vᵀ) X, COLS at a time, shared out. */
static void apply_block(const double *V, double T[NB][NB], int kb, int trans, int64_t k0, int64_t m, double *X,
                        int64_t j0, int64_t n)
{
    int64_t groups = (n - j0 + COLS - 1) / COLS;
#pragma omp parallel for schedule(static) if (groups * (m - k0) * kb > (1 << 18))
    for (int64_t g = 0; g < groups; g++) {
        int64_t j = j0 + g * COLS;
        block_cols(V, T, kb, trans, k0, m, X, j, (int)(n - j < COLS ? n - j : COLS));
    }
}

int dl_fill_orthogonal(float *w, int64_t rows, int64_t cols, double gain, dl_rng *rng)
{
    int64_t m = rows >= cols ? rows : cols, n = rows >= cols ? cols : rows;
    double *A = malloc(sizeof *A * (size_t)(m * n)), *Q = malloc(sizeof *Q * (size_t)(m * n));
    double *tau = malloc(sizeof *tau * (size_t)n), *sign = malloc(sizeof *sign * (size_t)n);
    double(*T)[NB][NB] = malloc(sizeof *T * (size_t)((n + NB - 1) / NB));
    if (!A || !Q || !tau || !sign || !T) {
        free(A), free(Q), free(tau), free(sign), free(T);
        dl_set_error("orthogonal: out of memory for a %lld x %lld matrix", (long long)rows, (long long)cols);
        return -1;
    }
    /* Drawn in column-major order of the m x n matrix: for rows < cols it is
     * the rows x cols matrix in row-major order, PyTorch's draw transposed. */
    for (int64_t i = 0; i < m * n; i++) A[i] = dl_rng_normal(rng);
    for (int64_t k0 = 0; k0 < n; k0 += NB) { /* A = H_0 ... H_{n-1} R; v_k overwrites A's column k from row k */
        int kb = (int)(n - k0 < NB ? n - k0 : NB);
        for (int64_t k = k0; k < k0 + kb; k++) {
            double *v = A + k * m, norm = 0.0;
#pragma omp simd reduction(+ : norm)
            for (int64_t i = k; i < m; i++) norm += v[i] * v[i];
            norm = sqrt(norm);
            double r = v[k] >= 0 ? -norm : norm; /* R[k][k]: the sign that avoids cancellation in v[k] */
            sign[k] = r < 0 ? -1.0 : 1.0;        /* torch's sign(0) is 0; a zero column has probability 0 */
            v[k] -= r;
            double vv = 0.0;
#pragma omp simd reduction(+ : vv)
            for (int64_t i = k; i < m; i++) vv += v[i] * v[i];
            tau[k] = vv > 0 ? 2.0 / vv : 0.0;
            reflect(v, tau[k], k, m, A, k + 1, k0 + kb);
        }
        wy_t(A + k0 * m, tau + k0, kb, k0, m, T[k0 / NB]);
        apply_block(A + k0 * m, T[k0 / NB], kb, 1, k0, m, A, k0 + kb, n); /* Hᵀ of the panel on the rest */
    }
    for (int64_t j = 0; j < n; j++) /* Q = H_0 ... H_{n-1} applied to the first n columns of I */
        for (int64_t i = 0; i < m; i++) Q[j * m + i] = i == j;
    for (int64_t k0 = (n - 1) / NB * NB; k0 >= 0; k0 -= NB) {
        int kb = (int)(n - k0 < NB ? n - k0 : NB);
        apply_block(A + k0 * m, T[k0 / NB], kb, 0, k0, m, Q, k0, n);
    }
    for (int64_t j = 0; j < n; j++) {
        double g = gain * sign[j];
        for (int64_t i = 0; i < m; i++) Q[j * m + i] *= g;
    }
    if (rows < cols) /* Qᵀ, rows x cols row-major: Q's column-major buffer as it is */
        for (int64_t i = 0; i < m * n; i++) w[i] = (float)Q[i];
    else
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) w[i * cols + j] = (float)Q[j * m + i];
    free(A), free(Q), free(tau), free(sign), free(T);
    return 0;
}
