/* jit_cache.h — where `dlnc run` keeps the models it built, and the checks
 * that make loading code from there safe (issue 18).
 *
 * The cache is per user: the first of an explicit directory (`jit_options.
 * cache_dir`), $DLNC_CACHE, $XDG_CACHE_HOME/dlnc, $HOME/.cache/dlnc and the
 * passwd entry's home/.cache/dlnc — never a shared directory such as /tmp.
 * Every directory dlnc creates for it is 0700; the root and each entry must
 * be owned by the effective user and not writable by group or others, or
 * dlnc refuses to use them: whoever can write there could run code in dlnc.
 * Everything below the root is reached through directory descriptors
 * (openat, mkdirat, renameat), so what was checked is what is used even if a
 * path above is renamed meanwhile.
 *
 * An entry <root>/<key>/ (key: jit_key.h) holds model.c, model.h, dlnrt.h,
 * model.so and model.so.sha256, the SHA-256 of model.so recorded when it was
 * built, in sha256sum's format (`sha256sum -c model.so.sha256` checks it by
 * hand). A model.so is loaded only if it is a regular file of ours, writable
 * by no one else, whose bytes hash to that record: a damaged (truncated,
 * half-written) or replaced one is rebuilt instead, never loaded.
 *
 * The LLVM JIT's entries (jit_llvm.h) hold only model.so, there a
 * relocatable object that LLJIT links, and its record: the same checks. */
#ifndef DLNC_JIT_CACHE_H
#define DLNC_JIT_CACHE_H
#include <stddef.h>
#include <sys/stat.h>

/* The cache root's path into buf. Returns 0, or -1 with a message. */
int jit_cache_root(const char *explicit_dir, char *buf, size_t n);

/* Creates the root (with missing parents, all 0700) and opens it, or -1 with
 * a message if it is not a directory of ours that only we can write. */
int jit_cache_open_root(const char *root);

/* The same for entry `name` (no symlink) directly under the root. */
int jit_cache_open_entry(int root_fd, const char *root, const char *name);

/* NULL if `st` is a directory (want_dir) or regular file owned by the
 * effective user and not writable by group or others, else what is wrong,
 * as text for "'path' <text>", in why[n]. */
const char *jit_cache_check(const struct stat *st, int want_dir, char *why, size_t n);

/* Writes `name` in dir_fd atomically (a temporary file renamed over it),
 * mode 0600, fsynced first if `sync`. Returns 0, or -1 with errno set. */
int jit_cache_write(int dir_fd, const char *name, const void *data, size_t len, int sync);

enum { JIT_SO_ABSENT = -1, JIT_SO_BAD = -2 };

/* Opens the entry's model.so if it passes the checks above. Returns the
 * descriptor; JIT_SO_ABSENT if there is none yet; JIT_SO_BAD if there is one
 * that fails, with why[n] saying how (text for "'path' <why>"). */
int jit_cache_open_so(int dir_fd, char *why, size_t n);

/* Makes the freshly built `tmp` (a name in dir_fd) the entry's model.so:
 * mode 0700, fsynced, its SHA-256 recorded in model.so.sha256 (fsynced),
 * both renamed into place, the directory fsynced. Returns 0, or -1 with a
 * message. */
int jit_cache_install_so(int dir_fd, const char *dir, const char *tmp);

#endif
