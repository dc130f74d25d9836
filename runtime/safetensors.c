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
 * concurrent saves to one path do not collide. Loading reads the whole
 * file, validates everything (header JSON, dtypes, shapes, offsets inside the file, every requested name
 * present, no unexpected extras) and only then copies into the caller's
 * tensors — a corrupt or mismatched file leaves the parameters untouched. */
#include "dlnrt.h"
#include "atomic_file_internal.h"
#include "checked_internal.h"
#include "json_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c writes host floats as little-endian; add byte swapping for this target"
#endif

enum { DL_ST_MAX_HEADER = 100 * 1024 * 1024 };
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

int dl_save_safetensors(const char *path, const dl_named_tensor *t, int count)
{
    for (int i = 0; i < count; i++) {
        if (!t[i].name || !t[i].name[0] || t[i].rank < 0 || t[i].rank > 8 || !t[i].data) {
            dl_set_error("%s: tensor %d has no name, no data or a bad rank", path, i);
            return -1;
        }
        for (int d = 0; d < t[i].rank; d++)
            if (t[i].shape[d] < 0) { dl_set_error("%s: tensor '%s' has a negative dimension", path, t[i].name); return -1; }
        for (int j = 0; j < i; j++)
            if (strcmp(t[i].name, t[j].name) == 0) { dl_set_error("%s: duplicate tensor name '%s'", path, t[i].name); return -1; }
    }
    dl_strbuf h = {0};
    dl_sb_puts(&h, "{\"__metadata__\":{\"format\":\"pt\"}");
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

/* Read a whole file; -1 with an error naming it. */
static int dl_read_file(const char *path, unsigned char **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) { dl_set_error("%s: cannot open: %s", path, strerror(errno)); return -1; }
    /* A directory opens fine on Linux and "seeks" to LONG_MAX: ask what it is first. */
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        dl_set_error("%s: not a regular file", path);
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); dl_set_error("%s: cannot seek", path); return -1; }
    long n = ftell(f);
    rewind(f);
    unsigned char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        dl_set_error("%s: cannot read", path);
        return -1;
    }
    fclose(f);
    *data = buf;
    *size = (size_t)n;
    return 0;
}

static void dl_format_shape(char *out, size_t cap, const int64_t *shape, int rank)
{
    size_t k = (size_t)snprintf(out, cap, "[");
    for (int d = 0; d < rank && k < cap; d++) k += (size_t)snprintf(out + k, cap - k, d ? ",%lld" : "%lld", (long long)shape[d]);
    if (k < cap) snprintf(out + k, cap - k, "]");
}

/* Checks one header entry; fills its shape, rank and byte range. */
static int dl_check_entry(const char *path, const char *name, const dl_json *e, size_t data_size,
                          int64_t *shape, int *rank, int64_t *begin)
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
    int64_t numel;
    for (int64_t d = 0; d < sh->count; d++) {
        const dl_json *x = &sh->items[d];
        if (x->kind != DL_JSON_NUMBER || !x->is_integer || x->integer < 0) {
            dl_set_error("%s: corrupt header: bad dimension in the shape of '%s'", path, name);
            return -1;
        }
        shape[d] = x->integer;
    }
    if (dl_numel_checked(shape, (int)sh->count, DL_ST_MAX_NUMEL, &numel)) {
        dl_set_error("%s: tensor '%s' is implausibly large", path, name);
        return -1;
    }
    *rank = (int)sh->count;
    const dl_json *b = &off->items[0], *en = &off->items[1];
    if (b->kind != DL_JSON_NUMBER || !b->is_integer || en->kind != DL_JSON_NUMBER || !en->is_integer ||
        b->integer < 0 || en->integer < b->integer || (uint64_t)en->integer > data_size) {
        dl_set_error("%s: truncated or corrupt: data_offsets of '%s' lie outside the %zu data bytes", path, name, data_size);
        return -1;
    }
    if (en->integer - b->integer != numel * 4) {
        dl_set_error("%s: corrupt header: '%s' has %lld bytes of data for %lld floats", path, name,
                     (long long)(en->integer - b->integer), (long long)numel);
        return -1;
    }
    *begin = b->integer;
    return 0;
}

