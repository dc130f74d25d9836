/* test_transformer.c — stdlib/transformer.dln and stdlib/attention.dln in
 * generated code at run-time sequence lengths.
 *
 * The parity suite (tests/parity/transformer.py) holds every block to
 * PyTorch, but only at compile-time sizes (its inputs are parameters). What
 * is left is what a symbolic T changes:
 *   - positional encodings: the rows are taken by index, so one build runs
 *     any T up to max_len, checked here against Vaswani's formula and the
 *     learned table at two lengths; a T beyond max_len stops the step;
 *   - encoder and decoder layers (causal, a key padding mask from an input)
 *     built once and run at two lengths: the C against the reference
 *     interpreter, output and input gradient;
 *   - a tiny GPT-style language model trained a few steps at two lengths;
 *   - attention-weight dropout: in training, with compile-time T, through the
 *     composed form (a softmax in the train graph, no attention op); the
 *     inference graph keeps the fused op. */
#include <CUnit/CUnit.h>
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiled.h"
#include "emitted.h"
#include "interp.h"

enum { NB = 2, TMAX = 16, D = 6, MAXLEN = 12 };

static void fill(float *v, int64_t n, uint64_t *rng) {
    for (int64_t i = 0; i < n; i++) v[i] = (float)(2 * emitted_urand(rng) - 1);
}

/* src built, instantiated for NB samples of up to TMAX steps and initialized. */
static void *build_model(const char *src, emitted *em, uint64_t seed) {
    CU_ASSERT_FATAL(emitted_build_source(src, em) == 0);
    int64_t sym_max[2] = {NB, TMAX};
    void *m = em->api->create_io(sym_max);
    CU_ASSERT_FATAL(m != NULL);
    em->api->init(m, seed);
    return m;
}

static void unload_model(emitted *em, void *m) {
    em->api->destroy(m);
    emitted_unload(em);
}

/* x + sinusoidal rows + learned rows, at T = 5 and T = MAXLEN from one build
 * whose bound is larger than max_len; T = 14 is refused by take's check. */
static void test_positions_symbolic(void) {
    static const char *src = "model m(x: f32[N, T, 6]) -> f32[N, T, 6] {\n"
                             "    return positional_encoding(x, max_len = 12) |> learned_positions(12)\n"
                             "}\n";
    emitted em;
    void *m = build_model(src, &em, 1);
    int wi = emitted_param_index(&em, "learned_positions0.weight");
    CU_ASSERT_FATAL(wi >= 0);
    float *w = em.api->param_data(m, wi);
    uint64_t rng = 3;
    fill(w, MAXLEN * D, &rng);
    float x[NB * TMAX * D], y[NB * TMAX * D];
    double want[NB * TMAX * D];
    for (int64_t t = 5; t <= MAXLEN; t += MAXLEN - 5) {
        fill(x, NB * t * D, &rng);
        const void *in[1] = {x};
        void *out[1] = {y};
        int64_t syms[1] = {t};
        em.api->forward_io(m, in, out, NB, syms);
        for (int n = 0; n < NB; n++)
            for (int s = 0; s < t; s++)
                for (int d = 0; d < D; d++) {
                    double angle = s * exp((d / 2 * 2) * (-log(10000.0) / D));
                    double pe = d % 2 ? cos(angle) : sin(angle);
                    want[(n * t + s) * D + d] = x[(n * t + s) * D + d] + pe + w[s * D + d];
                }
        CU_ASSERT(emitted_close(y, want, NB * t * D, 1e-5, "positions"));
    }
    const void *in[1] = {x};
    void *out[1] = {y};
    int64_t syms[1] = {14};
    em.api->forward_io(m, in, out, NB, syms);
    const char *(*last_error)(void); /* the built model links its own runtime: ask its error channel */
    *(void **)&last_error = dlsym(em.so, "dl_last_error");
    CU_ASSERT_FATAL(last_error != NULL);
    CU_ASSERT(strstr(last_error(), "index 12 out of range [0, 12) in take") != NULL);
    unload_model(&em, m);
}

/* The emitted model's parameters as the interpreter takes them. */
static double **params_of(const emitted *em, void *m) {
    double **p = calloc((size_t)em->api->n_params, sizeof *p);
    for (int i = 0; i < em->api->n_params; i++) {
        int64_t n = em->api->params[i].numel;
        const float *v = em->api->param_data(m, i);
        p[i] = malloc(sizeof(double) * (size_t)n);
        for (int64_t k = 0; k < n; k++) p[i][k] = v[k];
    }
    return p;
}

/* An encoder layer (causal, keys padded per sample) and a decoder layer over
 * it, T a symbol: output and input gradient, C against the interpreter. */
