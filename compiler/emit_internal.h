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

#include "decode.h"
#include "emit.h"
#include "ir.h"
#include "lower.h"

/* Nodes listed by an integer key, each list in graph order: the list of key
 * k is items[at[k] .. at[k + 1]). at == NULL: not built yet. */
typedef struct emit_lists {
    int *at;
    const ir_node **items;
    int n_keys;
} emit_lists;

/* ---- emit_share.c: each distinct kernel defined once per module ------------- */
typedef struct emit_share emit_share;
emit_share *emit_share_new(arena *ar);
/* The definition `text` of the symbols names[0..k) (k <= 9): NULL if no
 * identical one (up to those names and comments at line starts) was seen in
 * this module, which it is now; else the earlier definition's names, in the
 * same order, to call instead of writing text. */
/* (s == NULL: share nothing.) */
const char *const *emit_share_find(emit_share *s, const char *text, const char *const *names, int k);

/* Where each loop body's region starts in the activation arena (emit_scan.c). */
typedef struct emit_scan_regions {
    const char *wn, *wc;      /* in a step function: the batch-sized and constant-size arena classes' bases */
    int64_t *base_n, *base_c; /* by body index: its region in each class (units of max_batch / floats) */
} emit_scan_regions;

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
    emit_share *share;        /* the module's kernels so far: a repeated one is called, not redefined */
    const char *check_during; /* --check-numerics in train_step / eval_step: how a message names
                                 the step ("train_step, step"); NULL = emit no checks */
    int profile;              /* wrap each kernel call in DL_PROF (emit_profile.c); 0 in scan bodies */
    /* per-kernel flags, reset by emit_kernel */
    int uses_n;               /* the body mentions the batch symbol n */
    unsigned uses_sym;        /* ... and these further symbols (bit k: sym<k>, e.g. T) */
    int uses_seed;            /* the body draws random numbers */
    int uses_pos;             /* the body counts positions from the decode step's `pos` */
    const char *extra_params; /* more parameters of the kernel ("float *restrict kc, int64_t cap"), */
    const char *extra_args;   /* and the step's arguments for them; NULL: none */
    int returns_status;       /* the kernel returns int (0 = ok, -1 = dl_set_error called) */
    const char *kernel;       /* the name emit_kernel's call used (an earlier identical kernel's) */
    int serial;               /* emit no OpenMP directives: a conv epilogue's kernel runs inside
                                 dl_conv2d_ep's loop over images, where a nested region would
                                 oversubscribe the cores for one small image */
    /* per-graph flags */
    int graph_uses_seed;
    int weights_cached;       /* products by a parameter call dl_sgemm_w with m->wver (emit_weights.c) */
    int weights_cached_used;  /* ... and one did */
    unsigned char *param_used;/* by module param index: its pointer is referenced */
    int uses_act, uses_act_n; /* the arena class base pointers are referenced */
    unsigned uses_in;         /* bit i: the step function reads graph input i (x, y or in_<name>) */
    int legacy;               /* the model has today's API form (emit_legacy_api) */
    int bad_symbol_reported;
    const decode_plan *decode;/* emitting <model>_decode (decode.h): NULL for the other steps */
    int in_body;              /* emitting a scan body: inputs are in0, in1, ...; the arena is `act` */
    const emit_scan_regions *scan_regions;
    /* per-graph indexes, built by the first kernel that needs them (emit_kernels.c) */
    emit_lists groups;        /* by group id: the group's fusable members */
    emit_lists siblings;      /* by a sibling leader's id: the reductions sharing its kernel */
};

/* ---- emit_weights.c: weights kept packed between products ---------------- */
/* The statement a writer of parameters runs after writing them (a step, init, load). */
#define EMIT_WEIGHTS_CHANGED "m->wver = dl_weights_version(); /* the parameters changed: repack (dl_sgemm_w) */"
/* The model struct's fields for it. */
void emit_weights_fields(FILE *f);
/* A step function's first lines for it (before its kernels run). */
void emit_weights_prologue(FILE *h);
/* Whether the product's B operand b is a parameter whose packed panels may
 * be kept (c->weights_cached and b a stored, non-state parameter); if so
 * the kernel gets a `wver` parameter. */
int emit_weights_cached_b(emit_ctx *c, const ir_node *b);
/* "m->wver" when conv weight w is such a parameter, else "0" (no caching). */
const char *emit_weights_conv_version(emit_ctx *c, const ir_node *w);
/* Whether a STATIC value of g reads a parameter (pass_plan: eval mode). */
int emit_statics_read_params(const ir_graph *g);
/* The guard around a step's statics kernels, and its end: once per model
 * (bit `kind` of statics_ready), also per weights version when they read
 * parameters and the model keeps a version (`versioned`), else every call. */
void emit_statics_open(FILE *out, const ir_graph *g, int kind, int versioned);
void emit_statics_close(FILE *out, const ir_graph *g, int kind, int versioned);

