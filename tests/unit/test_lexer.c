/* test_lexer.c — tokens, literal values, comments and source spans.
 *
 * The lexer is driven directly (yylex on a scanner over a string), so these
 * tests pin what the parser gets: the token kind, its value and its exact
 * span, and what is reported for bad input. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dln.tab.h"
#include "lex.yy.h"

enum { MAX_TOKS = 128 };

typedef struct {
    int kind;
    YYSTYPE val;
    src_loc loc;
} lexed_token;

/* Everything one lexing run produced. */
typedef struct {
    arena a;
    diag_ctx d;
    char *errors;   /* diagnostics text */
    size_t errors_len;
    lexed_token toks[MAX_TOKS];
    int n;          /* tokens before end of file */
    src_loc eof_loc;
} lex_result;

static void lex_all(lex_result *r, const char *text) {
    memset(r, 0, sizeof *r);
    FILE *err = open_memstream(&r->errors, &r->errors_len);
    diag_init(&r->d, err);
    dln_parse_ctx P = {0};
    P.arena = &r->a;
    P.diag = &r->d;
    P.file = diag_add_source(&r->d, "t.dln", text);
    P.line = P.col = 1;
    yyscan_t s;
    yylex_init_extra(&P, &s);
    YY_BUFFER_STATE b = yy_scan_string(text, s);
    for (;;) {
        lexed_token t = {0};
        t.kind = yylex(&t.val, &t.loc, s);
        if (t.kind == TOK_YYEOF) {
            r->eof_loc = t.loc;
            break;
        }
        if (r->n < MAX_TOKS) r->toks[r->n++] = t;
    }
    yy_delete_buffer(b, s);
    yylex_destroy(s);
    fclose(err);
}

static void lex_free(lex_result *r) {
    free(r->errors);
    free(r->d.sources);
    arena_free(&r->a);
}

static void test_every_keyword_and_punctuator(void) {
    static const struct { const char *text; int kind; } cases[] = {
        {"block", TOK_BLOCK}, {"model", TOK_MODEL}, {"train", TOK_TRAIN}, {"param", TOK_PARAM},
        {"buffer", TOK_BUFFER}, {"frozen", TOK_FROZEN}, {"return", TOK_RETURN}, {"if", TOK_IF},
        {"else", TOK_ELSE}, {"repeat", TOK_REPEAT}, {"in", TOK_IN}, {"and", TOK_AND}, {"or", TOK_OR},
        {"not", TOK_NOT}, {"true", TOK_TRUE}, {"false", TOK_FALSE}, {"f32", TOK_F32}, {"i32", TOK_I32},
        {"int", TOK_KW_INT}, {"float", TOK_KW_FLOAT}, {"bool", TOK_KW_BOOL}, {"str", TOK_KW_STR},
        {"|>", TOK_PIPE}, {"->", TOK_ARROW}, {"==", TOK_EQ}, {"!=", TOK_NE}, {"<=", TOK_LE},
        {">=", TOK_GE}, {"<", TOK_LT}, {">", TOK_GT}, {"**", TOK_POW}, {"+", TOK_PLUS},
        {"-", TOK_MINUS}, {"*", TOK_STAR}, {"/", TOK_SLASH}, {"@", TOK_AT}, {"=", TOK_ASSIGN},
        {",", TOK_COMMA}, {":", TOK_COLON}, {";", TOK_SEMI}, {".", TOK_DOT}, {"(", TOK_LPAREN},
        {")", TOK_RPAREN}, {"[", TOK_LBRACKET}, {"]", TOK_RBRACKET}, {"{", TOK_LBRACE},
        {"}", TOK_RBRACE}, {"name", TOK_NAME}, {"_x1", TOK_NAME}, {"blocks", TOK_NAME},
        {"42", TOK_INT}, {"0.5", TOK_FLOAT}, {"\"s\"", TOK_STRING},
    };
    int n = (int)(sizeof cases / sizeof cases[0]);
    char text[1024] = "";
    for (int i = 0; i < n; i++) {
        strcat(text, cases[i].text);
        strcat(text, " ");
    }
    lex_result r;
    lex_all(&r, text);
    CU_ASSERT_EQUAL_FATAL(r.n, n);
    for (int i = 0; i < n; i++) {
        if (r.toks[i].kind != cases[i].kind) fprintf(stderr, "\ntoken %d '%s': got %d\n", i, cases[i].text, r.toks[i].kind);
        CU_ASSERT_EQUAL(r.toks[i].kind, cases[i].kind);
    }
    CU_ASSERT_EQUAL(r.d.n_errors, 0);
    lex_free(&r);
}

