/* test_rt_numerics.c — non-finite values in the runtime (numerics.c): the
 * scan finds the first NaN or infinity wherever it sits (inside or across
 * its blocks), the --check-numerics check names what it was given, and the
 * checkpoint writer refuses a tensor holding one, leaving the previous
 * checkpoint byte for byte (issue 18: NaN weights were saved). Also the
 * inline tanh and sigmoid the generated loops use (dl_tanhf, and dl_expf
 * under 1 / (1 + e^-x)) against double precision. */
#include "dlnrt.h"
#include "files.h"

#include <CUnit/CUnit.h>
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_find_nonfinite(void)
{
    enum { N = 10000 };
    float *x = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++) x[i] = (i % 2 ? -1.0f : 1.0f) * (float)i * 1e30f; /* up to 1e34: large, finite */
    x[7] = FLT_MAX;
    x[8] = -FLT_MAX;
    x[9] = FLT_MIN / 4;                                                            /* subnormal */
    CU_ASSERT_EQUAL(dl_find_nonfinite(x, N), -1);
    CU_ASSERT_EQUAL(dl_find_nonfinite(x, 0), -1);
    const int at[] = {0, 4095, 4096, 8191, 9999};
    const float bad[] = {NAN, INFINITY, -INFINITY, -NAN, NAN};
    for (int k = 0; k < 5; k++) {
        const float keep = x[at[k]];
        x[at[k]] = bad[k];
        CU_ASSERT_EQUAL(dl_find_nonfinite(x, N), at[k]);
        CU_ASSERT_EQUAL(dl_find_nonfinite(x, at[k]), -1); /* just before it */
        x[at[k]] = keep;
    }
    x[5000] = INFINITY;
    x[6000] = NAN;
    CU_ASSERT_EQUAL(dl_find_nonfinite(x, N), 5000);     /* the first one */
    free(x);
    CU_ASSERT_STRING_EQUAL(dl_nonfinite_name(NAN), "nan");
    CU_ASSERT_STRING_EQUAL(dl_nonfinite_name(-NAN), "nan");
    CU_ASSERT_STRING_EQUAL(dl_nonfinite_name(-INFINITY), "-inf");
}

static void test_check_finite(void)
{
    float y[3] = {1, 2, 3};
    dl_set_error("untouched");
    CU_ASSERT_EQUAL(dl_check_finite(y, 3, "the output of log", "train_step, step", 7), 0);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), "untouched");
    y[2] = -INFINITY;
    CU_ASSERT_EQUAL(dl_check_finite(y, 3, "the output of log at t.dln:3:9 (kernel k7_log)", "train_step, step", 7), -1);
    CU_ASSERT_STRING_EQUAL(dl_last_error(),
                           "non-finite value (-inf) in the output of log at t.dln:3:9 (kernel k7_log) during train_step, step 7");
    dl_clear_error();
    CU_ASSERT_STRING_EQUAL(dl_last_error(), "");
}

/* Entries of dir other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

static void test_save_refuses_nonfinite(void)
{
    char dir[] = "/tmp/dlnrt_numerics_XXXXXX", path[64];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/c.safetensors", dir);
    float w[6] = {1, 2, 3, 4, 5, 6}, b[2] = {0.5f, -0.5f};
    dl_named_tensor t[2] = {{"fc.weight", 2, {2, 3}, w}, {"fc.bias", 1, {2}, b}};
    CU_ASSERT_EQUAL_FATAL(dl_save_safetensors(path, t, 2), 0);
    size_t len0 = 0, len1 = 0;
    unsigned char *before = test_read_file(path, &len0);

    w[4] = NAN;
    CU_ASSERT_EQUAL(dl_save_safetensors(path, t, 2), -1);
    char want[256];
    snprintf(want, sizeof want, "%s: not saved: tensor 'fc.weight' holds a non-finite value (nan at element 4 of 6)",
             path);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), want);
    w[4] = 5;
    b[1] = INFINITY;
    CU_ASSERT_EQUAL(dl_save_safetensors(path, t, 2), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "tensor 'fc.bias' holds a non-finite value (inf at element 1 of 2)"));

    /* the previous checkpoint is intact, byte for byte, and no temporary is left */
    unsigned char *after = test_read_file(path, &len1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(after);
    CU_ASSERT(len0 > 0 && len0 == len1 && memcmp(before, after, (size_t)len0) == 0);
    CU_ASSERT_EQUAL(count_entries(dir), 1);
    free(before);
    free(after);
    remove(path);
    rmdir(dir);
}

/* dl_tanhf and the sigmoid template over [-20, 20] (a fine grid that crosses
 * the 0.55 switch-over, plus tiny and huge arguments) within 3e-7 relative
 * of double precision; NaN, signed zeros and infinities. */
static void test_inline_tanh_sigmoid(void)
{
    double worst_t = 0, worst_s = 0;
    for (int i = -400000; i <= 400000; i++) {
        const float x = (float)i * 5e-5f;
        const double t = tanh((double)x), sg = 1.0 / (1.0 + exp(-(double)x));
        if (t != 0) worst_t = fmax(worst_t, fabs(dl_tanhf(x) - t) / fabs(t));
        worst_s = fmax(worst_s, fabs(1.0f / (1.0f + dl_expf(-x)) - sg) / sg);
    }
    static const float extra[] = {1e-30f, -1e-30f, 1e-6f, 0.5499999f, 0.55f, -0.55f, 9.0f, -9.0f, 50.0f, -87.0f, 1e30f};
    for (size_t k = 0; k < sizeof extra / sizeof *extra; k++)
        worst_t = fmax(worst_t, fabs(dl_tanhf(extra[k]) - tanh((double)extra[k])) / fabs(tanh((double)extra[k])));
    CU_ASSERT(worst_t < 3e-7);
    CU_ASSERT(worst_s < 3e-7);
    CU_ASSERT(isnan(dl_tanhf(NAN)));
    CU_ASSERT(dl_tanhf(0.0f) == 0.0f && !signbit(dl_tanhf(0.0f)) && signbit(dl_tanhf(-0.0f)));
    CU_ASSERT(dl_tanhf(INFINITY) == 1.0f && dl_tanhf(-INFINITY) == -1.0f);
    CU_ASSERT(1.0f / (1.0f + dl_expf(-INFINITY)) == 1.0f && 1.0f / (1.0f + dl_expf(INFINITY)) == 0.0f); /* sigmoid(+-inf) */
}

void suite_rt_numerics(void)
{
    CU_pSuite s = CU_add_suite("rt_numerics", NULL, NULL);
    CU_add_test(s, "the first NaN or infinity, in and across blocks", test_find_nonfinite);
    CU_add_test(s, "dl_check_finite names the value and where", test_check_finite);
    CU_add_test(s, "checkpoints refuse NaN and inf, keep the old file", test_save_refuses_nonfinite);
    CU_add_test(s, "dl_tanhf and the sigmoid against double precision", test_inline_tanh_sigmoid);
}
