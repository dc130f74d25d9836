/* test_diag.c — the diagnostic format, compared as exact text.
 *
 * Golden tests and users both depend on the format byte for byte, so every
 * feature (caret, underline, hint, tabs, notes, no location, the error cap)
 * is pinned here against a literal expected string. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

/* A diag context writing into memory. */
typedef struct {
    diag_ctx d;
    FILE *out;
    char *buf;
    size_t len;
} diag_fixture;

static void fx_open(diag_fixture *fx) {
    fx->buf = NULL;
    fx->len = 0;
    fx->out = open_memstream(&fx->buf, &fx->len);
    diag_init(&fx->d, fx->out);
}

/* Closes the stream; returns the text (owned by fx). */
static const char *fx_text(diag_fixture *fx) {
    fclose(fx->out);
    fx->out = NULL;
    return fx->buf;
}

static void fx_close(diag_fixture *fx) {
    if (fx->out) fclose(fx->out);
    free(fx->buf);
    free(fx->d.sources);
}

static src_loc at(const char *file, int line, int col, int end_line, int end_col) {
    return (src_loc){file, line, col, end_line, end_col};
}

static void test_caret_and_underline(void) {
    diag_fixture fx;
    fx_open(&fx);
    const char *f = diag_add_source(&fx.d, "model.dln", "model m() {\n  x = 1\n    return x @ w + b\n}\n");
    diag_error(&fx.d, at(f, 3, 14, 3, 20), "cannot add f32[N, 10] and f32[N, 12]\nhint: the last dimensions must be equal or 1 (NumPy broadcasting)");
    CU_ASSERT_STRING_EQUAL(fx_text(&fx),
        "model.dln:3:14: error: cannot add f32[N, 10] and f32[N, 12]\n"
        "    3 |     return x @ w + b\n"
        "      |              ^~~~~~~\n"
        "hint: the last dimensions must be equal or 1 (NumPy broadcasting)\n");
    CU_ASSERT_EQUAL(fx.d.n_errors, 1);
    fx_close(&fx);
}

static void test_single_char_and_no_hint(void) {
    diag_fixture fx;
    fx_open(&fx);
    const char *f = diag_add_source(&fx.d, "a.dln", "y = $\n");
    diag_error(&fx.d, at(f, 1, 5, 1, 5), "invalid character '%c'", '$');
    CU_ASSERT_STRING_EQUAL(fx_text(&fx),
        "a.dln:1:5: error: invalid character '$'\n"
        "    1 | y = $\n"
        "      |     ^\n");
    fx_close(&fx);
}

static void test_tabs_expand_in_both_lines(void) {
    diag_fixture fx;
    fx_open(&fx);
    /* "\ty =\tbad": 'b' is byte column 6; visually the first tab reaches 8,
     * "y =" takes 8..10, the second tab reaches 16. */
    const char *f = diag_add_source(&fx.d, "t.dln", "\ty =\tbad\n");
    diag_error(&fx.d, at(f, 1, 6, 1, 8), "unknown name 'bad'");
    CU_ASSERT_STRING_EQUAL(fx_text(&fx),
        "t.dln:1:6: error: unknown name 'bad'\n"
        "    1 |         y =     bad\n"
        "      |                 ^~~\n");
    fx_close(&fx);
}

static void test_multiline_span_underlines_to_end_of_line(void) {
    diag_fixture fx;
    fx_open(&fx);
    const char *f = diag_add_source(&fx.d, "m.dln", "x = f(a,\n      b)\n");
    diag_error(&fx.d, at(f, 1, 5, 2, 8), "bad call");
    CU_ASSERT_STRING_EQUAL(fx_text(&fx),
        "m.dln:1:5: error: bad call\n"
        "    1 | x = f(a,\n"
        "      |     ^~~~\n");
    fx_close(&fx);
}

static void test_note_and_warning(void) {
    diag_fixture fx;
    fx_open(&fx);
    const char *f = diag_add_source(&fx.d, "n.dln", "block dense(x) {\n}\n");
    diag_warning(&fx.d, at(f, 2, 1, 2, 1), "empty block");
    diag_note(&fx.d, at(f, 1, 7, 1, 11), "block '%s' defined here", "dense");
    CU_ASSERT_STRING_EQUAL(fx_text(&fx),
        "n.dln:2:1: warning: empty block\n"
        "    2 | }\n"
        "      | ^\n"
        "n.dln:1:7: note: block 'dense' defined here\n"
        "    1 | block dense(x) {\n"
        "      |       ^~~~~\n");
    CU_ASSERT_EQUAL(fx.d.n_errors, 0);
    CU_ASSERT_EQUAL(fx.d.n_warnings, 1);
    fx_close(&fx);
}

