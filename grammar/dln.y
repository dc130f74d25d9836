/* dln.y — the .dln grammar (Bison).
 *
 * Why it looks like this: the grammar is the reference for the syntax, so it
 * is kept thin — every action is one call to an ast.c constructor or a list
 * push — and stratified by precedence level (pipe < or < and < not <
 * comparison < + - < * / @ < unary < ** < postfix < primary) instead of using
 * %left/%right, so that `%expect 0` holds without any precedence tricks and
 * the table reads top to bottom like the reference in docs/language.md.
 *
 * The language has no statement separators: a statement never starts with a
 * token that could continue an expression, so `y = x` followed by `z = y`
 * needs no newline or `;` (an optional `;` is accepted anywhere between
 * statements and settings).
 *
 * Syntax errors go through yyreport_syntax_error (parse.error custom) which
 * words them like GCC ("expected ')' before '{'", "expected expression before
 * 'return'", "unexpected 'else'") using the exact expected-token sets that LAC
 * provides. Recovery happens at three levels — statements, train settings and
 * declarations — via `error` rules, so one file can report several errors. */

%define api.pure full
%define api.location.type {src_loc}
%define api.token.prefix {TOK_}
%define parse.error custom
%define parse.lac full
%locations
%expect 0

%parse-param {yyscan_t scanner} {dln_parse_ctx *P}
%lex-param {yyscan_t scanner}

%code requires {
#include <stdint.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* Shared state of one parse: the parser's %parse-param and the lexer's extra. */
typedef struct dln_parse_ctx {
    arena *arena;
    diag_ctx *diag;
    const char *file;       /* registered name, goes into every src_loc */
    ast_program *program;   /* declarations are added as they are reduced */
    int line, col;          /* lexer: position of the next character */
    src_loc last_tok;       /* lexer: last token returned (end-of-file errors point after it) */
    char tok_text[40];      /* lexer: spelling of the last token, for "before 'x'" */
    int tok_first_on_line;  /* lexer: the last token starts its line */
    int tok_after_lex_error;/* lexer: the last token directly follows a lexical error (DLN_LEXERR_*) */
    int lex_error_pending;  /* lexer: a lexical error was reported, no token since (DLN_LEXERR_*) */
    int skip_line;          /* error recovery: drop the rest of this line (0 = off) */
    int skip_depth;         /* error recovery: '{' dropped and not yet closed */
} dln_parse_ctx;

/* Kinds of lexical error, for deciding whether the next syntax error is noise. */
enum { DLN_LEXERR_NONE, DLN_LEXERR_CHAR /* a skipped character */, DLN_LEXERR_STRING /* a string that ate its line */ };

/* Growable lists used while reducing; turned into (items, count) pairs. */
typedef struct { ast_expr **items; int n, cap; } dln_expr_vec;
typedef struct { ast_arg *items; int n, cap; int has_keyword; } dln_arg_vec;
typedef struct { ast_stmt **items; int n, cap; } dln_stmt_vec;
typedef struct { const char **items; src_loc *locs; int n, cap; } dln_name_vec;
typedef struct { ast_type **items; int n, cap; } dln_type_vec;
typedef struct { ast_formal *items; int n, cap; } dln_formal_vec;
typedef struct { ast_setting *items; int n, cap; } dln_setting_vec;
typedef struct { dln_name_vec names; dln_expr_vec exprs; } dln_pair_vec;

/* Bison passes the locations of the rule's symbols as rhs[1..n], rhs[0] being
 * the symbol just before the rule. */
#define YYLLOC_DEFAULT(Cur, Rhs, N) ((Cur) = dln_loc_default((Rhs), (N)))
src_loc dln_loc_default(const src_loc *rhs, int n);
}

%union {
    int64_t ival;
    double fval;
    const char *str;
    ast_op op;
    ast_expr *expr;
    ast_type *type;
    ast_stmt *stmt;
    ast_decl *decl;
    ast_arg arg;
    ast_formal formal;
    ast_setting setting;
    ast_block_body body;
    dln_expr_vec exprs;
    dln_arg_vec args;
    dln_stmt_vec stmts;
    dln_name_vec names;
    dln_type_vec types;
    dln_formal_vec formals;
    dln_setting_vec settings;
    dln_pair_vec pairs;
}

