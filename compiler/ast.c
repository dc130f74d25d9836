/* ast.c — constructors for the syntax tree, and printing it back as .dln.
 *
 * The parser's actions are one line each because all the work of building a
 * node lives here. The only desugaring the front end does is the pipe:
 * `a |> f(b, k = c)` becomes the call `f(a, b, k = c)` (marked from_pipe so
 * elaboration can word its errors in terms of the pipe).
 *
 * The printer writes canonical .dln: binary and unary expressions fully
 * parenthesized, pipes shown as the calls they became, `else { if ... }` as
 * `else if`, tuples and lists both as `[...]` (one AST_LIST kind). Printing is
 * idempotent — parse(print(parse(x))) prints the same text — which is what the
 * round-trip tests check and what makes `dlnc --emit=ast` trustworthy. */
#include "ast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static ast_expr *ast_new_expr(arena *a, ast_expr_kind kind, src_loc loc) {
    ast_expr *e = ARENA_NEW(a, ast_expr);
    e->kind = kind;
    e->loc = loc;
    return e;
}

ast_expr *ast_int(arena *a, int64_t v, src_loc loc) {
    ast_expr *e = ast_new_expr(a, AST_INT, loc);
    e->ival = v;
    return e;
}

ast_expr *ast_float(arena *a, double v, src_loc loc) {
    ast_expr *e = ast_new_expr(a, AST_FLOAT, loc);
    e->fval = v;
    return e;
}

ast_expr *ast_bool(arena *a, int v, src_loc loc) {
    ast_expr *e = ast_new_expr(a, AST_BOOL, loc);
    e->ival = v != 0;
    return e;
}

ast_expr *ast_string(arena *a, const char *s, src_loc loc) {
    ast_expr *e = ast_new_expr(a, AST_STRING, loc);
    e->sval = s;
    return e;
}

ast_expr *ast_name(arena *a, const char *name, src_loc loc) {
    ast_expr *e = ast_new_expr(a, AST_NAME, loc);
    e->name = name;
    return e;
}

ast_expr *ast_binary(arena *a, ast_op op, ast_expr *l, ast_expr *r, src_loc loc) {
    ast_expr *e = ast_new_expr(a, AST_BINARY, loc);
    e->op = op;
    e->lhs = l;
    e->rhs = r;
    return e;
}

ast_expr *ast_unary(arena *a, ast_op op, ast_expr *x, src_loc loc) {
    ast_expr *e = ast_new_expr(a, AST_UNARY, loc);
    e->op = op;
    e->lhs = x;
    return e;
}

ast_expr *ast_call(arena *a, const char *callee, ast_arg *args, int n_args, src_loc loc) {
    ast_expr *e = ast_new_expr(a, AST_CALL, loc);
    e->name = callee;
    e->args = args;
    e->n_args = n_args;
    return e;
}

ast_expr *ast_pipe(arena *a, ast_expr *lhs, ast_expr *rhs, src_loc loc) {
    if (!lhs || !rhs) return NULL;
    if (rhs->kind != AST_NAME && rhs->kind != AST_CALL) return NULL;
    int n_old = rhs->kind == AST_CALL ? rhs->n_args : 0;
    ast_arg *args = ARENA_NEW_ARRAY(a, ast_arg, n_old + 1);
    args[0] = (ast_arg){NULL, lhs, lhs->loc};
    for (int i = 0; i < n_old; i++) args[i + 1] = rhs->args[i];
    ast_expr *call = ast_call(a, rhs->name, args, n_old + 1, loc);
    call->from_pipe = 1;
    return call;
}

ast_expr *ast_list(arena *a, ast_expr **items, int n, src_loc loc) {
    ast_expr *e = ast_new_expr(a, AST_LIST, loc);
    e->items = items;
    e->n_items = n;
    return e;
}

ast_expr *ast_member(arena *a, ast_expr *lhs, const char *name, src_loc loc) {
    ast_expr *e = ast_new_expr(a, AST_MEMBER, loc);
    e->lhs = lhs;
    e->name = name;
    return e;
}

ast_expr *ast_index(arena *a, ast_expr *lhs, ast_expr **items, int n, src_loc loc) {
    ast_expr *e = ast_new_expr(a, AST_INDEX, loc);
    e->lhs = lhs;
    e->items = items;
    e->n_items = n;
    return e;
}

