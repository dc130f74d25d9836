/* test_shape.c — every shape rule: what it infers, and the exact text of the
 * errors people will read at their .dln span. The rules are called directly
 * on stack nodes (no graph needed); one test goes through ir_add to pin how
 * an error is reported and how NULL operands propagate. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "ops_conv.h"

/* A value of the given type: shape "N,784" (N, T symbols; "" scalar). */
static ir_node val(ir_dtype dt, const char *s) {
    ir_node n = {0};
    n.dtype = dt;
    while (*s) {
        if (*s == 'N') n.shape.d[n.shape.rank++] = ir_dim_sym(0), s++;
        else if (*s == 'T') n.shape.d[n.shape.rank++] = ir_dim_sym(1), s++;
        else n.shape.d[n.shape.rank++] = ir_dim_const(strtoll(s, (char **)&s, 10));
        if (*s == ',') s++;
    }
    return n;
}
static ir_node f32(const char *s) { return val(IR_F32, s); }

static char err[512];
static char type[128];

/* Run op's shape rule; returns the result type as text, or NULL (err set). */
static const char *infer(ir_opcode op, ir_node *a, ir_node *b, ir_node *c, const ir_attrs *at) {
    ir_node n = {0};
    n.op = op;
    ir_node *in[3] = {a, b, c};
    for (int k = 0; k < 3 && in[k]; k++) n.in[n.nin++] = in[k];
    if (at) n.a = *at;
    err[0] = '\0';
    if (!ir_ops[op].shape(&n, err, sizeof err)) return NULL;
    return ir_shape_str(type, sizeof type, n.dtype, &n.shape, NULL);
}

#define CHECK_TYPE(got, want)                                      \
    do {                                                           \
        const char *g__ = (got);                                   \
        CU_ASSERT_PTR_NOT_NULL(g__);                               \
        if (g__) CU_ASSERT_STRING_EQUAL(g__, want);                \
        if (!g__) printf("\n  unexpected error: %s\n", err);       \
    } while (0)

#define CHECK_ERR(got, want)                                       \
    do {                                                           \
        const char *g__ = (got);                                   \
        CU_ASSERT_PTR_NULL(g__);                                   \
        CU_ASSERT_STRING_EQUAL(err, want);                         \
        if (strcmp(err, want)) printf("\n  got: %s\n", err);       \
    } while (0)

static void test_shape_str(void) {
    ir_shape s = {0};
    CU_ASSERT_STRING_EQUAL(ir_shape_str(type, sizeof type, IR_F32, &s, NULL), "f32[]");
    ir_node x = val(IR_I32, "N");
    CU_ASSERT_STRING_EQUAL(ir_shape_str(type, sizeof type, IR_I32, &x.shape, NULL), "i32[N]");
    s.rank = 2;
    s.d[0] = ir_dim_mul(ir_dim_sym(0), ir_dim_sym(1));
    s.d[1] = ir_dim_const(64);
    CU_ASSERT_STRING_EQUAL(ir_shape_str(type, sizeof type, IR_F32, &s, NULL), "f32[N*T, 64]");
    s.rank = 1;
    s.d[0] = ir_dim_mul(ir_dim_const(4), ir_dim_sym(0));
    CU_ASSERT_STRING_EQUAL(ir_shape_str(type, sizeof type, IR_F32, &s, NULL), "f32[4*N]");
    s.d[0] = ir_dim_sym(3);
    CU_ASSERT_STRING_EQUAL(ir_shape_str(type, sizeof type, IR_F32, &s, NULL), "f32[S3]");
    /* with a module, its symbol names */
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "m");
    m->syms[1].name = "L";
    m->n_syms = 2;
    s.d[0] = ir_dim_mul(ir_dim_sym(0), ir_dim_sym(1));
    CU_ASSERT_STRING_EQUAL(ir_shape_str(type, sizeof type, IR_F32, &s, m), "f32[N*L]");
    arena_free(&ar);
    /* dims arithmetic */
    int64_t sv[IR_MAX_SYMS] = {5, 7};
    CU_ASSERT_EQUAL(ir_dim_eval(s.d[0], sv), 35);
    CU_ASSERT_TRUE(ir_dim_eq(ir_dim_unpack(ir_dim_pack(s.d[0])), s.d[0]));
}

