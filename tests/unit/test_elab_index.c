/* test_elab_index.c — indexing in .dln (compiler/elab_index.c), through the
 * front end as users reach it: each case is a small model compiled with
 * parse_source + elab_program (with the embedded stdlib), then
 *   - the forward graph's output type as text (`x[:, 1:3]` of f32[N, 3, 8]
 *     is f32[N, 2, 8]),
 *   - the values the reference interpreter computes for a few indexings,
 *   - compile-time lists: `sizes[-1]`, `pair(k)[1]`, a block's results,
 *   - a train step through indexing differentiates (slice_grad),
 *   - the exact text of every indexing error, caret line included. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiled.h"
#include "interp.h"

/* The source of `model m(x: <input>) -> f32 { <body> }`. */
static char *model_src(const char *input, const char *body) {
    static char buf[2048];
    snprintf(buf, sizeof buf, "block two(x: f32[N, K]) {\n    return x, x * 2.0\n}\nmodel m(x: %s) -> f32 {\n%s\n}\n",
             input, body);
    return buf;
}

/* The forward output's type, or the diagnostics when it did not compile. */
static void check_type(const char *input, const char *body, const char *want) {
    compiled c;
    compiled_init(&c, model_src(input, body));
    char got[128] = "";
    if (c.mod && c.mod->forward->n_outputs > 0) {
        const ir_node *o = c.mod->forward->outputs[0].node;
        ir_shape_str(got, sizeof got, o->dtype, &o->shape, c.mod);
    }
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want)) printf("\n  %s: got '%s', want '%s'\n%s", body, got, want, c.diags ? c.diags : "");
    compiled_free(&c);
}

static void test_index_types(void) {
    const char *x3 = "f32[N, 3, 8]";
    check_type(x3, "    return x[:, 1:3]", "f32[N, 2, 8]");
    check_type(x3, "    return x[:, 1]", "f32[N, 8]");
    check_type(x3, "    return x[:, -1, -1]", "f32[N]");
    check_type(x3, "    return x[:, :, ::3]", "f32[N, 3, 3]");
    check_type(x3, "    return x[:, :, 1::3]", "f32[N, 3, 3]");
    check_type(x3, "    return x[:, :, -3:]", "f32[N, 3, 3]");
    check_type(x3, "    return x[:, :, :100]", "f32[N, 3, 8]");      /* bounds clamp, as in Python */
    check_type(x3, "    return x[:, 0:-1, 2:-2:2]", "f32[N, 2, 2]");
    check_type(x3, "    return x[:]", "f32[N, 3, 8]");
    check_type(x3, "    return x[:, 1][:, 2:4]", "f32[N, 2]");
    check_type(x3, "    k = 2\n    return x[:, k - 1, k:2 * k]", "f32[N, 2]");
    check_type(x3, "    w = reshape(x, [N, 24])\n    return w[:, 5]", "f32[N]");
}

