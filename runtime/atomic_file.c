/* atomic_file.c — write a temporary beside the target, fsync, rename, fsync
 * the directory. See atomic_file_internal.h.
 *
 * Why not mkstemp: it creates the file with mode 0600, and a checkpoint
 * should get the permissions any new file gets (0666 less the umask), as it
 * did when it was written with fopen. So we make the unique name ourselves
 * and create it with O_EXCL, which is what mkstemp does. */
#include "atomic_file_internal.h"
#include "dlnrt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A name no other writer is using: pid, the clock and a per-attempt mix;
 * O_EXCL settles any collision (on a shared file system, say) by retrying. */
static int dl_atomic_open_unique(const char *path, char *tmp, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)tmp ^
                 (uint64_t)getpid() << 40;
    for (int attempt = 0; attempt < 100; attempt++) {
        x = x * 6364136223846793005u + 1442695040888963407u;   /* LCG step: a new suffix per attempt */
        snprintf(tmp, cap, "%s.tmp.%d.%012llx", path, (int)getpid(), (unsigned long long)(x >> 16));
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

int dl_atomic_create(dl_atomic_file *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->path = path;
    size_t cap = strlen(path) + 48;
    if (!(a->tmp = malloc(cap))) { dl_set_error("%s: out of memory", path); return -1; }
    int fd = dl_atomic_open_unique(path, a->tmp, cap);
    if (fd < 0) {
        dl_set_error("%s: cannot create: %s", path, strerror(errno));
        free(a->tmp);
        a->tmp = NULL;
        return -1;
    }
    if (!(a->f = fdopen(fd, "wb"))) {
        dl_set_error("%s: cannot create: %s", path, strerror(errno));
        close(fd);
        unlink(a->tmp);
        free(a->tmp);
        a->tmp = NULL;
        return -1;
    }
    return 0;
}

void dl_atomic_abort(dl_atomic_file *a)
{
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    free(a->tmp);
    a->f = NULL;
    a->tmp = NULL;
}

/* fsync the directory holding path, so a rename in it is durable. File
 * systems that cannot sync a directory (EINVAL) have nothing to make durable. */
static int dl_sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) { errno = ENOMEM; return -1; }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd) == 0 || errno == EINVAL ? 0 : -1;
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int dl_atomic_commit(dl_atomic_file *a)
{
    int err = 0;
    if (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0) err = errno;
    if (fclose(a->f) != 0 && !err) err = errno;
    a->f = NULL;
    if (!err && rename(a->tmp, a->path) != 0) err = errno;
    if (err) {
        dl_set_error("%s: write failed: %s", a->path, strerror(err));
        dl_atomic_abort(a);
        return -1;
    }
    free(a->tmp);
    a->tmp = NULL;
    if (dl_sync_dir(a->path)) {
        dl_set_error("%s: written, but its directory could not be synced: %s", a->path, strerror(errno));
        return -1;
    }
    return 0;
}
