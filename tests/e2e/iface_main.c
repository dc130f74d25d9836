/* iface_main.c — calls the generated API of tests/e2e/iface.dln: two models
 * of the general form (several inputs, one of them i32; two named outputs;
 * a run-time symbol T bounded at create time), directly and through the
 * descriptor's io entry points. Exit status 0 when every check holds.
 * Carried state (buffers shaped [N, ...]) in both forms.
 *   cc ... iface_main.c iface.o libdlnrt.a && ./a.out [DIR for a checkpoint] */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "iface.h"

static int failures;

#define CHECK(cond, ...)                                                                                              \
    do {                                                                                                              \
        if (!(cond)) {                                                                                                \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                               \
            printf(__VA_ARGS__);                                                                                      \
            printf("\n");                                                                                             \
            failures++;                                                                                               \
        }                                                                                                             \
    } while (0)

enum { N = 6, TMAX = 20 };

/* n rows of length t: class r % 3 has its first (class + 1) * t / 3 values high. */
static void make_batch(int n, int t, float *x, int32_t *y)
{
    for (int r = 0; r < n; r++) {
        y[r] = r % 3;
        for (int c = 0; c < t; c++) x[r * t + c] = c < (y[r] + 1) * t / 3 ? 1.0f : (float)((r + c) % 2) * 0.1f;
    }
}

static void test_pair(void)
{
    float x[N * TMAX], logits[N * 3], logits2[N * 3], scaled[N * TMAX];
    int32_t y[N];
    pair_model *m = pair_create(N, TMAX);
    CHECK(m != NULL, "pair_create: %s", dl_last_error());
    if (!m) return;
    pair_init(m, 7);
    const int t = 16;
    make_batch(N, t, x, y);
    pair_forward(m, x, y, logits, scaled, N, t);
    for (int i = 0; i < N * t; i++) CHECK(scaled[i] == x[i] * (float)y[i / t], "scaled[%d] = %g", i, scaled[i]);
    for (int i = 0; i < N * 3; i++) CHECK(isfinite(logits[i]), "logits[%d] = %g", i, logits[i]);

    /* eval_step: outputs optional, the same loss either way, the same logits as forward */
    const float l1 = pair_eval_step(m, x, y, NULL, NULL, N, t);
    const float l2 = pair_eval_step(m, x, y, logits2, NULL, N, t);
    CHECK(isfinite(l1) && l1 == l2, "eval_step %g vs %g", l1, l2);
    CHECK(memcmp(logits, logits2, sizeof logits) == 0, "eval_step's logits differ from forward's");

    /* sizes above their bounds: NaN and a message naming them */
    dl_clear_error();
    CHECK(isnan(pair_eval_step(m, x, y, NULL, NULL, N, TMAX + 1)), "T above max_T accepted");
    CHECK(strstr(dl_last_error(), "T = 21 is outside [1, 20]") != NULL, "message: %s", dl_last_error());
    CHECK(isnan(pair_train_step(m, x, y, N + 1, t)), "n above max_batch accepted");
    CHECK(strstr(dl_last_error(), "batch size 7") != NULL, "message: %s", dl_last_error());
    CHECK(isnan(pair_train_step(m, x, y, N, 0)), "T = 0 accepted");

    /* training lowers the loss, at two lengths with one compiled model */
    float first = pair_train_step(m, x, y, N, t), last = first;
    for (int k = 0; k < 60; k++) last = pair_train_step(m, x, y, N, t);
    CHECK(isfinite(first) && last < first, "train_step loss %g -> %g", first, last);
    make_batch(N, 5, x, y);
    CHECK(isfinite(pair_train_step(m, x, y, N, 5)), "T = 5: %s", dl_last_error());
    pair_free(m);
}

static void test_descriptor(void)
{
    const dl_model_api *api = pair_api();
    CHECK(api->abi_version == DL_ABI_VERSION && DL_ABI_VERSION == 8, "abi %d", api->abi_version);
    CHECK(api->n_syms == 2 && strcmp(api->sym_names[1], "T") == 0, "symbols");
    CHECK(api->n_inputs == 2 && api->n_outputs == 2 && api->n_fields == 0, "%d inputs, %d outputs, %d fields",
          api->n_inputs, api->n_outputs, api->n_fields);
    CHECK(strcmp(api->inputs[0].name, "features") == 0 && api->inputs[0].dtype == DL_F32 && api->inputs[0].rank == 1 &&
              api->inputs[0].shape[0] == DL_DIM_SYM(1),
          "input 0");
    CHECK(strcmp(api->inputs[1].name, "label") == 0 && api->inputs[1].dtype == DL_I32 && api->inputs[1].rank == 0,
          "input 1");
    CHECK(strcmp(api->outputs[0].name, "logits") == 0 && api->outputs[0].shape[0] == 3, "output 0");
    CHECK(strcmp(api->outputs[1].name, "scaled") == 0 && api->outputs[1].shape[0] == DL_DIM_SYM(1), "output 1");
    CHECK(api->forward == NULL && api->train_step == NULL, "one-input members set for a general model");

    const int64_t bounds[2] = {N, TMAX}, t = 12;
    void *m = api->create_io(bounds);
    pair_model *direct = pair_create(N, TMAX);
    CHECK(m && direct, "create");
    if (!m || !direct) return;
    api->init(m, 3);
    pair_init(direct, 3);
    float x[N * TMAX], a[N * 3], b[N * 3], sa[N * TMAX], sb[N * TMAX];
    int32_t y[N];
    make_batch(N, (int)t, x, y);
    const void *in[2] = {x, y};
    void *out[2] = {a, sa};
    api->forward_io(m, in, out, N, &t);
    pair_forward(direct, x, y, b, sb, N, t);
    CHECK(memcmp(a, b, sizeof a) == 0 && memcmp(sa, sb, (size_t)(N * t) * sizeof(float)) == 0, "forward_io differs");
    void *none[2] = {NULL, NULL};
    CHECK(api->eval_io(m, in, none, N, &t) == pair_eval_step(direct, x, y, NULL, NULL, N, t), "eval_io differs");
    CHECK(api->train_io(m, in, N, &t) == pair_train_step(direct, x, y, N, t), "train_io differs");
    api->destroy(m);
    pair_free(direct);
}

