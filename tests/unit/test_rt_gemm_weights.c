/* test_rt_gemm_weights.c — products whose B stays packed between calls
 * (runtime/gemm_weights.c, compiler/emit_weights.c).
 *
 *   - dl_sgemm_w, and each of its two paths (dl_sgemm_prepacked's portable
 *     tiles, dl_sgemm_wide's AVX-512 ones where the CPU has them), gives
 *     dl_sgemm's bits and the naive product's values: odd sizes, the 64-row products of batch-1 GPT, all transposes, alpha/beta,
 *     padded strides, several k slices, matrix-vector and tiny shapes (which
 *     never pack), at 1 and 2 threads (the tiled path reads the panels of its
 *     own columns), and at 1 thread the same bits as at 2.
 *   - The cache: the same version after B changed still reads the packed
 *     panels (so the cache is really used), a new version repacks, version 0
 *     never caches, dl_weights_release forgets.
 *   - Generated code: forward after an optimizer step, and after a write
 *     through a parameter pointer handed out before an earlier forward, sees
 *     the new weights (against a naive product). */
#include "dlnrt.h"
#include "emitted.h"
#include "gemm_internal.h"
#include "gemm_ref.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gemm_bufs {
    int64_t lda, ldb, ldc, an, bn, cn;
    float *A, *B, *C0; /* C0: C's starting contents */
} gemm_bufs;

static void bufs_make(gemm_bufs *g, int ta, int tb, int64_t M, int64_t N, int64_t K, int pad, uint64_t seed)
{
    g->lda = (ta ? M : K) + pad, g->ldb = (tb ? K : N) + pad, g->ldc = N + pad;
    g->an = (ta ? K : M) * g->lda, g->bn = (tb ? N : K) * g->ldb, g->cn = M * g->ldc;
    g->A = malloc(sizeof(float) * (size_t)g->an);
    g->B = malloc(sizeof(float) * (size_t)g->bn);
    g->C0 = malloc(sizeof(float) * (size_t)g->cn);
    dl_fill_normal(g->A, g->an, seed, 1);
    dl_fill_normal(g->B, g->bn, seed, 2);
    dl_fill_normal(g->C0, g->cn, seed, 3);
}

static void bufs_free(gemm_bufs *g) { free(g->A), free(g->B), free(g->C0); }

#ifndef DL_USE_CBLAS
static int wide_ran; /* products dl_sgemm_wide took */
#endif


/* dl_sgemm_w (twice: packing, then from the cache) against dl_sgemm (bits)
 * and the naive product; returns the number of mismatches. */
static int weights_case(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, float beta, int pad)
{
    gemm_bufs g;
    bufs_make(&g, ta, tb, M, N, K, pad, (uint64_t)(M * 7 + N * 3 + K));
    const size_t bytes = sizeof(float) * (size_t)g.cn;
    float *ref = malloc(bytes), *plain = malloc(bytes), *w = malloc(bytes);
    memcpy(ref, g.C0, bytes), memcpy(plain, g.C0, bytes);
    naive_gemm(ta, tb, M, N, K, alpha, g.A, g.lda, g.B, g.ldb, beta, ref, g.ldc);
    dl_sgemm(ta, tb, M, N, K, alpha, g.A, g.lda, g.B, g.ldb, beta, plain, g.ldc);
    const uint64_t v = dl_weights_version();
    int bad = 0;
    for (int call = 0; call < 2; call++) {
        memcpy(w, g.C0, bytes);
        dl_sgemm_w(v, ta, tb, M, N, K, alpha, g.A, g.lda, g.B, g.ldb, beta, w, g.ldc);
        bad += memcmp(w, plain, bytes) != 0;
        for (int64_t i = 0; i < g.cn; i++) bad += fabs((double)w[i] - ref[i]) > 1e-5 * sqrt((double)K + 1) * (1 + fabs(ref[i]));
    }
#ifndef DL_USE_CBLAS /* (a BLAS build keeps nothing packed) */
    /* each path of dl_sgemm_w on its own: the portable tiles and, where the CPU has them, the 8 x 32 ones */
    float *panels = malloc(sizeof(float) * (size_t)dl_gemm_packed_b_floats(K, N));
    dl_gemm_pack_b(tb, K, N, g.B, g.ldb, panels);
    const dl_packed_b pre = {panels, (N + 15) / 16 * 16};
    if (dl_gemm_blocked_shape(M, N, K)) {
        memcpy(w, g.C0, bytes);
        dl_sgemm_prepacked(ta, M, N, K, alpha, g.A, g.lda, &pre, beta, w, g.ldc);
        bad += memcmp(w, plain, bytes) != 0;
        memcpy(w, g.C0, bytes);
        if (dl_sgemm_wide(ta, M, N, K, alpha, g.A, g.lda, &pre, beta, w, g.ldc) == 0) {
            wide_ran++;
            bad += memcmp(w, plain, bytes) != 0;
        }
    }
    free(panels);
#endif
    if (bad) fprintf(stderr, "\n  dl_sgemm_w %lldx%lldx%lld ta=%d tb=%d: %d mismatches\n", (long long)M, (long long)N,
                     (long long)K, ta, tb, bad);
    dl_weights_release(g.B, g.bn);
    free(ref), free(plain), free(w);
    bufs_free(&g);
    return bad;
}

