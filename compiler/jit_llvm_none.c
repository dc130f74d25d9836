/* jit_llvm_none.c — the build without LLVM (see jit_llvm.h): --jit=llvm is
 * refused with the way to get it, and everything else is the cc path. */
#include <stdio.h>

#include "jit_llvm.h"

int jit_llvm_available(void) { return 0; }

char *jit_llvm_target_id(void) { return NULL; }

int jit_llvm_compile(const char *c_text, size_t c_len, const char *h_text, size_t h_len, const char *header_name,
                     int verbose, void **obj, size_t *obj_len) {
    (void)c_text, (void)c_len, (void)h_text, (void)h_len, (void)header_name, (void)verbose, (void)obj,
        (void)obj_len;
    return -1;
}

jit_llvm *jit_llvm_load(const void *obj, size_t obj_len, const dl_model_api *(**entry)(void),
                        const dl_model_api *const **models) {
    (void)obj, (void)obj_len, (void)entry, (void)models;
    return NULL;
}

void jit_llvm_free(jit_llvm *j) { (void)j; }
