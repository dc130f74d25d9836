/* fuzz_compiler.c — libFuzzer harness: the bytes are a .dln file, taken
 * through the whole compiler as `dlnc x.dln -o x.c` takes it (compiler/main.c,
 * steps 1-4): parse with the embedded stdlib, elaborate, every pass with the
 * IR verifier on, emit C into memory. The printers behind --emit=ast, --emit=ir
 * and --summary run too, into /dev/null.
 *
 * A finding is a sanitizer report (leaks included), a timeout, or one of the
 * things dlnc must never do, which abort() here so libFuzzer keeps the input:
 *   - the IR verifier fails after a pass,
 *   - a phase fails without reporting an error,
 *   - the emitter reports an "internal error: ..." (the other internal
 *     errors are the verifier's, or abort in ir.c). The message is read from
 *     d->last_error, not searched for in the output, where the fuzzer soon
 *     learns to quote the words in a source line.
 * A program with ordinary errors is an uninteresting, passing input.
 *
 * The stdlib is parsed once, at start-up: elaboration reads syntax trees
 * only through const pointers, so they are the same for every input, and
 * parsing them again would take a third of a typical input's time. Anything
 * else lives in the input's own arena and diagnostics. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "elab.h"
#include "emit.h"
#include "ir.h"
#include "parse.h"
#include "passes.h"
#include "stdlib_embed.h"
#include "summary.h"

/* compiler/elab.c's elaboration budgets (20M steps, 500k operations), lowered in LLVMFuzzerInitialize */
extern int64_t elab_max_work, elab_max_nodes;

static FILE *devnull;
static arena lib_arena;
static ast_program **lib;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    devnull = fopen("/dev/null", "w");
    if (!devnull) abort();
    /* a tenth of dlnc's elaboration budgets: the seeds tests/golden/runaway_repeat.dln (20M
     * empty iterations) and runaway_layers.dln (500k operations) took 17 and 21 s under ASan
     * on a loaded machine, libFuzzer timeouts; at a tenth, 2 s */
    elab_max_work = 2000000;
    elab_max_nodes = 50000;
    diag_ctx d;
    diag_init(&d, stderr);
    lib = ARENA_NEW_ARRAY(&lib_arena, ast_program *, stdlib_n_files);
    for (int i = 0; i < stdlib_n_files; i++)
        lib[i] = parse_source(&lib_arena, &d, stdlib_files[i].name, stdlib_files[i].text);
    if (d.n_errors) abort();
    diag_free(&d);
    return 0;
}

static void finding(const char *what, const char *diags) {
    fprintf(stderr, "fuzz_compiler: %s\n--- diagnostics ---\n%s\n", what, diags ? diags : "");
    abort();
}

/* Passes and emission, as main.c runs them: what broke, or NULL. */
static const char *compile_rest(diag_ctx *d, elab_output *eo) {
    for (int m = 0; m < eo->n_mods; m++) {
        summary_print(devnull, eo->mods[m], &eo->summaries[m]);
        ir_graph *graphs[3] = {eo->mods[m]->forward, eo->mods[m]->eval_step, eo->mods[m]->train_step};
        for (int k = 0; k < 3; k++)
            if (graphs[k] && passes_run(graphs[k], NULL, devnull, 1) != 0) return "the IR verifier failed after a pass";
        ir_print_module(devnull, eo->mods[m]);
    }
    char *c = NULL, *h = NULL;
    size_t c_len = 0, h_len = 0;
    FILE *cf = open_memstream(&c, &c_len), *hf = open_memstream(&h, &h_len);
    if (!cf || !hf) abort();
    emit_options opt = {.header_name = "fuzz.h", .source_name = "fuzz.dln"};
    int before = d->n_errors;
    int rc = emit_c(eo->mods, eo->n_mods, cf, hf, &opt, d);
    fclose(cf);
    fclose(hf);
    free(c);
    free(h);
    if (rc != 0 && d->n_errors == before) return "emit_c failed without an error message";
    if (d->n_errors > before && !strncmp(d->last_error, "internal error", 14)) return "the emitter reports an internal error";
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (memchr(data, 0, size)) return 0; /* parse_file refuses text with NUL bytes */
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = '\0';

    char *diags = NULL;
    size_t diags_len = 0;
    FILE *err = open_memstream(&diags, &diags_len);
    if (!err) abort();
    arena ar = {0};
    diag_ctx d;
    diag_init(&d, err);
    const char *why = NULL;

    for (int i = 0; i < stdlib_n_files; i++) diag_add_source(&d, stdlib_files[i].name, stdlib_files[i].text);
    ast_program *prog = parse_source(&ar, &d, "fuzz.dln", text);
    if (!d.n_errors) {
        ast_print(devnull, prog);
        elab_output eo = {0};
        if (elab_program(&ar, &d, prog, lib, stdlib_n_files, &eo) != 0) {
            if (!d.n_errors) why = "elaboration failed without an error message";
        } else {
            why = compile_rest(&d, &eo);
        }
    }
    fclose(err);
    if (why) finding(why, diags);
    arena_free(&ar);
    diag_free(&d);
    free(diags);
    free(text);
    return 0;
}
