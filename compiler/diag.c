/* diag.c — GCC-style diagnostics with a quoted source line and a caret.
 *
 * Why this shape: people read compiler errors far more often than they read
 * compiler code, and the format every C programmer already knows is GCC's:
 *
 *   model.dln:3:14: error: cannot add f32[N, 10] and f32[N, 12]
 *       3 |     return x @ w + b
 *         |              ^~~~~~~
 *   hint: the last dimensions must be equal or 1 (NumPy broadcasting)
 *
 * Columns in src_loc count bytes. When the quoted line contains tabs we expand
 * them (to 8-column stops) in the quoted line and compute the caret position
 * in the same expanded space, so the caret stays under the right character.
 * The text is plain (no colour) so golden tests can compare it byte for byte.
 *
 * After max_errors errors we print one "too many errors; stopping" line and
 * stay silent; errors are still counted so the exit status stays right. */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { DIAG_TAB_WIDTH = 8, DIAG_DEFAULT_MAX_ERRORS = 20 };

void diag_init(diag_ctx *d, FILE *out) {
    memset(d, 0, sizeof *d);
    d->out = out ? out : stderr;
    d->max_errors = DIAG_DEFAULT_MAX_ERRORS;
}

const char *diag_add_source(diag_ctx *d, const char *name, const char *text) {
    if (d->n_sources == d->cap_sources) {
        int cap = d->cap_sources ? 2 * d->cap_sources : 8;
        diag_source *grown = realloc(d->sources, sizeof(diag_source) * (size_t)cap);
        if (!grown) {
            fprintf(stderr, "dlnc: out of memory\n");
            exit(2);
        }
        d->sources = grown;
        d->cap_sources = cap;
    }
    d->sources[d->n_sources++] = (diag_source){name, text};
    return name;
}

void diag_free(diag_ctx *d) {
    free(d->sources);
    d->sources = NULL;
    d->n_sources = d->cap_sources = 0;
}

src_loc loc_span(src_loc a, src_loc b) {
    src_loc r = a;
    if (!r.file) r.file = b.file;
    r.end_line = b.end_line;
    r.end_col = b.end_col;
    return r;
}

/* The registered text for a location's file (matched by pointer first, then
 * by name so a copied name still finds its text), or NULL. */
static const char *diag_find_text(const diag_ctx *d, const char *file) {
    for (int i = d->n_sources - 1; i >= 0; i--)
        if (d->sources[i].name == file) return d->sources[i].text;
    for (int i = d->n_sources - 1; i >= 0; i--)
        if (strcmp(d->sources[i].name, file) == 0) return d->sources[i].text;
    return NULL;
}

/* Start of 1-based line `line` in text and its length (without "\n" or "\r\n"). */
static const char *diag_find_line(const char *text, int line, int *len) {
    const char *p = text;
    for (int l = 1; l < line; l++) {
        p = strchr(p, '\n');
        if (!p) return NULL;
        p++;
    }
    const char *end = strchr(p, '\n');
    int n = end ? (int)(end - p) : (int)strlen(p);
    if (n > 0 && p[n - 1] == '\r') n--;
    if (!*p && line > 1 && !end) return NULL; /* past the last line */
    *len = n;
    return p;
}

/* Visual column (0-based) of byte offset `byte` in the line, tabs expanded. */
static int diag_visual_col(const char *line, int len, int byte) {
    int v = 0;
    for (int i = 0; i < byte; i++) {
        if (i < len && line[i] == '\t')
            v = (v / DIAG_TAB_WIDTH + 1) * DIAG_TAB_WIDTH;
        else
            v++;
    }
    return v;
}

