/* test_threads.c — results independent of the thread count.
 *
 * The runtime and the generated code promise the same bits at any
 * OMP_NUM_THREADS on one machine (docs/design.md, "Determinism"): a sum
 * whose terms are shared over threads is cut into chunks fixed by the
 * problem alone, each with its own partial, and the partials are added in
 * chunk order. So each test here runs one computation at 1, 2 and 3 threads
 * and compares the results with memcmp, at sizes that reach the parallel
 * paths and with batches not divisible by the thread count. Before the
 * partials were fixed, the convolution weight gradient (one partial per
 * thread), dl_grad_norm and the generated sum of a whole tensor (OpenMP's
 * reduction clause) all failed here; forward and data gradients, which never
 * sum across threads, and the GEMM (its tiles split M and N, never K) are
 * checked so that it stays true. */
#include <CUnit/CUnit.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "emitted.h"

enum { MAX_THREADS = 3 };

static float *random_floats(int64_t n, uint64_t *state)
{
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) v[i] = (float)(2.0 * emitted_urand(state) - 1.0);
    return v;
}

/* Whether got (computed at `threads`) has the bits of want (at 1 thread); the first difference to stderr. */
static int same_bits(const void *got, const void *want, size_t bytes, const char *what, int threads)
{
    if (memcmp(got, want, bytes) == 0) return 1;
    const float *g = got, *w = want;
    for (size_t i = 0; i < bytes / sizeof(float); i++)
        if (memcmp(&g[i], &w[i], sizeof(float)) != 0) {
            fprintf(stderr, "%s at %d threads: [%zu] %.9g, at 1 thread %.9g\n", what, threads, i, g[i], w[i]);
            break;
        }
    return 0;
}

/* ---- convolutions ------------------------------------------------------------ */

typedef struct conv_case {
    int64_t n, c, oc, groups, h, k, s, p;
    const char *what;
} conv_case;

/* Forward, data and weight gradient at 1, 2 and 3 threads: 0 if all agree bit for bit. */
static int conv_differs(const conv_case *t)
{
    dl_conv2d_geom g = {.n = t->n, .c = t->c, .h = t->h, .w = t->h, .oc = t->oc, .kh = t->k, .kw = t->k,
                        .sh = t->s, .sw = t->s, .pt = t->p, .pb = t->p, .pl = t->p, .pr = t->p,
                        .dh = 1, .dw = 1, .groups = t->groups};
    g.oh = g.ow = (t->h + 2 * t->p - t->k) / t->s + 1;
    const int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.oc * g.oh * g.ow, nw = g.oc * (g.c / g.groups) * g.kh * g.kw;
    uint64_t state = 1234 + (uint64_t)t->n;
    float *x = random_floats(nx, &state), *w = random_floats(nw, &state), *gy = random_floats(ny, &state);
    float *y[MAX_THREADS], *gx[MAX_THREADS], *gw[MAX_THREADS];
    int saved = omp_get_max_threads(), bad = 0;
    for (int th = 1; th <= MAX_THREADS; th++) {
        omp_set_num_threads(th);
        y[th - 1] = malloc(sizeof(float) * (size_t)ny);
        gx[th - 1] = malloc(sizeof(float) * (size_t)nx);
        gw[th - 1] = malloc(sizeof(float) * (size_t)nw);
        bad |= dl_conv2d(&g, x, w, y[th - 1]) | dl_conv2d_bwd_data(&g, gy, w, gx[th - 1]) |
               dl_conv2d_bwd_weight(&g, x, gy, gw[th - 1]);
    }
    omp_set_num_threads(saved);
    for (int th = 2; th <= MAX_THREADS && !bad; th++) {
        char what[160];
        snprintf(what, sizeof what, "%s: forward", t->what);
        bad |= !same_bits(y[th - 1], y[0], sizeof(float) * (size_t)ny, what, th);
        snprintf(what, sizeof what, "%s: data gradient", t->what);
        bad |= !same_bits(gx[th - 1], gx[0], sizeof(float) * (size_t)nx, what, th);
        snprintf(what, sizeof what, "%s: weight gradient", t->what);
        bad |= !same_bits(gw[th - 1], gw[0], sizeof(float) * (size_t)nw, what, th);
    }
    for (int th = 0; th < MAX_THREADS; th++) free(y[th]), free(gx[th]), free(gw[th]);
    free(x), free(w), free(gy);
    return bad;
}

