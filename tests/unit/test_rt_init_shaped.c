/* test_rt_init_shaped.c — the initializers drawn with the tensor's structure
 * (runtime/init_shaped.c, init_orthogonal.c, init_trunc_normal.c):
 * orthogonal against modified Gram–Schmidt on the same Gaussian draws (the QR
 * with a positive diagonal is unique, so both give the same Q), its
 * orthogonality, its independence of the thread count; trunc_normal's range
 * and its moments against the truncated normal's analytic ones; sparse's
 * zeros per column; dirac and eye against plain definitions. */
#include "dlnrt.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static void draw(float *w, int rank, const int64_t *shape, const dl_init *in, uint64_t seed)
{
    dl_rng r;
    dl_rng_seed(&r, seed);
    dl_init_shaped(w, rank, shape, in, &r);
}

/* Q of the QR of the m x n matrix (m >= n) made of the same draws as
 * init_orthogonal.c (column-major, in order), by modified Gram–Schmidt. */
static void gram_schmidt_ref(double *q, int64_t m, int64_t n, uint64_t seed)
{
    dl_rng r;
    dl_rng_seed(&r, seed);
    for (int64_t i = 0; i < m * n; i++) q[i] = dl_rng_normal(&r);
    for (int64_t j = 0; j < n; j++) {
        double *c = q + j * m;
        for (int64_t k = 0; k < j; k++) {
            double d = 0;
            for (int64_t i = 0; i < m; i++) d += q[k * m + i] * c[i];
            for (int64_t i = 0; i < m; i++) c[i] -= d * q[k * m + i];
        }
        double s = 0;
        for (int64_t i = 0; i < m; i++) s += c[i] * c[i];
        for (int64_t i = 0; i < m; i++) c[i] /= sqrt(s);
    }
}

static void test_orthogonal(void)
{
    /* [rows, cols...]: tall, wide, square, a row, a column, odd sizes, a conv weight (rows 8, cols 18); and sizes
     * past one panel of 32 reflectors with short last panels and column groups (70: 32 + 32 + 6; 97: 3 x 32 + 1) */
    static const int64_t shapes[][4] = {{7, 3},   {3, 7},   {16, 16}, {1, 5},  {5, 1},
                                        {33, 10}, {10, 33}, {8, 2, 3, 3}, {100, 70}, {70, 100}, {97, 97}};
    static const int ranks[] = {2, 2, 2, 2, 2, 2, 2, 4, 2, 2, 2};
    for (size_t s = 0; s < sizeof ranks / sizeof *ranks; s++) {
        int64_t rows = shapes[s][0], cols = 1;
        for (int k = 1; k < ranks[s]; k++) cols *= shapes[s][k];
        const double gain = s % 2 ? 1.0 : 1.5;
        dl_init in = {.kind = DL_INIT_ORTHOGONAL, .gain = (float)gain};
        float *w = malloc(sizeof *w * (size_t)(rows * cols));
        draw(w, ranks[s], shapes[s], &in, 11);
        /* gram: W Wᵀ (rows <= cols) or Wᵀ W, which must be gain² I */
        int64_t g = rows <= cols ? rows : cols, len = rows <= cols ? cols : rows;
        double worst = 0;
        for (int64_t a = 0; a < g; a++)
            for (int64_t b = 0; b < g; b++) {
                double d = 0;
                for (int64_t k = 0; k < len; k++)
                    d += rows <= cols ? (double)w[a * cols + k] * w[b * cols + k] : (double)w[k * cols + a] * w[k * cols + b];
                worst = fmax(worst, fabs(d / (gain * gain) - (a == b)));
            }
        CU_ASSERT(worst < 1e-6);
        /* the same matrix as Gram–Schmidt's Q (transposed for a wide weight), times gain */
        int64_t m = len, n = g;
        double *q = malloc(sizeof *q * (size_t)(m * n)), diff = 0;
        gram_schmidt_ref(q, m, n, 11);
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) {
                double ref = gain * (rows < cols ? q[i * m + j] : q[j * m + i]);
                diff = fmax(diff, fabs(w[i * cols + j] - ref));
            }
        CU_ASSERT(diff < 1e-5);
        free(q);
        free(w);
    }
}