/* The label as a field the loss reads: an argument of the steps, not of forward. */
static void test_single(void)
{
    const dl_model_api *api = single_api();
    CHECK(api->n_inputs == 1 && api->n_fields == 1 && strcmp(api->fields[0].name, "label") == 0 &&
              api->fields[0].dtype == DL_I32,
          "single: %d inputs, %d fields", api->n_inputs, api->n_fields);
    single_model *m = single_create(N, TMAX);
    if (!m) return;
    single_init(m, 1);
    float x[N * TMAX], logits[N * 3], h[N * 2];
    int32_t y[N];
    make_batch(N, 9, x, y);
    single_forward(m, x, logits, h, N, 9);
    for (int i = 0; i < N * 2; i++) CHECK(fabsf(h[i]) <= 1.0f, "tanh output %g", h[i]);
    float first = single_train_step(m, x, y, N, 9), last = first;
    for (int k = 0; k < 40; k++) last = single_train_step(m, x, y, N, 9);
    CHECK(last < first, "single: loss %g -> %g", first, last);
    single_free(m);
}

/* Carried state: kept across training steps, reset on request, never saved. */
static void test_state(const char *dir)
{
    float x[N * 16], y3[N * 3], s[N * 16];
    int32_t y[N];
    make_batch(N, 16, x, y);
    carried_model *m = carried_create(N);
    if (!m) return;
    carried_init(m, 1);
    carried_forward(m, x, y3, s, N);
    for (int i = 0; i < N * 16; i++) CHECK(s[i] == x[i] + 0.5f, "fresh state: s[%d] = %g", i, s[i]);
    carried_train_step(m, x, y, N);
    carried_train_step(m, x, y, N);
    carried_forward(m, x, y3, s, N);
    for (int i = 0; i < N * 16; i++) CHECK(s[i] == x[i] + x[i] + x[i] + 0.5f, "after 2 steps: s[%d] = %g", i, s[i]);
    /* a smaller batch carries its own rows: row r keeps its state */
    carried_train_step(m, x, y, 2);
    carried_forward(m, x, y3, s, N);
    CHECK(s[0] == 4 * x[0] + 0.5f && s[2 * 16] == 3 * x[2 * 16] + 0.5f, "rows: %g %g", s[0], s[2 * 16]);
    /* checkpoints hold parameters only */
    CHECK(carried_num_params() == 2, "carry has %d parameters", carried_num_params());
    for (int i = 0; i < carried_num_params(); i++)
        CHECK(strncmp(carried_param_info(i)->name, "dense", 5) == 0, "saved: %s", carried_param_info(i)->name);
    char path[256];
    snprintf(path, sizeof path, "%s/carry.safetensors", dir);
    CHECK(carried_save(m, path) == 0 && carried_load(m, path) == 0, "save/load: %s", dl_last_error());
    carried_forward(m, x, y3, s, N);
    CHECK(s[0] == 4 * x[0] + 0.5f, "load keeps the state: %g", s[0]);
    CHECK(carried_api()->reset_state != NULL && pair_api()->reset_state == NULL, "reset_state members");
    carried_api()->reset_state(m);
    carried_forward(m, x, y3, s, N);
    for (int i = 0; i < N * 16; i++) CHECK(s[i] == x[i] + 0.5f, "after reset: s[%d] = %g", i, s[i]);
    carried_free(m);

    /* in a model of the one-input form */
    keep_model *k = keep_create(N);
    if (!k) return;
    keep_init(k, 1);
    float out[N * 16];
    keep_train_step(k, x, y, N);
    keep_train_step(k, x, y, N);
    keep_forward(k, x, out, N);
    CHECK(out[5] == 4 * x[5] && out[40] == 4 * x[40], "keep: %g vs %g", out[5], 4 * x[5]);
    keep_reset_state(k);
    keep_forward(k, x, out, N);
    CHECK(out[5] == x[5], "keep after reset: %g", out[5]);
    keep_free(k);
}

int main(int argc, char **argv)
{
    test_pair();
    test_descriptor();
    test_single();
    test_state(argc > 1 ? argv[1] : "/tmp");
    if (failures) return 1;
    printf("iface: two-input, two-output models with a run-time T, and carried state, through the generated API: ok\n");
    return 0;
}