/* Every path of conv.c, conv_direct_small.c, conv_s2.c, conv_s2_wgrad.c, conv_depthwise.c and conv_dw3.c, with 1 to
 * 12 chunks of images (conv.c, wgrad_chunks) and odd batches. */
static void test_conv_threads(void)
{
    static const conv_case cases[] = {
        /* n   c  oc  g   h  k  s  p */
        {25, 8, 20, 1, 32, 3, 1, 1, "im2col + GEMM, 12 chunks"},
        {13, 32, 32, 1, 16, 3, 1, 1, "ResNet 32-channel stage, 2 chunks"},
        {64, 64, 64, 1, 8, 3, 1, 1, "ResNet 64-channel stage, batch 64"},
        {11, 8, 24, 1, 15, 3, 2, 1, "stride 2 (phase kernels, outer-product weight gradient)"},
        {64, 16, 32, 1, 32, 3, 2, 1, "ResNet 16>32 stride 2, phase kernels (conv_s2.c, conv_s2_wgrad.c), batch 64"},
        {64, 32, 64, 1, 16, 3, 2, 1, "ResNet 32>64 stride 2, phase kernels (conv_s2.c, conv_s2_wgrad.c), batch 64"},
        {9, 16, 8, 1, 12, 1, 1, 0, "pointwise"},
        {7, 16, 32, 1, 13, 1, 2, 0, "1x1 stride 2"},
        {5, 8, 8, 2, 10, 3, 1, 1, "groups"},
        {7, 1, 6, 1, 28, 5, 1, 2, "LeNet c1, direct kernels"},
        {17, 6, 16, 1, 14, 5, 1, 0, "LeNet c3, direct kernels"},
        {130, 3, 16, 1, 32, 3, 1, 1, "direct kernels, 4 chunks"},
        {6, 12, 12, 12, 9, 3, 1, 1, "depthwise"},
        {9, 24, 24, 24, 15, 3, 2, 1, "depthwise 3x3 stride 2 (conv_dw3.c)"},
        {5, 32, 64, 32, 20, 3, 2, 1, "depthwise, multiplier 2, stride 2"},
        {1, 32, 48, 1, 24, 3, 1, 1, "one image: GEMM parallel inside"},
        {2, 32, 32, 1, 32, 3, 1, 1, "two big images"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) CU_ASSERT(!conv_differs(&cases[i]));
}

/* ---- GEMM --------------------------------------------------------------------- */

/* Products above the parallel threshold (tall, wide, short M, gemv) with
 * beta = 1, so C's old contents are in the sum too. */
static void test_gemm_threads(void)
{
    static const int64_t shapes[][3] = {{211, 209, 213}, {20, 1030, 400}, {700, 40, 300}, {1, 2100, 1100}, {2100, 1, 1100}};
    int saved = omp_get_max_threads();
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        uint64_t state = 99 + s;
        float *A = random_floats(M * K, &state), *B = random_floats(K * N, &state), *C0 = random_floats(M * N, &state);
        float *C[MAX_THREADS];
        for (int th = 1; th <= MAX_THREADS; th++) {
            omp_set_num_threads(th);
            C[th - 1] = malloc(sizeof(float) * (size_t)(M * N));
            memcpy(C[th - 1], C0, sizeof(float) * (size_t)(M * N));
            dl_sgemm(0, 1, M, N, K, 1.0f, A, K, B, K, 1.0f, C[th - 1], N);
        }
        for (int th = 2; th <= MAX_THREADS; th++)
            CU_ASSERT(same_bits(C[th - 1], C[0], sizeof(float) * (size_t)(M * N), "dl_sgemm", th));
        for (int th = 0; th < MAX_THREADS; th++) free(C[th]);
        free(A), free(B), free(C0);
    }
    omp_set_num_threads(saved);
}

