/* test_rt_batch_norm.c — runtime/batch_norm.c against plain double loops.
 *
 * Shapes cover a batch of one, planes of one position (f32[N, C]), planes
 * shorter and longer than a vector with a tail, odd channel counts, and
 * sizes above the kernels' parallel threshold (with a batch larger than the
 * thread count). Inputs have a channel offset (mean ~ 3 per unit of channel
 * index, up to 45), so a variance from E[x^2] - E[x]^2 in float would fail the bound.
 * The backward kernels with a ReLU mask must give the bits they give
 * without one on gy * (mask > 0 ? 1 : 0) computed first, as the generated
 * ReLU backward computes it (pass_bnorm_mask relies on that). The
 * statistics and sums must not depend on the thread count. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"

typedef struct bn_ref {
    double *mean, *var, *y, *sg, *sgx, *dx;
} bn_ref;

static double urand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0;
}

#define AT(i, ch, j) (((i) * c + (ch)) * p + (j))

/* The definitions, in double: statistics, output, the two sums, dx through the statistics. */
static void reference(const float *x, const float *w, const float *b, const float *gy, int64_t n, int64_t c, int64_t p,
                      double eps, bn_ref *r) {
    const double m = (double)(n * p);
    for (int64_t ch = 0; ch < c; ch++) {
        double s = 0, q = 0, sg = 0, sgx = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < p; j++) s += x[AT(i, ch, j)];
        const double mean = s / m;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < p; j++) q += (x[AT(i, ch, j)] - mean) * (x[AT(i, ch, j)] - mean);
        const double var = q / m, rstd = 1 / sqrt(var + eps);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < p; j++) {
                const int64_t e = AT(i, ch, j);
                r->y[e] = (x[e] - mean) * rstd * w[ch] + b[ch];
                sg += gy[e], sgx += gy[e] * (x[e] - mean) * rstd;
            }
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < p; j++) {
                const int64_t e = AT(i, ch, j);
                r->dx[e] = w[ch] * rstd * (gy[e] - sg / m - (x[e] - mean) * rstd * sgx / m);
            }
        r->mean[ch] = mean, r->var[ch] = var, r->sg[ch] = sg, r->sgx[ch] = sgx;
    }
}

/* Largest |got - want| / (1 + |want|) over k values. */
static double worst(const float *got, const double *want, int64_t k) {
    double e = 0;
    for (int64_t i = 0; i < k; i++) e = fmax(e, fabs((double)got[i] - want[i]) / (1 + fabs(want[i])));
    return e;
}

/* The masked kernels against the unmasked ones on the masked gradient: the same bits. */
static void check_mask(const float *x, const float *stats, const float *w, const float *gy, int64_t n, int64_t c,
                       int64_t p, float eps, uint64_t seed) {
    const int64_t total = n * c * p;
    uint64_t s = seed + 1000;
    float *mask = malloc(sizeof(float) * (size_t)total), *gm = malloc(sizeof(float) * (size_t)total);
    float *s1 = malloc(sizeof(float) * (size_t)(2 * c)), *s2 = malloc(sizeof(float) * (size_t)(2 * c));
    float *d1 = malloc(sizeof(float) * (size_t)total), *d2 = malloc(sizeof(float) * (size_t)total);
    for (int64_t e = 0; e < total; e++) {
        const double u = urand(&s);
        mask[e] = u < 0.4 ? 0.0f : u < 0.45 ? -1.0f : u < 0.47 ? NAN : (float)u; /* ReLU outputs, and what else a mask may hold */
        gm[e] = gy[e] * (mask[e] > 0.0f ? 1.0f : 0.0f);
    }
    dl_batch_norm_sums(x, stats, gm, NULL, s1, n, c, p, eps);
    dl_batch_norm_dx(x, stats, w, gm, NULL, s1, d1, n, c, p, eps);
    dl_batch_norm_sums(x, stats, gy, mask, s2, n, c, p, eps);
    dl_batch_norm_dx(x, stats, w, gy, mask, s2, d2, n, c, p, eps);
    if (memcmp(s1, s2, sizeof(float) * (size_t)(2 * c)) || memcmp(d1, d2, sizeof(float) * (size_t)total)) {
        printf("\n  batch norm [%lld, %lld, %lld]: the masked kernels differ from mask-then-kernels", (long long)n,
               (long long)c, (long long)p);
        CU_FAIL("masked batch_norm_sums / batch_norm_dx differ");
    }
    free(mask), free(gm), free(s1), free(s2), free(d1), free(d2);
}

