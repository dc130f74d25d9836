/* safetensors.c — checkpoints in the safetensors format, readable by PyTorch
 * (safetensors.torch.load_file) and by us.
 *
 * Layout: u64 little-endian header length H, H bytes of JSON header
 *   {"__metadata__":{"format":"pt"},"name":{"dtype":"F32","shape":[..],
 *    "data_offsets":[begin,end]},...}
 * padded with spaces so that 8 + H is a multiple of 8, then the raw tensor
 * bytes; offsets are relative to the end of the header.
 *
 * Saving is atomic (atomic_file.c): we write a temporary file of our own
 * beside <path>, fsync it, rename it over <path> and fsync the directory, so
 * a crash or a full disk mid-save leaves the previous checkpoint intact and
 * concurrent saves to one path do not collide. Loading reads the header
 * alone (at most 100 MB, safetensors' own limit, checked before reading
 * it), validates everything against the file size (JSON, dtypes, shapes,
 * offsets, the tensors tiling the data exactly, every requested name
 * present, no unexpected extras), and only then reads the tensors asked for
 * — a corrupt or mismatched file leaves the parameters untouched, and a
 * large file is not read to be refused. */
#include "dlnrt.h"
#include "atomic_file_internal.h"
#include "checked_internal.h"
#include "file_open_internal.h"
#include "json_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c writes host floats as little-endian; add byte swapping for this target"
#endif

enum { DL_ST_MAX_HEADER = 100000000 };   /* bytes: the safetensors crate's MAX_HEADER_SIZE */
#define DL_ST_MAX_NUMEL ((int64_t)1 << 40)   /* floats in one tensor: 4 TB, so byte counts never overflow */

/* A growable text buffer for the header. */
typedef struct dl_strbuf { char *s; size_t len, cap; int oom; } dl_strbuf;

static void dl_sb_put(dl_strbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) { b->oom = 1; return; }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void dl_sb_puts(dl_strbuf *b, const char *s) { dl_sb_put(b, s, strlen(s)); }

static void dl_sb_printf(dl_strbuf *b, const char *fmt, long long v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, fmt, v);
    dl_sb_put(b, tmp, (size_t)n);
}

static void dl_sb_json_string(dl_strbuf *b, const char *s)
{
    dl_sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { char e[2] = {'\\', (char)c}; dl_sb_put(b, e, 2); }
        else if (c < 0x20) dl_sb_printf(b, "\\u%04llx", c);
        else dl_sb_put(b, (const char *)&c, 1);
    }
    dl_sb_put(b, "\"", 1);
}

static int64_t dl_numel(const int64_t *shape, int rank)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++) n *= shape[d];
    return n;
}

