/* file_open.c — open only regular files, never blocking: see file_open_internal.h. */
#include "file_open_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlnrt.h"

static const char *dl_file_kind(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device"
         : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a plain file";
}

int dl_open_regular(const char *path, int64_t *size)
{
    /* O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) { dl_set_error("%s: cannot open: %s", path, strerror(errno)); return -1; }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        dl_set_error("%s: cannot open: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        dl_set_error("%s: not a regular file (%s)", path, dl_file_kind(st.st_mode));
        close(fd);
        return -1;
    }
    /* Reads of a regular file never block anyway; cleared so the descriptor behaves as any other. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        dl_set_error("%s: cannot open: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (size) *size = (int64_t)st.st_size;
    return fd;
}

FILE *dl_fopen_regular(const char *path, int64_t *size)
{
    int fd = dl_open_regular(path, size);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        dl_set_error("%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

FILE *dl_fopen_write(const char *path, const char *mode)
{
    const int append = mode[0] == 'a';
    /* O_NONBLOCK: a FIFO nobody reads fails at once (ENXIO) instead of waiting for a reader. */
    int fd = open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666);
    if (fd < 0) {
        if (errno == ENXIO) dl_set_error("%s: cannot write: a FIFO that nothing reads", path);
        else dl_set_error("%s: cannot write: %s", path, strerror(errno));
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    FILE *f = fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0 ? NULL : fdopen(fd, append ? "a" : "w");
    if (!f) {
        dl_set_error("%s: cannot write: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}
