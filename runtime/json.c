/* json.c — a compact, strict JSON parser (RFC 8259), for safetensors headers.
 *
 * Checkpoint files come from disk and may be truncated or garbage, so the
 * parser treats its input as hostile: it never reads past `len`, bounds the
 * nesting depth (no stack exhaustion), rejects anything outside the grammar
 * (trailing commas, leading zeros, raw control characters in strings, lone
 * surrogates, duplicate keys, trailing garbage) with the byte offset of the
 * problem, and frees everything it built on failure. It builds a tree of
 * dl_json nodes in time linear in the input (n log n in an object's keys):
 * a header may hold 100 MB and hundreds of thousands of tensors. */
#include "json_internal.h"
#include "dlnrt.h"

#include <stdlib.h>
#include <string.h>

enum { DL_JSON_MAX_DEPTH = 64 };

typedef struct dl_json_parser {
    const char *s;
    size_t len, pos;
    int depth;
} dl_json_parser;

static int dl_json_fail(dl_json_parser *p, const char *what)
{
    dl_set_error("at byte %zu: %s", p->pos, what);
    return -1;
}

static void dl_json_skip_ws(dl_json_parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int dl_json_peek(dl_json_parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }

static int dl_json_literal(dl_json_parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) return dl_json_fail(p, "invalid literal");
    p->pos += n;
    return 0;
}

static int dl_json_hex4(dl_json_parser *p, unsigned *out)
{
    if (p->len - p->pos < 4) return dl_json_fail(p, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p->s[p->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return dl_json_fail(p, "bad hex digit in \\u escape");
    }
    *out = v;
    return 0;
}

static size_t dl_utf8_encode(unsigned cp, char *o)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* string = '"' chars '"'. The decoded text is never longer than the source. */
static int dl_json_string(dl_json_parser *p, char **out)
{
    if (dl_json_peek(p) != '"') return dl_json_fail(p, "expected a string");
    size_t start = ++p->pos, end = start;
    while (end < p->len && p->s[end] != '"') end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->len) return dl_json_fail(p, "unterminated string");
    char *buf = malloc(end - start + 1), *o = buf;
    if (!buf) return dl_json_fail(p, "out of memory");
    while (p->s[p->pos] != '"') {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20) { free(buf); return dl_json_fail(p, "control character in string"); }
        if (c != '\\') { *o++ = (char)c; p->pos++; continue; }
        p->pos++;
        char e = p->s[p->pos++];
        switch (e) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (dl_json_hex4(p, &cp)) { free(buf); return -1; }
            if (cp >= 0xDC00 && cp <= 0xDFFF) { free(buf); return dl_json_fail(p, "lone low surrogate"); }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (p->len - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                    free(buf);
                    return dl_json_fail(p, "lone high surrogate");
                }
                p->pos += 2;
                if (dl_json_hex4(p, &lo)) { free(buf); return -1; }
                if (lo < 0xDC00 || lo > 0xDFFF) { free(buf); return dl_json_fail(p, "bad surrogate pair"); }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp == 0) { free(buf); return dl_json_fail(p, "\\u0000 in string"); }
            o += dl_utf8_encode(cp, o);
            break;
        }
        default: free(buf); p->pos--; return dl_json_fail(p, "invalid escape");
        }
    }
    p->pos++;
    *o = '\0';
    *out = buf;
    return 0;
}

