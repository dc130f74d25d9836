/* jit_spawn.c — see jit_spawn.h. posix_spawn with an argument vector, and
 * the child's working directory set from the entry's open descriptor
 * (posix_spawn_file_actions_addfchdir_np), so the compiler reads and
 * writes exactly the directory dlnc checked, whatever happens to its path.
 * The compiler is looked up in PATH here, before that chdir, so that a
 * relative name (`--cc ./mycc`, or "." in PATH) means what it means in the
 * caller's directory, and the key names the file that actually runs. */
#include "jit_spawn.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Appends the words of `s` to argv[*n..] (copies into `*buf`, advancing it). */
static void split_words(const char *s, char **argv, int *n, char **buf) {
    while (*s) {
        s += strspn(s, " \t");
        size_t len = strcspn(s, " \t");
        if (!len) break;
        memcpy(*buf, s, len);
        (*buf)[len] = 0;
        argv[(*n)++] = *buf;
        *buf += len + 1;
        s += len;
    }
}

/* `dir/name` (or `name` alone if dir_len is 0) made absolute, into c->path
 * if it is an executable regular file. */
static int try_path(jit_cc *c, const char *dir, size_t dir_len, const char *name) {
    char rel[PATH_MAX], cwd[PATH_MAX];
    int len = dir_len ? snprintf(rel, sizeof rel, "%.*s/%s", (int)dir_len, dir, name)
                      : snprintf(rel, sizeof rel, "%s", name);
    if (len < 0 || (size_t)len >= sizeof rel) return 0;
    if (rel[0] == '/') len = snprintf(c->path, sizeof c->path, "%s", rel);
    else if (getcwd(cwd, sizeof cwd)) len = snprintf(c->path, sizeof c->path, "%s/%s", cwd, rel);
    else return 0;
    return len > 0 && (size_t)len < sizeof c->path && access(c->path, X_OK) == 0 && stat(c->path, &c->st) == 0 &&
           S_ISREG(c->st.st_mode);
}

static int find_compiler(jit_cc *c, const char *name) {
    if (strchr(name, '/')) return try_path(c, NULL, 0, name);
    const char *path = getenv("PATH");
    if (!path) path = "/bin:/usr/bin"; /* glibc's default for execvp */
    for (const char *p = path;; p++) {
        size_t len = strcspn(p, ":");
        if (try_path(c, len ? p : ".", len ? len : 1, name)) return 1; /* "" is the working directory */
        p += len;
        if (!*p) return 0;
    }
}

int jit_cc_prepare(jit_cc *c, const char *cc, const char *cflags) {
    static const char *fixed[] = {"-fopenmp", "-fPIC", "-shared", "-I.", "-o", "model.so", "model.c", "-lm"};
    enum { N_FIXED = sizeof fixed / sizeof *fixed };
    memset(c, 0, sizeof *c);
    size_t len_cc = strlen(cc), len_flags = strlen(cflags);
    size_t n_ptrs = len_cc / 2 + len_flags / 2 + N_FIXED + 4;
    c->argv = malloc(n_ptrs * sizeof *c->argv + len_cc + len_flags + 16);
    if (!c->argv) {
        fprintf(stderr, "dlnc: error: out of memory\n");
        return -1;
    }
    char *buf = (char *)(c->argv + n_ptrs);
    int n = 0;
    split_words(cc, c->argv, &n, &buf);
    if (n == 0) {
        fprintf(stderr, "dlnc: error: the C compiler command is empty\n");
        jit_cc_free(c);
        return -1;
    }
    strcpy(buf, "-std=c11");
    c->argv[n++] = buf;
    buf += strlen(buf) + 1;
    split_words(cflags, c->argv, &n, &buf);
    for (int i = 0; i < N_FIXED; i++) {
        if (!strcmp(fixed[i], "model.so")) c->out_arg = n;
        c->argv[n++] = (char *)fixed[i];
    }
    c->argv[n] = NULL;
    if (!find_compiler(c, c->argv[0])) {
        fprintf(stderr, "dlnc: error: cannot find the C compiler '%s' (set DLNC_CC or --cc)\n", c->argv[0]);
        jit_cc_free(c);
        return -1;
    }
    return 0;
}

void jit_cc_free(jit_cc *c) {
    free(c->argv);
    c->argv = NULL;
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* With `verbose`, the build's wall and CPU time (the compiler's and the
 * processes it waited for: cc1, as, ld) — the CPU figure is the one that
 * survives a loaded machine (bench/jit_startup.py compares it with LLVM's). */
static int wait_for(pid_t pid, const char *dir, double t0, int verbose) {
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "dlnc: error: waiting for the C compiler: %s\n", strerror(errno));
            return -1;
        }
    if (verbose)
        fprintf(stderr, "dlnc: cc: %.2f s, CPU %.2f s\n", now_seconds() - t0,
                ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
    if (WIFSIGNALED(st))
        fprintf(stderr, "dlnc: error: the C compiler was killed by signal %d (%s/model.c)\n", WTERMSIG(st), dir);
    else fprintf(stderr, "dlnc: error: the C compiler failed on the generated code (%s/model.c)\n", dir);
    return -1;
}

static int spawn_and_wait(jit_cc *c, int dir_fd, const char *dir, int verbose) {
    if (verbose) {
        fprintf(stderr, "dlnc: building in %s:", dir);
        for (char **a = c->argv; *a; a++) fprintf(stderr, " %s", *a);
        fprintf(stderr, "\n");
    }
    double t0 = now_seconds();
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int err = posix_spawn_file_actions_init(&fa);
    if (err) {
        fprintf(stderr, "dlnc: error: cannot run the C compiler: %s\n", strerror(err));
        return -1;
    }
    err = posix_spawn_file_actions_addfchdir_np(&fa, dir_fd);
    if (!err) err = posix_spawn(&pid, c->path, &fa, NULL, c->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err) {
        fprintf(stderr, "dlnc: error: cannot run the C compiler '%s': %s\n", c->path, strerror(err));
        return -1;
    }
    return wait_for(pid, dir, t0, verbose);
}

int jit_cc_run(jit_cc *c, int dir_fd, const char *dir, const char *out_name, int verbose) {
    c->argv[c->out_arg] = (char *)out_name;
    int rc = spawn_and_wait(c, dir_fd, dir, verbose);
    c->argv[c->out_arg] = "model.so";
    return rc;
}
