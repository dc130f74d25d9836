/* main.c — the CUnit runner for every tests/unit/test_<name>.c.
 *
 * Why generated registration: the Makefile writes suites.inc (one line
 * `SUITE(name)` per test file), so adding a test file is the whole act of
 * adding a suite — no list here to keep in sync.
 *
 *   unit_tests            run every suite
 *   unit_tests NAME...    run only the named suites (CUnit suite names)
 *
 * Exit status 1 if any assertion or test failed. CUnit's summary is the last
 * thing printed, so scripts can read the totals from the tail. */
#include <CUnit/Basic.h>
#include <stdio.h>

#define SUITE(name) void suite_##name(void);
#include "suites.inc"
#undef SUITE

int main(int argc, char **argv) {
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "unit_tests: cannot initialize CUnit: %s\n", CU_get_error_msg());
        return 2;
    }
#define SUITE(name) suite_##name();
#include "suites.inc"
#undef SUITE
    if (CU_get_error() != CUE_SUCCESS) {
        fprintf(stderr, "unit_tests: cannot register tests: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }

    CU_basic_set_mode(CU_BRM_NORMAL);
    if (argc > 1) { /* run only the named suites, still with one summary */
        for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext) CU_set_suite_active(s, CU_FALSE);
        for (int i = 1; i < argc; i++) {
            CU_pSuite suite = CU_get_suite(argv[i]);
            if (!suite) {
                fprintf(stderr, "unit_tests: no suite named '%s'\n", argv[i]);
                CU_cleanup_registry();
                return 2;
            }
            CU_set_suite_active(suite, CU_TRUE);
        }
    }
    CU_basic_run_tests();
    int failed = CU_get_number_of_failures() > 0 || CU_get_number_of_tests_failed() > 0;
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