static int dl_cmp_names(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The names of t[0..count) sorted (byte-wise), for duplicate checks and lookups;
 * NULL with an error naming path when out of memory. */
static const char **dl_sorted_names(const char *path, const dl_named_tensor *t, int count)
{
    const char **v = malloc(((size_t)count + 1) * sizeof *v);
    if (!v) { dl_set_error("%s: out of memory", path); return NULL; }
    for (int i = 0; i < count; i++) v[i] = t[i].name;
    qsort(v, (size_t)count, sizeof *v, dl_cmp_names);
    return v;
}

/* Checks what the caller asks to save: names (unique; sorted once, as 80k
 * pairwise comparisons were quadratic), ranks, sizes. */
static int dl_check_tensors(const char *path, const dl_named_tensor *t, int count)
{
    for (int i = 0; i < count; i++) {
        int64_t numel;
        if (!t[i].name || !t[i].name[0] || t[i].rank < 0 || t[i].rank > 8 || !t[i].data) {
            dl_set_error("%s: tensor %d has no name, no data or a bad rank", path, i);
            return -1;
        }
        if (strcmp(t[i].name, "__metadata__") == 0) {
            dl_set_error("%s: '__metadata__' is reserved by the format, not a tensor name", path);
            return -1;
        }
        if (dl_numel_checked(t[i].shape, t[i].rank, DL_ST_MAX_NUMEL, &numel)) {
            dl_set_error("%s: tensor '%s' has a negative dimension or is too large", path, t[i].name);
            return -1;
        }
    }
    const char **names = dl_sorted_names(path, t, count);
    if (!names) return -1;
    for (int i = 1; i < count; i++)
        if (strcmp(names[i], names[i - 1]) == 0) {
            dl_set_error("%s: duplicate tensor name '%s'", path, names[i]);
            free(names);
            return -1;
        }
    free(names);
    return 0;
}

/* A checkpoint is what training resumes from and what gets deployed: one
 * holding a NaN or an infinity is never useful, and writing it would replace
 * the last good one. Refused before anything touches the disk. */
static int dl_refuse_nonfinite(const char *path, const dl_named_tensor *t, int count)
{
    for (int i = 0; i < count; i++) {
        const int64_t n = dl_numel(t[i].shape, t[i].rank), at = dl_find_nonfinite(t[i].data, n);
        if (at >= 0) {
            dl_set_error("%s: not saved: tensor '%s' holds a non-finite value (%s at element %lld of %lld)", path,
                         t[i].name, dl_nonfinite_name(t[i].data[at]), (long long)at, (long long)n);
            return -1;
        }
    }
    return 0;
}

int dl_save_safetensors(const char *path, const dl_named_tensor *t, int count)
{
    return dl_save_safetensors_meta(path, t, count, NULL, 0);
}

int dl_save_safetensors_meta(const char *path, const dl_named_tensor *t, int count, const char *const *meta,
                             int n_meta)
{
    if (dl_check_tensors(path, t, count)) return -1;
    if (dl_refuse_nonfinite(path, t, count)) return -1;
    dl_strbuf h = {0};
    dl_sb_puts(&h, "{\"__metadata__\":{\"format\":\"pt\"");
    for (int k = 0; k < n_meta; k++) {
        dl_sb_put(&h, ",", 1);
        dl_sb_json_string(&h, meta[2 * k]);
        dl_sb_put(&h, ":", 1);
        dl_sb_json_string(&h, meta[2 * k + 1]);
    }
    dl_sb_put(&h, "}", 1);
    int64_t offset = 0;
    for (int i = 0; i < count; i++) {
        dl_sb_put(&h, ",", 1);
        dl_sb_json_string(&h, t[i].name);
        dl_sb_puts(&h, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t[i].rank; d++) dl_sb_printf(&h, d ? ",%lld" : "%lld", (long long)t[i].shape[d]);
        int64_t bytes = dl_numel(t[i].shape, t[i].rank) * (int64_t)sizeof(float);
        dl_sb_printf(&h, "],\"data_offsets\":[%lld,", (long long)offset);
        dl_sb_printf(&h, "%lld]}", (long long)(offset + bytes));
        offset += bytes;
    }
    dl_sb_put(&h, "}", 1);
    while (!h.oom && h.len % 8 != 0) dl_sb_put(&h, " ", 1);
    if (h.oom) { free(h.s); dl_set_error("%s: out of memory building the header", path); return -1; }
    if (h.len > DL_ST_MAX_HEADER) {   /* neither we nor safetensors could load it back */
        dl_set_error("%s: the header of %d tensors would be %zu bytes, over the 100 MB limit", path, count, h.len);
        free(h.s);
        return -1;
    }

    dl_atomic_file af;
    if (dl_atomic_create(&af, path)) { free(h.s); return -1; }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    int ok = fwrite(len8, 1, 8, af.f) == 8 && fwrite(h.s, 1, h.len, af.f) == h.len;
    for (int i = 0; ok && i < count; i++) {
        size_t n = (size_t)dl_numel(t[i].shape, t[i].rank);
        ok = fwrite(t[i].data, sizeof(float), n, af.f) == n;
    }
    free(h.s);
    if (!ok) {
        dl_set_error("%s: write failed: %s", path, strerror(errno));
        dl_atomic_abort(&af);
        return -1;
    }
    return dl_atomic_commit(&af);
}

static void dl_format_shape(char *out, size_t cap, const int64_t *shape, int rank)
{
    size_t k = (size_t)snprintf(out, cap, "[");
    for (int d = 0; d < rank && k < cap; d++) k += (size_t)snprintf(out + k, cap - k, d ? ",%lld" : "%lld", (long long)shape[d]);
    if (k < cap) snprintf(out + k, cap - k, "]");
}

/* One tensor of the header, checked: shape and byte range in the data. */
typedef struct dl_st_entry {
    int64_t shape[8];
    int rank;                             /* -1: not a tensor (__metadata__) */
    int64_t begin, end;
} dl_st_entry;

/* Checks one header entry against the data size. */
static int dl_check_entry(const char *path, const char *name, const dl_json *e, int64_t data_size, dl_st_entry *out)
{
    const dl_json *dtype = dl_json_get(e, "dtype"), *sh = dl_json_get(e, "shape"), *off = dl_json_get(e, "data_offsets");
    if (e->kind != DL_JSON_OBJECT || !dtype || dtype->kind != DL_JSON_STRING || !sh || sh->kind != DL_JSON_ARRAY ||
        !off || off->kind != DL_JSON_ARRAY || off->count != 2) {
        dl_set_error("%s: corrupt header: entry '%s' needs dtype, shape and data_offsets", path, name);
        return -1;
    }
    if (strcmp(dtype->string, "F32") != 0) {
        dl_set_error("%s: tensor '%s' has dtype %s; only F32 is supported", path, name, dtype->string);
        return -1;
    }
    if (sh->count > 8) { dl_set_error("%s: tensor '%s' has rank %lld > 8", path, name, (long long)sh->count); return -1; }
    for (int64_t d = 0; d < sh->count; d++) {
        const dl_json *x = &sh->items[d];
        if (x->kind != DL_JSON_NUMBER || !x->is_integer || x->integer < 0) {
            dl_set_error("%s: corrupt header: bad dimension in the shape of '%s'", path, name);
            return -1;
        }
        out->shape[d] = x->integer;
    }
    out->rank = (int)sh->count;
    int64_t numel;
    if (dl_numel_checked(out->shape, out->rank, DL_ST_MAX_NUMEL, &numel)) {
        dl_set_error("%s: tensor '%s' is implausibly large", path, name);
        return -1;
    }
    const dl_json *b = &off->items[0], *en = &off->items[1];
    if (b->kind != DL_JSON_NUMBER || !b->is_integer || en->kind != DL_JSON_NUMBER || !en->is_integer ||
        b->integer < 0 || en->integer < b->integer || en->integer > data_size) {
        dl_set_error("%s: truncated or corrupt: data_offsets of '%s' lie outside the %lld data bytes", path, name,
                     (long long)data_size);
        return -1;
    }
    if (en->integer - b->integer != numel * 4) {
        dl_set_error("%s: corrupt header: '%s' has %lld bytes of data for %lld floats", path, name,
                     (long long)(en->integer - b->integer), (long long)numel);
        return -1;
    }
    out->begin = b->integer;
    out->end = en->integer;
    return 0;
}

static int dl_span_cmp(const void *a, const void *b)
{
    const dl_st_entry *const *x = a, *const *y = b;
    return ((*x)->begin > (*y)->begin) - ((*x)->begin < (*y)->begin);
}

/* The tensors must tile the data exactly (the format forbids holes). A
 * header length off by a few bytes still parses when it only drops or adds
 * padding, but shifts every tensor: this is what catches it. */
static int dl_check_coverage(const char *path, dl_st_entry *entries, int64_t n, int64_t data_size)
{
    const dl_st_entry **by_begin = malloc(((size_t)n + 1) * sizeof *by_begin);
    if (!by_begin) { dl_set_error("%s: out of memory", path); return -1; }
    int64_t m = 0, covered = 0;
    for (int64_t k = 0; k < n; k++)
        if (entries[k].rank >= 0) by_begin[m++] = &entries[k];
    qsort(by_begin, (size_t)m, sizeof *by_begin, dl_span_cmp);
    for (int64_t k = 0; k < m && covered >= 0; k++) covered = by_begin[k]->begin == covered ? by_begin[k]->end : -1;
    free(by_begin);
    if (covered != data_size) {
        dl_set_error("%s: truncated or corrupt: the tensors do not cover the %lld data bytes exactly", path,
                     (long long)data_size);
        return -1;
    }
    return 0;
}

/* Reads exactly n bytes at offset; -1 on error or a short read. */
static int dl_pread_all(int fd, void *buf, size_t n, int64_t offset)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, (char *)buf + got, n - got, (off_t)(offset + (int64_t)got));
        if (k < 0 && errno == EINTR) continue;
        if (k == 0) errno = 0;   /* end of file: the file shrank since we looked */
        if (k <= 0) return -1;
        got += (size_t)k;
    }
    return 0;
}