%code {
#include "lex.yy.h"

#define A (P->arena)
#define VPUSH(v, x) ARENA_PUSH(A, (v).items, (v).n, (v).cap, (x))

static void yyerror(const src_loc *loc, yyscan_t scanner, dln_parse_ctx *P, const char *msg);
static ast_expr *dln_pipe(dln_parse_ctx *P, ast_expr *lhs, ast_expr *rhs, src_loc loc);
static dln_arg_vec dln_args_push(dln_parse_ctx *P, dln_arg_vec v, ast_arg arg);
static dln_name_vec dln_names_push(dln_parse_ctx *P, dln_name_vec v, const char *name, src_loc loc);
static ast_expr *dln_tuple(dln_parse_ctx *P, ast_expr *first, dln_expr_vec rest, src_loc loc);
static ast_block_body dln_body(dln_stmt_vec v) { return (ast_block_body){v.items, v.n}; }
static ast_block_body dln_body1(dln_parse_ctx *P, ast_stmt *s);
}

%initial-action { @$ = (src_loc){P->file, 1, 1, 1, 1}; }

%token <str>  NAME "name" STRING "string"
%token <ival> INT "integer"
%token <fval> FLOAT "number"
%token BLOCK "block" MODEL "model" TRAIN "train" PARAM "param" BUFFER "buffer"
       FROZEN "frozen" RETURN "return" IF "if" ELSE "else" REPEAT "repeat" IN "in"
       SCAN "scan" CARRY "carry" YIELD "yield"
       AND "and" OR "or" NOT "not" TRUE "true" FALSE "false"
       F32 "f32" I32 "i32" KW_INT "int" KW_FLOAT "float" KW_BOOL "bool" KW_STR "str"
%token PIPE "|>" ARROW "->" EQ "==" NE "!=" LE "<=" GE ">=" LT "<" GT ">" POW "**" FLOORDIV "//" PERCENT "%"
       PLUS "+" MINUS "-" STAR "*" SLASH "/" AT "@" ASSIGN "=" COMMA "," COLON ":"
       SEMI ";" DOT "." LPAREN "(" RPAREN ")" LBRACKET "[" RBRACKET "]"
       LBRACE "{" RBRACE "}"

%type <decl> decl
%type <formals> formals formal_list
%type <formal> formal
%type <type> type type_opt
%type <types> ret_opt type_list
%type <type> ret_type
%type <stmts> stmts
%type <stmt> stmt if_stmt scan_stmt
%type <names> carry_opt
%type <pairs> scan_pairs
%type <body> else_opt
%type <names> names
%type <settings> settings
%type <setting> setting
%type <expr> expr pipe or_expr and_expr not_expr comparison sum term unary power postfix primary
%type <expr> init_opt index_item opt_expr
%type <exprs> expr_list index_items
%type <args> args arg_list
%type <arg> arg
%type <op> cmp_op

%%

program
    : %empty
    | program decl                      { ast_program_add(A, P->program, $2); }
    | program error
    ;

decl
    : "block" NAME "(" formals ")" ret_opt "{" stmts "}"
        { $$ = ast_block_decl(A, AST_DECL_BLOCK, $2, @2, $4.items, $4.n, $6.items, $6.n, dln_body($8), @$); }
    | "model" NAME "(" formals ")" ret_opt "{" stmts "}"
        { $$ = ast_block_decl(A, AST_DECL_MODEL, $2, @2, $4.items, $4.n, $6.items, $6.n, dln_body($8), @$); }
    | "train" NAME "{" settings "}"     { $$ = ast_train_decl(A, $2, @2, $4.items, $4.n, @$); }
    ;

formals
    : %empty                            { $$ = (dln_formal_vec){0}; }
    | formal_list
    | formal_list ","
    ;

formal_list
    : formal                            { $$ = (dln_formal_vec){0}; VPUSH($$, $1); }
    | formal_list "," formal            { $$ = $1; VPUSH($$, $3); }
    ;

formal
    : NAME type_opt init_opt            { $$ = (ast_formal){$1, $2, $3, @$}; }
    ;

type_opt
    : %empty                            { $$ = NULL; }
    | ":" type                          { $$ = $2; }
    ;

