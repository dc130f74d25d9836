/* test_rt_params.c — the runtime's table-driven parameter code (params.c) that
 * every generated model calls: init from the table's initializers at the
 * table's offsets, find by name, and a save / load / load-by-prefix round trip. */
#include "dlnrt.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Two parameters with a gap between them: the offsets, not the order, place them. */
static const dl_param_info info[2] = {
    {"fc.weight", 2, {3, 2}, 6, 1},
    {"fc.bias", 1, {3}, 3, 1},
};
static const dl_init inits[2] = {
    {DL_INIT_UNIFORM, -1.0f, 1.0f, 2, 3, 1.0f, 0.0f, 0.0f},
    {DL_INIT_CONSTANT, 0.5f, 0.0f, 3, 3, 1.0f, 0.0f, 0.0f},
};
static const int64_t offsets[2] = {0, 8};
static const dl_param_table table = {2, info, inits, offsets};

static void test_params_init_find(void)
{
    float p[11], q[11];
    for (int i = 0; i < 11; i++) p[i] = q[i] = -7.0f;
    dl_params_init(&table, p, 42);
    dl_params_init(&table, q, 42);
    CU_ASSERT_EQUAL(memcmp(p, q, sizeof p), 0); /* the seed decides */
    for (int i = 0; i < 6; i++) CU_ASSERT(p[i] >= -1.0f && p[i] <= 1.0f);
    CU_ASSERT_EQUAL(p[6], -7.0f); /* the gap is not written */
    CU_ASSERT_EQUAL(p[7], -7.0f);
    for (int i = 8; i < 11; i++) CU_ASSERT_EQUAL(p[i], 0.5f);
    dl_params_init(&table, q, 43);
    CU_ASSERT_NOT_EQUAL(memcmp(p, q, 6 * sizeof *p), 0);

    CU_ASSERT_EQUAL(dl_param_find(&table, "fc.weight"), 0);
    CU_ASSERT_EQUAL(dl_param_find(&table, "fc.bias"), 1);
    CU_ASSERT_EQUAL(dl_param_find(&table, "fc"), -1);
    CU_ASSERT_EQUAL(dl_param_find(&table, NULL), -1);
}

static void test_params_save_load(void)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/dlnrt_params_%d.safetensors", (int)getpid());
    float p[11] = {0}, q[11] = {0};
    dl_params_init(&table, p, 1);
    CU_ASSERT_EQUAL_FATAL(dl_params_save(&table, p, path), 0);
    CU_ASSERT_EQUAL(dl_params_load(&table, q, path, NULL, NULL), 0);
    CU_ASSERT_EQUAL(memcmp(p, q, 6 * sizeof *p), 0);
    CU_ASSERT_EQUAL(memcmp(p + 8, q + 8, 3 * sizeof *p), 0);

    /* the same names under a prefix the file lacks: no match at all is an error, nothing changes */
    float r[11] = {0};
    dl_load_report rep;
    CU_ASSERT_NOT_EQUAL(dl_params_load(&table, r, path, "dec.", &rep), 0);
    for (int i = 0; i < 11; i++) CU_ASSERT_EQUAL(r[i], 0.0f);
    CU_ASSERT_EQUAL(dl_params_load(&table, r, path, "", &rep), 0);
    CU_ASSERT_EQUAL(rep.used, 2);
    CU_ASSERT_EQUAL(memcmp(p, r, 6 * sizeof *p), 0);

    p[2] = NAN; /* a non-finite parameter is refused, the file kept */
    CU_ASSERT_NOT_EQUAL(dl_params_save(&table, p, path), 0);
    CU_ASSERT_EQUAL(dl_params_load(&table, r, path, NULL, NULL), 0);
    CU_ASSERT_EQUAL(memcmp(q, r, 6 * sizeof *q), 0);
    remove(path);
}

void suite_rt_params(void)
{
    CU_pSuite s = CU_add_suite("rt_params", NULL, NULL);
    CU_add_test(s, "params: init from the table, find by name", test_params_init_find);
    CU_add_test(s, "params: save, load, load by prefix", test_params_save_load);
}
