/* test_check_numerics.c — `dlnc --check-numerics` builds (emit_checks.c).
 *
 * The model hides a NaN from everything else: log(x) of a negative input is
 * NaN, relu turns it into 0, so the loss, the outputs and every gradient stay
 * finite (the NaN reaches no parameter: the input has no gradient). A plain
 * build trains on silently, and carries no check; a checked build stops the
 * step at the log, naming it, its .dln position and its kernel, in train_step
 * and in eval_step alike, and runs the finite batch exactly as before. */
#include <CUnit/CUnit.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emitted.h"

static const char *const masked_src =
    "model masked(x: f32[N, 2]) -> f32[N, 1] {\n"
    "    h = log(x) |> relu\n"
    "    return dense(h, 1)\n"
    "}\n"
    "train masked { data = csv(\"/dev/null\", batch = 4, classify = false)\n"
    "               loss = mse(output, label)  optim = sgd(lr = 0.1)  epochs = 1 }\n";

/* 1 if the generated masked.c of e mentions s. */
static int c_mentions(const emitted *e, const char *s)
{
    char path[128];
    snprintf(path, sizeof path, "%s/masked.c", e->dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    return strstr(text, s) != NULL;
}

/* 1 if msg is "<prefix><digits><suffix>" (the kernel's node id may change). */
static int matches(const char *msg, const char *prefix, const char *suffix)
{
    size_t lp = strlen(prefix), ls = strlen(suffix), lm = strlen(msg);
    if (lm < lp + ls + 1 || strncmp(msg, prefix, lp) != 0 || strcmp(msg + lm - ls, suffix) != 0) return 0;
    for (size_t i = lp; i < lm - ls; i++)
        if (msg[i] < '0' || msg[i] > '9') return 0;
    return 1;
}

static void test_masked_nan(void)
{
    const char *(*last_error)(void); /* the built model links its own runtime: ask its error channel */
    const float good[8] = {1, 2, 0.5f, 3, 2, 2, 1, 4}, bad[8] = {1, 2, -0.5f, 3, 2, 2, 1, 4};
    const float y[4] = {1, 0, 1, 0};
    float out[4];
    emitted plain, checked;
    CU_ASSERT_EQUAL_FATAL(emitted_build_source(masked_src, &plain), 0);
    CU_ASSERT_EQUAL_FATAL(emitted_build_source_checked(masked_src, &checked), 0);
    CU_ASSERT_EQUAL(c_mentions(&plain, "dl_check_finite"), 0); /* the flag off costs nothing */
    CU_ASSERT_EQUAL(c_mentions(&checked, "dl_check_finite"), 1);
    *(void **)&last_error = dlsym(checked.so, "dl_last_error");
    CU_ASSERT_PTR_NOT_NULL_FATAL(last_error);
    void *p = plain.api->create(4), *c = checked.api->create(4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    plain.api->init(p, 3);
    checked.api->init(c, 3);

    /* finite data: the same losses, no error */
    const float l1 = plain.api->train_step(p, good, y, 4), l2 = checked.api->train_step(c, good, y, 4);
    CU_ASSERT(isfinite(l1));
    CU_ASSERT_DOUBLE_EQUAL(l1, l2, 1e-6);
    CU_ASSERT_STRING_EQUAL(last_error(), "");

    /* the hidden NaN: the plain build returns a finite loss, the checked one stops at the log */
    CU_ASSERT(isfinite(plain.api->train_step(p, bad, y, 4)));
    CU_ASSERT(isnan(checked.api->train_step(c, bad, y, 4)));
    /* the kernel is named by its one definition: train_step and eval_step call forward's */
    const char *prefix = "non-finite value (nan) in the output of log at t.dln:2:9 (kernel masked_fwd_k";
    if (!matches(last_error(), prefix, "_log) during train_step, step 2")) {
        CU_FAIL("train_step message");
        fprintf(stderr, "\n%s\n", last_error());
    }
    CU_ASSERT(isfinite(plain.api->eval_step(p, bad, y, out, 4)));
    CU_ASSERT(isnan(checked.api->eval_step(c, bad, y, out, 4)));
    prefix = "non-finite value (nan) in the output of log at t.dln:2:9 (kernel masked_fwd_k";
    if (!matches(last_error(), prefix, "_log) during eval_step after training step 2")) {
        CU_FAIL("eval_step message");
        fprintf(stderr, "\n%s\n", last_error());
    }
    plain.api->destroy(p);
    checked.api->destroy(c);
    emitted_unload(&plain);
    emitted_unload(&checked);
}

void suite_check_numerics(void)
{
    CU_pSuite s = CU_add_suite("check_numerics", NULL, NULL);
    CU_add_test(s, "a NaN hidden by relu: silent, or stopped at the log", test_masked_nan);
}
