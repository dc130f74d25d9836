/* test_rt_sched.c — learning-rate schedules at hand-computed points. */
#include "dlnrt.h"

#include <CUnit/CUnit.h>
#include <math.h>

static void test_constant_step_exponential(void)
{
    dl_sched_config c = {.kind = DL_SCHED_CONSTANT};
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&c, 0.1f, 10, 7.3), 0.1, 1e-7);
    /* step: 1 * .5^floor(epoch/2) */
    dl_sched_config s = {.kind = DL_SCHED_STEP, .step_size = 2, .gamma = 0.5f};
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&s, 1.0f, 10, 0.0), 1.0, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&s, 1.0f, 10, 1.99), 1.0, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&s, 1.0f, 10, 2.0), 0.5, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&s, 1.0f, 10, 5.0), 0.25, 1e-7);
    /* exponential: .9^2 = .81, .9^.5 = .9486833 */
    dl_sched_config e = {.kind = DL_SCHED_EXPONENTIAL, .gamma = 0.9f};
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&e, 1.0f, 10, 2.0), 0.81, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&e, 1.0f, 10, 0.5), 0.9486833, 1e-6);
}

static void test_cosine(void)
{
    /* (1 + cos(pi * t / 10)) / 2: t=0 -> 1, 2.5 -> (1 + .7071068)/2 = .8535534, 5 -> .5, 10 -> 0 */
    dl_sched_config c = {.kind = DL_SCHED_COSINE};
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&c, 1.0f, 10, 0.0), 1.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&c, 1.0f, 10, 2.5), 0.8535534, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&c, 1.0f, 10, 5.0), 0.5, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&c, 1.0f, 10, 10.0), 0.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&c, 1.0f, 10, 12.0), 0.0, 1e-6);  /* clamped past the end */
}

static void test_warmup(void)
{
    /* cosine, warm-up 2 epochs from the default .1*base, min .1, 10 epochs (T = 8):
     * e=0 -> .1; e=1 -> .1 + .9*.5 = .55; e=2 -> 1; e=6 (t=4) -> .1 + .9*.5 = .55; e=10 -> .1 */
    dl_sched_config c = {.kind = DL_SCHED_COSINE, .warmup = 2, .min_lr = 0.1f};
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&c, 1.0f, 10, 0.0), 0.1, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&c, 1.0f, 10, 1.0), 0.55, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&c, 1.0f, 10, 2.0), 1.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&c, 1.0f, 10, 6.0), 0.55, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&c, 1.0f, 10, 10.0), 0.1, 1e-6);
    /* explicit start .5, warm-up 1: e=.5 -> .5 + .5*.5 = .75; then step on the
     * post-warm-up clock: e=3 -> t=2 -> .5 */
    dl_sched_config s = {.kind = DL_SCHED_STEP, .step_size = 2, .gamma = 0.5f, .warmup = 1, .warmup_start = 0.5f};
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&s, 1.0f, 10, 0.5), 0.75, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&s, 1.0f, 10, 2.9), 1.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&s, 1.0f, 10, 3.0), 0.5, 1e-6);
}

static void test_poly(void)
{
    /* base 1, 10 epochs: power 1 is linear to 0 (t=2.5 -> .75); power 2 at t=5 -> .25;
     * min .1, power 1 at t=5 -> .1 + .9 * .5 = .55; clamped at min past the end */
    dl_sched_config p = {.kind = DL_SCHED_POLY, .power = 1.0f};
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&p, 1.0f, 10, 0.0), 1.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&p, 1.0f, 10, 2.5), 0.75, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&p, 1.0f, 10, 10.0), 0.0, 1e-6);
    p.power = 2.0f;
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&p, 1.0f, 10, 5.0), 0.25, 1e-6);
    dl_sched_config m = {.kind = DL_SCHED_POLY, .power = 1.0f, .min_lr = 0.1f};
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&m, 1.0f, 10, 5.0), 0.55, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&m, 1.0f, 10, 13.0), 0.1, 1e-6);
}

static void test_plateau(void)
{
    /* factor .5, patience 1, threshold .1 (relative), min .2, base 1:
     * 1.0 best; .95 is not below 1.0 * .9: bad 1; .95 again: bad 2 > 1 -> scale .5;
     * .5 best; then three bad: .25 after two, and the third stays (count restarted);
     * two more: .2 (min_lr), never below */
    dl_sched_config c = {.kind = DL_SCHED_PLATEAU, .factor = 0.5f, .patience = 1, .threshold = 0.1f, .min_lr = 0.2f};
    dl_plateau p;
    dl_plateau_init(&p);
    CU_ASSERT_DOUBLE_EQUAL(dl_sched_lr(&c, 1.0f, 10, 3.0), 1.0, 1e-7);   /* the clock alone does not move it */
    CU_ASSERT_EQUAL(dl_plateau_step(&p, &c, 1.0f, 1.0), 0);
    CU_ASSERT_EQUAL(dl_plateau_step(&p, &c, 1.0f, 0.95), 0);
    CU_ASSERT_EQUAL(dl_plateau_step(&p, &c, 1.0f, 0.95), 1);
    CU_ASSERT_DOUBLE_EQUAL(p.scale, 0.5, 1e-7);
    CU_ASSERT_EQUAL(dl_plateau_step(&p, &c, 1.0f, 0.5), 0);
    CU_ASSERT_DOUBLE_EQUAL(p.best, 0.5, 1e-12);
    CU_ASSERT_EQUAL(dl_plateau_step(&p, &c, 1.0f, 0.6), 0);
    CU_ASSERT_EQUAL(dl_plateau_step(&p, &c, 1.0f, 0.6), 1);
    CU_ASSERT_DOUBLE_EQUAL(p.scale, 0.25, 1e-7);
    CU_ASSERT_EQUAL(dl_plateau_step(&p, &c, 1.0f, 0.6), 0);
    CU_ASSERT_EQUAL(dl_plateau_step(&p, &c, 1.0f, 0.6), 1);
    CU_ASSERT_DOUBLE_EQUAL(p.scale, 0.2, 1e-7);
    CU_ASSERT_EQUAL(dl_plateau_step(&p, &c, 1.0f, 0.6), 0);
    CU_ASSERT_EQUAL(dl_plateau_step(&p, &c, 1.0f, 0.6), 0);   /* at min_lr: no further drop */
    CU_ASSERT_DOUBLE_EQUAL(p.scale, 0.2, 1e-7);
    CU_ASSERT_EQUAL(p.reductions, 3);
}

void suite_rt_sched(void)
{
    CU_pSuite s = CU_add_suite("rt_sched", NULL, NULL);
    CU_add_test(s, "constant, step, exponential", test_constant_step_exponential);
    CU_add_test(s, "cosine", test_cosine);
    CU_add_test(s, "linear warm-up", test_warmup);
    CU_add_test(s, "poly", test_poly);
    CU_add_test(s, "reduce on plateau", test_plateau);
}
