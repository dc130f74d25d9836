/* test_elab_arith.c — compile-time and tensor arithmetic that once went
 * wrong silently: `//` was a comment, so `(k - 1) // 2` meant `(k - 1)`.
 *   - `//` and `%` on compile-time ints and floats follow Python (the
 *     quotient rounds toward -infinity, the remainder has the divisor's sign);
 *   - an integral float is an int wherever an int is required (C * 0.5);
 *     a non-integral one is an error that shows its value;
 *   - on tensors, a // b = floor(a / b) and a % b = a - b * floor(a / b), as
 *     torch's floor division and remainder, checked on the interpreter;
 *   - division and modulo by a compile-time zero are errors;
 *   - compile-time lists join with + (Python's), and `inf` is the float infinity. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiled.h"
#include "interp.h"

static const char *model_src(const char *body) {
    static char buf[2048];
    snprintf(buf, sizeof buf,
             "block half(x: f32[N, C], k: int) -> f32 {\n    return x[:, 0:k]\n}\n"
             "model m(x: f32[N, 40]) -> f32 {\n%s\n}\n", body);
    return buf;
}

/* The output's second dimension, which the body computes at compile time. */
static long width_of(const char *body, char **diags) {
    static compiled c;
    compiled_init(&c, model_src(body));
    long w = -1;
    if (c.mod && c.mod->forward->n_outputs > 0) w = (long)c.mod->forward->outputs[0].node->shape.d[1].k;
    if (diags) *diags = c.diags ? strdup(c.diags) : strdup("");
    compiled_free(&c);
    return w;
}

static void check_width(const char *expr, long want) {
    char body[256];
    snprintf(body, sizeof body, "    return x[:, 0:(%s)]", expr);
    char *d = NULL;
    long got = width_of(body, &d);
    CU_ASSERT_EQUAL(got, want);
    if (got != want) printf("\n  %s: got %ld, want %ld\n%s", expr, got, want, d);
    free(d);
}

static void test_python_floor_division(void) {
    check_width("(9 - 1) // 2", 4);  /* was 8: the comment ate "// 2" */
    check_width("(-7) // 2 + 10", 6); /* -4 */
    check_width("7 // -2 + 10", 6);   /* -4 */
    check_width("-7 % 3 + 10", 12);   /* 2 */
    check_width("7 % -3 + 10", 8);    /* -2 */
    check_width("7 % 3", 1);
    check_width("7.5 // 2", 3);       /* 3.0, an integral float */
    check_width("(-7.5 % 2) * 4", 2); /* 0.5 * 4 */
    check_width("2 + 3 * 4 // 5 % 3", 4); /* ((3 * 4) // 5) % 3 = 2: same precedence, left to right */
}

static void test_integral_float_as_int(void) {
    CU_ASSERT_EQUAL(width_of("    return half(x, 40 * 0.5)", NULL), 20);
    CU_ASSERT_EQUAL(width_of("    return dense(x, 40 * 0.25)", NULL), 10);
    char *d = NULL;
    CU_ASSERT_EQUAL(width_of("    return dense(x, 40 * 0.33)", &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "t.dln:5:21: error: argument 'units' of 'dense' must be int, got float 13.200000000000001\n"));
    free(d);
    CU_ASSERT_EQUAL(width_of("    return half(x, 2.5)", &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "error: argument 'k' of 'half' must be int, got float 2.5\n"));
    free(d);
    CU_ASSERT_EQUAL(width_of("    return x[:, 0:7 // 0]", &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "error: division by zero in a compile-time expression\n"));
    free(d);
    CU_ASSERT_EQUAL(width_of("    return x[:, 0:7 % 0]", &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "error: modulo by zero in a compile-time expression\n"));
    free(d);
}

/* A dimension name in tensor arithmetic is its run-time size: x / N with N = 3 rows, and
 * x * W with the constant W = 40; N - 1 stays an error whose hint says how to write it. */
