/* test_passes.c — what DCE, CSE and fold do to small graphs, and the
 * pipeline driver (order, --after dumps, verification). Each test builds the
 * graph, runs one pass, and checks the surviving nodes by their ops. The
 * passes' effect on real backward graphs (values unchanged) is checked in
 * test_gradcheck.c. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"
#include "ir.h"
#include "passes.h"

typedef struct fixture {
    arena ar;
    ir_graph *g;
    ir_node *x, *y;
    ir_shape s;
} fixture;

static void setup(fixture *f) {
    memset(f, 0, sizeof *f);
    ir_module *m = ir_module_new(&f->ar, "m");
    f->g = ir_graph_new(m, "forward", IR_MODE_EVAL);
    f->s = (ir_shape){2, {{1, 1}, {4, 0}}};
    f->x = ir_input_node(f->g, "x", IR_F32, &f->s, (src_loc){0});
    f->y = ir_input_node(f->g, "y", IR_F32, &f->s, (src_loc){0});
}

static int count_op(const ir_graph *g, ir_opcode op) {
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i]->op == op;
    return n;
}

static void out(fixture *f, ir_node *n) { ir_add_output(f->g, IR_OUT_VALUE, f->g->n_outputs, NULL, n); }

static void test_dce(void) {
    fixture f;
    setup(&f);
    ir_node *live = ir_un(f.g, OP_exp, f.x);
    ir_un(f.g, OP_tanh, ir_un(f.g, OP_log, f.x)); /* dead chain */
    out(&f, live);
    pass_dce(f.g);
    CU_ASSERT_EQUAL(f.g->n_nodes, 3); /* both inputs stay (they are the signature), exp */
    CU_ASSERT_EQUAL(count_op(f.g, OP_tanh), 0);
    CU_ASSERT_EQUAL(count_op(f.g, OP_log), 0);
    CU_ASSERT_EQUAL(f.y->n_uses, 0);
    CU_ASSERT_EQUAL(live->n_uses, 1);
    CU_ASSERT_TRUE(ir_verify(f.g));
    arena_free(&f.ar);
}

static void test_cse(void) {
    fixture f;
    setup(&f);
    ir_node *a = ir_bin(f.g, OP_mul, f.x, f.y);
    ir_node *b = ir_bin(f.g, OP_mul, f.x, f.y);       /* same as a */
    ir_node *c = ir_bin(f.g, OP_mul, f.y, f.x);       /* different operand order: kept */
    ir_node *ea = ir_un(f.g, OP_exp, a), *eb = ir_un(f.g, OP_exp, b); /* merge transitively */
    ir_node *k1 = ir_const(f.g, 2, NULL), *k2 = ir_const(f.g, 2, NULL), *k3 = ir_const(f.g, 3, NULL);
    ir_node *r1 = ir_rand(f.g, OP_rand_uniform, 0, &f.s), *r2 = ir_rand(f.g, OP_rand_uniform, 0, &f.s);
    ir_attrs ax0 = {.i = {1, 0}, .ni = 2}, ax1 = {.i = {2, 0}, .ni = 2};
    ir_node *s0 = ir_op_attrs(f.g, OP_reduce_sum, &ea, 1, &ax0), *s1 = ir_op_attrs(f.g, OP_reduce_sum, &ea, 1, &ax1);
    ir_node *all[] = {ea, eb, c, k1, k2, k3, r1, r2, s0, s1};
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) out(&f, all[i]);
    pass_cse(f.g);
    CU_ASSERT_PTR_EQUAL(f.g->outputs[1].node, ea);
    CU_ASSERT_PTR_NOT_EQUAL(f.g->outputs[2].node, a);
    CU_ASSERT_PTR_EQUAL(f.g->outputs[4].node, k1);
    CU_ASSERT_PTR_NOT_EQUAL(f.g->outputs[5].node, k1);
    CU_ASSERT_PTR_NOT_EQUAL(f.g->outputs[7].node, r1); /* random draws are never merged */
    CU_ASSERT_PTR_NOT_EQUAL(f.g->outputs[9].node, s0); /* attributes differ */
    CU_ASSERT_EQUAL(count_op(f.g, OP_mul), 2);
    CU_ASSERT_EQUAL(count_op(f.g, OP_exp), 1);
    CU_ASSERT_EQUAL(count_op(f.g, OP_constant), 2);
    CU_ASSERT_EQUAL(count_op(f.g, OP_rand_uniform), 2);
    CU_ASSERT_EQUAL(count_op(f.g, OP_reduce_sum), 2);
    CU_ASSERT_TRUE(ir_verify(f.g));
    arena_free(&f.ar);
}

