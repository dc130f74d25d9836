/* data_idx.c — IDX files (MNIST, Fashion-MNIST, EMNIST, KMNIST...).
 *
 * An IDX file is a 4-byte magic (0, 0, type, ndim), ndim big-endian u32
 * dimensions, then the raw data. We accept unsigned-byte data (type 0x08):
 * images with ndim 2..5 (0x00000803 for the usual N x rows x cols) and labels
 * with ndim 1 (0x00000801). Files are read through gzstream.c, which reads
 * gzipped and plain files alike (it sniffs the gzip magic), so
 * `train-images-idx3-ubyte.gz` and an unpacked copy both work.
 *
 * Everything from disk is checked before it is trusted: the magic, every
 * dimension, that images and labels agree on the count, that the claimed
 * size fits the file (before allocating), and that the data is all there —
 * a truncated download gives
 *   "train-images-idx3-ubyte.gz: truncated: expected 47040000 bytes of pixel data, got 1234"
 * rather than a model silently trained on zeros. A gzipped file is read to
 * the end of its stream, because only there is the CRC-32 and length in the
 * gzip trailer compared: stopping at the last byte we need let bit flips and
 * a missing trailer through. As with gunzip, several gzip members are one
 * concatenated stream and bytes after the last member that do not start
 * another are ignored (none of our data can be in them, and every byte we
 * use was checked). Data beyond what the header declares is an error:
 * header and contents disagree. Pixels are scaled to [0, 1];
 * a 3-D image file is given a channel dimension (N, 1, rows, cols) so the
 * per-sample shape matches convolutional models' inputs. */
#include "dlnrt.h"
#include "checked_internal.h"
#include "gzstream_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads exactly n bytes, or fails naming the file and what was short. */
static int dl_idx_read(dl_gzstream *s, unsigned char *buf, size_t n, const char *what)
{
    int64_t got = dl_gz_read(s, buf, n);
    if (got < 0) return -1;
    if ((size_t)got < n) {
        dl_set_error("%s: truncated: expected %zu bytes of %s, got %lld", s->path, n, what, (long long)got);
        return -1;
    }
    return 0;
}

/* After the last byte the header declares the file must end, and a gzip
 * stream with its trailer (which dl_gz_read checks as it passes). */
static int dl_idx_read_end(dl_gzstream *s, size_t declared, const char *what)
{
    unsigned char extra;
    int64_t got = dl_gz_read(s, &extra, 1);
    if (got < 0) return -1;
    if (got > 0) {
        dl_set_error("%s: more data than the header declares (%zu bytes of %s)", s->path, declared, what);
        return -1;
    }
    if (s->truncated) {
        dl_set_error("%s: truncated: the gzip stream ends before its CRC-32 and length trailer", s->path);
        return -1;
    }
    return 0;
}

/* An open IDX file after its header: dims[0..ndim). */
typedef struct dl_idx_file {
    dl_gzstream s;
    int64_t dims[5];
    int ndim;
    int64_t header_bytes;                 /* magic + dimensions */
} dl_idx_file;

/* Opens an IDX file and reads its header. */
static int dl_idx_open(const char *path, int min_dim, int max_dim, dl_idx_file *x)
{
    memset(x, 0, sizeof *x);
    if (dl_gz_open(&x->s, path)) return -1;
    unsigned char magic[4], be[4];
    if (dl_idx_read(&x->s, magic, 4, "IDX magic")) goto fail;
    if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] < min_dim || magic[3] > max_dim) {
        dl_set_error("%s: not an IDX file of unsigned bytes with %d..%d dimensions (magic 0x%02x%02x%02x%02x)",
                     path, min_dim, max_dim, magic[0], magic[1], magic[2], magic[3]);
        goto fail;
    }
    x->ndim = magic[3];
    for (int d = 0; d < x->ndim; d++) {
        if (dl_idx_read(&x->s, be, 4, "IDX header")) goto fail;
        x->dims[d] = (int64_t)be[0] << 24 | (int64_t)be[1] << 16 | (int64_t)be[2] << 8 | be[3];
        if (x->dims[d] <= 0 || x->dims[d] > (1 << 28)) {
            dl_set_error("%s: implausible dimension %d = %lld in the IDX header", path, d, (long long)x->dims[d]);
            goto fail;
        }
    }
    x->header_bytes = 4 + 4 * (int64_t)x->ndim;
    return 0;
fail:
    dl_gz_close(&x->s);
    return -1;
}

/* Refuses, before anything is allocated, `bytes` of data that the file cannot
 * hold: a plain file by its size, a gzipped one by deflate's best ratio
 * (1032:1, for long runs of one byte) — so a forged header cannot make us
 * allocate gigabytes for a file of a few bytes. */
