/* test_conv.c — convolution and pooling through the back end: emitted C
 * (runtime/conv.c) against the reference interpreter.
 *
 * A small network that uses every op of the family (conv2d with padding,
 * dilation and groups, a 1x1 convolution, conv_transpose2d with output
 * padding, max/avg/adaptive pools, max_pool2d_with_indices + unpooling) is
 * compiled to C with -Wall -Wextra -Werror, loaded, and its forward output,
 * train_step loss and every parameter gradient are compared with the
 * interpreter — so the backward primitives (conv2d_bwd_weight, the i32
 * indices in the arena, max_pool2d_bwd, max_unpool2d_bwd, the avg pools'
 * adjoints) are checked as emitted code too. A larger convolution takes the
 * serial-images path (dl_sgemm parallel inside) and a batch of small ones
 * the batch-parallel path. The runtime's index checks are tested directly.
 *
 * Runs from the repository root, like test_emit.c, whose compile-and-load
 * steps it repeats in short form. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "dlnrt.h"
#include "emit.h"
#include "interp.h"
#include "ir.h"
#include "ops_conv.h"
#include "passes.h"
#include "emitted.h"

static const src_loc noloc = {0};
static const ir_init zinit = {.kind = IR_INIT_ZEROS, .gain = 1};

static ir_shape nchw(int64_t c, int64_t h, int64_t w)
{
    ir_shape s = {4, {ir_dim_sym(IR_SYM_N), ir_dim_const(c), ir_dim_const(h), ir_dim_const(w)}};
    return s;
}

static ir_shape cshape(int rank, const int64_t *d)
{
    ir_shape s = {rank, {{0}}};
    for (int i = 0; i < rank; i++) s.d[i] = ir_dim_const(d[i]);
    return s;
}

/* ---- compile and load (as test_emit.c) ---------------------------------- */

static uint64_t rng_state = 777;
static double urand(void) { return emitted_urand(&rng_state); }

static int close_enough(const float *got, const double *want, int64_t count, const char *what)
{
    return emitted_close(got, want, count, 2e-4, what);
}

/* ---- building ------------------------------------------------------------ */

static ir_node *cv(ir_graph *g, ir_opcode op, ir_node *a, ir_node *b, conv_geom geom)
{
    ir_attrs at;
    conv_geom_set(&at, &geom);
    ir_node *in[2] = {a, b};
    return ir_op_attrs(g, op, in, b ? 2 : 1, &at);
}

static conv_geom G(int64_t s, int64_t p, int64_t d, int64_t groups, int64_t k)
{
    conv_geom g = conv_geom_default();
    g.sh = g.sw = s, g.pt = g.pb = g.pl = g.pr = p, g.dh = g.dw = d, g.groups = groups, g.kh = g.kw = k;
    return g;
}

/* x [N, 2, 9, 9] -> logits [N, 3] through every op of the family. */
static ir_node *conv_net(ir_graph *g, ir_node *x)
{
    ir_node *w[5];
    for (int i = 0; i < 5; i++) w[i] = ir_param_node(g, i, noloc);
    ir_node *h = ir_un(g, OP_relu, cv(g, OP_conv2d, x, w[0], G(1, 1, 1, 1, 0)));     /* [N, 4, 9, 9] */
    h = cv(g, OP_max_pool2d, h, NULL, G(2, 0, 1, 1, 2));                               /* [N, 4, 4, 4]: skips row 9 */
    h = ir_un(g, OP_tanh, cv(g, OP_conv2d, h, w[1], G(1, 2, 2, 2, 0)));               /* [N, 6, 4, 4]: groups, dilation */
    conv_geom t = G(2, 1, 1, 1, 0);
    t.size_h = t.size_w = 1;
    h = cv(g, OP_conv_transpose2d, h, w[2], t);                                        /* [N, 2, 8, 8] */
    conv_geom ap = G(2, 1, 1, 1, 3);
    ir_node *avg = cv(g, OP_avg_pool2d, h, NULL, ap);                                  /* [N, 2, 4, 4], excluding pads */
    ir_node *pooled = cv(g, OP_max_pool2d, h, NULL, G(2, 0, 1, 1, 2));                 /* [N, 2, 4, 4] */
    ir_node *idx = cv(g, OP_max_pool2d_indices, h, NULL, G(2, 0, 1, 1, 2));
    conv_geom up = conv_geom_default();
    up.size_h = up.size_w = 8;
    ir_node *in2[2] = {pooled, idx};
    ir_attrs ua;
    conv_geom_set(&ua, &up);
    ir_node *unpooled = ir_op_attrs(g, OP_max_unpool2d, in2, 2, &ua);                  /* [N, 2, 8, 8] */
    conv_geom incl = G(2, 1, 1, 1, 3);
    incl.flag = 1;                                                                     /* count_include_pad */
    ir_node *back = cv(g, OP_avg_pool2d, unpooled, NULL, incl);                        /* [N, 2, 4, 4] */
    h = ir_bin(g, OP_add, avg, back);
    h = cv(g, OP_conv2d, h, w[3], G(1, 0, 1, 1, 0));                                   /* 1x1: [N, 5, 4, 4] */
    conv_geom ad = conv_geom_default();
    ad.size_h = ad.size_w = 3;
    h = cv(g, OP_adaptive_avg_pool2d, h, NULL, ad);                                    /* [N, 5, 3, 3] */
    ir_shape flat = {2, {ir_dim_sym(IR_SYM_N), ir_dim_const(45)}};
    return ir_matmul(g, ir_reshape(g, h, &flat), w[4], 0, 1);
}

