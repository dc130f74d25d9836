/* attention.c — fused scaled-dot-product attention (dlnrt.h), forward and
 * backward, without a T x S buffer.
 *
 * The work is cut into (batch, head, block of queries) tiles. For a tile of
 * TB queries the thread computes the TB x S' scores (S' = the keys any of
 * its queries may see: all, or up to the last one's causal limit) with one
 * dl_sgemm, adds the mask, takes each query's stable softmax in place, and
 * multiplies by the values with a second dl_sgemm straight into the
 * output's columns of that head. The forward holds a tile of 16 queries or
 * more transposed, keys down and queries across, so that the softmax's
 * reductions run down columns in whole vectors (probs_cols); the backward,
 * and a forward tile of fewer queries, hold it a query per row (probs). The tile lives in per-thread scratch of at
 * most ATTN_TILE_FLOATS floats, whatever T and S are; dl_sgemm runs
 * serially inside our parallel loop and brings its AVX2/AVX-512 kernels, so
 * the products run as fast as the composed q @ k^T, softmax, @ v would,
 * without their T x S tensors. q, k, v and out are row-major with the heads
 * as column blocks, so a head is a strided submatrix (leading dimension E or
 * Ev) that dl_sgemm reads in place.
 *
 * The backward recomputes each tile's probabilities P (as flash attention
 * does) instead of keeping them. With D_t = dout_t . out_t and
 * dS = P o (dout v^T - D), per tile:
 *   dq   = scale dS k          (the tile's own rows)
 *   dk  += scale dS^T q        (the sums over queries: all tiles of one
 *   dv  += P^T dout             (batch, head) run in one thread, in order)
 *   dS written out as the mask's gradient
 * so the backward is parallel over (batch, head) pairs, and each requested
 * gradient costs one recomputation at most: one call computes all of them. */
#pragma GCC optimize("O3", "no-trapping-math")
#include <math.h>
#include <string.h>

#include "attention_small_internal.h"
#include "dlnrt.h"
#include "scratch_internal.h"

/* Scores per thread: up to 64 queries, fewer when S is long (64K floats, 256 KB). */
#define ATTN_TILE_FLOATS 65536
#define ATTN_MAX_TB 64
/* Tiles of at least this many queries take the column form of the softmax
 * (probs_cols); fewer (cached decoding's one new token) would leave its
 * vertical loops a lane or two wide, and keep the row form. */
#define ATTN_COLS_MIN_TB 16
/* Below this many multiply-adds a call stays on one thread. */
#define ATTN_PARALLEL_WORK 65536

typedef struct tile {
    int64_t b, h, t0, tb;  /* batch, head, first query, queries */
    int64_t lim;           /* keys that take part: 0 .. lim-1 */
} tile;

static int64_t tile_rows(const dl_attention_geom *g) {
    int64_t tb = ATTN_TILE_FLOATS / (g->s > 0 ? g->s : 1);
    return tb < 1 ? 1 : tb > ATTN_MAX_TB ? ATTN_MAX_TB : tb;
}

/* The mask's row for (batch b, head h, query t): element s at [s * g->ms]. */
static const float *mask_row(const dl_attention_geom *g, const float *mask, int64_t b, int64_t h, int64_t t) {
    int64_t off = h * g->mh + t * g->mt;
    for (int i = g->nb - 1; i >= 0; i--) off += (b % g->bdim[i]) * g->mb[i], b /= g->bdim[i];
    return mask + off;
}

/* Batch b's keys and values: packed, or the first s rows of a cache whose
 * batches are kb (vb) floats apart (cached decoding). */
static const float *keys_of(const dl_attention_geom *g, const float *k, int64_t b) {
    return k + b * (g->kb ? g->kb : g->s * g->e);
}
static const float *values_of(const dl_attention_geom *g, const float *v, int64_t b) {
    return v + b * (g->vb ? g->vb : g->s * g->ev);
}

