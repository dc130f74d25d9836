/* elab_internal.h — shared between the elaboration files:
 *   elab.c           values, scopes, statements, expressions, block instantiation
 *   elab_builtins.c  the built-in functions (primitive ops and small compositions)
 *   elab_consts.c    the builtins that make constant and index tensors (zeros, arange, eye, tril, expand)
 *   elab_init.c      parameter initializers
 *   elab_train.c     the train section: data/optimizer/schedule config and the loss
 *   elab_adv.c       adversarial training: the attack unrolled into the train step's loss */
#ifndef DLNC_ELAB_INTERNAL_H
#define DLNC_ELAB_INTERNAL_H
#include "elab.h"
#include "strmap.h"
#include "train.h"

typedef enum vkind {
    V_NONE,     /* absent (zero-initialized values are V_NONE) */
    V_ERROR,    /* an error was already reported: propagate silently */
    V_INT, V_FLOAT, V_BOOL, V_STR,
    V_DIM,      /* a symbolic dimension such as N or 2*N */
    V_TENSOR,
    V_LIST,     /* [a, b] or (a, b); also multiple return values */
    V_INIT,     /* a parameter initializer: he_uniform(), zeros, ... */
    V_FUNC,     /* a bare function name used as a value (`|> relu` is desugared; this is `metrics = [accuracy]`) */
} vkind;

typedef struct value value;
struct value {
    vkind kind;
    int64_t i;          /* INT, BOOL */
    double f;           /* FLOAT */
    const char *s;      /* STR, FUNC (name) */
    ir_dim dim;         /* DIM */
    ir_node *t;         /* TENSOR */
    value *items;       /* LIST */
    int n;
    ir_init init;       /* INIT (fan_in/out < 0: from the shape) */
    src_loc loc;        /* where the value was written */
};

typedef struct binding {
    const char *name;
    value v;
    int level;              /* the scan nesting whose graph holds v's tensors (0: the model's graph) */
    struct binding *next;   /* the frame's previous binding (newest first, for "did you mean") */
} binding;

/* One block instantiation (or the model body, or the train section). */
typedef struct frame {
    binding *vars;          /* newest first */
    strmap var_index;       /* name -> its binding in vars */
    strmap counters;        /* block name -> int * calls so far, for default instance names */
    const char *prefix;     /* parameter name prefix: "" or "encoder.dense1." */
    const ast_decl *decl;   /* NULL for the train section */
    int in_stdlib;          /* decl is a stdlib block: diagnostics also name the user's call (elab.user_site) */
    int returned;
    value ret;
} frame;

typedef struct elab {
    arena *a;
    diag_ctx *d;
    const ast_program *user;
    ast_program *const *lib;
    int n_lib;
    ir_module *mod;
    ir_graph *g;
    int depth;              /* block nesting, to stop runaway recursion */
    src_loc user_site;      /* the innermost call written in the user's file, while inside the stdlib */
    int next_stream;        /* random-source stream ids, stable across the three graphs */
    ir_node **updated;      /* by param index: the value update() gave the buffer in this graph (NULL: none);
                               a later declaration of the buffer (the model called again) reads it */
    int cap_updated;
    elab_summary *summary;  /* record top-level calls here (forward graph only), or NULL */
    int expr_depth;         /* eval_expr recursion, bounded (ELAB_MAX_EXPR_DEPTH) to keep off the stack limit */
    strmap user_blocks;     /* name -> the user's block (find_block) */
    strmap lib_blocks;      /* name -> the stdlib's block, the first of that name */
    int64_t work;           /* steps so far (bounded): statements, iterations, calls, expressions, sizes (elab_charge) */
    int runaway;            /* a work, size or depth limit was hit: unwind without further errors */
    struct scan_ctx *scan;  /* the innermost scan body being elaborated, NULL outside any (elab_scan.c) */
    strmap step_models;     /* in a step's loss (elab_steps.c): name -> the section's model, callable like a block */
    const char *stepped;    /* ... and the model the step updates: other models' parameters are frozen */
    int eval_calls;         /* models called with `training = false` being elaborated: `training` reads false */
    int carry_state;        /* dlnc export: the forward graph being built assigns carried state (elab_output) */
    const char *ema_dst;    /* inside a call with `ema_of` (elab_ema.c): its prefix ("teacher."), else NULL */
    const char *ema_src;    /* ... the prefix of the parameters it averages ("student.") */
    double ema_decay;       /* ... and the decay */
    int ema_failed;         /* ... a parameter of it was refused: the others are not reported again */
} elab;

