/* test_ir.c — the builder, the printer's exact text, and the verifier.
 *
 * The dump is a user-visible format (dlnc --emit=ir) and what pass tests
 * compare, so a small graph is pinned here line for line. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "ir_attrs.h"
#include "ops_movement.h"

typedef struct mlp {
    arena ar;
    ir_module *m;
    ir_graph *g;
    ir_node *x, *label, *w, *b, *h, *loss;
} mlp;

/* x f32[N, 784] -> dense(10) -> log_softmax -> nll loss */
static void build_mlp(mlp *t) {
    memset(t, 0, sizeof *t);
    t->m = ir_module_new(&t->ar, "mlp");
    ir_shape ws = {2, {{10, 0}, {784, 0}}}, bs = {1, {{10, 0}}};
    ir_init init = {.kind = IR_INIT_HE_UNIFORM, .fan_in = 784, .fan_out = 10, .gain = 1};
    src_loc l5 = {"mlp.dln", 5, 12, 5, 30};
    int wi = ir_module_add_param(t->m, "fc.weight", ws, init, 1, l5);
    int bi = ir_module_add_param(t->m, "fc.bias", bs, init, 1, l5);
    ir_graph *g = t->g = ir_graph_new(t->m, "train_step", IR_MODE_TRAIN);
    ir_shape xs = {2, {{1, 1}, {784, 0}}}, ls = {1, {{1, 1}}};
    t->x = ir_input_node(g, "x", IR_F32, &xs, (src_loc){"mlp.dln", 1, 7, 1, 7});
    t->label = ir_input_node(g, "label", IR_I32, &ls, (src_loc){0});
    t->w = ir_param_node(g, wi, l5);
    t->b = ir_param_node(g, bi, l5);
    ir_node *in[2] = {t->x, t->w};
    ir_attrs tb = {.i = {0, 1}, .ni = 2};
    ir_node *mm = ir_add(g, NULL, l5, OP_matmul, in, 2, &tb);
    in[0] = mm, in[1] = t->b;
    t->h = ir_add(g, NULL, l5, OP_add, in, 2, NULL);
    ir_attrs ax = {.i = {1}, .ni = 1};
    ir_node *lsm = ir_op_attrs(g, OP_log_softmax, &t->h, 1, &ax);
    in[0] = lsm, in[1] = t->label;
    ir_node *p = ir_op_attrs(g, OP_pick, in, 2, NULL);
    t->loss = ir_un(g, OP_neg, ir_reduce_sum(g, p, 1, 0));
    ir_add_output(g, IR_OUT_LOSS, 0, "loss", t->loss);
}

static char *dump(const ir_graph *g) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ir_print_graph(f, g);
    fclose(f);
    return buf;
}

static void test_builder(void) {
    mlp t;
    build_mlp(&t);
    CU_ASSERT_EQUAL(t.g->n_nodes, 10);
    CU_ASSERT_EQUAL(t.g->n_inputs, 2);
    CU_ASSERT_PTR_EQUAL(t.g->inputs[1].node, t.label);
    CU_ASSERT_EQUAL(t.m->n_params, 2);
    CU_ASSERT_EQUAL(ir_module_find_param(t.m, "fc.bias"), 1);
    CU_ASSERT_EQUAL(ir_module_find_param(t.m, "nope"), -1);
    CU_ASSERT_EQUAL(t.loss->shape.rank, 0);
    CU_ASSERT_EQUAL(t.h->group, -1);
    CU_ASSERT_EQUAL(t.h->offset, -1);
    for (int i = 0; i < t.g->n_nodes; i++) CU_ASSERT_EQUAL(t.g->nodes[i]->id, i);
    ir_count_uses(t.g);
    CU_ASSERT_EQUAL(t.x->n_uses, 1);
    CU_ASSERT_EQUAL(t.label->n_uses, 1);
    CU_ASSERT_EQUAL(t.loss->n_uses, 1); /* the output */
    /* builders for compiler-made nodes */
    ir_shape s = {2, {{1, 1}, {10, 0}}};
    ir_node *k = ir_const(t.g, 2.0, &s);
    CU_ASSERT_EQUAL(k->op, OP_constant);
    CU_ASSERT_TRUE(ir_shape_eq(&k->shape, &s));
    ir_node *r = ir_rand(t.g, OP_rand_uniform, 3, &s);
    CU_ASSERT_EQUAL(r->a.i[0], 3);
    CU_ASSERT_TRUE(ir_shape_eq(&r->shape, &s));
    ir_shape flat = {1, {{10, 1}}};
    CU_ASSERT_TRUE(ir_shape_eq(&ir_reshape(t.g, r, &flat)->shape, &flat));
    ir_shape wide = {3, {{2, 0}, {1, 1}, {10, 0}}};
    CU_ASSERT_TRUE(ir_shape_eq(&ir_broadcast(t.g, t.h, &wide)->shape, &wide));
    CU_ASSERT_TRUE(ir_verify(t.g));
    arena_free(&t.ar);
}