static void test_elementwise(void) {
    ir_node a = f32("N,10"), b = f32("10"), c = f32("N,12"), s = f32(""), one = f32("N,1"), row = f32("1,5");
    ir_node lab = val(IR_I32, "N");
    CHECK_TYPE(infer(OP_relu, &a, NULL, NULL, NULL), "f32[N, 10]");
    CHECK_TYPE(infer(OP_add, &a, &b, NULL, NULL), "f32[N, 10]");
    CHECK_TYPE(infer(OP_mul, &s, &a, NULL, NULL), "f32[N, 10]");
    CHECK_TYPE(infer(OP_sub, &one, &row, NULL, NULL), "f32[N, 5]");
    CHECK_TYPE(infer(OP_gt, &a, &s, NULL, NULL), "f32[N, 10]");
    CHECK_TYPE(infer(OP_where, &one, &a, &s, NULL), "f32[N, 10]");
    CHECK_TYPE(infer(OP_cast_f32, &lab, NULL, NULL, NULL), "f32[N]");
    ir_attrs slope = {.f = {0.1}, .nf = 1};
    CHECK_TYPE(infer(OP_leaky_relu, &a, NULL, NULL, &slope), "f32[N, 10]");

    CHECK_ERR(infer(OP_add, &a, &c, NULL, NULL),
              "cannot add f32[N, 10] and f32[N, 12]\n"
              "hint: dimensions must be equal or 1 to broadcast (NumPy rules); dimension 1 is 10 vs 12");
    CHECK_ERR(infer(OP_sub, &a, &row, NULL, NULL),
              "cannot subtract f32[N, 10] and f32[1, 5]\n"
              "hint: dimensions must be equal or 1 to broadcast (NumPy rules); dimension 1 is 10 vs 5");
    ir_node t = f32("T,10");
    CHECK_ERR(infer(OP_mul, &a, &t, NULL, NULL),
              "cannot multiply f32[N, 10] and f32[T, 10]\n"
              "hint: dimensions must be equal or 1 to broadcast (NumPy rules); dimension 0 is N vs T");
    ir_node v3 = f32("3"), v4 = f32("4");
    CHECK_ERR(infer(OP_maximum, &v3, &v4, NULL, NULL),
              "maximum: cannot broadcast f32[3] and f32[4] together\n"
              "hint: dimensions must be equal or 1 to broadcast (NumPy rules); dimension 0 is 3 vs 4");
    CHECK_ERR(infer(OP_exp, &lab, NULL, NULL, NULL),
              "exp: expected a float tensor, got i32[N]\n"
              "hint: integer tensors (labels) must be converted with cast_f32 first");
}

static void test_reduce(void) {
    ir_node x = f32("N,4,5");
    ir_attrs a = {.i = {2, 0}, .ni = 2};
    CHECK_TYPE(infer(OP_reduce_sum, &x, NULL, NULL, &a), "f32[N, 5]");
    a.i[1] = 1;
    CHECK_TYPE(infer(OP_reduce_max, &x, NULL, NULL, &a), "f32[N, 1, 5]");
    ir_attrs all = {.i = {7, 0}, .ni = 2};
    CHECK_TYPE(infer(OP_reduce_sum, &x, NULL, NULL, &all), "f32[]");
    ir_attrs bad = {.i = {8, 0}, .ni = 2};
    CHECK_ERR(infer(OP_reduce_sum, &x, NULL, NULL, &bad), "reduce_sum: axis 3 is out of range for f32[N, 4, 5] (it has 3 dimensions)");
}

