/* ir.h — the intermediate representation.
 *
 * A graph is a list of nodes in topological order (construction order is a
 * valid order; passes keep it so). Each node is one SSA value produced by one
 * primitive op from ops.def. Every value has a dtype and a shape whose
 * dimensions are monomials over run-time symbols: `k * N`, `k * N * T`, or a
 * constant k. The batch N is symbol 0; symbols have an upper bound fixed when
 * the model is created (max batch), so the memory plan is sized once.
 *
 * A module is what one .dln `model` compiles to: its parameters (trainable
 * weights and persistent buffers such as batchnorm running statistics) and
 * several graphs ("functions") over them — forward (eval mode), eval_step
 * (eval mode + loss), train_step (train mode + loss + gradients). Graph
 * outputs are bound to destinations (a caller buffer, a parameter's gradient,
 * a parameter itself for state updates, the scalar loss), which is how the
 * same IR expresses inference, training, `grad(loss, x)` as a value and
 * batchnorm running averages. */
#ifndef DLNC_IR_H
#define DLNC_IR_H
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "diag.h"
#include "strmap.h"

#define IR_MAX_RANK 6
#define IR_MAX_IN 16 /* concat is variadic (DenseNet); longer concats are chained */
#define IR_MAX_LOOP_IN 32 /* a scan's carries, sequences and captures (ops_scan.h): the most inputs of any node */
#define IR_MAX_SYMS 8
#define IR_SYM_N 0 /* the batch dimension */

typedef enum ir_opcode {
#define OP(name, arity, kind, family, attrs, c_expr, ref) OP_##name,
#include "ops.def"
#undef OP
    OP__COUNT
} ir_opcode;

typedef enum ir_family {
#define FAMILY(name, files) IR_FAM_##name,
#include "op_families.def"
#undef FAMILY
    IR_FAM__COUNT
} ir_family;

typedef enum ir_kind { IR_SOURCE, IR_ELEMWISE, IR_REDUCE, IR_CONTRACT, IR_SHAPE, IR_OPAQUE } ir_kind;

typedef enum ir_dtype { IR_F32, IR_I32 } ir_dtype;

/* A dimension: k * (product of the symbols whose bit is set in syms). */
typedef struct ir_dim {
    int64_t k;
    uint32_t syms;
} ir_dim;

typedef struct ir_shape {
    int rank;
    ir_dim d[IR_MAX_RANK];
} ir_shape;

enum { ATTN_DQ = 1, ATTN_DK = 2, ATTN_DV = 4, ATTN_DMASK = 8 }; /* ir_attrs.attention.which */
enum { LN_DX = 0, LN_DW = 1 }; /* ir_attrs.norm.which: layer_norm_grad gives dx, or dweight's partial sums */

/* Every other op's attributes: one typed struct per attribute group,
 * generated from ir_attrs.def (which says what each field means). The
 * integer fields of a group alias the slots i[0..7] in the order listed, its
 * doubles f[0..3], so code generic over ops (packed shapes, CSE, the
 * elementwise $f0) reads the slots and everything else the names. */