static void test_print(void) {
    mlp t;
    build_mlp(&t);
    t.h->group = 2;
    t.h->storage = IR_STORE_ARENA;
    t.h->offset = 1024;
    char *text = dump(t.g);
    const char *want =
        "graph train_step (train) {\n"
        "  inputs:\n"
        "    x: f32[N, 784] = %0\n"
        "    label: i32[N] = %1\n"
        "  %0 = input x : f32[N, 784]   ; mlp.dln:1:7\n"
        "  %1 = input label : i32[N]\n"
        "  %2 = param fc.weight : f32[10, 784]   ; mlp.dln:5:12\n"
        "  %3 = param fc.bias : f32[10]   ; mlp.dln:5:12\n"
        "  %4 = matmul %0, %2 [tb] : f32[N, 10]   ; mlp.dln:5:12\n"
        "  %5 = add %4, %3 : f32[N, 10]  {group 2, arena@1024}   ; mlp.dln:5:12\n"
        "  %6 = log_softmax %5 [axis=1] : f32[N, 10]   ; mlp.dln:5:12\n"
        "  %7 = pick %6, %1 : f32[N]   ; mlp.dln:5:12\n"
        "  %8 = reduce_sum %7 [axes=0] : f32[]   ; mlp.dln:5:12\n"
        "  %9 = neg %8 : f32[]   ; mlp.dln:5:12\n"
        "  outputs:\n"
        "    loss = %9\n"
        "}\n";
    CU_ASSERT_STRING_EQUAL(text, want);
    if (strcmp(text, want)) printf("\n%s", text);
    free(text);
    arena_free(&t.ar);
}

static void test_print_attrs(void) {
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "m");
    ir_graph *g = ir_graph_new(m, "forward", IR_MODE_EVAL);
    ir_shape s = {3, {{2, 0}, {1, 1}, {3, 0}}};
    ir_node *x = ir_input_node(g, "x", IR_F32, &s, (src_loc){0});
    ir_attrs perm = {.i = {2, 0, 1}, .ni = 3}, red = {.i = {5, 1}, .ni = 2}, lr = {.f = {0.01}, .nf = 1};
    ir_node *t = ir_op_attrs(g, OP_transpose, &x, 1, &perm);
    ir_node *r = ir_op_attrs(g, OP_reduce_max, &x, 1, &red);
    ir_node *l = ir_op_attrs(g, OP_leaky_relu, &x, 1, &lr);
    ir_node *k = ir_const(g, 0.5, NULL);
    ir_node *mm = ir_matmul(g, x, x, 1, 0);
    ir_add_output(g, IR_OUT_VALUE, 0, "out", t);
    ir_add_output(g, IR_OUT_ASSIGN, 1, "bn.running_mean", r);
    (void)l, (void)k, (void)mm;
    char *text = dump(g);
    const char *want =
        "graph forward (eval) {\n"
        "  inputs:\n"
        "    x: f32[2, N, 3] = %0\n"
        "  %0 = input x : f32[2, N, 3]\n"
        "  %1 = transpose %0 [perm=2,0,1] : f32[3, 2, N]\n"
        "  %2 = reduce_max %0 [axes=0,2, keepdims] : f32[1, N, 1]\n"
        "  %3 = leaky_relu %0 [slope=0.01] : f32[2, N, 3]\n"
        "  %4 = constant 0.5 : f32[]\n"
        "  %5 = matmul %0, %0 [ta] : f32[2, 3, 3]\n"
        "  outputs:\n"
        "    value out = %1\n"
        "    assign bn.running_mean = %2\n"
        "}\n";
    CU_ASSERT_STRING_EQUAL(text, want);
    if (strcmp(text, want)) printf("\n%s", text);
    free(text);
    arena_free(&ar);
}

/* Every attribute group prints from ir_attrs.def: words, flags, lists,
 * bits, fields left out when their slot is not set (pad_grad's value, an
 * upsample without denominators), hidden fields (packed shapes, has_ignore). */