static ir_node *nll(ir_graph *g, ir_node *logits, ir_node *label)
{
    ir_attrs ax = {.i = {1}, .ni = 1};
    ir_node *in[2] = {ir_op_attrs(g, OP_log_softmax, &logits, 1, &ax), label};
    return ir_bin(g, OP_mul, ir_reduce_sum(g, ir_op_attrs(g, OP_pick, in, 2, NULL), 1, 0), ir_const(g, -0.25, NULL));
}

static ir_module *build_net(arena *ar)
{
    ir_module *m = ir_module_new(ar, "tconv");
    static const int64_t shapes[5][4] = {{4, 2, 3, 3}, {6, 2, 3, 3}, {6, 2, 3, 3}, {5, 2, 1, 1}, {3, 45, 0, 0}};
    static const char *names[5] = {"c1.weight", "c2.weight", "up.weight", "pw.weight", "fc.weight"};
    for (int i = 0; i < 5; i++) ir_module_add_param(m, names[i], cshape(i == 4 ? 2 : 4, shapes[i]), zinit, 1, noloc);
    ir_shape xs = nchw(2, 9, 9), ls = {1, {ir_dim_sym(IR_SYM_N)}};
    ir_graph *f = m->forward = ir_graph_new(m, "forward", IR_MODE_EVAL);
    ir_add_output(f, IR_OUT_VALUE, 0, "y", conv_net(f, ir_input_node(f, "x", IR_F32, &xs, noloc)));
    ir_graph *e = m->eval_step = ir_graph_new(m, "eval_step", IR_MODE_EVAL);
    ir_node *ex = ir_input_node(e, "x", IR_F32, &xs, noloc), *el = ir_input_node(e, "label", IR_I32, &ls, noloc);
    ir_node *elog = conv_net(e, ex);
    ir_add_output(e, IR_OUT_VALUE, 0, "y", elog);
    ir_add_output(e, IR_OUT_LOSS, 0, "loss", nll(e, elog, el));
    ir_graph *t = m->train_step = ir_graph_new(m, "train_step", IR_MODE_TRAIN);
    ir_node *tx = ir_input_node(t, "x", IR_F32, &xs, noloc), *tl = ir_input_node(t, "label", IR_I32, &ls, noloc);
    ir_node *loss = nll(t, conv_net(t, tx), tl);
    ir_add_output(t, IR_OUT_LOSS, 0, "loss", loss);
    diag_ctx d;
    diag_init(&d, stderr);
    return ad_differentiate(t, loss, NULL, 0, &d) == 0 ? m : NULL;
}

