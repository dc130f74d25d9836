/* test_elab_steps.c — the step modules of a train section over several
 * models (elab_steps.c), through the front end:
 *   - a step's loss reads `label` beside `image` (a conditional GAN): the
 *     step's graphs take it as an i32[N] input after the image, and only the
 *     stepped model's parameters are trainable;
 *   - a section model called inside a block of the loss (WGAN-GP's
 *     critic_loss) keeps its own prefix, `critic.*`;
 *   - a model with batch norm called twice in a step updates each running
 *     statistic once in the graph's outputs, the second update built on the
 *     first (the numbers are checked against PyTorch in tests/parity/gan.py);
 *   - the exact text of the error for mixup's labels in a step. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiled.h"

static int param_trainable(const ir_module *m, const char *name) {
    int i = ir_module_find_param((ir_module *)m, name);
    return i < 0 ? -1 : m->params[i].trainable;
}

#define GEN_DISC_COND                                                                   \
    "model gen(z: f32[N, 4], label: i32[N]) -> f32[N, 1, 2, 2] {\n"                     \
    "    h = concat([z, one_hot(label, 3)], axis = 1) |> dense(4)\n"                    \
    "    return reshape(h, [-1, 1, 2, 2])\n"                                            \
    "}\n"                                                                               \
    "model disc(x: f32[N, 1, 2, 2], c: f32[N, 3]) -> f32[N, 1] {\n"                     \
    "    return concat([flatten(x), c], axis = 1) |> dense(1)\n"                        \
    "}\n"

static void test_label_field(void) {
    arena ar = {0};
    ir_module *m = compiled_module(&ar, stdout, GEN_DISC_COND
                                   "train s {\n"
                                   "    models = [gen, disc]\n"
                                   "    data = fashion_mnist(\"/nonexistent\", batch = 4)\n"
                                   "    step disc {\n"
                                   "        loss = mean(disc(image, one_hot(label, 3)))"
                                   " - mean(disc(stop_grad(gen(randn(zeros(N, 4)), label)), one_hot(label, 3)))\n"
                                   "        optim = sgd(lr = 0.1)\n"
                                   "    }\n"
                                   "    step gen { loss = -mean(disc(gen(randn(zeros(N, 4)), label), one_hot(label, 3))) }\n"
                                   "}\n", "s_disc");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    const ir_graph *g = m->train_step;
    CU_ASSERT_EQUAL_FATAL(g->n_inputs, 2);
    CU_ASSERT_STRING_EQUAL(g->inputs[0].name, "image");
    CU_ASSERT_EQUAL(g->inputs[0].dtype, IR_F32);
    CU_ASSERT_STRING_EQUAL(g->inputs[1].name, "label");
    CU_ASSERT_EQUAL(g->inputs[1].dtype, IR_I32);
    CU_ASSERT_EQUAL(g->inputs[1].shape.rank, 1);
    CU_ASSERT_EQUAL(param_trainable(m, "disc.dense0.weight"), 1);
    CU_ASSERT_EQUAL(param_trainable(m, "gen.dense0.weight"), 0);
    arena_free(&ar);
}

static void test_model_in_block(void) {
    arena ar = {0};
    ir_module *m = compiled_module(&ar, stdout,
                                   "model gen(z: f32[N, 4]) -> f32[N, 4] { return dense(z, 4) }\n"
                                   "model critic(x: f32[N, 4]) -> f32[N, 1] { return dense(x, 1) }\n"
                                   "block critic_loss(real: f32[N, 4]) -> f32 {\n"
                                   "    fake = stop_grad(gen(real * 0.5))\n"
                                   "    g = grad(sum(critic(fake)), fake)\n"
                                   "    return mean(critic(fake)) - mean(critic(real)) + mean(g ** 2)\n"
                                   "}\n"
                                   "train s {\n"
                                   "    models = [gen, critic]\n"
                                   "    data = csv(\"unused.csv\", batch = 4)\n"
                                   "    step critic { loss = critic_loss(features)\n optim = sgd(lr = 0.1) }\n"
                                   "    step gen { loss = -mean(critic(gen(features))) }\n"
                                   "}\n", "s_critic");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(param_trainable(m, "critic.dense0.weight"), 1);
    CU_ASSERT_EQUAL(param_trainable(m, "gen.dense0.weight"), 0);
    for (int i = 0; i < m->n_params; i++) CU_ASSERT_PTR_NULL(strstr(m->params[i].name, "critic_loss"));
    arena_free(&ar);
}

static void test_buffers_twice(void) {
    arena ar = {0};
    ir_module *m = compiled_module(&ar, stdout,
                                   "model gen(z: f32[N, 4]) -> f32[N, 4] { return dense(z, 4) }\n"
                                   "model disc(x: f32[N, 4]) -> f32[N, 1] {\n"
                                   "    return dense(x, 3, use_bias = false) |> batch_norm1d |> dense(1)\n"
                                   "}\n"
                                   "train s {\n"
                                   "    models = [gen, disc]\n"
                                   "    data = csv(\"unused.csv\", batch = 4)\n"
                                   "    step disc { loss = mean(disc(features)) - mean(disc(stop_grad(gen(features))))\n"
                                   "                optim = sgd(lr = 0.1) }\n"
                                   "    step gen { loss = -mean(disc(gen(features))) }\n"
                                   "}\n", "s_disc");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    const ir_graph *g = m->train_step;
    int assigns = 0;
    for (int i = 0; i < g->n_outputs; i++) {
        if (g->outputs[i].kind != IR_OUT_ASSIGN) continue;
        assigns++;
        /* (1 - m) * (the first call's update) + m * stat: the stored value is reached only through it */
        const ir_node *v = g->outputs[i].node;
        int reads_param_directly = 0;
        for (int k = 0; k < v->nin; k++)
            for (int j = 0; v->in[k] && j < v->in[k]->nin; j++)
                reads_param_directly |= v->in[k]->in[j] && v->in[k]->in[j]->op == OP_param &&
                                        v->in[k]->in[j]->a.i[0] == g->outputs[i].index;
        CU_ASSERT_FALSE(reads_param_directly);
    }
    CU_ASSERT_EQUAL(assigns, 2);
    arena_free(&ar);
}

