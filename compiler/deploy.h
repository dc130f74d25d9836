/* deploy.h — `dlnc export`: a trained model as one inference-only C file
 * and its header, for firmware and apps: the forward graph alone (eval mode),
 * the weights as a `static const float` array (or a blob the caller gives),
 * the runtime pieces the forward calls as portable C, one arena whose size
 * the header states. It needs libc and libm only (OpenMP if compiled so) and
 * builds with -std=c99 -pedantic -Wall -Wextra -Werror. */
#ifndef DLNC_DEPLOY_H
#define DLNC_DEPLOY_H
#include <stdint.h>
#include <stdio.h>

#include "diag.h"
#include "emit.h"
#include "ir.h"

typedef struct deploy_options {
    const char *model;       /* --model: which model of the file (default: the first) */
    const char *checkpoint;  /* --checkpoint: the trained tensors (safetensors), required */
    const char *output;      /* -o FILE.c (header beside it); default <input stem>_infer.c */
    const char *weights_bin; /* --weights-file FILE.bin: the weights there, not in the C file */
    int64_t max_batch;       /* --max-batch: the largest n a call takes (default 1) */
    int static_arena;        /* --static-arena: a static arena in the file for arena == NULL */
    int int8;                /* --int8: int8 weights and products (deploy_int8.c) */
    int64_t calibrate;       /* --calibrate N: activations' scales from N training images (default 1000) */
    int no_fold;             /* --no-fold: keep parameter-only values and batch norms as the training build computes them */
    const char *len_name[IR_MAX_SYMS]; /* --seq-len [NAME=]T, as given (NULL: the model's only run-time length) */
    int64_t len_value[IR_MAX_SYMS];
    int n_len;
    int64_t len[IR_MAX_SYMS]; /* by symbol, the run-time size each is exported at (default: its bound, else the
                                 train section's seq_len); deploy_run fills it in; len[0] (the batch) is 1 */
} deploy_options;

/* deploy_int8.c: one quantized weight. */
typedef struct deploy_qtensor {
    int param;               /* the module parameter */
    int node;                /* the conv2d or matmul reading it (node id) */
    int64_t channels;        /* output channels: one scale each */
    int rows;                /* a channel is a row of the weight (conv, dense W^T); else a column */
    int64_t numel;
    int8_t *q;               /* round(w / scale[channel]), in the weight's layout */
    float *scale;            /* per channel: max |w| / 127 */
    float xscale;            /* the input's: max |x| / 127 over the calibration images */
} deploy_qtensor;
typedef struct deploy_quant {
    deploy_qtensor *t;
    int n;
} deploy_quant;

/* The sizes `dlnc export` prints. */
typedef struct deploy_sizes {
    int64_t code_bytes;      /* the C file without the weights' text */
    int64_t weight_bytes;    /* float32 weights */
    int64_t arena_bytes;     /* <MODEL>_ARENA_BYTES */
} deploy_sizes;

/* Option i of `dlnc export` (argv[*i]): 1 taken (and *i advanced past its
 * value), 0 not an export option, -1 after a usage error. */
int deploy_option(int argc, char **argv, int *i, deploy_options *o);

/* Whether m has the form an export handles: f32 or i32 inputs with the batch
 * first, f32 or i32 value outputs, no carried state. 0, or -1 after a diagnostic. */
int deploy_check(const ir_module *m, diag_ctx *d);

/* deploy_iface.c: the export's interface, for a model whose forward deploy_check accepted; t is the
 * run-time T it runs at (1 without one). The header's per-input and per-output sizes; the prototype of
 * <model>_infer (no `;`); its argument checks (n, NULL pointers, ids against their tables), each failing
 * with `return -1;` before anything is written; the forward's data arguments ("x, out, "); the name of
 * input (input = 1) or output k; whether any input is i32. */
void deploy_put_sizes(FILE *h, const ir_module *m, const int64_t *len);
void deploy_put_signature(FILE *f, arena *ar, const ir_module *m);
void deploy_put_checks(FILE *f, arena *ar, const ir_module *m, int64_t max_batch, const int64_t *len);
const char *deploy_forward_args(arena *ar, const ir_module *m, int64_t base, const int64_t *off);
const char *deploy_arg_name(arena *ar, const ir_graph *g, int input, int k);
int deploy_has_ids(const ir_module *m);
int deploy_has_int32(const ir_module *m); /* an i32 input or output: the header includes <stdint.h> */
/* A forward that can fail as it runs (an id reaching a table through arithmetic) writes its outputs into
 * the arena at base + off[k] (floats from m.act; deploy_stage_floats lays them out, 16-float aligned, and
 * returns their total) and <model>_infer copies them to the caller's only after it succeeded. With
 * off == NULL, deploy_forward_args passes the caller's outputs. */
int64_t deploy_stage_floats(const ir_module *m, int64_t max_batch, const int64_t *len, int64_t *off);
void deploy_put_copy_out(FILE *f, arena *ar, const ir_module *m, const int64_t *len, int64_t base, const int64_t *off);

/* deploy_state.c: a model with carried state (a buffer [N, ...] given update()): whether m has any; the
 * header's STATE_FLOATS, <model>_ctx and the prototypes of its functions; their definitions. */
int deploy_has_state(const ir_module *m);
void deploy_put_state_header(FILE *h, const ir_module *m, const emit_forward_layout *L, int64_t max_batch);
void deploy_put_state_functions(FILE *c, const ir_module *m, const emit_forward_layout *L, int64_t max_batch);

/* deploy_len.c: the largest value run-time size k (m->syms[k]) of m's forward can take (INT64_MAX: no
 * limit), set by a table indexed by position (take or gather of a range over it; *where: that node); and
 * the check that the export's value (given: by --seq-len, else the default) is within it. 0, or -1 after
 * a diagnostic. */
int64_t deploy_len_limit(const ir_module *m, int k, const ir_node **where);
int deploy_check_len(const ir_module *m, int k, int64_t value, int given, diag_ctx *d);

/* Writes the C file and header of module m (its graphs through the passes)
 * whose parameters are params[i] (by module parameter index, each its
 * numel floats), with the int8 weights of q (NULL: a float export).
 * Returns 0, or -1 after a diagnostic. */
int deploy_emit(ir_module *m, float *const *params, const deploy_quant *q, const char *source,
                const deploy_options *o, FILE *c_out, FILE *h_out, FILE *bin_out, deploy_sizes *sz, diag_ctx *d);

/* deploy_fold.c: on m's forward graph (after the passes) and the parameter
 * values params (by index), computes what depends on parameters alone into
 * new parameters and folds batch norm into the convolution or dense layer
 * before it (*folded: how many). Returns the parameter values, grown by the
 * new ones, or NULL after a diagnostic. */
float **deploy_fold(ir_module *m, float **params, int *folded, diag_ctx *d);

/* Quantizes m's forward's dense layers and convolutions (deploy_qtensor),
 * calibrating on the first calibrate_n training images; the quantized
 * weights' float values become one NaN each. 0, or -1 after a diagnostic. */
int deploy_int8(ir_module *m, float **params, int64_t calibrate_n, deploy_quant *q, diag_ctx *d);

/* `dlnc export` after the passes: picks the model, reads the checkpoint,
 * writes the files and prints their sizes. 0, or 1 after the error. */
int deploy_run(ir_module *const *mods, int n_mods, const char *input, const deploy_options *o, diag_ctx *d);

#endif