/* ---- emit_kernels.c ----------------------------------------------------- */
/* The C expression of a dimension: "512", "n", "(4 * n)", "(n * sym1)": the
 * batch is n, symbol k > 0 (T, ...) is sym<k> (not s<k>: kernels name hoisted scalars so) in kernels and step functions. */
const char *emit_dim(emit_ctx *c, ir_dim d);
/* A kernel's symbol parameters ("int64_t n, int64_t sym1, ") or arguments ("n, sym1, "). */
void emit_sym_args(emit_ctx *c, FILE *f, int decl);
const char *emit_numel(emit_ctx *c, const ir_shape *s);
/* A C float literal that round-trips: "1.0f", "(-0.5f)", "INFINITY". */
const char *emit_float(emit_ctx *c, double v);
/* A kernel comment's opening for node n, to d: "/+ <where>  " with where
 * the user's line: "mlp.dln:8:9", or for a node of a stdlib block its call
 * site "mlp.dln:8:9 dense(...) (inlined from stdlib/layers.dln:11:9)", then
 * for a node made by a VJP ", backward of relu". A node without a position
 * takes its nearest input's; "/+ " alone when none has one. */
void emit_origin(FILE *d, const ir_node *n);
/* n, or its nearest input with a .dln position (as emit_origin names it); NULL if none has one */
const ir_node *emit_located(const ir_node *n);
/* The members of root's fusion group, in graph order; returns how many. */
int emit_group_members(emit_ctx *c, const ir_node *root, const ir_node *const **out);
/* Define the kernel computing node n (a fusion-group root or a materialized
 * non-elementwise node) in c->defs and write its call to c->calls.
 * Returns 0, or -1 after a diagnostic. */
int emit_kernel(emit_ctx *c, const ir_node *n);
/* A kernel body whose every OpenMP directive has a run-time if() over the
 * sizes, rewritten as `if (any condition) { body } else { body without
 * directives }` so small sizes never enter libgomp; other bodies unchanged
 * (emit_serial.c). */
const char *emit_serial_twin(emit_ctx *c, const char *body);
/* Prints to err every op of ops.def that has no way to be emitted; returns
 * their number (0 = the table is complete). */
int emit_check_table(FILE *err);
/* `for (int64_t var = 0; var < count; var++)` (no body, no newline) with an
 * OpenMP pragma above it when count * work (element-operations per
 * iteration) is large enough to pay for the threads. */
void emit_for(emit_ctx *c, FILE *b, const char *indent, const char *var, ir_dim count, int64_t work,
              const char *extra_clause);
/* The products of the dimensions of s before and after `axis`: the [outer,
 * len, inner] view of an op along one axis (gather, argmax, argsort, cumsum). */
void emit_axis_view(const ir_shape *s, int axis, ir_dim *outer, ir_dim *inner);

/* The kernel body of each op family (op_families.def) for node n, into b:
 * emit_movement in emit_movement.c (concat, slice, pad, upsample and their
 * adjoints), emit_conv in emit_conv.c (convolution and pooling through
 * runtime/conv.c), the others in emit_kernels.c. emit_kernel dispatches
 * through ops.def's family column; a missing one does not link. */
#define FAMILY(name, files) void emit_##name(emit_ctx *c, FILE *b, const ir_node *n);
#include "op_families.def"
#undef FAMILY

/* ---- emit_conv.c ------------------------------------------------------------ */
/* A conv2d linked by pass_epilogue: defines its group's kernel (without
 * OpenMP), an epilogue calling it per image, the conv kernel passing that to
 * dl_conv2d_ep, and writes the call. 1 = done (the group is not called
 * again), 0 = not possible (emit both as usual), -1 after a diagnostic. */
int emit_conv_epilogue(emit_ctx *c, const ir_node *v);
/* The `const dl_conv2d_geom g = {...};` literal of a kernel body: input
 * [n, c, h, w] shaped `in`, output `out`, a kh x kw kernel. */
void emit_conv_geom(emit_ctx *c, FILE *b, ir_dim n, const ir_shape *in, const ir_shape *out, int64_t kh, int64_t kw,
                    const conv_geom *g);
/* emit_conv_affine.c: the same for a group of the form inference batch norm
 * (+ residual) (+ ReLU/ReLU6), as one dl_conv2d_affine call with the
 * epilogue as data; 0 when the group has another form or the step is not an
 * inference step linked against libdlnrt. */
int emit_conv_affine(emit_ctx *c, const ir_node *v);
/* Writes `call`, the call of kname computing conv v and its epilogue group,
 * after `indent`; under --profile timed as one site with both's FLOPs. */
void emit_conv_group_call(emit_ctx *c, const ir_node *v, const char *kname, const char *call, const char *indent);
#define EMIT_MAX_ARGS 64 /* operands of one kernel */
/* For a plain elementwise group root n: the name emit_kernel gives its kernel
 * and its operands x0, x1, ... in order (the call is name(n, y, x0, ...));
 * -1 for any other node. */