ast_expr *ast_slice(arena *a, ast_expr *lo, ast_expr *hi, ast_expr *step, src_loc loc) {
    ast_expr *e = ast_new_expr(a, AST_SLICE, loc);
    e->items = ARENA_NEW_ARRAY(a, ast_expr *, 3);
    e->items[0] = lo;
    e->items[1] = hi;
    e->items[2] = step;
    e->n_items = 3;
    return e;
}

ast_type *ast_type_tensor(arena *a, ast_dtype dt, int has_shape, ast_expr **dims, int rank, src_loc loc) {
    ast_type *t = ARENA_NEW(a, ast_type);
    t->kind = AST_TY_TENSOR;
    t->dtype = dt;
    t->has_shape = has_shape;
    t->dims = dims;
    t->rank = rank;
    t->loc = loc;
    return t;
}

ast_type *ast_type_scalar(arena *a, ast_type_kind kind, src_loc loc) {
    ast_type *t = ARENA_NEW(a, ast_type);
    t->kind = kind;
    t->loc = loc;
    return t;
}

static ast_stmt *ast_new_stmt(arena *a, ast_stmt_kind kind, src_loc loc) {
    ast_stmt *s = ARENA_NEW(a, ast_stmt);
    s->kind = kind;
    s->loc = loc;
    return s;
}

ast_stmt *ast_assign(arena *a, const char **targets, src_loc *target_locs, int n, ast_expr *value, src_loc loc) {
    ast_stmt *s = ast_new_stmt(a, AST_ST_ASSIGN, loc);
    s->targets = targets;
    s->target_locs = target_locs;
    s->n_targets = n;
    s->value = value;
    return s;
}

ast_stmt *ast_param(arena *a, int frozen, const char *name, ast_type *type, ast_expr *init, src_loc loc) {
    ast_stmt *s = ast_new_stmt(a, AST_ST_PARAM, loc);
    s->frozen = frozen;
    s->name = name;
    s->type = type;
    s->value = init;
    return s;
}

ast_stmt *ast_buffer(arena *a, const char *name, ast_type *type, ast_expr *init, src_loc loc) {
    ast_stmt *s = ast_new_stmt(a, AST_ST_BUFFER, loc);
    s->name = name;
    s->type = type;
    s->value = init;
    return s;
}

ast_stmt *ast_return(arena *a, ast_expr **values, int n, src_loc loc) {
    ast_stmt *s = ast_new_stmt(a, AST_ST_RETURN, loc);
    s->values = values;
    s->n_values = n;
    return s;
}

ast_stmt *ast_expr_stmt(arena *a, ast_expr *call, src_loc loc) {
    ast_stmt *s = ast_new_stmt(a, AST_ST_EXPR, loc);
    s->value = call;
    return s;
}

ast_stmt *ast_if(arena *a, ast_expr *cond, ast_block_body then_body, ast_block_body else_body, src_loc loc) {
    ast_stmt *s = ast_new_stmt(a, AST_ST_IF, loc);
    s->value = cond;
    s->body = then_body;
    s->else_body = else_body;
    return s;
}

ast_stmt *ast_repeat(arena *a, const char *var, ast_expr *count, ast_block_body body, src_loc loc) {
    ast_stmt *s = ast_new_stmt(a, AST_ST_REPEAT, loc);
    s->name = var;
    s->value = count;
    s->body = body;
    return s;
}

ast_stmt *ast_scan(arena *a, int reverse, const char **vars, src_loc *var_locs, ast_expr **seqs, int n_seqs,
                   const char **carries, src_loc *carry_locs, int n_carries, ast_block_body body, src_loc loc) {
    ast_stmt *s = ast_new_stmt(a, AST_ST_SCAN, loc);
    s->reverse = reverse;
    s->scan_vars = vars;
    s->scan_var_locs = var_locs;
    s->values = seqs;
    s->n_values = n_seqs;
    s->carries = carries;
    s->carry_locs = carry_locs;
    s->n_carries = n_carries;
    s->body = body;
    return s;
}

ast_stmt *ast_yield(arena *a, ast_expr **values, int n, src_loc loc) {
    ast_stmt *s = ast_new_stmt(a, AST_ST_YIELD, loc);
    s->values = values;
    s->n_values = n;
    return s;
}

