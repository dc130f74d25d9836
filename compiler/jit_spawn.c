/* jit_spawn.c — see jit_spawn.h. posix_spawnp with an argument vector, and
 * the child's working directory set from the entry's open descriptor
 * (posix_spawn_file_actions_addfchdir_np), so the compiler reads and
 * writes exactly the directory dlnc checked, whatever happens to its path. */
#include "jit_spawn.h"

#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

static void print_command(const char *dir, char **argv) {
    fprintf(stderr, "dlnc: building in %s:", dir);
    for (char **a = argv; *a; a++) fprintf(stderr, " %s", *a);
    fprintf(stderr, "\n");
}

static int wait_for(pid_t pid, const char *dir) {
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "dlnc: error: waiting for the C compiler: %s\n", strerror(errno));
            return -1;
        }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
    if (WIFSIGNALED(st))
        fprintf(stderr, "dlnc: error: the C compiler was killed by signal %d (%s/model.c)\n", WTERMSIG(st), dir);
    else fprintf(stderr, "dlnc: error: the C compiler failed on the generated code (%s/model.c)\n", dir);
    return -1;
}

int jit_spawn_cc(const char *cc, const char *cflags, int dir_fd, const char *dir, const char *out_name, int verbose) {
    const char *fixed[] = {"-fopenmp", "-fPIC", "-shared", "-I.", "-o", out_name, "model.c", "-lm"};
    enum { N_FIXED = sizeof fixed / sizeof *fixed };
    size_t len_cc = strlen(cc), len_flags = strlen(cflags);
    char **argv = calloc(len_cc / 2 + len_flags / 2 + N_FIXED + 4, sizeof *argv);
    char *buf = malloc(len_cc + len_flags + 2), *p = buf, *abs_cc = NULL;
    int n = 0, rc = -1;
    posix_spawn_file_actions_t fa;
    if (!argv || !buf || posix_spawn_file_actions_init(&fa) != 0) {
        fprintf(stderr, "dlnc: error: out of memory\n");
        free(argv);
        free(buf);
        return -1;
    }
    split_words(cc, argv, &n, &p);
    if (n == 0) {
        fprintf(stderr, "dlnc: error: no C compiler: the compiler command is empty\n");
        goto out;
    }
    /* The child starts in the entry directory: a relative compiler path
     * (`--cc ./mycc`) means the caller's directory, so make it absolute. */
    char cwd[PATH_MAX];
    if (argv[0][0] != '/' && strchr(argv[0], '/') && getcwd(cwd, sizeof cwd) &&
        (abs_cc = malloc(strlen(cwd) + strlen(argv[0]) + 2))) {
        sprintf(abs_cc, "%s/%s", cwd, argv[0]);
        argv[0] = abs_cc;
    }
    argv[n++] = "-std=c11";
    split_words(cflags, argv, &n, &p);
    for (int i = 0; i < N_FIXED; i++) argv[n++] = (char *)fixed[i];
    argv[n] = NULL;
    if (verbose) print_command(dir, argv);
    pid_t pid;
    int err = posix_spawn_file_actions_addfchdir_np(&fa, dir_fd);
    if (!err) err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    if (err) fprintf(stderr, "dlnc: error: cannot run the C compiler '%s': %s\n", argv[0], strerror(err));
    else rc = wait_for(pid, dir);
out:
    posix_spawn_file_actions_destroy(&fa);
    free(abs_cc);
    free(argv);
    free(buf);
    return rc;
}