static void test_shape_ops(void) {
    ir_node x = f32("N,784"), lab = val(IR_I32, "N,1");
    ir_node target = f32("N,28,28");
    ir_attrs a = {0};
    ir_attrs_set_shape(&a, 0, &target.shape);
    CHECK_TYPE(infer(OP_reshape, &x, NULL, NULL, &a), "f32[N, 28, 28]");
    ir_node flat = val(IR_I32, "N");
    ir_attrs_set_shape(&a, 0, &flat.shape);
    CHECK_TYPE(infer(OP_reshape, &lab, NULL, NULL, &a), "i32[N]"); /* keeps the dtype */
    ir_node wrong = f32("N,780");
    ir_attrs_set_shape(&a, 0, &wrong.shape);
    CHECK_ERR(infer(OP_reshape, &x, NULL, NULL, &a),
              "reshape: cannot reshape f32[N, 784] (784*N elements) to f32[N, 780] (780*N elements)");

    ir_node col = f32("N,1"), wide = f32("2,N,5"), bad = f32("N,3");
    ir_attrs_set_shape(&a, 0, &wide.shape);
    CHECK_TYPE(infer(OP_broadcast_to, &col, NULL, NULL, &a), "f32[2, N, 5]");
    CHECK_ERR(infer(OP_broadcast_to, &bad, NULL, NULL, &a),
              "cannot broadcast f32[N, 3] to f32[2, N, 5]\nhint: each dimension must be equal to the target's or 1 (NumPy rules)");

    ir_node t = f32("2,N,3");
    ir_attrs perm = {.i = {2, 0, 1}, .ni = 3};
    CHECK_TYPE(infer(OP_transpose, &t, NULL, NULL, &perm), "f32[3, 2, N]");
    ir_attrs dup = {.i = {0, 0, 1}, .ni = 3};
    CHECK_ERR(infer(OP_transpose, &t, NULL, NULL, &dup), "transpose: the axes must be a permutation of 0..2 for f32[2, N, 3]");
    ir_attrs short_perm = {.i = {1, 0}, .ni = 2};
    CHECK_ERR(infer(OP_transpose, &t, NULL, NULL, &short_perm),
              "transpose: the permutation has 2 entries but f32[2, N, 3] has 3 dimensions");
    CHECK_TYPE(infer(OP_stop_grad, &t, NULL, NULL, NULL), "f32[2, N, 3]");

    ir_attrs k = {.f = {2.5}, .nf = 1};
    ir_attrs_set_shape(&k, 0, &wide.shape);
    CHECK_TYPE(infer(OP_constant, NULL, NULL, NULL, &k), "f32[2, N, 5]");
    ir_attrs r = {.i = {7}};
    ir_attrs_set_shape(&r, 1, &x.shape);
    CHECK_TYPE(infer(OP_rand_normal, NULL, NULL, NULL, &r), "f32[N, 784]");
}

static void test_matmul(void) {
    ir_node x = f32("N,784"), w = f32("512,784"), wt = f32("784,512"), v = f32("100");
    ir_attrs nn = {.ni = 2}, tb = {.i = {0, 1}, .ni = 2}, ta = {.i = {1, 0}, .ni = 2};
    CHECK_TYPE(infer(OP_matmul, &x, &wt, NULL, &nn), "f32[N, 512]");
    CHECK_TYPE(infer(OP_matmul, &x, &w, NULL, &tb), "f32[N, 512]");
    ir_node xt = f32("784,N");
    CHECK_TYPE(infer(OP_matmul, &xt, &wt, NULL, &ta), "f32[N, 512]");
    ir_node ba = f32("2,1,3,4"), bb = f32("5,4,6");
    CHECK_TYPE(infer(OP_matmul, &ba, &bb, NULL, &nn), "f32[2, 5, 3, 6]");

    ir_node w2 = f32("512,100");
    CHECK_ERR(infer(OP_matmul, &x, &w2, NULL, &nn),
              "matmul: inner dimensions differ: f32[N, 784] @ f32[512, 100] (784 vs 512)\nhint: did you mean transpose(...)?");
    CHECK_ERR(infer(OP_matmul, &x, &wt, NULL, &tb),
              "matmul: inner dimensions differ: f32[N, 784] @ transpose f32[784, 512] (784 vs 512)\nhint: did you mean transpose(...)?");
    CHECK_ERR(infer(OP_matmul, &x, &v, NULL, &nn),
              "matmul: operands need at least 2 dimensions, got f32[100]\nhint: reshape a vector to [1, K] or [K, 1]");
    ir_node b1 = f32("2,3,4"), b2 = f32("3,4,5");
    CHECK_ERR(infer(OP_matmul, &b1, &b2, NULL, &nn), "matmul: the batch dimensions of f32[2, 3, 4] and f32[3, 4, 5] do not broadcast");
}

