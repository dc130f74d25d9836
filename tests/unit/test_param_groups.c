/* test_param_groups.c — the train section's freeze and lr_scale
 * (param_groups.c, elab_groups.c):
 *   - prefix matching: the first listed prefix wins, no match means factor 1;
 *   - freeze makes the selected params untrainable (and only params: a
 *     frozen layer's running statistics are buffers either way), the train
 *     step has no gradient for them, and the report counts them;
 *   - a prefix matching nothing and a malformed lr_scale are errors with the
 *     exact text. The numbers (PyTorch param groups) are in
 *     tests/parity/param_groups.py; the bytes of a frozen tensor after
 *     training in tests/e2e/transfer.sh. */
#include <CUnit/CUnit.h>
#include <string.h>

#include "compiled.h"
#include "param_groups.h"
#include "train.h"

#define NET                                                                     \
    "model net(x: f32[N, 1, 4, 4]) -> f32[N, 3] {\n"                            \
    "    h = conv2d(x, 2, kernel = 3, pad = 1, name = \"conv1\") |> batch_norm(name = \"bn1\")\n" \
    "    return flatten(h) |> dense(3, name = \"head\")\n"                      \
    "}\n"

static void test_match(void) {
    pg_prefix sc[] = {{.prefix = "trunk.", .scale = 0.1f}, {.prefix = "trunk.conv", .scale = 5}};
    pg_prefix fr[] = {{.prefix = "head.b"}};
    pg_groups g = {.freeze = fr, .n_freeze = 1, .scale = sc, .n_scale = 2};
    CU_ASSERT_EQUAL(pg_lr_scale(&g, "trunk.conv.weight"), 0.1f);
    CU_ASSERT_EQUAL(pg_lr_scale(&g, "head.weight"), 1.0f);
    CU_ASSERT_EQUAL(pg_lr_scale(NULL, "head.weight"), 1.0f);
    CU_ASSERT_TRUE(pg_frozen(&g, "head.bias"));
    CU_ASSERT_FALSE(pg_frozen(&g, "head.weight"));
    CU_ASSERT_FALSE(pg_frozen(NULL, "head.bias"));
    CU_ASSERT_EQUAL(pg_match(sc, 2, "trunkless"), -1);
}

static int trainable(const ir_module *m, const char *name) {
    int i = ir_module_find_param((ir_module *)m, name);
    return i < 0 ? -1 : m->params[i].trainable;
}

static void test_freeze(void) {
    arena ar = {0};
    ir_module *m = compiled_module(&ar, stdout, NET
                                   "train net {\n"
                                   "    data = fashion_mnist(\"/nonexistent\", batch = 4)\n"
                                   "    loss = cross_entropy(output, label)\n"
                                   "    freeze = [\"conv1.\", \"bn1.\"]\n"
                                   "    lr_scale = (\"head.w\", 0.5)\n"
                                   "}\n", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(trainable(m, "conv1.weight"), 0);
    CU_ASSERT_EQUAL(trainable(m, "bn1.weight"), 0);
    CU_ASSERT_EQUAL(trainable(m, "head.weight"), 1);
    int grads = 0;
    for (int k = 0; k < m->train_step->n_outputs; k++)
        if (m->train_step->outputs[k].kind == IR_OUT_GRAD) {
            CU_ASSERT_EQUAL(strncmp(m->params[m->train_step->outputs[k].index].name, "head.", 5), 0);
            grads++;
        }
    CU_ASSERT_EQUAL(grads, 2);
    /* conv1: 2*1*3*3 + 2, bn1: 2 + 2 (its running statistics are buffers, never counted) */
    CU_ASSERT_STRING_EQUAL(m->train->cfg.param_groups,
                           "freeze conv1., bn1.: 4 tensors (24 parameters) not trained; lr x 0.5 for head.w (1 tensor)");
    arena_free(&ar);
}

static void test_errors(void) {
    compiled_expect_errors(NET
                           "train net {\n"
                           "    data = fashion_mnist(\"/nonexistent\", batch = 4)\n"
                           "    loss = cross_entropy(output, label)\n"
                           "    freeze = [\"conv2.\"]\n"
                           "}\n",
                           "t.dln:8:15: error: freeze prefix 'conv2.' matches no parameter of model 'net'\n"
                           "    8 |     freeze = [\"conv2.\"]\n"
                           "      |               ^~~~~~~~\n"
                           "hint: its names start with 'conv1.', 'bn1.', 'head.' (dlnc --emit=ir lists every parameter)\n");
    compiled_expect_errors(NET
                           "train net {\n"
                           "    data = fashion_mnist(\"/nonexistent\", batch = 4)\n"
                           "    loss = cross_entropy(output, label)\n"
                           "    lr_scale = [(\"head.\", true)]\n"
                           "}\n",
                           "t.dln:8:27: error: an lr_scale factor must be a number in [0, 1e6], got bool true\n"
                           "    8 |     lr_scale = [(\"head.\", true)]\n"
                           "      |                           ^~~~\n");
}

void suite_param_groups(void) {
    CU_pSuite s = CU_add_suite("param_groups", NULL, NULL);
    CU_add_test(s, "prefix matching: first wins", test_match);
    CU_add_test(s, "freeze: untrainable, no gradient, the report", test_freeze);
    CU_add_test(s, "unknown prefix, malformed pair: errors", test_errors);
}