static void test_dimension_as_value(void) {
    compiled c;
    compiled_init(&c, "model m(x: f32[N, 40]) -> f32 {\n    return x / N + 0.001 * (x * 40)\n}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    double xv[120];
    for (int k = 0; k < 120; k++) xv[k] = 0.5 * k - 7;
    double *ins[1] = {xv};
    int64_t syms[IR_MAX_SYMS] = {3};
    interp_state s;
    CU_ASSERT_EQUAL_FATAL(interp_run(&s, c.mod->forward, syms, ins, NULL, 3), 0);
    const double *y = interp_output(&s, 0);
    for (int k = 0; k < 120; k++) CU_ASSERT_DOUBLE_EQUAL(y[k], xv[k] / 3 + 0.04 * xv[k], 1e-9);
    interp_free(&s);
    compiled_free(&c);
    char *d = NULL;
    CU_ASSERT_EQUAL(width_of("    return x * (N - 1)", &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "write numel(x, axis = 0) - 1"));
    free(d);
}

/* Compile-time lists join with + as Python's (a repeat collecting what each copy makes), a
 * list and a number do not; `inf` is the float infinity (masks: where(keep, 0.0, -inf)). */
static void test_list_concat_and_inf(void) {
    check_width("([1, 2] + [3, 4])[3] * 5", 20);
    check_width("([] + [7] + [])[0]", 7);
    char body[256];
    snprintf(body, sizeof body, "    outs = []\n    repeat i in 3 { outs = outs + [i + 2] }\n    return x[:, 0:outs[2] * outs[0]]");
    CU_ASSERT_EQUAL(width_of(body, NULL), 8); /* [2, 3, 4]: 4 * 2 */
    char *d = NULL;
    CU_ASSERT_EQUAL(width_of("    return x[:, 0:([1] + 2)[0]]", &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "error: operator '+' is not defined for a list of 1 value and int 2\n"));
    free(d);
    compiled c;
    compiled_init(&c, "model m(x: f32[N, 40]) -> f32 {\n    return where(x > 0.0, x, -inf) + clamp(x, max = inf) * 0.0\n}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    double xv[40];
    for (int k = 0; k < 40; k++) xv[k] = k - 20.5;
    double *ins[1] = {xv};
    int64_t syms[IR_MAX_SYMS] = {1};
    interp_state st;
    CU_ASSERT_EQUAL_FATAL(interp_run(&st, c.mod->forward, syms, ins, NULL, 1), 0);
    const double *y = interp_output(&st, 0);
    for (int k = 0; k < 40; k++) CU_ASSERT(xv[k] > 0 ? y[k] == xv[k] : isinf(y[k]) && y[k] < 0);
    interp_free(&st);
    compiled_free(&c);
}

/* A vector operand of @ is torch.matmul's: x @ v of f32[N, 4] and f32[4] is
 * f32[N], v @ M is f32[3], v @ v a scalar; ndim(x) is the rank. */
static void test_matmul_vectors(void) {
    compiled c;
    compiled_init(&c, "model m(x: f32[N, 4]) -> f32[N, 5] {\n"
                      "    v = arange(4)\n"
                      "    M = reshape(arange(12), [4, 3])\n"
                      "    return concat([unsqueeze(x @ v, 1), x[:, 0:3] * (v @ M), unsqueeze((v @ v) * x[:, 0], 1)], axis = 1)\n"
                      "}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    double xv[8] = {1, 2, 3, 4, -1, 0.5, 2, -3};
    double *ins[1] = {xv};
    int64_t syms[IR_MAX_SYMS] = {2};
    interp_state s;
    CU_ASSERT_EQUAL_FATAL(interp_run(&s, c.mod->forward, syms, ins, NULL, 2), 0);
    const double *y = interp_output(&s, 0);
    const double vm[3] = {42, 48, 54}; /* (0, 1, 2, 3) @ arange(12).reshape(4, 3) */
    for (int i = 0; i < 2; i++) {
        const double *r = xv + 4 * i;
        CU_ASSERT_DOUBLE_EQUAL(y[5 * i], r[1] + 2 * r[2] + 3 * r[3], 1e-9);
        for (int j = 0; j < 3; j++) CU_ASSERT_DOUBLE_EQUAL(y[5 * i + 1 + j], r[j] * vm[j], 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(y[5 * i + 4], 14 * r[0], 1e-9);
    }
    interp_free(&s);
    compiled_free(&c);
    check_width("ndim(x) + ndim(x[:, 0])", 3);
}

/* x = -4.5, -4.25, ..., 5.25 (N = 1); y = x // 1.5 + 100 * (x % 1.5) and the
 * same with a negative divisor. */
static void test_tensor_floor_division(void) {
    compiled c;
    compiled_init(&c, "model m(x: f32[N, 40]) -> f32 {\n"
                      "    return x // 1.5 + 100 * (x % 1.5) + 10000 * (x // -2) + 1000000 * (x % -2)\n}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    double xv[40];
    for (int k = 0; k < 40; k++) xv[k] = -4.5 + 0.25 * k;
    double *ins[1] = {xv};
    int64_t syms[IR_MAX_SYMS] = {1};
    interp_state s;
    CU_ASSERT_EQUAL_FATAL(interp_run(&s, c.mod->forward, syms, ins, NULL, 1), 0);
    const double *y = interp_output(&s, 0);
    for (int k = 0; k < 40; k++) {
        double x = xv[k], q1 = floor(x / 1.5), q2 = floor(x / -2);
        double want = q1 + 100 * (x - 1.5 * q1) + 10000 * q2 + 1000000 * (x + 2 * q2);
        CU_ASSERT_DOUBLE_EQUAL(y[k], want, 1e-6);
    }
    interp_free(&s);
    compiled_free(&c);
}

void suite_elab_arith(void) {
    CU_pSuite s = CU_add_suite("elab_arith", NULL, NULL);
    CU_add_test(s, "// and % on compile-time numbers follow Python", test_python_floor_division);
    CU_add_test(s, "an integral float is an int; others are errors with their value", test_integral_float_as_int);
    CU_add_test(s, "// and % on tensors: floor(a / b) and a - b * floor(a / b)", test_tensor_floor_division);
    CU_add_test(s, "a dimension in tensor arithmetic is its run-time size (x / N)", test_dimension_as_value);
    CU_add_test(s, "list + list joins compile-time lists; inf is the float infinity", test_list_concat_and_inf);
    CU_add_test(s, "@ with a vector operand is torch.matmul's; ndim(x)", test_matmul_vectors);
}
