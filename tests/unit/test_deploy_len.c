/* test_deploy_len.c — the longest run-time length an export can take (deploy_len.c), on the IR
 * after the passes: learned_positions(8) over a run-time T limits T to 8 (the table's rows); a
 * range with a step (arange(0, 2 * T, 2), positions 0, 2, .., 2T - 2) into a 12-row table
 * limits T to 6; a model with two lengths limits only the one its table is indexed by; a
 * model without a position table has no limit. */
#include <CUnit/CUnit.h>
#include <stdint.h>

#include "compiled.h"
#include "deploy.h"
#include "passes.h"

static int64_t limit_of(const char *src, int k)
{
    arena ar = {0};
    ir_module *m = compiled_elaborate(&ar, stderr, src);
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_FATAL(passes_run(m->forward, NULL, NULL, 1) == 0);
    const ir_node *where = NULL;
    const int64_t l = deploy_len_limit(m, k, &where);
    CU_ASSERT((l == INT64_MAX) == (where == NULL));
    arena_free(&ar);
    return l;
}

static void test_len_limit(void)
{
    CU_ASSERT_EQUAL(limit_of("model m(tokens: i32[N, T]) -> f32[N, T, 4] {\n"
                             "    return embedding(tokens, 16, 4) |> learned_positions(8)\n"
                             "}\n", 1), 8);
    CU_ASSERT_EQUAL(limit_of("model m(x: f32[N, T, 4]) -> f32[N, T, 4] {\n"
                             "    param w: f32[12, 4] = zeros\n"
                             "    return x + take(w, arange(0, 2 * T, 2, dtype = \"i32\"))\n"
                             "}\n", 1), 6);
    const char *two = "model m(a: i32[N, S], b: f32[N, T, 4]) -> f32[N, T, 4] {\n"
                      "    s = embedding(a, 16, 4) |> learned_positions(6)\n"
                      "    return b + unsqueeze(mean(s, axis = 1), 1)\n"
                      "}\n";
    CU_ASSERT_EQUAL(limit_of(two, 1), 6);
    CU_ASSERT_EQUAL(limit_of(two, 2), INT64_MAX);
    CU_ASSERT_EQUAL(limit_of("model m(tokens: i32[N, T]) -> f32[N, T, 4] {\n"
                             "    return embedding(tokens, 16, 4)\n"
                             "}\n", 1), INT64_MAX);
}

void suite_deploy_len(void)
{
    CU_pSuite s = CU_add_suite("deploy_len", NULL, NULL);
    CU_add_test(s, "the longest length a position table allows", test_len_limit);
}
