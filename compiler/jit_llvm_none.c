/* jit_llvm_none.c — the build without LLVM (see jit_llvm.h): --jit=llvm is
 * refused with the way to get it, and everything else is the cc path. */
#include <stdio.h>

#include "jit_llvm.h"

int jit_llvm_available(void) { return 0; }

jit_llvm *jit_llvm_load(const char *c_text, size_t c_len, const char *h_text, size_t h_len, const char *header_name,
                        int verbose, const dl_model_api *(**entry)(void), const dl_model_api *const **models) {
    (void)c_text, (void)c_len, (void)h_text, (void)h_len, (void)header_name, (void)verbose, (void)entry,
        (void)models;
    fprintf(stderr, "dlnc: error: --jit=llvm: this dlnc was built without LLVM (rebuild with `make LLVM=1`)\n");
    return NULL;
}

void jit_llvm_free(jit_llvm *j) { (void)j; }