init_opt
    : %empty                            { $$ = NULL; }
    | "=" expr                          { $$ = $2; }
    ;

type
    : "f32"                             { $$ = ast_type_tensor(A, AST_DT_F32, 0, NULL, 0, @$); }
    | "i32"                             { $$ = ast_type_tensor(A, AST_DT_I32, 0, NULL, 0, @$); }
    | "f32" "[" "]"                     { $$ = ast_type_tensor(A, AST_DT_F32, 1, NULL, 0, @$); }
    | "i32" "[" "]"                     { $$ = ast_type_tensor(A, AST_DT_I32, 1, NULL, 0, @$); }
    | "f32" "[" expr_list "]"           { $$ = ast_type_tensor(A, AST_DT_F32, 1, $3.items, $3.n, @$); }
    | "i32" "[" expr_list "]"           { $$ = ast_type_tensor(A, AST_DT_I32, 1, $3.items, $3.n, @$); }
    | "int"                             { $$ = ast_type_scalar(A, AST_TY_INT, @$); }
    | "float"                           { $$ = ast_type_scalar(A, AST_TY_FLOAT, @$); }
    | "bool"                            { $$ = ast_type_scalar(A, AST_TY_BOOL, @$); }
    | "str"                             { $$ = ast_type_scalar(A, AST_TY_STR, @$); }
    ;

ret_opt
    : %empty                            { $$ = (dln_type_vec){0}; }
    | "->" type                         { $$ = (dln_type_vec){0}; VPUSH($$, $2); }
    | "->" "(" type_list ")"            { $$ = $3; }
    ;

type_list
    : ret_type                          { $$ = (dln_type_vec){0}; VPUSH($$, $1); }
    | type_list "," ret_type            { $$ = $1; VPUSH($$, $3); }
    ;

/* A result of a tuple return may be named (a model's outputs): `logits: f32[N, 10]`. */
ret_type
    : type
    | NAME ":" type                     { $$ = $3; $$->name = $1; $$->name_loc = @1; }
    ;

stmts
    : %empty                            { $$ = (dln_stmt_vec){0}; }
    | stmts stmt                        { $$ = $1; VPUSH($$, $2); }
    | stmts ";"                         { $$ = $1; }
    | stmts error                       { $$ = $1; }
    ;

stmt
    : names "=" expr                    { $$ = ast_assign(A, $1.items, $1.locs, $1.n, $3, @$); }
    | "param" NAME ":" type init_opt    { $$ = ast_param(A, 0, $2, $4, $5, @$); }
    | "frozen" "param" NAME ":" type init_opt { $$ = ast_param(A, 1, $3, $5, $6, @$); }
    | "buffer" NAME ":" type init_opt   { $$ = ast_buffer(A, $2, $4, $5, @$); }
    | "return" expr_list                { $$ = ast_return(A, $2.items, $2.n, @$); }
    | NAME "(" args ")"                 { $$ = ast_expr_stmt(A, ast_call(A, $1, $3.items, $3.n, @$), @$); }
    | if_stmt
    | "repeat" expr "{" stmts "}"       { $$ = ast_repeat(A, NULL, $2, dln_body($4), @$); }
    | "repeat" NAME "in" expr "{" stmts "}" { $$ = ast_repeat(A, $2, $4, dln_body($6), @$); }
    | scan_stmt
    | names "=" scan_stmt               { $$ = $3; $$->targets = $1.items; $$->target_locs = $1.locs;
                                          $$->n_targets = $1.n; $$->loc = @$; }
    | "yield" expr_list                 { $$ = ast_yield(A, $2.items, $2.n, @$); }
    ;

/* scan xt in xs, mt in mask carry h, c { ... yield y }: the loop over axis 1 */
scan_stmt
    : "scan" scan_pairs carry_opt "{" stmts "}"
        { $$ = ast_scan(A, 0, $2.names.items, $2.names.locs, $2.exprs.items, $2.exprs.n, $3.items, $3.locs, $3.n,
                        dln_body($5), @$); }
    /* `reverse` is a word only here, so it stays free as a name elsewhere */
    | "scan" NAME scan_pairs carry_opt "{" stmts "}"
        { if (strcmp($2, "reverse") != 0)
              diag_error(P->diag, @2, "expected 'reverse' or 'NAME in SEQUENCE' after 'scan', got '%s'", $2);
          $$ = ast_scan(A, 1, $3.names.items, $3.names.locs, $3.exprs.items, $3.exprs.n, $4.items, $4.locs, $4.n,
                        dln_body($6), @$); }
    ;