static void test_weights_match_sgemm(void)
{
    /* 64 rows: GPT's context; 1 and 2: matrix-vector and two-row; 5x6x7: unpacked */
    static const int64_t shapes[][3] = {{64, 384, 128}, {64, 128, 512}, {64, 47, 33}, {65, 130, 300},
                                        {7, 17, 9},     {33, 16, 257},  {1, 40, 50},  {40, 1, 50},
                                        {2, 33, 20},    {5, 6, 7},      {130, 7, 130}};
    int failures = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int t = 0; t < 4; t++) {
            const float alpha = s % 2 ? -0.5f : 1.0f, beta = t == 3 ? 0.75f : 0.0f;
            failures += weights_case(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], alpha, beta, (int)s % 3);
        }
    CU_ASSERT_EQUAL(failures, 0);
#ifndef DL_USE_CBLAS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) CU_ASSERT(wide_ran >= 8);
#endif
}

/* Above the parallel threshold: at 2 threads the tiles read their columns'
 * panels; the bits equal dl_sgemm's at the same count and at 1 thread. */
static void test_weights_threads(void)
{
    /* the last: at 1 thread the 8 x 32 tiles (where the CPU has them), at 2 dl_sgemm's */
    static const int64_t shapes[][3] = {{257, 250, 300}, {64, 1030, 400}, {700, 40, 300}, {128, 512, 384}};
    int saved = omp_get_max_threads(), failures = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int t = 0; t < 4; t++) {
            const int ta = t & 1, tb = t >> 1;
            const int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            gemm_bufs g;
            bufs_make(&g, ta, tb, M, N, K, (int)s, 5);
            const size_t bytes = sizeof(float) * (size_t)g.cn;
            float *one = malloc(bytes), *two = malloc(bytes), *plain = malloc(bytes);
            const uint64_t v = dl_weights_version();
            omp_set_num_threads(1);
            memcpy(one, g.C0, bytes);
            dl_sgemm_w(v, ta, tb, M, N, K, 1.0f, g.A, g.lda, g.B, g.ldb, 0.5f, one, g.ldc);
            omp_set_num_threads(2);
            memcpy(two, g.C0, bytes), memcpy(plain, g.C0, bytes);
            dl_sgemm_w(v, ta, tb, M, N, K, 1.0f, g.A, g.lda, g.B, g.ldb, 0.5f, two, g.ldc);
            dl_sgemm(ta, tb, M, N, K, 1.0f, g.A, g.lda, g.B, g.ldb, 0.5f, plain, g.ldc);
            failures += memcmp(one, two, bytes) != 0;
            failures += memcmp(two, plain, bytes) != 0;
            dl_weights_release(g.B, g.bn);
            free(one), free(two), free(plain);
            bufs_free(&g);
        }
    omp_set_num_threads(saved);
    CU_ASSERT_EQUAL(failures, 0);
}

#ifndef DL_USE_CBLAS
/* One 64x96x80 product (B transposed, as dense layers store it) into out. */
static void product(uint64_t v, const gemm_bufs *g, float *out)
{
    dl_sgemm_w(v, 0, 1, 64, 96, 80, 1.0f, g->A, g->lda, g->B, g->ldb, 0.0f, out, g->ldc);
}

static void test_weights_versions(void)
{
    gemm_bufs g;
    bufs_make(&g, 0, 1, 64, 96, 80, 0, 9);
    const size_t bytes = sizeof(float) * (size_t)g.cn;
    float *before = malloc(bytes), *out = malloc(bytes), *want = malloc(bytes);
    const uint64_t v1 = dl_weights_version(), v2 = dl_weights_version();
    CU_ASSERT(v1 != 0 && v2 != v1);
    product(v1, &g, before);
    g.B[3 * g.ldb + 5] += 1.0f; /* changes row 0..63 of column 3 */
    dl_sgemm(0, 1, 64, 96, 80, 1.0f, g.A, g.lda, g.B, g.ldb, 0.0f, want, g.ldc);
    CU_ASSERT(memcmp(want, before, bytes) != 0);
    product(v1, &g, out); /* the same version: the panels packed before (the cache is in use) */
    CU_ASSERT(memcmp(out, before, bytes) == 0);
    product(v2, &g, out); /* a new version: packed again */
    CU_ASSERT(memcmp(out, want, bytes) == 0);
    g.B[7 * g.ldb] -= 2.0f;
    dl_sgemm(0, 1, 64, 96, 80, 1.0f, g.A, g.lda, g.B, g.ldb, 0.0f, want, g.ldc);
    product(0, &g, out); /* version 0 never caches */
    CU_ASSERT(memcmp(out, want, bytes) == 0);
    dl_weights_release(g.B, g.bn); /* forgotten: even the old version packs afresh */
    product(v2, &g, out);
    CU_ASSERT(memcmp(out, want, bytes) == 0);
    dl_weights_release(g.B, g.bn);
    free(before), free(out), free(want);
    bufs_free(&g);
}

