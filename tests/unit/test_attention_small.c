/* test_attention_small.c — attention_small.c's two products of a
 * column-form attention tile against dl_sgemm (the path they replace: the
 * same bits are promised) and against plain loops in double. Random
 * geometries, and the softmax fused after the scores against probs_cols'
 * rules written out in C (the same bits where dl_sgemm runs its blocked kernels, as at
 * GPT's 64 x 64 x 32: its small-product path sums in another order): tiles of 1 to 70 queries (blocks of 16 and 8 with and without
 * a tail), head widths 1 to 40 (value widths across the 16- and 32-column
 * chunks), causal offsets 0, a few, past the keys, and not causal; the
 * entries the scores kernel leaves out (the causal triangle's blocks) must
 * stay unwritten, and P V's columns and rows outside the output too. On a
 * CPU without AVX-512 both kernels decline (-1) and the test checks that. */
#include "attention_small_internal.h"
#include "dlnrt.h"
#include "gemm_ref.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static float *randn(int64_t n, uint64_t seed)
{
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    dl_fill_normal(p, n, seed, 1);
    return p;
}

/* A kernel that declined (-1: no AVX-512) must have written nothing: got is all NaN. */
static int untouched(const float *got, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isnan(got[i])) return 0;
    return 1;
}

static int same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

/* The keys block i0 of 16 queries is computed for (see attention_small_internal.h). */
static int64_t block_end(int64_t lim, int64_t vis, int64_t i0, int64_t n)
{
    return vis < 0 || i0 + n + vis > lim ? lim : i0 + n + vis;
}

/* Whether dl_sgemm runs an M x N x K product through its blocked kernels,
 * whose sums the new ones repeat; below 16^3 multiply-adds, or as a
 * matrix-vector product, it sums in another order (gemm.c). */
static int blocked(int64_t M, int64_t N, int64_t K) { return M > 1 && N > 1 && M * N * K >= 16 * 16 * 16; }

typedef struct geom { int64_t lim, tb, dh, dv, vis; } geom;

static void check_scores(const geom *c, uint64_t seed)
{
    const int64_t ldk = 3 * c->dh + 1, ldq = 2 * c->dh + 3, n = c->lim * c->tb;
    float *k = randn(c->lim * ldk, seed), *q = randn(c->tb * ldq, seed + 1);
    float *got = malloc(sizeof(float) * (size_t)(n + 1)), *ref = malloc(sizeof(float) * (size_t)(n + 1));
    float *ref64 = malloc(sizeof(float) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) got[i] = NAN;
    const float scale = 0.37f;
    if (dl_attn_scores_cols(c->lim, c->tb, c->dh, scale, k, ldk, q, ldq, c->vis, 0, got) != 0) {
        CU_ASSERT(untouched(got, n));
        free(k), free(q), free(got), free(ref), free(ref64);
        return;
    }
    dl_sgemm(0, 1, c->lim, c->tb, c->dh, scale, k, ldk, q, ldq, 0.0f, ref, c->tb);
    naive_gemm(0, 1, c->lim, c->tb, c->dh, scale, k, ldk, q, ldq, 0.0f, ref64, c->tb);
    int bad_bits = 0, bad_ref = 0, bad_left = 0;
    for (int64_t s = 0; s < c->lim; s++)
        for (int64_t i = 0; i < c->tb; i++) {
            const int64_t i0 = i / 16 * 16, in = s < block_end(c->lim, c->vis, i0, 16);
            const float g = got[s * c->tb + i];
            if (!in) {
                bad_left += !isnan(g);
                continue;
            }
            bad_bits += !same_bits(g, ref[s * c->tb + i]);
            bad_ref += fabsf(g - ref64[s * c->tb + i]) > 1e-5f * (1.0f + sqrtf((float)c->dh)) * 4;
        }
    if (blocked(c->lim, c->tb, c->dh)) CU_ASSERT_EQUAL(bad_bits, 0);
    CU_ASSERT_EQUAL(bad_ref, 0);
    CU_ASSERT_EQUAL(bad_left, 0);
    free(k), free(q), free(got), free(ref), free(ref64);
}