static void test_nn(void) {
    ir_node x = f32("N,10"), lab = val(IR_I32, "N"), g = f32("N");
    ir_attrs ax = {.i = {1}, .ni = 1}, bad = {.i = {2}, .ni = 1};
    CHECK_TYPE(infer(OP_softmax, &x, NULL, NULL, &ax), "f32[N, 10]");
    CHECK_ERR(infer(OP_log_softmax, &x, NULL, NULL, &bad), "log_softmax: axis 2 is out of range for f32[N, 10]");
    CHECK_TYPE(infer(OP_pick, &x, &lab, NULL, NULL), "f32[N]");
    ir_attrs c10 = {.i = {10}, .ni = 1};
    CHECK_TYPE(infer(OP_unpick, &g, &lab, NULL, &c10), "f32[N, 10]");
    ir_node flab = f32("N");
#define PICK_HINT "\nhint: one class label per position: the shape of the scores without their last dimension (the classes); " \
                  "cross_entropy and nll also take PyTorch's classes on axis 1 when the target is the scores' shape " \
                  "without axis 1 (f32[N, C, H, W] with i32[N, H, W])"
    CHECK_ERR(infer(OP_pick, &x, &flab, NULL, NULL), "pick: labels must be i32[N] to index f32[N, 10], got f32[N]" PICK_HINT);
    ir_node lab2 = val(IR_I32, "N,2");
    CHECK_ERR(infer(OP_pick, &x, &lab2, NULL, NULL), "pick: labels must be i32[N] to index f32[N, 10], got i32[N, 2]" PICK_HINT);
#undef PICK_HINT
    /* take / scatter_add: rows of a table by an index of any shape, and back */
    ir_node table = f32("7,3,2");
    CHECK_TYPE(infer(OP_take, &table, &lab2, NULL, NULL), "f32[N, 2, 3, 2]");
    CHECK_ERR(infer(OP_take, &table, &flab, NULL, NULL), "take: the index must be an integer tensor (i32), got f32[N]\nhint: ids held as "
              "floats (a csv column, a computed value) become indices by cast_i32: take(table, cast_i32(ids))");
    ir_node src = f32("N,2,5");
    ir_attrs v7 = {.i = {7}, .ni = 1};
    CHECK_TYPE(infer(OP_scatter_add, &src, &lab2, NULL, &v7), "f32[7, 5]");
    CHECK_ERR(infer(OP_scatter_add, &src, &lab2, NULL, NULL), "scatter_add: needs the number of rows V >= 1 in rows");
    CHECK_ERR(infer(OP_scatter_add, &x, &lab2, NULL, &v7),
              "scatter_add: the index i32[N, 2] must have the leading dimensions of the source f32[N, 10]");
}

/* ir_add reports through diag at the node's span and returns NULL; NULL
 * operands (an earlier error) propagate silently. */
static void test_ir_add_reports(void) {
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "m");
    ir_graph *g = ir_graph_new(m, "forward", IR_MODE_EVAL);
    ir_shape s10 = {2, {{1, 1}, {10, 0}}}, s12 = {2, {{1, 1}, {12, 0}}};
    ir_node *a = ir_input_node(g, "a", IR_F32, &s10, (src_loc){0});
    ir_node *b = ir_input_node(g, "b", IR_F32, &s12, (src_loc){0});
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    diag_ctx d;
    diag_init(&d, out);
    src_loc loc = {"t.dln", 3, 14, 3, 18};
    ir_node *in[2] = {a, b};
    CU_ASSERT_PTR_NULL(ir_add(g, &d, loc, OP_add, in, 2, NULL));
    CU_ASSERT_EQUAL(d.n_errors, 1);
    in[1] = NULL;
    CU_ASSERT_PTR_NULL(ir_add(g, &d, loc, OP_add, in, 2, NULL));
    CU_ASSERT_EQUAL(d.n_errors, 1);
    CU_ASSERT_PTR_NULL(ir_add(g, &d, loc, OP_add, in, 1, NULL));
    CU_ASSERT_EQUAL(d.n_errors, 2);
    CU_ASSERT_EQUAL(g->n_nodes, 2); /* nothing appended */
    fclose(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "t.dln:3:14: error: cannot add f32[N, 10] and f32[N, 12]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "error: add takes 2 operands, got 1"));
    free(buf);
    free(d.sources);
    arena_free(&ar);
}