static void test_operators_need_no_spaces(void) {
    lex_result r;
    lex_all(&r, "a|>b->c**-d<=e!=f");
    int want[] = {TOK_NAME, TOK_PIPE, TOK_NAME, TOK_ARROW, TOK_NAME, TOK_POW, TOK_MINUS, TOK_NAME,
                  TOK_LE, TOK_NAME, TOK_NE, TOK_NAME};
    CU_ASSERT_EQUAL_FATAL(r.n, 12);
    for (int i = 0; i < 12; i++) CU_ASSERT_EQUAL(r.toks[i].kind, want[i]);
    lex_free(&r);
}

static void test_numbers(void) {
    lex_result r;
    lex_all(&r, "42 1_000 0 0.5 .5 1e-3 3. 2E+2 1_0.2_5 7e2");
    CU_ASSERT_EQUAL_FATAL(r.n, 10);
    CU_ASSERT_EQUAL(r.toks[0].kind, TOK_INT);
    CU_ASSERT_EQUAL(r.toks[0].val.ival, 42);
    CU_ASSERT_EQUAL(r.toks[1].kind, TOK_INT);
    CU_ASSERT_EQUAL(r.toks[1].val.ival, 1000);
    CU_ASSERT_EQUAL(r.toks[2].val.ival, 0);
    double want[] = {0.5, 0.5, 1e-3, 3.0, 200.0, 10.25, 700.0};
    for (int i = 0; i < 7; i++) {
        CU_ASSERT_EQUAL(r.toks[3 + i].kind, TOK_FLOAT);
        CU_ASSERT_DOUBLE_EQUAL(r.toks[3 + i].val.fval, want[i], 1e-12);
    }
    CU_ASSERT_EQUAL(r.d.n_errors, 0);
    lex_free(&r);
}

static void test_bad_numbers_are_reported(void) {
    lex_result r;
    lex_all(&r, "3x 1__0 99999999999999999999 1e999");
    CU_ASSERT_EQUAL(r.n, 4);
    CU_ASSERT_EQUAL(r.d.n_errors, 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "t.dln:1:1: error: invalid number '3x'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "t.dln:1:4: error: invalid number '1__0'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "error: integer '99999999999999999999' is too large"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "error: number '1e999' is out of range"));
    lex_free(&r);
}

static void test_strings_and_escapes(void) {
    lex_result r;
    lex_all(&r, "\"plain\" \"a\\\"b\" \"back\\\\slash\" \"n\\nt\\t\" \"\" \"# not a comment\"");
    CU_ASSERT_EQUAL_FATAL(r.n, 6);
    CU_ASSERT_STRING_EQUAL(r.toks[0].val.str, "plain");
    CU_ASSERT_STRING_EQUAL(r.toks[1].val.str, "a\"b");
    CU_ASSERT_STRING_EQUAL(r.toks[2].val.str, "back\\slash");
    CU_ASSERT_STRING_EQUAL(r.toks[3].val.str, "n\nt\t");
    CU_ASSERT_STRING_EQUAL(r.toks[4].val.str, "");
    CU_ASSERT_STRING_EQUAL(r.toks[5].val.str, "# not a comment");
    CU_ASSERT_EQUAL(r.d.n_errors, 0);
    lex_free(&r);
}

static void test_bad_escape_points_at_backslash(void) {
    lex_result r;
    lex_all(&r, "s = \"ab\\qc\"\n");
    CU_ASSERT_EQUAL(r.n, 3);
    CU_ASSERT_STRING_EQUAL(r.toks[2].val.str, "abqc");
    CU_ASSERT_STRING_EQUAL(r.errors,
        "t.dln:1:8: error: unknown escape sequence '\\q'\n"
        "    1 | s = \"ab\\qc\"\n"
        "      |        ^~\n"
        "hint: the escapes are \\\" \\\\ \\n and \\t\n");
    lex_free(&r);
}

static void test_unterminated_string(void) {
    lex_result r;
    lex_all(&r, "x = \"abc\ny = 1");
    /* x = STRING, then lexing goes on with the next line */
    CU_ASSERT_EQUAL_FATAL(r.n, 6);
    CU_ASSERT_EQUAL(r.toks[2].kind, TOK_STRING);
    CU_ASSERT_STRING_EQUAL(r.toks[2].val.str, "abc");
    CU_ASSERT_EQUAL(r.toks[3].kind, TOK_NAME);
    CU_ASSERT_EQUAL(r.toks[3].loc.line, 2);
    CU_ASSERT_EQUAL(r.d.n_errors, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "t.dln:1:5: error: unterminated string\n"));
    lex_free(&r);
}