/* probs_cols' softmax of the scores pt (keys down, tb queries across), written
 * out per query in C: visible keys s <= i + vis (vis < 0: all), maximum,
 * dl_expf and the sum in key order, times 1 / sum; a hidden weight is 0. */
static void softmax_cols_ref(float *pt, int64_t lim, int64_t tb, int64_t vis)
{
    for (int64_t i = 0; i < tb; i++) {
        float mx = -INFINITY, sum = 0.0f;
        for (int64_t s = 0; s < lim; s++)
            if (vis < 0 || s <= i + vis) mx = pt[s * tb + i] > mx ? pt[s * tb + i] : mx;
        for (int64_t s = 0; s < lim; s++) {
            float *r = pt + s * tb + i;
            *r = (vis < 0 || s <= i + vis) && mx != -INFINITY ? dl_expf(*r - mx) : 0.0f;
            sum += *r;
        }
        const float inv = sum != 0.0f ? 1.0f / sum : 0.0f;
        for (int64_t s = 0; s < lim; s++) pt[s * tb + i] *= inv;
    }
}

/* dl_attn_scores_cols with its softmax against scores by dl_sgemm and softmax_cols_ref: the
 * same bits (blocked geometries), within 2e-5 of a softmax in double (as
 * test_attention.c holds dl_attention), and
 * the entries left out unwritten. */
static void check_probs(const geom *c, uint64_t seed)
{
    const int64_t ldk = c->dh + 2, ldq = c->dh + 1, n = c->lim * c->tb;
    float *k = randn(c->lim * ldk, seed), *q = randn(c->tb * ldq, seed + 1);
    float *got = malloc(sizeof(float) * (size_t)(n + 1)), *ref = malloc(sizeof(float) * (size_t)(n + 1));
    double *sc = malloc(sizeof(double) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) got[i] = NAN;
    const float scale = 0.9f;
    if (dl_attn_scores_cols(c->lim, c->tb, c->dh, scale, k, ldk, q, ldq, c->vis, 1, got) != 0) {
        CU_ASSERT(untouched(got, n));
        free(k), free(q), free(got), free(ref), free(sc);
        return;
    }
    dl_sgemm(0, 1, c->lim, c->tb, c->dh, scale, k, ldk, q, ldq, 0.0f, ref, c->tb);
    softmax_cols_ref(ref, c->lim, c->tb, c->vis);
    for (int64_t s = 0; s < c->lim; s++)
        for (int64_t i = 0; i < c->tb; i++) {
            double d = 0;
            for (int64_t j = 0; j < c->dh; j++) d += (double)k[s * ldk + j] * q[i * ldq + j];
            sc[s * c->tb + i] = scale * d;
        }
    int bad_bits = 0, bad_ref = 0, bad_left = 0;
    for (int64_t i = 0; i < c->tb; i++) {
        double mx = -INFINITY, sum = 0;
        for (int64_t s = 0; s < c->lim; s++)
            if (c->vis < 0 || s <= i + c->vis) mx = sc[s * c->tb + i] > mx ? sc[s * c->tb + i] : mx;
        for (int64_t s = 0; s < c->lim; s++)
            if (c->vis < 0 || s <= i + c->vis) sum += exp(sc[s * c->tb + i] - mx);
        for (int64_t s = 0; s < c->lim; s++) {
            const float g = got[s * c->tb + i];
            if (s >= block_end(c->lim, c->vis, i / 16 * 16, 16)) {
                bad_left += !isnan(g);
                continue;
            }
            const double want = c->vis < 0 || s <= i + c->vis ? exp(sc[s * c->tb + i] - mx) / sum : 0.0;
            bad_bits += !same_bits(g, ref[s * c->tb + i]);
            bad_ref += fabs(g - want) > 2e-5;
        }
    }
    if (blocked(c->lim, c->tb, c->dh)) CU_ASSERT_EQUAL(bad_bits, 0);
    CU_ASSERT_EQUAL(bad_ref, 0);
    CU_ASSERT_EQUAL(bad_left, 0);
    free(k), free(q), free(got), free(ref), free(sc);
}