/* The probabilities of tile x into p[tb x lim] (row stride lim); sets x->lim.
 * A row whose every key is masked is all 0. Cloned for AVX2/AVX-512 (the
 * library is built for baseline x86-64, 4-float vectors): its exp loop was
 * a tenth of a GPT training step. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void probs(const dl_attention_geom *g, const float *q, const float *k, const float *mask, tile *x, float *p) {
    int64_t dh = g->e / g->heads, last = x->t0 + x->tb - 1 + g->q_pos0 + 1;
    x->lim = g->causal && last < g->s ? (last > 0 ? last : 0) : g->s;
    if (x->lim == 0) return;
    const float *qb = q + (x->b * g->t + x->t0) * g->e + x->h * dh, *kb = keys_of(g, k, x->b) + x->h * dh;
    dl_sgemm(0, 1, x->tb, x->lim, dh, g->scale, qb, g->e, kb, g->e, 0.0f, p, x->lim);
    for (int64_t i = 0; i < x->tb; i++) {
        float *restrict r = p + i * x->lim;
        int64_t t = x->t0 + i, see = g->causal && t + g->q_pos0 + 1 < x->lim ? t + g->q_pos0 + 1 : x->lim;
        if (see < 0) see = 0;
        if (mask) {
            const float *mr = mask_row(g, mask, x->b, x->h, t);
            for (int64_t s = 0; s < see; s++) r[s] += mr[s * g->ms];
        }
        /* The loops run over `see` rounded up to 16 floats (one AVX-512
         * vector), the keys past `see` set to -inf (weight exactly 0), and
         * the rest of the row is zeroed: a causal row is `see` = 1..lim long;
         * over `see` alone the vector loops left a scalar tail of 8 elements
         * on average (most of this function's time at lim = 64), over the
         * whole row half the exponentials were of -inf. */
        const int64_t upto = (see + 15) / 16 * 16 < x->lim ? (see + 15) / 16 * 16 : x->lim;
        float mx = -INFINITY; /* (a comparison, not fmaxf: a libm call per element, a fifth of the time) */
#pragma omp simd reduction(max : mx)
        for (int64_t s = 0; s < upto; s++) {
            const float v = s < see ? r[s] : -INFINITY;
            r[s] = v;
            mx = v > mx ? v : mx;
        }
        memset(r + upto, 0, sizeof(float) * (size_t)(x->lim - upto));
        if (mx == -INFINITY) { /* every key masked: the row is 0 */
            memset(r, 0, sizeof(float) * (size_t)upto);
            continue;
        }
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int64_t s = 0; s < upto; s++) sum += r[s] = dl_expf(r[s] - mx);
        const float inv = 1.0f / sum;
#pragma omp simd
        for (int64_t s = 0; s < upto; s++) r[s] *= inv;
    }
}

/* The first of tile x's tb queries that sees key s (t + q_pos0 >= s when causal), in [0, tb]. */
static inline int64_t first_query(const dl_attention_geom *g, const tile *x, int64_t s, int64_t tb) {
    const int64_t lo = g->causal ? s - g->q_pos0 - x->t0 : 0;
    return lo < 0 ? 0 : lo > tb ? tb : lo;
}

/* Key s is visible to tile x's query i iff s <= i + visible (causal), -1: every key. */
static inline int64_t visible(const dl_attention_geom *g, const tile *x) {
    return g->causal ? x->t0 + g->q_pos0 : -1;
}