static void test_fold_identities(void) {
    fixture f;
    setup(&f);
    ir_node *zero = ir_const(f.g, 0, NULL), *one = ir_const(f.g, 1, NULL);
    ir_node *a = ir_bin(f.g, OP_add, f.x, zero);            /* -> x */
    ir_node *b = ir_bin(f.g, OP_mul, one, f.y);             /* -> y */
    ir_node *c = ir_bin(f.g, OP_div, ir_bin(f.g, OP_sub, f.x, zero), one); /* -> x */
    ir_node *d = ir_bin(f.g, OP_mul, f.x, zero);            /* stays: x*0 is NaN for x = inf */
    ir_node *e = ir_un(f.g, OP_neg, ir_un(f.g, OP_neg, f.y)); /* -> y */
    ir_shape wide = {3, {{2, 0}, {1, 1}, {4, 0}}};
    ir_node *onew = ir_const(f.g, 1, &wide);
    ir_node *g = ir_bin(f.g, OP_mul, f.x, onew);             /* stays: it broadcasts x */
    ir_node *all[] = {a, b, c, d, e, g};
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) out(&f, all[i]);
    pass_fold(f.g);
    pass_dce(f.g);
    CU_ASSERT_PTR_EQUAL(f.g->outputs[0].node, f.x);
    CU_ASSERT_PTR_EQUAL(f.g->outputs[1].node, f.y);
    CU_ASSERT_PTR_EQUAL(f.g->outputs[2].node, f.x);
    CU_ASSERT_PTR_EQUAL(f.g->outputs[3].node, d);
    CU_ASSERT_PTR_EQUAL(f.g->outputs[4].node, f.y);
    CU_ASSERT_PTR_EQUAL(f.g->outputs[5].node, g);
    CU_ASSERT_EQUAL(count_op(f.g, OP_neg), 0);
    CU_ASSERT_EQUAL(count_op(f.g, OP_mul), 2);
    CU_ASSERT_TRUE(ir_verify(f.g));
    arena_free(&f.ar);
}

static void test_fold_shapes_and_constants(void) {
    fixture f;
    setup(&f);
    ir_shape flat = {1, {{4, 1}}}, back = f.s, col = {3, {{1, 1}, {2, 0}, {2, 0}}};
    ir_node *r1 = ir_reshape(f.g, f.x, &col);
    ir_node *r2 = ir_reshape(f.g, r1, &flat);               /* -> reshape(x) */
    ir_node *r3 = ir_reshape(f.g, ir_reshape(f.g, f.x, &flat), &back); /* -> x */
    ir_node *bc = ir_broadcast(f.g, f.y, &f.s);              /* same shape -> y */
    /* autodiff's seed pattern: constant -> neg -> reshape -> broadcast_to */
    ir_node *k = ir_broadcast(f.g, ir_reshape(f.g, ir_un(f.g, OP_neg, ir_const(f.g, 1, NULL)), &(ir_shape){1, {{1, 0}}}), &flat);
    ir_node *arith = ir_bin(f.g, OP_mul, ir_const(f.g, 3, NULL), ir_bin(f.g, OP_add, ir_const(f.g, 1, NULL), ir_const(f.g, 2, NULL)));
    ir_node *all[] = {r2, r3, bc, k, arith};
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) out(&f, all[i]);
    pass_fold(f.g);
    pass_dce(f.g);
    CU_ASSERT_PTR_EQUAL(f.g->outputs[0].node, r2);
    CU_ASSERT_PTR_EQUAL(r2->in[0], f.x);
    CU_ASSERT_PTR_EQUAL(f.g->outputs[1].node, f.x);
    CU_ASSERT_PTR_EQUAL(f.g->outputs[2].node, f.y);
    ir_node *kf = f.g->outputs[3].node, *af = f.g->outputs[4].node;
    CU_ASSERT_EQUAL(kf->op, OP_constant);
    CU_ASSERT_EQUAL(kf->a.f[0], -1);
    CU_ASSERT_TRUE(ir_shape_eq(&kf->shape, &flat));
    CU_ASSERT_EQUAL(af->op, OP_constant);
    CU_ASSERT_EQUAL(af->a.f[0], 9);
    CU_ASSERT_EQUAL(f.g->n_nodes, 5); /* x, y, reshape, two constants */
    CU_ASSERT_TRUE(ir_verify(f.g));
    arena_free(&f.ar);
}

