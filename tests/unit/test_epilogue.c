/* test_epilogue.c — pass_epilogue and the fused conv + group code it leads to.
 *
 *   - the inference batch-norm fold (no per-element division left in eval
 *     graphs; train graphs untouched);
 *   - where the pass links a conv2d to its consuming group: an inference
 *     batch norm + ReLU, the same with a residual add (basic_block), a bias
 *     add + ReLU — in the train step too when the backward does not need the
 *     conv output — and where it must not: a train-mode batch norm (the conv
 *     output feeds the batch statistics as well), a conv output that is also
 *     a graph output, a leaf that mixes images;
 *   - the moved order stays topological and the plan keeps the conv's input
 *     alive until the group's root (plan_verify and ir_verify via emitted.h);
 *   - numbers: the emitted model (conv + epilogue, -Werror) against the
 *     reference interpreter on the unfused graphs, forward, eval_step and
 *     train_step (loss and every gradient), at batch 1 and 3, with convs on
 *     both runtime paths (images in parallel, and images one after another
 *     with dl_sgemm parallel inside);
 *   - MobileNetV2's inverted residual with its epilogues as data
 *     (dl_conv2d_affine): forward after training steps changed the weights
 *     and running statistics, against the interpreter on the new values. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiled.h"
#include "dlnrt.h"
#include "emitted.h"
#include "interp.h"
#include "ir.h"
#include "ops_conv.h"
#include "passes.h"

/* 16x16 images: the 32->32 convs of the block are 2.4M multiply-adds per
 * image (runtime/conv.c runs images one after another), the others fewer
 * (images in parallel). */
static const char *const net_src =
    "model epi(x: f32[N, 3, 16, 16]) -> f32[N, 10] {\n"
    "    h = conv2d(x, 32, 3, pad = 1, use_bias = false) |> batch_norm |> relu\n"
    "    h = basic_block(h, 32)\n"
    "    h = conv2d(h, 8, 3, pad = 1) |> relu |> maxpool(2)\n"
    "    return global_avg_pool(h) |> dense(10)\n"
    "}\n"
    "train epi {\n"
    "    data    = csv(\"/dev/null\", batch = 4, classify = true)\n"
    "    loss    = cross_entropy(output, label)\n"
    "    optim   = sgd(lr = 0.1)\n"
    "    epochs  = 1\n"
    "}\n";

static uint64_t rng_state = 99;
static double urand(void) { return emitted_urand(&rng_state); }

static int close_enough(const float *got, const double *want, int64_t count, const char *what)
{
    return emitted_close(got, want, count, 2e-4, what);
}

/* conv2d nodes of g: how many, and how many carry an epilogue. */
static void count_convs(const ir_graph *g, int *convs, int *linked)
{
    *convs = *linked = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        if (n->op != OP_conv2d) continue;
        (*convs)++;
        if (!n->epilogue) continue;
        (*linked)++;
        /* the link's invariants: a group root of the conv's shape, after it */
        CU_ASSERT(n->epilogue->group == n->epilogue->id);
        CU_ASSERT(ir_shape_eq(&n->epilogue->shape, &n->shape));
        int pos_conv = -1, pos_root = -1;
        for (int j = 0; j < g->n_nodes; j++) {
            if (g->nodes[j] == n) pos_conv = j;
            if (g->nodes[j] == n->epilogue) pos_root = j;
        }
        CU_ASSERT(pos_conv >= 0 && pos_conv < pos_root);
    }
}

static void run_passes(ir_graph *g)
{
    CU_ASSERT_FATAL(passes_run(g, NULL, NULL, 1) == 0);
    CU_ASSERT(plan_verify(g, stderr));
}

/* div nodes over whole feature maps ([N, C, H, W]): what the batch-norm fold removes */
static int image_divs(const ir_graph *g)
{
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        k += n->op == OP_div && n->shape.rank == 4 && ir_shape_numel(&n->shape).syms != 0;
    }
    return k;
}

/* (a) and (b) on the network: every conv of the eval graphs is linked
 * (bn + relu, bn + residual + relu, bias + relu); in the train step only the
 * bias conv (a train-mode batch norm reads the conv output twice). */