ast_decl *ast_block_decl(arena *a, ast_decl_kind kind, const char *name, src_loc name_loc,
                         ast_formal *formals, int n_formals, ast_type **ret_types, int n_ret_types,
                         ast_block_body body, src_loc loc) {
    ast_decl *d = ARENA_NEW(a, ast_decl);
    d->kind = kind;
    d->name = name;
    d->name_loc = name_loc;
    d->formals = formals;
    d->n_formals = n_formals;
    d->ret_types = ret_types;
    d->n_ret_types = n_ret_types;
    d->body = body;
    d->loc = loc;
    return d;
}

ast_decl *ast_train_decl(arena *a, const char *model, src_loc name_loc, ast_setting *settings,
                         int n_settings, src_loc loc) {
    ast_decl *d = ARENA_NEW(a, ast_decl);
    d->kind = AST_DECL_TRAIN;
    d->name = model;
    d->name_loc = name_loc;
    d->settings = settings;
    d->n_settings = n_settings;
    d->loc = loc;
    return d;
}

void ast_program_add(arena *a, ast_program *p, ast_decl *decl) {
    /* ast_program has no capacity field: the capacity is implied by the count
     * (8, then doubling), so growing happens exactly at 0 and at powers of two. */
    int n = p->n_decls;
    if (n == 0 || (n >= 8 && (n & (n - 1)) == 0)) {
        int old_cap = n == 0 ? 0 : n, new_cap = n == 0 ? 8 : 2 * n;
        p->decls = arena_grow(a, p->decls, sizeof(ast_decl *), old_cap, new_cap);
    }
    p->decls[p->n_decls++] = decl;
}

const char *ast_op_name(ast_op op) {
    switch (op) {
    case AST_OP_ADD: return "+";
    case AST_OP_SUB: return "-";
    case AST_OP_MUL: return "*";
    case AST_OP_DIV: return "/";
    case AST_OP_FLOORDIV: return "//";
    case AST_OP_MOD: return "%";
    case AST_OP_POW: return "**";
    case AST_OP_MATMUL: return "@";
    case AST_OP_EQ: return "==";
    case AST_OP_NE: return "!=";
    case AST_OP_LT: return "<";
    case AST_OP_LE: return "<=";
    case AST_OP_GT: return ">";
    case AST_OP_GE: return ">=";
    case AST_OP_AND: return "and";
    case AST_OP_OR: return "or";
    case AST_OP_NOT: return "not";
    case AST_OP_NEG: return "-";
    case AST_OP_POS: return "+";
    }
    return "?";
}

/* ---- printing ---------------------------------------------------------- */

static void ast_print_float(FILE *out, double v) {
    char buf[64];
    if (isinf(v) || isnan(v)) { /* not writable in .dln; the lexer never makes these */
        fputs(isnan(v) ? "nan" : v > 0 ? "inf" : "-inf", out);
        return;
    }
    /* Shortest of %.15g/%.17g that reads back exactly, always with '.' or 'e'
     * so it re-lexes as a float. */
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, sizeof buf, "%.17g", v);
    fputs(buf, out);
    if (!strpbrk(buf, ".en")) fputs(".0", out);
}

static void ast_print_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; s && *s; s++) {
        switch (*s) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\t': fputs("\\t", out); break;
        default: fputc(*s, out);
        }
    }
    fputc('"', out);
}

static void print_expr(FILE *out, const ast_expr *e, int depth);

static void ast_print_args(FILE *out, const ast_arg *args, int n, int depth) {
    for (int i = 0; i < n; i++) {
        if (i) fputs(", ", out);
        if (args[i].name) fprintf(out, "%s = ", args[i].name);
        print_expr(out, args[i].value, depth);
    }
}

static void ast_print_exprs(FILE *out, ast_expr *const *items, int n, int depth) {
    for (int i = 0; i < n; i++) {
        if (i) fputs(", ", out);
        print_expr(out, items[i], depth);
    }
}

/* Deep trees come from long left-associative chains (x + x + ... with no
 * parentheses for the parser to bound); elaboration rejects them, and the
 * dump stops descending instead of overflowing the stack. */
enum { AST_PRINT_MAX_DEPTH = 1000 };

