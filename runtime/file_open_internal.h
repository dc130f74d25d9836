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

#endif