static void check_shape(int64_t n, int64_t c, int64_t p, uint64_t seed) {
    const int64_t total = n * c * p;
    const float eps = 1e-5f;
    uint64_t s = seed;
    float *x = malloc(sizeof(float) * (size_t)total), *gy = malloc(sizeof(float) * (size_t)total);
    float *w = malloc(sizeof(float) * (size_t)c), *b = malloc(sizeof(float) * (size_t)c);
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t j = 0; j < p; j++)
                x[AT(i, ch, j)] = (float)(3.0 * (double)(ch % 16) + 2 * urand(&s) - 1), gy[AT(i, ch, j)] = (float)(2 * urand(&s) - 1);
    for (int64_t ch = 0; ch < c; ch++) w[ch] = (float)(0.5 + urand(&s)), b[ch] = (float)(urand(&s) - 0.5);
    bn_ref r = {malloc(sizeof(double) * (size_t)c), malloc(sizeof(double) * (size_t)c),
                malloc(sizeof(double) * (size_t)total), malloc(sizeof(double) * (size_t)c),
                malloc(sizeof(double) * (size_t)c), malloc(sizeof(double) * (size_t)total)};
    reference(x, w, b, gy, n, c, p, eps, &r);
    float *stats = malloc(sizeof(float) * (size_t)(2 * c)), *sums = malloc(sizeof(float) * (size_t)(2 * c));
    float *y = malloc(sizeof(float) * (size_t)total), *dx = malloc(sizeof(float) * (size_t)total);
    dl_batch_stats(x, stats, n, c, p);
    dl_batch_norm(x, stats, w, b, y, n, c, p, eps);
    dl_batch_norm_sums(x, stats, gy, NULL, sums, n, c, p, eps);
    dl_batch_norm_dx(x, stats, w, gy, NULL, sums, dx, n, c, p, eps);
    check_mask(x, stats, w, gy, n, c, p, eps, seed);
    /* the sums scale with M; compare them per element */
    double *sg = malloc(sizeof(double) * (size_t)c), *sgx = malloc(sizeof(double) * (size_t)c);
    float *gsg = malloc(sizeof(float) * (size_t)c), *gsgx = malloc(sizeof(float) * (size_t)c);
    for (int64_t ch = 0; ch < c; ch++) {
        sg[ch] = r.sg[ch] / (double)(n * p), sgx[ch] = r.sgx[ch] / (double)(n * p);
        gsg[ch] = sums[ch] / (float)(n * p), gsgx[ch] = sums[c + ch] / (float)(n * p);
    }
    const double e[6] = {worst(stats, r.mean, c), worst(stats + c, r.var, c), worst(y, r.y, total),
                         worst(gsg, sg, c), worst(gsgx, sgx, c), worst(dx, r.dx, total)};
    static const char *what[6] = {"mean", "variance", "output", "sum gy", "sum gy * xhat", "dx"};
    for (int k = 0; k < 6; k++)
        if (!(e[k] < 2e-5)) {
            printf("\n  batch norm [%lld, %lld, %lld]: %s off by %.3g", (long long)n, (long long)c, (long long)p, what[k],
                   e[k]);
            CU_FAIL("batch norm kernel differs from the reference");
        }
    free(x), free(gy), free(w), free(b), free(stats), free(sums), free(y), free(dx), free(sg), free(sgx), free(gsg),
        free(gsgx);
    free(r.mean), free(r.var), free(r.y), free(r.sg), free(r.sgx), free(r.dx);
}

