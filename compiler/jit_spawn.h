/* jit_spawn.h — run the C compiler on a cache entry, without a shell.
 *
 * The compiler command and its flags are split into words at spaces and
 * tabs, with no quoting, globbing or variable expansion: `DLNC_CC="ccache cc"`
 * works, a compiler or flag containing a space cannot be named (use a
 * symlink or a wrapper script). No path goes through a shell, so a cache
 * directory may contain quotes, spaces or `;` (issue 18). */
#ifndef DLNC_JIT_SPAWN_H
#define DLNC_JIT_SPAWN_H
#include <limits.h>
#include <sys/stat.h>

typedef struct jit_cc {
    char **argv;          /* NULL-terminated: CC -std=c11 CFLAGS -fopenmp -fPIC -shared -I. -o model.so model.c -lm */
    int out_arg;          /* index of the output name ("model.so" until jit_cc_run) */
    char path[PATH_MAX];  /* argv[0] found as posix_spawnp would, made absolute */
    struct stat st;       /* of path: which compiler it is, for the cache key */
} jit_cc;

/* Splits cc and cflags and finds the compiler. Returns 0, or -1 with a message. */
int jit_cc_prepare(jit_cc *c, const char *cc, const char *cflags);
void jit_cc_free(jit_cc *c);

/* Builds model.c in the directory `dir_fd` (shown to users as `dir`) into
 * `out_name` there, with that directory as the compiler's working directory.
 * Its messages go to dlnc's stderr. Returns 0, or -1 with a message. */
int jit_cc_run(jit_cc *c, int dir_fd, const char *dir, const char *out_name, int verbose);

#endif