static void test_mixup_label_error(void) {
    compiled_expect_errors(
        "model gen(z: f32[N, 4]) -> f32[N, 1, 28, 28] { return reshape(dense(z, 784), [-1, 1, 28, 28]) }\n"
        "model disc(x: f32[N, 1, 28, 28]) -> f32[N, 1] { return dense(flatten(x), 1) }\n"
        "train s {\n"
        "    models = [gen, disc]\n"
        "    data = fashion_mnist(\"/nonexistent\", batch = 4)\n"
        "    augment = [mixup(alpha = 0.2)]\n"
        "    step disc { loss = mean(disc(image)) + mean(label) }\n"
        "    step gen { loss = -mean(disc(gen(randn(zeros(N, 4))))) }\n"
        "}\n",
        "t.dln:7:49: error: a step's loss cannot read 'label' here: with mixup the labels are one-hot mixtures whose "
        "width no model output fixes\n"
        "    7 |     step disc { loss = mean(disc(image)) + mean(label) }\n"
        "      |                                                 ^~~~~\n"
        "hint: drop mixup from the section's augment\n");
}

void suite_elab_steps(void) {
    CU_pSuite s = CU_add_suite("elab_steps", NULL, NULL);
    CU_add_test(s, "a step's loss reads label (conditional GAN)", test_label_field);
    CU_add_test(s, "a section model inside a block keeps its prefix", test_model_in_block);
    CU_add_test(s, "batch norm called twice updates in order", test_buffers_twice);
    CU_add_test(s, "mixup's labels in a step: error", test_mixup_label_error);
}