/* ---- gradient norm -------------------------------------------------------- */

static void test_grad_norm_threads(void)
{
    int64_t sizes[3] = {1000003, 70001, 5};
    uint64_t state = 5;
    float *grads[3];
    for (int t = 0; t < 3; t++) grads[t] = random_floats(sizes[t], &state);
    grads[0][17] = 3e5f; /* a large term, so the order of the additions shows */
    double norm[MAX_THREADS];
    int saved = omp_get_max_threads();
    for (int th = 1; th <= MAX_THREADS; th++) {
        omp_set_num_threads(th);
        norm[th - 1] = dl_grad_norm(grads, sizes, 3);
    }
    omp_set_num_threads(saved);
    for (int th = 2; th <= MAX_THREADS; th++) {
        CU_ASSERT(memcmp(&norm[th - 1], &norm[0], sizeof(double)) == 0);
        if (memcmp(&norm[th - 1], &norm[0], sizeof(double)))
            fprintf(stderr, "dl_grad_norm at %d threads: %.17g, at 1 thread %.17g\n", th, norm[th - 1], norm[0]);
    }
    for (int t = 0; t < 3; t++) free(grads[t]);
}

/* ---- generated training steps: a sum of a whole tensor, scatter_add, batched products */

/* One SGD step of model m on sum(output * label), for check_step_threads. */
#define REGRESSION_STEP(m)                                                  \
    "train " m " {\n"                                                       \
    "    data = csv(\"unused.csv\", batch = 64, classify = false)\n"        \
    "    loss = sum(output * label)\n"                                      \
    "    optim = sgd(lr = 0.1)\n"                                           \
    "    epochs = 1\n"                                                      \
    "}\n"

/* Builds src, runs one train step on (x, label) at 1, 2 and 3 threads from the
 * same parameters, and checks that the loss and the gradient of `param`
 * (`count` floats) have the same bits each time. */
static void check_step_threads(const char *src, const char *param, int64_t count, int64_t batch, const void *x,
                               const void *label, const char *what)
{
    emitted e;
    CU_ASSERT_FATAL(emitted_build_source(src, &e) == 0);
    int pi = emitted_param_index(&e, param);
    CU_ASSERT_FATAL(pi >= 0);
    void *m = e.api->create(64);
    CU_ASSERT_FATAL(m != NULL);
    float loss[MAX_THREADS], *grads[MAX_THREADS];
    int saved = omp_get_max_threads();
    for (int th = 1; th <= MAX_THREADS; th++) {
        omp_set_num_threads(th);
        e.api->init(m, 1); /* the same parameters before each step */
        loss[th - 1] = e.api->train_step(m, x, label, batch);
        grads[th - 1] = malloc(sizeof(float) * (size_t)count);
        memcpy(grads[th - 1], e.api->grad_data(m, pi), sizeof(float) * (size_t)count);
    }
    omp_set_num_threads(saved);
    for (int th = 2; th <= MAX_THREADS; th++) {
        CU_ASSERT(same_bits(&loss[th - 1], &loss[0], sizeof(float), what, th));
        CU_ASSERT(same_bits(grads[th - 1], grads[0], sizeof(float) * (size_t)count, what, th));
    }
    for (int th = 0; th < MAX_THREADS; th++) free(grads[th]);
    e.api->destroy(m);
    emitted_unload(&e);
}

/* check_step_threads on a batch of b samples of x_len and label_len random
 * floats drawn from `seed`. */
static void check_random_step(const char *src, const char *param, int64_t count, int64_t b, int64_t x_len,
                              int64_t label_len, uint64_t seed, const char *what)
{
    float *x = random_floats(b * x_len, &seed), *label = random_floats(b * label_len, &seed);
    check_step_threads(src, param, count, b, x, label, what);
    free(x), free(label);
}

/* The loss sum(x * s * label) and the gradient of s, sum(x * label), are
 * sums of 64 x 4096 terms, above the size where the generated loop goes
 * parallel. The terms are +1e20 first, -1e20 last and small between: summed
 * left to right the small ones vanish into 1e20 (0 in the end), while a sum
 * split in two keeps those of the half without 1e20 (about 1e5). */
