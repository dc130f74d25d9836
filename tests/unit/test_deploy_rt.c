/* test_deploy_rt.c — the portable runtime pieces `dlnc export` writes into
 * an inference file (compiler/deploy_rt/) against libdlnrt's own kernels.
 *
 * The pieces are C text, included here under other names (they define
 * dl_sgemm, dl_conv2d, ... as in the runtime, whose header this file also
 * includes; their dl_conv2d_geom is the header's, cut from it by deploy.c). The e2e test compares whole exported models; this one
 * reaches the geometries those models do not: transposed GEMM operands with
 * alpha and beta, grouped, strided, dilated and asymmetrically padded
 * convolutions (the epilogue called once per image), pools with padding,
 * dilation, count_include_pad and adaptive windows, layer norm, attention
 * with heads, causal queries, a broadcast mask with -inf entries (a row all
 * masked) and T != S. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"

#define dl_sgemm port_sgemm
#define dl_conv2d_ep port_conv2d_ep
#define dl_conv2d port_conv2d
#define dl_max_pool2d port_max_pool2d
#define dl_avg_pool2d port_avg_pool2d
#define dl_adaptive_avg_pool2d port_adaptive_avg_pool2d
#define dl_layer_norm port_layer_norm
#define dl_attention port_attention
#include "../../compiler/deploy_rt/dl_sgemm.c"
#include "../../compiler/deploy_rt/dl_conv2d_ep.c"
#include "../../compiler/deploy_rt/dl_conv2d.c"
#include "../../compiler/deploy_rt/deploy_pool.c"
#include "../../compiler/deploy_rt/dl_max_pool2d.c"
#include "../../compiler/deploy_rt/dl_avg_pool2d.c"
#include "../../compiler/deploy_rt/dl_adaptive_avg_pool2d.c"
#include "../../compiler/deploy_rt/dl_layer_norm.c"
#include "../../compiler/deploy_rt/dl_attention.c"
#undef dl_sgemm
#undef dl_conv2d_ep
#undef dl_conv2d
#undef dl_max_pool2d
#undef dl_avg_pool2d
#undef dl_adaptive_avg_pool2d
#undef dl_layer_norm
#undef dl_attention

static float *rnd(int64_t n, unsigned seed)
{
    float *v = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    return v;
}

/* max |a - b| / (1 + |b|), NaN counting as infinite */
static double rel_err(const float *a, const float *b, int64_t n)
{
    double e = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i]));
        if (!(d <= e)) e = isnan(d) ? INFINITY : d;
    }
    return e;
}

static void test_sgemm(void)
{
    const int64_t M = 13, N = 7, K = 29;
    for (int t = 0; t < 4; t++) {
        const int ta = t & 1, tb = t >> 1;
        const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
        float *A = rnd((ta ? K : M) * lda, 1), *B = rnd((tb ? N : K) * ldb, 2);
        float *C = rnd(M * ldc, 3), *D = malloc(sizeof(float) * (size_t)(M * ldc));
        memcpy(D, C, sizeof(float) * (size_t)(M * ldc));
        dl_sgemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.25f, C, ldc);
        port_sgemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.25f, D, ldc);
        CU_ASSERT(rel_err(D, C, M * ldc) < 1e-5);
        /* beta = 0 never reads C: NaN there must not survive */
        for (int64_t i = 0; i < M * ldc; i++) D[i] = NAN;
        dl_sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
        port_sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, D, ldc);
        for (int64_t i = 0; i < M; i++) CU_ASSERT(rel_err(D + i * ldc, C + i * ldc, N) < 1e-5);
        free(A), free(B), free(C), free(D);
    }
}

typedef struct geo { int64_t n, c, oc, h, w, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw, groups; } geo;

static int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1, int64_t d)
{
    return (in + p0 + p1 - d * (k - 1) - 1) / s + 1;
}