static void test_orthogonal_threads_and_seeds(void)
{
    const int64_t shape[2] = {512, 250}; /* 8 panels, the updates shared out by columns: the same bits */
    const int64_t n = shape[0] * shape[1];
    dl_init in = {.kind = DL_INIT_ORTHOGONAL, .gain = 1.0f};
    float *a = malloc(sizeof *a * n), *b = malloc(sizeof *b * n);
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    draw(a, 2, shape, &in, 5);
    omp_set_num_threads(2);
    draw(b, 2, shape, &in, 5);
    omp_set_num_threads(saved);
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof *a * n), 0);
    draw(b, 2, shape, &in, 6);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof *a * n), 0);
    free(a);
    free(b);
}

static double phi(double x) { return exp(-0.5 * x * x) / sqrt(2.0 * 3.141592653589793); }
static double cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

static void test_trunc_normal(void)
{
    /* mean, std, a, b: torch's default, ViT's (std 0.02 inside ±2: nothing cut), asymmetric,
     * a window above the mean, one below it in the tail */
    static const double cases[][4] = {{0, 1, -2, 2}, {0, 0.02, -2, 2}, {1, 2, 0.5, 4}, {0, 1, 2, 3}, {0, 1, -3, -2.5}};
    const int64_t n = 400000;
    float *w = malloc(sizeof *w * n), *v = malloc(sizeof *v * n);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        double mu = cases[c][0], sd = cases[c][1], al = (cases[c][2] - mu) / sd, be = (cases[c][3] - mu) / sd;
        dl_init in = {.kind = DL_INIT_TRUNC_NORMAL, .a = (float)mu, .b = (float)sd, .lo = (float)cases[c][2],
                      .hi = (float)cases[c][3]};
        dl_rng r;
        dl_rng_seed(&r, 3 + c);
        dl_init_tensor(w, n, &in, &r);
        double z = cdf(be) - cdf(al), k = (phi(al) - phi(be)) / z;
        double mean = mu + sd * k, var = sd * sd * (1 + (al * phi(al) - be * phi(be)) / z - k * k);
        double s = 0, s2 = 0;
        int inside = 1;
        for (int64_t i = 0; i < n; i++) {
            inside &= w[i] >= in.lo && w[i] <= in.hi;
            s += w[i];
        }
        double m = s / n;
        for (int64_t i = 0; i < n; i++) s2 += (w[i] - m) * (w[i] - m);
        double std = sqrt(s2 / n), want = sqrt(var);
        CU_ASSERT(inside);
        CU_ASSERT(fabs(m - mean) < 5 * want / sqrt((double)n));
        CU_ASSERT(fabs(std - want) < 5 * want / sqrt(2.0 * n) + 1e-4 * want);
        /* the same seed gives the same values, another seed others */
        dl_rng_seed(&r, 3 + c);
        dl_init_tensor(v, n, &in, &r);
        CU_ASSERT_EQUAL(memcmp(w, v, sizeof *w * n), 0);
        dl_rng_seed(&r, 100 + c);
        dl_init_tensor(v, n, &in, &r);
        CU_ASSERT_NOT_EQUAL(memcmp(w, v, sizeof *w * n), 0);
    }
    free(w);
    free(v);
}

static void test_sparse(void)
{
    /* rows, cols, sparsity: torch zeroes ceil(sparsity * rows) rows of each column */
    static const double cases[][3] = {{200, 300, 0.25}, {7, 5, 0.1}, {9, 4, 0}, {6, 3, 1}, {1, 8, 0.5}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int64_t shape[2] = {(int64_t)cases[c][0], (int64_t)cases[c][1]}, rows = shape[0], cols = shape[1];
        int64_t want = (int64_t)ceil(cases[c][2] * rows);
        dl_init in = {.kind = DL_INIT_SPARSE, .a = (float)want, .b = 0.05f}; /* dlnc emits the count */
        float *w = malloc(sizeof *w * (size_t)(rows * cols));
        draw(w, 2, shape, &in, 9);
        int ok = 1;
        double s2 = 0;
        int64_t nonzero = 0;
        for (int64_t j = 0; j < cols; j++) {
            int64_t zeros = 0;
            for (int64_t i = 0; i < rows; i++) {
                float x = w[i * cols + j];
                zeros += x == 0.0f;
                s2 += (double)x * x;
                nonzero += x != 0.0f;
            }
            ok &= zeros == want;
        }
        CU_ASSERT(ok);
        if (nonzero > 10000) CU_ASSERT(fabs(sqrt(s2 / nonzero) - 0.05) < 0.05 * 0.03);
        free(w);
    }
}