static void test_layers_symbolic(void) {
    static const char *src =
        "model m(x: f32[N, T, 8], pad: f32[N, T]) -> (y: f32[N, T, 8], gx: f32[N, T, 8]) {\n"
        "    h = transformer_encoder_layer(x, 2, ff = 12, dropout = 0.0, causal = true, key_padding_mask = pad)\n"
        "    y = transformer_decoder_layer(h, x, 2, ff = 12, dropout = 0.0, activation = \"gelu\", norm_first = true)\n"
        "    return y, grad(sum(y * y), x)\n"
        "}\n";
    emitted em;
    void *m = build_model(src, &em, 1);
    arena ar = {0};
    ir_module *mod = compiled_elaborate(&ar, stderr, src);
    CU_ASSERT_FATAL(mod != NULL);
    double **params = params_of(&em, m);
    uint64_t rng = 9;
    for (int64_t t = 4; t <= 7; t += 3) {
        int64_t nx = NB * t * 8;
        float x[NB * TMAX * 8], pad[NB * TMAX] = {0}, y[NB * TMAX * 8], gx[NB * TMAX * 8];
        fill(x, nx, &rng);
        pad[t + t - 1] = pad[t + t - 2] = 1; /* sample 1: its last two keys are padding */
        const void *in[2] = {x, pad};
        void *out[2] = {y, gx};
        int64_t syms[1] = {t};
        em.api->forward_io(m, in, out, NB, syms);
        double dx[NB * TMAX * 8], dp[NB * TMAX];
        for (int64_t i = 0; i < nx; i++) dx[i] = x[i];
        for (int64_t i = 0; i < NB * t; i++) dp[i] = pad[i];
        double *ins[2] = {dx, dp};
        int64_t sv[IR_MAX_SYMS] = {NB, t, 1, 1, 1, 1, 1, 1};
        interp_state st;
        CU_ASSERT_FATAL(interp_run(&st, mod->forward, sv, ins, params, 1) == 0);
        CU_ASSERT(emitted_close(y, interp_output(&st, 0), nx, 1e-4, "layers' output"));
        CU_ASSERT(emitted_close(gx, interp_output(&st, 1), nx, 1e-4, "layers' input gradient"));
        interp_free(&st);
    }
    for (int i = 0; i < em.api->n_params; i++) free(params[i]);
    free(params);
    arena_free(&ar);
    unload_model(&em, m);
}

/* A GPT-style model (tokens, learned positions, two pre-norm causal encoder
 * layers, logits) learns a fixed batch: the loss falls at either length. */
static void test_tiny_gpt_trains(void) {
    static const char *src =
        "model gpt(tokens: i32[N, T]) -> f32[N, T, 16] {\n"
        "    h = embedding(tokens, 16, 16) |> learned_positions(16)\n"
        "    repeat 2 {\n"
        "        h = transformer_encoder_layer(h, 4, ff = 32, dropout = 0.1, causal = true, norm_first = true)\n"
        "    }\n"
        "    return dense(layer_norm(h, 16), 16)\n"
        "}\n"
        "train gpt {\n"
        "    data = text(\"/dev/null\", batch = 2, seq_len = 16)\n"
        "    loss = cross_entropy(output, targets)\n"
        "    optim = adam(lr = 1e-2)\n"
        "}\n";
    emitted em;
    void *m = build_model(src, &em, 5);
    for (int64_t t = 6; t <= TMAX; t += TMAX - 6) {
        int32_t tok[NB * TMAX], tgt[NB * TMAX];
        for (int i = 0; i < NB * t; i++) tok[i] = (i * 7 + 3) % 16, tgt[i] = (i * 7 + 10) % 16;
        const void *in[2] = {tok, tgt};
        int64_t syms[1] = {t};
        float first = em.api->train_io(m, in, NB, syms), last = first;
        for (int step = 0; step < 30; step++) last = em.api->train_io(m, in, NB, syms);
        CU_ASSERT(isfinite(first) && isfinite(last));
        CU_ASSERT(last < 0.5f * first);
    }
    unload_model(&em, m);
}

static int count_ops(const ir_graph *g, ir_opcode op) {
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i]->op == op;
    return n;
}

/* dropout > 0 at compile-time T: the train step drops attention weights
 * (composed: softmax, no fused op), inference runs the fused op; at run-time
 * T the train step keeps the fused op too. */
static void test_attention_dropout_paths(void) {
    compiled c;
    compiled_init(&c, "model m(x: f32[N, 5, 8]) -> f32[N, 5, 8] {\n"
                      "    return transformer_encoder_layer(x, 2, ff = 8, dropout = 0.1)\n"
                      "}\n"
                      "train m {\n    data = csv(\"/dev/null\", batch = 1, classify = false)\n"
                      "    loss = mse(output, label)\n    optim = sgd(lr = 0.1)\n}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    CU_ASSERT_EQUAL(count_ops(c.mod->forward, OP_attention), 1);
    CU_ASSERT_EQUAL(count_ops(c.mod->train_step, OP_attention), 0);
    CU_ASSERT(count_ops(c.mod->train_step, OP_softmax) >= 1);
    compiled_free(&c);
    compiled_init(&c, "model m(x: f32[N, T, 8]) -> f32[N, T, 8] {\n"
                      "    return transformer_encoder_layer(x, 2, ff = 8, dropout = 0.1)\n"
                      "}\n"
                      "train m {\n    data = csv(\"/dev/null\", batch = 1, classify = false)\n"
                      "    loss = mse(output, label)\n    optim = sgd(lr = 0.1)\n}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    CU_ASSERT_EQUAL(count_ops(c.mod->train_step, OP_attention), 1);
    compiled_free(&c);
}

void suite_transformer(void) {
    CU_pSuite s = CU_add_suite("transformer", NULL, NULL);
    CU_add_test(s, "positional encodings at run-time T: formula, learned rows, T > max_len refused",
                test_positions_symbolic);
    CU_add_test(s, "encoder and decoder layers at run-time T: C = interpreter at two lengths", test_layers_symbolic);
    CU_add_test(s, "a tiny GPT trains at two lengths from one build", test_tiny_gpt_trains);
    CU_add_test(s, "attention-weight dropout: composed in training at compile-time T, fused otherwise",
                test_attention_dropout_paths);
}