static void test_where_it_fires(void)
{
    arena ar = {0};
    ir_module *m = compiled_elaborate(&ar, stderr, net_src);
    CU_ASSERT_FATAL(m != NULL);
    int convs, linked;
    run_passes(m->forward);
    count_convs(m->forward, &convs, &linked);
    CU_ASSERT_EQUAL(convs, 4);
    CU_ASSERT_EQUAL(linked, 4);
    CU_ASSERT_EQUAL(image_divs(m->forward), 0); /* eval batch norms folded to x * A + B */
    run_passes(m->train_step);
    /* train mode: batch_normalize lowered by pass_bnorm, its (x - mean) * k + b fused into the relu's loop */
    int bn_ops = 0, bn_relus = 0;
    for (int i = 0; i < m->train_step->n_nodes; i++) {
        const ir_node *n = m->train_step->nodes[i];
        bn_ops += n->op == OP_batch_normalize;
        if (n->op != OP_mul || n->shape.rank != 4 || n->in[0]->op != OP_sub || n->in[0]->in[0]->op != OP_conv2d) continue;
        for (int j = i + 1; j < m->train_step->n_nodes; j++) { /* the group's root: a relu, the residual add inside */
            const ir_node *r = m->train_step->nodes[j];
            if (r->id == n->group) bn_relus += r->op == OP_relu && n->in[0]->group == n->group;
        }
    }
    CU_ASSERT_EQUAL(bn_ops, 0);
    CU_ASSERT(bn_relus >= 3);
    count_convs(m->train_step, &convs, &linked);
    CU_ASSERT_EQUAL(convs, 4);
    CU_ASSERT_EQUAL(linked, 1);
    for (int i = 0; i < m->train_step->n_nodes; i++) {
        const ir_node *n = m->train_step->nodes[i];
        if (n->op == OP_conv2d && n->epilogue) CU_ASSERT_EQUAL(n->shape.d[1].k, 8); /* the bias conv */
    }

    /* the dump shows the link */
    char *buf = NULL;
    size_t len = 0;
    FILE *d = open_memstream(&buf, &len);
    ir_print_graph(d, m->forward);
    fclose(d);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "{epilogue "));
    free(buf);
    arena_free(&ar);
}

/* A hand-built graph: y = conv(x, w) + b, with variations that must not fuse. */
typedef enum variant { PLAIN, CONV_IS_OUTPUT, LEAF_MIXES_IMAGES } variant;

static ir_graph *conv_add(arena *ar, variant v)
{
    ir_module *m = ir_module_new(ar, "m");
    ir_graph *g = ir_graph_new(m, "forward", IR_MODE_EVAL);
    ir_shape xs = {4, {ir_dim_sym(IR_SYM_N), ir_dim_const(2), ir_dim_const(5), ir_dim_const(5)}};
    ir_shape ws = {4, {ir_dim_const(3), ir_dim_const(2), ir_dim_const(3), ir_dim_const(3)}};
    ir_init zi = {.kind = IR_INIT_ZEROS, .gain = 1};
    ir_module_add_param(m, "w", ws, zi, 1, (src_loc){0});
    ir_node *x = ir_input_node(g, "x", IR_F32, &xs, (src_loc){0});
    ir_node *w = ir_param_node(g, 0, (src_loc){0});
    conv_geom geom = {.sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 1, .kh = 3, .kw = 3};
    ir_attrs a;
    conv_geom_set(&a, &geom);
    ir_node *in[2] = {x, w};
    ir_node *c = ir_op_attrs(g, OP_conv2d, in, 2, &a);
    ir_node *other;
    if (v == LEAF_MIXES_IMAGES) { /* a [3, 3, 3] value summed over the batch */
        ir_node *s = ir_reduce_sum(g, c, 1u, 0);
        other = s;
    } else {
        other = ir_const(g, 0.5, NULL);
    }
    ir_node *y = ir_un(g, OP_relu, ir_bin(g, OP_add, c, other));
    ir_add_output(g, IR_OUT_VALUE, 0, "y", y);
    if (v == CONV_IS_OUTPUT) ir_add_output(g, IR_OUT_VALUE, 1, "c", c);
    return g;
}

static int linked_convs(ir_graph *g)
{
    int convs, linked;
    pass_fuse(g);
    pass_epilogue(g);
    CU_ASSERT(ir_verify(g));
    count_convs(g, &convs, &linked);
    return linked;
}

static void test_where_it_must_not(void)
{
    arena ar = {0};
    CU_ASSERT_EQUAL(linked_convs(conv_add(&ar, PLAIN)), 1);
    CU_ASSERT_EQUAL(linked_convs(conv_add(&ar, CONV_IS_OUTPUT)), 0);
    CU_ASSERT_EQUAL(linked_convs(conv_add(&ar, LEAF_MIXES_IMAGES)), 0); /* also a second use */
    arena_free(&ar);
}