static int dl_span_cmp(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

int dl_load_safetensors(const char *path, dl_named_tensor *t, int count, int allow_extra)
{
    unsigned char *buf;
    size_t size;
    if (dl_read_file(path, &buf, &size)) return -1;
    uint64_t hlen = 0;
    if (size >= 8)
        for (int i = 0; i < 8; i++) hlen |= (uint64_t)buf[i] << (8 * i);
    if (size < 8 || hlen > size - 8 || hlen > DL_ST_MAX_HEADER) {
        dl_set_error("%s: truncated or not a safetensors file (%zu bytes, header length %llu)", path, size,
                     (unsigned long long)hlen);
        free(buf);
        return -1;
    }
    dl_json root;
    if (dl_json_parse((const char *)buf + 8, (size_t)hlen, &root)) {
        char why[256];
        snprintf(why, sizeof why, "%s", dl_last_error());
        dl_set_error("%s: corrupt header: %s", path, why);
        free(buf);
        return -1;
    }
    const unsigned char *data = buf + 8 + hlen;
    const size_t data_size = size - 8 - (size_t)hlen;
    int64_t *begin = calloc((size_t)count + 1, sizeof *begin);
    int64_t (*spans)[2] = NULL, n_spans = 0;
    int rc = -1;
    if (!begin) { dl_set_error("%s: out of memory", path); goto done; }
    if (root.kind != DL_JSON_OBJECT) { dl_set_error("%s: corrupt header: not a JSON object", path); goto done; }
    /* Every entry in the file must be well-formed, and (unless allowed) wanted. */
    if (!(spans = malloc(sizeof *spans * (size_t)(root.count + 1)))) { dl_set_error("%s: out of memory", path); goto done; }
    for (int64_t k = 0; k < root.count; k++) {
        const char *name = root.keys[k];
        if (strcmp(name, "__metadata__") == 0) continue;
        int64_t shape[8], b;
        int rank;
        if (dl_check_entry(path, name, &root.items[k], data_size, shape, &rank, &b)) goto done;
        spans[n_spans][0] = b;
        spans[n_spans++][1] = b + dl_numel(shape, rank) * 4;
        int wanted = 0;
        for (int i = 0; i < count && !wanted; i++) wanted = strcmp(t[i].name, name) == 0;
        if (!wanted && !allow_extra) { dl_set_error("%s: unexpected tensor '%s' in the file", path, name); goto done; }
    }
    /* The tensors must tile the data exactly (the format forbids holes). A
     * header length off by a few bytes still parses when it only drops or
     * adds padding, but shifts every tensor: this is what catches it. */
    qsort(spans, (size_t)n_spans, sizeof *spans, dl_span_cmp);
    int64_t covered = 0;
    for (int64_t k = 0; k < n_spans && covered >= 0; k++) covered = spans[k][0] == covered ? spans[k][1] : -1;
    if (covered != (int64_t)data_size) {
        dl_set_error("%s: truncated or corrupt: the tensors do not cover the %zu data bytes exactly", path, data_size);
        goto done;
    }
    for (int i = 0; i < count; i++) {
        const dl_json *e = dl_json_get(&root, t[i].name);
        if (!e) { dl_set_error("%s: tensor '%s' not found", path, t[i].name); goto done; }
        int64_t shape[8];
        int rank;
        dl_check_entry(path, t[i].name, e, data_size, shape, &rank, &begin[i]);
        int same = rank == t[i].rank;
        for (int d = 0; same && d < rank; d++) same = shape[d] == t[i].shape[d];
        if (!same) {
            char have[128], want[128];
            dl_format_shape(have, sizeof have, shape, rank);
            dl_format_shape(want, sizeof want, t[i].shape, t[i].rank);
            dl_set_error("%s: tensor '%s' has shape %s in the file, the model expects %s", path, t[i].name, have, want);
            goto done;
        }
    }
    for (int i = 0; i < count; i++)
        memcpy(t[i].data, data + begin[i], (size_t)dl_numel(t[i].shape, t[i].rank) * sizeof(float));
    rc = 0;
done:
    free(begin);
    free(spans);
    dl_json_free(&root);
    free(buf);
    return rc;
}