/* The parsed, validated header of an open checkpoint. */
typedef struct dl_st_file {
    const char *path;
    int fd;
    int64_t data_start, data_size;        /* the tensor bytes: file offset and length */
    dl_json root;
    dl_st_entry *entries;                 /* one per root.items[k] */
} dl_st_file;

static void dl_st_close(dl_st_file *f)
{
    if (f->fd >= 0) close(f->fd);
    dl_json_free(&f->root);
    free(f->entries);
}

/* Opens path and reads and checks its header only — the length against the
 * 100 MB limit and the file size before reading it, then every entry
 * against the data size — so no tensor data is read for a file that is
 * going to be refused. */
static int dl_st_open(const char *path, dl_st_file *f)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    int64_t size = 0;
    if ((f->fd = dl_open_regular(path, &size)) < 0) return -1;
    unsigned char len8[8];
    uint64_t hlen = 0;
    if (size < 8 || dl_pread_all(f->fd, len8, 8, 0)) {
        dl_set_error("%s: truncated or not a safetensors file (%lld bytes)", path, (long long)size);
        return -1;
    }
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)len8[i] << (8 * i);
    if (hlen > DL_ST_MAX_HEADER) {
        dl_set_error("%s: not a safetensors file, or corrupt: a header of %llu bytes is over the 100 MB limit", path,
                     (unsigned long long)hlen);
        return -1;
    }
    if ((int64_t)hlen > size - 8) {
        dl_set_error("%s: truncated or not a safetensors file (%lld bytes, header length %llu)", path, (long long)size,
                     (unsigned long long)hlen);
        return -1;
    }
    char *text = malloc((size_t)hlen + 1);
    if (!text) { dl_set_error("%s: out of memory for a %llu-byte header", path, (unsigned long long)hlen); return -1; }
    if (dl_pread_all(f->fd, text, (size_t)hlen, 8)) {
        free(text);
        dl_set_error("%s: cannot read the header: %s", path, errno ? strerror(errno) : "the file shrank");
        return -1;
    }
    int bad = dl_json_parse(text, (size_t)hlen, &f->root);
    free(text);
    if (bad) {
        char why[256];
        snprintf(why, sizeof why, "%s", dl_last_error());
        dl_set_error("%s: corrupt header: %s", path, why);
        return -1;
    }
    if (f->root.kind != DL_JSON_OBJECT) { dl_set_error("%s: corrupt header: not a JSON object", path); return -1; }
    f->data_start = 8 + (int64_t)hlen;
    f->data_size = size - f->data_start;
    if (!(f->entries = malloc(((size_t)f->root.count + 1) * sizeof *f->entries))) {
        dl_set_error("%s: out of memory", path);
        return -1;
    }
    for (int64_t k = 0; k < f->root.count; k++) {
        f->entries[k].rank = -1;
        if (strcmp(f->root.keys[k], "__metadata__") == 0) continue;
        if (dl_check_entry(path, f->root.keys[k], &f->root.items[k], f->data_size, &f->entries[k])) return -1;
    }
    return dl_check_coverage(path, f->entries, f->root.count, f->data_size);
}

