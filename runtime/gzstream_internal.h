/* gzstream_internal.h — reading a file that may be gzipped, with the gzip
 * integrity checks actually applied (runtime only).
 *
 * zlib's gzread stops quietly when the output wanted is complete and the
 * input is used up, even if inflate is half-way through the gzip trailer: a
 * file cut 4 or 8 bytes short, or with a flipped bit that the CRC would have
 * caught, then reads as if it were whole. This reader drives inflate itself
 * and reports success only at the end of a gzip member, where inflate has
 * compared the CRC-32 and length in the trailer. Rules, as gunzip's:
 * several members are one concatenated stream; bytes after a member that do
 * not start another (no 1f 8b) are ignored; a file without the gzip magic is
 * read as it is. */
#ifndef DLNRT_GZSTREAM_INTERNAL_H
#define DLNRT_GZSTREAM_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

typedef struct dl_gzstream {
    const char *path;                     /* for messages; not owned */
    int fd;
    int gzipped;                          /* the file starts with the gzip magic */
    int64_t file_bytes;                   /* size on disk */
    z_stream z;                           /* next_in/avail_in: unread input, plain files too */
    unsigned char *in;                    /* input buffer */
    int eof;                              /* read() returned 0 */
    int done;                             /* no more data: end of the last member, or of a plain file */
    int truncated;                        /* the input ended inside a gzip member */
} dl_gzstream;

/* Opens a regular file; -1 with dl_last_error() naming it. */
int dl_gz_open(dl_gzstream *s, const char *path);
/* Up to n bytes into buf: n, or fewer at the end of the data (then s->truncated
 * says whether the file was cut inside a gzip member). -1 with an error naming
 * the file when it is corrupt (bad CRC, bad deflate data) or unreadable. */
int64_t dl_gz_read(dl_gzstream *s, void *buf, size_t n);
void dl_gz_close(dl_gzstream *s);

#endif
