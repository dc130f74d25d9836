/* test_rt_early_stop.c — early stopping's choice of the epoch to keep, and
 * the snapshot that brings its weights back. */
#include "dlnrt.h"
#include "early_stop_internal.h"

#include <CUnit/CUnit.h>
#include <math.h>

static void test_val_loss(void)
{
    /* patience 2, min_delta .05: 1.0 (best), .97 (not by more than .05: bad 1),
     * .90 (best, bad 0), .88 (bad 1), .89 (bad 2: exhausted); kept epoch 3 */
    dl_early_stop es = {.patience = 2, .min_delta = 0.05f, .monitor = DL_MONITOR_VAL_LOSS};
    dl_keep_best k;
    dl_keep_best_init(&k);
    CU_ASSERT_EQUAL(dl_keep_best_update(&k, &es, 1, 1.0, NAN), 1);
    CU_ASSERT_EQUAL(dl_keep_best_update(&k, &es, 2, 0.97, NAN), 0);
    CU_ASSERT_FALSE(dl_keep_best_exhausted(&k, &es));
    CU_ASSERT_EQUAL(dl_keep_best_update(&k, &es, 3, 0.90, NAN), 1);
    CU_ASSERT_EQUAL(dl_keep_best_update(&k, &es, 4, 0.88, NAN), 0);
    CU_ASSERT_FALSE(dl_keep_best_exhausted(&k, &es));
    CU_ASSERT_EQUAL(dl_keep_best_update(&k, &es, 5, 0.89, NAN), 0);
    CU_ASSERT_TRUE(dl_keep_best_exhausted(&k, &es));
    CU_ASSERT_EQUAL(k.best_epoch, 3);
    CU_ASSERT_DOUBLE_EQUAL(k.best, 0.90, 1e-12);
}

static void test_val_acc(void)
{
    /* higher is better; a NaN accuracy never improves, even as the first */
    dl_early_stop es = {.patience = 1, .monitor = DL_MONITOR_VAL_ACC};
    dl_keep_best k;
    dl_keep_best_init(&k);
    CU_ASSERT_EQUAL(dl_keep_best_update(&k, &es, 1, 0.1, NAN), 0);
    CU_ASSERT_EQUAL(dl_keep_best_update(&k, &es, 2, 0.1, 0.80), 1);
    CU_ASSERT_EQUAL(dl_keep_best_update(&k, &es, 3, 0.1, 0.85), 1);
    CU_ASSERT_EQUAL(dl_keep_best_update(&k, &es, 4, 0.01, 0.85), 0);   /* equal is no improvement */
    CU_ASSERT_TRUE(dl_keep_best_exhausted(&k, &es));
    CU_ASSERT_EQUAL(k.best_epoch, 3);
    CU_ASSERT_STRING_EQUAL(dl_monitor_name(es.monitor), "val_acc");
}

/* a model of two parameters, for the snapshot */
static float w0[3], w1[2];
static float *param_data(void *m, int i) { (void)m; return i ? w1 : w0; }

static void test_snapshot(void)
{
    static const dl_param_info info[2] = {{.name = "a", .rank = 1, .shape = {3}, .numel = 3, .trainable = 1},
                                          {.name = "b", .rank = 1, .shape = {2}, .numel = 2, .trainable = 1}};
    dl_model_api api = {.n_params = 2, .params = info, .param_data = param_data};
    for (int i = 0; i < 3; i++) w0[i] = (float)i;
    w1[0] = 10, w1[1] = 11;
    dl_keep_best k;
    dl_keep_best_init(&k);
    CU_ASSERT_EQUAL(dl_keep_best_snapshot(&k, &api, NULL), 0);
    w0[1] = -5, w1[1] = -7;
    dl_keep_best_restore(&k, &api, NULL);
    CU_ASSERT_EQUAL(w0[1], 1.0f);
    CU_ASSERT_EQUAL(w1[1], 11.0f);
    dl_keep_best_free(&k);
    CU_ASSERT_PTR_NULL(k.snapshot);
}

void suite_rt_early_stop(void)
{
    CU_pSuite s = CU_add_suite("rt_early_stop", NULL, NULL);
    CU_add_test(s, "val_loss with min_delta and patience", test_val_loss);
    CU_add_test(s, "val_acc", test_val_acc);
    CU_add_test(s, "snapshot and restore", test_snapshot);
}