/* A scan body being elaborated (elab_scan.c): its graph, and the values of
 * the enclosing graph it reads (captures), each an input of the body. */
typedef struct scan_ctx {
    struct scan_ctx *parent;
    int level;              /* 1 for a scan in the model's body, 2 inside that, ... */
    ir_graph *outer, *body;
    ir_node *captured[IR_MAX_LOOP_IN * 4];   /* outer values ... */
    ir_node *as_input[IR_MAX_LOOP_IN * 4];   /* ... and the body inputs standing for them */
    int n_captured;
    const frame *frame;     /* the body's own frame: where `yield` may appear */
    value yields;           /* V_LIST of the yielded values, V_NONE before the yield */
    src_loc yield_loc;
} scan_ctx;

/* elab.c */
void exec_body(elab *e, frame *f, const ast_block_body *body);
/* The value bound to name in f, brought into the scan body being elaborated
 * when it was bound outside it; NULL binding if there is none. */
int frame_lookup(elab *e, frame *f, const char *name, value *out);
/* elab_scan.c: the `scan` statement and `yield` inside its body. */
void exec_scan(elab *e, frame *f, const ast_stmt *st);
void exec_yield(elab *e, frame *f, const ast_stmt *st);
/* A value bound at nesting `level` as seen from the current scan body:
 * tensors of outer graphs become inputs (captures) of the body. */
value scan_capture(elab *e, value v, int level, const char *name);
enum { ELAB_MAX_NODES = 500000 }; /* operations in one graph, while elaborating */
enum { ELAB_MAX_EXPR_DEPTH = 1000 }; /* eval_expr's recursion (a left-associative chain x + x + ... is deep) */
/* Charges `cost` steps to the work budget before something that costs that
 * much is built; 1 if a budget is spent (reported once, at loc, the first
 * time: the caller unwinds with an error value). */
int elab_charge(elab *e, src_loc loc, int64_t cost);
/* Bind name (an AST or arena string) to v in f, replacing an earlier binding. */
void frame_bind(elab *e, frame *f, const char *name, value v);
value v_error(void);
value v_int(int64_t i, src_loc loc);
value v_float(double f, src_loc loc);
value v_bool(int b, src_loc loc);
value v_tensor(ir_node *t, src_loc loc);
/* `training`: the graph is a train step and no enclosing call asked for evaluation mode. */
int elab_training(const elab *e);
const char *v_kind_name(const value *v);
const char *v_describe(elab *e, const value *v);    /* "f32[N, 10]", "int 3", ... */
const char *t_describe(elab *e, const ir_node *t);  /* a tensor's type, "f32[N, 10]" (in the arena) */
value v_list(elab *e, int n, src_loc loc);          /* a list of n items, all V_NONE */
value eval_expr(elab *e, frame *f, const ast_expr *x);
/* The evaluated arguments of a call expression. */
typedef struct call_args {
    value *pos;
    int npos;
    const char **kw_names;
    value *kw;
    src_loc *kw_locs;
    int nkw;
} call_args;
/* Returns 0, or -1 if an argument had an error (already reported). */
int eval_call_args(elab *e, frame *f, const ast_expr *call, call_args *ca);
/* A value as a tensor: numbers become scalar constants. */
ir_node *as_tensor(elab *e, value v, src_loc loc);
ir_node *dim_scalar(elab *e, ir_dim d, src_loc loc);
value int_like(const value *v);                 /* an integral float as an int, else v itself */
int as_number(const value *v, double *out);         /* int/float/bool → double */
const ast_decl *find_block(elab *e, const char *name);
value call_block(elab *e, frame *caller, const ast_decl *blk, const ast_expr *call, value *pos, int npos,
                 const char **kw_names, value *kw, int nkw, src_loc loc);

