/* compiled.h — the unit tests' front end in one call: .dln source text,
 * with the embedded stdlib, parsed and elaborated into an ir_module.
 *
 * Why here: test_elab_grad, test_elab_index, test_split_grad and emitted.c
 * each parsed the stdlib files and elaborated the same way; one copy keeps
 * them in step when the front end's entry points change. */
#ifndef DLNC_TESTS_COMPILED_H
#define DLNC_TESTS_COMPILED_H
#include <stdio.h>

#include "arena.h"
#include "ir.h"

/* Elaborates src (named "t.dln" in messages) in ar, diagnostics to diags:
 * the first module, or NULL after errors. */
ir_module *compiled_elaborate(arena *ar, FILE *diags, const char *src);
/* The same, but the module named `name` (a step module such as "s_disc"; NULL: the first). */
ir_module *compiled_module(arena *ar, FILE *diags, const char *src, const char *name);

/* One compile kept with its diagnostics text, for tests that read both. */
typedef struct compiled {
    arena ar;
    ir_module *mod;     /* NULL after errors */
    char *diags;
    size_t diags_len;
} compiled;

void compiled_init(compiled *c, const char *src);
void compiled_free(compiled *c);

/* A CUnit check: src does not compile, and its diagnostics are exactly want
 * (both texts printed when they differ). */
void compiled_expect_errors(const char *src, const char *want);

#endif
