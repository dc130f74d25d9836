/* test_parser.c — every construct of the grammar, the pipe desugaring,
 * precedence, round trips through ast_print, and syntax errors as exact text.
 *
 * Most checks print the tree back (fully parenthesized) and compare strings:
 * one line of expected text says more about a tree's shape than ten pointer
 * assertions, and it is how a person would check it too. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

typedef struct {
    arena a;
    diag_ctx d;
    ast_program *prog;
    char *errors;
    size_t errors_len;
} parsed;

static void parse_text(parsed *r, const char *text) {
    memset(r, 0, sizeof *r);
    FILE *err = open_memstream(&r->errors, &r->errors_len);
    diag_init(&r->d, err);
    r->prog = parse_source(&r->a, &r->d, "t.dln", text);
    fclose(err);
}

static void parsed_free(parsed *r) {
    free(r->errors);
    free(r->d.sources);
    arena_free(&r->a);
}

/* ast_print into a malloc'ed string. */
static char *print_program(const ast_program *p) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ast_print(f, p);
    fclose(f);
    return buf;
}

/* Parse `y = <expr>` in a block and print the expression back. */
static char *expr_text(const char *expr, int *n_errors) {
    char src[1024];
    snprintf(src, sizeof src, "block t() { y = %s }", expr);
    parsed r;
    parse_text(&r, src);
    *n_errors = r.d.n_errors;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (r.prog->n_decls == 1 && r.prog->decls[0]->body.n_stmts == 1)
        ast_print_expr(f, r.prog->decls[0]->body.stmts[0]->value);
    fclose(f);
    parsed_free(&r);
    return buf;
}

#define CHECK_EXPR(src, want)                               \
    do {                                                    \
        int nerr__;                                         \
        char *got__ = expr_text((src), &nerr__);            \
        CU_ASSERT_EQUAL(nerr__, 0);                         \
        if (strcmp(got__, (want)) != 0)                     \
            fprintf(stderr, "\n%s: got %s\n", (src), got__); \
        CU_ASSERT_STRING_EQUAL(got__, (want));              \
        free(got__);                                        \
    } while (0)

static void test_precedence(void) {
    CHECK_EXPR("a + b * c", "(a + (b * c))");
    CHECK_EXPR("a - b - c", "((a - b) - c)");
    CHECK_EXPR("a @ b + c", "((a @ b) + c)");
    CHECK_EXPR("a / b @ c", "((a / b) @ c)");
    CHECK_EXPR("-x ** 2", "(-(x ** 2))");
    CHECK_EXPR("a ** b ** c", "(a ** (b ** c))");
    CHECK_EXPR("2 ** -1", "(2 ** (-1))");
    CHECK_EXPR("- -x", "(-(-x))");
    CHECK_EXPR("+x * -y", "((+x) * (-y))");
    CHECK_EXPR("a < b + 1", "(a < (b + 1))");
    CHECK_EXPR("not a == b", "(not (a == b))");
    CHECK_EXPR("a and b or c and d", "((a and b) or (c and d))");
    CHECK_EXPR("not a and not b", "((not a) and (not b))");
    CHECK_EXPR("a != b or a >= b", "((a != b) or (a >= b))");
    CHECK_EXPR("(a + b) * c", "((a + b) * c)");
    CHECK_EXPR("a <= b and c > d", "((a <= b) and (c > d))");
}

static void test_literals(void) {
    CHECK_EXPR("42", "42");
    CHECK_EXPR("1_000", "1000");
    CHECK_EXPR("0.5", "0.5");
    CHECK_EXPR(".5", "0.5");
    CHECK_EXPR("1e-3", "0.001");
    CHECK_EXPR("3.", "3.0");
    CHECK_EXPR("true", "true");
    CHECK_EXPR("false", "false");
    CHECK_EXPR("\"a\\\"b\\n\"", "\"a\\\"b\\n\"");
}

