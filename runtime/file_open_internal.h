/* file_open_internal.h — opening a file someone handed us by name (runtime, and the compiler's source reader).
 *
 * Every reader takes paths from users, and a path can name something that is
 * not a file of bytes: a FIFO with no writer (a blocking open() never
 * returns), /dev/zero (read without end), a directory, a terminal. These
 * helpers open without blocking, accept only a regular file and then read
 * normally, so each reader refuses the rest with one message naming the path. */
#ifndef DLNRT_FILE_OPEN_INTERNAL_H
#define DLNRT_FILE_OPEN_INTERNAL_H
#include <stdint.h>
#include <stdio.h>

/* A descriptor for reading path, or -1 with dl_set_error naming path ("cannot
 * open: ..." or "not a regular file (a FIFO)"). *size (if not NULL) gets the
 * file's size at open time. */
int dl_open_regular(const char *path, int64_t *size);

/* The same as a stdio stream (mode "r" or "rb"). */
FILE *dl_fopen_regular(const char *path, int64_t *size);

/* path opened for writing, mode "w" (created or truncated, 0666 less the
 * umask) or "a" (appended to), as fopen would, but a FIFO with no reader is
 * refused at once instead of blocking in open(); NULL with dl_set_error
 * naming path ("cannot write: ..."). Pipes with a reader, /dev/null and
 * terminals are written as usual. */
FILE *dl_fopen_write(const char *path, const char *mode);

#endif
