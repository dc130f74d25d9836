/* parse.c — drive the Flex scanner and the Bison parser over one source text.
 *
 * Why a separate file: the generated parser knows about tokens and grammar
 * rules, not about files. This is where a path becomes text, the text is
 * registered with the diagnostics (so every later error can quote its line),
 * and the scanner's lifetime is managed. The result is always a program —
 * possibly partial — so callers never need a NULL check after parse_source;
 * they look at d->n_errors instead. */
#include "parse.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dln.tab.h"
#include "dlnrt.h"
#include "file_open_internal.h"
#include "lex.yy.h"

/* The registered name for this exact text, registering it if needed, so the
 * caller may or may not have called diag_add_source first. */
static const char *parse_register(diag_ctx *d, const char *name, const char *text) {
    for (int i = 0; i < d->n_sources; i++)
        if (d->sources[i].text == text && strcmp(d->sources[i].name, name) == 0) return d->sources[i].name;
    return diag_add_source(d, name, text);
}

ast_program *parse_source(arena *a, diag_ctx *d, const char *name, const char *text) {
    dln_parse_ctx ctx = {0};
    ctx.arena = a;
    ctx.diag = d;
    ctx.file = parse_register(d, name, text);
    ctx.program = ARENA_NEW(a, ast_program);
    ctx.line = 1;
    ctx.col = 1;

    yyscan_t scanner;
    if (yylex_init_extra(&ctx, &scanner) != 0) {
        diag_fatal_noloc(d, "cannot start the lexer: %s", strerror(errno));
        return ctx.program;
    }
    YY_BUFFER_STATE buf = yy_scan_string(text, scanner);
    yyparse(scanner, &ctx); /* errors were reported through d */
    yy_delete_buffer(buf, scanner);
    yylex_destroy(scanner);
    return ctx.program;
}

/* Larger sources are refused before they are read whole: the biggest real
 * programs (20000 layers, tests/e2e/run.sh) are a few MB, and a sparse
 * terabyte file named .dln would otherwise be read until memory runs out. */
#define PARSE_MAX_SOURCE ((size_t)1 << 30)

/* Whole file into an arena string; NULL with *why set on failure. Only a
 * regular file is opened (dl_fopen_regular): a FIFO would block, /dev/zero
 * never end. A NUL byte stops the read where it is, since the lexer works on
 * C strings. */
static char *parse_read_file(arena *a, const char *path, const char **why) {
    int64_t size = 0;
    FILE *f = dl_fopen_regular(path, &size);
    if (!f) { /* "path: reason": the caller names the path itself */
        const char *e = dl_last_error();
        size_t n = strlen(path);
        *why = strncmp(e, path, n) == 0 && e[n] == ':' ? e + n + 2 : e;
        if (strncmp(*why, "cannot open: ", 13) == 0) *why += 13;
        return NULL;
    }
    if ((uint64_t)size > PARSE_MAX_SOURCE) {
        fclose(f);
        *why = "larger than 1 GB, not a source file";
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            *why = strerror(ENOMEM);
            return NULL;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        int has_nul = memchr(buf + len, '\0', got) != NULL;
        len += got;
        if (ferror(f) || has_nul || len > PARSE_MAX_SOURCE) {
            *why = has_nul ? "the file contains a NUL byte (not a text file?)"
                 : len > PARSE_MAX_SOURCE ? "larger than 1 GB, not a source file" : strerror(errno ? errno : EIO);
            free(buf);
            fclose(f);
            return NULL;
        }
        if (feof(f)) break;
        if (len + 1 == cap) {
            cap *= 2;
            char *grown = realloc(buf, cap);
            if (!grown) free(buf);
            buf = grown;
        }
    }
    fclose(f);
    char *text = arena_strndup(a, buf, len);
    free(buf);
    return text;
}

ast_program *parse_file(arena *a, diag_ctx *d, const char *path) {
    const char *why = NULL;
    errno = 0;
    char *text = parse_read_file(a, path, &why);
    if (!text) {
        diag_fatal_noloc(d, "cannot read '%s': %s", path, why);
        return NULL;
    }
    const char *name = diag_add_source(d, arena_strdup(a, path), text);
    return parse_source(a, d, name, text);
}
