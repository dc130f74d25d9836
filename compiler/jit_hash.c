/* jit_hash.c — see jit_hash.h. */
#include "jit_hash.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static void to_hex(const unsigned char *md, char hex[JIT_HEX]) {
    for (int i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02x", md[i]);
}

static int finish(EVP_MD_CTX *ctx, int ok, char hex[JIT_HEX]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &len) == 1 && len == 32;
    EVP_MD_CTX_free(ctx);
    if (ok) to_hex(md, hex);
    return ok ? 0 : -1;
}

int jit_hash_parts(const jit_part *parts, int n, char hex[JIT_HEX]) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return -1;
    int ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (int i = 0; ok && i < n; i++) {
        unsigned char len[8];
        for (int b = 0; b < 8; b++) len[b] = (unsigned char)((uint64_t)parts[i].len >> (8 * b));
        ok = EVP_DigestUpdate(ctx, len, sizeof len) == 1 && EVP_DigestUpdate(ctx, parts[i].data, parts[i].len) == 1;
    }
    return finish(ctx, ok, hex);
}

int jit_hash_fd(int fd, char hex[JIT_HEX]) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) {
        errno = ENOMEM;
        return -1;
    }
    int ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    unsigned char buf[1 << 16];
    off_t off = 0;
    while (ok) {
        ssize_t r = pread(fd, buf, sizeof buf, off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            ok = r == 0;
            break;
        }
        ok = EVP_DigestUpdate(ctx, buf, (size_t)r) == 1;
        off += r;
    }
    int err = errno ? errno : EIO;
    if (finish(ctx, ok, hex) == 0) return 0;
    errno = err;
    return -1;
}