static void test_emitted_sum_threads(void)
{
    static const char *src =
        "model wide_sum(x: f32[N, 4096]) -> f32[N, 4096] {\n"
        "    param s: f32[1] = ones\n"
        "    return x * s\n"
        "}\n"
        REGRESSION_STEP("wide_sum");
    enum { B = 64, F = 4096 };
    float *x = malloc(sizeof(float) * B * F), *label = malloc(sizeof(float) * B * F);
    uint64_t state = 3;
    for (int64_t i = 0; i < B * F; i++) x[i] = (float)emitted_urand(&state), label[i] = 1.0f;
    x[0] = 1e20f, x[B * F - 1] = -1e20f;
    check_step_threads(src, "s", 1, B, x, label, "generated sum");
    free(x), free(label);
}

/* The table gradient of sum(output * table[label]) is a scatter-add of 64
 * rows of 4096 into 50 (rows repeat): above the size where its loop over
 * column blocks goes parallel. Each block sums its rows in index order. */
static void test_emitted_scatter_add_threads(void)
{
    static const char *src =
        "block lookup(t: i32[N]) -> f32[N, 4096] {\n"
        "    param table: f32[50, 4096] = normal()\n"
        "    return take(table, t)\n"
        "}\n"
        "model wide_take(x: f32[N, 4096]) -> f32[N, 4096] {\n"
        "    param s: f32[1] = ones\n"
        "    return x * s\n"
        "}\n"
        "train wide_take {\n"
        "    data = csv(\"unused.csv\", batch = 64, classify = true)\n"
        "    loss = sum(output * lookup(label))\n"
        "    optim = sgd(lr = 0.1)\n"
        "    epochs = 1\n"
        "}\n";
    enum { B = 64, F = 4096, V = 50 };
    uint64_t state = 5;
    float *x = random_floats((int64_t)B * F, &state);
    int32_t label[B];
    for (int i = 0; i < B; i++) label[i] = (int32_t)(emitted_urand(&state) * 8); /* 8 rows, each about 8 times */
    check_step_threads(src, "lookup0.table", V * F, B, x, label, "scatter_add (take's gradient)");
    free(x);
}

/* [N, 64, 32] @ [N, 32, 64] is N products too small for dl_sgemm to split,
 * so the generated loop shares them out over the batch (attention's heads);
 * forward and backward (two more batched products) must not care how. */
static void test_emitted_batched_matmul_threads(void)
{
    static const char *src =
        "model heads(x: f32[N, 64, 32]) -> f32[N, 64, 32] {\n"
        "    q = dense(x, 32)\n"
        "    return softmax(q @ transpose(x), axis = -1) @ x\n"
        "}\n"
        REGRESSION_STEP("heads");
    check_random_step(src, "dense0.weight", 32 * 32, 61, 64 * 32, 64 * 32, 9, "batched matmul");
}

/* layer_norm over 61 x 40 rows of 96 (above the kernels' parallel size; rows
 * that do not split evenly into dweight's 8 blocks): the weight's gradient
 * is those blocks' partial sums added in order, dx flows on into dense's
 * weight. Rows have a large mean, so a different order of additions shows. */
static void test_emitted_layer_norm_threads(void)
{
    static const char *src =
        "model ln(x: f32[N, 40, 96]) -> f32[N, 40, 96] {\n"
        "    return layer_norm(dense(x, 96), 96)\n"
        "}\n"
        REGRESSION_STEP("ln");
    enum { B = 61, T = 40, D = 96 };
    uint64_t state = 13;
    float *x = random_floats((int64_t)B * T * D, &state), *label = random_floats((int64_t)B * T * D, &state);
    for (int64_t i = 0; i < (int64_t)B * T * D; i++) x[i] += 100.0f;
    check_step_threads(src, "layer_norm0.weight", D, B, x, label, "layer_norm's weight gradient");
    check_step_threads(src, "dense0.weight", D * D, B, x, label, "layer_norm's dx (dense's weight gradient)");
    free(x), free(label);
}