int emit_group_operands(emit_ctx *c, const ir_node *n, const char **name, const ir_node **args);

/* ---- emit_scan.c: loops ------------------------------------------------------ */
/* Reserves a region per loop body after the graphs' arena classes (growing
 * *act_n, *act_c) and records where each starts. */
void emit_scan_layout(const ir_module *m, int64_t *act_n, int64_t *act_c, emit_scan_regions *r);
/* Defines scan n's body and loop functions in c->defs and writes the call. */
int emit_scan_loop(emit_ctx *c, const ir_node *n);

/* ---- emit_iface.c: the form and arguments of a model's C functions -------------- */
enum { EMIT_STEP_FORWARD, EMIT_STEP_EVAL, EMIT_STEP_TRAIN };
/* The .dln name as a C identifier (non-alphanumerics become '_'). */
const char *emit_c_ident(arena *ar, const char *s);
/* 1 when the model has today's form — one f32 input whose only run-time dim
 * is N, one output, and (with a train section) the label — so its functions
 * keep the (x, y, out, n) signatures; 0 for the general form. */
int emit_legacy_api(const ir_module *m);
const ir_graph *emit_step_graph(const ir_module *m); /* train_step, else eval_step, else NULL */
int emit_n_outputs(const ir_module *m);              /* the model's outputs */
int emit_n_fields(const ir_module *m);               /* data fields its steps read besides the inputs */
/* A general model's step parameters after `m`: inputs, fields (steps), outputs
 * (forward, eval), n, symbols; with the .dln's names (header) or the body's. */
void emit_step_params(FILE *f, const ir_module *m, int kind, int header);
void emit_step_voids(FILE *f, const ir_module *m, int kind); /* a stub's (void) casts */
/* The checks of n and every symbol against its bound (each: error + fail). */
void emit_step_checks(FILE *f, const ir_module *m, const char *fail);
const char *emit_in_name(arena *ar, const ir_graph *g, int i); /* "in_tokens" */
const char *emit_out_name(arena *ar, const char *name);       /* "out_logits" */
void emit_header_general(FILE *h, const ir_module *m);
/* The dl_io_info tables and the io entry points (<model>_io_forward ...). */
void emit_io_tables(FILE *f, const ir_module *m, diag_ctx *d);
/* ---- emit_decode.c: <model>_decode, the incremental forward (decode.h) ---------- */
/* Its signature: forward's arguments, then `int64_t pos` (the first new
 * position); with the .dln's names (header) or the body's. */
void emit_decode_signature(FILE *f, const ir_module *m, int header);
void emit_decode_checks(FILE *f, const ir_module *m);   /* pos + T within the caches */
/* The pointers of each cached attention's key and value caches, into the step's declarations. */
void emit_decode_caches(FILE *h, const ir_module *m, const ir_graph *g, const decode_plan *p);
void emit_decode_header(FILE *h, const ir_module *m);    /* the prototype and what it does */
void emit_decode_io(FILE *f, const ir_module *m);        /* <model>_io_decode, for the descriptor */
/* The cache pointers' names of a cached attention node. */
const char *emit_decode_kcache(emit_ctx *c, const ir_node *n);
const char *emit_decode_vcache(emit_ctx *c, const ir_node *n);

/* ---- emit_checks.c: --check-numerics ---------------------------------------- */
/* After the call of kernel `kernel` computing n (and its sibling reductions
 * rs[1..nr)), a line per f32 output in c->calls: stop the step when it is not
 * finite, naming the op, its .dln position and the kernel. */
void emit_check_output(emit_ctx *c, const ir_node *n, const char *kernel, const ir_node *const *rs, int nr);
/* The same for parameter pi's storage (m->params + offset) after the optimizer update, to f. */
void emit_check_param(emit_ctx *c, FILE *f, int pi, int64_t offset);

/* ---- emit_c.c ------------------------------------------------------------ */
/* The step-function expression of a node's data pointer ("x", "p0_fc1_weight",
 * "t12"); follows aliases. */
const char *emit_value_name(emit_ctx *c, const ir_node *n);
/* s as a C string literal, everything non-printable escaped ("NULL" for NULL). */
void emit_cstr(FILE *f, const char *s);

/* ---- emit_profile.c ------------------------------------------------------ */
/* The FLOPs of a call computing these nodes, as a C expression in the batch
 * n ("-1.0" when the count is not a + b n). */
const char *emit_prof_flops(emit_ctx *c, const ir_node *const *nodes, int count);
/* Write stmt, the call of `kernel` computing n, to c->calls wrapped in
 * DL_PROF, and its site's definition to c->defs. */
void emit_prof_call(emit_ctx *c, const ir_node *n, const char *kernel, const char *flops, const char *stmt);
/* The same for an optimizer update starting at parameter first_param, to f. */
void emit_prof_optim(emit_ctx *c, FILE *f, int first_param, const char *stmt);

#endif