static void check_pv(const geom *c, uint64_t seed)
{
    const int64_t ldv = c->dv + 5, ldo = c->dv + 3, no = c->tb * ldo;
    float *pt = randn(c->lim * c->tb, seed), *v = randn(c->lim * ldv, seed + 1);
    /* P's causal zeros, as probs_cols leaves them */
    for (int64_t s = 0; s < c->lim; s++)
        for (int64_t i = 0; i < c->tb; i++)
            if (c->vis >= 0 && s > i + c->vis) pt[s * c->tb + i] = 0.0f;
    float *got = malloc(sizeof(float) * (size_t)(no + 1)), *ref = malloc(sizeof(float) * (size_t)(no + 1));
    float *ref64 = malloc(sizeof(float) * (size_t)(no + 1));
    for (int64_t i = 0; i < no; i++) got[i] = ref[i] = NAN;
    if (dl_attn_pv_cols(c->lim, c->tb, c->dv, pt, v, ldv, c->vis, got, ldo) != 0) {
        CU_ASSERT(untouched(got, no));
        free(pt), free(v), free(got), free(ref), free(ref64);
        return;
    }
    dl_sgemm(1, 0, c->tb, c->dv, c->lim, 1.0f, pt, c->tb, v, ldv, 0.0f, ref, ldo);
    naive_gemm(1, 0, c->tb, c->dv, c->lim, 1.0f, pt, c->tb, v, ldv, 0.0f, ref64, ldo);
    int bad_bits = 0, bad_ref = 0, bad_pad = 0;
    for (int64_t i = 0; i < c->tb; i++)
        for (int64_t j = 0; j < ldo; j++) {
            const float g = got[i * ldo + j];
            if (j >= c->dv) {
                bad_pad += !isnan(g);
                continue;
            }
            bad_bits += !same_bits(g, ref[i * ldo + j]);
            bad_ref += fabsf(g - ref64[i * ldo + j]) > 1e-5f * (1.0f + sqrtf((float)c->lim)) * 4;
        }
    if (blocked(c->tb, c->dv, c->lim)) CU_ASSERT_EQUAL(bad_bits, 0);
    CU_ASSERT_EQUAL(bad_ref, 0);
    CU_ASSERT_EQUAL(bad_pad, 0);
    free(pt), free(v), free(got), free(ref), free(ref64);
}

static void test_products(void)
{
    static const geom fixed[] = {
        {64, 64, 32, 32, 0},  /* GPT's batch-1 tile */
        {64, 64, 32, 32, -1}, /* ... not causal */
        {1, 1, 1, 1, 0},    {17, 17, 5, 3, 0}, {70, 64, 7, 4, 6},  {33, 20, 4, 5, -1},
        {40, 24, 16, 16, 16}, {31, 31, 8, 8, 0}, {48, 16, 40, 33, 32}, {9, 3, 3, 17, 2},
    };
    uint64_t seed = 1;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++, seed += 2) {
        check_scores(&fixed[i], seed);
        check_probs(&fixed[i], seed);
        check_pv(&fixed[i], seed);
    }
    uint64_t rng = 12345;
    for (int r = 0; r < 40; r++, seed += 2) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        geom c = {.tb = 1 + (int64_t)(rng >> 33) % 70, .dh = 1 + (int64_t)(rng >> 20) % 40, .dv = 1 + (int64_t)(rng >> 10) % 40};
        const int64_t kind = (int64_t)(rng >> 45) % 3;
        c.vis = kind == 0 ? -1 : kind == 1 ? 0 : (int64_t)(rng >> 50) % 80;
        c.lim = c.vis < 0 ? 1 + (int64_t)(rng >> 40) % 90 : c.tb + c.vis; /* causal: the last query's keys */
        check_scores(&c, seed);
        check_probs(&c, seed);
        check_pv(&c, seed);
    }
}

void suite_attention_small(void)
{
    CU_pSuite s = CU_add_suite("attention_small", NULL, NULL);
    CU_add_test(s, "scores, softmax, P V of a column tile = dl_sgemm and probs_cols bit for bit, = double loops",
                test_products);
}
