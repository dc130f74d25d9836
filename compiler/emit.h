/* emit.h — C11 code generation from planned graphs.
 *
 * For a module `mlp` it writes mlp.c and mlp.h: a struct holding one arena
 * (parameters, gradients, optimizer state, activations), the functions
 * create/free/init/forward/eval_step/train_step/set_lr/save/load, parameter
 * and gradient access by name, and a `dl_model_api` descriptor so drivers
 * (`dlnc run`) can use any compiled model. The code depends only on libc,
 * libm, OpenMP and libdlnrt, and compiles with -Wall -Wextra -Werror. */
#ifndef DLNC_EMIT_H
#define DLNC_EMIT_H
#include <stdio.h>

#include "diag.h"
#include "ir.h"

typedef struct emit_options {
    const char *header_name; /* "mlp.h", as #included by the .c */
    const char *source_name; /* the .dln path, for comments */
    int check_numerics;      /* after each kernel of train_step and eval_step, stop on a
                                non-finite output (emit_checks.c); nothing is emitted when 0 */
    int profile;             /* wrap every kernel call in DL_PROF (emit_profile.c), timed when the
                                C is built with -DDL_PROFILE; nothing is emitted when 0 */
} emit_options;

/* Emit every module in mods (the graphs must have been through passes_run).
 * The first module with a train config is exported as `dlnc_model_api`
 * (the JIT entry point); every module is also listed in dlnc_models[]. */
int emit_c(ir_module *const *mods, int n_mods, FILE *c_out, FILE *h_out,
           const emit_options *opt, diag_ctx *d);

/* The forward graph alone, for `dlnc export` (deploy.c): its kernels and
 * `<model>_forward(m, x, out, n)` (one f32 input and one output only),
 * reading m->params, m->act, m->max_batch and m->statics like the full
 * module's. Fills the sizes the caller must provide (in floats): the
 * parameter region with param_offset[i] per parameter, the activations
 * (act_n per sample of the batch, then act_c), the STATIC values, and the
 * carried state (m->state: state_floats per row, a buffer's param_offset
 * in those units, its rows at param_offset * max_batch). */
/* The graph's IR_OUT_VALUE outputs (a forward's: the model's outputs, before any carried-state ASSIGN). */
int emit_n_values(const ir_graph *g);
/* Whether C text uses the identifier id (not as part of a longer name). */
int emit_mentions_ident(const char *text, const char *id);

typedef struct emit_forward_layout {
    int64_t param_floats, act_n, act_c, statics, state_floats;
    const int64_t *param_offset;
    const int64_t *cls; /* a model of the general interface: by symbol mask, each arena class's size */
    int n_cls;
} emit_forward_layout;
int emit_forward_only(FILE *out, ir_module *m, emit_forward_layout *lay, diag_ctx *d);

#endif