static void test_pipeline(void) {
    CU_ASSERT_STRING_EQUAL(pass_pipeline[0].name, "attention");
    CU_ASSERT_STRING_EQUAL(pass_pipeline[1].name, "bnorm");
    CU_ASSERT_STRING_EQUAL(pass_pipeline[2].name, "fold");
    CU_ASSERT_STRING_EQUAL(pass_pipeline[3].name, "cse");
    CU_ASSERT_STRING_EQUAL(pass_pipeline[4].name, "bnorm_mask");
    CU_ASSERT_STRING_EQUAL(pass_pipeline[5].name, "dce");
    CU_ASSERT_STRING_EQUAL(pass_pipeline[6].name, "fuse");
    CU_ASSERT_STRING_EQUAL(pass_pipeline[7].name, "epilogue");
    CU_ASSERT_STRING_EQUAL(pass_pipeline[8].name, "plan");
    CU_ASSERT_PTR_NULL(pass_pipeline[9].name);

    fixture f;
    setup(&f);
    ir_node *a = ir_un(f.g, OP_exp, ir_bin(f.g, OP_add, f.x, ir_const(f.g, 0, NULL)));
    ir_node *b = ir_un(f.g, OP_exp, f.x);
    out(&f, ir_bin(f.g, OP_add, a, b));
    char *buf = NULL;
    size_t len = 0;
    FILE *d = open_memstream(&buf, &len);
    CU_ASSERT_EQUAL(passes_run(f.g, "dce", d, 1), 0);
    fclose(d);
    const char *want =
        "graph forward (eval) {\n"
        "  inputs:\n"
        "    x: f32[N, 4] = %0\n"
        "    y: f32[N, 4] = %1\n"
        "  %0 = input x : f32[N, 4]\n"
        "  %1 = input y : f32[N, 4]\n"
        "  %4 = exp %0 : f32[N, 4]\n"
        "  %6 = add %4, %4 : f32[N, 4]\n"
        "  outputs:\n"
        "    value = %6\n"
        "}\n";
    CU_ASSERT_STRING_EQUAL(buf, want);
    if (strcmp(buf, want)) printf("\n%s", buf);
    free(buf);

    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    CU_ASSERT_EQUAL(passes_run(f.g, "nosuchpass", NULL, 1), -1);
    fclose(stderr);
    stderr = saved;
    arena_free(&f.ar);
}

/* fuse rule 6: a reduction takes over the group of its single-use
 * elementwise input; not when the input has another use, is not elementwise
 * (a reduction of a reduction), or when nothing is reduced away. */
