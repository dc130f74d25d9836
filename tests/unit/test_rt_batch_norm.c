/* test_rt_batch_norm.c — runtime/batch_norm.c against plain double loops.
 *
 * Shapes cover a batch of one, planes of one position (f32[N, C]), planes
 * shorter and longer than a vector with a tail, odd channel counts, and
 * sizes above the kernels' parallel threshold (with a batch larger than the
 * thread count). Inputs have a channel offset (mean ~ 3 per unit of channel
 * index, up to 45), so a variance from E[x^2] - E[x]^2 in float would fail the bound.
 * The backward kernels with a ReLU mask must give the bits they give
 * without one on gy * (mask > 0 ? 1 : 0) computed first, as the generated
 * ReLU backward computes it (pass_bnorm_mask relies on that); with a ReLU6
 * mask (mask_hi 6) on gy * ((mask > 0 ? 1 : 0) * (6 - mask > 0 ? 1 : 0)),
 * masks holding exactly 0 and 6 among others. The
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

/* The masked kernels against the unmasked ones on the masked gradient: the same bits. hi 0: a ReLU's mask,
 * as the generated ReLU backward computes it; hi 6: a ReLU6's, as its generated backward does (k940's
 * expression in MobileNetV2's training step), with mask values at exactly 0 and 6 and either side. */
static void check_mask(const float *x, const float *stats, const float *w, const float *gy, int64_t n, int64_t c,
                       int64_t p, float eps, uint64_t seed, float hi) {
    const int64_t total = n * c * p;
    uint64_t s = seed + 1000;
    float *mask = malloc(sizeof(float) * (size_t)total), *gm = malloc(sizeof(float) * (size_t)total);
    float *s1 = malloc(sizeof(float) * (size_t)(2 * c)), *s2 = malloc(sizeof(float) * (size_t)(2 * c));
    float *d1 = malloc(sizeof(float) * (size_t)total), *d2 = malloc(sizeof(float) * (size_t)total);
    for (int64_t e = 0; e < total; e++) {
        const double u = urand(&s);
        if (hi > 0) { /* ReLU6 outputs: 0, 6, just inside either end, inside; NaN and out of range too */
            static const float edge[] = {0.0f, 6.0f, 1e-30f, 5.9999995f, 6.0000005f, -1e-30f, NAN, INFINITY};
            mask[e] = u < 0.5 ? edge[(int)(u * 16)] : (float)(12 * u - 6);
            gm[e] = gy[e] * ((mask[e] > 0.0f ? 1.0f : 0.0f) * ((6.0f - mask[e]) > 0.0f ? 1.0f : 0.0f));
        } else {
            mask[e] = u < 0.4 ? 0.0f : u < 0.45 ? -1.0f : u < 0.47 ? NAN : (float)u; /* ReLU outputs, and what else a mask may hold */
            gm[e] = gy[e] * (mask[e] > 0.0f ? 1.0f : 0.0f);
        }
    }
    dl_batch_norm_sums(x, stats, gm, NULL, 0.0f, s1, n, c, p, eps);
    dl_batch_norm_dx(x, stats, w, gm, NULL, 0.0f, s1, d1, n, c, p, eps);
    dl_batch_norm_sums(x, stats, gy, mask, hi, s2, n, c, p, eps);
    dl_batch_norm_dx(x, stats, w, gy, mask, hi, s2, d2, n, c, p, eps);
    if (memcmp(s1, s2, sizeof(float) * (size_t)(2 * c)) || memcmp(d1, d2, sizeof(float) * (size_t)total)) {
        printf("\n  batch norm [%lld, %lld, %lld] (mask_hi %g): the masked kernels differ from mask-then-kernels",
               (long long)n, (long long)c, (long long)p, (double)hi);
        CU_FAIL("masked batch_norm_sums / batch_norm_dx differ");
    }
    free(mask), free(gm), free(s1), free(s2), free(d1), free(d2);
}

/* The ReLU6 mask at its ends, value by value: gy passes strictly between 0 and 6 only (nn.ReLU6's
 * gradient), so with one channel of these masks sum(gy) is the sum of the passing entries. */
static void test_relu6_mask_bounds(void) {
    static const float m[] = {0.0f, 6.0f,  1e-30f, 5.9999995f, 6.0000005f, -1e-30f,
                              3.0f, -0.0f, NAN,    INFINITY,   -INFINITY,  7.0f};
    enum { P = sizeof m / sizeof m[0] };
    static const int pass[P] = {0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0};
    float x[P], gy[P], stats[2] = {0, 1}, w[1] = {1}, sums[2], dx[P];
    for (int j = 0; j < P; j++) x[j] = 0, gy[j] = (float)(1 << j);
    dl_batch_norm_sums(x, stats, gy, m, 6.0f, sums, 1, 1, P, 0.0f);
    float want = 0;
    for (int j = 0; j < P; j++) want += pass[j] ? gy[j] : 0;
    CU_ASSERT_EQUAL(sums[0], want);
    sums[0] = 0, sums[1] = 0; /* dx is then w * rstd * the masked gy: 1 or 0 times gy */
    dl_batch_norm_dx(x, stats, w, gy, m, 6.0f, sums, dx, 1, 1, P, 0.0f);
    for (int j = 0; j < P; j++) CU_ASSERT_EQUAL(dx[j], pass[j] ? gy[j] : 0.0f);
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
    dl_batch_norm_sums(x, stats, gy, NULL, 0.0f, sums, n, c, p, eps);
    dl_batch_norm_dx(x, stats, w, gy, NULL, 0.0f, sums, dx, n, c, p, eps);
    check_mask(x, stats, w, gy, n, c, p, eps, seed, 0.0f);
    check_mask(x, stats, w, gy, n, c, p, eps, seed, 6.0f);
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
    dl_batch_norm_sums(x + 1, stats, x + 1, NULL, 0.0f, sums, 0, 2, 3, 1e-5f);
    dl_batch_norm_dx(x + 1, stats, w, x + 1, NULL, 0.0f, sums, dx, 0, 2, 3, 1e-5f);
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
            x[i] = (float)(40 + 2 * urand(&s)), gy[i] = (float)(2 * urand(&s) - 1),
            mask[i] = (float)(8 * urand(&s) - 1); /* for a ReLU's mask and a ReLU6's */
        for (int t = 0; t < 3; t++) { /* statistics, then the sums with a ReLU mask and with a ReLU6 mask */
            omp_set_num_threads(t + 1);
            out[t] = malloc(sizeof(float) * (size_t)(6 * c));
            dl_batch_stats(x, out[t], n, c, p);
            dl_batch_norm_sums(x, out[t], gy, mask, 0.0f, out[t] + 2 * c, n, c, p, 1e-5f);
            dl_batch_norm_sums(x, out[t], gy, mask, 6.0f, out[t] + 4 * c, n, c, p, 1e-5f);
        }
        const int same = !memcmp(out[0], out[1], sizeof(float) * (size_t)(6 * c)) &&
                         !memcmp(out[0], out[2], sizeof(float) * (size_t)(6 * c));
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
    CU_add_test(s, "the ReLU6 mask at exactly 0 and 6", test_relu6_mask_bounds);
    CU_add_test(s, "the same sums at 1, 2 and 3 threads", test_threads_same_bits);
}
