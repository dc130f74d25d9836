/* text_internal.h — what the two text sources share (runtime only): reading a
 * whole file under DL_TEXT_MAX_BYTES, and cutting a stream of ids into its
 * training and validation parts. */
#ifndef DLNRT_TEXT_INTERNAL_H
#define DLNRT_TEXT_INTERNAL_H
#include "dlnrt.h"

/* Appends the bytes of the regular file path to *buf (length *len, capacity
 * *cap, grown with realloc; one spare byte is kept for a NUL), refusing to go
 * past DL_TEXT_MAX_BYTES in total. On failure -1 with an error naming path;
 * *buf stays the caller's to free. */
int dl_text_append_file(const char *path, char **buf, int64_t *len, int64_t *cap);

/* How many of n ids the validation part gets: floor(n * val_split). Fails
 * (naming what) unless val_split is in [0, 1) and the training part — and
 * with a split the validation part too — keeps at least 2 ids, one
 * next-token pair. */
int dl_text_val_count(int64_t n, double val_split, const char *what, int64_t *n_val);

/* Moves the last n_val ids of d->train into a new d->val. */
int dl_text_split(dl_text_data *d, int64_t n_val, const char *what);

#endif