/* The loaded model, its instance and the test's parameter and input copies. */
static void release(emitted *L, void *inst, const ir_module *m, double **params, float *x, double *xd)
{
    L->api->destroy(inst);
    emitted_unload(L);
    for (int i = 0; i < m->n_params; i++) free(params[i]);
    free(params);
    free(x);
    free(xd);
}

/* (c) the emitted model, fused, against the interpreter on the unfused graphs. */
static void check_numbers(int64_t n)
{
    arena ar = {0};
    ir_module *m = compiled_elaborate(&ar, stderr, net_src);
    CU_ASSERT_FATAL(m != NULL);
    double **params = calloc((size_t)m->n_params, sizeof *params);
    for (int i = 0; i < m->n_params; i++) {
        int64_t cnt = ir_shape_numel(&m->params[i].shape).k;
        params[i] = malloc(sizeof(double) * (size_t)cnt);
        /* positive (a running variance must be), away from zero (a ReLU's kink) */
        for (int64_t j = 0; j < cnt; j++) params[i][j] = 0.25 + 0.5 * urand();
    }
    const int64_t xn = n * 3 * 16 * 16;
    float *x = malloc(sizeof(float) * (size_t)xn);
    double *xd = malloc(sizeof(double) * (size_t)xn);
    for (int64_t i = 0; i < xn; i++) xd[i] = x[i] = (float)(urand() * 2 - 1);
    int32_t y[3] = {1, 7, 3};
    double yd[3] = {1, 7, 3};
    int64_t sv[IR_MAX_SYMS] = {n};
    double *ins[2] = {xd, yd};

    /* the references, before the passes run on the same graphs */
    interp_state fwd, ev, tr;
    CU_ASSERT_FATAL(interp_run(&fwd, m->forward, sv, ins, params, 1) == 0);
    CU_ASSERT_FATAL(interp_run(&ev, m->eval_step, sv, ins, params, 1) == 0);
    CU_ASSERT_FATAL(interp_run(&tr, m->train_step, sv, ins, params, 1) == 0);

    emitted L;
    CU_ASSERT_FATAL(emitted_build(m, &L) == 0);
    int convs, linked;
    count_convs(m->forward, &convs, &linked);
    CU_ASSERT_EQUAL(linked, 4);
    void *inst = L.api->create(4);
    CU_ASSERT_FATAL(inst != NULL);
    for (int i = 0; i < m->n_params; i++) {
        float *w = L.api->param_data(inst, i);
        for (int64_t j = 0; j < ir_shape_numel(&m->params[i].shape).k; j++) w[j] = (float)params[i][j];
    }
    float out[30];
    L.api->forward(inst, x, out, n);
    CU_ASSERT(close_enough(out, interp_output(&fwd, 0), n * 10, "forward"));
    float loss = L.api->eval_step(inst, x, y, out, n);
    for (int k = 0; k < m->eval_step->n_outputs; k++)
        if (m->eval_step->outputs[k].kind == IR_OUT_LOSS) CU_ASSERT(close_enough(&loss, interp_output(&ev, k), 1, "eval loss"));
    L.api->set_lr(inst, 0.0f);
    loss = L.api->train_step(inst, x, y, n);
    int grads = 0;
    for (int k = 0; k < m->train_step->n_outputs; k++) {
        const ir_output *o = &m->train_step->outputs[k];
        if (o->kind == IR_OUT_LOSS) CU_ASSERT(close_enough(&loss, interp_output(&tr, k), 1, "train loss"));
        if (o->kind != IR_OUT_GRAD) continue;
        grads++;
        CU_ASSERT(close_enough(L.api->grad_data(inst, o->index), interp_output(&tr, k),
                               ir_shape_numel(&m->params[o->index].shape).k, m->params[o->index].name));
    }
    CU_ASSERT(grads > 0);

    interp_free(&fwd);
    interp_free(&ev);
    interp_free(&tr);
    release(&L, inst, m, params, x, xd);
    arena_free(&ar);
}

/* (d) MobileNetV2's inverted residual, whose convs take their batch norm,
 * ReLU6 and shortcut as data in forward (emit_conv_affine.c,
 * dl_conv2d_affine): after training steps have changed the weights and the
 * running statistics, forward against the interpreter on the new values. */