/* `xt in xs, mt in mask`: the step names and the sequences, side by side */
scan_pairs
    : NAME "in" expr                    { $$ = (dln_pair_vec){0}; $$.names = dln_names_push(P, $$.names, $1, @1);
                                          VPUSH($$.exprs, $3); }
    | scan_pairs "," NAME "in" expr     { $$ = $1; $$.names = dln_names_push(P, $$.names, $3, @3); VPUSH($$.exprs, $5); }
    ;

carry_opt
    : %empty                            { $$ = (dln_name_vec){0}; }
    | "carry" names                     { $$ = $2; }
    ;

names
    : NAME                              { $$ = dln_names_push(P, (dln_name_vec){0}, $1, @1); }
    | names "," NAME                    { $$ = dln_names_push(P, $1, $3, @3); }
    ;

if_stmt
    : "if" expr "{" stmts "}" else_opt  { $$ = ast_if(A, $2, dln_body($4), $6, @$); }
    ;

else_opt
    : %empty                            { $$ = (ast_block_body){0}; }
    | "else" "{" stmts "}"              { $$ = dln_body($3); }
    | "else" if_stmt                    { $$ = dln_body1(P, $2); }
    ;

settings
    : %empty                            { $$ = (dln_setting_vec){0}; }
    | settings setting                  { $$ = $1; VPUSH($$, $2); }
    | settings ";"                      { $$ = $1; }
    | settings error                    { $$ = $1; }
    ;

setting
    : NAME "=" expr                     { $$ = (ast_setting){$1, $3, @$, @1, NULL, @1, NULL, 0}; }
    | "repeat" "=" expr                 { $$ = (ast_setting){"repeat", $3, @$, @1, NULL, @1, NULL, 0}; } /* a step's */
    | NAME NAME "{" settings "}"        { $$ = (ast_setting){$1, NULL, @$, @1, $2, @2, $4.items, $4.n}; }
    ;

/* ---- expressions, lowest precedence first ---- */

expr
    : pipe
    ;

pipe
    : or_expr
    | pipe "|>" or_expr                 { $$ = dln_pipe(P, $1, $3, @$); }
    ;

or_expr
    : and_expr
    | or_expr "or" and_expr             { $$ = ast_binary(A, AST_OP_OR, $1, $3, @$); }
    ;

and_expr
    : not_expr
    | and_expr "and" not_expr           { $$ = ast_binary(A, AST_OP_AND, $1, $3, @$); }
    ;

not_expr
    : comparison
    | "not" not_expr                    { $$ = ast_unary(A, AST_OP_NOT, $2, @$); }
    ;

comparison
    : sum
    | sum cmp_op sum                    { $$ = ast_binary(A, $2, $1, $3, @$); }
    ;

cmp_op
    : "=="  { $$ = AST_OP_EQ; }  | "!=" { $$ = AST_OP_NE; }
    | "<"   { $$ = AST_OP_LT; }  | "<=" { $$ = AST_OP_LE; }
    | ">"   { $$ = AST_OP_GT; }  | ">=" { $$ = AST_OP_GE; }
    ;

sum
    : term
    | sum "+" term                      { $$ = ast_binary(A, AST_OP_ADD, $1, $3, @$); }
    | sum "-" term                      { $$ = ast_binary(A, AST_OP_SUB, $1, $3, @$); }
    ;

term
    : unary
    | term "*" unary                    { $$ = ast_binary(A, AST_OP_MUL, $1, $3, @$); }
    | term "/" unary                    { $$ = ast_binary(A, AST_OP_DIV, $1, $3, @$); }
    | term "//" unary                   { $$ = ast_binary(A, AST_OP_FLOORDIV, $1, $3, @$); }
    | term "%" unary                    { $$ = ast_binary(A, AST_OP_MOD, $1, $3, @$); }
    | term "@" unary                    { $$ = ast_binary(A, AST_OP_MATMUL, $1, $3, @$); }
    ;

