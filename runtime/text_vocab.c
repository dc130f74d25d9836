/* text_vocab.c — the byte vocabulary of a character-level model: built from
 * the training text, stored in the checkpoint's metadata (a model's output
 * row i means nothing without the byte of id i), read back for generation,
 * and used to turn a prompt into ids and sampled ids back into text.
 *
 * The stored form is "bytes:" + two hex digits per byte: a vocabulary may
 * hold any byte (UTF-8 fragments, control characters), and safetensors
 * metadata is JSON text, where raw bytes >= 0x80 would not survive as
 * themselves. Hex is ASCII, needs no escaping, and a reader can check it
 * strictly. */
#include "dlnrt.h"

#include <stdio.h>
#include <string.h>

void dl_vocab_build(dl_vocab *v, const unsigned char *text, int64_t n)
{
    int seen[256] = {0};
    for (int64_t i = 0; i < n; i++) seen[text[i]] = 1;
    memset(v, 0, sizeof *v);   /* unused byte[] slots too: equal vocabularies compare equal bytewise */
    for (int c = 0; c < 256; c++) {
        v->id[c] = seen[c] ? (int16_t)v->size : -1;
        if (seen[c]) v->byte[v->size++] = (unsigned char)c;
    }
}

static const char dl_hex_digits[] = "0123456789abcdef";
static const char dl_vocab_prefix[] = "bytes:";

void dl_vocab_to_meta(const dl_vocab *v, char *out)
{
    char *o = out + sprintf(out, "%s", dl_vocab_prefix);
    for (int i = 0; i < v->size; i++) {
        *o++ = dl_hex_digits[v->byte[i] >> 4];
        *o++ = dl_hex_digits[v->byte[i] & 15];
    }
    *o = '\0';
}

static int dl_hex_value(char c)
{
    const char *p = c ? strchr(dl_hex_digits, c) : NULL;
    return p ? (int)(p - dl_hex_digits) : -1;
}

int dl_vocab_from_meta(const char *s, dl_vocab *v)
{
    const size_t np = sizeof dl_vocab_prefix - 1;
    if (strncmp(s, dl_vocab_prefix, np) != 0) {
        dl_set_error("vocabulary: expected \"%s\" and hex digits, got \"%.20s\"", dl_vocab_prefix, s);
        return -1;
    }
    s += np;
    size_t len = strlen(s);
    if (len == 0 || len % 2 || len > 512) {
        dl_set_error("vocabulary: %zu hex digits; expected 2 per byte for 1 to 256 bytes", len);
        return -1;
    }
    dl_vocab w = {.size = 0};
    memset(w.id, -1, sizeof w.id);
    for (size_t i = 0; i < len; i += 2) {
        int hi = dl_hex_value(s[i]), lo = dl_hex_value(s[i + 1]);
        if (hi < 0 || lo < 0) {
            dl_set_error("vocabulary: '%c%c' at digit %zu is not a lowercase hex byte", s[i], s[i + 1], i + 1);
            return -1;
        }
        int c = hi << 4 | lo;
        if (w.size && c <= w.byte[w.size - 1]) {
            dl_set_error("vocabulary: byte 0x%02x at digit %zu is not above the one before it (bytes are sorted and "
                         "distinct)", c, i + 1);
            return -1;
        }
        w.id[c] = (int16_t)w.size;
        w.byte[w.size++] = (unsigned char)c;
    }
    *v = w;
    return 0;
}

int dl_vocab_load(const char *checkpoint, dl_vocab *v)
{
    char s[DL_VOCAB_META_MAX + 1];   /* one more: a longer value is cut, then rejected as too long */
    if (dl_safetensors_meta(checkpoint, DL_VOCAB_META_KEY, s, sizeof s)) return -1;
    if (dl_vocab_from_meta(s, v) == 0) return 0;
    char why[256];
    snprintf(why, sizeof why, "%s", dl_last_error());
    dl_set_error("%s: %s", checkpoint, why);
    return -1;
}

/* c, printable, for an error message. */
static const char *dl_show_byte(unsigned char c, char buf[8])
{
    if (c >= 0x20 && c < 0x7f) snprintf(buf, 8, "'%c'", c);
    else snprintf(buf, 8, "0x%02x", c);
    return buf;
}

int dl_vocab_encode(const dl_vocab *v, const char *text, int64_t len, int32_t *ids)
{
    for (int64_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (v->id[c] < 0) {
            char b[8];
            dl_set_error("byte %s at position %lld is not in the model's vocabulary (%d bytes seen in its training text)",
                         dl_show_byte(c, b), (long long)i, v->size);
            return -1;
        }
        if (ids) ids[i] = v->id[c];
    }
    return 0;
}

int dl_vocab_decode(const dl_vocab *v, const int32_t *ids, int64_t n, char *out)
{
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= v->size) {
            out[i] = '\0';
            dl_set_error("id %d at position %lld is outside the vocabulary [0, %d)", (int)ids[i], (long long)i, v->size);
            return -1;
        }
        out[i] = (char)v->byte[ids[i]];
    }
    out[n] = '\0';
    return 0;
}
