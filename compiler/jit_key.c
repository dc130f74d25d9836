/* jit_key.c — see jit_key.h. The key covers:
 *
 *   - the generated model.c and model.h (and the header's name), and the
 *     dlnrt.h embedded in dlnc that they include;
 *   - dlnc's and the runtime's versions and the model ABI version;
 *   - the compiler's whole argument vector, and which file the compiler is
 *     (path, size, mtime, inode: an upgraded compiler builds anew);
 *   - with a `native` flag (-march=native), the CPU's identity from
 *     /proc/cpuinfo, so a cache in a home shared by several machines never
 *     hands one an object built for another's instruction set.
 *
 * The LLVM JIT's entries (jit_key_llvm) have another first part, so they
 * never meet the cc path's, and LLVM's version and host target (always
 * native) instead of the compiler's file and arguments.
 *
 * The runtime itself is not compiled or linked into model.so: its dl_*
 * calls resolve at dlopen time against the libdlnrt inside the running dlnc,
 * through the interface in dlnrt.h, which is part of the key. */
#include "jit_key.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dlnc_version.h"
#include "dlnrt.h"

extern const char dlnrt_header_text[]; /* runtime/dlnrt.h, embedded at build time */

/* The first processor's lines of /proc/cpuinfo, without the ones that change
 * while it runs (cpu MHz) or from boot to boot (bogomips). */
static size_t cpu_identity(char *buf, size_t n) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    size_t used = 0;
    char line[8192];
    while (f && fgets(line, sizeof line, f) && line[0] != '\n') {
        if (!strncmp(line, "cpu MHz", 7) || !strncasecmp(line, "bogomips", 8)) continue;
        size_t len = strlen(line);
        if (used + len >= n) break;
        memcpy(buf + used, line, len);
        used += len;
    }
    if (f) fclose(f);
    return used;
}

/* The argument vector as one text, each word followed by a NUL. */
static char *joined_argv(char **argv, size_t *len, int *native) {
    *len = 0;
    for (char **a = argv; *a; a++) *len += strlen(*a) + 1;
    char *buf = malloc(*len ? *len : 1), *p = buf;
    for (char **a = argv; buf && *a; a++) {
        p = stpcpy(p, *a) + 1;
        *native |= strstr(*a, "native") != NULL;
    }
    return buf;
}

/* The parts every key has — sources, versions, the CPU when the code is
 * built for it — after `tag` (which path) and the compiler's identity. */
static int hash_key(const char *tag, const char *c_text, size_t c_len, const char *h_text, size_t h_len,
                    const char *header_name, const char *compiler, size_t compiler_len, const char *id, int native,
                    char hex[JIT_HEX]) {
    char cpu[16384];
    char abi[32];
    snprintf(abi, sizeof abi, "%d", DL_ABI_VERSION);
    size_t cpu_len = native ? cpu_identity(cpu, sizeof cpu) : 0;
    const jit_part parts[] = {
        {tag, strlen(tag)},
        {DLNC_VERSION, strlen(DLNC_VERSION)},
        {DLNRT_VERSION, strlen(DLNRT_VERSION)},
        {abi, strlen(abi)},
        {c_text, c_len},
        {h_text, h_len},
        {header_name, strlen(header_name)},
        {dlnrt_header_text, strlen(dlnrt_header_text)},
        {compiler, compiler_len},
        {id, strlen(id)},
        {cpu, cpu_len},
    };
    int rc = compiler ? jit_hash_parts(parts, (int)(sizeof parts / sizeof *parts), hex) : -1;
    if (rc != 0) fprintf(stderr, "dlnc: error: cannot compute the cache key (out of memory, or libcrypto failed)\n");
    return rc;
}

int jit_key(const char *c_text, size_t c_len, const char *h_text, size_t h_len, const char *header_name,
            const jit_cc *cc, char hex[JIT_HEX]) {
    char id[PATH_MAX + 128];
    snprintf(id, sizeof id, "%s %lld %lld.%09ld %llu", cc->path, (long long)cc->st.st_size,
             (long long)cc->st.st_mtim.tv_sec, cc->st.st_mtim.tv_nsec, (unsigned long long)cc->st.st_ino);
    size_t argv_len;
    int native = 0;
    char *argv = joined_argv(cc->argv, &argv_len, &native);
    int rc = hash_key("dlnc jit key 1", c_text, c_len, h_text, h_len, header_name, argv, argv_len, id, native, hex);
    free(argv);
    return rc;
}

int jit_key_llvm(const char *c_text, size_t c_len, const char *h_text, size_t h_len, const char *header_name,
                 const char *target_id, char hex[JIT_HEX]) {
    return hash_key("dlnc llvm jit key 1", c_text, c_len, h_text, h_len, header_name, target_id,
                    strlen(target_id), "", 1, hex);
}