/* Binding call arguments to a declared list of names (builtins, train functions). */
typedef struct argspec {
    const char *name;
    int required;
} argspec;
/* Fills out[i] for each spec entry (kind V_NONE when absent and optional).
 * Reports unknown/duplicate/missing arguments at the call; returns 0 or -1. */
int bind_args(elab *e, const char *fname, src_loc call_loc, const argspec *spec, int nspec,
              value *pos, int npos, const char **kw_names, value *kw, int nkw, const src_loc *kw_locs,
              value *out);

/* elab_builtins.c: returns 1 and sets *result if `name` is a builtin. */
int call_builtin(elab *e, const char *name, src_loc loc, value *pos, int npos, const char **kw_names,
                 value *kw, int nkw, const src_loc *kw_locs, value *result);
int is_builtin(const char *name);
/* The i-th builtin's name, NULL past the end (the docs/diagnostics audit, test_op_coverage.c). */
const char *builtin_name(int i);
/* Helpers also used by elab.c for operators. */
ir_node *op_binary(elab *e, ir_opcode op, ir_node *a, ir_node *b, src_loc loc);
ir_node *op_unary(elab *e, ir_opcode op, ir_node *a, src_loc loc);
ir_node *op_matmul(elab *e, ir_node *a, ir_node *b, src_loc loc);
ir_node *op_scalar(elab *e, double v, src_loc loc);
/* Argument checks shared by the builtin files; each reports its own error
 * at the argument and returns 0 / NULL (V_NONE takes the default). */
ir_node *tensor_arg(elab *e, value *v, const char *fname, const char *arg);
/* tensor_arg that also refuses an i32 tensor, in fname's words (with a hint). */
ir_node *float_tensor_arg(elab *e, value *v, const char *fname, const char *arg, src_loc call);
int float_arg(elab *e, value *v, double dflt, const char *fname, const char *arg, double *out);
int bool_arg(elab *e, value *v, int dflt, const char *fname, const char *arg, int *out);
/* A possibly negative axis of a rank-`rank` tensor, normalized into *out. */
int axis_norm(elab *e, const value *v, int rank, const char *fname, int *out);
/* axis = none (all), an int or a list of ints -> a bitmask of axes */
int axes_mask(elab *e, const value *v, int rank, const char *fname, uint32_t *mask);

/* elab_movement.c: builtins concat, stack, slice, split, chunk, pad,
 * upsample, squeeze, unsqueeze (same signature as elab_builtins.c's handlers) */
value b_concat(elab *e, src_loc loc, const char *name, value *args);
value b_stack(elab *e, src_loc loc, const char *name, value *args);
value b_slice(elab *e, src_loc loc, const char *name, value *args);
value b_split(elab *e, src_loc loc, const char *name, value *args);
value b_roll(elab *e, src_loc loc, const char *name, value *args);
value b_chunk(elab *e, src_loc loc, const char *name, value *args);
value b_pad(elab *e, src_loc loc, const char *name, value *args);
value b_upsample(elab *e, src_loc loc, const char *name, value *args);
value b_roi_align(elab *e, src_loc loc, const char *name, value *args);
value b_roi_pool(elab *e, src_loc loc, const char *name, value *args);
value b_nms(elab *e, src_loc loc, const char *name, value *args);
value b_grid_sample(elab *e, src_loc loc, const char *name, value *args);
value b_affine_grid(elab *e, src_loc loc, const char *name, value *args);
/* sort, argsort, topk, cumsum, cumprod, flip, cast_i32 (elab_sort.c) */
value b_sort(elab *e, src_loc loc, const char *name, value *args);
value b_topk(elab *e, src_loc loc, const char *name, value *args);
value b_cumsum(elab *e, src_loc loc, const char *name, value *args);
value b_flip(elab *e, src_loc loc, const char *name, value *args);
value b_cast_i32(elab *e, src_loc loc, const char *name, value *args);
value b_squeeze(elab *e, src_loc loc, const char *name, value *args);
value b_unsqueeze(elab *e, src_loc loc, const char *name, value *args);
/* Helpers shared with elab_index.c: x reshaped to s; the slice
 * [start:start+count*step:step] of x along axis (x itself when that is all of
 * it); one Python slice bound (negative from the end) clamped to 0..len. */
