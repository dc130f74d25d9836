/* jit_cache.c — see jit_cache.h. */
#include "jit_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jit_hash.h"

/* "$base/suffix" into buf if base is an absolute path (the XDG spec says to
 * ignore relative ones; a relative HOME would make the cache follow the
 * working directory). */
static int under(const char *base, const char *suffix, char *buf, size_t n) {
    if (!base || base[0] != '/') return 0;
    return (size_t)snprintf(buf, n, "%s/%s", base, suffix) < n;
}

int jit_cache_root(const char *explicit_dir, char *buf, size_t n) {
    const char *dir = explicit_dir && *explicit_dir ? explicit_dir : getenv("DLNC_CACHE");
    if (dir && *dir) {
        if ((size_t)snprintf(buf, n, "%s", dir) < n) return 0;
        fprintf(stderr, "dlnc: error: the cache directory path is too long\n");
        return -1;
    }
    if (under(getenv("XDG_CACHE_HOME"), "dlnc", buf, n) || under(getenv("HOME"), ".cache/dlnc", buf, n)) return 0;
    const struct passwd *pw = getpwuid(geteuid());
    if (pw && under(pw->pw_dir, ".cache/dlnc", buf, n)) return 0;
    fprintf(stderr, "dlnc: error: no home directory for the build cache; set DLNC_CACHE to a directory of your own\n");
    return -1;
}

const char *jit_cache_check(const struct stat *st, int want_dir, char *why, size_t n) {
    if (want_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
        snprintf(why, n, "is not a %s", want_dir ? "directory" : "regular file");
    else if (st->st_uid != geteuid())
        snprintf(why, n, "is owned by uid %u, not by you (uid %u)", (unsigned)st->st_uid, (unsigned)geteuid());
    else if (st->st_mode & (S_IWGRP | S_IWOTH))
        snprintf(why, n, "is writable by group or others (mode %04o)", (unsigned)(st->st_mode & 07777));
    else return NULL;
    return why;
}

/* fd if it is a directory only we can write, else close it and explain. */
static int checked_dir(int fd, const char *path) {
    struct stat st;
    char why[128];
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "dlnc: error: cannot open the cache directory '%s': %s\n", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    if (jit_cache_check(&st, 1, why, sizeof why)) {
        const char *fix = S_ISDIR(st.st_mode) && st.st_uid == geteuid() ? "chmod go-w it, or set DLNC_CACHE"
                                                                         : "set DLNC_CACHE to a directory of your own";
        fprintf(stderr, "dlnc: error: the cache directory '%s' %s; dlnc loads code from there, so only you may "
                "write to it (%s)\n", path, why, fix);
        close(fd);
        return -1;
    }
    return fd;
}

int jit_cache_open_root(const char *root) {
    char buf[4096];
    if ((size_t)snprintf(buf, sizeof buf, "%s", root) >= sizeof buf) {
        fprintf(stderr, "dlnc: error: the cache directory path is too long\n");
        return -1;
    }
    /* mkdir -p, 0700; existing directories are left as they are. */
    for (char *p = buf + 1;; p++) {
        if (*p && *p != '/') continue;
        char c = *p;
        *p = 0;
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "dlnc: error: cannot create the cache directory '%s': %s\n", buf, strerror(errno));
            return -1;
        }
        *p = c;
        if (!c) break;
    }
    /* A symlinked root (a cache kept on another disk) is fine: the checks
     * are on the directory it leads to, and we keep that one open. */
    return checked_dir(open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), root);
}

int jit_cache_open_entry(int root_fd, const char *root, const char *name) {
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", root, name);
    if (mkdirat(root_fd, name, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "dlnc: error: cannot create the cache directory '%s': %s\n", path, strerror(errno));
        return -1;
    }
    return checked_dir(openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), path);
}

int jit_cache_write(int dir_fd, const char *name, const void *data, size_t len, int sync) {
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", name, (long)getpid());
    int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    const char *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, p + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            break;
        }
        done += (size_t)w;
    }
    int ok = done == len && (!sync || fsync(fd) == 0);
    if (close(fd) != 0) ok = 0;
    if (ok && renameat(dir_fd, tmp, dir_fd, name) == 0) return 0;
    int err = errno;
    unlinkat(dir_fd, tmp, 0);
    errno = err;
    return -1;
}

