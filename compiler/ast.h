/* ast.h — the syntax tree produced by the parser (grammar/dln.y).
 *
 * The tree is deliberately close to the source: pipelines (`a |> f(b)`) are
 * desugared by the parser into calls (`f(a, b)`), everything else is kept as
 * written so that elaboration can report errors at the exact span. All nodes
 * live in the compiler arena. Lists are (items, count) pairs. */
#ifndef DLNC_AST_H
#define DLNC_AST_H
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "diag.h"

typedef struct ast_expr ast_expr;
typedef struct ast_stmt ast_stmt;

typedef enum ast_expr_kind {
    AST_INT,     /* 42            ival */
    AST_FLOAT,   /* 1e-3          fval */
    AST_BOOL,    /* true / false  ival */
    AST_STRING,  /* "path"        sval (unescaped) */
    AST_NAME,    /* x             name */
    AST_LIST,    /* [a, b, c]     items / n_items (also used for tuples `(a, b)`) */
    AST_CALL,    /* f(a, k = b)   name (callee), args / n_args */
    AST_BINARY,  /* a op b        op, lhs, rhs */
    AST_UNARY,   /* -a, not a     op, lhs */
    AST_MEMBER,  /* a.b           lhs, name   (reserved: module access, attributes) */
    AST_INDEX,   /* a[i, j:k]     lhs, items  (reserved: slicing, issue 3) */
    AST_SLICE,   /* i:j:k inside an index: items[0..2], NULL for omitted parts */
} ast_expr_kind;

typedef enum ast_op {
    AST_OP_ADD, AST_OP_SUB, AST_OP_MUL, AST_OP_DIV, AST_OP_FLOORDIV, AST_OP_MOD, AST_OP_POW, AST_OP_MATMUL,
    AST_OP_EQ, AST_OP_NE, AST_OP_LT, AST_OP_LE, AST_OP_GT, AST_OP_GE,
    AST_OP_AND, AST_OP_OR, AST_OP_NOT, AST_OP_NEG, AST_OP_POS,
} ast_op;

typedef struct ast_arg {
    const char *name; /* keyword argument name, NULL if positional */
    ast_expr *value;
    src_loc loc;      /* span of the whole argument (including `name =`) */
} ast_arg;

struct ast_expr {
    ast_expr_kind kind;
    src_loc loc;
    int64_t ival;
    double fval;
    const char *sval;
    const char *name;
    ast_op op;
    ast_expr *lhs, *rhs;
    ast_expr **items;
    int n_items;
    ast_arg *args;
    int n_args;
    int from_pipe;    /* AST_CALL built from `a |> f(...)`: args[0] is the piped value */
};

/* Types in signatures: `f32[N, 784]`, `i32[N]`, `f32` (any shape), `int`,
 * `float`, `bool`, `str`. Tensor dimensions are expressions so that `N*T` or
 * `2*units` can be written; a bare name that is not yet bound binds to the
 * actual argument's dimension (pattern matching), see elab.c. */
typedef enum ast_type_kind {
    AST_TY_TENSOR, AST_TY_INT, AST_TY_FLOAT, AST_TY_BOOL, AST_TY_STR,
} ast_type_kind;

typedef enum ast_dtype { AST_DT_F32, AST_DT_I32 } ast_dtype;

typedef struct ast_type {
    ast_type_kind kind;
    ast_dtype dtype;      /* tensors only */
    int has_shape;        /* 0 for a bare `f32` (rank-polymorphic) */
    ast_expr **dims;
    int rank;
    src_loc loc;
    const char *name;     /* a named result `logits: f32[...]` in `-> (...)`; NULL otherwise */
    src_loc name_loc;
} ast_type;

/* A formal parameter of a block/model: `x: f32[N, K]`, `units: int`, `bias: bool = true`. */
typedef struct ast_formal {
    const char *name;
    ast_type *type;       /* may be NULL: untyped (any value) */
    ast_expr *default_value; /* NULL if required */
    src_loc loc;
} ast_formal;

typedef enum ast_stmt_kind {
    AST_ST_ASSIGN,   /* a = e  |  a, b = e          targets / n_targets, value */
    AST_ST_PARAM,    /* param w: f32[u, K] = init    name, type, value (NULL = default init) */
    AST_ST_BUFFER,   /* buffer rm: f32[C] = zeros    non-trainable persistent state (batchnorm) */
    AST_ST_RETURN,   /* return e  |  return a, b    values / n_values */
    AST_ST_IF,       /* if c { } else { }           cond, body, else_body (compile-time) */
    AST_ST_REPEAT,   /* repeat 3 { }  | repeat i in 3 { }   var (may be NULL), value=count, body */
    AST_ST_EXPR,     /* a call used for its effect: update(buffer, value)   value */
    AST_ST_SCAN,     /* ys = scan [reverse] xt in xs, ... carry h, c { }   targets (may be none), scan_vars /
                        values (the sequences), carries, reverse, body */
    AST_ST_YIELD,    /* yield a, b (inside a scan body)   values / n_values */
} ast_stmt_kind;

typedef struct ast_block_body {
    ast_stmt **stmts;
    int n_stmts;
} ast_block_body;

struct ast_stmt {
    ast_stmt_kind kind;
    src_loc loc;
    const char **targets;    /* ASSIGN */
    src_loc *target_locs;
    int n_targets;
    const char *name;        /* PARAM/BUFFER: name; REPEAT: loop variable or NULL */
    ast_type *type;          /* PARAM/BUFFER */
    ast_expr *value;         /* ASSIGN rhs, PARAM init, IF cond, REPEAT count, EXPR */
    ast_expr **values;       /* RETURN */
    int n_values;
    ast_block_body body;     /* IF then / REPEAT body */
    ast_block_body else_body;/* IF else (may be empty); `else if` nests an IF here */
    int frozen;              /* PARAM declared `frozen param ...` (reserved: transfer learning) */
    const char **scan_vars;  /* SCAN: the per-step names, one per sequence in values */
    src_loc *scan_var_locs;
    const char **carries;    /* SCAN: the names carried from step to step */
    src_loc *carry_locs;
    int n_carries;
    int reverse;             /* SCAN: from the last step to the first */
};