ir_node *reshape_to(elab *e, ir_node *x, const ir_shape *s, src_loc loc);
/* elab_movement.c: x[j0·S : (j0 + count)·S] along a run-time axis K·S (0 <= j0 < j0 + count <= K). */
ir_node *slice_units(elab *e, ir_node *x, int axis, int64_t j0, int64_t count, src_loc loc);
/* elab_builtins.c: buffer idx takes v after the training step (update's assignment). */
void elab_assign(elab *e, int idx, ir_node *v);
/* elab_ema.c: the value of a trainable `param` (full name, shape, init) inside a call with `ema_of`. */
value ema_param(elab *e, const char *full, const ir_shape *shape, ir_init init, src_loc loc);
int ema_option(elab *e, const char *kw, const value *v, src_loc loc, const char **of, double *decay);
int ema_begin(elab *e, const char *of, double decay, const char *caller_prefix, const char *prefix, src_loc loc);
ir_node *slice_along(elab *e, ir_node *x, int axis, int64_t start, int64_t step, int64_t count, src_loc loc);
int64_t slice_bound(int64_t b, int64_t len);

/* elab_index.c: x[i, j:k:s] on tensors and compile-time lists. */
value eval_index(elab *e, frame *f, const ast_expr *x);

/* elab_conv.c: builtins conv, conv_transpose, max_pool2d, max_pool2d_with_indices,
 * avg_pool2d, adaptive_avg_pool2d, max_unpool2d (same signature as the handlers) */
value b_conv(elab *e, src_loc loc, const char *name, value *args);
value b_pool(elab *e, src_loc loc, const char *name, value *args);
value b_adaptive_pool(elab *e, src_loc loc, const char *name, value *args);
value b_unpool(elab *e, src_loc loc, const char *name, value *args);

/* elab_einsum.c: builtin einsum, lowered to transpose, reshape, sum and matmul */
value b_einsum(elab *e, src_loc loc, const char *name, value *args);

/* elab_attention.c: builtin attention (same signature as the handlers) */
value b_attention(elab *e, src_loc loc, const char *name, value *args);

/* elab_consts.c: builtins zeros, ones, full, zeros_like, ones_like,
 * full_like, arange, eye, tril, triu, expand (same signature as the handlers) */
value b_fill(elab *e, src_loc loc, const char *name, value *args);
/* iota of shape s along axis: start + step * index (f32, or i32 with i32 = 1) */
ir_node *elab_iota(elab *e, const ir_shape *s, int axis, double start, double step, int i32, src_loc loc);
value b_fill_like(elab *e, src_loc loc, const char *name, value *args);
value b_arange(elab *e, src_loc loc, const char *name, value *args);
value b_eye(elab *e, src_loc loc, const char *name, value *args);
value b_triangle(elab *e, src_loc loc, const char *name, value *args);
value b_expand(elab *e, src_loc loc, const char *name, value *args);
value b_class_weight(elab *e, src_loc loc, const char *name, value *args);

/* elab_init.c */
int is_initializer(const char *name);
double init_default_gain(ir_init_kind kind);
const char *init_describe(elab *e, const ir_init *in);
/* 0 after a diagnostic at loc when the parameter's shape does not suit a
 * structured initializer (orthogonal, sparse, dirac, eye), as in torch.nn.init. */
int init_check_shape(elab *e, const ir_init *in, const ir_shape *shape, src_loc loc);
const char *init_tensor_hint(elab *e, const ast_expr *x);
/* A data initializer's recipe (values, bilinear_upsample, from_file: a V_INIT
 * value naming it in .s, its arguments in .items) computed at the declared
 * shape into an IR_INIT_DATA init; 0 after a diagnostic (elab_init_data.c). */
int init_data_resolve(elab *e, const value *recipe, const ir_shape *shape, ir_init *out, src_loc decl);
int check_redeclaration(elab *e, const ir_param *first, const char *what, const ir_shape *shape,
                        const ir_init *init, int trainable, src_loc loc);
value make_initializer(elab *e, const char *name, src_loc loc, value *pos, int npos,
                       const char **kw_names, value *kw, int nkw, const src_loc *kw_locs);

/* The closest of cands[0..n) to name for a "did you mean" hint, or NULL. */
const char *closest_name(const char *name, const char *const *cands, int n);

