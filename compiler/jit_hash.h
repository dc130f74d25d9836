/* jit_hash.h — SHA-256 for the build cache, from OpenSSL's libcrypto (linked
 * into dlnc only, never into libdlnrt or generated code): the key of an
 * entry, and the recorded hash of its model.so. Digests are written as 64
 * lowercase hex digits, as sha256sum prints them. */
#ifndef DLNC_JIT_HASH_H
#define DLNC_JIT_HASH_H
#include <stddef.h>

enum { JIT_HEX = 64 + 1 }; /* a hex SHA-256 with its NUL */

typedef struct jit_part {
    const void *data;
    size_t len;
} jit_part;

/* SHA-256 over the parts, each preceded by its length as 8 bytes, so that
 * no two different lists hash the same text ("ab","c" vs "a","bc").
 * Returns 0, or -1 if libcrypto fails. */
int jit_hash_parts(const jit_part *parts, int n, char hex[JIT_HEX]);

/* SHA-256 of the whole file open as `fd`, read from offset 0.
 * Returns 0, or -1 with errno set. */
int jit_hash_fd(int fd, char hex[JIT_HEX]);

#endif