/* The forward's probabilities of tile x with the tile's queries across:
 * pt[s * tb + i] is query t0 + i's weight of key s (row stride tb). Every
 * reduction of the softmax (max, sum) is then along a column, vertical: one
 * pass over the tile keeps tb running maxima (and sums) and each key row adds
 * a few whole vectors to them. The row form above reduces each query's row
 * horizontally, three loops of 1..4 vectors, each with its own setup and
 * shuffle tree, and that per-row overhead, not the exponentials, was most of
 * its time at GPT's 64 x 64 tiles (8% of a batch-1 forward). Key s is
 * visible to queries i >= s - q_pos0 - t0 when causal; a row's loops start at
 * that query rounded down to 16 (one AVX-512 vector), the queries before it
 * set to -inf (weight exactly 0), the rest of the row zeroed. A query that
 * sees no key at all (mask -inf everywhere) gets weights 0. The sums run over
 * s in order per query: this is not the row form's rounding (its sum is a
 * vector reduction), so the two are not interchangeable bit for bit, and the
 * backward keeps recomputing with the row form (see dl_attention_bwd).
 * mx and sum are scratch of tb floats each. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void probs_cols(const dl_attention_geom *g, const float *q, const float *k, const float *mask, tile *x, float *pt,
                       float *restrict mx, float *restrict sum) {
    const int64_t dh = g->e / g->heads, last = x->t0 + x->tb - 1 + g->q_pos0 + 1, tb = x->tb;
    x->lim = g->causal && last < g->s ? (last > 0 ? last : 0) : g->s;
    if (x->lim == 0) return;
    const float *qb = q + (x->b * g->t + x->t0) * g->e + x->h * dh, *kb = keys_of(g, k, x->b) + x->h * dh;
    /* Without a mask, on AVX-512, the blocks P V reads, softmax and all, per block of queries: the rest
     * stays unwritten, and dl_attention's dl_attn_pv_cols (the same CPU test) does not read it */
    if (!mask && dl_attn_scores_cols(x->lim, tb, dh, g->scale, kb, g->e, qb, g->e, visible(g, x), 1, pt) == 0) return;
    /* scores transposed: keys times queries^T (on AVX-512 only the blocks the softmax reads) */
    if (dl_attn_scores_cols(x->lim, tb, dh, g->scale, kb, g->e, qb, g->e, visible(g, x), 0, pt) != 0)
        dl_sgemm(0, 1, x->lim, tb, dh, g->scale, kb, g->e, qb, g->e, 0.0f, pt, tb);
    for (int64_t i = 0; i < tb; i++) mx[i] = -INFINITY, sum[i] = 0.0f;
    for (int64_t s = 0; s < x->lim; s++) {
        float *restrict r = pt + s * tb;
        const int64_t lo = first_query(g, x, s, tb);
        if (mask)
            for (int64_t i = lo; i < tb; i++) r[i] += mask_row(g, mask, x->b, x->h, x->t0 + i)[s * g->ms];
        const int64_t from = lo / 16 * 16;
#pragma omp simd
        for (int64_t i = from; i < tb; i++) {
            const float v = i >= lo ? r[i] : -INFINITY;
            r[i] = v;
            mx[i] = v > mx[i] ? v : mx[i]; /* (a comparison, not fmaxf: a libm call per element) */
        }
    }
    for (int64_t s = 0; s < x->lim; s++) {
        float *restrict r = pt + s * tb;
        const int64_t from = first_query(g, x, s, tb) / 16 * 16;
        memset(r, 0, sizeof(float) * (size_t)from);
#pragma omp simd
        for (int64_t i = from; i < tb; i++) {
            const float e = mx[i] == -INFINITY ? 0.0f : dl_expf(r[i] - mx[i]);
            r[i] = e;
            sum[i] += e;
        }
    }
    /* a query that sees a key has sum >= 1 (its maximum's weight); one that sees none, 0 */
#pragma omp simd
    for (int64_t i = 0; i < tb; i++) sum[i] = sum[i] != 0.0f ? 1.0f / sum[i] : 0.0f; /* (NaN stays NaN) */
    for (int64_t s = 0; s < x->lim; s++) {
        float *restrict r = pt + s * tb;
        const int64_t from = first_query(g, x, s, tb) / 16 * 16;
#pragma omp simd
        for (int64_t i = from; i < tb; i++) r[i] *= sum[i];
    }
}

static int scratch_failed(void) {
    dl_set_error("attention: out of memory for a tile of scores");
    return -1;
}

int dl_attention(const dl_attention_geom *g, const float *q, const float *k, const float *v, const float *mask, float *out) {
    const int64_t tb = tile_rows(g), nqb = (g->t + tb - 1) / tb, tiles = g->batch * g->heads * nqb, dv = g->ev / g->heads;
    const double work = (double)g->batch * g->t * g->s * (g->e + g->ev);
    int failed = 0;
#pragma omp parallel if (tiles > 1 && work >= ATTN_PARALLEL_WORK && !DL_IN_PARALLEL()) reduction(| : failed)
    {
        float *p = dl_scratch(DL_SCRATCH_ATTN, tb * g->s + 2 * tb + 1), *mx = p ? p + tb * g->s : NULL;
        failed |= !p;
#pragma omp for schedule(dynamic)
        for (int64_t i = 0; i < tiles; i++) {
            if (!p) continue;
            tile x = {.b = i / nqb / g->heads, .h = i / nqb % g->heads, .t0 = i % nqb * tb};
            x.tb = g->t - x.t0 < tb ? g->t - x.t0 : tb;
            const float *vb = values_of(g, v, x.b) + x.h * dv;
            float *o = out + (x.b * g->t + x.t0) * g->ev + x.h * dv;
            /* lim = 0 (nothing visible) writes zeros: dl_sgemm with K = 0 is C = beta C */
            if (x.tb >= ATTN_COLS_MIN_TB) {
                probs_cols(g, q, k, mask, &x, p, mx, mx + tb);
                if (dl_attn_pv_cols(x.lim, x.tb, dv, p, vb, g->ev, visible(g, &x), o, g->ev) != 0)
                    dl_sgemm(1, 0, x.tb, dv, x.lim, 1.0f, p, x.tb, vb, g->ev, 0.0f, o, g->ev);
            } else {
                probs(g, q, k, mask, &x, p);
                dl_sgemm(0, 0, x.tb, dv, x.lim, 1.0f, p, x.lim ? x.lim : 1, vb, g->ev, 0.0f, o, g->ev);
            }
        }
    }
    return failed ? scratch_failed() : 0;
}

