/* gzstream.c — plain or gzipped files read through inflate, trailer checked.
 * See gzstream_internal.h for why this is not gzread. */
#include "gzstream_internal.h"
#include "dlnrt.h"
#include "file_open_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { DL_GZ_IN = 1 << 16 };

/* Appends to the unread input (moved to the front of the buffer); 0 at end of file. */
static int64_t dl_gz_fill(dl_gzstream *s)
{
    if (s->eof) return 0;
    if (s->z.avail_in && s->z.next_in != s->in) memmove(s->in, s->z.next_in, s->z.avail_in);
    s->z.next_in = s->in;
    ssize_t k;
    do k = read(s->fd, s->in + s->z.avail_in, DL_GZ_IN - s->z.avail_in);
    while (k < 0 && errno == EINTR);
    if (k < 0) {
        dl_set_error("%s: read error: %s", s->path, strerror(errno));
        return -1;
    }
    if (k == 0) s->eof = 1;
    s->z.avail_in += (uInt)k;
    return k;
}

/* Unread input of at least n bytes, unless the file ends first. */
static int dl_gz_want(dl_gzstream *s, uInt n)
{
    while (s->z.avail_in < n && !s->eof)
        if (dl_gz_fill(s) < 0) return -1;
    return 0;
}

static int dl_gz_is_member(const dl_gzstream *s)
{
    return s->z.avail_in >= 2 && s->z.next_in[0] == 0x1f && s->z.next_in[1] == 0x8b;
}

int dl_gz_open(dl_gzstream *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    if ((s->fd = dl_open_regular(path, &s->file_bytes)) < 0) return -1;
    if (!(s->in = malloc(DL_GZ_IN))) {
        dl_set_error("%s: out of memory", path);
        close(s->fd);
        return -1;
    }
    s->z.next_in = s->in;
    if (dl_gz_want(s, 2)) { dl_gz_close(s); return -1; }
    s->gzipped = dl_gz_is_member(s);
    if (s->gzipped && inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK) {   /* 16: gzip wrapper only */
        dl_set_error("%s: out of memory", path);
        s->gzipped = 0;
        dl_gz_close(s);
        return -1;
    }
    return 0;
}

static int64_t dl_gz_read_plain(dl_gzstream *s, unsigned char *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        if (s->z.avail_in == 0 && dl_gz_fill(s) < 0) return -1;
        if (s->z.avail_in == 0) { s->done = 1; break; }
        size_t k = n - got < s->z.avail_in ? n - got : s->z.avail_in;
        memcpy(out + got, s->z.next_in, k);
        s->z.next_in += k;
        s->z.avail_in -= (uInt)k;
        got += k;
    }
    return (int64_t)got;
}

int64_t dl_gz_read(dl_gzstream *s, void *buf, size_t n)
{
    unsigned char *out = buf;
    if (!s->gzipped) return dl_gz_read_plain(s, out, n);
    size_t got = 0;
    while (got < n && !s->done) {
        if (s->z.avail_in == 0 && dl_gz_fill(s) < 0) return -1;
        if (s->z.avail_in == 0) {   /* the file ends inside a member */
            s->truncated = s->done = 1;
            break;
        }
        uInt chunk = n - got < (size_t)UINT_MAX ? (uInt)(n - got) : UINT_MAX;
        s->z.next_out = out + got;
        s->z.avail_out = chunk;
        int ret = inflate(&s->z, Z_NO_FLUSH);
        got += chunk - s->z.avail_out;
        if (ret == Z_STREAM_END) {   /* CRC-32 and length matched; another member may follow */
            if (dl_gz_want(s, 2)) return -1;
            if (dl_gz_is_member(s)) inflateReset(&s->z);
            else s->done = 1;   /* end of file, or trailing bytes that are not gzip: ignored */
        } else if (ret == Z_MEM_ERROR) {
            dl_set_error("%s: out of memory decompressing", s->path);
            return -1;
        } else if (ret != Z_OK && ret != Z_BUF_ERROR) {   /* those two: more input or room; the loop provides it */
            dl_set_error("%s: corrupt gzip data: %s", s->path, s->z.msg ? s->z.msg : "invalid stream");
            return -1;
        }
    }
    return (int64_t)got;
}

void dl_gz_close(dl_gzstream *s)
{
    if (s->gzipped) inflateEnd(&s->z);
    if (s->fd >= 0) close(s->fd);
    free(s->in);
    s->in = NULL;
    s->fd = -1;
}