static void test_postfix_calls_tuples_lists(void) {
    CHECK_EXPR("f()", "f()");
    CHECK_EXPR("f(a, b,)", "f(a, b)");
    CHECK_EXPR("adam(lr = 1e-3, betas = (0.9, 0.999))", "adam(lr = 0.001, betas = [0.9, 0.999])");
    CHECK_EXPR("f(x, k = g(1))", "f(x, k = g(1))");
    CHECK_EXPR("a.b.c", "a.b.c");
    CHECK_EXPR("x[0]", "x[0]");
    CHECK_EXPR("x[1:2, :, ::3, 4:]", "x[1:2, :, ::3, 4:]");
    CHECK_EXPR("x[:-1][0]", "x[:(-1)][0]");
    CHECK_EXPR("m.w[0] ** 2", "(m.w[0] ** 2)");
    CHECK_EXPR("(a,)", "[a]");
    CHECK_EXPR("(a, b, c,)", "[a, b, c]");
    CHECK_EXPR("[]", "[]");
    CHECK_EXPR("[accuracy, 1, [2]]", "[accuracy, 1, [2]]");
}

static void test_pipes_desugar_to_calls(void) {
    CHECK_EXPR("x |> relu", "relu(x)");
    CHECK_EXPR("x |> dense(512) |> relu |> dropout(0.2)", "dropout(relu(dense(x, 512)), 0.2)");
    CHECK_EXPR("a |> f(b, k = c)", "f(a, b, k = c)");
    CHECK_EXPR("a + b |> f", "f((a + b))");
    CHECK_EXPR("a or b |> f", "f((a or b))");

    parsed r;
    parse_text(&r, "block t() { y = a |> f(b, k = c) }");
    CU_ASSERT_EQUAL_FATAL(r.d.n_errors, 0);
    const ast_expr *e = r.prog->decls[0]->body.stmts[0]->value;
    CU_ASSERT_EQUAL(e->kind, AST_CALL);
    CU_ASSERT_EQUAL(e->from_pipe, 1);
    CU_ASSERT_STRING_EQUAL(e->name, "f");
    CU_ASSERT_EQUAL_FATAL(e->n_args, 3);
    CU_ASSERT_PTR_NULL(e->args[0].name);
    CU_ASSERT_STRING_EQUAL(e->args[0].value->name, "a");
    CU_ASSERT_STRING_EQUAL(e->args[2].name, "k");
    parsed_free(&r);
}

static void test_declarations_round_trip(void) {
    const char *src =
        "# comment to end of line\n"
        "block dense(x: f32[N, K], units: int, bias: bool = true) -> f32[N, units] {\n"
        "    param weight: f32[units, K] = he_uniform()\n"
        "    param b: f32[units] = zeros\n"
        "    y = x @ transpose(weight)\n"
        "    if bias { y = y + b }\n"
        "    return y\n"
        "}\n"
        "model mlp(x: f32[N, 784]) -> f32[N, 10] {\n"
        "    h = x |> dense(512) |> relu |> dropout(0.2)\n"
        "    repeat i in 2 { h = dense(h, 256) |> relu }\n"
        "    a, b = split_two(h)\n"
        "    return dense(h, 10)\n"
        "}\n"
        "train mlp {\n"
        "    data    = fashion_mnist(\"/usr/share/datasets/fashion-mnist\", batch = 64, shuffle = true)\n"
        "    loss    = cross_entropy(output, label)\n"
        "    optim   = adam(lr = 1e-3, betas = (0.9, 0.999))\n"
        "    sched   = cosine(warmup = 1)\n"
        "    epochs  = 10\n"
        "    metrics = [accuracy]\n"
        "}\n";
    const char *want =
        "block dense(x: f32[N, K], units: int, bias: bool = true) -> f32[N, units] {\n"
        "    param weight: f32[units, K] = he_uniform()\n"
        "    param b: f32[units] = zeros\n"
        "    y = (x @ transpose(weight))\n"
        "    if bias {\n"
        "        y = (y + b)\n"
        "    }\n"
        "    return y\n"
        "}\n"
        "\n"
        "model mlp(x: f32[N, 784]) -> f32[N, 10] {\n"
        "    h = dropout(relu(dense(x, 512)), 0.2)\n"
        "    repeat i in 2 {\n"
        "        h = relu(dense(h, 256))\n"
        "    }\n"
        "    a, b = split_two(h)\n"
        "    return dense(h, 10)\n"
        "}\n"
        "\n"
        "train mlp {\n"
        "    data = fashion_mnist(\"/usr/share/datasets/fashion-mnist\", batch = 64, shuffle = true)\n"
        "    loss = cross_entropy(output, label)\n"
        "    optim = adam(lr = 0.001, betas = [0.9, 0.999])\n"
        "    sched = cosine(warmup = 1)\n"
        "    epochs = 10\n"
        "    metrics = [accuracy]\n"
        "}\n";
    parsed r;
    parse_text(&r, src);
    CU_ASSERT_EQUAL(r.d.n_errors, 0);
    char *once = print_program(r.prog);
    CU_ASSERT_STRING_EQUAL(once, want);
    parsed r2;
    parse_text(&r2, once);
    CU_ASSERT_EQUAL(r2.d.n_errors, 0);
    char *twice = print_program(r2.prog);
    CU_ASSERT_STRING_EQUAL(twice, once);
    free(once);
    free(twice);
    parsed_free(&r);
    parsed_free(&r2);
}