/* number = '-'? int frac? exp?  with int = '0' | [1-9][0-9]* */
static int dl_json_number(dl_json_parser *p, dl_json *v)
{
    size_t start = p->pos;
    int integral = 1;
    if (dl_json_peek(p) == '-') p->pos++;
    if (dl_json_peek(p) == '0') p->pos++;
    else if (dl_json_peek(p) >= '1' && dl_json_peek(p) <= '9') while (dl_json_peek(p) >= '0' && dl_json_peek(p) <= '9') p->pos++;
    else return dl_json_fail(p, "invalid number");
    if (dl_json_peek(p) == '.') {
        integral = 0;
        p->pos++;
        if (!(dl_json_peek(p) >= '0' && dl_json_peek(p) <= '9')) return dl_json_fail(p, "digit expected after '.'");
        while (dl_json_peek(p) >= '0' && dl_json_peek(p) <= '9') p->pos++;
    }
    if (dl_json_peek(p) == 'e' || dl_json_peek(p) == 'E') {
        integral = 0;
        p->pos++;
        if (dl_json_peek(p) == '+' || dl_json_peek(p) == '-') p->pos++;
        if (!(dl_json_peek(p) >= '0' && dl_json_peek(p) <= '9')) return dl_json_fail(p, "digit expected in exponent");
        while (dl_json_peek(p) >= '0' && dl_json_peek(p) <= '9') p->pos++;
    }
    char tmp[64];
    size_t n = p->pos - start;
    if (n >= sizeof tmp) n = sizeof tmp - 1;   /* precision beyond 63 chars is irrelevant here */
    memcpy(tmp, p->s + start, n);
    tmp[n] = '\0';
    v->kind = DL_JSON_NUMBER;
    v->number = strtod(tmp, NULL);
    size_t digits = p->pos - start - (p->s[start] == '-');
    if (integral && digits <= 18) {
        v->is_integer = 1;
        v->integer = strtoll(tmp, NULL, 10);
    }
    return 0;
}

static int dl_json_value(dl_json_parser *p, dl_json *v);

/* Appends item (and, to an object, its key and the key's byte offset, kept
 * in `sorted` until the object closes). */
static int dl_json_push(dl_json *v, int64_t *cap, char *key, size_t key_pos, dl_json *item)
{
    if (v->count == *cap) {
        int64_t ncap = *cap ? *cap * 2 : 4;
        dl_json *items = realloc(v->items, (size_t)ncap * sizeof *items);
        if (!items) return -1;
        v->items = items;
        if (v->kind == DL_JSON_OBJECT) {
            char **keys = realloc(v->keys, (size_t)ncap * sizeof *keys);
            if (!keys) return -1;
            v->keys = keys;
            int64_t *sorted = realloc(v->sorted, (size_t)ncap * sizeof *sorted);
            if (!sorted) return -1;
            v->sorted = sorted;
        }
        *cap = ncap;
    }
    if (v->kind == DL_JSON_OBJECT) {
        v->keys[v->count] = key;
        v->sorted[v->count] = (int64_t)key_pos;
    }
    v->items[v->count++] = *item;
    return 0;
}

typedef struct dl_json_key_ref { const char *key; int64_t index; } dl_json_key_ref;

