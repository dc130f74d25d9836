/* test_jit_cache.c — the pieces of `dlnc run`'s cache safety (issue 18)
 * that need no compiler; tests/e2e/jit_cache.sh runs the whole thing.
 *
 * - SHA-256 is the standard one (a file hashes as sha256sum says), and a
 *   key's parts are length-prefixed, so ("ab", "c") and ("a", "bc") differ.
 * - The cache root: DLNC_CACHE, else an absolute XDG_CACHE_HOME, else an
 *   absolute HOME, else the passwd home — never a shared /tmp.
 * - Files and directories pass only if the effective user owns them and
 *   nobody else can write them. */
#include <CUnit/CUnit.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jit_cache.h"
#include "jit_hash.h"

static void test_sha256(void) {
    char hex[JIT_HEX], other[JIT_HEX];
    FILE *f = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("abc", f);
    fflush(f);
    CU_ASSERT_EQUAL(jit_hash_fd(fileno(f), hex), 0);
    CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    fclose(f);
    jit_part ab_c[] = {{"ab", 2}, {"c", 1}}, a_bc[] = {{"a", 1}, {"bc", 2}};
    CU_ASSERT_EQUAL(jit_hash_parts(ab_c, 2, hex), 0);
    CU_ASSERT_EQUAL(jit_hash_parts(a_bc, 2, other), 0);
    CU_ASSERT(strcmp(hex, other) != 0);
}

/* jit_cache_root with exactly these three variables set (NULL: unset). */
static const char *root_with(const char *dlnc_cache, const char *xdg, const char *home, char *buf, size_t n) {
    const char *names[3] = {"DLNC_CACHE", "XDG_CACHE_HOME", "HOME"}, *values[3] = {dlnc_cache, xdg, home};
    for (int i = 0; i < 3; i++) values[i] ? setenv(names[i], values[i], 1) : unsetenv(names[i]);
    return jit_cache_root(NULL, buf, n) == 0 ? buf : "(error)";
}

static void test_cache_root(void) {
    char *saved[3];
    const char *names[3] = {"DLNC_CACHE", "XDG_CACHE_HOME", "HOME"};
    for (int i = 0; i < 3; i++) saved[i] = getenv(names[i]) ? strdup(getenv(names[i])) : NULL;
    char buf[4096], pw_root[4096];
    const struct passwd *pw = getpwuid(geteuid());
    snprintf(pw_root, sizeof pw_root, "%s/.cache/dlnc", pw ? pw->pw_dir : "?");
    CU_ASSERT_STRING_EQUAL(root_with("/c", "/x", "/h", buf, sizeof buf), "/c");
    CU_ASSERT_STRING_EQUAL(root_with(NULL, "/x", "/h", buf, sizeof buf), "/x/dlnc");
    CU_ASSERT_STRING_EQUAL(root_with(NULL, "rel", "/h", buf, sizeof buf), "/h/.cache/dlnc");
    CU_ASSERT_STRING_EQUAL(root_with(NULL, NULL, "/h'o", buf, sizeof buf), "/h'o/.cache/dlnc");
    CU_ASSERT_STRING_EQUAL(root_with(NULL, NULL, NULL, buf, sizeof buf), pw_root);
    CU_ASSERT_STRING_EQUAL(root_with(NULL, "", "", buf, sizeof buf), pw_root);
    CU_ASSERT_EQUAL(jit_cache_root("/explicit", buf, sizeof buf), 0);
    CU_ASSERT_STRING_EQUAL(buf, "/explicit");
    for (int i = 0; i < 3; i++) {
        saved[i] ? setenv(names[i], saved[i], 1) : unsetenv(names[i]);
        free(saved[i]);
    }
}

static void test_check(void) {
    char why[160];
    struct stat st = {.st_mode = S_IFDIR | 0700, .st_uid = geteuid()};
    CU_ASSERT_PTR_NULL(jit_cache_check(&st, 1, why, sizeof why));
    st.st_mode = S_IFDIR | 0755;
    CU_ASSERT_PTR_NULL(jit_cache_check(&st, 1, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(jit_cache_check(&st, 0, why, sizeof why)); /* not a regular file */
    st.st_mode = S_IFDIR | 0770;
    CU_ASSERT_PTR_NOT_NULL(jit_cache_check(&st, 1, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "writable by group or others (mode 0770)"));
    st.st_mode = S_IFREG | 0702;
    CU_ASSERT_PTR_NOT_NULL(jit_cache_check(&st, 0, why, sizeof why));
    st.st_mode = S_IFREG | 0700;
    st.st_uid = geteuid() + 1;
    CU_ASSERT_PTR_NOT_NULL(jit_cache_check(&st, 0, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "is owned by uid"));
}

void suite_jit_cache(void) {
    CU_pSuite s = CU_add_suite("jit_cache", NULL, NULL);
    CU_add_test(s, "SHA-256 of files and length-prefixed parts", test_sha256);
    CU_add_test(s, "the cache root is per user, never /tmp", test_cache_root);
    CU_add_test(s, "only our own, not group/other-writable, entries pass", test_check);
}
