/* test_rt_ddpm.c — the DDPM reverse process (runtime/sample_ddpm.c) on
 * models written here as a dl_model_api, where the answer is known:
 *   - data that is one point c: the noise predictor that is exact for it,
 *     eps(x, t) = (x - sqrt(abar_t) c) / sqrt(1 - abar_t), makes every
 *     DDPM step the posterior mean given x_0 = c plus noise, and the last
 *     step (z = 0, abar_prev = 1) lands on c exactly, whatever x_T and z; DDIM
 *     predicts x_0 = c at every step, so it returns c too;
 *   - a predictor of zero noise: x_0 = x_T / prod sqrt(alpha_k) +
 *     sum_{k>=1} sqrt(beta_k) z_k / prod_{j<k} sqrt(alpha_j), a Gaussian of
 *     variance 1 / prod_k alpha_k + sum_{k>=1} beta_k / prod_{j<k} alpha_j;
 *     its sample variance over 64k pixels must match; DDIM's steps then
 *     telescope to x_T / sqrt(abar_{T-1});
 *   - the same seed gives the same bits, another seed others; wrong forms and
 *     schedules are refused. */
#include "dlnrt.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { C = 1, H = 4, W = 4, PER = C * H * W };

typedef struct fake {
    int exact;        /* 1: the exact predictor for the point c; 0: zero noise */
    double c;
    double abar[64];
} fake;

static fake the_fake;

static void *fake_create(const int64_t *sym_max) { return sym_max[0] > 0 ? &the_fake : NULL; }
static void fake_destroy(void *m) { (void)m; }

static void fake_forward(void *m, const void *const *in, void *const *out, int64_t n, const int64_t *syms) {
    (void)syms;
    const fake *f = m;
    const float *x = in[0];
    const int32_t *t = in[1];
    float *eps = out[0];
    for (int64_t s = 0; s < n; s++)
        for (int j = 0; j < PER; j++) {
            const double a = f->abar[t[s]];
            eps[s * PER + j] = f->exact ? (float)((x[s * PER + j] - sqrt(a) * f->c) / sqrt(1 - a)) : 0.0f;
        }
}

static const dl_io_info fake_inputs[2] = {{"x", "x", DL_F32, 3, {C, H, W}}, {"t", "t", DL_I32, 0, {0}}};
static const dl_io_info fake_outputs[1] = {{"output", "output", DL_F32, 3, {C, H, W}}};

static dl_model_api fake_api(void) {
    dl_model_api a;
    memset(&a, 0, sizeof a);
    a.name = "fake_eps";
    a.abi_version = DL_ABI_VERSION;
    a.n_syms = 1;
    a.n_inputs = 2, a.n_outputs = 1;
    a.inputs = fake_inputs, a.outputs = fake_outputs;
    a.create_io = fake_create, a.destroy = fake_destroy, a.forward_io = fake_forward;
    return a;
}

/* ddpm_schedule's values, as the sampler computes them (the test's own copy). */
static void fill_schedule(const dl_ddpm_options *o, double *beta, double *abar) {
    double p = 1;
    for (int64_t k = 0; k < o->steps; k++) {
        beta[k] = o->beta1 + (o->betaT - o->beta1) * (double)k / (double)(o->steps - 1);
        abar[k] = p *= 1 - beta[k];
    }
}

static dl_ddpm_options opts(int64_t T, int64_t ddim, uint64_t seed) {
    dl_ddpm_options o;
    memset(&o, 0, sizeof o);
    o.steps = T, o.beta1 = 1e-4, o.betaT = 0.2, o.ddim = ddim, o.grid.seed = seed;
    return o;
}

static void test_exact_predictor_lands_on_the_point(void) {
    dl_model_api api = fake_api();
    enum { n = 8 };
    float x[n * PER];
    for (int ddim = 0; ddim <= 10; ddim += 10) {
        dl_ddpm_options o = opts(50, ddim, 7);
        double beta[64];
        fill_schedule(&o, beta, the_fake.abar);
        the_fake.exact = 1, the_fake.c = 0.625;
        CU_ASSERT_EQUAL_FATAL(dl_ddpm_run(&api, &the_fake, &o, x, n), 0);
        double worst = 0;
        for (int i = 0; i < n * PER; i++) worst = fmax(worst, fabs(x[i] - 0.625));
        CU_ASSERT(worst < 1e-4);
    }
}

