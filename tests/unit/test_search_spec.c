/* test_search_spec.c — `dlnc search`'s search space (compiler/search_spec.c):
 * a spec's parse, the grid's order, random draws that depend on (seed, trial)
 * only and stay in their ranges, and the refusals with their messages. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "search_spec.h"

static void test_grid(void) {
    search_space s;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(search_space_parse("lr=1e-3,3e-3;batch=64,128,256", &s, err, sizeof err), 0);
    CU_ASSERT_EQUAL(s.n, 2);
    CU_ASSERT_STRING_EQUAL(search_setting_name(s.keys[0].setting), "lr");
    CU_ASSERT_TRUE(search_space_is_grid(&s));
    CU_ASSERT_EQUAL(search_grid_size(&s), 6);
    /* the first setting varies slowest */
    search_trial t;
    search_grid_trial(&s, 0, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.v[0], 1e-3, 0);
    CU_ASSERT_DOUBLE_EQUAL(t.v[1], 64, 0);
    search_grid_trial(&s, 2, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.v[0], 1e-3, 0);
    CU_ASSERT_DOUBLE_EQUAL(t.v[1], 256, 0);
    search_grid_trial(&s, 4, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.v[0], 3e-3, 0);
    CU_ASSERT_DOUBLE_EQUAL(t.v[1], 128, 0);
    /* applied where the run reads them */
    dl_train_config cfg = {0};
    search_apply(&s, &t, &cfg);
    CU_ASSERT_DOUBLE_EQUAL(cfg.optim.lr, 3e-3f, 0);
    CU_ASSERT_EQUAL(cfg.data.batch, 128);
    char buf[64];
    search_trial_format(&s, &t, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "lr=0.003 batch=128");
    /* too many combinations are counted as one more than allowed, without overflow */
    CU_ASSERT_EQUAL_FATAL(search_space_parse("lr=1,2,3,4,5,6,7,8,9,10;eps=1e-8,1e-7,1e-6,1e-5,1e-4,1e-3,1e-2,0.1,0.2,"
                                             "0.3;batch=1,2,3,4,5,6,7,8,9,10,11",
                                             &s, err, sizeof err), 0);
    CU_ASSERT_EQUAL(search_grid_size(&s), SEARCH_MAX_TRIALS + 1);
}

static void test_random(void) {
    search_space s;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(search_space_parse("lr=log(1e-4,1e-2);batch=uniform(16,40);momentum=0,0.9", &s, err, sizeof err), 0);
    CU_ASSERT_FALSE(search_space_is_grid(&s));
    int low = 0, seen0 = 0, seen9 = 0;
    for (int k = 0; k < 400; k++) {
        search_trial a, b;
        search_random_trial(&s, 7, k, &a);
        search_random_trial(&s, 7, k, &b);
        CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof a), 0);        /* (seed, trial) decide */
        CU_ASSERT(a.v[0] >= 1e-4 && a.v[0] <= 1e-2);
        low += a.v[0] < 1e-3;                                 /* log-uniform: half the draws below the middle decade */
        CU_ASSERT(a.v[1] >= 16 && a.v[1] <= 40 && a.v[1] == floor(a.v[1]));
        seen0 += a.v[2] == 0, seen9 += a.v[2] == 0.9;
    }
    CU_ASSERT(low > 150 && low < 250);
    CU_ASSERT_EQUAL(seen0 + seen9, 400);
    CU_ASSERT(seen0 > 150 && seen9 > 150);
    search_trial a, b;
    search_random_trial(&s, 7, 0, &a);
    search_random_trial(&s, 8, 0, &b);
    CU_ASSERT_NOT_EQUAL(a.v[0], b.v[0]);                       /* another seed, other draws */
}

static void test_errors(void) {
    static const struct { const char *spec, *msg; } cases[] = {
        {"", "empty search space; e.g. \"lr=1e-3,3e-3;batch=64,128\""},
        {"lrr=1", "unknown setting 'lrr' (lr, weight_decay, momentum, beta1, beta2, eps, batch, epochs)"},
        {"lr", "'lr' is not SETTING=VALUES"},
        {"lr=0", "lr: 0 is not a number in (0, 1000]"},
        {"lr=0.1,", "lr: expected a list of numbers (v1,v2,...) or log(LO,HI) or uniform(LO,HI)"},
        {"batch=64.5", "batch: 64.5 is not an integer in [1, 65536]"},
        {"momentum=1", "momentum: 1 is not a number in [0, 1)"},
        {"lr=0.1;lr=0.2", "lr is given twice"},
        {"lr=log(1e-3", "lr: a range is log(LO,HI), e.g. lr=log(1e-4,1e-2)"},
        {"lr=log(1e-2,1e-3)", "lr: a range needs LO < HI, not 0.01,0.001"},
        {"weight_decay=log(0,1)", "weight_decay: log(LO,HI) needs LO > 0"},
        {"batch=uniform(0,10)", "batch: the range's ends must each be an integer in [1, 65536]"},
        {"lr=uniform(1,2)x", "lr: a range is uniform(LO,HI), e.g. lr=log(1e-4,1e-2)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        search_space s;
        char err[256] = "";
        CU_ASSERT_EQUAL(search_space_parse(cases[k].spec, &s, err, sizeof err), -1);
        if (strcmp(err, cases[k].msg)) fprintf(stderr, "\n  '%s': got '%s'\n", cases[k].spec, err);
        CU_ASSERT_STRING_EQUAL(err, cases[k].msg);
    }
    CU_ASSERT_PTR_NULL(search_setting_unused(2, DL_OPT_SGD));  /* momentum */
    CU_ASSERT_STRING_EQUAL(search_setting_unused(2, DL_OPT_ADAM), "sgd and rmsprop");
}

void suite_search_spec(void) {
    CU_pSuite s = CU_add_suite("search_spec", NULL, NULL);
    CU_add_test(s, "grid: order, size, applied to the config", test_grid);
    CU_add_test(s, "random: reproducible, in range, log-uniform", test_random);
    CU_add_test(s, "refused specs and their messages", test_errors);
}
