/* jit.c — see jit.h. The steps, each in its own file:
 *
 *   jit_spawn.c  the compiler's argument vector (no shell), and running it
 *   jit_key.c    the entry's name: SHA-256 of everything the build depends on
 *   jit_cache.c  the per-user cache root and entry directories, checked;
 *                the verified model.so, or installing a new one
 *
 * A build goes to model.so.tmp.<pid> and is renamed into place, so
 * concurrent runs and interrupted builds never leave a broken shared object
 * behind, and a damaged one found later fails verification and is rebuilt. */
#include "jit.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jit_cache.h"
#include "jit_key.h"
#include "jit_spawn.h"

extern const char dlnrt_header_text[]; /* runtime/dlnrt.h, embedded at build time */

static const char *env_or(const char *name, const char *dflt) {
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* Writes the entry's sources and builds them into its model.so. */
static int build(jit_cc *cc, int dir_fd, const char *dir, const char *c_text, size_t c_len, const char *h_text,
                 size_t h_len, const char *header_name, int verbose) {
    if (jit_cache_write(dir_fd, "model.c", c_text, c_len, 0) != 0 ||
        jit_cache_write(dir_fd, header_name, h_text, h_len, 0) != 0 ||
        jit_cache_write(dir_fd, "dlnrt.h", dlnrt_header_text, strlen(dlnrt_header_text), 0) != 0) {
        fprintf(stderr, "dlnc: error: cannot write to the cache directory '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "model.so.tmp.%ld", (long)getpid());
    if (jit_cc_run(cc, dir_fd, dir, tmp, verbose) != 0) {
        unlinkat(dir_fd, tmp, 0);
        return -1;
    }
    return jit_cache_install_so(dir_fd, dir, tmp);
}

/* The entry's verified model.so, built first if it has none or its model.so
 * fails verification. Returns a descriptor, or -1 with a message. */
static int find_or_build(jit_cc *cc, int dir_fd, const char *dir, const char *c_text, size_t c_len,
                         const char *h_text, size_t h_len, const char *header_name, int verbose, jit_module *out) {
    char why[256];
    int fd = jit_cache_open_so(dir_fd, why, sizeof why);
    if (fd >= 0) {
        out->cached = 1;
        if (verbose) fprintf(stderr, "dlnc: using cached %s\n", out->so_path);
        return fd;
    }
    if (fd == JIT_SO_BAD) fprintf(stderr, "dlnc: warning: the cached '%s' %s; rebuilding it\n", out->so_path, why);
    if (build(cc, dir_fd, dir, c_text, c_len, h_text, h_len, header_name, verbose) != 0) return -1;
    fd = jit_cache_open_so(dir_fd, why, sizeof why);
    if (fd < 0)
        fprintf(stderr, "dlnc: error: the model.so just built in '%s' %s\n", dir,
                fd == JIT_SO_ABSENT ? "is gone" : why);
    return fd < 0 ? -1 : fd;
}

/* The module's entry points, once loaded by either path; checks it was
 * generated for this runtime's ABI. */
static int bind(const dl_model_api *(*entry)(void), const dl_model_api *const *models, jit_module *out) {
    out->api = entry();
    out->models = models;
    if (!out->api || out->api->abi_version != DL_ABI_VERSION) {
        fprintf(stderr, "dlnc: error: '%s' was built for another runtime version\n", out->so_path);
        jit_unload(out);
        return -1;
    }
    return 0;
}

/* Load what was verified, not whatever the path names by now: dlopen of
 * /proc/self/fd/N opens the very inode that was hashed, so a model.so
 * renamed in, or a symlink planted, after the check is never what gets
 * mapped. That inode's bytes could still change in between only by a write
 * into it in place, which needs write permission on a file we checked is
 * ours alone — dlnc itself never writes an installed model.so, it renames
 * new ones over it — and whoever has that permission could replace dlnc.
 * A private memfd copy would close even that gap, but executable memfds are
 * refused on hardened kernels (vm.memfd_noexec) and cost a copy per run. */
static int load(int fd, jit_module *out) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    out->handle = dlopen(proc, RTLD_NOW | RTLD_LOCAL);
    close(fd);
    if (!out->handle) {
        fprintf(stderr, "dlnc: error: cannot load '%s': %s\n", out->so_path, dlerror());
        return -1;
    }
    const dl_model_api *(*entry)(void);
    *(void **)&entry = dlsym(out->handle, "dlnc_entry");
    if (!entry) {
        fprintf(stderr, "dlnc: error: '%s' has no dlnc_entry\n", out->so_path);
        jit_unload(out);
        return -1;
    }
    return bind(entry, dlsym(out->handle, "dlnc_models"), out);
}

/* All of the verified object, read through the descriptor that was hashed
 * (see load() for why that is the file that was checked). */
static void *read_all(int fd, size_t *len) {
    struct stat st;
    if (fstat(fd, &st) != 0) return NULL;
    char *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            free(buf);
            return NULL;
        }
        got += (size_t)r;
    }
    *len = got;
    return buf;
}