unary
    : power
    | "-" unary                         { $$ = ast_unary(A, AST_OP_NEG, $2, @$); }
    | "+" unary                         { $$ = ast_unary(A, AST_OP_POS, $2, @$); }
    ;

/* `-x ** 2` is `-(x ** 2)` and `2 ** -1` works: the exponent is a unary. */
power
    : postfix
    | postfix "**" unary                { $$ = ast_binary(A, AST_OP_POW, $1, $3, @$); }
    ;

postfix
    : primary
    | postfix "." NAME                  { $$ = ast_member(A, $1, $3, @$); }
    | postfix "[" index_items "]"       { $$ = ast_index(A, $1, $3.items, $3.n, @$); }
    ;

index_items
    : index_item                        { $$ = (dln_expr_vec){0}; VPUSH($$, $1); }
    | index_items "," index_item        { $$ = $1; VPUSH($$, $3); }
    ;

index_item
    : expr
    | opt_expr ":" opt_expr             { $$ = ast_slice(A, $1, $3, NULL, @$); }
    | opt_expr ":" opt_expr ":" opt_expr { $$ = ast_slice(A, $1, $3, $5, @$); }
    ;

opt_expr
    : %empty                            { $$ = NULL; }
    | expr
    ;

primary
    : INT                               { $$ = ast_int(A, $1, @$); }
    | FLOAT                             { $$ = ast_float(A, $1, @$); }
    | STRING                            { $$ = ast_string(A, $1, @$); }
    | "true"                            { $$ = ast_bool(A, 1, @$); }
    | "false"                           { $$ = ast_bool(A, 0, @$); }
    | NAME                              { $$ = ast_name(A, $1, @$); }
    | NAME "(" args ")"                 { $$ = ast_call(A, $1, $3.items, $3.n, @$); }
    | "(" expr ")"                      { $$ = $2; }
    | "(" expr "," ")"                  { $$ = dln_tuple(P, $2, (dln_expr_vec){0}, @$); }
    | "(" expr "," expr_list ")"        { $$ = dln_tuple(P, $2, $4, @$); }
    | "(" expr "," expr_list "," ")"    { $$ = dln_tuple(P, $2, $4, @$); }
    | "[" "]"                           { $$ = ast_list(A, NULL, 0, @$); }
    | "[" expr_list "]"                 { $$ = ast_list(A, $2.items, $2.n, @$); }
    | "[" expr_list "," "]"             { $$ = ast_list(A, $2.items, $2.n, @$); }
    ;

expr_list
    : expr                              { $$ = (dln_expr_vec){0}; VPUSH($$, $1); }
    | expr_list "," expr                { $$ = $1; VPUSH($$, $3); }
    ;

args
    : %empty                            { $$ = (dln_arg_vec){0}; }
    | arg_list
    | arg_list ","
    ;

arg_list
    : arg                               { $$ = dln_args_push(P, (dln_arg_vec){0}, $1); }
    | arg_list "," arg                  { $$ = dln_args_push(P, $1, $3); }
    ;

arg
    : expr                              { $$ = (ast_arg){NULL, $1, @$}; }
    | NAME "=" expr                     { $$ = (ast_arg){$1, $3, @$}; }
    ;

%%

/* The location of a reduced rule: from its first to its last non-empty
 * symbol. An empty rule gets a zero-width location (end before start) just
 * after whatever precedes it, so an omitted `= init` or `-> type` at the end
 * of a rule never stretches the rule's span. */
static int dln_loc_empty(const src_loc *l) {
    return l->end_line < l->line || (l->end_line == l->line && l->end_col < l->col);
}

src_loc dln_loc_default(const src_loc *rhs, int n) {
    int first = 1, last = n;
    while (first < n && dln_loc_empty(&rhs[first])) first++;
    while (last > first && dln_loc_empty(&rhs[last])) last--;
    if (n > 0) return loc_span(rhs[first], rhs[last]);
    src_loc l = rhs[0];
    l.line = l.end_line;
    l.col = l.end_col + 1;
    return l;
}

static ast_block_body dln_body1(dln_parse_ctx *P, ast_stmt *s) {
    ast_stmt **items = ARENA_NEW_ARRAY(A, ast_stmt *, 1);
    items[0] = s;
    return (ast_block_body){items, 1};
}