#endif

/* ---- generated code: the versions the model takes ------------------------- */

enum { ROWS = 64, IN = 40, OUT = 20 };

static const char linear_src[] =
    "model lin(x: f32[N, 40]) -> f32[N, 20] {\n"
    "    param w: f32[40, 20] = normal(std = 0.5)\n"
    "    param b: f32[20] = zeros\n"
    "    return x @ w + b\n"
    "}\n"
    "train lin {\n"
    "    data = csv(\"unused.csv\", batch = 64, classify = false)\n"
    "    loss = sum(output * label)\n"
    "    optim = sgd(lr = 0.05)\n"
    "    epochs = 1\n"
    "}\n";

/* x @ w + b in double, w and b read from the instance (which exposes them) */
static void linear_want(const dl_model_api *api, void *inst, const float *x, double *want)
{
    const float *w = api->param_data(inst, 0), *b = api->param_data(inst, 1);
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < OUT; j++) {
            double s = b[j];
            for (int p = 0; p < IN; p++) s += (double)x[i * IN + p] * w[p * OUT + j];
            want[i * OUT + j] = s;
        }
}

static void test_generated_versions(void)
{
    emitted e;
    CU_ASSERT_FATAL(emitted_build_source(linear_src, &e) == 0);
    const dl_model_api *api = e.api;
    CU_ASSERT_FATAL(strcmp(api->params[0].name, "w") == 0 && strcmp(api->params[1].name, "b") == 0);
    float x[ROWS * IN], label[ROWS * OUT], out0[ROWS * OUT], out1[ROWS * OUT];
    double want[ROWS * OUT];
    dl_fill_normal(x, ROWS * IN, 3, 1);
    dl_fill_normal(label, ROWS * OUT, 3, 2);

    /* a: never exposed, so only its own writes (init, the optimizer) give new versions;
     * b: the same steps, read through param_data for the reference */
    void *a = api->create(ROWS), *b = api->create(ROWS);
    CU_ASSERT_FATAL(a && b);
    api->init(a, 11), api->init(b, 11);
    api->forward(a, x, out0, ROWS);
    linear_want(api, b, x, want);
    CU_ASSERT(emitted_close(out0, want, ROWS * OUT, 1e-5, "forward after init"));
    CU_ASSERT(isfinite(api->train_step(a, x, label, ROWS)) && isfinite(api->train_step(b, x, label, ROWS)));
    api->forward(a, x, out1, ROWS);
    CU_ASSERT(memcmp(out0, out1, sizeof out0) != 0);
    linear_want(api, b, x, want);
    CU_ASSERT(emitted_close(out1, want, ROWS * OUT, 1e-5, "forward after a train step"));

    /* a pointer handed out before a forward, written after it */
    float *w = api->param_data(a, 0);
    api->forward(a, x, out0, ROWS);
    for (int k = 0; k < IN * OUT; k += 3) w[k] += 0.25f;
    api->forward(a, x, out1, ROWS);
    CU_ASSERT(memcmp(out0, out1, sizeof out0) != 0);
    linear_want(api, a, x, want);
    CU_ASSERT(emitted_close(out1, want, ROWS * OUT, 1e-5, "forward after a write through param_data"));

    api->destroy(a), api->destroy(b);
    emitted_unload(&e);
}

void suite_rt_gemm_weights(void)
{
    CU_pSuite s = CU_add_suite("rt_gemm_weights", NULL, NULL);
    CU_add_test(s, "dl_sgemm_w = dl_sgemm bits, vs naive", test_weights_match_sgemm);
    CU_add_test(s, "1 and 2 threads: same bits", test_weights_threads);
#ifndef DL_USE_CBLAS
    CU_add_test(s, "versions: cached, repacked, released", test_weights_versions);
#endif
    CU_add_test(s, "generated: optimizer step, exposed pointer", test_generated_versions);
}
