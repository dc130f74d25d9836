/* diag.h — GCC-style diagnostics.
 *
 *   model.dln:3:14: error: cannot add f32[N, 10] and f32[N, 12]
 *       3 |     return x @ w + b
 *         |            ~~~~~~^~~
 *   hint: the last dimensions must be equal or 1 (NumPy broadcasting)
 *
 * Every phase reports through a diag_ctx so that errors carry source spans and
 * the driver can decide the exit status (1 if any error was reported). Source
 * texts are registered once so the offending line can be quoted. */
#ifndef DLNC_DIAG_H
#define DLNC_DIAG_H
#include <stdio.h>

typedef struct src_loc {
    const char *file; /* registered file name, NULL for "no location" */
    int line, col;    /* 1-based start */
    int end_line, end_col; /* inclusive end; equal to start for a single char */
} src_loc;

typedef struct diag_source {
    const char *name;
    const char *text;
} diag_source;

typedef struct diag_ctx {
    FILE *out;          /* where diagnostics go (stderr by default) */
    int n_errors;
    int n_warnings;
    int max_errors;     /* stop counting/printing after this many (0 = 20) */
    diag_source *sources;
    int n_sources, cap_sources;
    int color;          /* unused for now; plain text keeps goldens stable */
    char last_error[256]; /* the latest error's message, so a caller can add a note that fits it */
} diag_ctx;

void diag_init(diag_ctx *d, FILE *out);
/* Register a file's text so errors in it can quote lines. The strings must
 * outlive the context. Returns the stable name pointer to put in src_loc. */
const char *diag_add_source(diag_ctx *d, const char *name, const char *text);
/* Release what the context allocated (the source table); the texts are the
 * caller's. The context may be initialized again afterwards. */
void diag_free(diag_ctx *d);

/* Report an error at loc. The message may contain a second part after a '\n'
 * starting with "hint: ", which is printed after the caret line. */
void diag_error(diag_ctx *d, src_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_warning(diag_ctx *d, src_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A note attached to the previous diagnostic (e.g. "note: block 'dense' defined here"). */
void diag_note(diag_ctx *d, src_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An error without a source position: "dlnc: error: ..." */
void diag_fatal_noloc(diag_ctx *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

src_loc loc_span(src_loc a, src_loc b); /* from start of a to end of b */

#endif
