/* emit_internal.h — what emit_c.c (module, struct, API, step functions) and
 * emit_kernels.c (one C function per fused group or non-elementwise op)
 * share. Not part of the compiler's public surface.
 *
 * The split: emit_c.c decides WHERE values live (names of the pointers in a
 * step function: x, y, p3_fc1_weight, t17) and in what order kernels run;
 * emit_kernels.c decides HOW one kernel computes its output from its inputs.
 * A kernel body only ever sees `y` (its output), `x0, x1, ...` (its inputs),
 * `n` (the batch) and `seed`, so kernels are independent of the plan. */
#ifndef DLNC_EMIT_INTERNAL_H
#define DLNC_EMIT_INTERNAL_H
#include <stdio.h>

#include "emit.h"
#include "ir.h"

/* Nodes listed by an integer key, each list in graph order: the list of key
 * k is items[at[k] .. at[k + 1]). at == NULL: not built yet. */
typedef struct emit_lists {
    int *at;
    const ir_node **items;
    int n_keys;
} emit_lists;

struct emit_ctx {
    arena *ar;                /* strings built while emitting (the module's arena) */
    const ir_module *mod;
    const ir_graph *g;        /* the graph being emitted */
    diag_ctx *d;
    const char *prefix;       /* the model name: every emitted symbol starts with it */
    FILE *defs;               /* kernel definitions go here */
    FILE *calls;              /* the step function's body: kernel calls */
    const char *kernel_prefix;/* "mlp_train": kernels are <kernel_prefix>_k<id>_<ops> */
    const char *fail_return;  /* "return NAN;" / "return;": what a failed kernel call does */
    /* per-kernel flags, reset by emit_kernel */
    int uses_n;               /* the body mentions the batch symbol n */
    int uses_seed;            /* the body draws random numbers */
    int returns_status;       /* the kernel returns int (0 = ok, -1 = dl_set_error called) */
    int serial;               /* emit no OpenMP directives: a conv epilogue's kernel runs inside
                                 dl_conv2d_ep's loop over images, where a nested region would
                                 oversubscribe the cores for one small image */
    /* per-graph flags */
    int graph_uses_seed;
    unsigned char *param_used;/* by module param index: its pointer is referenced */
    int uses_act, uses_act_n; /* the arena class base pointers are referenced */
    int uses_x, uses_y;       /* the step function reads its x / y argument */
    int bad_symbol_reported;
    /* per-graph indexes, built by the first kernel that needs them (emit_kernels.c) */
    emit_lists groups;        /* by group id: the group's fusable members */
    emit_lists siblings;      /* by a sibling leader's id: the reductions sharing its kernel */
};

/* ---- emit_kernels.c ----------------------------------------------------- */
/* The batch-size expression of a dimension: "512", "n", "(4 * n)". Symbols
 * other than N are reported once (the emitted API has only a batch size). */
const char *emit_dim(emit_ctx *c, ir_dim d);
const char *emit_numel(emit_ctx *c, const ir_shape *s);
/* A C float literal that round-trips: "1.0f", "(-0.5f)", "INFINITY". */
const char *emit_float(emit_ctx *c, double v);
/* Define the kernel computing node n (a fusion-group root or a materialized
 * non-elementwise node) in c->defs and write its call to c->calls.
 * Returns 0, or -1 after a diagnostic. */
int emit_kernel(emit_ctx *c, const ir_node *n);
/* 1 if node n is folded into elementwise loops (elementwise ops and
 * broadcast_to, which is elementwise with a broadcasting input). */
int emit_is_fusable(const ir_node *n);
/* Sibling reductions (pass_fuse rule 7): at most this many share a kernel,
 * which writes y (the first's output), y1, y2, ... */
enum { EMIT_MAX_SIBLINGS = 4 };
/* 1 if reductions a and b can be computed in one loop nest with each output
 * summed in the order its own kernel would use: same op, input shape, axes,
 * and the same collapsed loops for the operands of each (view_dims). */
int emit_reduce_siblings_ok(const ir_node *a, const ir_node *b);
/* Prints to err every op of ops.def that has no way to be emitted; returns
 * their number (0 = the table is complete). */
int emit_check_table(FILE *err);
/* `for (int64_t var = 0; var < count; var++)` (no body, no newline) with an
 * OpenMP pragma above it when count * work (element-operations per
 * iteration) is large enough to pay for the threads. */
void emit_for(emit_ctx *c, FILE *b, const char *indent, const char *var, ir_dim count, int64_t work,
              const char *extra_clause);

/* ---- emit_movement.c: bodies of the data-movement kernels ------------------ */
void emit_concat(emit_ctx *c, FILE *b, const ir_node *n);
void emit_slice(emit_ctx *c, FILE *b, const ir_node *n);    /* slice and slice_grad */
void emit_pad(emit_ctx *c, FILE *b, const ir_node *n);      /* pad and pad_grad */
void emit_upsample(emit_ctx *c, FILE *b, const ir_node *n); /* upsample and upsample_grad */

/* ---- emit_conv.c: convolution and pooling kernels (runtime/conv.c calls) --- */
void emit_conv(emit_ctx *c, FILE *b, const ir_node *n);
/* A conv2d linked by pass_epilogue: defines its group's kernel (without
 * OpenMP), an epilogue calling it per image, the conv kernel passing that to
 * dl_conv2d_ep, and writes the call. 1 = done (the group is not called
 * again), 0 = not possible (emit both as usual), -1 after a diagnostic. */
int emit_conv_epilogue(emit_ctx *c, const ir_node *v);
#define EMIT_MAX_ARGS 64 /* operands of one kernel */
/* For a plain elementwise group root n: the name emit_kernel gives its kernel
 * and its operands x0, x1, ... in order (the call is name(n, y, x0, ...));
 * -1 for any other node. */
int emit_group_operands(emit_ctx *c, const ir_node *n, const char **name, const ir_node **args);

/* ---- pass_plan.c ---------------------------------------------------------- */
/* Size of arena class `cls` (a symbol mask) in units of its monomial. */
int64_t plan_class_size(const ir_graph *g, uint32_t cls);

/* ---- emit_c.c ------------------------------------------------------------ */
/* The step-function expression of a node's data pointer ("x", "p0_fc1_weight",
 * "t12"); follows aliases. */
const char *emit_value_name(emit_ctx *c, const ir_node *n);

#endif