#include "ir_attrs.def"
#define IR_ATTR_INT_(field, print, doc) int64_t field;
#define IR_ATTR_INTS_(field, n, print, doc) int64_t field[n];
#define IR_ATTR_REAL_(field, print, doc) double field;
#define IR_ATTR_NONE_(...)
#define IR_ATTR_COUNT1_(...) +1
#define IR_ATTR_COUNTN_(field, n, print, doc) +n
#define IR_ATTRS_CHECK_(g)                                                                                           \
    _Static_assert(0 ATTRS_##g(IR_ATTR_COUNT1_, IR_ATTR_COUNTN_, IR_ATTR_NONE_) <= 8, #g ": more than 8 int slots"); \
    _Static_assert(0 ATTRS_##g(IR_ATTR_NONE_, IR_ATTR_NONE_, IR_ATTR_COUNT1_) <= 4, #g ": more than 4 doubles");
#define IR_ATTRS_STRUCT_(g)                                                                                          \
    typedef struct ir_attrs_##g {                                                                                    \
        union {                                                                                                      \
            struct { ATTRS_##g(IR_ATTR_INT_, IR_ATTR_INTS_, IR_ATTR_NONE_) };                                        \
            int64_t ints_[8];                                                                                        \
        };                                                                                                           \
        ATTRS_##g(IR_ATTR_NONE_, IR_ATTR_NONE_, IR_ATTR_REAL_)                                                       \
    } ir_attrs_##g;                                                                                                  \
    IR_ATTRS_CHECK_(g)
#define IR_ATTRS_STRUCT_R_(g)                                                                                        \
    typedef struct ir_attrs_##g {                                                                                    \
        int64_t ints_[8];                                                                                            \
        ATTRS_##g(IR_ATTR_NONE_, IR_ATTR_NONE_, IR_ATTR_REAL_)                                                       \
    } ir_attrs_##g;                                                                                                  \
    IR_ATTRS_CHECK_(g)
IR_ATTRS_GROUPS(IR_ATTRS_STRUCT_, IR_ATTRS_STRUCT_R_)

/* The convolution and pooling family's geometry (ATTRS_conv; ops_conv.h says
 * what each field means for each op): a member of ir_attrs of its own. */
typedef struct conv_geom {
    ATTRS_conv(IR_ATTR_INT_, IR_ATTR_INTS_, IR_ATTR_REAL_)
} conv_geom;

typedef struct ir_attrs {
    union {
        struct {
            int64_t i[8];   /* the slots: ni of them set */
            double f[4];    /* nf of them set */
        };
#define IR_ATTRS_MEMBER_(g) ir_attrs_##g g;
        IR_ATTRS_GROUPS(IR_ATTRS_MEMBER_, IR_ATTRS_MEMBER_)
#undef IR_ATTRS_MEMBER_
    };
    int ni, nf;             /* how many slots the node sets (a field past them is absent) */
    conv_geom conv;         /* the conv family's geometry; all zero for every other op */
} ir_attrs;

typedef struct ir_node ir_node;
struct ir_node {
    int id;                 /* unique within the graph, stable across passes (printing) */
    ir_opcode op;
    int nin;
    ir_node *in[IR_MAX_LOOP_IN];
    ir_attrs a;
    ir_dtype dtype;
    ir_shape shape;
    src_loc loc;            /* the .dln span this node came from */
    src_loc site;           /* made inside a stdlib block: the user's call that led there (file NULL otherwise) */
    const char *site_block; /* ... and the block that call named ("dense") */
    int grad_of;            /* made by a VJP: 1 + the opcode it differentiates; 0 otherwise */
    const char *name;       /* inputs/params: their name; others: optional debug name */
    /* filled by passes */
    int n_uses;             /* number of uses by live nodes and outputs */
    int group;              /* fusion group id, -1 if none */
    ir_node *epilogue;      /* conv2d: root of the group computed per image in its epilogue (pass_epilogue) */
    ir_node *sibling;       /* reduction: the first of the reductions sharing its loop nest (pass_fuse rule 7;
                               the first points to itself), NULL if it has its own kernel */
    int64_t offset;         /* memory plan: offset in the arena (floats), -1 unplanned */
    int storage;            /* memory plan: IR_STORE_* */
};

typedef enum ir_storage {
    IR_STORE_ARENA,         /* planned in the activation arena */
    IR_STORE_PARAM,         /* a parameter's own storage (OP_param) */
    IR_STORE_INPUT,         /* a caller-provided buffer (OP_input) */
    IR_STORE_OUTPUT,        /* written straight into an output's destination */
    IR_STORE_INLINE,        /* never materialized (constant, fused into its consumer) */
    IR_STORE_ALIAS,         /* shares the storage of in[0] (reshape, stop_grad) */
    IR_STORE_STATIC,        /* computed from constants alone: its own region, filled by the first call, kept */
} ir_storage;

typedef enum ir_out_kind {
    IR_OUT_VALUE,           /* copied to a caller buffer (forward outputs) */
    IR_OUT_LOSS,            /* a scalar returned by the function */
    IR_OUT_GRAD,            /* written to the gradient of module param `index` */
    IR_OUT_ASSIGN,          /* written into module param/buffer `index` after the step */
    IR_OUT_INPUT_GRAD,      /* gradient w.r.t. graph input `index`, to a caller buffer */
} ir_out_kind;

typedef struct ir_output {
    ir_out_kind kind;
    int index;
    const char *name;
    ir_node *node;
} ir_output;

typedef struct ir_input {
    const char *name;       /* "x", "label", ... */
    ir_dtype dtype;
    ir_shape shape;
    ir_node *node;
    const char *field;      /* the data field a training driver feeds it ("image" for a model input x);
                               NULL: the field of its own name */
} ir_input;

typedef struct ir_symbol {
    const char *name;       /* "N" */
    int64_t max;            /* upper bound at run time; 0 = given at create time */
} ir_symbol;

typedef enum ir_mode { IR_MODE_EVAL, IR_MODE_TRAIN } ir_mode;

typedef struct ir_graph {
    arena *ar;
    const char *name;       /* "forward", "train_step", ... */
    ir_mode mode;
    ir_node **nodes;
    int n_nodes, cap_nodes;
    int next_id;
    ir_input *inputs;
    int n_inputs, cap_inputs;
    ir_output *outputs;
    int n_outputs, cap_outputs;
    struct ir_module *mod;  /* parameters are module-level */
    ir_node **param_nodes;  /* by module param index: its node here, made by ir_param_node (or NULL) */
    int cap_param_nodes;
    int64_t arena_floats;   /* memory plan result: activation arena size at max symbols */
    int loop_body;          /* a scan's body (ir_module_add_body): runs once per step, keeps nothing between calls */
} ir_graph;

typedef enum ir_init_kind {
    IR_INIT_ZEROS, IR_INIT_ONES, IR_INIT_CONSTANT, IR_INIT_NORMAL, IR_INIT_UNIFORM,
    IR_INIT_LECUN_UNIFORM, IR_INIT_LECUN_NORMAL, IR_INIT_XAVIER_UNIFORM, IR_INIT_XAVIER_NORMAL,
    IR_INIT_HE_UNIFORM, IR_INIT_HE_NORMAL,
    IR_INIT_TRUNC_NORMAL, IR_INIT_ORTHOGONAL, IR_INIT_SPARSE, IR_INIT_DIRAC, IR_INIT_EYE,
    IR_INIT_DATA,           /* the values themselves (values([...]), bilinear_upsample(), from_file()):
                               no runtime kind, the emitted init copies them (elab_init_data.c) */
} ir_init_kind;

typedef struct ir_init {
    ir_init_kind kind;
    double a, b;            /* constant: a; normal, trunc_normal: mean a, std b; uniform: low a, high b;
                               sparse: sparsity a (emitted as the zeros per
                               column), std b; dirac: groups a */
    int64_t fan_in, fan_out;/* resolved at elaboration (from the shape or given) */
    double gain;            /* multiplier, defaults resolved by elab_init.c (sqrt(2) for He, 1 for Xavier) */
    double lo, hi;          /* trunc_normal: the values' range [lo, hi], absolute */
    const float *data;      /* DATA: the parameter's numel values, row-major (arena) */
} ir_init;

typedef struct ir_param {
    const char *name;       /* hierarchical: "fc1.weight", "layer1.0.bn.running_mean" */
    ir_shape shape;         /* constant dims only */
    ir_init init;
    int trainable;          /* 0 for buffers (running stats) and frozen params */
    int frozen_by_name;     /* a param made untrainable by the train section's `freeze` */
    src_loc loc;            /* the declaration */
    src_loc site;           /* where the user's file declared it: loc, or the call into the stdlib */
    int state;              /* a buffer shaped [N, ...] (the batch first): state carried from one training
                               step to the next, stored at max_batch, reset to its constant initializer by
                               <model>_reset_state, never saved; its other dims are constants */
} ir_param;

typedef struct ir_module {
    arena *ar;
    const char *name;
    ir_param *params;
    int n_params, cap_params;
    strmap param_index;     /* name -> index + 1 (ir_module_find_param) */
    ir_symbol syms[IR_MAX_SYMS];
    int n_syms;
    ir_graph *forward;      /* eval mode: inputs x -> outputs */
    ir_graph *eval_step;    /* eval mode: inputs x, label -> outputs, loss */
    ir_graph *train_step;   /* train mode: inputs x, label -> loss, grads, state updates */
    struct train_config *train; /* NULL when the file has no train section for this model */
    struct ir_graph **bodies;   /* loop bodies: ir_attrs.scan.body indexes this (ops_scan.h) */
    int n_bodies, cap_bodies;
} ir_module;

/* ---- op table access (ops.c) ------------------------------------------ */
typedef struct ad_ctx ad_ctx;
typedef struct emit_ctx emit_ctx;

typedef struct ir_op_info {
    const char *name;
    int arity;
    ir_kind kind;
    ir_family family;       /* whose interp_/emit_/print_ functions compute it (op_families.def) */
    const char *c_expr;
    /* Sets n->dtype and n->shape from the inputs and attributes. On failure
     * writes a message into err (optionally "...\nhint: ...") and returns 0. */
    int (*shape)(ir_node *n, char *err, int errlen);
    /* Reverse mode: given the output gradient gy, adds each input's
     * contribution with ad_accum(). Formulas over primitive ops. NULL = not
     * differentiable (error if a gradient must flow through it). */
    void (*vjp)(ad_ctx *c, ir_node *n, ir_node *gy);
    /* Cost of one evaluation, with symbols at the given values. */
    double (*flops)(const ir_node *n, const int64_t *sym_values);
} ir_op_info;

extern const ir_op_info ir_ops[OP__COUNT];

/* ---- modules and graphs (ir.c) ------------------------------------------ */
ir_module *ir_module_new(arena *a, const char *name);
int ir_module_add_param(ir_module *m, const char *name, ir_shape shape, ir_init init, int trainable, src_loc loc);
int ir_module_find_param(const ir_module *m, const char *name); /* -1 if absent */
ir_graph *ir_graph_new(ir_module *m, const char *name, ir_mode mode);
/* A new loop body of m (not one of forward/eval_step/train_step): its index. */
int ir_module_add_body(ir_module *m, ir_graph *body);

/* Append a node: runs the op's shape rule. On a shape error reports it at loc
 * through d and returns NULL (callers propagate NULL). `a` may be NULL. */
ir_node *ir_add(ir_graph *g, diag_ctx *d, src_loc loc, ir_opcode op, ir_node *const *in, int nin, const ir_attrs *a);
/* Conveniences over ir_add for passes that cannot fail (autodiff); they abort
 * with an internal-error message if the shape rule rejects them. */
ir_node *ir_un(ir_graph *g, ir_opcode op, ir_node *x);
ir_node *ir_bin(ir_graph *g, ir_opcode op, ir_node *x, ir_node *y);
ir_node *ir_op_attrs(ir_graph *g, ir_opcode op, ir_node *const *in, int nin, const ir_attrs *a);
ir_node *ir_const(ir_graph *g, double value, const ir_shape *shape); /* shape NULL = scalar */
ir_node *ir_reshape(ir_graph *g, ir_node *x, const ir_shape *shape);
ir_node *ir_broadcast(ir_graph *g, ir_node *x, const ir_shape *shape);
ir_node *ir_reduce_sum(ir_graph *g, ir_node *x, uint32_t axes, int keepdims);
ir_node *ir_input_node(ir_graph *g, const char *name, ir_dtype dt, const ir_shape *shape, src_loc loc);
ir_node *ir_param_node(ir_graph *g, int param_index, src_loc loc);
void ir_add_output(ir_graph *g, ir_out_kind kind, int index, const char *name, ir_node *node);
/* a[0..rank-1] @ b, with the last two dims of a/b transposed when ta/tb. */
ir_node *ir_matmul(ir_graph *g, ir_node *a, ir_node *b, int ta, int tb);
/* rand_uniform / rand_normal of `shape`, random stream `stream`. */
ir_node *ir_rand(ir_graph *g, ir_opcode op, int64_t stream, const ir_shape *shape);

/* Ops whose result shape is not a function of their inputs (constant,
 * reshape, broadcast_to, rand_*) carry the target shape in their integer
 * attributes, so ir_add and ir_verify can infer/re-check it like any other:
 * i[first .. first+rank-1] hold one packed dim each (ir_dim_pack) and
 * ni = first + rank. `first` is 0 for constant/reshape/broadcast_to and 1 for
 * rand_* (whose i[0] is the stream id). The ir_const/ir_reshape/ir_broadcast/
 * ir_rand builders fill these in; only elaboration-free code needs this. */
int64_t ir_dim_pack(ir_dim d);          /* k | syms << 48 (k < 2^48) */
ir_dim ir_dim_unpack(int64_t packed);
void ir_attrs_set_shape(ir_attrs *a, int first, const ir_shape *s);
int ir_attrs_get_shape(const ir_attrs *a, int first, ir_shape *s); /* 0 if malformed */

/* Redirect every use of `from` (node inputs and graph outputs) to `to`.
 * Passes use it to replace a value; `to` must precede all uses. */
void ir_replace_uses(ir_graph *g, ir_node *from, ir_node *to);

/* ---- shapes ------------------------------------------------------------- */
ir_dim ir_dim_const(int64_t k);
ir_dim ir_dim_sym(int sym);
int ir_dim_eq(ir_dim a, ir_dim b);
int ir_dim_is_const(ir_dim a);
ir_dim ir_dim_mul(ir_dim a, ir_dim b);
int64_t ir_dim_eval(ir_dim a, const int64_t *sym_values);
ir_dim ir_shape_numel(const ir_shape *s);
int ir_shape_eq(const ir_shape *a, const ir_shape *b);
/* NumPy broadcasting of a and b into out; 0 if incompatible. */
int ir_broadcast_shapes(const ir_shape *a, const ir_shape *b, ir_shape *out);
/* "f32[N, 784]" into buf, using the module's symbol names (m may be NULL:
 * symbol 0 is N, 1 is T, others S2, S3, ...). */
const char *ir_shape_str(char *buf, int len, ir_dtype dt, const ir_shape *s, const ir_module *m);
/* "N", "784", "4*N*T" into buf. */
const char *ir_dim_str(char *buf, int len, ir_dim d, const ir_module *m);

/* ---- utilities ---------------------------------------------------------- */
void ir_print_graph(FILE *out, const ir_graph *g);
void ir_print_module(FILE *out, const ir_module *m);
/* Checks structural invariants (topological order, arity, shapes re-inferred
 * equal). Returns 0 and prints to stderr on a violation. Run after each pass
 * in debug builds and in tests. */
int ir_verify(const ir_graph *g);
void ir_count_uses(ir_graph *g);

#endif