static void test_tree_shape(void) {
    parsed r;
    parse_text(&r, "model m(x: f32[N, 4], y, k: int = 3,) -> (f32[N], i32) {\n"
                   "  frozen param w: f32[4, 4]\n"
                   "  buffer rm: f32[4] = zeros;\n"
                   "  a, b = f(x);\n"
                   "  return a, b\n"
                   "}\n"
                   "train m { epochs = 1; loss = l }\n");
    CU_ASSERT_EQUAL_FATAL(r.d.n_errors, 0);
    CU_ASSERT_EQUAL_FATAL(r.prog->n_decls, 2);
    const ast_decl *m = r.prog->decls[0];
    CU_ASSERT_EQUAL(m->kind, AST_DECL_MODEL);
    CU_ASSERT_STRING_EQUAL(m->name, "m");
    CU_ASSERT(m->name_loc.line == 1 && m->name_loc.col == 7 && m->name_loc.end_col == 7);
    CU_ASSERT(m->loc.line == 1 && m->loc.col == 1 && m->loc.end_line == 6 && m->loc.end_col == 1);
    CU_ASSERT_EQUAL_FATAL(m->n_formals, 3);
    CU_ASSERT_EQUAL(m->formals[0].type->kind, AST_TY_TENSOR);
    CU_ASSERT_EQUAL(m->formals[0].type->rank, 2);
    CU_ASSERT_PTR_NULL(m->formals[1].type);
    CU_ASSERT_EQUAL(m->formals[2].type->kind, AST_TY_INT);
    CU_ASSERT_EQUAL(m->formals[2].default_value->ival, 3);
    CU_ASSERT_EQUAL_FATAL(m->n_ret_types, 2);
    CU_ASSERT_EQUAL(m->ret_types[1]->dtype, AST_DT_I32);
    CU_ASSERT_EQUAL(m->ret_types[1]->has_shape, 0);
    CU_ASSERT_EQUAL_FATAL(m->body.n_stmts, 4);
    const ast_stmt *s = m->body.stmts[0];
    CU_ASSERT(s->kind == AST_ST_PARAM && s->frozen && s->value == NULL);
    CU_ASSERT(s->loc.line == 2 && s->loc.col == 3 && s->loc.end_col == 27);
    CU_ASSERT(m->body.stmts[1]->kind == AST_ST_BUFFER && !m->body.stmts[1]->frozen);
    s = m->body.stmts[2];
    CU_ASSERT_EQUAL_FATAL(s->n_targets, 2);
    CU_ASSERT_STRING_EQUAL(s->targets[1], "b");
    CU_ASSERT(s->target_locs[1].line == 4 && s->target_locs[1].col == 6);
    CU_ASSERT_EQUAL(m->body.stmts[3]->n_values, 2);
    const ast_decl *t = r.prog->decls[1];
    CU_ASSERT_EQUAL(t->kind, AST_DECL_TRAIN);
    CU_ASSERT_EQUAL_FATAL(t->n_settings, 2);
    CU_ASSERT_STRING_EQUAL(t->settings[1].key, "loss");
    CU_ASSERT(t->settings[1].key_loc.col == 23 && t->settings[1].loc.end_col == 30);
    parsed_free(&r);
}