static void test_print_described(void) {
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "m");
    ir_graph *g = ir_graph_new(m, "forward", IR_MODE_EVAL);
    ir_shape s = {4, {{1, 1}, {2, 0}, {4, 0}, {6, 0}}}, lab = {1, {{1, 1}}}, row = {2, {{1, 1}, {6, 0}}};
    ir_node *x = ir_input_node(g, "x", IR_F32, &s, (src_loc){0});
    ir_node *y = ir_input_node(g, "y", IR_I32, &lab, (src_loc){0});
    ir_node *v = ir_input_node(g, "v", IR_F32, &row, (src_loc){0});
    ir_attrs pad = {.pad = {.mode = MV_PAD_REFLECT, .dims = 2, .pads = {1, 2, 0, 1}, .value = 0}, .ni = 6, .nf = 1};
    ir_attrs up = {.upsample = {.mode = MV_UP_BILINEAR, .num_h = 3, .num_w = 2, .align_corners = 1, .den_h = 2, .den_w = 1},
                   .ni = 6};
    ir_attrs up4 = {.upsample = {.mode = MV_UP_NEAREST, .num_h = 2, .num_w = 2}, .ni = 4};
    ir_attrs topk = {.argsort = {.axis = 3, .descending = 1, .k = 2}, .ni = 3};
    ir_attrs unpick = {.pick = {.classes = 6, .has_ignore = 1, .ignore = -100}, .ni = 3};
    ir_attrs ln = {.norm = {.eps = 1e-5, .which = LN_DW}, .ni = 1, .nf = 1};
    ir_attrs at = {.attention = {.heads = 2, .scale = 0.5, .causal = 1, .q_pos0 = 3, .which = ATTN_DQ | ATTN_DV}, .ni = 4,
                   .nf = 1};
    ir_node *p = ir_op_attrs(g, OP_pad, &x, 1, &pad);
    ir_attrs padg = pad;
    padg.nf = 0; /* the gradient has no fill value */
    ir_op_attrs(g, OP_pad_grad, &p, 1, &padg);
    ir_op_attrs(g, OP_upsample, &x, 1, &up);
    ir_op_attrs(g, OP_upsample, &x, 1, &up4);
    ir_op_attrs(g, OP_argsort, &x, 1, &topk);
    ir_node *in2[2] = {ir_const(g, 1.0, &lab), y};
    ir_op_attrs(g, OP_unpick, in2, 2, &unpick);
    ir_node *w = ir_const(g, 1.0, &(ir_shape){1, {{6, 0}}});
    ir_node *in3[3] = {v, w, v};
    ir_op_attrs(g, OP_layer_norm_grad, in3, 3, &ln);
    ir_shape q = {3, {{1, 1}, {4, 0}, {4, 0}}};
    ir_node *qn = ir_input_node(g, "q", IR_F32, &q, (src_loc){0});
    ir_node *in5[5] = {qn, qn, qn, qn, qn};
    ir_op_attrs(g, OP_attention_grad, in5, 5, &at);
    char *text = dump(g);
    const char *want[] = {
        "= pad %0 [reflect, dims=2, pads=1,2,0,1, value=0] : f32[N, 2, 5, 9]\n",
        "= pad_grad %3 [reflect, dims=2, pads=1,2,0,1] : f32[N, 2, 4, 6]\n",
        "= upsample %0 [bilinear, num_h=3, num_w=2, align_corners, den_h=2, den_w=1] : f32[N, 2, 6, 12]\n",
        "= upsample %0 [nearest, num_h=2, num_w=2] : f32[N, 2, 8, 12]\n",
        "= argsort %0 [axis=3, descending, k=2] : i32[N, 2, 4, 2]\n",
        "= unpick %8, %1 [classes=6, ignore=-100] : f32[N, 6]\n",
        "= layer_norm_grad %2, %10, %2 [eps=1e-05, dweight] : f32[",
        "= attention_grad %12, %12, %12, %12, %12 [heads=2, scale=0.5, causal, q_pos0=3, dq dv] : f32[N, 4, 8]\n",
        "= constant 1 : f32[N]\n",
    };
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        CU_ASSERT_PTR_NOT_NULL(strstr(text, want[k]));
        if (!strstr(text, want[k])) printf("\n  missing: %s", want[k]);
    }
    if (!strstr(text, want[0])) printf("\n%s", text);
    CU_ASSERT_STRING_EQUAL(ir_attrs_group(OP_pad_grad), "pad");
    CU_ASSERT_STRING_EQUAL(ir_attrs_group(OP_log_softmax), "softmax");
    CU_ASSERT_STRING_EQUAL(ir_attrs_group(OP_conv2d), "conv"); /* conv_geom, printed by ops_conv.h */
    CU_ASSERT_PTR_NULL(ir_attrs_group(OP_add));
    free(text);
    arena_free(&ar);
}

/* The named fields are the slots: builders that write names and code that
 * reads slots (packed shapes, CSE, $f0) agree. */