static int dl_idx_check_room(const char *path, const dl_idx_file *x, int64_t bytes, const char *what)
{
    if (!x->s.gzipped) {
        int64_t have = x->s.file_bytes - x->header_bytes;
        if (have >= bytes) return 0;
        dl_set_error("%s: truncated: expected %lld bytes of %s, got %lld", path, (long long)bytes, what,
                     (long long)(have > 0 ? have : 0));
        return -1;
    }
    int64_t most;
    if (!dl_mul_i64(x->s.file_bytes, 1032, &most) && bytes <= most) return 0;
    dl_set_error("%s: truncated or corrupt: the header declares %lld bytes of %s, more than a %lld-byte gzip "
                 "file can hold", path, (long long)bytes, what, (long long)x->s.file_bytes);
    return -1;
}

int dl_load_idx(const char *images_path, const char *labels_path, dl_dataset *out)
{
    memset(out, 0, sizeof *out);
    dl_idx_file fi, fl;
    if (dl_idx_open(images_path, 2, 5, &fi)) return -1;
    if (dl_idx_open(labels_path, 1, 1, &fl)) { dl_gz_close(&fi.s); return -1; }
    int rc = -1;
    unsigned char *raw = NULL, *lab = NULL;
    const int64_t n = fi.dims[0];
    int64_t numel, total;
    if (fl.dims[0] != n) {
        dl_set_error("%s has %lld images but %s has %lld labels", images_path, (long long)n, labels_path,
                     (long long)fl.dims[0]);
        goto done;
    }
    if (dl_numel_checked(fi.dims + 1, fi.ndim - 1, (int64_t)1 << 28, &numel) ||
        dl_mul_i64(n, numel, &total) || total > ((int64_t)1 << 36)) {
        char shape[96];
        size_t k = 0;
        for (int d = 0; d < fi.ndim; d++)
            k += (size_t)snprintf(shape + k, sizeof shape - k, d ? " x %lld" : "%lld", (long long)fi.dims[d]);
        dl_set_error("%s: implausibly large: the header declares %s bytes", images_path, shape);
        goto done;
    }
    if (dl_idx_check_room(images_path, &fi, total, "pixel data") || dl_idx_check_room(labels_path, &fl, n, "label data"))
        goto done;
    raw = malloc((size_t)total);
    lab = malloc((size_t)n);
    out->x = malloc((size_t)total * sizeof(float));
    out->y_class = malloc((size_t)n * sizeof(int32_t));
    if (!raw || !lab || !out->x || !out->y_class) { dl_set_error("%s: out of memory", images_path); goto done; }
    if (dl_idx_read(&fi.s, raw, (size_t)total, "pixel data") || dl_idx_read_end(&fi.s, (size_t)total, "pixel data") ||
        dl_idx_read(&fl.s, lab, (size_t)n, "label data") || dl_idx_read_end(&fl.s, (size_t)n, "label data"))
        goto done;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < total; i++) out->x[i] = raw[i] * (1.0f / 255.0f);
    int max_label = 0;
    for (int64_t i = 0; i < n; i++) {
        out->y_class[i] = lab[i];
        if (lab[i] > max_label) max_label = lab[i];
    }
    out->n = n;
    out->x_numel = numel;
    if (fi.ndim == 3) {   /* N x rows x cols: add the channel */
        out->x_rank = 3;
        out->x_shape[0] = 1, out->x_shape[1] = fi.dims[1], out->x_shape[2] = fi.dims[2];
    } else {
        out->x_rank = fi.ndim - 1;
        for (int d = 1; d < fi.ndim; d++) out->x_shape[d - 1] = fi.dims[d];
    }
    out->label_kind = DL_LABEL_CLASS;
    out->y_numel = 1;
    out->num_classes = max_label + 1;
    rc = 0;
done:
    dl_gz_close(&fi.s);
    dl_gz_close(&fl.s);
    free(raw);
    free(lab);
    if (rc) dl_dataset_free(out);
    return rc;
}

/* "<dir>/<prefix>-<kind>-idx<k>-ubyte.gz", or the same without ".gz". */
static int dl_find_idx(const char *dir, const char *prefix, const char *kind, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s-%s.gz", dir, prefix, kind);
    if (access(path, R_OK) == 0) return 0;
    snprintf(path, cap, "%s/%s-%s", dir, prefix, kind);
    if (access(path, R_OK) == 0) return 0;
    dl_set_error("%s: no %s-%s.gz (or unpacked %s-%s) here", dir, prefix, kind, prefix, kind);
    return -1;
}

int dl_load_mnist_dir(const char *dir, const char *split, dl_dataset *out)
{
    memset(out, 0, sizeof *out);
    const char *prefix;
    if (strcmp(split, "train") == 0) prefix = "train";
    else if (strcmp(split, "test") == 0 || strcmp(split, "t10k") == 0) prefix = "t10k";
    else { dl_set_error("dl_load_mnist_dir: split must be \"train\" or \"test\", not \"%s\"", split); return -1; }
    char images[4096], labels[4096];
    if (dl_find_idx(dir, prefix, "images-idx3-ubyte", images, sizeof images)) return -1;
    if (dl_find_idx(dir, prefix, "labels-idx1-ubyte", labels, sizeof labels)) return -1;
    return dl_load_idx(images, labels, out);
}
