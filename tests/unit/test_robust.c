/* test_robust.c — regressions for what the fuzzer (tests/fuzz/fuzz.py) and
 * hand-made extreme programs found, where a golden file or a sample cannot
 * say it: limits that keep the compiler's own recursion and arithmetic safe.
 *
 * - A fusion group is bounded (depth 64, 256 members): the emitter writes a
 *   group as one nested C expression, recursively, and a long unrolled chain
 *   (`repeat 100000 { h = relu(h) }`) overflowed its stack.
 * - Dimension products saturate instead of overflowing (2^32 * 2^32).
 * - Long left-associative chains (x + x + ..., x |> relu |> ..., x[:][:]...)
 *   have no parentheses for the parser to bound; elaboration stops at 1000
 *   levels with an error and the AST dump stops descending, where both
 *   overflowed the stack at ~10000 levels. */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "diag.h"
#include "elab.h"
#include "ir.h"
#include "parse.h"
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

/* A model whose body returns `x` followed by `n` copies of `link`. */
static char *chain(const char *link, int n) {
    size_t len = strlen(link) * (size_t)n + 128;
    char *t = malloc(len), *p = t;
    p += sprintf(p, "model m(x: f32[N, 4]) -> f32[N, 4] {\n    return x");
    for (int i = 0; i < n; i++) p += sprintf(p, "%s", link);
    sprintf(p, "\n}\n");
    return t;
}

static void test_deep_chains(void) {
    const char *links[] = {" + x", " |> relu", "[:, :]"};
    for (int k = 0; k < 3; k++)
        for (int n = 900; n <= 30000; n += 29100) {
            char *text = chain(links[k], n);
            arena ar = {0};
            char *msgs = NULL;
            size_t len = 0;
            FILE *err = open_memstream(&msgs, &len);
            diag_ctx d;
            diag_init(&d, err);
            ast_program *prog = parse_source(&ar, &d, "deep.dln", text);
            CU_ASSERT_PTR_NOT_NULL_FATAL(prog);
            FILE *devnull = fopen("/dev/null", "w");
            ast_print(devnull, prog);              /* must not crash */
            fclose(devnull);
            elab_output eo;
            int rc = elab_program(&ar, &d, prog, NULL, 0, &eo);
            fclose(err);
            if (n < 1000) {
                CU_ASSERT_EQUAL(rc, 0);
            } else {
                CU_ASSERT_NOT_EQUAL(rc, 0);
                CU_ASSERT_PTR_NOT_NULL(strstr(msgs, "deep.dln:2:12: error: expression nested too deeply"));
            }
            free(msgs);
            diag_free(&d);
            arena_free(&ar);
            free(text);
        }
}

void suite_robust(void) {
    CU_pSuite s = CU_add_suite("robust", NULL, NULL);
    CU_add_test(s, "fusion groups are bounded (long unrolled chains)", test_fuse_groups_bounded);
    CU_add_test(s, "dimension products saturate", test_dim_mul_saturates);
    CU_add_test(s, "long expression chains: an error, not a stack overflow", test_deep_chains);
}
