/* attention.c — fused scaled-dot-product attention (dlnrt.h), forward and
 * backward, without a T x S buffer.
 *
 * Each (batch, head, query) row is computed on its own: the S scores
 * scale * q_t.k_s + mask, their stable softmax in a per-thread scratch row
 * of S floats, then the weighted sum of the value rows. q, k, v and out are
 * row-major with the heads as column blocks, so every inner loop (the dot
 * products over a head's E/heads features, the axpys over its Ev/heads
 * value columns) runs over contiguous floats and vectorizes.
 *
 * The backward recomputes the probabilities P of a row from q and k (as
 * flash attention does) instead of keeping them from the forward; with
 * D_t = dout_t.out_t and dS = P o (dout v^T - D):
 *   dq_t = scale sum_s dS[t,s] k_s     rows in parallel, each writes its own
 *   dk_s = scale sum_t dS[t,s] q_t     (batch, head) blocks in parallel: the
 *   dv_s = sum_t P[t,s] dout_t         sums over t stay in one thread
 *   dmask = dS                         rows in parallel
 * Parallelism: OpenMP over rows (or blocks), only when there is enough work
 * and not already inside a parallel region. */
#include <math.h>
#include <string.h>

#include "dlnrt.h"
#include "scratch_internal.h"

#ifdef _OPENMP
#include <omp.h>
#define IN_PARALLEL() omp_in_parallel()
#else
#define IN_PARALLEL() 1
#endif

/* Below this many multiply-adds a call stays on one thread. */
#define ATTN_PARALLEL_WORK 32768

static float dot(const float *restrict a, const float *restrict b, int64_t n) {
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = 0; i < n; i++) acc += a[i] * b[i];
    return acc;
}

static void axpy(float *restrict y, float a, const float *restrict x, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

/* The mask's row for (batch b, head h, query t): element s at [s * g->ms]. */
static const float *mask_row(const dl_attention_geom *g, const float *mask, int64_t b, int64_t h, int64_t t) {
    int64_t off = h * g->mh + t * g->mt;
    for (int i = g->nb - 1; i >= 0; i--) off += (b % g->bdim[i]) * g->mb[i], b /= g->bdim[i];
    return mask + off;
}

/* The probabilities of row (b, h, t) into p[0..lim): returns lim, the keys
 * that take part (causal: s <= t + q_pos0), 0 when every key is masked. */
static int64_t probs(const dl_attention_geom *g, const float *q, const float *k, const float *mask, int64_t b, int64_t h,
                     int64_t t, float *restrict p) {
    int64_t dh = g->e / g->heads, lim = g->s;
    if (g->causal && t + g->q_pos0 + 1 < lim) lim = t + g->q_pos0 + 1 > 0 ? t + g->q_pos0 + 1 : 0;
    const float *qr = q + (b * g->t + t) * g->e + h * dh, *kb = k + b * g->s * g->e + h * dh;
    const float *mr = mask ? mask_row(g, mask, b, h, t) : NULL;
    float mx = -INFINITY;
    for (int64_t s = 0; s < lim; s++) {
        float sc = g->scale * dot(qr, kb + s * g->e, dh);
        if (mr) sc += mr[s * g->ms];
        p[s] = sc;
        mx = fmaxf(mx, sc);
    }
    if (mx == -INFINITY) return 0;
    float sum = 0.0f;
    for (int64_t s = 0; s < lim; s++) sum += p[s] = expf(p[s] - mx);
    const float inv = 1.0f / sum;
    for (int64_t s = 0; s < lim; s++) p[s] *= inv;
    return lim;
}

static int scratch_failed(void) {
    dl_set_error("attention: out of memory for a row of probabilities");
    return -1;
}

/* The work of one row: scores, probabilities times values. */
static int64_t row_work(const dl_attention_geom *g) { return g->s * (g->e + g->ev) / g->heads + 1; }

int dl_attention(const dl_attention_geom *g, const float *q, const float *k, const float *v, const float *mask, float *out) {
    const int64_t rows = g->batch * g->heads * g->t, dv = g->ev / g->heads;
    int failed = 0;
#pragma omp parallel if (rows * row_work(g) >= ATTN_PARALLEL_WORK && !IN_PARALLEL()) reduction(| : failed)
    {
        float *p = dl_scratch(DL_SCRATCH_ATTN, g->s + 1);
        failed |= !p;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            if (!p) continue;
            int64_t t = r % g->t, h = r / g->t % g->heads, b = r / g->t / g->heads;
            float *restrict o = out + (b * g->t + t) * g->ev + h * dv;
            memset(o, 0, sizeof(float) * (size_t)dv);
            int64_t lim = probs(g, q, k, mask, b, h, t, p);
            const float *vb = v + b * g->s * g->ev + h * dv;
            for (int64_t s = 0; s < lim; s++) axpy(o, p[s], vb + s * g->ev, dv);
        }
    }
    return failed ? scratch_failed() : 0;
}

