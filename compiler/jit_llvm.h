/* jit_llvm.h — `dlnc run --jit=llvm`: the generated C compiled in process.
 *
 * Built only with `make LLVM=1` (compiler/jit_llvm.cpp: clang's
 * CompilerInstance turns the source into an LLVM module and the host's
 * target machine into a relocatable object; ORC's LLJIT links the object
 * into dlnc's own memory). No process is started. jit.c keeps the object in
 * the same verified cache as the cc path's model.so (jit_cache.h), under a
 * key of its own, so a second run only links. The other build links
 * compiler/jit_llvm_none.c, which says LLVM is absent. */
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

/* What the object code depends on besides the source, for the cache key:
 * LLVM's version, the host's triple, CPU and features. malloc()ed; NULL with
 * a message if the host cannot be targeted. */
char *jit_llvm_target_id(void);

/* Compiles `c_text` (which #includes "<header_name>" and "dlnrt.h", given
 * here in memory) at -O3 for the host CPU with OpenMP into a relocatable
 * object, malloc()ed into *obj. Returns 0, or -1 with a message on stderr.
 * `verbose` prints the compile's wall and CPU time. */
int jit_llvm_compile(const char *c_text, size_t c_len, const char *h_text, size_t h_len, const char *header_name,
                     int verbose, void **obj, size_t *obj_len);

/* Links such an object into this process and looks up dlnc_entry and
 * dlnc_models. Returns the session, or NULL with a message on stderr. */
jit_llvm *jit_llvm_load(const void *obj, size_t obj_len, const dl_model_api *(**entry)(void),
                        const dl_model_api *const **models);
void jit_llvm_free(jit_llvm *j);

#ifdef __cplusplus
}
#endif
#endif