void ast_print_expr(FILE *out, const ast_expr *e) { print_expr(out, e, 0); }

static void print_expr(FILE *out, const ast_expr *e, int depth) {
    if (!e) {
        fputs("<missing>", out);
        return;
    }
    if (++depth > AST_PRINT_MAX_DEPTH) {
        fputs("<nested too deeply>", out);
        return;
    }
    switch (e->kind) {
    case AST_INT: fprintf(out, "%lld", (long long)e->ival); break;
    case AST_FLOAT: ast_print_float(out, e->fval); break;
    case AST_BOOL: fputs(e->ival ? "true" : "false", out); break;
    case AST_STRING: ast_print_string(out, e->sval); break;
    case AST_NAME: fputs(e->name, out); break;
    case AST_LIST:
        fputc('[', out);
        ast_print_exprs(out, e->items, e->n_items, depth);
        fputc(']', out);
        break;
    case AST_CALL:
        fprintf(out, "%s(", e->name);
        ast_print_args(out, e->args, e->n_args, depth);
        fputc(')', out);
        break;
    case AST_BINARY:
        fputc('(', out);
        print_expr(out, e->lhs, depth);
        fprintf(out, " %s ", ast_op_name(e->op));
        print_expr(out, e->rhs, depth);
        fputc(')', out);
        break;
    case AST_UNARY:
        fprintf(out, e->op == AST_OP_NOT ? "(%s " : "(%s", ast_op_name(e->op));
        print_expr(out, e->lhs, depth);
        fputc(')', out);
        break;
    case AST_MEMBER:
        print_expr(out, e->lhs, depth);
        fprintf(out, ".%s", e->name);
        break;
    case AST_INDEX:
        print_expr(out, e->lhs, depth);
        fputc('[', out);
        ast_print_exprs(out, e->items, e->n_items, depth);
        fputc(']', out);
        break;
    case AST_SLICE:
        if (e->items[0]) print_expr(out, e->items[0], depth);
        fputc(':', out);
        if (e->items[1]) print_expr(out, e->items[1], depth);
        if (e->items[2]) {
            fputc(':', out);
            print_expr(out, e->items[2], depth);
        }
        break;
    }
}

void ast_print_type(FILE *out, const ast_type *t) {
    switch (t->kind) {
    case AST_TY_TENSOR:
        fputs(t->dtype == AST_DT_I32 ? "i32" : "f32", out);
        if (t->has_shape) {
            fputc('[', out);
            ast_print_exprs(out, t->dims, t->rank, 0);
            fputc(']', out);
        }
        break;
    case AST_TY_INT: fputs("int", out); break;
    case AST_TY_FLOAT: fputs("float", out); break;
    case AST_TY_BOOL: fputs("bool", out); break;
    case AST_TY_STR: fputs("str", out); break;
    }
}

static void ast_indent(FILE *out, int depth) {
    for (int i = 0; i < depth; i++) fputs("    ", out);
}

static void ast_print_body(FILE *out, ast_block_body body, int depth);

static void ast_print_if_tail(FILE *out, const ast_stmt *s, int depth) {
    fputs("if ", out);
    ast_print_expr(out, s->value);
    fputs(" {\n", out);
    ast_print_body(out, s->body, depth + 1);
    ast_indent(out, depth);
    fputc('}', out);
    if (s->else_body.n_stmts == 1 && s->else_body.stmts[0]->kind == AST_ST_IF) {
        fputs(" else ", out);
        ast_print_if_tail(out, s->else_body.stmts[0], depth);
    } else if (s->else_body.n_stmts > 0) {
        fputs(" else {\n", out);
        ast_print_body(out, s->else_body, depth + 1);
        ast_indent(out, depth);
        fputc('}', out);
    }
}