static void test_comments_are_skipped(void) {
    lex_result r;
    lex_all(&r, "# a comment block model\na # another { }\n  # last\nb");
    CU_ASSERT_EQUAL_FATAL(r.n, 2);
    CU_ASSERT_STRING_EQUAL(r.toks[0].val.str, "a");
    CU_ASSERT_STRING_EQUAL(r.toks[1].val.str, "b");
    CU_ASSERT_EQUAL(r.toks[1].loc.line, 4);
    lex_free(&r);
}

/* `//` is floor division, as in Python, never a comment: `(k - 1) // 2` once
 * silently meant `(k - 1)`. */
static void test_floor_division_and_modulo(void) {
    lex_result r;
    lex_all(&r, "(k - 1) // 2 % 3 / 4");
    CU_ASSERT_EQUAL_FATAL(r.n, 11);
    CU_ASSERT_EQUAL(r.toks[5].kind, TOK_FLOORDIV);
    CU_ASSERT_EQUAL(r.toks[5].loc.col, 9);
    CU_ASSERT_EQUAL(r.toks[5].loc.end_col, 10);
    CU_ASSERT_EQUAL(r.toks[6].kind, TOK_INT);
    CU_ASSERT_EQUAL(r.toks[7].kind, TOK_PERCENT);
    CU_ASSERT_EQUAL(r.toks[9].kind, TOK_SLASH);
    lex_free(&r);
}

static void test_locations(void) {
    lex_result r;
    lex_all(&r, "block f\n\t  x |> relu\n  \"str\" 1.5");
    CU_ASSERT_EQUAL_FATAL(r.n, 7);
    src_loc l;
    l = r.toks[0].loc; /* block */
    CU_ASSERT_STRING_EQUAL(l.file, "t.dln");
    CU_ASSERT(l.line == 1 && l.col == 1 && l.end_line == 1 && l.end_col == 5);
    l = r.toks[1].loc; /* f */
    CU_ASSERT(l.line == 1 && l.col == 7 && l.end_col == 7);
    l = r.toks[2].loc; /* x: a tab counts as one column */
    CU_ASSERT(l.line == 2 && l.col == 4 && l.end_col == 4);
    l = r.toks[3].loc; /* |> */
    CU_ASSERT(l.line == 2 && l.col == 6 && l.end_col == 7);
    l = r.toks[4].loc; /* relu */
    CU_ASSERT(l.line == 2 && l.col == 9 && l.end_col == 12);
    l = r.toks[5].loc; /* "str" includes its quotes */
    CU_ASSERT(l.line == 3 && l.col == 3 && l.end_col == 7);
    l = r.toks[6].loc;
    CU_ASSERT(l.line == 3 && l.col == 9 && l.end_col == 11);
    /* end of file sits just after the last token */
    CU_ASSERT(r.eof_loc.line == 3 && r.eof_loc.col == 12);
    lex_free(&r);
}

static void test_invalid_characters_are_skipped_and_reported(void) {
    lex_result r;
    lex_all(&r, "a $ b ' c \x01 d \xc3\xa9 e");
    CU_ASSERT_EQUAL_FATAL(r.n, 5);
    for (int i = 0; i < 5; i++) CU_ASSERT_EQUAL(r.toks[i].kind, TOK_NAME);
    CU_ASSERT_EQUAL(r.d.n_errors, 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "t.dln:1:3: error: invalid character '$'\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "t.dln:1:7: error: invalid character '''\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "hint: strings use double quotes: \"...\"\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "error: invalid character '\\x01'\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errors, "error: invalid character '\xc3\xa9'\n"));
    lex_free(&r);
}

static void test_empty_input(void) {
    lex_result r;
    lex_all(&r, "  # only a comment\n");
    CU_ASSERT_EQUAL(r.n, 0);
    CU_ASSERT_EQUAL(r.eof_loc.line, 1);
    CU_ASSERT_EQUAL(r.eof_loc.col, 1);
    lex_free(&r);
}

void suite_lexer(void) {
    CU_pSuite s = CU_add_suite("lexer", NULL, NULL);
    CU_add_test(s, "every keyword and punctuator", test_every_keyword_and_punctuator);
    CU_add_test(s, "operators need no spaces", test_operators_need_no_spaces);
    CU_add_test(s, "numbers", test_numbers);
    CU_add_test(s, "bad numbers are reported", test_bad_numbers_are_reported);
    CU_add_test(s, "strings and escapes", test_strings_and_escapes);
    CU_add_test(s, "bad escape points at the backslash", test_bad_escape_points_at_backslash);
    CU_add_test(s, "unterminated string", test_unterminated_string);
    CU_add_test(s, "comments are skipped", test_comments_are_skipped);
    CU_add_test(s, "// and % are operators", test_floor_division_and_modulo);
    CU_add_test(s, "locations", test_locations);
    CU_add_test(s, "invalid characters", test_invalid_characters_are_skipped_and_reported);
    CU_add_test(s, "empty input", test_empty_input);
}
