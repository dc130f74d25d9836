/* emitted.c — see emitted.h. */
#include "emitted.h"

#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiled.h"
#include "emit.h"
#include "passes.h"

void emitted_exe_dir(char *out, size_t len) {
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k <= 0) {
        snprintf(out, len, "build");
        return;
    }
    exe[k] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    snprintf(out, len, "%s", exe);
}

/* check: a --check-numerics build, as main.c makes it (no fusion, checks emitted) */
static int build(ir_module *m, int check, emitted *out) {
    static const char *const unfused[] = {"fuse", "epilogue", NULL};
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 3 + m->n_bodies; i++) { /* the three graphs, then the loop bodies */
        ir_graph *g = i == 0 ? m->forward : i == 1 ? m->eval_step : i == 2 ? m->train_step : m->bodies[i - 3];
        if (g && (passes_run_skipping(g, check ? unfused : NULL, NULL, NULL, 1) != 0 || !plan_verify(g, stderr)))
            return -1;
    }
    snprintf(out->dir, sizeof out->dir, "/tmp/dlnc_emitted_XXXXXX");
    if (!mkdtemp(out->dir)) {
        out->dir[0] = 0;
        return -1;
    }
    char cpath[160], hpath[160], sopath[160], hname[96], bdir[PATH_MAX], cmd[PATH_MAX * 2 + 512];
    snprintf(cpath, sizeof cpath, "%s/%s.c", out->dir, m->name);
    snprintf(hpath, sizeof hpath, "%s/%s.h", out->dir, m->name);
    snprintf(sopath, sizeof sopath, "%s/%s.so", out->dir, m->name);
    snprintf(hname, sizeof hname, "%s.h", m->name);
    FILE *c = fopen(cpath, "w"), *h = fopen(hpath, "w");
    diag_ctx d;
    diag_init(&d, stderr);
    emit_options opt = {.header_name = hname, .source_name = "test.dln", .check_numerics = check};
    int rc = c && h ? emit_c(&m, 1, c, h, &opt, &d) : -1;
    if (c) fclose(c);
    if (h) fclose(h);
    diag_free(&d);
    if (rc != 0) return -1;
    emitted_exe_dir(bdir, sizeof bdir);
    snprintf(cmd, sizeof cmd,
             "cc -std=c11 -O2 -fopenmp -Wall -Wextra -Werror -fPIC -shared -Iruntime -I%s %s %s/libdlnrt.a -lz -lm -o %s",
             out->dir, cpath, bdir, sopath);
    if (system(cmd) != 0) {
        fprintf(stderr, "emitted: compile failed: %s\n", cmd);
        return -1;
    }
    /* NODELETE: the .so holds its own copy of libdlnrt, and OpenMP worker
     * threads that ran its kernels keep per-thread scratch (GEMM packing)
     * whose destructor is in that copy; after a dlclose the first of those
     * threads to exit (a later test changing the thread count) jumped into
     * unmapped code. */
    if (!(out->so = dlopen(sopath, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE))) {
        fprintf(stderr, "emitted: %s\n", dlerror());
        return -1;
    }
    char sym[128];
    snprintf(sym, sizeof sym, "%s_api", m->name);
    const dl_model_api *(*get)(void) = (const dl_model_api *(*)(void))dlsym(out->so, sym);
    out->api = get ? get() : NULL;
    return out->api ? 0 : -1;
}

int emitted_build(ir_module *m, emitted *out) { return build(m, 0, out); }

static int build_source(const char *src, int check, emitted *out) {
    memset(out, 0, sizeof *out);
    arena ar = {0};
    ir_module *m = compiled_elaborate(&ar, stderr, src);
    int rc = m ? build(m, check, out) : -1;
    arena_free(&ar);
    return rc;
}

int emitted_build_source(const char *src, emitted *out) { return build_source(src, 0, out); }

int emitted_build_source_checked(const char *src, emitted *out) { return build_source(src, 1, out); }

void emitted_unload(emitted *e) {
    if (e->so) dlclose(e->so);
    e->so = NULL;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    if (e->dir[0] && system(cmd) != 0) fprintf(stderr, "emitted: cannot remove %s\n", e->dir);
    e->dir[0] = 0;
}

int emitted_param_index(const emitted *e, const char *name) {
    for (int i = 0; i < e->api->n_params; i++)
        if (strcmp(e->api->params[i].name, name) == 0) return i;
    return -1;
}

double emitted_urand(uint64_t *state) {
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*state >> 11) / 9007199254740992.0;
}

int emitted_close(const float *got, const double *want, int64_t count, double rel_tol, const char *what) {
    int bad = 0;
    for (int64_t i = 0; i < count; i++)
        if (!(fabs(got[i] - want[i]) <= rel_tol * fmax(1.0, fabs(want[i]))) && bad++ < 5)
            fprintf(stderr, "%s[%lld]: got %.7g, want %.7g\n", what, (long long)i, got[i], want[i]);
    return bad == 0;
}