static void test_fields_alias_slots(void) {
    ir_attrs a = {0};
    a.slice.axis = 1, a.slice.start = 2, a.slice.step = 3, a.slice.count = 4;
    CU_ASSERT(a.i[0] == 1 && a.i[1] == 2 && a.i[2] == 3 && a.i[3] == 4);
    a = (ir_attrs){0};
    a.pad.pads[5] = 7, a.pad.value = 2.5;
    CU_ASSERT(a.i[7] == 7 && a.f[0] == 2.5);
    a = (ir_attrs){0};
    a.norm.which = 1, a.norm.eps = 1e-3; /* listed eps first: still the first double, which the first int */
    CU_ASSERT(a.i[0] == 1 && a.f[0] == 1e-3);
    a = (ir_attrs){0};
    a.leaky_relu.slope = 0.2, a.clamp_grad.max = 4;
    CU_ASSERT(a.f[0] == 0.2 && a.f[1] == 4);
    a = (ir_attrs){0};
    a.attention.scale = 0.25, a.attention.which = ATTN_DMASK;
    CU_ASSERT(a.f[0] == 0.25 && a.i[3] == ATTN_DMASK);
}

/* CSE's equality: every set field counts, a slot past ni/nf does not. */
static void test_attrs_same(void) {
    ir_attrs a = {.slice = {.axis = 1, .start = 0, .step = 1, .count = 4}, .ni = 4}, b = a;
    CU_ASSERT_TRUE(ir_attrs_same(&a, &b));
    b.slice.step = 2;
    CU_ASSERT_FALSE(ir_attrs_same(&a, &b));
    ir_attrs c = {.argmax = {.axis = 1, .min = 1}, .ni = 1}, d = {.argmax = {.axis = 1}, .ni = 1};
    CU_ASSERT_TRUE(ir_attrs_same(&c, &d)); /* min is not set (ni = 1) */
    c.ni = d.ni = 2;
    CU_ASSERT_FALSE(ir_attrs_same(&c, &d));
    ir_attrs e = {.pad = {.value = 1}, .nf = 1}, f = {.pad = {.value = 2}, .nf = 1};
    CU_ASSERT_FALSE(ir_attrs_same(&e, &f));
    ir_attrs g = {.conv = {.sh = 1}}, h = {.conv = {.sh = 2}};
    CU_ASSERT_FALSE(ir_attrs_same(&g, &h));
}

/* The verifier catches what a buggy pass would do. Its messages go to
 * stderr; we only check the verdicts. */
static void test_verify(void) {
    mlp t;
    build_mlp(&t);
    CU_ASSERT_TRUE(ir_verify(t.g));
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");

    /* use before definition: swap two dependent nodes */
    ir_node *tmp = t.g->nodes[4];
    t.g->nodes[4] = t.g->nodes[5];
    t.g->nodes[5] = tmp;
    CU_ASSERT_FALSE(ir_verify(t.g));
    t.g->nodes[5] = t.g->nodes[4];
    t.g->nodes[4] = tmp;
    CU_ASSERT_TRUE(ir_verify(t.g));

    /* a stored shape that its rule disagrees with */
    t.h->shape.d[1] = ir_dim_const(11);
    CU_ASSERT_FALSE(ir_verify(t.g));
    t.h->shape.d[1] = ir_dim_const(10);

    /* an output pointing at a removed node */
    t.g->n_nodes--;
    CU_ASSERT_FALSE(ir_verify(t.g));
    t.g->n_nodes++;

    /* wrong arity */
    t.h->nin = 1;
    CU_ASSERT_FALSE(ir_verify(t.g));
    t.h->nin = 2;
    CU_ASSERT_TRUE(ir_verify(t.g));

    fclose(stderr);
    stderr = saved;
    arena_free(&t.ar);
}

/* ir_replace_uses reaches node inputs and graph outputs. */
static void test_replace_uses(void) {
    mlp t;
    build_mlp(&t);
    ir_node *two = ir_bin(t.g, OP_mul, t.loss, ir_const(t.g, 2, NULL));
    ir_replace_uses(t.g, t.loss, two);
    CU_ASSERT_PTR_EQUAL(t.g->outputs[0].node, two);
    CU_ASSERT_PTR_EQUAL(two->in[0], two); /* including the new node itself: callers beware */
    arena_free(&t.ar);
}

void suite_ir(void) {
    CU_pSuite s = CU_add_suite("ir", NULL, NULL);
    CU_add_test(s, "builder", test_builder);
    CU_add_test(s, "printer, small graph", test_print);
    CU_add_test(s, "printer, attributes and outputs", test_print_attrs);
    CU_add_test(s, "printer, every kind of ir_attrs.def field", test_print_described);
    CU_add_test(s, "ir_attrs.def fields alias the slots", test_fields_alias_slots);
    CU_add_test(s, "attribute equality (CSE)", test_attrs_same);
    CU_add_test(s, "verifier", test_verify);
    CU_add_test(s, "replace uses", test_replace_uses);
}