/* ---- data movement (ops_movement.c) ---------------------------------------- */

static ir_attrs ints(int n, const int64_t *v) {
    ir_attrs a = {.ni = n};
    for (int k = 0; k < n; k++) a.i[k] = v[k];
    return a;
}
#define INTS(...) ints((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

static void test_movement(void) {
    ir_node a = f32("N,2,5"), b = f32("N,3,5"), c = f32("N,2,4"), lab = val(IR_I32, "N,2,5"), s = f32("");
    ir_attrs ax1 = INTS(1), ax0 = INTS(0), ax3 = INTS(3);
    CHECK_TYPE(infer(OP_concat, &a, &b, &a, &ax1), "f32[N, 7, 5]");
    CHECK_ERR(infer(OP_concat, &a, &c, NULL, &ax1),
              "concat: cannot join f32[N, 2, 5] and f32[N, 2, 4] along axis 1\nhint: all dimensions except axis 1 must be equal");
    CHECK_ERR(infer(OP_concat, &a, &b, NULL, &ax0),
              "concat: dimension 0 of f32[N, 2, 5] is a run-time size\nhint: only dimensions known at compile time can be "
              "sliced, padded, resized or concatenated");
    CHECK_ERR(infer(OP_concat, &a, &b, NULL, &ax3), "concat: axis 3 is out of range for f32[N, 2, 5]");
    CHECK_ERR(infer(OP_concat, &s, NULL, NULL, &ax0), "concat: cannot concatenate scalars\nhint: use stack for scalars");
    CHECK_ERR(infer(OP_concat, &a, &lab, NULL, &ax1),
              "concat: expected a float tensor, got i32[N, 2, 5]\nhint: integer tensors (labels) must be converted with cast_f32 first");
    CHECK_TYPE(infer(OP_concat, &lab, &lab, NULL, &ax1), "i32[N, 4, 5]"); /* ids join ids, never floats */

    ir_node x = f32("N,7");
    ir_attrs sl = INTS(1, 1, 2, 3), far = INTS(1, 3, 2, 3), zero = INTS(1, 0, 0, 2);
    CHECK_TYPE(infer(OP_slice, &x, NULL, NULL, &sl), "f32[N, 3]");
    CHECK_ERR(infer(OP_slice, &x, NULL, NULL, &far),
              "slice: 3 positions from 3 in steps of 2 do not fit in a dimension of size 7");
    CHECK_ERR(infer(OP_slice, &x, NULL, NULL, &zero), "slice: step must be at least 1, got 0");
    ir_node ids = val(IR_I32, "N,7"); /* packed id columns: an i32 slice stays i32, its gradient f32 only */
    CHECK_TYPE(infer(OP_slice, &ids, NULL, NULL, &sl), "i32[N, 3]");
    ir_attrs sg7 = INTS(1, 1, 2, 7);
    CHECK_ERR(infer(OP_slice_grad, &ids, NULL, NULL, &sg7),
              "slice_grad: expected a float tensor, got i32[N, 7]\nhint: integer tensors (labels) must be converted with cast_f32 first");
    ir_node g = f32("N,3");
    ir_attrs sg = INTS(1, 1, 2, 7), sg_short = INTS(1, 1, 2, 5);
    CHECK_TYPE(infer(OP_slice_grad, &g, NULL, NULL, &sg), "f32[N, 7]");
    CHECK_ERR(infer(OP_slice_grad, &g, NULL, NULL, &sg_short),
              "slice_grad: 3 positions from 1 in steps of 2 do not fit in a dimension of size 5");

    ir_node img = f32("N,3,4,5");
    ir_attrs refl = INTS(1, 2, 2, 4, 3, 1), big = INTS(1, 1, 5, 0), neg = INTS(2, 1, -1, 0);
    ir_attrs crop = INTS(0, 2, -1, 2, 1, -2), three = INTS(2, 3, 1, 1, 1, 1, 1, 1), gone = INTS(0, 1, -3, -2);
    CHECK_TYPE(infer(OP_pad, &img, NULL, NULL, &refl), "f32[N, 3, 8, 11]");
    CHECK_TYPE(infer(OP_pad, &img, NULL, NULL, &crop), "f32[N, 3, 3, 6]");
    CHECK_TYPE(infer(OP_pad, &img, NULL, NULL, &three), "f32[N, 5, 6, 7]");
    CHECK_ERR(infer(OP_pad, &img, NULL, NULL, &big),
              "pad: reflect pads (5, 0) must be smaller than dimension 3 (size 5)\nhint: reflection does not repeat the "
              "edge, so at most size - 1 elements can be mirrored");
    CHECK_ERR(infer(OP_pad, &img, NULL, NULL, &neg), "pad: negative pads (-1, 0) are only allowed in constant mode, not replicate");
    CHECK_ERR(infer(OP_pad, &img, NULL, NULL, &gone), "pad: pads (-3, -2) leave nothing of dimension 3 of f32[N, 3, 4, 5]");
    ir_node vec = f32("5");
    ir_attrs two = INTS(0, 2, 1, 1, 1, 1);
    CHECK_ERR(infer(OP_pad, &vec, NULL, NULL, &two),
              "pad: 2 pairs of pads for f32[5], which has only 1 dimensions\nhint: pads come in (left, right) pairs, last "
              "dimension first");
    ir_node row = f32("3,N");
    ir_attrs pn = INTS(0, 1, 1, 1);
    CHECK_ERR(infer(OP_pad, &row, NULL, NULL, &pn),
              "pad: dimension 1 of f32[3, N] is a run-time size\nhint: only dimensions known at compile time can be "
              "sliced, padded, resized or concatenated; a neighbour along a run-time time axis (GAE's next value, a "
              "shift by one step) is a carry of a scan: vn = zeros(N) then scan reverse vt in v carry vn { ... vn = vt }");
    ir_node padded = f32("N,3,8,11");
    CHECK_TYPE(infer(OP_pad_grad, &padded, NULL, NULL, &refl), "f32[N, 3, 4, 5]");

    ir_attrs up = INTS(1, 2, 3, 0), near = INTS(0, 2, 5, 0), no_scale = INTS(1, 0, 2, 0);
    CHECK_TYPE(infer(OP_upsample, &img, NULL, NULL, &up), "f32[N, 3, 8, 15]");
    CHECK_TYPE(infer(OP_upsample_grad, &img, NULL, NULL, &near), "f32[N, 3, 2, 1]");
    CHECK_ERR(infer(OP_upsample_grad, &img, NULL, NULL, &up),
              "upsample_grad: dimension 3 of f32[N, 3, 4, 5] is not a multiple of the scale 3");
    CHECK_ERR(infer(OP_upsample, &x, NULL, NULL, &up),
              "upsample: expected f32[N, C, H, W], got f32[N, 7]\nhint: reshape a single image to [1, C, H, W] first");
    CHECK_ERR(infer(OP_upsample, &img, NULL, NULL, &no_scale),
              "upsample: needs mode, num_h >= 1, num_w >= 1, align_corners (and the denominators "
              "den_h, den_w >= 1 when set)");
    ir_attrs to_size = {.i = {1, 5, 7, 0, 4, 5}, .ni = 6}, odd = {.i = {0, 5, 3, 0, 3, 2}, .ni = 6};
    CHECK_TYPE(infer(OP_upsample, &img, NULL, NULL, &to_size), "f32[N, 3, 5, 7]");
    CHECK_ERR(infer(OP_upsample, &img, NULL, NULL, &odd),
              "upsample: dimension 2 of f32[N, 3, 4, 5] times 5/3 is not a whole number");
}
#undef INTS