static void test_fuse_into_reduction(void) {
    fixture f;
    setup(&f);
    ir_node *d = ir_bin(f.g, OP_sub, f.x, f.y);
    ir_node *sq = ir_bin(f.g, OP_mul, d, d);                 /* d used twice: its own group */
    ir_node *r = ir_reduce_sum(f.g, ir_un(f.g, OP_exp, sq), 1, 1); /* exp(sq) -> r */
    ir_node *shared = ir_un(f.g, OP_neg, f.x);
    ir_node *r2 = ir_reduce_sum(f.g, shared, 2, 0);          /* shared is also an output */
    ir_node *inner = ir_reduce_sum(f.g, ir_un(f.g, OP_relu, f.y), 2, 0);
    ir_node *outer = ir_reduce_sum(f.g, inner, 1, 0);        /* its input is a reduction */
    out(&f, r);
    out(&f, r2);
    out(&f, shared);
    out(&f, outer);
    pass_fuse(f.g);
    ir_node *e = r->in[0];
    CU_ASSERT_EQUAL(r->group, r->id);
    CU_ASSERT_EQUAL(e->group, r->id);   /* exp joined the reduction */
    CU_ASSERT_EQUAL(sq->group, r->id);  /* and its group with it */
    CU_ASSERT_EQUAL(d->group, d->id);   /* two uses: materialized */
    CU_ASSERT_EQUAL(r2->group, -1);
    CU_ASSERT_EQUAL(shared->group, shared->id);
    CU_ASSERT_EQUAL(inner->group, inner->id);
    CU_ASSERT_EQUAL(inner->in[0]->group, inner->id);
    CU_ASSERT_EQUAL(outer->group, -1);

    /* reduce over a size-1 axis: nothing to gain, stays apart */
    ir_shape one = {2, {{4, 0}, {1, 0}}};
    ir_node *z = ir_input_node(f.g, "z", IR_F32, &one, (src_loc){0});
    ir_node *t = ir_un(f.g, OP_tanh, z);
    ir_node *r3 = ir_reduce_sum(f.g, t, 2, 1);
    out(&f, r3);
    pass_fuse(f.g);
    CU_ASSERT_EQUAL(t->group, t->id);
    CU_ASSERT_EQUAL(r3->group, -1);
    arena_free(&f.ar);
}

static int pos_of(const ir_graph *g, const ir_node *n) {
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i] == n) return i;
    return -1;
}

/* fuse rule 7: independent reductions with the same input shape and axes
 * share a kernel; the earlier one and its consumer (a reshape between them)
 * sink below the later one, so the set is contiguous, leader first. A
 * reduction that depends on one of them (sum(x * s1)), one of another op
 * and one over other axes stay apart. Values are unchanged (interpreter). */
static void test_fuse_siblings(void) {
    fixture f;
    setup(&f);
    ir_shape flat = {1, {{4, 0}}};
    ir_node *s1 = ir_reduce_sum(f.g, f.x, 1, 1);                              /* [1, 4] */
    ir_node *v1 = ir_reshape(f.g, s1, &flat);                                 /* s1's consumer */
    ir_node *s2 = ir_reduce_sum(f.g, ir_bin(f.g, OP_mul, f.x, f.y), 1, 1);    /* sibling of s1 */
    ir_node *s3 = ir_reduce_sum(f.g, ir_bin(f.g, OP_mul, f.x, s1), 1, 1);     /* depends on s1 */
    ir_attrs amax = {.i = {1, 1}, .ni = 2};
    ir_node *mx = ir_op_attrs(f.g, OP_reduce_max, &f.y, 1, &amax);            /* another op */
    ir_node *rows = ir_reduce_sum(f.g, ir_un(f.g, OP_exp, f.y), 2, 1);        /* other axes */
    out(&f, v1);
    out(&f, s2);
    out(&f, s3);
    out(&f, mx);
    out(&f, rows);
    int64_t sym[IR_MAX_SYMS] = {3, 1, 1, 1, 1, 1, 1, 1};
    double xv[12], yv[12];
    for (int i = 0; i < 12; i++) xv[i] = 0.25 * i - 1, yv[i] = 1.5 - 0.125 * i * i;
    double *ins[2] = {xv, yv};
    interp_state before, after;
    CU_ASSERT_FATAL(interp_run(&before, f.g, sym, ins, NULL, 1) == 0);
    pass_fuse(f.g);
    CU_ASSERT_TRUE(ir_verify(f.g)); /* still in topological order */
    CU_ASSERT_PTR_EQUAL(s1->sibling, s1);
    CU_ASSERT_PTR_EQUAL(s2->sibling, s1);
    CU_ASSERT_PTR_NULL(s3->sibling);
    CU_ASSERT_PTR_NOT_EQUAL(mx->sibling, s1);
    CU_ASSERT_PTR_NOT_EQUAL(rows->sibling, s1);
    CU_ASSERT_EQUAL(pos_of(f.g, s2), pos_of(f.g, s1) + 1); /* contiguous, leader first */
    CU_ASSERT_TRUE(pos_of(f.g, v1) > pos_of(f.g, s2));    /* the consumer sank with s1 */
    pass_plan(f.g);
    CU_ASSERT_TRUE(plan_verify(f.g, stderr));
    CU_ASSERT_FATAL(interp_run(&after, f.g, sym, ins, NULL, 1) == 0);
    for (int k = 0; k < f.g->n_outputs; k++) {
        int64_t cnt = ir_dim_eval(ir_shape_numel(&f.g->outputs[k].node->shape), sym);
        for (int64_t i = 0; i < cnt; i++) CU_ASSERT_EQUAL(interp_output(&before, k)[i], interp_output(&after, k)[i]);
    }
    interp_free(&before);
    interp_free(&after);

    /* b reads a through t = y * a: it depends on a, so no set forms */
    fixture h;
    setup(&h);
    ir_node *a = ir_reduce_sum(h.g, h.x, 1, 1);
    ir_node *t = ir_bin(h.g, OP_mul, h.y, a);
    ir_node *b = ir_reduce_sum(h.g, ir_bin(h.g, OP_mul, h.x, t), 1, 1);
    out(&h, b);
    pass_fuse(h.g);
    CU_ASSERT_PTR_NULL(a->sibling);
    CU_ASSERT_PTR_NULL(b->sibling);
    arena_free(&h.ar);
    arena_free(&f.ar);
}

