/* test_statics_weights.c — statics computed from parameters (pass_plan,
 * emit_weights.c): an inference batch norm's scale and shift are kept
 * between forwards and computed again only when the weights' version
 * changes. Every write the model makes or sees (optimizer step, running
 * statistics alone, load, init, a write through param_data) must show in
 * the next forward and eval_step bit for bit as in a fresh model holding the
 * same weights; a stale guard fails these. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dlnrt.h"
#include "emitted.h"

static const char bn_src[] =
    "model bnk(x: f32[N, 4, 8, 8]) -> f32[N, 3] {\n"
    "    h = conv2d(x, 8, 3, pad = 1, use_bias = false) |> batch_norm |> relu\n"
    "    h = conv2d(h, 8, 3, stride = 2, pad = 1, use_bias = false) |> batch_norm\n"
    "    return global_avg_pool(h) |> dense(3)\n"
    "}\n"
    "train bnk {\n"
    "    data = csv(\"unused.csv\", batch = 4, classify = false)\n"
    "    loss = sum(output * label)\n"
    "    optim = sgd(lr = 0.5)\n"
    "    epochs = 1\n"
    "}\n";

enum { IMG = 4 * 8 * 8, OUTS = 3, B = 4 };

typedef struct bn_case {
    const dl_model_api *api;
    char path[96];
    float x[B * IMG], label[B * OUTS];
} bn_case;

/* m's forward (batch 1) and eval_step (batch B) equal those of a new model
 * loading the weights m saves; *out gets m's forward. */
static void same_as_fresh(bn_case *t, void *m, float *out)
{
    const dl_model_api *api = t->api;
    float ev[B * OUTS], fresh[OUTS], fresh_ev[B * OUTS];
    api->forward(m, t->x, out, 1);
    const float loss = api->eval_step(m, t->x, t->label, ev, B);
    CU_ASSERT_FATAL(api->save(m, t->path) == 0);
    void *f = api->create(B);
    CU_ASSERT_FATAL(f && api->load(f, t->path) == 0);
    api->forward(f, t->x, fresh, 1);
    const float fresh_loss = api->eval_step(f, t->x, t->label, fresh_ev, B);
    api->destroy(f);
    CU_ASSERT(memcmp(out, fresh, sizeof fresh) == 0);
    CU_ASSERT(memcmp(ev, fresh_ev, sizeof ev) == 0);
    CU_ASSERT(memcmp(&loss, &fresh_loss, sizeof loss) == 0);
}

static void test_versions(void)
{
    emitted e;
    CU_ASSERT_FATAL(emitted_build_source(bn_src, &e) == 0);
    static bn_case t;
    t.api = e.api;
    const dl_model_api *api = e.api;
    snprintf(t.path, sizeof t.path, "%s/w.safetensors", e.dir);
    dl_fill_normal(t.x, B * IMG, 7, 1);
    dl_fill_normal(t.label, B * OUTS, 7, 2);
    float before[OUTS], after[OUTS];
    void *a = api->create(B), *b = api->create(B);
    CU_ASSERT_FATAL(a && b);
    api->init(a, 3), api->init(b, 4);
    same_as_fresh(&t, a, before); /* the statics computed at a's first version */

    /* lr 0: the step writes only the running statistics (state updates) */
    api->set_lr(a, 0.0f);
    CU_ASSERT(isfinite(api->train_step(a, t.x, t.label, B)));
    same_as_fresh(&t, a, after);
    CU_ASSERT(memcmp(before, after, sizeof after) != 0);

    /* optimizer steps: weights and statistics */
    api->set_lr(a, 0.5f);
    for (int s = 0; s < 2; s++) CU_ASSERT(isfinite(api->train_step(a, t.x, t.label, B)));
    same_as_fresh(&t, a, before);
    CU_ASSERT(memcmp(before, after, sizeof after) != 0);

    /* load: a takes b's weights */
    CU_ASSERT(isfinite(api->train_step(b, t.x, t.label, B)));
    CU_ASSERT_FATAL(api->save(b, t.path) == 0);
    CU_ASSERT_FATAL(api->load(a, t.path) == 0);
    same_as_fresh(&t, a, after);
    CU_ASSERT(memcmp(before, after, sizeof after) != 0);

    /* init again */
    api->init(a, 9);
    same_as_fresh(&t, a, before);
    CU_ASSERT(memcmp(before, after, sizeof after) != 0);

    /* a write through param_data after the pointer was handed out: each
     * running variance scaled, no other call in between */
    const int iv = emitted_param_index(&e, "batch_norm0.running_var");
    CU_ASSERT_FATAL(iv >= 0);
    float *var = api->param_data(a, iv);
    CU_ASSERT_FATAL(var != NULL);
    api->forward(a, t.x, before, 1);
    for (int c = 0; c < 8; c++) var[c] *= 4.0f;
    same_as_fresh(&t, a, after);
    CU_ASSERT(memcmp(before, after, sizeof after) != 0);
    api->destroy(a), api->destroy(b);
    emitted_unload(&e);
}

/* A kept value whose only parameter read is inside a fused member:
 * exp(add(scale, 1)) is one kernel rooted at exp. */
static const char member_src[] =
    "block gain(x: f32[N, 8]) -> f32[N, 8] {\n"
    "    param scale: f32[8] = zeros\n"
    "    return x * exp(scale + 1.0)\n"
    "}\n"
    "model gm(x: f32[N, 8]) -> f32[N, 8] {\n"
    "    return gain(x)\n"
    "}\n";

static void test_member_read(void)
{
    emitted e;
    CU_ASSERT_FATAL(emitted_build_source(member_src, &e) == 0);
    const dl_model_api *api = e.api;
    float x[8], out[8];
    for (int i = 0; i < 8; i++) x[i] = 1.0f + (float)i;
    void *m = api->create(1);
    CU_ASSERT_FATAL(m != NULL);
    api->init(m, 1);
    api->forward(m, x, out, 1);
    for (int i = 0; i < 8; i++) CU_ASSERT(out[i] == x[i] * expf(1.0f));
    const int is = emitted_param_index(&e, "gain0.scale");
    CU_ASSERT_FATAL(is >= 0);
    float *scale = api->param_data(m, is);
    CU_ASSERT_FATAL(scale != NULL);
    for (int i = 0; i < 8; i++) scale[i] = -1.0f; /* exp(0) = 1: out = x */
    api->forward(m, x, out, 1);
    CU_ASSERT(memcmp(out, x, sizeof x) == 0);
    api->destroy(m);
    emitted_unload(&e);
}

void suite_statics_weights(void)
{
    CU_pSuite s = CU_add_suite("statics_weights", NULL, NULL);
    CU_add_test(s, "batch-norm constants kept per weights version = fresh model's bits", test_versions);
    CU_add_test(s, "a parameter read only inside a fused member", test_member_read);
}
