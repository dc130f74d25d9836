/* jit_llvm.h — `dlnc run --jit=llvm`: the generated C compiled in process.
 *
 * Built only with `make LLVM=1` (compiler/jit_llvm.cpp: clang's
 * CompilerInstance turns the source into an LLVM module, ORC's LLJIT turns
 * that into code in dlnc's own memory). Nothing is written to disk and no
 * process is started, so there is no cache entry anyone could plant. The
 * other build links compiler/jit_llvm_none.c, which says it is absent. */
#ifndef DLNC_JIT_LLVM_H
#define DLNC_JIT_LLVM_H
#include <stddef.h>

#include "dlnrt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jit_llvm jit_llvm; /* the JIT session: the code lives as long as it does */

/* 1 when this dlnc was built with LLVM=1. */
int jit_llvm_available(void);

/* Compiles `c_text` (which #includes "<header_name>" and "dlnrt.h", given
 * here in memory) at -O3 for the host CPU with OpenMP, and looks up
 * dlnc_entry and dlnc_models. Returns the session, or NULL with a message on
 * stderr. `verbose` prints the compile and link times. */
jit_llvm *jit_llvm_load(const char *c_text, size_t c_len, const char *h_text, size_t h_len, const char *header_name,
                        int verbose, const dl_model_api *(**entry)(void), const dl_model_api *const **models);
void jit_llvm_free(jit_llvm *j);

#ifdef __cplusplus
}
#endif
#endif