/* The interpreter rejects out-of-range labels instead of reading out of bounds. */
static void test_interp_labels(void) {
    fixture f;
    setup(&f);
    ir_shape ls = {1, {{1, 1}}};
    ir_node *lab = ir_input_node(f.g, "label", IR_I32, &ls, (src_loc){0});
    ir_node *in[2] = {f.x, lab};
    out(&f, ir_op_attrs(f.g, OP_pick, in, 2, NULL));
    int64_t sym[IR_MAX_SYMS] = {2, 1, 1, 1, 1, 1, 1, 1};
    double xv[8] = {0, 1, 2, 3, 4, 5, 6, 7}, yv[8] = {0}, good[2] = {3, 1}, bad[2] = {3, 4};
    double *ins[3] = {xv, yv, good};
    interp_state s;
    CU_ASSERT_EQUAL(interp_run(&s, f.g, sym, ins, NULL, 1), 0);
    CU_ASSERT_EQUAL(interp_output(&s, 0)[0], 3);
    CU_ASSERT_EQUAL(interp_output(&s, 0)[1], 5);
    interp_free(&s);
    ins[2] = bad;
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    CU_ASSERT_EQUAL(interp_run(&s, f.g, sym, ins, NULL, 1), -1);
    fclose(stderr);
    stderr = saved;
    interp_free(&s);
    arena_free(&f.ar);
}

/* pass_bnorm: a training batch norm's forward becomes (x - mean) * k + b,
 * which the fuser joins with the residual add and the relu after it (one
 * loop, one stored value), and the values stay those of the opaque op. */
