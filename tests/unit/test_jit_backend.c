/* test_jit_backend.c — which JIT `dlnc run` uses (jit.h, jit_llvm.h): the
 * names --jit and $DLNC_JIT accept, and, in the build without LLVM (the one
 * the unit tests link), --jit=llvm failing cleanly before anything is built
 * or cached. tests/e2e/llvm_jit.sh runs the LLVM build itself. */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jit.h"

static void test_parse(void) {
    CU_ASSERT_EQUAL(jit_backend_parse("cc"), JIT_CC);
    CU_ASSERT_EQUAL(jit_backend_parse("llvm"), JIT_LLVM);
    CU_ASSERT_EQUAL(jit_backend_parse("LLVM"), -1);
    CU_ASSERT_EQUAL(jit_backend_parse(""), -1);
    CU_ASSERT_EQUAL(jit_backend_parse("cc "), -1);
}

/* --jit=llvm, and $DLNC_JIT=llvm with no --jit, both reach the LLVM path:
 * without LLVM it refuses, leaving no module and nothing in the cache. */
static void test_llvm_absent(void) {
    CU_ASSERT_EQUAL(jit_llvm_available(), 0);
    char dir[] = "/tmp/dlnc_jit_backend_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    const char src[] = "int x;\n";
    jit_options o = {.backend = JIT_LLVM, .cache_dir = dir};
    jit_module m;
    CU_ASSERT_EQUAL(jit_load(src, strlen(src), "", 0, "m.h", &o, &m), -1);
    CU_ASSERT_PTR_NULL(m.llvm);
    CU_ASSERT_PTR_NULL(m.api);
    CU_ASSERT_EQUAL(m.backend, JIT_LLVM);
    o.backend = JIT_DEFAULT;
    setenv("DLNC_JIT", "llvm", 1);
    CU_ASSERT_EQUAL(jit_load(src, strlen(src), "", 0, "m.h", &o, &m), -1);
    CU_ASSERT_EQUAL(m.backend, JIT_LLVM);
    unsetenv("DLNC_JIT");
    CU_ASSERT_EQUAL(rmdir(dir), 0); /* still empty */
}

void suite_jit_backend(void) {
    CU_pSuite s = CU_add_suite("jit_backend", NULL, NULL);
    CU_add_test(s, "--jit and $DLNC_JIT names", test_parse);
    CU_add_test(s, "--jit=llvm without LLVM: a clean refusal, nothing cached", test_llvm_absent);
}