static void test_expression_spans(void) {
    parsed r;
    parse_text(&r, "block t() {\n    return x @ w + b\n}\n");
    const ast_expr *e = r.prog->decls[0]->body.stmts[0]->values[0];
    CU_ASSERT_EQUAL(e->kind, AST_BINARY);
    CU_ASSERT(e->loc.line == 2 && e->loc.col == 12 && e->loc.end_col == 20);
    CU_ASSERT(e->lhs->loc.col == 12 && e->lhs->loc.end_col == 16);
    parsed_free(&r);
}

static void test_if_else_if_and_repeat(void) {
    parsed r;
    parse_text(&r, "block t(n: int) {\n"
                   "  if n == 1 { y = a } else if n == 2 { y = b } else { y = c; z = d }\n"
                   "  repeat 3 { y = f(y) }\n"
                   "  repeat i in n { y = g(y, i) }\n"
                   "  if not n { }\n"
                   "}\n");
    CU_ASSERT_EQUAL_FATAL(r.d.n_errors, 0);
    const ast_block_body *b = &r.prog->decls[0]->body;
    CU_ASSERT_EQUAL_FATAL(b->n_stmts, 4);
    const ast_stmt *s = b->stmts[0];
    CU_ASSERT_EQUAL(s->kind, AST_ST_IF);
    CU_ASSERT_EQUAL(s->body.n_stmts, 1);
    CU_ASSERT_EQUAL_FATAL(s->else_body.n_stmts, 1);
    const ast_stmt *elif = s->else_body.stmts[0];
    CU_ASSERT_EQUAL(elif->kind, AST_ST_IF);
    CU_ASSERT_EQUAL(elif->else_body.n_stmts, 2);
    CU_ASSERT(b->stmts[1]->kind == AST_ST_REPEAT && b->stmts[1]->name == NULL);
    CU_ASSERT_EQUAL(b->stmts[1]->value->ival, 3);
    CU_ASSERT_STRING_EQUAL(b->stmts[2]->name, "i");
    CU_ASSERT_EQUAL(b->stmts[3]->body.n_stmts, 0);
    CU_ASSERT_EQUAL(b->stmts[3]->else_body.n_stmts, 0);
    char *text = print_program(r.prog);
    CU_ASSERT_STRING_EQUAL(text,
        "block t(n: int) {\n"
        "    if (n == 1) {\n"
        "        y = a\n"
        "    } else if (n == 2) {\n"
        "        y = b\n"
        "    } else {\n"
        "        y = c\n"
        "        z = d\n"
        "    }\n"
        "    repeat 3 {\n"
        "        y = f(y)\n"
        "    }\n"
        "    repeat i in n {\n"
        "        y = g(y, i)\n"
        "    }\n"
        "    if (not n) {\n"
        "    }\n"
        "}\n");
    free(text);
    parsed_free(&r);
}