static void test_bnorm_lowered(void) {
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "m");
    ir_graph *g = ir_graph_new(m, "train_step", IR_MODE_TRAIN);
    const ir_shape xs = {3, {{1, 1}, {3, 0}, {5, 0}}}, cs = {1, {{3, 0}}}; /* x f32[N, 3, 5] */
    ir_node *x = ir_input_node(g, "x", IR_F32, &xs, (src_loc){0});
    ir_node *r = ir_input_node(g, "r", IR_F32, &xs, (src_loc){0});
    ir_node *w = ir_input_node(g, "w", IR_F32, &cs, (src_loc){0});
    ir_node *b = ir_input_node(g, "b", IR_F32, &cs, (src_loc){0});
    const ir_attrs eps = {.norm = {.eps = 1e-3}, .nf = 1};
    ir_node *in[4] = {x, ir_un(g, OP_batch_stats, x), w, b};
    ir_node *y = ir_un(g, OP_relu, ir_bin(g, OP_add, ir_op_attrs(g, OP_batch_normalize, in, 4, &eps), r));
    ir_add_output(g, IR_OUT_VALUE, 0, NULL, y);

    int64_t sym[IR_MAX_SYMS] = {3, 1, 1, 1, 1, 1, 1, 1}; /* N = 3: 45 elements, planes of 5 */
    double xv[45], rv[45], wv[3] = {0.5, -2, 1.25}, bv[3] = {0.1, 0, -3}, want[45];
    for (int i = 0; i < 45; i++) xv[i] = 10 + ((i * 37) % 19) * 0.25, rv[i] = ((i * 11) % 7) - 3;
    double *ins[4] = {xv, rv, wv, bv};
    interp_state s;
    CU_ASSERT_FATAL(interp_run(&s, g, sym, ins, NULL, 1) == 0);
    memcpy(want, interp_output(&s, 0), sizeof want);
    interp_free(&s);

    CU_ASSERT_FATAL(passes_run(g, NULL, NULL, 1) == 0);
    CU_ASSERT_EQUAL(count_op(g, OP_batch_normalize), 0);
    const ir_node *root = g->outputs[0].node, *sub = NULL;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->op == OP_sub && g->nodes[i]->in[0] == x) sub = g->nodes[i];
    CU_ASSERT_FATAL(sub != NULL);
    CU_ASSERT_EQUAL(root->op, OP_relu);
    CU_ASSERT_EQUAL(sub->group, root->group); /* x - mean, * k, + b, + r, relu: one group */
    CU_ASSERT_EQUAL(root->in[0]->group, root->group);
    CU_ASSERT_FATAL(interp_run(&s, g, sym, ins, NULL, 1) == 0);
    const double *got = interp_output(&s, 0);
    int nonzero = 0;
    for (int i = 0; i < 45; i++) {
        CU_ASSERT_DOUBLE_EQUAL(got[i], want[i], 1e-12 * (1 + fabs(want[i])));
        nonzero += want[i] != 0;
    }
    CU_ASSERT(nonzero > 5 && nonzero < 40); /* the relu cut some, kept some */
    interp_free(&s);
    arena_free(&ar);
}

/* pass_bnorm_mask: the ReLU's backward gy * step(y) (six: the ReLU6's,
 * gy * (step(y) * step(6 - y)), with mask_hi 6) in front of a batch
 * norm's backward becomes the kernels' mask operand and is dropped; a masked
 * gradient with another use (a residual's) is left alone; values unchanged. */
static ir_node *relu_mask(ir_graph *g, ir_node *y, int six) {
    ir_node *m = ir_un(g, OP_step, y);
    return six ? ir_bin(g, OP_mul, m, ir_un(g, OP_step, ir_bin(g, OP_sub, ir_const(g, 6.0, NULL), y))) : m;
}

