/* test_rt_pixel.c — the autoregressive sampler (runtime/sample_pixel.c) on
 * hand-written models of 3 x 4 images whose logits at a pixel are a function
 * of the pixel before it in raster order ("alternate": the level opposite to
 * the previous pixel's, the first pixel's previous taken as 0). Every forward
 * checks what it is given: at call t, pixels 0 .. t-1 are already drawn (the
 * alternating pattern) and pixels t .. are still 0 — raster order, one pixel
 * per forward. A model that peeks at the next pixel is refused, and so is a
 * model of another form; the same seed gives the same pixels. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlnrt.h"

enum { H = 3, W = 4, HW = H * W, BATCH = 2 };

static int K;              /* logits per pixel: 1 (Bernoulli) or levels */
static int peek;           /* 1: the logits at p follow pixel p + 1 (not causal) */
static int uniform;        /* 1: every logit 0 (a uniform draw) */
static int calls, order_ok;
static float last[BATCH * HW]; /* the images of the last forward */

static const char *const sym_names[] = {"N"};
static const dl_io_info img_in[] = {{.name = "image", .dtype = DL_F32, .rank = 3, .shape = {1, H, W}}};
static dl_io_info logits_out[] = {{.name = "output", .dtype = DL_F32, .rank = 3, .shape = {2, H, W}}};

static float pattern(int64_t p) { return p % 2 == 0 ? 1.0f : 0.0f; }

static void alt_forward(void *m, const void *const *in, void *const *out, int64_t n, const int64_t *syms)
{
    (void)m, (void)syms;
    const float *x = in[0];
    float *l = out[0];
    for (int64_t s = 0; s < n; s++)
        for (int64_t p = 0; p < HW; p++) {
            /* raster order: call t (0-based) sees exactly the first t pixels drawn */
            const float want = p < calls ? pattern(p) : 0.0f;
            if (!uniform && calls < HW && x[s * HW + p] != want) order_ok = 0;
            const int64_t q = peek ? p + 1 : p - 1;
            const float before = q >= 0 && q < HW ? x[s * HW + q] : 0.0f;
            const int level = before > 0.5f ? 0 : 1;
            for (int c = 0; c < K; c++) {
                float v = K == 1 ? (level ? 40.0f : -40.0f) : (c == level * (K - 1) ? 40.0f : 0.0f);
                l[(s * K + c) * HW + p] = uniform ? 0.0f : v;
            }
        }
    memcpy(last, x, sizeof last);
    calls++;
}

static void *alt_create(const int64_t *sym_max) { return (void *)sym_max; }
static void alt_destroy(void *m) { (void)m; }
static int alt_load(void *m, const char *path) { (void)m, (void)path; return 0; }

static dl_model_api alt_api = {
    .name = "alt", .abi_version = DL_ABI_VERSION, .n_syms = 1, .sym_names = sym_names, .n_inputs = 1,
    .n_outputs = 1, .inputs = img_in, .outputs = logits_out, .create_io = alt_create, .destroy = alt_destroy,
    .load = alt_load, .forward_io = alt_forward};

static char png[64];

static int sample(int k, uint64_t seed)
{
    K = k;
    logits_out[0].shape[0] = k;
    calls = 0, order_ok = 1;
    snprintf(png, sizeof png, "/tmp/dlnc_pixel_%d.png", (int)getpid());
    dl_grid_options o = {.checkpoint = "unused", .path = png, .count = BATCH, .seed = seed, .lo = 0, .hi = 1};
    return dl_sample_pixels(&alt_api, &o);
}

static void check_pattern(void)
{
    CU_ASSERT_EQUAL(calls, HW + 1); /* one forward per pixel, and the causality check */
    CU_ASSERT_TRUE(order_ok);
    int same = 1;
    for (int64_t i = 0; i < BATCH * HW; i++) same &= last[i] == pattern(i % HW);
    CU_ASSERT_TRUE(same);
    CU_ASSERT_EQUAL(access(png, R_OK), 0);
    remove(png);
}

static void test_categorical_raster_order(void)
{
    peek = uniform = 0;
    CU_ASSERT_EQUAL_FATAL(sample(4, 1), 0); /* levels 0 and 3: the values 0 and 1 */
    check_pattern();
}

static void test_bernoulli_raster_order(void)
{
    peek = uniform = 0;
    CU_ASSERT_EQUAL_FATAL(sample(1, 1), 0);
    check_pattern();
}

static void test_seeded(void)
{
    peek = 0, uniform = 1;
    float a[BATCH * HW], b[BATCH * HW];
    CU_ASSERT_EQUAL_FATAL(sample(4, 7), 0);
    memcpy(a, last, sizeof a);
    CU_ASSERT_EQUAL_FATAL(sample(4, 7), 0);
    memcpy(b, last, sizeof b);
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
    int levels_ok = 1;
    for (int i = 0; i < BATCH * HW; i++) {
        float k = a[i] * 3.0f;
        levels_ok &= fabsf(k - roundf(k)) < 1e-6f;
    }
    CU_ASSERT_TRUE(levels_ok); /* values k / 3 */
    CU_ASSERT_EQUAL_FATAL(sample(4, 8), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a, last, sizeof a), 0);
    remove(png);
}

static void test_not_causal_refused(void)
{
    peek = 1, uniform = 0;
    CU_ASSERT_EQUAL(sample(4, 1), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "model 'alt' is not autoregressive: its logits at pixel (row 0, column 0)"));
    CU_ASSERT_NOT_EQUAL(access(png, F_OK), 0); /* no picture */
    peek = 0;
}

static void test_wrong_form_refused(void)
{
    peek = uniform = 0;
    logits_out[0].shape[2] = W + 1; /* logits not of the image's size */
    K = 2;
    dl_grid_options o = {.checkpoint = "unused", .path = "/tmp/unused.png", .count = 1, .hi = 1};
    CU_ASSERT_EQUAL(dl_sample_pixels(&alt_api, &o), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "model 'alt' cannot sample autoregressively"));
    logits_out[0].shape[2] = W;
}

void suite_rt_pixel(void)
{
    CU_pSuite s = CU_add_suite("rt_pixel", NULL, NULL);
    CU_add_test(s, "K levels: raster order, one pixel per forward", test_categorical_raster_order);
    CU_add_test(s, "Bernoulli: raster order, one pixel per forward", test_bernoulli_raster_order);
    CU_add_test(s, "the same seed, the same pixels (values k / (K - 1))", test_seeded);
    CU_add_test(s, "a model that peeks at later pixels is refused", test_not_causal_refused);
    CU_add_test(s, "a model of another form is refused", test_wrong_form_refused);
}