static void to_geom(const geo *t, dl_conv2d_geom *g)
{
    *g = (dl_conv2d_geom){.n = t->n, .c = t->c, .h = t->h, .w = t->w, .oc = t->oc, .kh = t->kh, .kw = t->kw,
                          .sh = t->sh, .sw = t->sw, .pt = t->pt, .pb = t->pb, .pl = t->pl, .pr = t->pr,
                          .dh = t->dh, .dw = t->dw, .groups = t->groups};
    g->oh = out_size(g->h, g->kh, g->sh, g->pt, g->pb, g->dh);
    g->ow = out_size(g->w, g->kw, g->sw, g->pl, g->pr, g->dw);
}

static void count_image(void *ctx, int64_t image, float *y) { (void)y, ((int *)ctx)[image]++; }

static void test_conv(void)
{
    const geo cases[] = {
        {2, 3, 5, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
        {3, 4, 6, 10, 7, 3, 2, 2, 3, 0, 2, 1, 0, 1, 1, 2},  /* strides, asymmetric padding, groups */
        {1, 6, 6, 12, 12, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 6}, /* depthwise, dilated */
        {2, 8, 4, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},   /* 1x1 */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        dl_conv2d_geom g;
        to_geom(&cases[k], &g);
        const int64_t nx = g.n * g.c * g.h * g.w, nw = g.oc * (g.c / g.groups) * g.kh * g.kw;
        const int64_t ny = g.n * g.oc * g.oh * g.ow;
        float *x = rnd(nx, 5 + (unsigned)k), *w = rnd(nw, 7), *y = malloc(sizeof(float) * ny), *z = malloc(sizeof(float) * ny);
        int calls[4] = {0};
        CU_ASSERT(dl_conv2d(&g, x, w, y) == 0);
        CU_ASSERT(port_conv2d_ep(&g, x, w, z, count_image, calls) == 0);
        CU_ASSERT(rel_err(z, y, ny) < 1e-5);
        for (int64_t i = 0; i < g.n; i++) CU_ASSERT(calls[i] == 1);
        CU_ASSERT(port_conv2d(&g, x, w, z) == 0);
        CU_ASSERT(rel_err(z, y, ny) < 1e-5);
        free(x), free(w), free(y), free(z);
    }
}

static void test_pools(void)
{
    const geo cases[] = {
        {2, 3, 3, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1},
        {1, 2, 2, 9, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}, /* padded */
        {2, 2, 2, 10, 9, 3, 2, 1, 2, 1, 0, 0, 1, 2, 1, 1}, /* dilated (max only) */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        for (int incl = 0; incl < 2; incl++) {
            dl_conv2d_geom g;
            to_geom(&cases[k], &g);
            g.count_include_pad = incl;
            const int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.c * g.oh * g.ow;
            float *x = rnd(nx, 11 + (unsigned)k), *y = malloc(sizeof(float) * ny), *z = malloc(sizeof(float) * ny);
            int32_t *iy = malloc(sizeof(int32_t) * ny), *iz = malloc(sizeof(int32_t) * ny);
            dl_max_pool2d(&g, x, y, iy);
            port_max_pool2d(&g, x, z, iz);
            CU_ASSERT(rel_err(z, y, ny) == 0);
            CU_ASSERT(memcmp(iy, iz, sizeof(int32_t) * ny) == 0);
            if (g.dh == 1 && g.dw == 1) { /* average pools have no dilation */
                dl_avg_pool2d(&g, x, y);
                port_avg_pool2d(&g, x, z);
                CU_ASSERT(rel_err(z, y, ny) < 1e-6);
            }
            free(x), free(y), free(z), free(iy), free(iz);
        }
    /* adaptive: 7x10 to 3x4 (overlapping windows) */
    dl_conv2d_geom g = {.n = 2, .c = 3, .h = 7, .w = 10, .oc = 3, .oh = 3, .ow = 4, .kh = 1, .kw = 1, .sh = 1, .sw = 1,
                        .dh = 1, .dw = 1, .groups = 1};
    float *x = rnd(2 * 3 * 70, 13), y[72], z[72];
    dl_adaptive_avg_pool2d(&g, x, y);
    port_adaptive_avg_pool2d(&g, x, z);
    CU_ASSERT(rel_err(z, y, 72) < 1e-6);
    free(x);
}

/* The runtime's layer norm against the portable one, on a small case (one
 * row, no team entered: layer_norm.c's ln_par), GPT's 768 features and one
 * big enough to split over the threads; 1 and 2 threads the same bits. */
static void test_layer_norm(void)
{
    static const int64_t cases[][2] = {{5, 37}, {1, 768}, {64, 1024}}; /* rows, features */
    const int saved = omp_get_max_threads();
    for (int k = 0; k < 3; k++) {
        const int64_t rows = cases[k][0], f = cases[k][1], n = rows * f;
        float *x = rnd(n, 17), *w = rnd(f, 19), *b = rnd(f, 23), *z = rnd(n, 1), *y[2] = {rnd(n, 2), rnd(n, 3)};
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(t + 1);
            dl_layer_norm(x, w, b, y[t], rows, f, 1e-5f);
        }
        omp_set_num_threads(saved);
        port_layer_norm(x, w, b, z, rows, f, 1e-5f);
        CU_ASSERT(rel_err(z, y[0], n) < 1e-5);
        CU_ASSERT(memcmp(y[0], y[1], sizeof(float) * (size_t)n) == 0);
        free(x), free(w), free(b), free(z), free(y[0]), free(y[1]);
    }
}

static void test_attention(void)
{
    /* batch dims [2, 3], T 5, S 7 (or 7 x 7 when causal), E 12, Ev 8; a mask [3, heads, 1, S] broadcast over the
     * first batch dim and the queries, with -inf on some keys, and every key of one (batch, head) masked */
    for (int k = 0; k < 4; k++) {
        const int causal = k & 1, masked = k >> 1;
        const int64_t heads = k == 0 ? 1 : 4, B = 6, T = causal ? 7 : 5, S = 7, E = 12, Ev = 8;
        float *q = rnd(B * T * E, 29), *kk = rnd(B * S * E, 31), *v = rnd(B * S * Ev, 37), *mask = rnd(3 * heads * S, 41);
        float *y = malloc(sizeof(float) * B * T * Ev), *z = malloc(sizeof(float) * B * T * Ev);
        for (int64_t i = 0; i < 3 * heads * S; i++) mask[i] = i % 5 == 2 || i < S ? -INFINITY : mask[i];
        dl_attention_geom g = {.batch = B, .t = T, .s = S, .e = E, .ev = Ev, .heads = heads, .causal = causal,
                               .scale = 0.3f};
        if (masked) {
            g.nb = 2, g.bdim[0] = 2, g.bdim[1] = 3, g.mb[0] = 0, g.mb[1] = heads * S;
            g.mh = S, g.mt = 0, g.ms = 1;
        }
        CU_ASSERT(dl_attention(&g, q, kk, v, masked ? mask : NULL, y) == 0);
        for (int64_t i = 0; i < B * T * Ev; i++) z[i] = NAN; /* every output written */
        CU_ASSERT(port_attention(&g, q, kk, v, masked ? mask : NULL, z) == 0);
        CU_ASSERT(rel_err(z, y, B * T * Ev) < 1e-5);
        free(q), free(kk), free(v), free(mask), free(y), free(z);
    }
}

void suite_deploy_rt(void)
{
    CU_pSuite s = CU_add_suite("deploy_rt", NULL, NULL);
    CU_add_test(s, "GEMM, four transpositions, alpha and beta", test_sgemm);
    CU_add_test(s, "convolution: groups, strides, padding, dilation, epilogue per image", test_conv);
    CU_add_test(s, "max and average pooling, adaptive pooling", test_pools);
    CU_add_test(s, "layer norm: vs the portable one, 1 and 2 threads the same bits", test_layer_norm);
    CU_add_test(s, "attention: heads, causal, a broadcast mask with masked rows", test_attention);
}