static void test_no_location(void) {
    diag_fixture fx;
    fx_open(&fx);
    diag_fatal_noloc(&fx.d, "cannot read '%s': %s", "x.dln", "No such file or directory");
    diag_error(&fx.d, (src_loc){0}, "no model to train\nhint: add a 'train' section");
    CU_ASSERT_STRING_EQUAL(fx_text(&fx),
        "dlnc: error: cannot read 'x.dln': No such file or directory\n"
        "dlnc: error: no model to train\n"
        "hint: add a 'train' section\n");
    CU_ASSERT_EQUAL(fx.d.n_errors, 2);
    fx_close(&fx);
}

static void test_gutter_is_five_wide_and_unknown_file_prints_header_only(void) {
    diag_fixture fx;
    fx_open(&fx);
    char *text = malloc(20000);
    char *p = text;
    for (int i = 1; i < 12345; i++) *p++ = '\n';
    strcpy(p, "oops\n");
    const char *f = diag_add_source(&fx.d, "big.dln", text);
    diag_error(&fx.d, at(f, 12345, 1, 12345, 4), "x");
    diag_error(&fx.d, at("unregistered.dln", 2, 3, 2, 3), "y");
    diag_error(&fx.d, at(f, 99999, 1, 99999, 1), "past the end");
    CU_ASSERT_STRING_EQUAL(fx_text(&fx),
        "big.dln:12345:1: error: x\n"
        "12345 | oops\n"
        "      | ^~~~\n"
        "unregistered.dln:2:3: error: y\n"
        "big.dln:99999:1: error: past the end\n");
    free(text);
    fx_close(&fx);
}

static void test_caret_past_end_of_line(void) {
    diag_fixture fx;
    fx_open(&fx);
    const char *f = diag_add_source(&fx.d, "e.dln", "y = 1 +");
    diag_error(&fx.d, at(f, 1, 8, 1, 8), "expected expression before end of file");
    CU_ASSERT_STRING_EQUAL(fx_text(&fx),
        "e.dln:1:8: error: expected expression before end of file\n"
        "    1 | y = 1 +\n"
        "      |        ^\n");
    fx_close(&fx);
}

static void test_too_many_errors(void) {
    diag_fixture fx;
    fx_open(&fx);
    fx.d.max_errors = 2;
    for (int i = 0; i < 5; i++) diag_error(&fx.d, (src_loc){0}, "e%d", i);
    diag_note(&fx.d, (src_loc){0}, "suppressed with its error");
    CU_ASSERT_STRING_EQUAL(fx_text(&fx),
        "dlnc: error: e0\n"
        "dlnc: error: e1\n"
        "dlnc: error: too many errors; stopping\n");
    CU_ASSERT(fx.d.n_errors >= 2);
    fx_close(&fx);
}

static void test_default_limit_is_twenty(void) {
    diag_fixture fx;
    fx_open(&fx);
    for (int i = 0; i < 25; i++) diag_error(&fx.d, (src_loc){0}, "e");
    const char *t = fx_text(&fx);
    int lines = 0;
    for (const char *p = t; *p; p++) lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, 21);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "too many errors; stopping"));
    fx_close(&fx);
}

static void test_loc_span(void) {
    src_loc a = {"f", 1, 5, 1, 7}, b = {"f", 3, 2, 3, 9};
    src_loc s = loc_span(a, b);
    CU_ASSERT_STRING_EQUAL(s.file, "f");
    CU_ASSERT_EQUAL(s.line, 1);
    CU_ASSERT_EQUAL(s.col, 5);
    CU_ASSERT_EQUAL(s.end_line, 3);
    CU_ASSERT_EQUAL(s.end_col, 9);
}

static void test_crlf_line_is_quoted_without_cr(void) {
    diag_fixture fx;
    fx_open(&fx);
    const char *f = diag_add_source(&fx.d, "w.dln", "a = 1\r\nb = ?\r\n");
    diag_error(&fx.d, at(f, 2, 5, 2, 5), "q");
    CU_ASSERT_STRING_EQUAL(fx_text(&fx),
        "w.dln:2:5: error: q\n"
        "    2 | b = ?\n"
        "      |     ^\n");
    fx_close(&fx);
}

void suite_diag(void) {
    CU_pSuite s = CU_add_suite("diag", NULL, NULL);
    CU_add_test(s, "caret and underline with hint", test_caret_and_underline);
    CU_add_test(s, "single character, no hint", test_single_char_and_no_hint);
    CU_add_test(s, "tabs expand in both lines", test_tabs_expand_in_both_lines);
    CU_add_test(s, "multi-line span", test_multiline_span_underlines_to_end_of_line);
    CU_add_test(s, "note and warning", test_note_and_warning);
    CU_add_test(s, "no location", test_no_location);
    CU_add_test(s, "gutter width, unknown file, line past end", test_gutter_is_five_wide_and_unknown_file_prints_header_only);
    CU_add_test(s, "caret past end of line", test_caret_past_end_of_line);
    CU_add_test(s, "too many errors", test_too_many_errors);
    CU_add_test(s, "default limit is 20", test_default_limit_is_twenty);
    CU_add_test(s, "loc_span", test_loc_span);
    CU_add_test(s, "CRLF line endings", test_crlf_line_is_quoted_without_cr);
}
