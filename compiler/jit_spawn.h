/* jit_spawn.h — run the C compiler on a cache entry, without a shell.
 *
 * The compiler command and its flags are split into words at spaces and
 * tabs, with no quoting, globbing or variable expansion: `DLNC_CC="ccache cc"`
 * works, a compiler or flag containing a space cannot be named (use a
 * symlink or a wrapper script). No path goes through a shell, so a cache
 * directory may contain quotes, spaces or `;` (issue 18). */
#ifndef DLNC_JIT_SPAWN_H
#define DLNC_JIT_SPAWN_H

/* Build `model.c` in the directory `dir_fd` (shown to users as `dir`) into
 * `out_name` there, as `CC -std=c11 CFLAGS -fopenmp -fPIC -shared -I. -o
 * OUT model.c -lm` run with that directory as its working directory. The
 * compiler's messages go to dlnc's stderr. Returns 0, or -1 with a message. */
int jit_spawn_cc(const char *cc, const char *cflags, int dir_fd, const char *dir, const char *out_name, int verbose);

#endif