static void test_dirac_eye(void)
{
    /* out, in / groups, kernel...; groups; rank */
    static const int64_t shapes[][5] = {{4, 2, 3, 3}, {6, 4, 5}, {3, 6, 3, 3}, {4, 1, 2, 2, 2}, {6, 2, 4, 4}, {6, 5, 1, 1}};
    static const int groups[] = {2, 1, 1, 4, 3, 2};
    static const int ranks[] = {4, 3, 4, 5, 4, 4};
    for (size_t s = 0; s < sizeof ranks / sizeof *ranks; s++) {
        const int64_t *sh = shapes[s];
        int64_t numel = 1, spatial = 1, centre = 0;
        for (int k = 0; k < ranks[s]; k++) numel *= sh[k];
        for (int k = 2; k < ranks[s]; k++) spatial *= sh[k], centre = centre * sh[k] + sh[k] / 2;
        dl_init in = {.kind = DL_INIT_DIRAC, .a = (float)groups[s]};
        float *w = malloc(sizeof *w * (size_t)numel);
        draw(w, ranks[s], sh, &in, 1);
        int64_t per = sh[0] / groups[s], bad = 0;
        for (int64_t o = 0; o < sh[0]; o++)
            for (int64_t i = 0; i < sh[1]; i++)
                for (int64_t p = 0; p < spatial; p++) {
                    int64_t d = o % per; /* torch: tensor[g * per + d, d, centre] = 1 for d < min(per, in) */
                    float ref = d == i && p == centre ? 1.0f : 0.0f;
                    bad += w[(o * sh[1] + i) * spatial + p] != ref;
                }
        CU_ASSERT_EQUAL(bad, 0);
        free(w);
    }
    static const int64_t eyes[][2] = {{3, 5}, {5, 3}, {4, 4}, {1, 1}};
    for (size_t s = 0; s < sizeof eyes / sizeof *eyes; s++) {
        float w[25];
        dl_init in = {.kind = DL_INIT_EYE};
        draw(w, 2, eyes[s], &in, 1);
        int64_t bad = 0;
        for (int64_t i = 0; i < eyes[s][0]; i++)
            for (int64_t j = 0; j < eyes[s][1]; j++) bad += w[i * eyes[s][1] + j] != (i == j ? 1.0f : 0.0f);
        CU_ASSERT_EQUAL(bad, 0);
    }
}

/* A shape the kind refuses (dlnc does at compile time): zeros and an error, no write outside. */
static void test_refused_shapes(void)
{
    float w[13];
    for (int i = 0; i < 13; i++) w[i] = 7.0f;
    const int64_t vec[1] = {12}, mat[2] = {3, 4}, conv[4] = {3, 2, 1, 2};
    dl_init orth = {.kind = DL_INIT_ORTHOGONAL, .gain = 1.0f}, dirac = {.kind = DL_INIT_DIRAC, .a = 1.0f};
    dl_init dirac2 = {.kind = DL_INIT_DIRAC, .a = 2.0f}, eye = {.kind = DL_INIT_EYE};
    struct { const dl_init *in; int rank; const int64_t *shape; } bad[] = {
        {&orth, 1, vec}, {&dirac, 2, mat}, {&dirac2, 4, conv}, {&eye, 1, vec}};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        dl_clear_error();
        draw(w, bad[k].rank, bad[k].shape, bad[k].in, 1);
        CU_ASSERT(dl_last_error()[0] != '\0');
        CU_ASSERT_EQUAL(w[0], 0.0f);
        CU_ASSERT_EQUAL(w[11], 0.0f);
        CU_ASSERT_EQUAL(w[12], 7.0f);
    }
    dl_rng r;
    dl_rng_seed(&r, 1);
    dl_clear_error();
    dl_init_tensor(w, 12, &orth, &r); /* no shape: refused */
    CU_ASSERT(strstr(dl_last_error(), "dl_init_shaped") != NULL);
    dl_clear_error();
}

void suite_rt_init_shaped(void)
{
    CU_pSuite s = CU_add_suite("rt_init_shaped", NULL, NULL);
    CU_add_test(s, "orthogonal: Q Qt = I, Gram-Schmidt's Q", test_orthogonal);
    CU_add_test(s, "orthogonal: 1 and 2 threads, seeds", test_orthogonal_threads_and_seeds);
    CU_add_test(s, "trunc_normal: range, analytic moments, seeds", test_trunc_normal);
    CU_add_test(s, "sparse: zeros per column, std", test_sparse);
    CU_add_test(s, "dirac and eye against torch's definition", test_dirac_eye);
    CU_add_test(s, "refused shapes leave zeros and an error", test_refused_shapes);
}