static double **random_params(const ir_module *m, const dl_model_api *api, void *inst)
{
    double **p = calloc((size_t)m->n_params, sizeof *p);
    for (int i = 0; i < m->n_params; i++) {
        int64_t cnt = ir_shape_numel(&m->params[i].shape).k;
        p[i] = malloc(sizeof(double) * (size_t)cnt);
        float *w = api->param_data(inst, i);
        for (int64_t j = 0; j < cnt; j++) p[i][j] = w[j] = (float)(urand() - 0.5);
    }
    return p;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_net_train_step(void)
{
    arena ar = {0};
    ir_module *m = build_net(&ar);
    CU_ASSERT_FATAL(m != NULL);
    emitted L;
    CU_ASSERT_FATAL(emitted_build(m, &L) == 0);
    const int64_t n = 4;
    void *inst = L.api->create(6);
    CU_ASSERT_FATAL(inst != NULL);
    double **params = random_params(m, L.api, inst);
    enum { XN = 4 * 2 * 9 * 9 };
    static float x[XN];
    static double xd[XN];
    double yd[4];
    int32_t y[4] = {0, 2, 1, 2};
    for (int i = 0; i < XN; i++) xd[i] = x[i] = (float)(urand() * 4 - 2);
    for (int i = 0; i < 4; i++) yd[i] = y[i];
    int64_t sv[IR_MAX_SYMS] = {n};
    double *ins[2] = {xd, yd};
    interp_state s;

    float out[12];
    L.api->forward(inst, x, out, n);
    CU_ASSERT_FATAL(interp_run(&s, m->forward, sv, ins, params, 1) == 0);
    CU_ASSERT(close_enough(out, interp_output(&s, 0), 12, "forward"));
    interp_free(&s);

    L.api->set_lr(inst, 0.1f);
    float loss0 = L.api->train_step(inst, x, y, n);
    CU_ASSERT_FATAL(interp_run(&s, m->train_step, sv, ins, params, 1) == 0);
    int grads = 0;
    for (int k = 0; k < m->train_step->n_outputs; k++) {
        const ir_output *o = &m->train_step->outputs[k];
        if (o->kind == IR_OUT_LOSS) CU_ASSERT(close_enough(&loss0, interp_output(&s, k), 1, "loss"));
        if (o->kind == IR_OUT_GRAD) {
            grads++;
            CU_ASSERT(close_enough(L.api->grad_data(inst, o->index), interp_output(&s, k),
                                   ir_shape_numel(&m->params[o->index].shape).k, m->params[o->index].name));
        }
    }
    CU_ASSERT(grads == 5);
    interp_free(&s);
    float loss = loss0;
    for (int i = 0; i < 30; i++) loss = L.api->train_step(inst, x, y, n);
    CU_ASSERT(loss < 0.7f * loss0);

    for (int i = 0; i < m->n_params; i++) free(params[i]);
    free(params);
    L.api->destroy(inst);
    emitted_unload(&L);
    arena_free(&ar);
}

/* y = conv(x, w) reduced against weights r, so one train_step checks the
 * forward, dx-free weight gradient and (through x being a parameter-free
 * input) the runtime's serial-image and batch-parallel paths. */
static void check_single_conv(const char *name, int64_t c, int64_t h, int64_t o, int64_t k, conv_geom geom, int64_t n)
{
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, name);
    int64_t wd[4] = {o, c / geom.groups, k, k};
    ir_module_add_param(m, "w", cshape(4, wd), zinit, 1, noloc);
    ir_shape xs = nchw(c, h, h), ls = {1, {ir_dim_sym(IR_SYM_N)}};
    for (int gi = 0; gi < 2; gi++) {
        ir_graph *g = ir_graph_new(m, gi ? "train_step" : "forward", gi ? IR_MODE_TRAIN : IR_MODE_EVAL);
        ir_node *x = ir_input_node(g, "x", IR_F32, &xs, noloc);
        ir_node *y = cv(g, OP_conv2d, x, ir_param_node(g, 0, noloc), geom);
        CU_ASSERT_FATAL(y != NULL);
        if (!gi) {
            m->forward = g;
            ir_add_output(g, IR_OUT_VALUE, 0, "y", y);
            continue;
        }
        m->train_step = g;
        ir_input_node(g, "label", IR_F32, &ls, noloc);
        ir_node *loss = ir_reduce_sum(g, ir_bin(g, OP_mul, y, y), (1u << 4) - 1, 0);
        ir_add_output(g, IR_OUT_LOSS, 0, "loss", loss);
        CU_ASSERT_FATAL(ad_differentiate(g, loss, NULL, 0, NULL) == 0);
    }
    emitted L;
    CU_ASSERT_FATAL(emitted_build(m, &L) == 0);
    void *inst = L.api->create(n);
    CU_ASSERT_FATAL(inst != NULL);
    double **params = random_params(m, L.api, inst);
    int64_t xn = n * c * h * h, on = L.api->out_numel * n, wn = ir_shape_numel(&m->params[0].shape).k;
    float *x = malloc(sizeof(float) * (size_t)xn), *out = malloc(sizeof(float) * (size_t)on);
    double *xd = malloc(sizeof(double) * (size_t)xn), yd[64] = {0};
    float yl[64] = {0};
    for (int64_t i = 0; i < xn; i++) xd[i] = x[i] = (float)(urand() * 2 - 1);
    int64_t sv[IR_MAX_SYMS] = {n};
    double *ins[2] = {xd, yd};
    interp_state s;
    L.api->forward(inst, x, out, n);
    CU_ASSERT_FATAL(interp_run(&s, m->forward, sv, ins, params, 1) == 0);
    CU_ASSERT(close_enough(out, interp_output(&s, 0), on, name));
    interp_free(&s);
    L.api->set_lr(inst, 0.0f);
    L.api->train_step(inst, x, yl, n);
    CU_ASSERT_FATAL(interp_run(&s, m->train_step, sv, ins, params, 1) == 0);
    for (int k = 0; k < m->train_step->n_outputs; k++)
        if (m->train_step->outputs[k].kind == IR_OUT_GRAD)
            CU_ASSERT(close_enough(L.api->grad_data(inst, 0), interp_output(&s, k), wn, "grad w"));
    interp_free(&s);
    free(x), free(out), free(xd);
    for (int i = 0; i < m->n_params; i++) free(params[i]);
    free(params);
    L.api->destroy(inst);
    emitted_unload(&L);
    arena_free(&ar);
}