static const char *const mbv_src =
    "block ir(x: f32[N, C, H, W], out: int) -> f32 {\n"
    "    h = conv2d(x, C * 6, 1, use_bias = false) |> batch_norm |> relu6\n"
    "    h = conv2d(h, C * 6, 3, pad = 1, groups = C * 6, use_bias = false) |> batch_norm |> relu6\n"
    "    return (conv2d(h, out, 1, use_bias = false) |> batch_norm) + x\n"
    "}\n"
    "model mbv(x: f32[N, 8, 6, 6]) -> f32[N, 10] {\n"
    "    h = ir(x, 8) |> conv2d(16, 1, use_bias = false) |> batch_norm\n"
    "    return global_avg_pool(h) |> dense(10)\n"
    "}\n"
    "train mbv {\n"
    "    data    = csv(\"/dev/null\", batch = 4, classify = true)\n"
    "    loss    = cross_entropy(output, label)\n"
    "    optim   = sgd(lr = 0.05, momentum = 0.9)\n"
    "    epochs  = 1\n"
    "}\n";

static int count_text(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int count = 0;
    while (fgets(line, sizeof line, f)) count += strstr(line, needle) != NULL;
    fclose(f);
    return count;
}

static void test_affine_after_training(void)
{
    arena ar = {0};
    ir_module *m = compiled_elaborate(&ar, stderr, mbv_src);
    CU_ASSERT_FATAL(m != NULL);
    emitted L;
    CU_ASSERT_FATAL(emitted_build(m, &L) == 0);
    char path[128];
    snprintf(path, sizeof path, "%s/mbv.c", L.dir);
    int affine = count_text(path, "return dl_conv2d_affine_w(wver, &g");
    if (affine != 3) fprintf(stderr, "dl_conv2d_affine kernels: %d\n", affine);
    CU_ASSERT_EQUAL(affine, 3); /* expand, depthwise, project + shortcut; the last conv's group is the pool's */
    void *inst = L.api->create(3);
    CU_ASSERT_FATAL(inst != NULL);
    for (int i = 0; i < m->n_params; i++) { /* signed weights; variances positive */
        float *w = L.api->param_data(inst, i);
        const int var = strstr(m->params[i].name, "running_var") != NULL;
        for (int64_t j = 0; j < ir_shape_numel(&m->params[i].shape).k; j++)
            w[j] = (float)(var ? 0.5 + urand() : urand() - 0.5);
    }
    const int64_t n = 3, xn = n * 8 * 6 * 6;
    float *x = malloc(sizeof(float) * (size_t)xn);
    double *xd = malloc(sizeof(double) * (size_t)xn);
    int32_t y[3] = {1, 7, 3};
    float out[30];
    for (int step = 0; step < 3; step++) { /* each step new weights, new running statistics */
        for (int64_t i = 0; i < xn; i++) x[i] = (float)(urand() * 4 - 2);
        CU_ASSERT(isfinite(L.api->train_step(inst, x, y, n)));
    }
    for (int64_t i = 0; i < xn; i++) xd[i] = x[i] = (float)(urand() * 4 - 2);
    L.api->forward(inst, x, out, n);
    double **params = calloc((size_t)m->n_params, sizeof *params);
    for (int i = 0; i < m->n_params; i++) {
        int64_t cnt = ir_shape_numel(&m->params[i].shape).k;
        const float *w = L.api->param_data(inst, i);
        params[i] = malloc(sizeof(double) * (size_t)cnt);
        for (int64_t j = 0; j < cnt; j++) params[i][j] = w[j];
    }
    int64_t sv[IR_MAX_SYMS] = {n};
    double *ins[1] = {xd};
    interp_state fwd;
    CU_ASSERT_FATAL(interp_run(&fwd, m->forward, sv, ins, params, 1) == 0);
    CU_ASSERT(close_enough(out, interp_output(&fwd, 0), n * 10, "forward after training"));
    interp_free(&fwd);
    release(&L, inst, m, params, x, xd);
    arena_free(&ar);
}

static void test_numbers_batch1(void) { check_numbers(1); }
static void test_numbers_batch3(void) { check_numbers(3); }

void suite_epilogue(void)
{
    CU_pSuite s = CU_add_suite("epilogue", NULL, NULL);
    CU_add_test(s, "where the pass links a conv to its group", test_where_it_fires);
    CU_add_test(s, "where it must not", test_where_it_must_not);
    CU_add_test(s, "fused numbers at batch 1", test_numbers_batch1);
    CU_add_test(s, "fused numbers at batch 3", test_numbers_batch3);
    CU_add_test(s, "epilogue as data, forward after training steps", test_affine_after_training);
}