static dln_name_vec dln_names_push(dln_parse_ctx *P, dln_name_vec v, const char *name, src_loc loc) {
    if (v.n == v.cap) {
        int cap = v.cap ? 2 * v.cap : 4;
        v.items = arena_grow(A, v.items, sizeof *v.items, v.cap, cap);
        v.locs = arena_grow(A, v.locs, sizeof *v.locs, v.cap, cap);
        v.cap = cap;
    }
    v.items[v.n] = name;
    v.locs[v.n++] = loc;
    return v;
}

static ast_expr *dln_tuple(dln_parse_ctx *P, ast_expr *first, dln_expr_vec rest, src_loc loc) {
    ast_expr **items = ARENA_NEW_ARRAY(A, ast_expr *, rest.n + 1);
    items[0] = first;
    for (int i = 0; i < rest.n; i++) items[i + 1] = rest.items[i];
    return ast_list(A, items, rest.n + 1, loc);
}

static dln_arg_vec dln_args_push(dln_parse_ctx *P, dln_arg_vec v, ast_arg arg) {
    if (arg.name)
        v.has_keyword = 1;
    else if (v.has_keyword)
        diag_error(P->diag, arg.loc, "positional argument follows keyword argument\n"
                                     "hint: put positional arguments first, or name this one too");
    VPUSH(v, arg);
    return v;
}

static const char *dln_expr_desc(const ast_expr *e) {
    switch (e->kind) {
    case AST_INT: return "an integer";
    case AST_FLOAT: return "a number";
    case AST_BOOL: return "a boolean";
    case AST_STRING: return "a string";
    case AST_LIST: return "a list";
    case AST_MEMBER: return "a member access";
    case AST_INDEX: return "an indexing expression";
    case AST_SLICE: return "a slice";
    default: return "an expression";
    }
}

static ast_expr *dln_pipe(dln_parse_ctx *P, ast_expr *lhs, ast_expr *rhs, src_loc loc) {
    ast_expr *call = ast_pipe(A, lhs, rhs, loc);
    if (call) return call;
    diag_error(P->diag, rhs->loc,
               "cannot pipe into %s\n"
               "hint: the right side of '|>' must be a function name or a call, as in 'x |> relu' or 'x |> dense(10)'",
               dln_expr_desc(rhs));
    return lhs;
}

/* How an expected token is named in a message: keywords and punctuation
 * quoted as written, token classes by what they are. */
static void dln_symbol_desc(yysymbol_kind_t k, char *buf, size_t n) {
    switch (k) {
    case YYSYMBOL_YYEOF: snprintf(buf, n, "end of file"); return;
    case YYSYMBOL_NAME: snprintf(buf, n, "name"); return;
    case YYSYMBOL_INT: snprintf(buf, n, "integer"); return;
    case YYSYMBOL_FLOAT: snprintf(buf, n, "number"); return;
    case YYSYMBOL_STRING: snprintf(buf, n, "string"); return;
    default: break;
    }
    const char *s = yysymbol_name(k);
    size_t len = strlen(s);
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        s++;
        len -= 2;
    }
    snprintf(buf, n, "'%.*s'", (int)len, s);
}

/* How the offending (lookahead) token is named: its actual spelling. */
static void dln_lookahead_desc(const dln_parse_ctx *P, yysymbol_kind_t k, char *buf, size_t n) {
    if (k == YYSYMBOL_YYEOF || k == YYSYMBOL_YYEMPTY)
        snprintf(buf, n, "end of file");
    else if (k == YYSYMBOL_STRING)
        snprintf(buf, n, "string literal");
    else
        snprintf(buf, n, "'%s'", P->tok_text);
}

static int dln_contains(const yysymbol_kind_t *set, int n, yysymbol_kind_t k) {
    for (int i = 0; i < n; i++)
        if (set[i] == k) return 1;
    return 0;
}

/* Word the error like GCC. In order of preference:
 *   a missing closer or opening brace:  expected ')' before '{'
 *   a missing operand:                  expected expression before 'return'
 *   a short list of alternatives:       expected ':' or '=' before 'x'
 *   anything else:                      unexpected 'else'                     */
