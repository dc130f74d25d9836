/* test_rt_pca.c — principal components (runtime/pca.c): a set whose
 * components are known exactly (two axes of a rotated frame, variances 6 and
 * 2/3: shares 0.9 and 0.1), a noisy set against its generating directions,
 * the sign rule, the same bits on a second call, and the refusals. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <string.h>

#include "dlnrt.h"

/* An orthonormal frame: a rotation about z by 30 degrees, then about x by 50. */
static void frame(double u[3][3]) {
    const double a = 30 * M_PI / 180, b = 50 * M_PI / 180;
    const double rz[3][3] = {{cos(a), -sin(a), 0}, {sin(a), cos(a), 0}, {0, 0, 1}};
    const double rx[3][3] = {{1, 0, 0}, {0, cos(b), -sin(b)}, {0, sin(b), cos(b)}};
    for (int i = 0; i < 3; i++)          /* row i of u = column i of rx @ rz */
        for (int j = 0; j < 3; j++) {
            u[i][j] = 0;
            for (int k = 0; k < 3; k++) u[i][j] += rx[j][k] * rz[k][i];
        }
}

static double dot3(const double *a, const double *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

static void test_exact(void) {
    double u[3][3];
    frame(u);
    const double coef[4][2] = {{3, 0}, {-3, 0}, {0, 1}, {0, -1}};
    float x[4 * 3];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) x[i * 3 + j] = (float)(coef[i][0] * u[0][j] + coef[i][1] * u[1][j]);
    double proj[8], dirs[6], frac[2];
    CU_ASSERT_EQUAL_FATAL(dl_pca(x, 4, 3, 2, proj, dirs, frac), 0);
    CU_ASSERT_DOUBLE_EQUAL(frac[0], 0.9, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(frac[1], 0.1, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(fabs(dot3(dirs, u[0])), 1, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(fabs(dot3(dirs + 3, u[1])), 1, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dot3(dirs, dirs + 3), 0, 1e-9);
    const double s0 = dot3(dirs, u[0]) > 0 ? 1 : -1, s1 = dot3(dirs + 3, u[1]) > 0 ? 1 : -1;
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_DOUBLE_EQUAL(proj[i * 2], s0 * coef[i][0], 1e-5);
        CU_ASSERT_DOUBLE_EQUAL(proj[i * 2 + 1], s1 * coef[i][1], 1e-5);
    }
    for (int c = 0; c < 2; c++) {        /* the sign rule: each direction's largest component is positive */
        int big = 0;
        for (int j = 1; j < 3; j++)
            if (fabs(dirs[c * 3 + j]) > fabs(dirs[c * 3 + big])) big = j;
        CU_ASSERT(dirs[c * 3 + big] > 0);
    }
}

static void test_noisy(void) {
    enum { N = 500, D = 3 };
    static float x[N * D];
    double u[3][3];
    frame(u);
    uint64_t s = 12345;
    for (int i = 0; i < N; i++) {
        double c[3];
        for (int k = 0; k < 3; k++) {    /* uniform in [-1, 1], scaled 4, 2, 0.3 */
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            c[k] = ((double)(s >> 11) * 0x1.0p-53 * 2 - 1) * (k == 0 ? 4 : k == 1 ? 2 : 0.3);
        }
        for (int j = 0; j < D; j++) x[i * D + j] = (float)(5 + c[0] * u[0][j] + c[1] * u[1][j] + c[2] * u[2][j]);
    }
    double proj[N * 2], dirs[2 * D], frac[2], proj2[N * 2], dirs2[2 * D], frac2[2];
    CU_ASSERT_EQUAL_FATAL(dl_pca(x, N, D, 2, proj, dirs, frac), 0);
    CU_ASSERT(fabs(dot3(dirs, u[0])) > 0.995);
    CU_ASSERT(fabs(dot3(dirs + 3, u[1])) > 0.995);
    CU_ASSERT(frac[0] > 0.7 && frac[0] < 0.85);   /* 16 : 4 : 0.09 in expectation: 0.79, 0.20 */
    CU_ASSERT(frac[1] > 0.15 && frac[1] < 0.28);
    double mean = 0;                              /* the coordinates are of centred vectors */
    for (int i = 0; i < N; i++) mean += proj[i * 2];
    CU_ASSERT_DOUBLE_EQUAL(mean / N, 0, 1e-6);
    CU_ASSERT_EQUAL_FATAL(dl_pca(x, N, D, 2, proj2, dirs2, frac2), 0);
    CU_ASSERT_EQUAL(memcmp(proj, proj2, sizeof proj), 0);
    CU_ASSERT_EQUAL(memcmp(dirs, dirs2, sizeof dirs), 0);
}

static void test_refused(void) {
    float x[6] = {1, 2, 3, 4, 5, 6};
    double p[6], d[6];
    CU_ASSERT_EQUAL(dl_pca(x, 1, 3, 2, p, d, NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "at least 2 vectors"));
    CU_ASSERT_EQUAL(dl_pca(x, 2, 3, 4, p, d, NULL), -1);
    CU_ASSERT_EQUAL(dl_pca(x, 3, 2, 2, p, d, NULL), 0);   /* k = d is allowed */
}

void suite_rt_pca(void) {
    CU_pSuite s = CU_add_suite("rt_pca", NULL, NULL);
    CU_add_test(s, "two components known exactly", test_exact);
    CU_add_test(s, "a noisy set: its directions, shares, determinism", test_noisy);
    CU_add_test(s, "refused sizes", test_refused);
}