static void test_types(void) {
    parsed r;
    parse_text(&r, "block t(a: f32, b: i32[N], c: f32[], d: float, e: bool, f: str, g: f32[N * T, 2 * u]) { }");
    CU_ASSERT_EQUAL_FATAL(r.d.n_errors, 0);
    const ast_formal *f = r.prog->decls[0]->formals;
    CU_ASSERT(f[0].type->kind == AST_TY_TENSOR && !f[0].type->has_shape);
    CU_ASSERT(f[1].type->dtype == AST_DT_I32 && f[1].type->rank == 1);
    CU_ASSERT(f[2].type->has_shape && f[2].type->rank == 0);
    CU_ASSERT_EQUAL(f[3].type->kind, AST_TY_FLOAT);
    CU_ASSERT_EQUAL(f[4].type->kind, AST_TY_BOOL);
    CU_ASSERT_EQUAL(f[5].type->kind, AST_TY_STR);
    CU_ASSERT_EQUAL(f[6].type->dims[0]->kind, AST_BINARY);
    char *text = print_program(r.prog);
    CU_ASSERT_STRING_EQUAL(text, "block t(a: f32, b: i32[N], c: f32[], d: float, e: bool, f: str, g: f32[(N * T), (2 * u)]) {\n}\n");
    free(text);
    parsed_free(&r);
}

static void test_empty_program(void) {
    parsed r;
    parse_text(&r, "  # nothing\n");
    CU_ASSERT_PTR_NOT_NULL(r.prog);
    CU_ASSERT_EQUAL(r.prog->n_decls, 0);
    CU_ASSERT_EQUAL(r.d.n_errors, 0);
    parsed_free(&r);
}

static void test_many_declarations(void) {
    char src[8192] = "";
    for (int i = 0; i < 40; i++) {
        char line[64];
        snprintf(line, sizeof line, "block b%d() { return %d }\n", i, i);
        strcat(src, line);
    }
    parsed r;
    parse_text(&r, src);
    CU_ASSERT_EQUAL(r.d.n_errors, 0);
    CU_ASSERT_EQUAL_FATAL(r.prog->n_decls, 40);
    CU_ASSERT_STRING_EQUAL(r.prog->decls[39]->name, "b39");
    parsed_free(&r);
}

/* ---- syntax errors ---- */

#define CHECK_ERRORS(src, want)                                   \
    do {                                                          \
        parsed r__;                                               \
        parse_text(&r__, (src));                                  \
        if (strcmp(r__.errors, (want)) != 0)                      \
            fprintf(stderr, "\n--- got:\n%s--- want:\n%s", r__.errors, (want)); \
        CU_ASSERT_STRING_EQUAL(r__.errors, (want));               \
        CU_ASSERT_PTR_NOT_NULL(r__.prog);                         \
        parsed_free(&r__);                                        \
    } while (0)

static void test_error_messages(void) {
    CHECK_ERRORS("block dense(x: f32[N, K] {\n}\n",
        "t.dln:1:26: error: expected ')' before '{'\n"
        "    1 | block dense(x: f32[N, K] {\n"
        "      |                          ^\n");
    CHECK_ERRORS("block b() {\n    y = x +\n    return y\n}\n",
        "t.dln:3:5: error: expected expression before 'return'\n"
        "    3 |     return y\n"
        "      |     ^~~~~~\n");
    CHECK_ERRORS("block b() {\n    else { }\n}\n",
        "t.dln:2:5: error: unexpected 'else'\n"
        "    2 |     else { }\n"
        "      |     ^~~~\n");
    CHECK_ERRORS("model m() { y = f(a b) }",
        "t.dln:1:21: error: expected ')' before 'b'\n"
        "    1 | model m() { y = f(a b) }\n"
        "      |                     ^\n");
    CHECK_ERRORS("model m() {\n  y = 1\n",
        "t.dln:2:8: error: expected '}' before end of file\n"
        "    2 |   y = 1\n"
        "      |        ^\n");
    CHECK_ERRORS("modle m() { }",
        "t.dln:1:1: error: expected 'block', 'model' or 'train' before 'modle'\n"
        "    1 | modle m() { }\n"
        "      | ^~~~~\n");
    CHECK_ERRORS("block b() { param w f32 }",
        "t.dln:1:21: error: expected ':' before 'f32'\n"
        "    1 | block b() { param w f32 }\n"
        "      |                     ^~~\n");
    CHECK_ERRORS("block b() { if x y = 1 }",
        "t.dln:1:18: error: expected '{' before 'y'\n"
        "    1 | block b() { if x y = 1 }\n"
        "      |                  ^\n");
}