/* ---- convolution and pooling (ops_conv.c) ---------------------------------- */

static ir_attrs geom(int64_t s, int64_t p, int64_t d, int64_t groups, int64_t k, int64_t size, int64_t flag) {
    conv_geom g = conv_geom_default();
    g.sh = g.sw = s, g.pt = g.pb = g.pl = g.pr = p, g.dh = g.dw = d, g.groups = groups;
    g.kh = g.kw = k, g.size_h = g.size_w = size, g.flag = flag;
    ir_attrs a;
    conv_geom_set(&a, &g);
    return a;
}

static void test_conv(void) {
    ir_node x = f32("N,3,32,32"), w = f32("16,3,3,3"), dw = f32("6,1,3,3"), x6 = f32("N,6,8,8");
    ir_attrs a = geom(1, 1, 1, 1, 0, 0, 0);
    CHECK_TYPE(infer(OP_conv2d, &x, &w, NULL, &a), "f32[N, 16, 32, 32]");
    a = geom(2, 0, 1, 1, 0, 0, 0);
    CHECK_TYPE(infer(OP_conv2d, &x, &w, NULL, &a), "f32[N, 16, 15, 15]");
    a = geom(1, 2, 2, 6, 0, 0, 0);
    CHECK_TYPE(infer(OP_conv2d, &x6, &dw, NULL, &a), "f32[N, 6, 8, 8]");
    a = geom(1, 0, 1, 4, 0, 0, 0);
    CHECK_ERR(infer(OP_conv2d, &x6, &dw, NULL, &a), "conv2d: 6 input channels cannot be split into groups=4");
    a = geom(1, 0, 1, 1, 0, 0, 0);
    CHECK_ERR(infer(OP_conv2d, &x6, &w, NULL, &a),
              "conv2d: the weight f32[16, 3, 3, 3] expects 3 input channels per group, but x has 6 channels in 1 "
              "group(s) (6 per group)\nhint: the weight layout is [out_channels, in_channels/groups, kh, kw]");
    ir_node big = f32("8,6,11,11");
    CHECK_ERR(infer(OP_conv2d, &x6, &big, NULL, &a),
              "conv2d: the kernel 11x11 (dilation 1x1: 11x11 effective) is larger than the padded input 8x8 (8x8 plus "
              "padding 0,0,0,0): the output size would be -2x-2\nhint: use a smaller kernel or add padding");
    ir_node flat = f32("N,784");
    CHECK_ERR(infer(OP_conv2d, &flat, &w, NULL, &a),
              "conv2d: x must be f32[N, C, H, W], got f32[N, 784]\nhint: images are NCHW; reshape flat inputs, e.g. "
              "reshape(x, [N, 1, 28, 28])");
    a = geom(0, 0, 1, 1, 0, 0, 0);
    CHECK_ERR(infer(OP_conv2d, &x, &w, NULL, &a), "conv2d: the stride must be positive, got 0x0");

    /* conv_transpose2d: [in, out/groups, kh, kw]; output padding recovers skipped rows */
    ir_node xt = f32("N,16,5,5"), wt = f32("16,8,3,3");
    a = geom(2, 1, 1, 1, 0, 1, 0);
    CHECK_TYPE(infer(OP_conv_transpose2d, &xt, &wt, NULL, &a), "f32[N, 8, 10, 10]");
    a = geom(2, 1, 1, 1, 0, 2, 0);
    CHECK_ERR(infer(OP_conv_transpose2d, &xt, &wt, NULL, &a),
              "conv_transpose2d: the output padding 2x2 must be smaller than the stride 2x2");
    a = geom(1, 0, 1, 1, 0, 0, 0);
    CHECK_ERR(infer(OP_conv_transpose2d, &x, &wt, NULL, &a),
              "conv_transpose2d: the weight f32[16, 8, 3, 3] is for 16 input channels, but x f32[N, 3, 32, 32] has 3\n"
              "hint: the weight layout is [in_channels, out_channels/groups, kh, kw]");

    /* conv2d_bwd_weight: the kernel comes from the attributes */
    ir_node gy = f32("N,16,15,15");
    a = geom(2, 0, 1, 1, 3, 0, 0);
    CHECK_TYPE(infer(OP_conv2d_bwd_weight, &x, &gy, NULL, &a), "f32[16, 3, 3, 3]");
    a = geom(1, 0, 1, 1, 3, 0, 0);
    CHECK_ERR(infer(OP_conv2d_bwd_weight, &x, &gy, NULL, &a),
              "conv2d_bwd_weight: the output gradient f32[N, 16, 15, 15] does not match the 30x30 output of x f32[N, 3, 32, 32]");
}