static void test_zero_predictor_variance(void) {
    dl_model_api api = fake_api();
    enum { n = 4096 };
    float *x = malloc(sizeof *x * n * PER);
    dl_ddpm_options o = opts(20, 0, 3);
    double beta[64];
    fill_schedule(&o, beta, the_fake.abar);
    the_fake.exact = 0;
    CU_ASSERT_EQUAL_FATAL(dl_ddpm_run(&api, &the_fake, &o, x, n), 0);
    /* prod: prod_{j<k} alpha_j; after the loop, prod_k alpha_k (x_T's term) */
    double e = 0, prod = 1;
    for (int k = 0; k < 20; k++) {
        if (k >= 1) e += beta[k] / prod;
        prod *= 1 - beta[k];
    }
    e += 1 / prod;
    double s = 0, s2 = 0;
    for (int i = 0; i < n * PER; i++) s += x[i], s2 += (double)x[i] * x[i];
    const double mean = s / (n * PER), sample_var = s2 / (n * PER) - mean * mean;
    CU_ASSERT(fabs(mean) < 4 * sqrt(e / (n * PER)));
    CU_ASSERT(fabs(sample_var / e - 1) < 0.03); /* sd of the ratio ~ sqrt(2 / 65536) = 0.0055 */
    free(x);
}

/* DDIM with zero noise predicted: each step multiplies by sqrt(abar') /
 * sqrt(abar), which telescopes to x_T / sqrt(abar_{T-1}); x_T is the seed's
 * first draws. */
static void test_ddim_zero_predictor(void) {
    dl_model_api api = fake_api();
    enum { n = 3 };
    float x[n * PER];
    dl_ddpm_options o = opts(30, 7, 11);
    double beta[64];
    fill_schedule(&o, beta, the_fake.abar);
    the_fake.exact = 0;
    CU_ASSERT_EQUAL_FATAL(dl_ddpm_run(&api, &the_fake, &o, x, n), 0);
    dl_rng r;
    dl_rng_seed(&r, 11);
    double worst = 0;
    for (int i = 0; i < n * PER; i++) worst = fmax(worst, fabs(x[i] - dl_rng_normal(&r) / sqrt(the_fake.abar[29])));
    CU_ASSERT(worst < 1e-4);
}

static void test_seeded(void) {
    dl_model_api api = fake_api();
    enum { n = 4 };
    float a[n * PER], b[n * PER];
    dl_ddpm_options o = opts(10, 0, 5);
    double beta[64];
    fill_schedule(&o, beta, the_fake.abar);
    the_fake.exact = 0;
    CU_ASSERT_EQUAL(dl_ddpm_run(&api, &the_fake, &o, a, n), 0);
    CU_ASSERT_EQUAL(dl_ddpm_run(&api, &the_fake, &o, b, n), 0);
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
    o.grid.seed = 6;
    CU_ASSERT_EQUAL(dl_ddpm_run(&api, &the_fake, &o, b, n), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof a), 0);
}

static void test_refused(void) {
    dl_model_api api = fake_api();
    float x[PER];
    dl_ddpm_options o = opts(10, 0, 1);
    o.steps = 1;
    CU_ASSERT_EQUAL(dl_ddpm_check(&o), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "--ddpm takes the number of diffusion steps"));
    o = opts(10, 11, 1);
    CU_ASSERT_EQUAL(dl_ddpm_check(&o), -1);
    o = opts(10, 0, 1);
    o.beta1 = 0.3;
    CU_ASSERT_EQUAL(dl_ddpm_check(&o), -1);
    o = opts(10, 0, 1);
    dl_io_info bad_inputs[2] = {fake_inputs[0], {"t", "t", DL_F32, 0, {0}}}; /* a float step */
    api.inputs = bad_inputs;
    CU_ASSERT_EQUAL(dl_ddpm_run(&api, &the_fake, &o, x, 1), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "model 'fake_eps' cannot run the reverse process"));
    api = fake_api();
    api.n_inputs = 1; /* an image generator's form, not a denoiser's */
    CU_ASSERT_EQUAL(dl_ddpm_run(&api, &the_fake, &o, x, 1), -1);
}

void suite_rt_ddpm(void) {
    CU_pSuite s = CU_add_suite("rt_ddpm", NULL, NULL);
    CU_add_test(s, "exact predictor of a point: DDPM and DDIM land on it", test_exact_predictor_lands_on_the_point);
    CU_add_test(s, "zero predictor: the closed-form variance", test_zero_predictor_variance);
    CU_add_test(s, "DDIM, zero predictor: x_T / sqrt(abar_T)", test_ddim_zero_predictor);
    CU_add_test(s, "same seed, same bits", test_seeded);
    CU_add_test(s, "wrong forms and schedules refused", test_refused);
}