static int dl_json_key_cmp(const void *a, const void *b)
{
    const dl_json_key_ref *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* When an object closes: sorts its keys once (n log n; checking each new key
 * against all before it was quadratic, 80k keys took half a minute), fails
 * at the first key in document order that repeats an earlier one, and
 * replaces the key offsets in v->sorted by the item indices in key order,
 * which dl_json_get then searches. */
static int dl_json_index_keys(dl_json_parser *p, dl_json *v)
{
    if (v->count == 0) return 0;
    dl_json_key_ref *r = malloc((size_t)v->count * sizeof *r);
    if (!r) return dl_json_fail(p, "out of memory");
    for (int64_t i = 0; i < v->count; i++) r[i] = (dl_json_key_ref){v->keys[i], i};
    qsort(r, (size_t)v->count, sizeof *r, dl_json_key_cmp);
    int64_t repeat = -1;   /* equal keys sit together, in document order */
    for (int64_t i = 1; i < v->count; i++)
        if (strcmp(r[i].key, r[i - 1].key) == 0 && (repeat < 0 || r[i].index < repeat)) repeat = r[i].index;
    if (repeat >= 0) {
        free(r);
        p->pos = (size_t)v->sorted[repeat];
        return dl_json_fail(p, "duplicate key");
    }
    for (int64_t i = 0; i < v->count; i++) v->sorted[i] = r[i].index;
    free(r);
    return 0;
}

/* array = '[' (value (',' value)*)? ']';  object = '{' (string ':' value (',' ...)*)? '}' */
static int dl_json_container(dl_json_parser *p, dl_json *v, int is_object)
{
    const char close = is_object ? '}' : ']';
    int64_t cap = 0;
    v->kind = is_object ? DL_JSON_OBJECT : DL_JSON_ARRAY;
    if (++p->depth > DL_JSON_MAX_DEPTH) return dl_json_fail(p, "nesting too deep");
    p->pos++;
    dl_json_skip_ws(p);
    if (dl_json_peek(p) == close) { p->pos++; p->depth--; return 0; }
    for (;;) {
        char *key = NULL;
        size_t key_pos = 0;
        dl_json item;
        memset(&item, 0, sizeof item);
        dl_json_skip_ws(p);
        if (is_object) {
            key_pos = p->pos;
            if (dl_json_string(p, &key)) return -1;
            dl_json_skip_ws(p);
            if (dl_json_peek(p) != ':') { free(key); return dl_json_fail(p, "expected ':'"); }
            p->pos++;
        }
        if (dl_json_value(p, &item)) {
            free(key);
            dl_json_free(&item);
            return -1;
        }
        if (dl_json_push(v, &cap, key, key_pos, &item)) {
            free(key);
            dl_json_free(&item);
            return dl_json_fail(p, "out of memory");
        }
        dl_json_skip_ws(p);
        int c = dl_json_peek(p);
        p->pos += c != -1;
        if (c == close) break;
        if (c != ',') { p->pos -= c != -1; return dl_json_fail(p, is_object ? "expected ',' or '}'" : "expected ',' or ']'"); }
    }
    p->depth--;
    return is_object ? dl_json_index_keys(p, v) : 0;
}

static int dl_json_value(dl_json_parser *p, dl_json *v)
{
    dl_json_skip_ws(p);
    switch (dl_json_peek(p)) {
    case -1: return dl_json_fail(p, "unexpected end of input");
    case '{': return dl_json_container(p, v, 1);
    case '[': return dl_json_container(p, v, 0);
    case '"': v->kind = DL_JSON_STRING; return dl_json_string(p, &v->string);
    case 't': v->kind = DL_JSON_BOOL; v->boolean = 1; return dl_json_literal(p, "true");
    case 'f': v->kind = DL_JSON_BOOL; return dl_json_literal(p, "false");
    case 'n': v->kind = DL_JSON_NULL; return dl_json_literal(p, "null");
    default:
        if (dl_json_peek(p) == '-' || (dl_json_peek(p) >= '0' && dl_json_peek(p) <= '9')) return dl_json_number(p, v);
        return dl_json_fail(p, "unexpected character");
    }
}

int dl_json_parse(const char *text, size_t len, dl_json *out)
{
    dl_json_parser p = {text, len, 0, 0};
    memset(out, 0, sizeof *out);
    dl_set_error("%s", "");
    if (dl_json_value(&p, out) == 0) {
        dl_json_skip_ws(&p);
        if (p.pos == p.len) return 0;
        dl_json_fail(&p, "trailing characters after the value");
    }
    dl_json_free(out);
    return -1;
}

void dl_json_free(dl_json *v)
{
    if (!v) return;
    for (int64_t i = 0; i < v->count; i++) {
        dl_json_free(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->sorted);
    free(v->string);
    memset(v, 0, sizeof *v);
}

int64_t dl_json_find(const dl_json *obj, const char *key)
{
    if (!obj || obj->kind != DL_JSON_OBJECT) return -1;
    int64_t lo = 0, hi = obj->count;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (strcmp(obj->keys[obj->sorted[mid]], key) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo < obj->count && strcmp(obj->keys[obj->sorted[lo]], key) == 0 ? obj->sorted[lo] : -1;
}

const dl_json *dl_json_get(const dl_json *obj, const char *key)
{
    int64_t i = dl_json_find(obj, key);
    return i < 0 ? NULL : &obj->items[i];
}