static void test_conv_paths(void)
{
    /* one image's GEMM above the batch-parallel threshold: images in sequence */
    check_single_conv("tbig", 16, 20, 32, 3, G(1, 1, 1, 1, 0), 3);
    /* pointwise: no im2col, both paths */
    check_single_conv("tpw", 24, 12, 40, 1, G(1, 0, 1, 1, 0), 5);
    check_single_conv("tpwbig", 64, 24, 64, 1, G(1, 0, 1, 1, 0), 2);
    /* depthwise, strided, many small images in parallel */
    check_single_conv("tdw", 8, 11, 8, 3, G(2, 1, 1, 8, 0), 9);
}

/* Indices outside their plane are errors, not memory corruption. */
static void test_runtime_index_checks(void)
{
    dl_conv2d_geom g = {.n = 1, .c = 1, .h = 2, .w = 2, .oc = 1, .oh = 1, .ow = 1, .kh = 2, .kw = 2, .sh = 2, .sw = 2,
                        .dh = 1, .dw = 1, .groups = 1};
    float v[1] = {3}, big[4];
    int32_t idx[1] = {4};
    CU_ASSERT(dl_max_unpool2d(&g, v, idx, big) == -1);
    CU_ASSERT(strstr(dl_last_error(), "index 4") != NULL);
    CU_ASSERT(dl_max_pool2d_bwd(&g, v, idx, big) == -1);
    CU_ASSERT(dl_max_unpool2d_bwd(&g, big, idx, v) == -1);
    idx[0] = 3;
    CU_ASSERT(dl_max_unpool2d(&g, v, idx, big) == 0);
    CU_ASSERT(big[3] == 3 && big[0] == 0);
    /* ties and -inf: the first position of the window wins, as PyTorch */
    float x[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY}, y1[1];
    dl_max_pool2d(&g, x, y1, idx);
    CU_ASSERT(idx[0] == 0 && isinf(y1[0]));
    float t[4] = {1, 5, 5, 2};
    dl_max_pool2d(&g, t, y1, idx);
    CU_ASSERT(idx[0] == 1 && y1[0] == 5);
}

void suite_conv(void)
{
    CU_pSuite s = CU_add_suite("conv", NULL, NULL);
    CU_add_test(s, "conv/pool network: forward, train_step gradients vs interpreter", test_net_train_step);
    CU_add_test(s, "conv2d paths: serial images, pointwise, batch-parallel", test_conv_paths);
    CU_add_test(s, "runtime: index checks, first max", test_runtime_index_checks);
}
