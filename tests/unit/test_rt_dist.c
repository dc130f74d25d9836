/* test_rt_dist.c — data-parallel training's pieces that run in one process
 * (tests/e2e/dist.sh runs them under mpirun): the slices of a batch cover
 * it once, in rank order, for any P; a slice's fields point at its rows;
 * in one process the gradient sum is the identity and a failure is this
 * rank's; the generated train step hands its whole gradient span to the sum. */
#include "dist.h"
#include "emitted.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_shards(void)
{
    for (int size = 1; size <= 8; size++)
        for (int64_t n = 1; n <= 300; n++) {
            int64_t next = 0, most = 0, least = n;
            for (int r = 0; r < size; r++) {
                int64_t first, count;
                dl_dist_shard_of(n, r, size, &first, &count);
                CU_ASSERT_EQUAL(first, next);   /* contiguous, in rank order */
                CU_ASSERT_TRUE(count >= 0);
                next = first + count;
                if (count > most) most = count;
                if (count < least) least = count;
            }
            CU_ASSERT_EQUAL(next, n);           /* every row once */
            CU_ASSERT_TRUE(most - least <= 1);  /* as even as it can be */
        }
}

static void test_rows(void)
{
    float x[5 * 2 * 3];
    int32_t y[5];
    for (int i = 0; i < 30; i++) x[i] = (float)i;
    for (int i = 0; i < 5; i++) y[i] = 10 + i;
    dl_batch b = {.n = 5, .n_fields = 2, .reset = 1};
    b.field[0] = (dl_field){.name = "image", .dtype = DL_F32, .rank = 2, .shape = {2, 3}, .data = x};
    b.field[1] = (dl_field){.name = "label", .dtype = DL_I32, .rank = 0, .data = y};
    dl_batch s;
    dl_dist_rows(&s, &b, 3, 2);
    CU_ASSERT_EQUAL(s.n, 2);
    CU_ASSERT_EQUAL(s.n_fields, 2);
    CU_ASSERT_EQUAL(s.reset, 1);
    CU_ASSERT_PTR_EQUAL(s.field[0].data, x + 3 * 6);
    CU_ASSERT_PTR_EQUAL(s.field[1].data, y + 3);
    CU_ASSERT_STRING_EQUAL(s.field[1].name, "label");
    CU_ASSERT_EQUAL(s.field[0].shape[1], 3);
}

static void test_one_process(void)
{
    CU_ASSERT_EQUAL(dl_dist_begin(), 0);
    CU_ASSERT_EQUAL(dl_dist_size(), 1);
    CU_ASSERT_EQUAL(dl_dist_rank(), 0);
    int64_t first, count;
    dl_dist_shard(64, &first, &count);
    CU_ASSERT_TRUE(first == 0 && count == 64);
    float g[4] = {1.5f, -2, 0.25f, 3}, want[4];
    memcpy(want, g, sizeof g);
    dl_dist_step_begin(64, 64);
    float loss = 0;
    CU_ASSERT_EQUAL(dl_dist_step_end(&loss), 0);   /* the step did not call the sum */
    dl_grads_reduce(g, 4, 0.75f);
    CU_ASSERT_EQUAL(dl_dist_step_end(&loss), 1);
    CU_ASSERT_EQUAL(loss, 0.75f);
    CU_ASSERT_EQUAL(memcmp(g, want, sizeof g), 0); /* one rank: the identity */
    CU_ASSERT_EQUAL(dl_dist_check(0), 0);
    dl_set_error("mine");
    CU_ASSERT_EQUAL(dl_dist_check(1), -1);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), "mine"); /* a failure of one process is its own */
    CU_ASSERT_EQUAL(dl_dist_stopped(), 0);
}

static const char *two_layers =
    "model m(x: f32[N, 6]) -> f32[N, 3] {\n"
    "    h = dense(x, 5) |> relu\n"
    "    return dense(h, 3)\n"
    "}\n"
    "train m {\n"
    "    data = csv(\"none.csv\", batch = 4)\n"
    "    loss = cross_entropy(output, label)\n"
    "    optim = sgd(lr = 0.1)\n"
    "}\n";

static void test_generated_call(void)
{
    emitted e;
    CU_ASSERT_EQUAL_FATAL(emitted_build_source(two_layers, &e), 0);
    /* the span from the first gradient to the end of the last (the buffer pads
     * each to 16 floats): every trainable parameter */
    void *mm = e.api->create(4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mm);
    const int last = e.api->n_params - 1;
    const int64_t end = e.api->grad_data(mm, last) - e.api->grad_data(mm, 0) + e.api->params[last].numel;
    e.api->destroy(mm);
    char path[128], want[128];
    snprintf(path, sizeof path, "%s/m.c", e.dir);
    snprintf(want, sizeof want, "dl_grads_reduce(m->grads + 0, %lld, loss);", (long long)end);
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[512];
    int found = 0, calls = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "dl_grads_reduce(")) calls++;
        if (strstr(line, want)) found = 1;
    }
    fclose(f);
    CU_ASSERT_TRUE(found);
    CU_ASSERT_EQUAL(calls, 1);    /* in the train step only, once */
    emitted_unload(&e);
}

void suite_rt_dist(void)
{
    CU_pSuite s = CU_add_suite("rt_dist", NULL, NULL);
    CU_add_test(s, "a batch's slices cover it once, in rank order", test_shards);
    CU_add_test(s, "a slice's fields point at its rows", test_rows);
    CU_add_test(s, "one process: the sum is the identity", test_one_process);
    CU_add_test(s, "the train step hands its gradients to the sum", test_generated_call);
}
