/* elab.h — elaboration: from the AST to IR modules.
 *
 * Evaluates compile-time arguments, instantiates blocks (from the user's file
 * and from the embedded stdlib), unrolls `repeat`, resolves `if`, creates
 * parameters with stable hierarchical names, and builds one graph per
 * function of each model (forward, eval_step, train_step), each through the
 * op table's shape rules so every shape error is reported at its source span.
 * The train section becomes a resolved train_config and, for train_step, the
 * loss graph followed by reverse-mode autodiff. */
#ifndef DLNC_ELAB_H
#define DLNC_ELAB_H
#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "ir.h"

/* One top-level call of a model body (a "layer" in the summary). */
typedef struct elab_layer {
    const char *name;      /* instance name ("dense0") or builtin name ("relu") */
    const char *type;      /* the block or builtin called */
    ir_dtype dtype;
    ir_shape shape;        /* its result (the first one, if several) */
    int param_begin, param_end; /* module params created by this call */
    int node_begin, node_end;   /* forward-graph nodes it produced */
} elab_layer;

typedef struct elab_summary {
    elab_layer *layers;
    int n_layers, cap_layers;
} elab_summary;

typedef struct elab_output {
    ir_module **mods;      /* one per `model` in the user's file, in order */
    elab_summary *summaries; /* parallel to mods: the forward graph's layers */
    int n_mods;
    int carry_state;       /* in, set by the caller: each forward graph also assigns its model's carried state
                              (update() of a buffer shaped [N, ...]), after its values: `dlnc export`'s stream */
} elab_output;

/* lib: the stdlib programs (their blocks are visible from user code; user
 * blocks of the same name shadow them). Returns 0, or -1 if any error was
 * reported through d. */
int elab_program(arena *a, diag_ctx *d, const ast_program *user, ast_program *const *lib, int n_lib,
                 elab_output *out);

#endif