static void test_pipe_and_argument_errors(void) {
    CHECK_ERRORS("block b() { y = x |> 3 }",
        "t.dln:1:22: error: cannot pipe into an integer\n"
        "    1 | block b() { y = x |> 3 }\n"
        "      |                      ^\n"
        "hint: the right side of '|>' must be a function name or a call, as in 'x |> relu' or 'x |> dense(10)'\n");
    CHECK_ERRORS("block b() { y = x |> (a + b) }",
        "t.dln:1:23: error: cannot pipe into an expression\n"
        "    1 | block b() { y = x |> (a + b) }\n"
        "      |                       ^~~~~\n"
        "hint: the right side of '|>' must be a function name or a call, as in 'x |> relu' or 'x |> dense(10)'\n");
    CHECK_ERRORS("block b() { y = f(k = 1, x) }",
        "t.dln:1:26: error: positional argument follows keyword argument\n"
        "    1 | block b() { y = f(k = 1, x) }\n"
        "      |                          ^\n"
        "hint: put positional arguments first, or name this one too\n");
}

static void test_recovery_reports_several_errors(void) {
    parsed r;
    parse_text(&r, "block a() {\n"
                   "    y = x +\n"          /* 1: `x + z` is fine, the '=' is not */
                   "    z = (1, 2\n"
                   "    return (y\n"       /* 2: expected ')' before '}' */
                   "}\n"
                   "block b(x f32) { }\n"   /* 3: declaration-level */
                   "model c() {\n"
                   "    w = $\n"           /* 4: invalid character, 5: expected expression */
                   "    return w\n"
                   "}\n");
    CU_ASSERT(r.d.n_errors >= 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "t.dln:3:7: error: unexpected '='\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "hint: if this starts a new statement, the one before it is incomplete"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "t.dln:5:1: error: expected ')' before '}'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "t.dln:6:11: error: expected ')' before 'f32'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "t.dln:8:9: error: invalid character '$'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "t.dln:9:5: error: expected expression before 'return'"));
    /* the good parts survive: block a (partial) and model c */
    CU_ASSERT_EQUAL_FATAL(r.prog->n_decls, 2);
    CU_ASSERT_STRING_EQUAL(r.prog->decls[0]->name, "a");
    CU_ASSERT_STRING_EQUAL(r.prog->decls[1]->name, "c");
    CU_ASSERT_EQUAL(r.prog->decls[1]->body.n_stmts, 1);
    parsed_free(&r);
}