/* dS of row (b, h, t) over p[0..lim) in place, from its probabilities. */
static void dscores(const dl_attention_geom *g, const float *v, const float *out, const float *dout, int64_t b, int64_t h,
                    int64_t t, float *restrict p, int64_t lim) {
    int64_t dv = g->ev / g->heads, o = (b * g->t + t) * g->ev + h * dv;
    const float D = dot(dout + o, out + o, dv), *vb = v + b * g->s * g->ev + h * dv;
    for (int64_t s = 0; s < lim; s++) p[s] *= dot(dout + o, vb + s * g->ev, dv) - D;
}

int dl_attention_bwd_q(const dl_attention_geom *g, const float *q, const float *k, const float *v, const float *mask,
                       const float *out, const float *dout, float *dq) {
    const int64_t rows = g->batch * g->heads * g->t, dh = g->e / g->heads;
    int failed = 0;
#pragma omp parallel if (rows * row_work(g) >= ATTN_PARALLEL_WORK && !IN_PARALLEL()) reduction(| : failed)
    {
        float *p = dl_scratch(DL_SCRATCH_ATTN, g->s + 1);
        failed |= !p;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            if (!p) continue;
            int64_t t = r % g->t, h = r / g->t % g->heads, b = r / g->t / g->heads;
            float *restrict d = dq + (b * g->t + t) * g->e + h * dh;
            memset(d, 0, sizeof(float) * (size_t)dh);
            int64_t lim = probs(g, q, k, mask, b, h, t, p);
            dscores(g, v, out, dout, b, h, t, p, lim);
            const float *kb = k + b * g->s * g->e + h * dh;
            for (int64_t s = 0; s < lim; s++) axpy(d, g->scale * p[s], kb + s * g->e, dh);
        }
    }
    return failed ? scratch_failed() : 0;
}

int dl_attention_bwd_kv(const dl_attention_geom *g, const float *q, const float *k, const float *v, const float *mask,
                        const float *out, const float *dout, float *dk, float *dv) {
    const int64_t blocks = g->batch * g->heads, dh = g->e / g->heads, dvh = g->ev / g->heads;
    int failed = 0;
#pragma omp parallel if (blocks > 1 && blocks * g->t * row_work(g) >= ATTN_PARALLEL_WORK && !IN_PARALLEL()) \
    reduction(| : failed)
    {
        float *p = dl_scratch(DL_SCRATCH_ATTN, g->s + 1);
        failed |= !p;
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < blocks; bh++) {
            if (!p) continue;
            int64_t h = bh % g->heads, b = bh / g->heads;
            float *kb = dk ? dk + b * g->s * g->e + h * dh : NULL, *vb = dv ? dv + b * g->s * g->ev + h * dvh : NULL;
            for (int64_t s = 0; s < g->s; s++) {
                if (kb) memset(kb + s * g->e, 0, sizeof(float) * (size_t)dh);
                if (vb) memset(vb + s * g->ev, 0, sizeof(float) * (size_t)dvh);
            }
            for (int64_t t = 0; t < g->t; t++) {
                int64_t lim = probs(g, q, k, mask, b, h, t, p);
                const float *dor = dout + (b * g->t + t) * g->ev + h * dvh;
                if (vb)
                    for (int64_t s = 0; s < lim; s++) axpy(vb + s * g->ev, p[s], dor, dvh);
                if (!kb) continue;
                dscores(g, v, out, dout, b, h, t, p, lim);
                const float *qr = q + (b * g->t + t) * g->e + h * dh;
                for (int64_t s = 0; s < lim; s++) axpy(kb + s * g->e, g->scale * p[s], qr, dh);
            }
        }
    }
    return failed ? scratch_failed() : 0;
}

int dl_attention_bwd_mask(const dl_attention_geom *g, const float *q, const float *k, const float *v, const float *mask,
                          const float *out, const float *dout, float *dscores_out) {
    const int64_t rows = g->batch * g->heads * g->t;
    /* each row's own output row is its scratch */
#pragma omp parallel for schedule(static) if (rows * row_work(g) >= ATTN_PARALLEL_WORK && !IN_PARALLEL())
    for (int64_t r = 0; r < rows; r++) {
        int64_t t = r % g->t, h = r / g->t % g->heads, b = r / g->t / g->heads;
        float *restrict d = dscores_out + r * g->s;
        int64_t lim = probs(g, q, k, mask, b, h, t, d);
        dscores(g, v, out, dout, b, h, t, d, lim);
        memset(d + lim, 0, sizeof(float) * (size_t)(g->s - lim));
    }
    return 0;
}
