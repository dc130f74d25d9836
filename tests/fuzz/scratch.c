/* scratch.c — see scratch.h. */
#include "scratch.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch_dir[256];

static int scratch_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void scratch_cleanup(void) {
    if (scratch_dir[0]) nftw(scratch_dir, scratch_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void scratch_die(const char *what, const char *path) {
    perror(path);
    fprintf(stderr, "fuzz harness: cannot %s\n", what);
    abort();
}

const char *scratch_path(const char *rel) {
    static char path[512];
    if (!scratch_dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch_dir, sizeof scratch_dir, "%s/dlnc_fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(scratch_dir)) scratch_die("make the scratch directory", scratch_dir);
        atexit(scratch_cleanup);
    }
    snprintf(path, sizeof path, "%s/%s", scratch_dir, rel);
    return path;
}

const char *scratch_write(const char *rel, const uint8_t *data, size_t size) {
    const char *path = scratch_path(rel);
    /* Make each directory on the way ("a/b/c.png" → a, a/b); existing ones are fine. */
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *s = dir + strlen(scratch_dir) + 1; (s = strchr(s, '/')); *s++ = '/') {
        *s = '\0';
        if (mkdir(dir, 0700) != 0 && access(dir, F_OK) != 0) scratch_die("make a directory", dir);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) scratch_die("write the input", path);
    return path;
}