static void test_settings_recovery(void) {
    parsed r;
    parse_text(&r, "train m {\n  epochs = 10\n  lr = 0.1 0.2\n  batch = 64\n  seed =\n}\n");
    CU_ASSERT_EQUAL(r.d.n_errors, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "t.dln:3:12: error: unexpected '0.2'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "t.dln:6:1: error: expected expression before '}'"));
    CU_ASSERT_EQUAL_FATAL(r.prog->n_decls, 1);
    CU_ASSERT_EQUAL_FATAL(r.prog->decls[0]->n_settings, 2); /* epochs and batch */
    CU_ASSERT_STRING_EQUAL(r.prog->decls[0]->settings[1].key, "batch");
    parsed_free(&r);
}

static void test_recovery_skips_the_rest_of_the_line(void) {
    parsed r;
    parse_text(&r, "block b(x) {\n"
                   "    param w f32[K, K]\n"        /* the tail `[K, K]` is not parsed as `K, K = ...` */
                   "    if x == { y = [1,\n"        /* braces opened on the line are skipped to their '}' */
                   " 2] }\n"
                   "    z = a < b < c\n"
                   "    return w\n"
                   "}\n"
                   "model m() { return 1 }\n");
    CU_ASSERT_STRING_EQUAL(r.errors,
        "t.dln:2:13: error: expected ':' before 'f32'\n"
        "    2 |     param w f32[K, K]\n"
        "      |             ^~~\n"
        "t.dln:3:13: error: expected expression before '{'\n"
        "    3 |     if x == { y = [1,\n"
        "      |             ^\n"
        "t.dln:5:15: error: unexpected '<'\n"
        "    5 |     z = a < b < c\n"
        "      |               ^\n"
        "hint: comparisons do not chain; write 'a < b and b < c'\n");
    CU_ASSERT_EQUAL_FATAL(r.prog->n_decls, 2);
    CU_ASSERT_EQUAL(r.prog->decls[0]->body.n_stmts, 1); /* return w */
    parsed_free(&r);
}

static void test_deep_nesting_is_an_error_not_a_crash(void) {
    enum { DEPTH = 20000 };
    char *src = malloc(2 * DEPTH + 64);
    char *p = src + sprintf(src, "block b() { y = ");
    for (int i = 0; i < DEPTH; i++) *p++ = '(';
    *p++ = 'x';
    for (int i = 0; i < DEPTH; i++) *p++ = ')';
    strcpy(p, " }");
    parsed r;
    parse_text(&r, src);
    CU_ASSERT(r.d.n_errors >= 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "nested too deeply"));
    parsed_free(&r);
    free(src);
}

static void test_parse_file(void) {
    parsed r;
    memset(&r, 0, sizeof r);
    FILE *err = open_memstream(&r.errors, &r.errors_len);
    diag_init(&r.d, err);
    ast_program *p = parse_file(&r.a, &r.d, "/nonexistent/dir/x.dln");
    fclose(err);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_STRING_EQUAL(r.errors, "dlnc: error: cannot read '/nonexistent/dir/x.dln': No such file or directory\n");
    parsed_free(&r);

    char path[] = "/tmp/dlnc_parse_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("block b() {\n  return 1 +\n}\n", f);
    fclose(f);
    memset(&r, 0, sizeof r);
    err = open_memstream(&r.errors, &r.errors_len);
    diag_init(&r.d, err);
    p = parse_file(&r.a, &r.d, path);
    fclose(err);
    CU_ASSERT_PTR_NOT_NULL(p);
    char want[512];
    snprintf(want, sizeof want,
             "%s:3:1: error: expected expression before '}'\n"
             "    3 | }\n"
             "      | ^\n", path);
    CU_ASSERT_STRING_EQUAL(r.errors, want);
    remove(path);
    parsed_free(&r);
}

void suite_parser(void) {
    CU_pSuite s = CU_add_suite("parser", NULL, NULL);
    CU_add_test(s, "precedence", test_precedence);
    CU_add_test(s, "literals", test_literals);
    CU_add_test(s, "postfix, calls, tuples, lists", test_postfix_calls_tuples_lists);
    CU_add_test(s, "pipes desugar to calls", test_pipes_desugar_to_calls);
    CU_add_test(s, "declarations round trip", test_declarations_round_trip);
    CU_add_test(s, "tree shape and locations", test_tree_shape);
    CU_add_test(s, "expression spans", test_expression_spans);
    CU_add_test(s, "if / else if / repeat", test_if_else_if_and_repeat);
    CU_add_test(s, "types", test_types);
    CU_add_test(s, "empty program", test_empty_program);
    CU_add_test(s, "many declarations", test_many_declarations);
    CU_add_test(s, "error messages", test_error_messages);
    CU_add_test(s, "pipe and argument errors", test_pipe_and_argument_errors);
    CU_add_test(s, "recovery reports several errors", test_recovery_reports_several_errors);
    CU_add_test(s, "train settings recovery", test_settings_recovery);
    CU_add_test(s, "recovery skips the rest of the line", test_recovery_skips_the_rest_of_the_line);
    CU_add_test(s, "deep nesting", test_deep_nesting_is_an_error_not_a_crash);
    CU_add_test(s, "parse_file", test_parse_file);
}