/* One `key = expr` line of a train section, or a block `step NAME { key = expr ... }`
 * (key "step", value NULL, the block's settings in sub). */
typedef struct ast_setting {
    const char *key;
    ast_expr *value;
    src_loc loc;
    src_loc key_loc;
    const char *step;         /* `step NAME {...}`: NAME (the model it updates), else NULL */
    src_loc step_loc;
    struct ast_setting *sub;
    int n_sub;
} ast_setting;

typedef enum ast_decl_kind { AST_DECL_BLOCK, AST_DECL_MODEL, AST_DECL_TRAIN } ast_decl_kind;

typedef struct ast_decl {
    ast_decl_kind kind;
    const char *name;        /* block/model name; for train: the model it trains */
    src_loc loc;             /* whole declaration */
    src_loc name_loc;
    ast_formal *formals;     /* BLOCK/MODEL */
    int n_formals;
    ast_type **ret_types;    /* `-> f32[N, 10]` or `-> (f32[..], f32[..])`; may be 0 */
    int n_ret_types;
    ast_block_body body;     /* BLOCK/MODEL */
    ast_setting *settings;   /* TRAIN */
    int n_settings;
} ast_decl;

typedef struct ast_program {
    ast_decl **decls;
    int n_decls;
} ast_program;

/* Constructors used by the parser actions (ast.c). Each copies nothing; the
 * caller passes arena-allocated strings. */
ast_expr *ast_int(arena *a, int64_t v, src_loc loc);
ast_expr *ast_float(arena *a, double v, src_loc loc);
ast_expr *ast_bool(arena *a, int v, src_loc loc);
ast_expr *ast_string(arena *a, const char *s, src_loc loc);
ast_expr *ast_name(arena *a, const char *name, src_loc loc);
ast_expr *ast_binary(arena *a, ast_op op, ast_expr *l, ast_expr *r, src_loc loc);
ast_expr *ast_unary(arena *a, ast_op op, ast_expr *e, src_loc loc);
ast_expr *ast_call(arena *a, const char *callee, ast_arg *args, int n_args, src_loc loc);
/* `lhs |> rhs`: rhs must be a NAME (f) or a CALL (f(b)); returns f(lhs, b...),
 * or NULL if rhs is neither (the parser reports the error). */
ast_expr *ast_pipe(arena *a, ast_expr *lhs, ast_expr *rhs, src_loc loc);

/* Constructors for the rest of the tree (added with the parser). Arrays are
 * arena-allocated by the caller and adopted, not copied. */
ast_expr *ast_list(arena *a, ast_expr **items, int n, src_loc loc);
ast_expr *ast_member(arena *a, ast_expr *lhs, const char *name, src_loc loc);
ast_expr *ast_index(arena *a, ast_expr *lhs, ast_expr **items, int n, src_loc loc);
ast_expr *ast_slice(arena *a, ast_expr *lo, ast_expr *hi, ast_expr *step, src_loc loc);
ast_type *ast_type_tensor(arena *a, ast_dtype dt, int has_shape, ast_expr **dims, int rank, src_loc loc);
ast_type *ast_type_scalar(arena *a, ast_type_kind kind, src_loc loc);
ast_stmt *ast_assign(arena *a, const char **targets, src_loc *target_locs, int n, ast_expr *value, src_loc loc);
ast_stmt *ast_param(arena *a, int frozen, const char *name, ast_type *type, ast_expr *init, src_loc loc);
ast_stmt *ast_buffer(arena *a, const char *name, ast_type *type, ast_expr *init, src_loc loc);
ast_stmt *ast_return(arena *a, ast_expr **values, int n, src_loc loc);
/* A call used as a statement for its effect: `update(running_mean, m)`. */
ast_stmt *ast_expr_stmt(arena *a, ast_expr *call, src_loc loc);
ast_stmt *ast_if(arena *a, ast_expr *cond, ast_block_body then_body, ast_block_body else_body, src_loc loc);
ast_stmt *ast_scan(arena *a, int reverse, const char **vars, src_loc *var_locs, ast_expr **seqs, int n_seqs,
                   const char **carries, src_loc *carry_locs, int n_carries, ast_block_body body, src_loc loc);
ast_stmt *ast_yield(arena *a, ast_expr **values, int n, src_loc loc);
ast_stmt *ast_repeat(arena *a, const char *var, ast_expr *count, ast_block_body body, src_loc loc);
ast_decl *ast_block_decl(arena *a, ast_decl_kind kind, const char *name, src_loc name_loc,
                         ast_formal *formals, int n_formals, ast_type **ret_types, int n_ret_types,
                         ast_block_body body, src_loc loc);
ast_decl *ast_train_decl(arena *a, const char *model, src_loc name_loc, ast_setting *settings,
                         int n_settings, src_loc loc);
void ast_program_add(arena *a, ast_program *p, ast_decl *decl);
/* Print one expression / type as .dln (used in diagnostics and tests). */
void ast_print_expr(FILE *out, const ast_expr *e);
void ast_print_type(FILE *out, const ast_type *t);

const char *ast_op_name(ast_op op);          /* "+", "@", "not", ... */
/* Print the program back as .dln (used by tests and `dlnc --emit=ast`). */
void ast_print(FILE *out, const ast_program *p);

#endif