static void test_shapes(void) {
    static const int64_t shapes[][3] = {
        {1, 1, 1},  {1, 3, 5},  {2, 1, 1},   {7, 5, 1},   {1, 4, 16},  {3, 2, 17},
        {5, 6, 99}, {64, 8, 72}, {33, 7, 130}, {67, 40, 1}, {2, 3, 1024}, {3, 130, 5}, {9, 200, 1}, {64, 16, 1024}, {2, 3, 33},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        check_shape(shapes[i][0], shapes[i][1], shapes[i][2], 77 + i);
}

/* A batch of none: NaN statistics (the mean of nothing), no read of x, nothing written by the others. */
static void test_empty_batch(void) {
    float x[1] = {0}, stats[4] = {0}, sums[4] = {0}, w[2] = {1, 1}, b[2] = {0, 0}, y[1] = {7}, dx[1] = {7};
    dl_batch_stats(x + 1, stats, 0, 2, 3);
    CU_ASSERT(isnan(stats[0]) && isnan(stats[1]) && isnan(stats[2]) && isnan(stats[3]));
    dl_batch_norm(x + 1, stats, w, b, y, 0, 2, 3, 1e-5f);
    dl_batch_norm_sums(x + 1, stats, x + 1, NULL, sums, 0, 2, 3, 1e-5f);
    dl_batch_norm_dx(x + 1, stats, w, x + 1, NULL, sums, dx, 0, 2, 3, 1e-5f);
    CU_ASSERT(y[0] == 7 && dx[0] == 7 && sums[0] == 0 && sums[1] == 0);
}

/* The statistics and the gradient's sums: the same bits at 1, 2 and 3
 * threads (each channel's planes are added in image order, whoever sums
 * them: by channel blocks at 1 thread, by images at more, batch_norm.c's
 * image_sums; 3 threads split 64 and 65 images unevenly). */
static void test_threads_same_bits(void) {
    static const int64_t shapes[][3] = {{64, 130, 16}, {65, 70, 64}, {64, 16, 1024}, {33, 7, 130}, {67, 40, 1}};
    const int saved = omp_get_max_threads();
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const int64_t n = shapes[k][0], c = shapes[k][1], p = shapes[k][2], total = n * c * p;
        uint64_t s = 91 + k;
        float *x = malloc(sizeof(float) * (size_t)total), *gy = malloc(sizeof(float) * (size_t)total);
        float *mask = malloc(sizeof(float) * (size_t)total), *out[3];
        for (int64_t i = 0; i < total; i++)
            x[i] = (float)(40 + 2 * urand(&s)), gy[i] = (float)(2 * urand(&s) - 1), mask[i] = (float)(urand(&s) - 0.5);
        for (int t = 0; t < 3; t++) {
            omp_set_num_threads(t + 1);
            out[t] = malloc(sizeof(float) * (size_t)(4 * c));
            dl_batch_stats(x, out[t], n, c, p);
            dl_batch_norm_sums(x, out[t], gy, mask, out[t] + 2 * c, n, c, p, 1e-5f);
        }
        const int same = !memcmp(out[0], out[1], sizeof(float) * (size_t)(4 * c)) &&
                         !memcmp(out[0], out[2], sizeof(float) * (size_t)(4 * c));
        CU_ASSERT(same);
        if (!same) {
            printf("\n  batch norm [%lld, %lld, %lld]: 1, 2 and 3 threads differ", (long long)n, (long long)c, (long long)p);
        }
        free(x), free(gy), free(mask), free(out[0]), free(out[1]), free(out[2]);
    }
    omp_set_num_threads(saved);
}

void suite_rt_batch_norm(void) {
    CU_pSuite s = CU_add_suite("rt_batch_norm", NULL, NULL);
    CU_add_test(s, "statistics, output, sums and dx against double loops", test_shapes);
    CU_add_test(s, "an empty batch", test_empty_batch);
    CU_add_test(s, "the same sums at 1, 2 and 3 threads", test_threads_same_bits);
}
