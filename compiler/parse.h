/* parse.h — from .dln text to an AST (Flex + Bison, grammar/). */
#ifndef DLNC_PARSE_H
#define DLNC_PARSE_H
#include "arena.h"
#include "ast.h"
#include "diag.h"

/* Parse `text` (registered in d under `name`). Syntax errors are reported
 * through d (several per file: the parser recovers at statement and
 * declaration level). Returns the program, possibly partial if errors were
 * reported; check d->n_errors. Never returns NULL. */
ast_program *parse_source(arena *a, diag_ctx *d, const char *name, const char *text);

/* Read the file and parse it. On an unreadable file reports
 * "dlnc: error: cannot read 'x': <strerror>" and returns NULL. */
ast_program *parse_file(arena *a, diag_ctx *d, const char *path);

#endif
