/* jit_key.h — the name of a cache entry: the SHA-256 of everything that goes
 * into building its model.so, so that an entry is reused exactly when a
 * build would produce the same thing. */
#ifndef DLNC_JIT_KEY_H
#define DLNC_JIT_KEY_H
#include <stddef.h>

#include "jit_hash.h"
#include "jit_spawn.h"

/* Returns 0, or -1 with a message. */
int jit_key(const char *c_text, size_t c_len, const char *h_text, size_t h_len, const char *header_name,
            const jit_cc *cc, char hex[JIT_HEX]);

/* The LLVM JIT's key: `target_id` from jit_llvm_target_id() in place of the
 * compiler, and the CPU's identity always. */
int jit_key_llvm(const char *c_text, size_t c_len, const char *h_text, size_t h_len, const char *header_name,
                 const char *target_id, char hex[JIT_HEX]);

#endif
