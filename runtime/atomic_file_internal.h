/* atomic_file_internal.h — replacing a file so that readers see the old
 * version or the new one, never a mix (runtime only; checkpoints).
 *
 * The data goes to a temporary file of its own beside the target (same
 * directory, so the rename is atomic), which is flushed and fsynced, renamed
 * over the target, and then the directory is fsynced so the rename itself
 * survives a crash. A failure at any step removes the temporary and leaves
 * the previous file intact. Each writer has its own temporary, so several
 * processes or threads saving to one path never touch each other's data:
 * the last rename wins, whole. */
#ifndef DLNRT_ATOMIC_FILE_INTERNAL_H
#define DLNRT_ATOMIC_FILE_INTERNAL_H
#include <stdio.h>

typedef struct dl_atomic_file {
    FILE *f;                              /* write the new contents here */
    const char *path;                     /* the target; not owned */
    char *tmp;                            /* "<path>.tmp.<unique>" */
} dl_atomic_file;

/* Creates the temporary; -1 with "<path>: cannot create: why". */
int dl_atomic_create(dl_atomic_file *a, const char *path);
/* Flush, fsync, rename over the target, fsync the directory. -1 with an error
 * naming the target (the temporary is then gone, the target untouched unless
 * only the directory sync failed). Closes a->f either way. */
int dl_atomic_commit(dl_atomic_file *a);
/* Gives up: closes and removes the temporary. */
void dl_atomic_abort(dl_atomic_file *a);

#endif
