/* test_split_grad.c — pass_fold's split-gradient rule: the gradient of
 * split/chunk (a sum of slice_grads that tile an axis) becomes one concat.
 *
 * Each case elaborates a small model with a train section twice: once left
 * as autodiff produced it, once through fold, CSE and DCE. The reference
 * interpreter must give the same loss and parameter gradients for both, and
 * the folded train step must have as many slice_grads left as the case
 * expects (none when every piece of the split reaches the loss alone; the
 * rule does not apply when a piece is unused or the split tensor has other
 * uses, and the gradients must still agree). One case also goes through
 * the whole pipeline and the emitted C (as test_emit.c builds it: cc, then
 * dlopen, libdlnrt.a beside the test binary), whose train step must match
 * the interpreter on the unfolded graph. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiled.h"
#include "dlnrt.h"
#include "emitted.h"
#include "interp.h"
#include "passes.h"

static int count_op(const ir_graph *g, ir_opcode op) {
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++) k += g->nodes[i]->op == op;
    return k;
}

/* Deterministic inputs and parameters for N = 3 (float-representable, so
 * the emitted model sees exactly what the interpreter does). */
static double *values(int64_t n, int salt) {
    double *v = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = (float)(sin(0.7 * (double)i + salt) * (1 + 0.1 * (double)(i % 5)));
    return v;
}

/* Loss and all parameter gradients of the train step, in output order (malloc'ed). */
static double *run_train(ir_module *m, int64_t *count) {
    const int64_t sym[IR_MAX_SYMS] = {3};
    ir_graph *g = m->train_step;
    double **ins = calloc((size_t)g->n_inputs, sizeof *ins), **ps = calloc((size_t)m->n_params + 1, sizeof *ps);
    for (int i = 0; i < g->n_inputs; i++) ins[i] = values(ir_dim_eval(ir_shape_numel(&g->inputs[i].node->shape), sym), i);
    for (int j = 0; j < m->n_params; j++) ps[j] = values(ir_dim_eval(ir_shape_numel(&m->params[j].shape), sym), 10 + j);
    interp_state s;
    double *out = NULL;
    *count = 0;
    if (interp_run(&s, g, sym, ins, ps, 1) == 0) {
        for (int k = 0; k < g->n_outputs; k++) *count += interp_numel(&s, g->outputs[k].node);
        out = malloc(sizeof(double) * (size_t)(*count ? *count : 1));
        int64_t at = 0;
        for (int k = 0; k < g->n_outputs; k++) {
            int64_t n = interp_numel(&s, g->outputs[k].node);
            memcpy(out + at, interp_output(&s, k), sizeof(double) * (size_t)n);
            at += n;
        }
        interp_free(&s);
    }
    for (int i = 0; i < g->n_inputs; i++) free(ins[i]);
    for (int j = 0; j < m->n_params; j++) free(ps[j]);
    free(ins);
    free(ps);
    return out;
}

static void model_src(char *src, size_t len, const char *body) {
    snprintf(src, len,
             "model m(x: f32[N, 6]) -> f32 {\n%s\n}\n"
             "train m {\n    data = csv(\"unused.csv\", batch = 3, classify = false)\n"
             "    loss = mean(output * label)\n    optim = sgd(lr = 0.1)\n    epochs = 1\n}\n",
             body);
}

static void check(const char *body, int want_slice_grads, int want_concats) {
    char src[1024];
    model_src(src, sizeof src, body);
    arena a1 = {0}, a2 = {0};
    ir_module *plain = compiled_elaborate(&a1, stderr, src), *folded = compiled_elaborate(&a2, stderr, src);
    CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
    CU_ASSERT_PTR_NOT_NULL_FATAL(folded);
    CU_ASSERT(count_op(plain->train_step, OP_slice_grad) >= 2);
    pass_fold(folded->train_step);
    pass_cse(folded->train_step);
    pass_dce(folded->train_step);
    CU_ASSERT_EQUAL(count_op(folded->train_step, OP_slice_grad), want_slice_grads);
    if (count_op(folded->train_step, OP_slice_grad) != want_slice_grads)
        printf("\n  %d slice_grads left, want %d: %s\n", count_op(folded->train_step, OP_slice_grad), want_slice_grads, body);
    CU_ASSERT_EQUAL(count_op(folded->train_step, OP_concat) - count_op(plain->train_step, OP_concat), want_concats);
    int64_t n1, n2;
    double *r1 = run_train(plain, &n1), *r2 = run_train(folded, &n2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r2);
    CU_ASSERT_EQUAL_FATAL(n1, n2);
    int same = 1;
    for (int64_t i = 0; i < n1; i++) same &= fabs(r1[i] - r2[i]) <= 1e-12 * fmax(1, fabs(r1[i]));
    CU_ASSERT(same);
    if (!same) printf("\n  gradients differ after folding: %s\n", body);
    free(r1);
    free(r2);
    arena_free(&a1);
    arena_free(&a2);
}