/* batch_norm in training over 61 images of 8 x 12 x 12 after a convolution
 * (above runtime/batch_norm.c's parallel size, a batch not divisible by the
 * thread count): the statistics and the two sums per channel run on one
 * thread each, so the weight's gradient (sum gy * xhat) and dx (which flows
 * on into the convolution's weight gradient) keep their bits. */
static void test_emitted_batch_norm_threads(void)
{
    static const char *src =
        "model bn(x: f32[N, 3, 12, 12]) -> f32[N, 8, 12, 12] {\n"
        "    return conv2d(x, 8, kernel = 3, pad = 1) |> batch_norm |> relu\n"
        "}\n"
        REGRESSION_STEP("bn");
    check_random_step(src, "batch_norm0.weight", 8, 61, 3 * 12 * 12, 8 * 12 * 12, 17, "batch_norm's weight gradient");
    check_random_step(src, "conv2d0.weight", 8 * 3 * 3 * 3, 61, 3 * 12 * 12, 8 * 12 * 12, 17,
                      "batch_norm's dx (the conv's weight gradient)");
}

/* nt_xent over 64 x 2 rows of 32 (above runtime/nt_xent.c's parallel size):
 * each row's log-sum-exp and gradient on one thread, the rows' losses added
 * in order, so the loss and both views' gradients (into dense1 and dense2)
 * are the same bits at any thread count. */
static void test_emitted_nt_xent_threads(void)
{
    static const char *src =
        "model ntx(x: f32[N, 64]) -> f32[N, 1] {\n"
        "    return dense(x, 1) * nt_xent(dense(x, 32), dense(x * x, 32), temperature = 0.2)\n"
        "}\n"
        REGRESSION_STEP("ntx");
    check_random_step(src, "dense1.weight", 32 * 64, 64, 64, 1, 17, "nt_xent's dz1 (dense1's weight gradient)");
    check_random_step(src, "dense2.weight", 32 * 64, 64, 64, 1, 17, "nt_xent's dz2 (dense2's weight gradient)");
}

/* clip_loss over 64 pairs of 32 (above runtime/clip_loss.c's parallel size):
 * each row's and column's log-sum-exp and each gradient row on one thread, the
 * rows' terms added in order: the same bits at any thread count. */
static void test_emitted_clip_loss_threads(void)
{
    static const char *src =
        "model clp(x: f32[N, 64]) -> f32[N, 1] {\n"
        "    return dense(x, 1) * clip_loss(dense(x, 32), dense(x * x, 32), logit_scale = 3.0)\n"
        "}\n"
        REGRESSION_STEP("clp");
    check_random_step(src, "dense1.weight", 32 * 64, 64, 64, 1, 17, "clip_loss's da (dense1's weight gradient)");
    check_random_step(src, "dense2.weight", 32 * 64, 64, 64, 1, 17, "clip_loss's db (dense2's weight gradient)");
}

/* cumsum along axis 1 and topk of the sums (argsort + gather, gather_grad
 * back): each line is one iteration of the parallel loop, 61 x 32 lines of
 * 64, above the kernels' parallel size; the sums run in one thread each. */
static void test_emitted_sort_cumsum_threads(void)
{
    static const char *src =
        "model ranked(x: f32[N, 64, 32]) -> f32[N, 16, 32] {\n"
        "    param s: f32[32] = normal()\n"
        "    v, i = topk(cumsum(x * s, 1), 16, axis = 1)\n"
        "    return v + cast_f32(i)\n"
        "}\n"
        REGRESSION_STEP("ranked");
    check_random_step(src, "s", 32, 61, 64 * 32, 16 * 32, 17, "cumsum and topk");
}

/* cumprod along axis 1 and its gradient op (prefix products and a suffix
 * recurrence per line), flipped along two axes: 61 x 32 lines of 64. */
static void test_emitted_cumprod_flip_threads(void)
{
    static const char *src =
        "model prods(x: f32[N, 64, 32]) -> f32[N, 64, 32] {\n"
        "    param s: f32[32] = normal()\n"
        "    return flip(cumprod(1.0 + 0.01 * x * s, 1), [1, 2])\n"
        "}\n"
        REGRESSION_STEP("prods");
    check_random_step(src, "s", 32, 61, 64 * 32, 64 * 32, 17, "cumprod and flip");
}