static void ast_print_stmt(FILE *out, const ast_stmt *s, int depth) {
    ast_indent(out, depth);
    switch (s->kind) {
    case AST_ST_ASSIGN:
        for (int i = 0; i < s->n_targets; i++) fprintf(out, "%s%s", i ? ", " : "", s->targets[i]);
        fputs(" = ", out);
        ast_print_expr(out, s->value);
        break;
    case AST_ST_PARAM:
    case AST_ST_BUFFER:
        fprintf(out, "%s%s %s: ", s->frozen ? "frozen " : "", s->kind == AST_ST_PARAM ? "param" : "buffer",
                s->name);
        ast_print_type(out, s->type);
        if (s->value) {
            fputs(" = ", out);
            ast_print_expr(out, s->value);
        }
        break;
    case AST_ST_RETURN:
        fputs("return ", out);
        ast_print_exprs(out, s->values, s->n_values, 0);
        break;
    case AST_ST_IF: ast_print_if_tail(out, s, depth); break;
    case AST_ST_REPEAT:
        fputs("repeat ", out);
        if (s->name) fprintf(out, "%s in ", s->name);
        ast_print_expr(out, s->value);
        fputs(" {\n", out);
        ast_print_body(out, s->body, depth + 1);
        ast_indent(out, depth);
        fputc('}', out);
        break;
    case AST_ST_EXPR: ast_print_expr(out, s->value); break;
    case AST_ST_YIELD:
        fputs("yield ", out);
        ast_print_exprs(out, s->values, s->n_values, 0);
        break;
    case AST_ST_SCAN:
        for (int i = 0; i < s->n_targets; i++) fprintf(out, "%s%s", i ? ", " : "", s->targets[i]);
        fputs(s->n_targets ? " = scan " : "scan ", out);
        if (s->reverse) fputs("reverse ", out);
        for (int i = 0; i < s->n_values; i++) {
            fprintf(out, "%s%s in ", i ? ", " : "", s->scan_vars[i]);
            ast_print_expr(out, s->values[i]);
        }
        for (int i = 0; i < s->n_carries; i++) fprintf(out, "%s%s", i ? ", " : " carry ", s->carries[i]);
        fputs(" {\n", out);
        ast_print_body(out, s->body, depth + 1);
        ast_indent(out, depth);
        fputc('}', out);
        break;
    }
    fputc('\n', out);
}

static void ast_print_body(FILE *out, ast_block_body body, int depth) {
    for (int i = 0; i < body.n_stmts; i++) ast_print_stmt(out, body.stmts[i], depth);
}

static void ast_print_decl(FILE *out, const ast_decl *d) {
    if (d->kind == AST_DECL_TRAIN) {
        fprintf(out, "train %s {\n", d->name);
        for (int i = 0; i < d->n_settings; i++) {
            const ast_setting *s = &d->settings[i];
            if (s->step) {
                fprintf(out, "    %s %s {\n", s->key, s->step);
                for (int j = 0; j < s->n_sub; j++) {
                    fprintf(out, "        %s = ", s->sub[j].key);
                    if (s->sub[j].value) ast_print_expr(out, s->sub[j].value);
                    fputc('\n', out);
                }
                fputs("    }\n", out);
                continue;
            }
            fprintf(out, "    %s = ", s->key);
            ast_print_expr(out, s->value);
            fputc('\n', out);
        }
        fputs("}\n", out);
        return;
    }
    fprintf(out, "%s %s(", d->kind == AST_DECL_MODEL ? "model" : "block", d->name);
    for (int i = 0; i < d->n_formals; i++) {
        const ast_formal *f = &d->formals[i];
        fprintf(out, "%s%s", i ? ", " : "", f->name);
        if (f->type) {
            fputs(": ", out);
            ast_print_type(out, f->type);
        }
        if (f->default_value) {
            fputs(" = ", out);
            ast_print_expr(out, f->default_value);
        }
    }
    fputc(')', out);
    if (d->n_ret_types == 1) {
        fputs(" -> ", out);
        ast_print_type(out, d->ret_types[0]);
    } else if (d->n_ret_types > 1) {
        fputs(" -> (", out);
        for (int i = 0; i < d->n_ret_types; i++) {
            if (i) fputs(", ", out);
            if (d->ret_types[i]->name) fprintf(out, "%s: ", d->ret_types[i]->name);
            ast_print_type(out, d->ret_types[i]);
        }
        fputc(')', out);
    }
    fputs(" {\n", out);
    ast_print_body(out, d->body, 1);
    fputs("}\n", out);
}

void ast_print(FILE *out, const ast_program *p) {
    for (int i = 0; i < p->n_decls; i++) {
        if (i) fputc('\n', out);
        ast_print_decl(out, p->decls[i]);
    }
}