/* Every tensor in the file is one the caller asks for (unless extras are allowed). */
static int dl_st_check_wanted(const dl_st_file *f, const dl_named_tensor *t, int count)
{
    const char **names = dl_sorted_names(f->path, t, count);
    if (!names) return -1;
    int rc = 0;
    for (int64_t k = 0; k < f->root.count && !rc; k++) {
        const char *name = f->root.keys[k];
        if (f->entries[k].rank < 0 || bsearch(&name, names, (size_t)count, sizeof *names, dl_cmp_names)) continue;
        if (name[0] == '@') continue; /* training state (optimizer slots), not a model tensor: dl_save_run */
        dl_set_error("%s: unexpected tensor '%s' in the file", f->path, name);
        rc = -1;
    }
    free(names);
    return rc;
}

/* The file's tensor for t[i] is prefix + t[i].name. Strict (partial == 0):
 * every one must be there. Partial: missing ones are left as they are and
 * counted in rep, as are the file's tensors nobody asked for. */
static void dl_report_name(char *list, size_t cap, int already, const char *name);

static int dl_st_load(const char *path, dl_named_tensor *t, int count, int allow_extra, const char *prefix,
                      dl_load_report *rep)
{
    dl_st_file f;
    typedef struct { const dl_st_entry *e; int64_t at; } dl_st_pick;   /* t[i]'s entry, its place in staging */
    dl_st_pick *pick = NULL;
    unsigned char *staging = NULL;
    int rc = -1;
    if (dl_st_open(path, &f) || (!allow_extra && dl_st_check_wanted(&f, t, count))) goto done;
    if (!(pick = malloc(((size_t)count + 1) * sizeof *pick))) { dl_set_error("%s: out of memory", path); goto done; }
    int64_t total = 0;
    const size_t plen = prefix ? strlen(prefix) : 0;
    char *key = NULL;
    for (int i = 0; i < count; i++) {
        pick[i].e = NULL;
        size_t nlen = strlen(t[i].name);
        char *k2 = realloc(key, plen + nlen + 1);
        if (!k2) { dl_set_error("%s: out of memory", path); free(key); goto done; }
        key = k2;
        memcpy(key, prefix ? prefix : "", plen);
        memcpy(key + plen, t[i].name, nlen + 1);
        int64_t k = dl_json_find(&f.root, key);
        if (k < 0 || f.entries[k].rank < 0) {
            if (rep) {
                dl_report_name(rep->missing_names, sizeof rep->missing_names, rep->missing, t[i].name);
                rep->missing++;
                continue;
            }
            dl_set_error("%s: tensor '%s' not found", path, key);
            free(key);
            goto done;
        }
        const dl_st_entry *e = &f.entries[k];
        int same = e->rank == t[i].rank;
        for (int d = 0; same && d < e->rank; d++) same = e->shape[d] == t[i].shape[d];
        if (!same) {
            char have[128], want[128];
            dl_format_shape(have, sizeof have, e->shape, e->rank);
            dl_format_shape(want, sizeof want, t[i].shape, t[i].rank);
            if (plen)
                dl_set_error("%s: tensor '%s' has shape %s in the file, the model's '%s' expects %s", path, key, have,
                             t[i].name, want);
            else dl_set_error("%s: tensor '%s' has shape %s in the file, the model expects %s", path, key, have, want);
            free(key);
            goto done;
        }
        pick[i] = (dl_st_pick){e, total};
        if (rep) rep->used++;
        if (dl_add_i64(total, e->end - e->begin, &total)) { dl_set_error("%s: out of memory", path); free(key); goto done; }
    }
    free(key);
    if (rep) {
        /* what the file has that nothing asked for: another model's part */
        for (int64_t k = 0; k < f.root.count; k++) {
            if (f.entries[k].rank < 0 || f.root.keys[k][0] == '@') continue; /* not a model's: run state */
            int used = 0;
            for (int i = 0; i < count && !used; i++) used = pick[i].e == &f.entries[k];
            if (used) continue;
            dl_report_name(rep->skipped_names, sizeof rep->skipped_names, rep->skipped, f.root.keys[k]);
            rep->skipped++;
        }
        if (rep->used == 0) {
            dl_set_error("%s: no tensor of the file matches the model%s%s%s (it has %d, e.g. %s)", path,
                         plen ? " under the prefix '" : "", plen ? prefix : "", plen ? "'" : "", rep->skipped,
                         rep->skipped ? rep->skipped_names : "none");
            goto done;
        }
    }
    /* Only the tensors asked for are read, into a staging buffer first: a read
     * error half-way (or a file changed underfoot) leaves the caller's tensors
     * untouched, as a refused file does. */
    if (!(staging = malloc((size_t)total + 1))) { dl_set_error("%s: out of memory", path); goto done; }
    for (int i = 0; i < count; i++)
        if (pick[i].e && dl_pread_all(f.fd, staging + pick[i].at, (size_t)(pick[i].e->end - pick[i].e->begin),
                                      f.data_start + pick[i].e->begin)) {
            dl_set_error("%s: cannot read tensor '%s': %s", path, t[i].name, errno ? strerror(errno) : "the file shrank");
            goto done;
        }
    /* No checkpoint is saved with a NaN or an infinity (dl_refuse_nonfinite),
     * so one in the file is damage — a flipped exponent bit, say — which
     * would otherwise load silently and turn every output into NaN. */
    for (int i = 0; i < count; i++) {
        if (!pick[i].e) continue;
        const int64_t n = (pick[i].e->end - pick[i].e->begin) / (int64_t)sizeof(float);
        const int64_t at = dl_find_nonfinite((const float *)(staging + pick[i].at), n);
        if (at >= 0) {
            float v;
            memcpy(&v, staging + pick[i].at + at * (int64_t)sizeof(float), sizeof v);
            dl_set_error("%s: tensor '%s' holds a non-finite value (%s at element %lld of %lld): a damaged file "
                         "(no checkpoint is saved with one)", path, t[i].name, dl_nonfinite_name(v), (long long)at,
                         (long long)n);
            goto done;
        }
    }
    for (int i = 0; i < count; i++)
        if (pick[i].e) memcpy(t[i].data, staging + pick[i].at, (size_t)(pick[i].e->end - pick[i].e->begin));
    rc = 0;
done:
    free(staging);
    free(pick);
    dl_st_close(&f);
    return rc;
}