/* ---- attention: tiles of queries forward, (batch, head) pairs backward ------------- */

/* 5 x 2 heads, 70 queries (two tiles) over 70 keys, causal, a key-padding mask with -inf. */
static void test_attention_threads(void)
{
    enum { NB = 5, H = 2, T = 70, E = 16, EV = 8 };
    dl_attention_geom g = {.batch = NB, .t = T, .s = T, .e = E, .ev = EV, .heads = H, .causal = 1, .scale = 0.25f,
                           .nb = 1, .bdim = {NB}, .mb = {T}, .mh = 0, .mt = 0, .ms = 1};
    uint64_t st = 11;
    float *q = random_floats(NB * T * E, &st), *k = random_floats(NB * T * E, &st), *v = random_floats(NB * T * EV, &st);
    float *mask = random_floats(NB * T, &st), *dout = random_floats(NB * T * EV, &st);
    mask[3] = mask[T + 10] = -1.0f / 0.0f;
    const int64_t per = NB * T * (EV + 2 * E + EV) + NB * H * T * T;
    float *res[MAX_THREADS];
    int saved = omp_get_max_threads();
    for (int th = 1; th <= MAX_THREADS; th++) {
        omp_set_num_threads(th);
        float *r = res[th - 1] = calloc((size_t)per, sizeof(float));
        float *out = r, *dq = out + NB * T * EV, *dk = dq + NB * T * E, *dv = dk + NB * T * E, *ds = dv + NB * T * EV;
        CU_ASSERT(dl_attention(&g, q, k, v, mask, out) == 0);
        CU_ASSERT(dl_attention_bwd(&g, q, k, v, mask, out, dout, dq, dk, dv, ds) == 0);
        if (th > 1) CU_ASSERT(same_bits(r, res[0], sizeof(float) * (size_t)per, "attention and its gradients", th));
    }
    omp_set_num_threads(saved);
    for (int th = 0; th < MAX_THREADS; th++) free(res[th]);
    free(q), free(k), free(v), free(mask), free(dout);
}

void suite_threads(void)
{
    CU_pSuite s = CU_add_suite("threads", NULL, NULL);
    CU_add_test(s, "conv2d forward, data and weight gradients: same bits at 1, 2, 3 threads", test_conv_threads);
    CU_add_test(s, "dl_sgemm: same bits at 1, 2, 3 threads", test_gemm_threads);
    CU_add_test(s, "dl_grad_norm: same bits at 1, 2, 3 threads", test_grad_norm_threads);
    CU_add_test(s, "generated whole-tensor sums: same bits at 1, 2, 3 threads", test_emitted_sum_threads);
    CU_add_test(s, "generated scatter_add: same bits at 1, 2, 3 threads", test_emitted_scatter_add_threads);
    CU_add_test(s, "generated batched small products: same bits at 1, 2, 3 threads", test_emitted_batched_matmul_threads);
    CU_add_test(s, "generated layer_norm forward and backward: same bits at 1, 2, 3 threads",
                test_emitted_layer_norm_threads);
    CU_add_test(s, "generated batch_norm in training, forward and backward: same bits at 1, 2, 3 threads",
                test_emitted_batch_norm_threads);
    CU_add_test(s, "dl_attention and dl_attention_bwd: same bits at 1, 2, 3 threads", test_attention_threads);
    CU_add_test(s, "generated nt_xent and its gradients: same bits at 1, 2, 3 threads", test_emitted_nt_xent_threads);
    CU_add_test(s, "generated clip_loss and its gradients: same bits at 1, 2, 3 threads", test_emitted_clip_loss_threads);
    CU_add_test(s, "generated cumsum and topk (argsort, gather): same bits at 1, 2, 3 threads",
                test_emitted_sort_cumsum_threads);
    CU_add_test(s, "generated cumprod (and cumprod_grad) and flip: same bits at 1, 2, 3 threads",
                test_emitted_cumprod_flip_threads);
}
