/* text_tokens.c — pre-tokenized data: a text file of token ids, decimal,
 * separated by any whitespace (one document per line, or one id per line,
 * as a tokenizer script happens to write them).
 *
 * Text rather than raw int32: it is what `print(*ids)` or `' '.join(...)`
 * writes, it can be read and diffed, and every damage shows as a character
 * we can name with its line, where a raw file's damage would decode to
 * plausible ids. The reader treats the file as hostile: digits are summed
 * with an explicit bound (no strtol wrap-around to a negative id), a sign or
 * any other character is an error with its line, and the whole file is held
 * under DL_TEXT_MAX_BYTES. The largest id is 2^31 - 2 so that vocab_size =
 * max + 1 still fits an int32. */
#include "text_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DL_TOKEN_MAX 2147483646LL

static int dl_is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* "x", printable, or its code, for the message. */
static void dl_token_show(char c, char buf[8])
{
    if (c > 0x20 && c < 0x7f) snprintf(buf, 8, "'%c'", c);
    else snprintf(buf, 8, "0x%02x", (unsigned char)c);
}

/* Parses text[0..n) into out->train; errors name path:line. */
static int dl_tokens_parse(const char *path, const char *text, int64_t n, int64_t vocab_size, dl_text_data *out)
{
    int64_t line = 1, count = 0, max = -1;
    /* A file of n bytes holds at most n/2 + 1 ids ("1 1 1 ..."). */
    out->train = malloc(((size_t)n / 2 + 1) * sizeof *out->train);
    if (!out->train) { dl_set_error("%s: out of memory", path); return -1; }
    for (int64_t i = 0; i < n;) {
        char c = text[i];
        if (dl_is_space(c)) {
            line += c == '\n';
            i++;
            continue;
        }
        if (c < '0' || c > '9') {
            char b[8];
            dl_token_show(c, b);
            if (c == '-') dl_set_error("%s:%lld: a negative id; token ids are integers >= 0", path, (long long)line);
            else dl_set_error("%s:%lld: unexpected %s; a token file holds non-negative integers separated by whitespace",
                              path, (long long)line, b);
            return -1;
        }
        int64_t v = 0, start = i;
        for (; i < n && text[i] >= '0' && text[i] <= '9'; i++) {
            v = v * 10 + (text[i] - '0');
            if (v > DL_TOKEN_MAX) {
                dl_set_error("%s:%lld: id %.*s%s is too large (ids are at most %lld)", path, (long long)line,
                             (int)(i - start + 1 < 24 ? i - start + 1 : 24), text + start, i - start + 1 < 24 ? "" : "...",
                             DL_TOKEN_MAX);
                return -1;
            }
        }
        if (i < n && !dl_is_space(text[i])) {
            char b[8];
            dl_token_show(text[i], b);
            dl_set_error("%s:%lld: unexpected %s after the id %lld; ids are separated by whitespace", path, (long long)line,
                         b, (long long)v);
            return -1;
        }
        if (vocab_size > 0 && v >= vocab_size) {
            dl_set_error("%s:%lld: id %lld is outside the vocabulary (vocab = %lld: ids 0 to %lld)", path, (long long)line,
                         (long long)v, (long long)vocab_size, (long long)vocab_size - 1);
            return -1;
        }
        if (v > max) max = v;
        out->train[count++] = (int32_t)v;
    }
    if (count == 0) { dl_set_error("%s: no token ids in the file", path); return -1; }
    int32_t *fit = realloc(out->train, (size_t)count * sizeof *fit);   /* give back the n/2 bound's slack */
    if (fit) out->train = fit;
    out->n_train = count;
    out->vocab_size = vocab_size > 0 ? vocab_size : max + 1;
    return 0;
}

int dl_load_tokens(const char *path, int64_t vocab_size, double val_split, dl_text_data *out)
{
    memset(out, 0, sizeof *out);
    if (vocab_size < 0 || vocab_size > DL_TOKEN_MAX + 1) {
        dl_set_error("%s: vocab size %lld is outside [1, %lld] (0 = the largest id + 1)", path, (long long)vocab_size,
                     DL_TOKEN_MAX + 1);
        return -1;
    }
    char *text = NULL;
    int64_t n = 0, cap = 0, n_val;
    int rc = dl_text_append_file(path, &text, &n, &cap);
    if (rc == 0) rc = dl_tokens_parse(path, text, n, vocab_size, out);
    free(text);
    if (rc == 0) rc = dl_text_val_count(out->n_train, val_split, path, &n_val);
    if (rc == 0) rc = dl_text_split(out, n_val, path);
    if (rc) dl_text_data_free(out);
    return rc;
}