static void test_pools(void) {
    ir_node x = f32("N,4,9,9");
    ir_attrs a = geom(2, 0, 1, 1, 2, 0, 0);
    CHECK_TYPE(infer(OP_max_pool2d, &x, NULL, NULL, &a), "f32[N, 4, 4, 4]");
    CHECK_TYPE(infer(OP_max_pool2d_indices, &x, NULL, NULL, &a), "i32[N, 4, 4, 4]");
    a = geom(2, 1, 1, 1, 3, 0, 1);
    CHECK_TYPE(infer(OP_avg_pool2d, &x, NULL, NULL, &a), "f32[N, 4, 5, 5]");
    a = geom(1, 2, 1, 1, 3, 0, 0);
    CHECK_ERR(infer(OP_max_pool2d, &x, NULL, NULL, &a),
              "max_pool2d: the padding 2,2,2,2 must be at most half the kernel 3x3");
    a = geom(1, 0, 1, 1, 10, 0, 0);
    CHECK_ERR(infer(OP_avg_pool2d, &x, NULL, NULL, &a),
              "avg_pool2d: the kernel 10x10 (dilation 1x1: 10x10 effective) is larger than the padded input 9x9 (9x9 "
              "plus padding 0,0,0,0): the output size would be 0x0\nhint: use a smaller kernel or add padding");
    a = geom(1, 0, 2, 1, 2, 0, 0);
    CHECK_ERR(infer(OP_avg_pool2d, &x, NULL, NULL, &a), "avg_pool2d: dilation is not supported (got 2x2)");
    a = geom(1, 0, 1, 1, 0, 3, 0);
    CHECK_TYPE(infer(OP_adaptive_avg_pool2d, &x, NULL, NULL, &a), "f32[N, 4, 3, 3]");
    a = geom(1, 0, 1, 1, 0, 0, 0);
    CHECK_ERR(infer(OP_adaptive_avg_pool2d, &x, NULL, NULL, &a),
              "adaptive_avg_pool2d: the output size must be positive, got 0x0");

    /* backward ops and unpooling: the larger size is an attribute */
    ir_node gy = f32("N,4,4,4"), idx = val(IR_I32, "N,4,4,4"), fidx = f32("N,4,4,4");
    a = geom(2, 0, 1, 1, 2, 9, 0);
    CHECK_TYPE(infer(OP_max_pool2d_bwd, &gy, &idx, NULL, &a), "f32[N, 4, 9, 9]");
    CHECK_TYPE(infer(OP_max_unpool2d, &gy, &idx, NULL, &a), "f32[N, 4, 9, 9]");
    CHECK_TYPE(infer(OP_max_unpool2d_bwd, &x, &idx, NULL, &a), "f32[N, 4, 4, 4]");
    CHECK_ERR(infer(OP_max_unpool2d, &gy, &fidx, NULL, &a),
              "max_unpool2d: the indices must be i32[N, C, H, W], got f32[N, 4, 4, 4]");
    a = geom(2, 0, 1, 1, 2, 9, 0);
    CHECK_TYPE(infer(OP_avg_pool2d_bwd, &gy, NULL, NULL, &a), "f32[N, 4, 9, 9]");
    a = geom(1, 0, 1, 1, 2, 9, 0);
    CHECK_ERR(infer(OP_avg_pool2d_bwd, &gy, NULL, NULL, &a),
              "avg_pool2d_bwd: the output gradient f32[N, 4, 4, 4] does not match the 8x8 output of a 9x9 input");
    a = geom(1, 0, 1, 1, 0, 9, 0);
    CHECK_TYPE(infer(OP_adaptive_avg_pool2d_bwd, &gy, NULL, NULL, &a), "f32[N, 4, 9, 9]");
}

void suite_shape(void) {
    CU_pSuite s = CU_add_suite("shape", NULL, NULL);
    CU_add_test(s, "shape and dim strings", test_shape_str);
    CU_add_test(s, "elementwise and broadcasting", test_elementwise);
    CU_add_test(s, "reductions", test_reduce);
    CU_add_test(s, "reshape, broadcast_to, transpose, sources", test_shape_ops);
    CU_add_test(s, "matmul", test_matmul);
    CU_add_test(s, "softmax, pick, unpick", test_nn);
    CU_add_test(s, "ir_add reports at the span", test_ir_add_reports);
    CU_add_test(s, "concat, slice, pad, upsample and adjoints", test_movement);
    CU_add_test(s, "conv2d, conv_transpose2d, conv2d_bwd_weight", test_conv);
    CU_add_test(s, "pools, unpooling and their backward ops", test_pools);
}