/* A model's interface while elaborating one graph: its tensor inputs are
 * the graph's inputs 0 .. n_in-1; its outputs by name ("output" when it
 * returns one unnamed tensor). */
#define ELAB_MAX_IO 8

/* How to write a PyTorch activation that has no builtin here, or NULL (elab_torch_acts.c). */
const char *torch_only_activation(const char *name);
typedef struct model_io {
    int n_in, n_out;
    const char *out_names[ELAB_MAX_IO];
    ir_node *out[ELAB_MAX_IO];
} model_io;

/* elab_train.c */
const ast_decl *find_train_section(const ast_program *p, const char *model);
int train_config_build(elab *e, const ast_decl *train, train_config *out, int *label_is_class);
/* elab_groups.c: the train section's freeze and lr_scale; checked against the model once its graphs are built */
void groups_build(elab *e, const ast_setting *freeze, const ast_setting *scale, const ast_setting *skip,
                  pg_groups *g);
int groups_check(elab *e, train_config *tc);
/* Elaborate the `loss = ...` setting over the model's outputs and inputs and
 * the data's fields (each field the loss uses becomes a graph input after
 * the model's); binds each model input to the data field it reads. */
ir_node *train_loss(elab *e, const ast_decl *train, const model_io *io, int label_is_class);
const char *train_primary_field(const dl_data_config *dc);   /* "image", "features", "tokens" */
/* Binds the data fields a step's loss names, beyond the primary one (bound
 * to `primary`), as graph inputs (elab_steps.c). -1 after an error. */
int train_step_fields(elab *e, frame *f, const ast_expr *loss, int label_is_class, ir_node *primary);

/* elab_steps.c: a section with `models = [...]` and `step` blocks: one module per step */
int is_multistep(const ast_decl *train);
int elab_multistep(elab *e, const ast_decl *train, ir_module ***mods, int *n_mods, int *cap);
/* `teacher(x, training = false)` in a step's loss: checks the option (a compile-time bool, on a
 * section's model) and sets *eval_mode; 0 after an error. */
int step_training_option(elab *e, const ast_decl *blk, const value *v, src_loc loc, int *eval_mode);
/* The results of a model called in evaluation mode: cut from the gradient (torch.no_grad())
 * unless the model is the one the step updates (its prefix). */
value step_no_grad(elab *e, value r, const char *prefix);

/* elab_adv.c: `adversarial = fgsm(...) | pgd(...)`, expanded into the train step's loss */
/* Reads the two settings `adversarial` and `adversarial_input` (either may be NULL); kind ADV_NONE without them. 0, or -1 after an error. */
int adv_config_build(elab *e, const ast_setting *s, const ast_setting *input, adv_config *out);
/* The graph input the attack perturbs, among e->g->inputs[0, n): the one named (or reading the field named)
 * c->input, else dflt; it must be f32 with the batch first. Its index, or -1 after an error. */
int adv_input(elab *e, const adv_config *c, int n, int dflt);
/* The section's loss with the attacked input bound to x (a new evaluation of its expression). */
typedef ir_node *(*adv_loss_at)(elab *e, void *ctx, ir_node *x);
/* The trained loss: `clean` (the loss at x, already elaborated) mixed with the loss at the attacked batch. */
ir_node *adv_expand(elab *e, const adv_config *c, ir_node *x, ir_node *clean, adv_loss_at loss_at, void *ctx);

/* A one-model section's loss (elab_train.c): `clean`, the loss just elaborated in f over the model's run io,
 * attacked in the training graph (the input is adversarial_input, else inputs[dflt]). NULL after an error. */
ir_node *adv_model_loss(elab *e, const ast_decl *t, frame *f, const ast_expr *loss, const model_io *io, int dflt,
                        ir_node *clean);

/* elab.c, for elab_steps.c */
int bind_tensor_input(elab *e, frame *f, const ast_formal *fm);
/* elab.c, for elab_train.c's adversarial loss: the model's body run again with its tensor inputs bound to
 * inputs[0, n_in) instead of graph inputs; 0 after an error. */
int rerun_model(elab *e, const ast_decl *model, ir_node *const *inputs, model_io *io);

#endif