static void test_split_grad_folds(void) {
    /* GLU: both halves reach the loss through different paths */
    check("    h = dense(x, 8)\n    a, b = chunk(h, 2, axis = 1)\n    return a * sigmoid(b)", 0, 1);
    /* uneven pieces, given in any order of use */
    check("    h = dense(x, 9)\n    a, b, c = split(h, [2, 4, 3], axis = 1)\n"
          "    return concat([tanh(c), a * 2.0, relu(b)], axis = 1)", 0, 1);
    /* along a non-last axis */
    check("    h = reshape(dense(x, 12), [N, 4, 3])\n    p, q = split(h, 2, axis = 1)\n    return flatten(p * q)", 0, 1);
    /* indexing pieces that tile: h[:, :3] and h[:, 3:] */
    check("    h = dense(x, 6)\n    return h[:, :3] * h[:, 3:]", 0, 1);
    /* the pieces' sum is folded even when another slice's gradient is added later */
    check("    h = dense(x, 8)\n    a, b = chunk(h, 2, axis = 1)\n    return a * b + b + h[:, :4]", 1, 1);
}

static void test_split_grad_left_alone(void) {
    /* a piece unused: its slice_grad is missing, the others stay */
    check("    h = dense(x, 8)\n    a, b, c, d = chunk(h, 4, axis = 1)\n    return a * b + c", 3, 0);
    /* the split tensor has another use: the slice_grads sum with it */
    check("    h = dense(x, 8)\n    a, b = chunk(h, 2, axis = 1)\n    return concat([a * b, b], axis = 1) + h", 2, 0);
    /* overlapping slices do not tile */
    check("    h = dense(x, 6)\n    return h[:, :4] * h[:, 2:]", 2, 0);
}

/* ---- the folded gradient in the emitted C ---------------------------------- */

static void test_split_grad_emitted(void) {
    char src[1024];
    model_src(src, sizeof src, "    h = dense(x, 8)\n    a, b, c = split(h, [3, 1, 4], axis = 1)\n"
                               "    return concat([a * sigmoid(c[:, 1:]), b], axis = 1)");
    arena a1 = {0}, a2 = {0};
    ir_module *plain = compiled_elaborate(&a1, stderr, src), *m = compiled_elaborate(&a2, stderr, src);
    CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    emitted built;
    CU_ASSERT_EQUAL_FATAL(emitted_build(m, &built), 0);
    const dl_model_api *api = built.api;
    CU_ASSERT_EQUAL(count_op(m->train_step, OP_slice_grad), 1); /* c[:, 1:] inside c's piece */
    int64_t nref;
    double *ref = run_train(plain, &nref); /* loss, then the gradients */
    void *inst = api->create(3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(inst);
    api->init(inst, 1);
    for (int j = 0; j < m->n_params; j++) {
        int64_t cnt = ir_shape_numel(&m->params[j].shape).k;
        double *v = values(cnt, 10 + j);
        float *w = api->param_data(inst, j);
        for (int64_t i = 0; i < cnt; i++) w[i] = (float)v[i];
        free(v);
    }
    const ir_graph *g = plain->train_step;
    const int64_t sym[IR_MAX_SYMS] = {3};
    float *io[2]; /* x and label, the values run_train gave the interpreter */
    for (int i = 0; i < 2; i++) {
        int64_t cnt = ir_dim_eval(ir_shape_numel(&g->inputs[i].node->shape), sym);
        double *v = values(cnt, i);
        io[i] = malloc(sizeof(float) * (size_t)cnt);
        for (int64_t e = 0; e < cnt; e++) io[i][e] = (float)v[e];
        free(v);
    }
    float loss = api->train_step(inst, io[0], io[1], 3);
    int64_t at = 0;
    int ok = 1;
    for (int k = 0; k < g->n_outputs; k++) {
        const ir_output *o = &g->outputs[k];
        int64_t cnt = ir_dim_eval(ir_shape_numel(&o->node->shape), sym);
        if (o->kind == IR_OUT_LOSS) ok &= fabs(loss - ref[at]) <= 1e-5 * fmax(1, fabs(ref[at]));
        if (o->kind == IR_OUT_GRAD) {
            const float *gr = api->grad_data(inst, o->index);
            for (int64_t e = 0; e < cnt; e++) ok &= fabs(gr[e] - ref[at + e]) <= 1e-5 * fmax(1, fabs(ref[at + e]));
        }
        at += cnt;
    }
    CU_ASSERT(ok);
    free(io[0]);
    free(io[1]);
    free(ref);
    api->destroy(inst);
    emitted_unload(&built);
    arena_free(&a1);
    arena_free(&a2);
}

void suite_split_grad(void) {
    CU_pSuite s = CU_add_suite("split_grad", NULL, NULL);
    CU_add_test(s, "split/chunk gradients fold to one concat", test_split_grad_folds);
    CU_add_test(s, "non-tiling slice gradients are left alone", test_split_grad_left_alone);
    CU_add_test(s, "folded gradient in the emitted train step", test_split_grad_emitted);
}
