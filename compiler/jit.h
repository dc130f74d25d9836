/* jit.h — `dlnc run`: build generated C into a shared object and train it.
 *
 * The default JIT is the system C compiler: the generated source is built
 * once into a per-user cache entry <cache>/<SHA-256 key>/model.so
 * (jit_cache.h, jit_key.h), verified against its recorded SHA-256 and
 * dlopen()ed. The shared object's dl_* references resolve against the
 * libdlnrt linked into dlnc itself, so the cache holds nothing but models.
 *
 * With `make LLVM=1` the source can instead be compiled in process
 * (jit_llvm.h): no compiler is run, nothing is cached. */
#ifndef DLNC_JIT_H
#define DLNC_JIT_H
#include <stddef.h>

#include "dlnrt.h"
#include "jit_llvm.h"

typedef enum jit_backend {
    JIT_DEFAULT,  /* $DLNC_JIT if set, else cc */
    JIT_CC,       /* the system C compiler, cached shared object */
    JIT_LLVM,     /* clang + ORC in process (jit_llvm.h) */
} jit_backend;

typedef struct jit_options {
    jit_backend backend;
    const char *cc;          /* compiler command, split at spaces (jit_spawn.h); default $DLNC_CC or "cc" */
    const char *cflags;      /* default $DLNC_CFLAGS or "-O3 -march=native -fno-math-errno" (sqrtf/expf vectorize without errno) */
    const char *cache_dir;   /* default $DLNC_CACHE, $XDG_CACHE_HOME/dlnc or ~/.cache/dlnc (jit_cache.h) */
    int verbose;             /* print the cache entry and the compile command */
    int profile;             /* add -DDL_PROFILE (`dlnc run --profile`: timed kernel calls) */
} jit_options;

typedef struct jit_module {
    void *handle;            /* the cc path's dlopen() handle */
    jit_llvm *llvm;          /* or the LLVM path's session */
    const dl_model_api *api;
    const dl_model_api *const *models;  /* dlnc_models: every module of the file, in order, NULL-terminated */
    char so_path[8192];      /* the entry's model.so, for messages (it is loaded from a verified descriptor) */
    int cached;              /* 1 if the shared object came from the cache */
    jit_backend backend;     /* JIT_CC or JIT_LLVM: which one built it */
} jit_module;

/* Build (or find in the cache) and load. Returns 0, or -1 with a message on stderr. */
int jit_load(const char *c_text, size_t c_len, const char *h_text, size_t h_len, const char *header_name,
             const jit_options *opt, jit_module *out);
void jit_unload(jit_module *m);

/* "cc" or "llvm" → the backend; -1 for anything else. */
int jit_backend_parse(const char *s);

#endif
