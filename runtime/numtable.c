/* numtable.c — reading the driver's CSV tables back (see numtable_internal.h).
 *
 * These files are ours, but people open them in spreadsheets, cut them short
 * by killing a run, or concatenate two of them; so every line is checked and
 * a damaged one is reported by file and line rather than drawn as garbage. */
#include "numtable_internal.h"
#include "dlnrt.h"
#include "file_open_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A sanity bound: a history is a few hundred lines, a per-step file of a long
 * run a few hundred thousand. */
enum { DL_NUMTABLE_MAX_COLS = 4096, DL_NUMTABLE_MAX_ROWS = 50000000 };

/* Splits line in place at commas, trimming blanks and the line end; returns
 * the field count, storing at most cap fields. */
static int dl_split(char *line, char **fields, int cap)
{
    int n = 0;
    for (char *s = line;;) {
        char *end = strchr(s, ',');
        if (end) *end = '\0';
        while (*s == ' ' || *s == '\t') s++;
        size_t len = strlen(s);
        while (len && strchr(" \t\r\n", s[len - 1])) s[--len] = '\0';
        if (n < cap) fields[n] = s;
        n++;
        if (!end) return n;
        s = end + 1;
    }
}

static int dl_blank(const char *s)
{
    return s[strspn(s, " \t\r\n")] == '\0';
}

void dl_numtable_free(dl_numtable *t)
{
    for (int i = 0; i < t->ncols; i++) free(t->names[i]);
    free(t->names);
    free(t->v);
    free(t->line);
    memset(t, 0, sizeof *t);
}

int dl_numtable_col(const dl_numtable *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->names[i], name) == 0) return i;
    return -1;
}

/* At most `max` bytes of s for an error message, bytes outside printable
 * ASCII as \xNN: a binary file given as a CSV must not write raw bytes (and
 * terminal escapes) to the user's terminal. */
static const char *dl_printable(char *out, size_t cap, const char *s, int max)
{
    size_t o = 0;
    for (int i = 0; s[i] && i < max && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) out[o++] = (char)c;
        else o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    out[o] = '\0';
    return out;
}

static int dl_numtable_header(const char *path, char *line, dl_numtable *t)
{
    if (!strncmp(line, "\xef\xbb\xbf", 3)) memmove(line, line + 3, strlen(line + 3) + 1);
    char *fields[DL_NUMTABLE_MAX_COLS];
    int n = dl_split(line, fields, DL_NUMTABLE_MAX_COLS);
    if (n > DL_NUMTABLE_MAX_COLS) { dl_set_error("%s:1: %d columns; at most %d are read", path, n, DL_NUMTABLE_MAX_COLS); return -1; }
    if (!(t->names = calloc((size_t)n, sizeof *t->names))) { dl_set_error("%s: out of memory", path); return -1; }
    t->ncols = n;
    for (int i = 0; i < n; i++) {
        if (!*fields[i]) { dl_set_error("%s:1: column %d of the header has no name", path, i + 1); return -1; }
        char name[4 * 256 + 8];   /* kept printable: names go into messages ('the header is ...') */
        if (!(t->names[i] = strdup(dl_printable(name, sizeof name, fields[i], 256)))) {
            dl_set_error("%s: out of memory", path);
            return -1;
        }
    }
    return 0;
}

static int dl_numtable_row(const char *path, int lineno, char *line, dl_numtable *t, int *cap)
{
    if (t->nrows == *cap) {
        int c = *cap ? 2 * *cap : 64;
        if (c > DL_NUMTABLE_MAX_ROWS) { dl_set_error("%s:%d: more than %d rows", path, lineno, DL_NUMTABLE_MAX_ROWS); return -1; }
        double *v = realloc(t->v, (size_t)c * (size_t)t->ncols * sizeof *v);
        if (v) t->v = v;
        int *l = v ? realloc(t->line, (size_t)c * sizeof *l) : NULL;
        if (!l) { dl_set_error("%s: out of memory", path); return -1; }
        t->line = l;
        *cap = c;
    }
    char **fields = malloc((size_t)t->ncols * sizeof *fields);
    if (!fields) { dl_set_error("%s: out of memory", path); return -1; }
    int n = dl_split(line, fields, t->ncols), rc = -1;
    if (n != t->ncols) {
        dl_set_error("%s:%d: %d field%s, but the header names %d columns", path, lineno, n, n == 1 ? "" : "s", t->ncols);
        goto done;
    }
    double *row = t->v + (size_t)t->nrows * (size_t)t->ncols;
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        row[i] = strtod(fields[i], &end);
        if (!*fields[i] || *end) {
            char field[4 * 40 + 8];
            dl_set_error("%s:%d: column %d (%.160s): '%s' is not a number", path, lineno, i + 1, t->names[i],
                         dl_printable(field, sizeof field, fields[i], 40));
            goto done;
        }
    }
    t->line[t->nrows++] = lineno;
    rc = 0;
done:
    free(fields);
    return rc;
}

int dl_numtable_read(const char *path, dl_numtable *t)
{
    memset(t, 0, sizeof *t);
    FILE *f = dl_fopen_regular(path, NULL);
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rows_cap = 0, rc = -1, have_header = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (strlen(line) != (size_t)len) { dl_set_error("%s:%d: a NUL byte: this is not a text file", path, lineno); goto done; }
        if (!have_header) {
            if (dl_blank(line)) { dl_set_error("%s:%d: expected a header line of column names", path, lineno); goto done; }
            if (dl_numtable_header(path, line, t)) goto done;
            have_header = 1;
        } else if (!dl_blank(line) && dl_numtable_row(path, lineno, line, t, &rows_cap)) {
            goto done;
        }
    }
    if (ferror(f)) { dl_set_error("%s: read error: %s", path, strerror(errno)); goto done; }
    if (!have_header) { dl_set_error("%s:1: the file is empty; expected a header line of column names", path); goto done; }
    rc = 0;
done:
    free(line);
    fclose(f);
    if (rc) dl_numtable_free(t);
    return rc;
}