/* "a, b, c, ..." — the first few names, enough to recognise a wrong prefix. */
static void dl_report_name(char *list, size_t cap, int already, const char *name)
{
    size_t len = strlen(list);
    if (already >= 4) {
        if (already == 4 && len + 5 < cap) strcat(list, ", ...");
        return;
    }
    snprintf(list + len, cap - len, "%s%s", already ? ", " : "", name);
}

int dl_load_safetensors(const char *path, dl_named_tensor *t, int count, int allow_extra)
{
    return dl_st_load(path, t, count, allow_extra, NULL, NULL);
}

int dl_load_safetensors_prefix(const char *path, dl_named_tensor *t, int count, const char *prefix,
                               dl_load_report *rep)
{
    dl_load_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    return dl_st_load(path, t, count, 1, prefix, rep);
}

int dl_safetensors_meta(const char *path, const char *key, char *out, size_t cap)
{
    dl_st_file f;
    int rc = -1;
    if (dl_st_open(path, &f)) goto done;
    const dl_json *meta = dl_json_get(&f.root, "__metadata__");
    const dl_json *v = meta && meta->kind == DL_JSON_OBJECT ? dl_json_get(meta, key) : NULL;
    if (!v || v->kind != DL_JSON_STRING) {
        dl_set_error("%s: no '%s' in the checkpoint's metadata", path, key);
        goto done;
    }
    snprintf(out, cap, "%s", v->string);
    rc = 0;
done:
    dl_st_close(&f);
    return rc;
}