/* The entry's verified object, or a new one compiled and installed; into
 * *obj (malloc()ed). The entry is the cc path's kind (jit_cache.h): its
 * model.so holds the relocatable object LLJIT links, not a shared object. */
static int llvm_object(int dir_fd, const char *dir, const char *c_text, size_t c_len, const char *h_text,
                       size_t h_len, const char *header_name, int verbose, jit_module *out, void **obj, size_t *len) {
    char why[256];
    int fd = jit_cache_open_so(dir_fd, why, sizeof why);
    if (fd >= 0) {
        *obj = read_all(fd, len);
        close(fd);
        if (!*obj) fprintf(stderr, "dlnc: error: cannot read '%s': %s\n", out->so_path, strerror(errno));
        else if (verbose) fprintf(stderr, "dlnc: using cached %s\n", out->so_path);
        out->cached = 1;
        return *obj ? 0 : -1;
    }
    if (fd == JIT_SO_BAD) fprintf(stderr, "dlnc: warning: the cached '%s' %s; rebuilding it\n", out->so_path, why);
    if (verbose) fprintf(stderr, "dlnc: building in %s with LLVM, in process\n", dir);
    if (jit_llvm_compile(c_text, c_len, h_text, h_len, header_name, verbose, obj, len) != 0) return -1;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "model.so.tmp.%ld", (long)getpid());
    if (jit_cache_write(dir_fd, tmp, *obj, *len, 0) != 0) {
        fprintf(stderr, "dlnc: error: cannot write to the cache directory '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    return jit_cache_install_so(dir_fd, dir, tmp);
}

/* The LLVM path (jit_llvm.h): compiled in process, cached like cc's. */
static int load_llvm(const char *c_text, size_t c_len, const char *h_text, size_t h_len, const char *header_name,
                     const jit_options *opt, jit_module *out) {
    if (!jit_llvm_available()) {
        fprintf(stderr, "dlnc: error: --jit=llvm: this dlnc was built without LLVM (rebuild with `make LLVM=1`)\n");
        return -1;
    }
    char *target = jit_llvm_target_id();
    if (!target) {
        fprintf(stderr, "dlnc: error: LLVM JIT: cannot target this host\n");
        return -1;
    }
    char root[4096], key[JIT_HEX], dir[4200];
    int rc = -1, root_fd = -1, dir_fd = -1;
    void *obj = NULL;
    size_t len = 0;
    const dl_model_api *(*entry)(void);
    const dl_model_api *const *models;
    if (jit_key_llvm(c_text, c_len, h_text, h_len, header_name, target, key) != 0 ||
        jit_cache_root(opt ? opt->cache_dir : NULL, root, sizeof root) != 0)
        goto out;
    snprintf(dir, sizeof dir, "%s/%s", root, key);
    snprintf(out->so_path, sizeof out->so_path, "%s/model.so", dir);
    if ((root_fd = jit_cache_open_root(root)) < 0 || (dir_fd = jit_cache_open_entry(root_fd, root, key)) < 0) goto out;
    if (llvm_object(dir_fd, dir, c_text, c_len, h_text, h_len, header_name, opt && opt->verbose, out, &obj, &len) != 0)
        goto out;
    out->llvm = jit_llvm_load(obj, len, &entry, &models);
    if (out->llvm) rc = bind(entry, models, out);
out:
    if (dir_fd >= 0) close(dir_fd);
    if (root_fd >= 0) close(root_fd);
    free(obj);
    free(target);
    return rc;
}

/* --jit, else $DLNC_JIT, else cc — also in a dlnc built with LLVM: its
 * code is what users ship and `make bench` measures, and LLVM's cold start
 * is no faster (docs/performance.md). */
static jit_backend choose_backend(const jit_options *opt) {
    if (opt && opt->backend != JIT_DEFAULT) return opt->backend;
    const char *env = getenv("DLNC_JIT");
    if (env && *env) {
        int b = jit_backend_parse(env);
        if (b >= 0) return (jit_backend)b;
        fprintf(stderr, "dlnc: warning: DLNC_JIT='%s' is neither cc nor llvm; using cc\n", env);
    }
    return JIT_CC;
}

int jit_backend_parse(const char *s) {
    if (!strcmp(s, "cc")) return JIT_CC;
    if (!strcmp(s, "llvm")) return JIT_LLVM;
    return -1;
}

static int load_cc(const char *c_text, size_t c_len, const char *h_text, size_t h_len, const char *header_name,
                   const jit_options *opt, jit_module *out) {
    const char *cc_cmd = opt && opt->cc ? opt->cc : env_or("DLNC_CC", "cc");
    const char *cflags = opt && opt->cflags ? opt->cflags : env_or("DLNC_CFLAGS", "-O3 -march=native -fno-math-errno");
    int verbose = opt && opt->verbose;
    /* a profiled build's -DDL_PROFILE is one of the compiler's words, and so
     * part of the cache key: it never shares an entry with the plain build */
    char profiled[4096];
    if (opt && opt->profile) {
        snprintf(profiled, sizeof profiled, "%s -DDL_PROFILE", cflags);
        cflags = profiled;
    }
    jit_cc cc;
    if (jit_cc_prepare(&cc, cc_cmd, cflags) != 0) return -1;
    char root[4096], key[JIT_HEX], dir[4200];
    int rc = -1, root_fd = -1, dir_fd = -1, so_fd = -1;
    if (jit_key(c_text, c_len, h_text, h_len, header_name, &cc, key) != 0 ||
        jit_cache_root(opt ? opt->cache_dir : NULL, root, sizeof root) != 0)
        goto out;
    snprintf(dir, sizeof dir, "%s/%s", root, key);
    snprintf(out->so_path, sizeof out->so_path, "%s/model.so", dir);
    if ((root_fd = jit_cache_open_root(root)) < 0 || (dir_fd = jit_cache_open_entry(root_fd, root, key)) < 0) goto out;
    so_fd = find_or_build(&cc, dir_fd, dir, c_text, c_len, h_text, h_len, header_name, verbose, out);
    if (so_fd >= 0) rc = load(so_fd, out);
out:
    if (dir_fd >= 0) close(dir_fd);
    if (root_fd >= 0) close(root_fd);
    jit_cc_free(&cc);
    return rc;
}

int jit_load(const char *c_text, size_t c_len, const char *h_text, size_t h_len, const char *header_name,
             const jit_options *opt, jit_module *out) {
    memset(out, 0, sizeof *out);
    out->backend = choose_backend(opt);
    int verbose = opt && opt->verbose;
    int rc = out->backend == JIT_LLVM ? load_llvm(c_text, c_len, h_text, h_len, header_name, opt, out)
                                      : load_cc(c_text, c_len, h_text, h_len, header_name, opt, out);
    /* bench/jit_startup.py times the command up to this line. */
    if (rc == 0 && verbose) fprintf(stderr, "dlnc: model ready (%s JIT)\n", out->backend == JIT_LLVM ? "llvm" : "cc");
    return rc;
}

void jit_unload(jit_module *m) {
    if (m->handle) dlclose(m->handle);
    jit_llvm_free(m->llvm);
    m->handle = NULL;
    m->llvm = NULL;
    m->api = NULL;
}
