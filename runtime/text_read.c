/* text_read.c — the plumbing under both text sources: a whole file read
 * into memory with a hard size limit (a corpus is held in memory as bytes
 * and again as int32 ids, so DL_TEXT_MAX_BYTES bounds what a bad path —
 * /dev/zero, a disk image — can make us allocate), and the validation
 * split, which is the stream's tail: text after everything trained on. */
#include "text_internal.h"
#include "file_open_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int dl_text_reserve(char **buf, int64_t *cap, int64_t need)
{
    if (need + 1 <= *cap) return 0;
    int64_t c = *cap ? *cap : 4096;
    while (c < need + 1) c *= 2;
    char *p = realloc(*buf, (size_t)c);
    if (!p) return -1;
    *buf = p;
    *cap = c;
    return 0;
}

int dl_text_append_file(const char *path, char **buf, int64_t *len, int64_t *cap)
{
    int64_t size;
    int fd = dl_open_regular(path, &size);   /* a FIFO does not block us, /dev/zero is refused */
    if (fd < 0) return -1;
    /* size is a hint for the allocation; the limit is checked on what is
     * actually read, since a file may grow while we read it. */
    if (size > DL_TEXT_MAX_BYTES - *len || dl_text_reserve(buf, cap, *len + size)) {
        dl_set_error("%s: too large (the text sources hold at most %lld bytes in memory)", path,
                     (long long)DL_TEXT_MAX_BYTES);
        close(fd);
        return -1;
    }
    for (;;) {
        int64_t room = *cap - 1 - *len, left = DL_TEXT_MAX_BYTES - *len;
        if (room == 0 && left > 0) {   /* the file is longer than st_size said */
            if (dl_text_reserve(buf, cap, *len + (left < 65536 ? left : 65536))) {
                dl_set_error("%s: out of memory", path);
                close(fd);
                return -1;
            }
            continue;
        }
        char probe;   /* at the limit: one more byte means the file is too large */
        ssize_t r = left > 0 ? read(fd, *buf + *len, (size_t)(room < left ? room : left)) : read(fd, &probe, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 || (left == 0 && r > 0)) {
            if (r < 0) dl_set_error("%s: read error: %s", path, strerror(errno));
            else dl_set_error("%s: too large (the text sources hold at most %lld bytes in memory)", path,
                              (long long)DL_TEXT_MAX_BYTES);
            close(fd);
            return -1;
        }
        if (r == 0) break;
        *len += r;
    }
    close(fd);
    return 0;
}

int dl_text_val_count(int64_t n, double val_split, const char *what, int64_t *n_val)
{
    if (!(val_split >= 0 && val_split < 1)) {
        dl_set_error("%s: val_split must be in [0, 1), got %g", what, val_split);
        return -1;
    }
    *n_val = (int64_t)((double)n * val_split);
    if (val_split == 0 && n < 2) {
        dl_set_error("%s: %lld token; training needs at least 2 (one next-token pair)", what, (long long)n);
        return -1;
    }
    if (val_split > 0 && (*n_val < 2 || n - *n_val < 2)) {
        dl_set_error("%s: val_split %g of %lld tokens leaves %lld for validation and %lld for training; each part "
                     "needs at least 2", what, val_split, (long long)n, (long long)*n_val, (long long)(n - *n_val));
        return -1;
    }
    return 0;
}

int dl_text_split(dl_text_data *d, int64_t n_val, const char *what)
{
    if (n_val == 0) return 0;
    d->val = malloc((size_t)n_val * sizeof *d->val);
    if (!d->val) { dl_set_error("%s: out of memory", what); return -1; }
    d->n_train -= n_val;
    memcpy(d->val, d->train + d->n_train, (size_t)n_val * sizeof *d->val);
    d->n_val = n_val;
    return 0;
}

void dl_text_data_free(dl_text_data *d)
{
    if (!d) return;
    free(d->train);
    free(d->val);
    memset(d, 0, sizeof *d);
}