/* Opens `name` in dir_fd for reading if it is a regular file of ours that
 * only we can write; else -1 with why[n] set. O_NOFOLLOW refuses a symlink,
 * O_NONBLOCK keeps a FIFO planted there from blocking the open. */
static int open_checked(int dir_fd, const char *name, char *why, size_t n) {
    int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    char what[160];
    if (fd < 0 && errno == ELOOP) snprintf(why, n, "is a symbolic link");
    else if (fd < 0 || fstat(fd, &st) != 0) snprintf(why, n, "cannot be read (%s)", strerror(errno));
    else if (jit_cache_check(&st, 0, what, sizeof what)) snprintf(why, n, "%s", what);
    else return fd;
    int err = errno;
    if (fd >= 0) close(fd);
    errno = err;
    return -1;
}

/* The hash recorded for model.so: "<64 hex digits>  model.so\n". */
static int read_record(int dir_fd, char hex[JIT_HEX], char *why, size_t n) {
    char what[200], text[128];
    int fd = open_checked(dir_fd, "model.so.sha256", what, sizeof what);
    if (fd < 0 && errno == ENOENT) snprintf(why, n, "has no recorded SHA-256 (no model.so.sha256)");
    else if (fd < 0) snprintf(why, n, "has a record of its SHA-256 that %s (model.so.sha256)", what);
    if (fd < 0) return -1;
    ssize_t len = read(fd, text, sizeof text - 1);
    close(fd);
    text[len > 0 ? len : 0] = 0;
    const int digits = JIT_HEX - 1;
    if (len != digits + 11 || strspn(text, "0123456789abcdef") != (size_t)digits ||
        strcmp(text + digits, "  model.so\n")) {
        snprintf(why, n, "has a damaged record of its SHA-256 (model.so.sha256)");
        return -1;
    }
    memcpy(hex, text, (size_t)digits);
    hex[digits] = 0;
    return 0;
}

int jit_cache_open_so(int dir_fd, char *why, size_t n) {
    char recorded[JIT_HEX], actual[JIT_HEX];
    struct stat st;
    if (fstatat(dir_fd, "model.so", &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) return JIT_SO_ABSENT;
    int fd = open_checked(dir_fd, "model.so", why, n);
    if (fd < 0 || read_record(dir_fd, recorded, why, n) != 0) {
        if (fd >= 0) close(fd);
        return JIT_SO_BAD;
    }
    if (jit_hash_fd(fd, actual) != 0) snprintf(why, n, "cannot be read (%s)", strerror(errno));
    else if (strcmp(actual, recorded) != 0)
        snprintf(why, n, "does not match its recorded SHA-256 (damaged or replaced)");
    else return fd;
    close(fd);
    return JIT_SO_BAD;
}

int jit_cache_install_so(int dir_fd, const char *dir, const char *tmp) {
    char hex[JIT_HEX] = "", record[JIT_HEX + 16], why[160] = "";
    struct stat st;
    int fd = openat(dir_fd, tmp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    /* The compiler made it with the user's umask (0775 under umask 002): make
     * it ours alone before checking, hashing and naming it. */
    int ok = fd >= 0 && fchmod(fd, 0700) == 0 && fstat(fd, &st) == 0;
    if (ok && jit_cache_check(&st, 0, why, sizeof why)) ok = 0;
    /* Its bytes reach the disk before its name does: after a crash the entry
     * holds the old model.so or the new one, never a short one. */
    ok = ok && fsync(fd) == 0 && jit_hash_fd(fd, hex) == 0;
    int err = errno;
    if (fd >= 0) close(fd);
    snprintf(record, sizeof record, "%s  model.so\n", hex);
    /* The record first: a run that looks in between sees the new record with
     * the old model.so (or none) and rebuilds, never loads unverified bytes.
     * Same-key builds are deterministic, so this is rare and harmless. */
    if (ok && jit_cache_write(dir_fd, "model.so.sha256", record, strlen(record), 1) == 0 &&
        renameat(dir_fd, tmp, dir_fd, "model.so") == 0 && fsync(dir_fd) == 0)
        return 0;
    if (!*why) snprintf(why, sizeof why, "%s", strerror(ok ? errno : err));
    fprintf(stderr, "dlnc: error: cannot install '%s/model.so': %s\n", dir, why);
    unlinkat(dir_fd, tmp, 0);
    return -1;
}
