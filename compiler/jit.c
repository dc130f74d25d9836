/* jit.c — see jit.h. Each model version gets its own cache directory
 * <cache>/<hash>/ holding model.c, model.h, dlnrt.h and model.so; a build
 * goes to model.so.tmp.<pid> and is renamed into place, so concurrent runs
 * and interrupted builds never leave a broken shared object behind. */
#include "jit.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlnc_version.h"
#include "jit_cache.h"
#include "jit_spawn.h"

extern const char dlnrt_header_text[]; /* runtime/dlnrt.h, embedded at build time */

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static const char *env_or(const char *name, const char *dflt) {
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* The entry's model.so: kept if there, else its sources written and built. */
static int build(const char *c_text, size_t c_len, const char *h_text, size_t h_len, const char *cc, const char *cflags,
                 int dir_fd, const char *dir, int verbose, jit_module *out) {
    if (faccessat(dir_fd, "model.so", R_OK, 0) == 0) {
        out->cached = 1;
        if (verbose) fprintf(stderr, "dlnc: using cached %s\n", out->so_path);
        return 0;
    }
    if (jit_cache_write(dir_fd, "model.c", c_text, c_len, 0) != 0 ||
        jit_cache_write(dir_fd, "model.h", h_text, h_len, 0) != 0 ||
        jit_cache_write(dir_fd, "dlnrt.h", dlnrt_header_text, strlen(dlnrt_header_text), 0) != 0) {
        fprintf(stderr, "dlnc: error: cannot write to the cache directory '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "model.so.tmp.%ld", (long)getpid());
    if (jit_spawn_cc(cc, cflags, dir_fd, dir, tmp, verbose) != 0) {
        unlinkat(dir_fd, tmp, 0);
        return -1;
    }
    if (renameat(dir_fd, tmp, dir_fd, "model.so") != 0) {
        fprintf(stderr, "dlnc: error: cannot install '%s': %s\n", out->so_path, strerror(errno));
        unlinkat(dir_fd, tmp, 0);
        return -1;
    }
    return 0;
}

int jit_load(const char *c_text, size_t c_len, const char *h_text, size_t h_len, const char *header_name,
             const jit_options *opt, jit_module *out) {
    (void)header_name;
    memset(out, 0, sizeof *out);
    const char *cc = opt && opt->cc ? opt->cc : env_or("DLNC_CC", "cc");
    const char *cflags = opt && opt->cflags ? opt->cflags : env_or("DLNC_CFLAGS", "-O3 -march=native -fno-math-errno");
    char root[4096];
    if (jit_cache_root(opt ? opt->cache_dir : NULL, root, sizeof root) != 0) return -1;

    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv1a(h, c_text, c_len);
    h = fnv1a(h, h_text, h_len);
    h = fnv1a(h, dlnrt_header_text, strlen(dlnrt_header_text));
    h = fnv1a(h, cc, strlen(cc));
    h = fnv1a(h, cflags, strlen(cflags));
    h = fnv1a(h, DLNC_VERSION, strlen(DLNC_VERSION));
    char key[32], dir[4200];
    snprintf(key, sizeof key, "%016llx", (unsigned long long)h);
    snprintf(dir, sizeof dir, "%s/%s", root, key);
    snprintf(out->so_path, sizeof out->so_path, "%s/model.so", dir);

    int root_fd = jit_cache_open_root(root);
    if (root_fd < 0) return -1;
    int dir_fd = jit_cache_open_entry(root_fd, root, key);
    close(root_fd);
    if (dir_fd < 0) return -1;
    int rc = build(c_text, c_len, h_text, h_len, cc, cflags, dir_fd, dir, opt && opt->verbose, out);
    close(dir_fd);
    if (rc != 0) return -1;
    out->handle = dlopen(out->so_path, RTLD_NOW | RTLD_LOCAL);
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
    out->api = entry();
    if (!out->api || out->api->abi_version != DL_ABI_VERSION) {
        fprintf(stderr, "dlnc: error: '%s' was built for another runtime version\n", out->so_path);
        jit_unload(out);
        return -1;
    }
    return 0;
}

void jit_unload(jit_module *m) {
    if (m->handle) dlclose(m->handle);
    m->handle = NULL;
    m->api = NULL;
}
