/* compiled.c — see compiled.h. */
#include "compiled.h"

#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "elab.h"
#include "parse.h"
#include "stdlib_embed.h"

ir_module *compiled_elaborate(arena *ar, FILE *diags, const char *src) { return compiled_module(ar, diags, src, NULL); }

ir_module *compiled_module(arena *ar, FILE *diags, const char *src, const char *name) {
    diag_ctx d;
    diag_init(&d, diags);
    ast_program **lib = ARENA_NEW_ARRAY(ar, ast_program *, stdlib_n_files);
    for (int i = 0; i < stdlib_n_files; i++) lib[i] = parse_source(ar, &d, stdlib_files[i].name, stdlib_files[i].text);
    ast_program *prog = parse_source(ar, &d, "t.dln", src);
    elab_output out = {0};
    ir_module *m = NULL;
    if (!d.n_errors && elab_program(ar, &d, prog, lib, stdlib_n_files, &out) == 0)
        for (int i = out.n_mods - 1; i >= 0; i--)
            if (!name || strcmp(out.mods[i]->name, name) == 0) m = out.mods[i];
    diag_free(&d);
    return m;
}

void compiled_init(compiled *c, const char *src) {
    memset(c, 0, sizeof *c);
    FILE *mem = open_memstream(&c->diags, &c->diags_len);
    c->mod = compiled_elaborate(&c->ar, mem, src);
    fclose(mem);
}

void compiled_free(compiled *c) {
    arena_free(&c->ar);
    free(c->diags);
}

void compiled_expect_errors(const char *src, const char *want) {
    compiled c;
    compiled_init(&c, src);
    CU_ASSERT_PTR_NULL(c.mod);
    const char *got = c.diags ? c.diags : "";
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want)) printf("\n  got:\n%s  want:\n%s", got, want);
    compiled_free(&c);
}