int dl_attention_bwd(const dl_attention_geom *g, const float *q, const float *k, const float *v, const float *mask,
                     const float *out, const float *dout, float *dq, float *dk, float *dv, float *dscores) {
    const int64_t tb = tile_rows(g), pairs = g->batch * g->heads, dh = g->e / g->heads, dvh = g->ev / g->heads;
    const int need_ds = dq || dk || dscores;
    const int64_t lq = g->ld_dq ? g->ld_dq : g->e, lk = g->ld_dk ? g->ld_dk : g->e, lv = g->ld_dv ? g->ld_dv : g->ev;
    const double work = (double)g->batch * g->t * g->s * (g->e + g->ev);
    int failed = 0;
#pragma omp parallel if (pairs > 1 && work >= ATTN_PARALLEL_WORK && !DL_IN_PARALLEL()) reduction(| : failed)
    {
        float *p = dl_scratch(DL_SCRATCH_ATTN, 2 * tb * g->s + 1), *ds = p ? p + tb * g->s : NULL;
        failed |= !p;
#pragma omp for schedule(dynamic)
        for (int64_t i = 0; i < pairs; i++) {
            if (!p) continue;
            const int64_t b = i / g->heads, h = i % g->heads;
            const float *qb = q + b * g->t * g->e + h * dh, *kb = k + b * g->s * g->e + h * dh;
            const float *vb = v + b * g->s * g->ev + h * dvh;
            float *dkb = dk ? dk + b * g->s * lk + h * dh : NULL, *dvb = dv ? dv + b * g->s * lv + h * dvh : NULL;
            for (int64_t s = 0; s < g->s; s++) {
                if (dkb) memset(dkb + s * lk, 0, sizeof(float) * (size_t)dh);
                if (dvb) memset(dvb + s * lv, 0, sizeof(float) * (size_t)dvh);
            }
            for (int64_t t0 = 0; t0 < g->t; t0 += tb) {
                tile x = {.b = b, .h = h, .t0 = t0, .tb = g->t - t0 < tb ? g->t - t0 : tb};
                probs(g, q, k, mask, &x, p);
                const int64_t lim = x.lim, ld = lim ? lim : 1, o = (b * g->t + t0) * g->ev + h * dvh;
                if (dvb) dl_sgemm(1, 0, lim, dvh, x.tb, 1.0f, p, ld, dout + o, g->ev, 1.0f, dvb, lv);
                if (!need_ds) continue;
                /* dS = P o (dout v^T - D), row by row */
                dl_sgemm(0, 1, x.tb, lim, dvh, 1.0f, dout + o, g->ev, vb, g->ev, 0.0f, ds, ld);
                for (int64_t r = 0; r < x.tb; r++) {
                    const float *dor = dout + o + r * g->ev, *outr = out + o + r * g->ev;
                    float D = 0.0f;
                    for (int64_t j = 0; j < dvh; j++) D += dor[j] * outr[j];
                    float *restrict dsr = ds + r * lim;
                    const float *restrict pr = p + r * lim;
                    for (int64_t s = 0; s < lim; s++) dsr[s] = pr[s] * (dsr[s] - D);
                }
                if (dq) dl_sgemm(0, 0, x.tb, dh, lim, g->scale, ds, ld, kb, g->e, 0.0f, dq + (b * g->t + t0) * lq + h * dh, lq);
                if (dkb) dl_sgemm(1, 0, lim, dh, x.tb, g->scale, ds, ld, qb + t0 * g->e, g->e, 1.0f, dkb, lk);
                if (dscores)
                    for (int64_t r = 0; r < x.tb; r++) {
                        float *d = dscores + ((i * g->t) + t0 + r) * g->s;
                        memcpy(d, ds + r * lim, sizeof(float) * (size_t)lim);
                        memset(d + lim, 0, sizeof(float) * (size_t)(g->s - lim));
                    }
            }
        }
    }
    return failed ? scratch_failed() : 0;
}
