/* nt_xent.c — SimCLR's NT-Xent loss and its gradient (the kernels of
 * ops.def's nt_xent and nt_xent_grad).
 *
 * The 2n rows r = [z1; z2] are normalized, zn_i = r_i / max(|r_i|, 1e-12);
 * s_ij = zn_i . zn_j / t; row i's positive is p(i) = (i + n) mod 2n and
 *
 *     loss = 1/2n sum_i (lse_i - s_i,p(i)),   lse_i = log sum_{j != i} exp(s_ij)
 *
 * The [2n, 2n] similarities are never stored: a row's log-sum-exp is kept
 * online (a running maximum and a sum rescaled when it moves), so the
 * scratch is the normalized rows and four numbers per row, O(n d).
 *
 * Since s is symmetric and p an involution, the gradient on zn_k is
 *
 *     g_k = 1/(2n t) (sum_{j != k} (P_kj + P_jk) zn_j - 2 zn_p(k)),   P_ij = exp(s_ij - lse_i)
 *
 * (row k's softmax and column k's), then through the normalization
 * dz_k = (g_k - zn_k (zn_k . g_k)) / |r_k| (g_k / 1e-12 where the norm is
 * floored, as F.normalize's clamp_min has gradient 0 there). Each row is
 * one thread's work, summed in a fixed order. */
#pragma GCC optimize("O3", "no-trapping-math")
#include <math.h>
#include <string.h>

#include "dlnrt.h"
#include "scratch_internal.h"

#define NTX_EPS 1e-12f
/* Below this many multiply-adds (4 n^2 d) a call stays on one thread. */
#define NTX_PARALLEL_WORK 65536.0

typedef struct ntx {
    int64_t n, d, rows; /* rows = 2n */
    float t;
    float *zn;  /* [2n, d] normalized rows */
    float *nrm; /* [2n] max(|r_i|, eps) */
    float *lse; /* [2n] log-sum-exp of row i's logits, the diagonal left out */
    float *row; /* [2n] each row's loss */
} ntx;

static int scratch_failed(void) {
    dl_set_error("nt_xent: out of memory for the normalized rows");
    return -1;
}

static float dot(const float *a, const float *b, int64_t d) {
    float s = 0.0f;
    for (int64_t k = 0; k < d; k++) s += a[k] * b[k];
    return s;
}

/* Scratch for x's rows, normalized; the log-sum-exps. */
static int prepare(ntx *x, const float *z1, const float *z2) {
    float *p = dl_scratch(DL_SCRATCH_NTXENT, x->rows * (x->d + 3) + 1);
    if (!p) return scratch_failed();
    x->zn = p, x->nrm = p + x->rows * x->d, x->lse = x->nrm + x->rows, x->row = x->lse + x->rows;
    const int64_t rows = x->rows, d = x->d;
    const int par = (double)rows * rows * d >= NTX_PARALLEL_WORK && !DL_IN_PARALLEL();
#pragma omp parallel for schedule(static) if (par)
    for (int64_t i = 0; i < rows; i++) {
        const float *r = i < x->n ? z1 + i * d : z2 + (i - x->n) * d;
        const float nr = sqrtf(dot(r, r, d)), m = nr > NTX_EPS ? nr : NTX_EPS;
        x->nrm[i] = m;
        for (int64_t k = 0; k < d; k++) x->zn[i * d + k] = r[k] / m;
    }
#pragma omp parallel for schedule(static) if (par)
    for (int64_t i = 0; i < rows; i++) {
        float mx = -INFINITY, sum = 0.0f;
        for (int64_t j = 0; j < rows; j++) {
            if (j == i) continue;
            const float v = dot(x->zn + i * d, x->zn + j * d, d) / x->t;
            if (v > mx) sum = sum * expf(mx - v) + 1.0f, mx = v;
            else sum += expf(v - mx);
        }
        x->lse[i] = rows > 1 ? mx + logf(sum) : 0.0f;
    }
    return 0;
}

static int64_t positive(const ntx *x, int64_t i) { return i < x->n ? i + x->n : i - x->n; }

int dl_nt_xent(const float *z1, const float *z2, int64_t n, int64_t d, float t, float *loss) {
    ntx x = {.n = n, .d = d, .rows = 2 * n, .t = t};
    if (prepare(&x, z1, z2)) return -1;
    for (int64_t i = 0; i < x.rows; i++) x.row[i] = x.lse[i] - dot(x.zn + i * d, x.zn + positive(&x, i) * d, d) / t;
    double s = 0;
    for (int64_t i = 0; i < x.rows; i++) s += x.row[i];
    *loss = x.rows ? (float)(s / (double)x.rows) : 0.0f;
    return 0;
}

int dl_nt_xent_grad(const float *z1, const float *z2, const float *gy, int64_t n, int64_t d, float t, int which,
                    float *dz) {
    ntx x = {.n = n, .d = d, .rows = 2 * n, .t = t};
    if (prepare(&x, z1, z2)) return -1;
    const float scale = gy[0] / ((float)x.rows * t);
    const int par = (double)x.rows * n * d >= NTX_PARALLEL_WORK && !DL_IN_PARALLEL();
#pragma omp parallel for schedule(static) if (par)
    for (int64_t r = 0; r < n; r++) {
        const int64_t k = which ? r + n : r;
        const float *zk = x.zn + k * d;
        float *g = dz + r * d;
        memset(g, 0, sizeof(float) * (size_t)d);
        for (int64_t j = 0; j < x.rows; j++) {
            if (j == k) continue;
            const float *zj = x.zn + j * d, s = dot(zk, zj, d) / t;
            const float w = expf(s - x.lse[k]) + expf(s - x.lse[j]) - (j == positive(&x, k) ? 2.0f : 0.0f);
            for (int64_t c = 0; c < d; c++) g[c] += w * zj[c];
        }
        const float nr = x.nrm[k], proj = nr > NTX_EPS ? dot(zk, g, d) : 0.0f;
        for (int64_t c = 0; c < d; c++) g[c] = scale * (g[c] - proj * zk[c]) / nr;
    }
    return 0;
}
