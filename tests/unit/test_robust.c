/* test_robust.c — regressions for what the fuzzer (tests/fuzz/fuzz.py) and
 * hand-made extreme programs found, where a golden file or a sample cannot
 * say it: limits that keep the compiler's own recursion and arithmetic safe.
 *
 * - A fusion group is bounded (depth 64, 256 members): the emitter writes a
 *   group as one nested C expression, recursively, and a long unrolled chain
 *   (`repeat 100000 { h = relu(h) }`) overflowed its stack.
 * - Dimension products saturate instead of overflowing (2^32 * 2^32). */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "passes.h"

static void test_fuse_groups_bounded(void) {
    arena ar = {0};
    ir_module *m = ir_module_new(&ar, "m");
    ir_graph *g = ir_graph_new(m, "forward", IR_MODE_EVAL);
    ir_shape s = {2, {{1, 1}, {4, 0}}};
    ir_node *h = ir_input_node(g, "x", IR_F32, &s, (src_loc){0});
    enum { CHAIN = 5000 };
    for (int i = 0; i < CHAIN; i++) h = ir_un(g, i % 2 ? OP_relu : OP_tanh, h);
    ir_add_output(g, IR_OUT_VALUE, 0, NULL, h);
    pass_fuse(g);
    int *members = calloc((size_t)g->next_id + 1, sizeof *members);
    int groups = 0, largest = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        if (n->group < 0) continue;
        CU_ASSERT_FATAL(n->group <= g->next_id);
        if (members[n->group]++ == 0) groups++;
        if (members[n->group] > largest) largest = members[n->group];
    }
    CU_ASSERT(largest <= 64);                  /* a chain: depth = size */
    CU_ASSERT(groups >= CHAIN / 64);
    CU_ASSERT(largest >= 32);                  /* still fused, just in pieces */
    free(members);
    arena_free(&ar);
}

static void test_dim_mul_saturates(void) {
    ir_dim big = ir_dim_const((int64_t)1 << 32);
    ir_dim p = ir_dim_mul(big, big);
    CU_ASSERT_EQUAL(p.k, INT64_MAX);
    p = ir_dim_mul(ir_dim_const(-((int64_t)1 << 40)), big);
    CU_ASSERT_EQUAL(p.k, INT64_MIN);
    p = ir_dim_mul(ir_dim_const(6), ir_dim_sym(0));
    CU_ASSERT_EQUAL(p.k, 6);
    CU_ASSERT_EQUAL(p.syms, 1u);
}

void suite_robust(void) {
    CU_pSuite s = CU_add_suite("robust", NULL, NULL);
    CU_add_test(s, "fusion groups are bounded (long unrolled chains)", test_fuse_groups_bounded);
    CU_add_test(s, "dimension products saturate", test_dim_mul_saturates);
}