static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, dln_parse_ctx *P) {
    (void)scanner;
    enum { MAX_EXPECTED = 64 };
    yysymbol_kind_t expected[MAX_EXPECTED];
    int n = yypcontext_expected_tokens(ctx, expected, MAX_EXPECTED);
    if (n < 0) n = 0;
    yysymbol_kind_t la = yypcontext_token(ctx);
    char what[64], before[64];
    dln_lookahead_desc(P, la, before, sizeof before);
    src_loc loc = *yypcontext_location(ctx);

    /* Resynchronize at the next line: a statement usually ends where its
     * line does, and skipping its tail avoids errors about the leftovers.
     * If the offending token starts its own line it is probably the start
     * of the next statement, so nothing is skipped. */
    if (!P->tok_first_on_line && la != YYSYMBOL_YYEOF && la != YYSYMBOL_RBRACE) {
        P->skip_line = loc.line;
        P->skip_depth = la == YYSYMBOL_LBRACE;
    }
    /* The lexer already explained what went wrong right before this token:
     * a skipped character on the same line, or a string that swallowed the
     * rest of its line (with whatever closed the expression). */
    if (P->tok_after_lex_error == DLN_LEXERR_STRING ||
        (P->tok_after_lex_error == DLN_LEXERR_CHAR && !P->tok_first_on_line))
        return 0;

    yysymbol_kind_t want = YYSYMBOL_YYEMPTY;
    int at_decl_boundary = la == YYSYMBOL_YYEOF || la == YYSYMBOL_BLOCK || la == YYSYMBOL_MODEL ||
                           la == YYSYMBOL_TRAIN;
    if (dln_contains(expected, n, YYSYMBOL_RPAREN)) want = YYSYMBOL_RPAREN;
    else if (dln_contains(expected, n, YYSYMBOL_RBRACKET)) want = YYSYMBOL_RBRACKET;
    else if (dln_contains(expected, n, YYSYMBOL_LBRACE)) want = YYSYMBOL_LBRACE;
    else if (dln_contains(expected, n, YYSYMBOL_RBRACE) && at_decl_boundary) want = YYSYMBOL_RBRACE;

    if (want != YYSYMBOL_YYEMPTY) {
        dln_symbol_desc(want, what, sizeof what);
        diag_error(P->diag, loc, "expected %s before %s", what, before);
        return 0;
    }
    if (dln_contains(expected, n, YYSYMBOL_INT)) {
        diag_error(P->diag, loc, "expected expression before %s", before);
        return 0;
    }
    /* End of file is a valid alternative almost everywhere at top level;
     * listing it helps nobody. */
    yysymbol_kind_t listed[MAX_EXPECTED];
    int m = 0;
    for (int i = 0; i < n; i++)
        if (expected[i] != YYSYMBOL_YYEOF) listed[m++] = expected[i];
    if (m >= 1 && m <= 3) {
        char list[200] = "";
        size_t used = 0;
        for (int i = 0; i < m; i++) {
            dln_symbol_desc(listed[i], what, sizeof what);
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                     i == 0 ? "" : i == m - 1 ? " or " : ", ", what);
            if (used >= sizeof list) break;
        }
        diag_error(P->diag, loc, "expected %s before %s", list, before);
        return 0;
    }
    if (la == YYSYMBOL_ASSIGN)
        /* `y = x +` then `z = 1` on the next line reads as `x + z`, then '='. */
        diag_error(P->diag, loc, "unexpected %s\n"
                   "hint: if this starts a new statement, the one before it is incomplete; '==' compares", before);
    else if (la == YYSYMBOL_EQ || la == YYSYMBOL_NE || la == YYSYMBOL_LT || la == YYSYMBOL_LE ||
             la == YYSYMBOL_GT || la == YYSYMBOL_GE)
        diag_error(P->diag, loc, "unexpected %s\n"
                   "hint: comparisons do not chain; write 'a < b and b < c'", before);
    else
        diag_error(P->diag, loc, "unexpected %s", before);
    return 0;
}

/* Bison's own messages (only "memory exhausted" with parse.error custom). */
static void yyerror(const src_loc *loc, yyscan_t scanner, dln_parse_ctx *P, const char *msg) {
    (void)scanner;
    if (strstr(msg, "exhausted"))
        diag_error(P->diag, *loc, "expression nested too deeply");
    else
        diag_error(P->diag, *loc, "%s", msg);
}