static void check_bnorm_mask(int six) {
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "m");
    ir_graph *g = ir_graph_new(m, "train_step", IR_MODE_TRAIN);
    const ir_shape xs = {3, {{1, 1}, {3, 0}, {5, 0}}}, cs = {1, {{3, 0}}}; /* x f32[N, 3, 5] */
    ir_node *x = ir_input_node(g, "x", IR_F32, &xs, (src_loc){0});
    ir_node *y = ir_input_node(g, "y", IR_F32, &xs, (src_loc){0});
    ir_node *gy = ir_input_node(g, "gy", IR_F32, &xs, (src_loc){0});
    ir_node *w = ir_input_node(g, "w", IR_F32, &cs, (src_loc){0});
    const ir_attrs eps = {.norm = {.eps = 1e-3}, .nf = 1};
    ir_node *st = ir_un(g, OP_batch_stats, x);
    ir_node *outs[4], *kept = NULL;
    for (int k = 0; k < 2; k++) { /* k = 1: the masked gradient is also an output (another use) */
        ir_node *gm = ir_bin(g, OP_mul, k ? y : gy, relu_mask(g, k ? gy : y, six));
        ir_node *sin[3] = {x, st, gm};
        ir_node *sums = ir_op_attrs(g, OP_batch_norm_sums, sin, 3, &eps);
        ir_node *din[5] = {x, st, w, gm, sums};
        outs[2 * k] = sums, outs[2 * k + 1] = ir_op_attrs(g, OP_batch_norm_dx, din, 5, &eps);
        if (k) kept = gm;
    }
    for (int k = 0; k < 4; k++) ir_add_output(g, IR_OUT_VALUE, k, NULL, outs[k]);
    ir_add_output(g, IR_OUT_VALUE, 4, NULL, kept);

    int64_t sym[IR_MAX_SYMS] = {3, 1, 1, 1, 1, 1, 1, 1}; /* N = 3: 45 elements, planes of 5 */
    double xv[45], yv[45], gv[45], wv[3] = {0.5, -2, 1.25}, want[4][45];
    for (int i = 0; i < 45; i++)
        xv[i] = 10 + ((i * 37) % 19) * 0.25, yv[i] = ((i * 11) % (six ? 9 : 7)) - (six ? 1 : 3), /* six: -1..7 */
        gv[i] = ((i * 5) % 9) * 0.5 - 2;
    double *ins[4] = {xv, yv, gv, wv};
    interp_state s;
    CU_ASSERT_FATAL(interp_run(&s, g, sym, ins, NULL, 1) == 0);
    for (int k = 0; k < 4; k++) memcpy(want[k], interp_output(&s, k), sizeof(double) * (k % 2 ? 45 : 6));
    interp_free(&s);

    pass_bnorm_mask(g);
    pass_dce(g);
    CU_ASSERT_TRUE(ir_verify(g));
    CU_ASSERT_EQUAL(outs[0]->nin, 4); /* sums(x, stats, gy, y) */
    CU_ASSERT_EQUAL(outs[1]->nin, 6); /* dx(x, stats, w, gy, sums, y) */
    CU_ASSERT_PTR_EQUAL(outs[0]->in[2], gy);
    CU_ASSERT_PTR_EQUAL(outs[0]->in[3], y);
    CU_ASSERT_PTR_EQUAL(outs[1]->in[3], gy);
    CU_ASSERT_PTR_EQUAL(outs[1]->in[5], y);
    CU_ASSERT_EQUAL(outs[2]->nin, 3); /* its gradient is used elsewhere: unchanged */
    CU_ASSERT_EQUAL(outs[3]->nin, 5);
    CU_ASSERT_EQUAL(count_op(g, OP_mul), six ? 2 : 1); /* the kept gradient's */
    CU_ASSERT_EQUAL(outs[0]->a.nf > 1 ? outs[0]->a.norm.mask_hi : 0, six ? 6 : 0);
    CU_ASSERT_EQUAL(outs[1]->a.nf > 1 ? outs[1]->a.norm.mask_hi : 0, six ? 6 : 0);
    CU_ASSERT_FATAL(interp_run(&s, g, sym, ins, NULL, 1) == 0);
    for (int k = 0; k < 4; k++) {
        const double *got = interp_output(&s, k);
        const int len = k % 2 ? 45 : 6;
        for (int i = 0; i < len; i++) CU_ASSERT_DOUBLE_EQUAL(got[i], want[k][i], 1e-12 * (1 + fabs(want[k][i])));
    }
    interp_free(&s);
    arena_free(&ar);
}

static void test_bnorm_mask(void) {
    check_bnorm_mask(0);
    check_bnorm_mask(1);
}

void suite_passes(void) {
    CU_pSuite s = CU_add_suite("passes", NULL, NULL);
    CU_add_test(s, "dce", test_dce);
    CU_add_test(s, "cse", test_cse);
    CU_add_test(s, "fold: identities", test_fold_identities);
    CU_add_test(s, "fold: shapes and constants", test_fold_shapes_and_constants);
    CU_add_test(s, "pipeline and dump", test_pipeline);
    CU_add_test(s, "fuse: a reduction takes its input's group", test_fuse_into_reduction);
    CU_add_test(s, "fuse: sibling reductions share a kernel", test_fuse_siblings);
    CU_add_test(s, "interpreter checks labels", test_interp_labels);
    CU_add_test(s, "bnorm: batch_normalize lowered and fused with what follows", test_bnorm_lowered);
    CU_add_test(s, "bnorm_mask: a ReLU's and a ReLU6's backward read inside batch norm's", test_bnorm_mask);
}
