/* test_strmap.c — the compiler's string map (compiler/strmap.c): what goes
 * in comes out, replacing keeps one entry, and growing keeps every key. */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdio.h>

#include "strmap.h"

static void test_put_get(void) {
    arena ar = {0};
    strmap m = {0};
    int a = 1, b = 2, c = 3;
    CU_ASSERT_PTR_NULL(strmap_get(&m, "x")); /* empty: no table yet */
    strmap_put(&m, &ar, "x", &a);
    strmap_put(&m, &ar, "y", &b);
    CU_ASSERT_PTR_EQUAL(strmap_get(&m, "x"), &a);
    CU_ASSERT_PTR_EQUAL(strmap_get(&m, "y"), &b);
    CU_ASSERT_PTR_NULL(strmap_get(&m, "z"));
    CU_ASSERT_PTR_NULL(strmap_get(&m, ""));
    char key[] = "x"; /* equal text, another pointer */
    strmap_put(&m, &ar, key, &c);
    CU_ASSERT_PTR_EQUAL(strmap_get(&m, "x"), &c);
    CU_ASSERT_EQUAL(m.n, 2);
    arena_free(&ar);
}

static void test_growth(void) {
    arena ar = {0};
    strmap m = {0};
    enum { N = 20000 };
    char **keys = ARENA_NEW_ARRAY(&ar, char *, N);
    for (int i = 0; i < N; i++) {
        keys[i] = arena_printf(&ar, "layer%d.dense%d.weight", i / 7, i);
        strmap_put(&m, &ar, keys[i], (void *)(intptr_t)(i + 1));
    }
    CU_ASSERT_EQUAL(m.n, N);
    CU_ASSERT(4 * m.n <= 3 * m.cap);
    int wrong = 0;
    for (int i = 0; i < N; i++) wrong += strmap_get(&m, keys[i]) != (void *)(intptr_t)(i + 1);
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_PTR_NULL(strmap_get(&m, "layer0.dense7.weight")); /* 7 is in layer 1 */
    arena_free(&ar);
}

void suite_strmap(void) {
    CU_pSuite s = CU_add_suite("strmap", NULL, NULL);
    CU_add_test(s, "put, get, replace", test_put_get);
    CU_add_test(s, "growing keeps every key", test_growth);
}