static void diag_quote_source(diag_ctx *d, src_loc loc) {
    const char *text = diag_find_text(d, loc.file);
    if (!text || loc.line < 1) return;
    int len;
    const char *line = diag_find_line(text, loc.line, &len);
    if (!line) return;

    fprintf(d->out, "%5d | ", loc.line);
    int v = 0;
    for (int i = 0; i < len; i++) {
        if (line[i] == '\t') {
            int next = (v / DIAG_TAB_WIDTH + 1) * DIAG_TAB_WIDTH;
            for (; v < next; v++) fputc(' ', d->out);
        } else {
            /* a control byte (ESC would start a terminal escape) shows as one '?', keeping the caret's column */
            unsigned char c = (unsigned char)line[i];
            fputc(c < 0x20 || c == 0x7f ? '?' : line[i], d->out);
            v++;
        }
    }
    fputc('\n', d->out);

    int col = loc.col > 0 ? loc.col : 1;
    int start = diag_visual_col(line, len, col - 1);
    /* The underline covers the span up to end_col (inclusive); a span that
     * continues on later lines is underlined to the end of this one. */
    int end_byte;
    if (loc.end_line > loc.line)
        end_byte = len > col ? len : col;
    else if (loc.end_line == loc.line && loc.end_col >= col)
        end_byte = loc.end_col;
    else
        end_byte = col;
    int end = diag_visual_col(line, len, end_byte); /* exclusive */
    if (end <= start) end = start + 1;

    fputs("      | ", d->out);
    for (int i = 0; i < start; i++) fputc(' ', d->out);
    fputc('^', d->out);
    for (int i = start + 1; i < end; i++) fputc('~', d->out);
    fputc('\n', d->out);
}

/* Print "<where>: <kind>: <first line>", the quoted source, then the rest of
 * the message (the "hint: ..." lines). */
static void diag_emit(diag_ctx *d, const char *kind, src_loc loc, const char *fmt, va_list ap) {
    char stackbuf[512];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(stackbuf, sizeof stackbuf, fmt, ap);
    char *msg = stackbuf;
    if (n >= (int)sizeof stackbuf) {
        msg = malloc((size_t)n + 1);
        if (msg) vsnprintf(msg, (size_t)n + 1, fmt, ap2);
        else msg = stackbuf; /* truncated beats nothing */
    }
    va_end(ap2);

    char *rest = strchr(msg, '\n');
    if (rest) *rest++ = '\0';
    if (loc.file)
        fprintf(d->out, "%s:%d:%d: %s: %s\n", loc.file, loc.line, loc.col, kind, msg);
    else
        fprintf(d->out, "dlnc: %s: %s\n", kind, msg);
    if (loc.file) diag_quote_source(d, loc);
    if (rest && *rest) {
        size_t rl = strlen(rest);
        fputs(rest, d->out);
        if (rest[rl - 1] != '\n') fputc('\n', d->out);
    }
    if (msg != stackbuf) free(msg);
}

static int diag_max_errors(const diag_ctx *d) {
    return d->max_errors > 0 ? d->max_errors : DIAG_DEFAULT_MAX_ERRORS;
}

/* Whether an error numbered d->n_errors (already incremented) may be printed;
 * prints the stop line exactly once when the limit is first exceeded. */
static int diag_error_allowed(diag_ctx *d) {
    int max = diag_max_errors(d);
    if (d->n_errors <= max) return 1;
    if (d->n_errors == max + 1) fprintf(d->out, "dlnc: error: too many errors; stopping\n");
    return 0;
}

void diag_error(diag_ctx *d, src_loc loc, const char *fmt, ...) {
    d->n_errors++;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->last_error, sizeof d->last_error, fmt, ap);
    va_end(ap);
    if (!diag_error_allowed(d)) return;
    va_start(ap, fmt);
    diag_emit(d, "error", loc, fmt, ap);
    va_end(ap);
}

void diag_warning(diag_ctx *d, src_loc loc, const char *fmt, ...) {
    d->n_warnings++;
    if (d->n_errors > diag_max_errors(d)) return;
    va_list ap;
    va_start(ap, fmt);
    diag_emit(d, "warning", loc, fmt, ap);
    va_end(ap);
}

void diag_note(diag_ctx *d, src_loc loc, const char *fmt, ...) {
    /* A note belongs to the diagnostic before it; if that was suppressed, so is the note. */
    if (d->n_errors > diag_max_errors(d)) return;
    va_list ap;
    va_start(ap, fmt);
    diag_emit(d, "note", loc, fmt, ap);
    va_end(ap);
}

void diag_fatal_noloc(diag_ctx *d, const char *fmt, ...) {
    d->n_errors++;
    va_list ap;
    va_start(ap, fmt);
    diag_emit(d, "error", (src_loc){0}, fmt, ap);
    va_end(ap);
}
