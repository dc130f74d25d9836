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
#include <sys/stat.h>
#include <unistd.h>

#include "dlnc_version.h"
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

static int mkdirs(const char *path) {
    char buf[8192];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    return 0;
}

static int write_file(const char *path, const char *text, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(text, 1, len, f);
    int rc = fclose(f);
    return w == len && rc == 0 ? 0 : -1;
}

static const char *env_or(const char *name, const char *dflt) {
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

int jit_load(const char *c_text, size_t c_len, const char *h_text, size_t h_len, const char *header_name,
             const jit_options *opt, jit_module *out) {
    (void)header_name;
    memset(out, 0, sizeof *out);
    const char *cc = opt && opt->cc ? opt->cc : env_or("DLNC_CC", "cc");
    const char *cflags = opt && opt->cflags ? opt->cflags : env_or("DLNC_CFLAGS", "-O3 -march=native -fno-math-errno");
    char cache[4096];
    if (opt && opt->cache_dir) snprintf(cache, sizeof cache, "%s", opt->cache_dir);
    else if (getenv("DLNC_CACHE") && *getenv("DLNC_CACHE")) snprintf(cache, sizeof cache, "%s", getenv("DLNC_CACHE"));
    else if (getenv("XDG_CACHE_HOME") && *getenv("XDG_CACHE_HOME"))
        snprintf(cache, sizeof cache, "%s/dlnc", getenv("XDG_CACHE_HOME"));
    else snprintf(cache, sizeof cache, "%s/.cache/dlnc", env_or("HOME", "/tmp"));

    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv1a(h, c_text, c_len);
    h = fnv1a(h, h_text, h_len);
    h = fnv1a(h, dlnrt_header_text, strlen(dlnrt_header_text));
    h = fnv1a(h, cc, strlen(cc));
    h = fnv1a(h, cflags, strlen(cflags));
    h = fnv1a(h, DLNC_VERSION, strlen(DLNC_VERSION));
    char dir[4200], path[4400];
    snprintf(dir, sizeof dir, "%s/%016llx", cache, (unsigned long long)h);
    snprintf(out->so_path, sizeof out->so_path, "%s/model.so", dir);

    if (access(out->so_path, R_OK) == 0) {
        out->cached = 1;
    } else {
        if (mkdirs(dir) != 0) {
            fprintf(stderr, "dlnc: error: cannot create cache directory '%s': %s\n", dir, strerror(errno));
            return -1;
        }
        snprintf(path, sizeof path, "%s/model.c", dir);
        int ok = write_file(path, c_text, c_len) == 0;
        snprintf(path, sizeof path, "%s/model.h", dir);
        ok = ok && write_file(path, h_text, h_len) == 0;
        snprintf(path, sizeof path, "%s/dlnrt.h", dir);
        ok = ok && write_file(path, dlnrt_header_text, strlen(dlnrt_header_text)) == 0;
        if (!ok) {
            fprintf(stderr, "dlnc: error: cannot write to the cache directory '%s': %s\n", dir, strerror(errno));
            return -1;
        }
        char tmp[8300], tmp_name[64];
        snprintf(tmp_name, sizeof tmp_name, "model.so.tmp.%ld", (long)getpid());
        snprintf(tmp, sizeof tmp, "%s/%s", dir, tmp_name);
        int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0) {
            fprintf(stderr, "dlnc: error: cannot open the cache directory '%s': %s\n", dir, strerror(errno));
            return -1;
        }
        int rc = jit_spawn_cc(cc, cflags, dir_fd, dir, tmp_name, opt && opt->verbose);
        close(dir_fd);
        if (rc != 0) {
            unlink(tmp);
            return -1;
        }
        if (rename(tmp, out->so_path) != 0) {
            fprintf(stderr, "dlnc: error: cannot install '%s': %s\n", out->so_path, strerror(errno));
            unlink(tmp);
            return -1;
        }
    }
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