/* Dropping every axis leaves a rank-0 tensor (x[0, 0] of f32[3, 4] is f32[]). */
static void test_index_rank0(void) {
    compiled c;
    compiled_init(&c, model_src("f32[N, 3]", "    s = sum(x, axis = 0)[1]\n    return x * s"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    int scalars = 0;
    for (int k = 0; k < c.mod->forward->n_nodes; k++) {
        const ir_node *n = c.mod->forward->nodes[k];
        scalars += n->op == OP_reshape && n->shape.rank == 0 && n->in[0]->op == OP_slice;
    }
    CU_ASSERT_EQUAL(scalars, 1);
    compiled_free(&c);
}

static void test_list_index(void) {
    const char *x3 = "f32[N, 3, 8]";
    check_type(x3, "    sizes = [4, 8, 16]\n    return dense(flatten(x), sizes[-1])", "f32[N, 16]");
    check_type(x3, "    sizes = [4, 8, 16]\n    return dense(flatten(x), sizes[1:][0])", "f32[N, 8]");
    check_type(x3, "    sizes = [4, 8, 16, 32]\n    return dense(flatten(x), sizes[::2][1])", "f32[N, 16]");
    check_type(x3, "    return dense(flatten(x), pair((5, 7))[1])", "f32[N, 7]");
    check_type(x3, "    return dense(flatten(x), pair(6)[-2])", "f32[N, 6]");
    check_type(x3, "    r = two(flatten(x))\n    return r[1]", "f32[N, 24]");
    check_type(x3, "    return two(x[:, 0])[0][:, 1:3]", "f32[N, 2]");
}

/* Values: x = 0, 1, 2, ... (N = 2, f32[2, 3, 8]); x[:, 1, 2:7:2] is
 * x[n][1][2], [4], [6]. */
static void test_index_values(void) {
    compiled c;
    compiled_init(&c, model_src("f32[N, 3, 8]", "    return x[:, 1, 2:7:2] + x[:, -1, -1:]"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    double xv[48];
    for (int k = 0; k < 48; k++) xv[k] = k;
    double *ins[1] = {xv};
    int64_t syms[IR_MAX_SYMS] = {2};
    interp_state s;
    CU_ASSERT_EQUAL_FATAL(interp_run(&s, c.mod->forward, syms, ins, NULL, 1), 0);
    const double *y = interp_output(&s, 0);
    for (int n = 0; n < 2; n++)
        for (int j = 0; j < 3; j++) {
            double want = (24 * n + 8 + 2 + 2 * j) + (24 * n + 16 + 7);
            CU_ASSERT_DOUBLE_EQUAL(y[n * 3 + j], want, 1e-12);
        }
    interp_free(&s);
    compiled_free(&c);
}

/* argsort of an i32 tensor (MAE's ids_restore = argsort(ids_shuffle)): the
 * inverse permutation, so argsort of argsort of a permutation gives it back. */
static void test_argsort_i32(void) {
    compiled c;
    compiled_init(&c, model_src("f32[N, 5]", "    return cast_f32(argsort(argsort(x, axis = 1), axis = 1))"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    double xv[10] = {3, 1, 4, 0, 2, 0, 4, 1, 3, 2};
    double *ins[1] = {xv};
    int64_t syms[IR_MAX_SYMS] = {2};
    interp_state s;
    CU_ASSERT_EQUAL_FATAL(interp_run(&s, c.mod->forward, syms, ins, NULL, 1), 0);
    const double *y = interp_output(&s, 0);
    for (int k = 0; k < 10; k++) CU_ASSERT_DOUBLE_EQUAL(y[k], xv[k], 0);
    interp_free(&s);
    compiled_free(&c);
}

/* A train step through indexing: the gradient of the loss reaches the
 * weight through slice_grad (and the integer index's reshape). */
static void test_index_train(void) {
    compiled c;
    compiled_init(&c, "model m(x: f32[N, 3, 8]) -> f32[N, 4] {\n"
                "    h = dense(x[:, 1], 6)\n"
                "    return dense(h[:, 1:5], 4)\n"
                "}\n"
                "train m {\n"
                "    data = csv(\"none.csv\", batch = 4, classify = false)\n"
                "    loss = mse(output, label)\n"
                "    optim = sgd(lr = 0.1)\n"
                "    epochs = 1\n"
                "}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    CU_ASSERT_PTR_NOT_NULL(c.mod->train_step);
    if (!c.mod->train_step) printf("\n%s", c.diags);
    int slice_grads = 0;
    for (int k = 0; c.mod->train_step && k < c.mod->train_step->n_nodes; k++)
        slice_grads += c.mod->train_step->nodes[k]->op == OP_slice_grad;
    CU_ASSERT(slice_grads >= 1);
    compiled_free(&c);
}

/* The whole diagnostic (message, source line, caret line, hint). */
static void check_error(const char *input, const char *body, const char *want) {
    compiled_expect_errors(model_src(input, body), want);
}

static void test_index_errors(void) {
    const char *x3 = "f32[N, 3, 8]";
    check_error(x3, "    return x[:, :, :, 0]",
                "t.dln:5:23: error: too many indices: f32[N, 3, 8] has 3 dimensions, 4 indices given\n"
                "    5 |     return x[:, :, :, 0]\n"
                "      |                       ^\n");
    check_error(x3, "    return x[:, 3]",
                "t.dln:5:17: error: index 3 is out of range for dimension 1 of size 3\n"
                "    5 |     return x[:, 3]\n"
                "      |                 ^\n");
    check_error(x3, "    return x[:, :, -9]",
                "t.dln:5:20: error: index -9 is out of range for dimension 2 of size 8\n"
                "    5 |     return x[:, :, -9]\n"
                "      |                    ^~\n");
    check_error(x3, "    return x[1:]",
                "t.dln:5:14: error: cannot index dimension 0 of f32[N, 3, 8]: its size is only known at run time\n"
                "    5 |     return x[1:]\n"
                "      |              ^~\n"
                "hint: keep it whole with ':'\n");
    check_error(x3, "    return x[0]",
                "t.dln:5:14: error: cannot index dimension 0 of f32[N, 3, 8]: its size is only known at run time\n"
                "    5 |     return x[0]\n"
                "      |              ^\n"
                "hint: keep it whole with ':'\n");
    check_error(x3, "    return x[:, 2:2]",
                "t.dln:5:17: error: this slice of axis 1 is empty: [2:2] of a dimension of size 3\n"
                "    5 |     return x[:, 2:2]\n"
                "      |                 ^~~\n"
                "hint: tensors cannot have zero elements\n");
    check_error(x3, "    return x[:, ::-1]",
                "t.dln:5:19: error: the step of a slice must be positive, got -1\n"
                "    5 |     return x[:, ::-1]\n"
                "      |                   ^~\n");
    check_error(x3, "    return x[:, 0.5]",
                "t.dln:5:17: error: an index must be an int or a slice, got float 0.5\n"
                "    5 |     return x[:, 0.5]\n"
                "      |                 ^~~\n");
    check_error(x3, "    return x[:, x]",
                "t.dln:5:17: error: indexing with a tensor is not supported\n"
                "    5 |     return x[:, x]\n"
                "      |                 ^\n"
                "hint: an index is a compile-time int or a slice such as 1:3\n");
    check_error(x3, "    return x[:, 1:\"a\"]",
                "t.dln:5:19: error: a slice bound must be an int, got str \"a\"\n"
                "    5 |     return x[:, 1:\"a\"]\n"
                "      |                   ^~~\n");
    check_error(x3, "    s = [1, 2]\n    return x[:, s[2]]",
                "t.dln:6:19: error: index 2 is out of range for a list of size 2\n"
                "    6 |     return x[:, s[2]]\n"
                "      |                   ^\n");
    check_error(x3, "    s = [1, 2]\n    return x[:, s[0, 1]]",
                "t.dln:6:22: error: a list takes one index, got 2\n"
                "    6 |     return x[:, s[0, 1]]\n"
                "      |                      ^\n");
    check_error(x3, "    return two(flatten(x))[true]",
                "t.dln:5:28: error: a list index must be an int, got bool true\n"
                "    5 |     return two(flatten(x))[true]\n"
                "      |                            ^~~~\n");
    check_error(x3, "    k = 3\n    return k[0]",
                "t.dln:6:12: error: cannot index int 3\n"
                "    6 |     return k[0]\n"
                "      |            ^\n"
                "hint: tensors and lists (such as a block's several results) can be indexed\n");
}

void suite_elab_index(void) {
    CU_pSuite s = CU_add_suite("elab_index", NULL, NULL);
    CU_add_test(s, "tensor index types", test_index_types);
    CU_add_test(s, "rank 0 by int indices", test_index_rank0);
    CU_add_test(s, "list and tuple indexing", test_list_index);
    CU_add_test(s, "indexed values (interpreter)", test_index_values);
    CU_add_test(s, "argsort of an i32 permutation (interpreter)", test_argsort_i32);
    CU_add_test(s, "train step through indexing", test_index_train);
    CU_add_test(s, "indexing errors (exact text)", test_index_errors);
}
