/* test_decode.c — <model>_decode, the incremental forward (compiler/decode.c).
 *
 * The contract is exactness: positions computed a few at a time, the earlier
 * ones' keys and values read from the caches, give the logits forward gives
 * over the whole sequence. A small GPT (learned positions through an arange
 * over T, two causal attention layers, one of them in the [N, heads, T, d]
 * layout with heads = 1) is run both ways at several split points and batch
 * rows; then the models decode_analyze must refuse, each for its reason. */
#include <CUnit/CUnit.h>
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiled.h"
#include "decode.h"
#include "emitted.h"

enum { NB = 2, TMAX = 12, V = 11 };

static const char *gpt_src =
    "block blk(x: f32[N, T, D], heads: int) -> f32[N, T, D] {\n"
    "    h = layer_norm(x, D)\n"
    "    a = attention(dense(h, D), dense(h, D), dense(h, D), heads = heads, causal = true)\n"
    "    x = x + dense(a, D)\n"
    "    return x + (layer_norm(x, D) |> dense(2 * D) |> gelu |> dense(D))\n"
    "}\n"
    "block blk4(x: f32[N, T, D]) -> f32[N, T, D] {\n"
    "    q = transpose(reshape(dense(x, D), [N, T, 2, D / 2]), [0, 2, 1, 3])\n"
    "    k = transpose(reshape(dense(x, D), [N, T, 2, D / 2]), [0, 2, 1, 3])\n"
    "    v = transpose(reshape(dense(x, D), [N, T, 2, D / 2]), [0, 2, 1, 3])\n"
    "    a = attention(q, k, v, causal = true)\n"
    "    return x + reshape(transpose(a, [0, 2, 1, 3]), [N, T, D])\n"
    "}\n"
    "model gpt(tokens: i32[N, T]) -> f32[N, T, 11] {\n"
    "    param pos: f32[12, 16] = normal(std = 0.5)\n"
    "    h = embedding(tokens, 11, 16) + take(pos, arange(T, dtype = \"i32\"))\n"
    "    h = blk(h, 4) |> blk4 |> blk(2)\n"
    "    return dense(layer_norm(h, 16), 11)\n"
    "}\n";

/* forward over all t positions vs decode in pieces of the given sizes. */
static void check_split(const emitted *em, void *m, const int32_t *tok, int64_t t, const int64_t *pieces, int np)
{
    float *full = calloc((size_t)(NB * t * V), sizeof(float)), *part = calloc((size_t)(NB * TMAX * V), sizeof(float));
    int32_t *in = calloc((size_t)(NB * TMAX), sizeof(int32_t));
    const void *ins[1] = {tok};
    void *outs[1] = {full};
    em->api->forward_io(m, ins, outs, NB, &t);
    int64_t pos = 0;
    for (int k = 0; k < np; k++) {
        const int64_t len = pieces[k];
        for (int b = 0; b < NB; b++) memcpy(in + b * len, tok + b * t + pos, sizeof(int32_t) * (size_t)len);
        const void *pin[1] = {in};
        void *pout[1] = {part};
        em->api->decode_io(m, pin, pout, NB, &len, pos);
        for (int b = 0; b < NB; b++)
            for (int64_t i = 0; i < len * V; i++) {
                float want = full[(b * t + pos) * V + i], got = part[b * len * V + i];
                if (!(fabsf(got - want) <= 1e-4f * (1 + fabsf(want)))) {
                    CU_FAIL("decode differs from forward");
                    fprintf(stderr, "row %d position %lld logit %lld: decode %.7g, forward %.7g\n", b,
                            (long long)(pos + i / V), (long long)(i % V), got, want);
                    goto out;
                }
            }
        pos += len;
    }
out:
    free(full), free(part), free(in);
}

static void test_decode_matches_forward(void)
{
    emitted em;
    CU_ASSERT_FATAL(emitted_build_source(gpt_src, &em) == 0);
    CU_ASSERT_FATAL(em.api->decode_io != NULL);
    const int64_t sym_max[2] = {NB, TMAX};
    void *m = em.api->create_io(sym_max);
    CU_ASSERT_FATAL(m != NULL);
    em.api->init(m, 3);
    int32_t tok[NB * TMAX];
    uint64_t rng = 9;
    for (int i = 0; i < NB * TMAX; i++) tok[i] = (int32_t)(emitted_urand(&rng) * V);
    const int64_t one_by_one[TMAX] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const int64_t prompt_then_steps[] = {5, 1, 1, 1, 1, 1, 1, 1};
    const int64_t all_at_once[] = {TMAX};
    const int64_t chunks[] = {3, 4, 2};
    check_split(&em, m, tok, TMAX, one_by_one, TMAX);
    check_split(&em, m, tok, TMAX, prompt_then_steps, 8);
    check_split(&em, m, tok, TMAX, all_at_once, 1);
    check_split(&em, m, tok, 9, chunks, 3);

    /* positions beyond the caches: an error, nothing written */
    const int64_t two = 2;
    float out[NB * 2 * V];
    const void *pin[1] = {tok};
    void *pout[1] = {out};
    const char *(*last_error)(void); /* the built model links its own runtime: ask its error channel */
    *(void **)&last_error = dlsym(em.so, "dl_last_error");
    CU_ASSERT_PTR_NOT_NULL_FATAL(last_error);
    em.api->decode_io(m, pin, pout, NB, &two, TMAX - 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(last_error(), "gpt_decode: positions 11..12 do not fit the caches of max_T = 12"));
    em.api->destroy(m);
    emitted_unload(&em);
}

/* decode_analyze's verdict on a one-model source: the reason, "" if it decodes. */
static void expect_refusal(const char *src, const char *reason)
{
    arena ar = {0};
    ir_module *mod = compiled_elaborate(&ar, stderr, src);
    CU_ASSERT_FATAL(mod != NULL);
    char why[256];
    decode_plan *p = decode_analyze(mod, why, sizeof why);
    if (!reason[0]) {
        if (!p) fprintf(stderr, "expected a decode plan, got: %s\n", why);
        CU_ASSERT(p != NULL);
    } else {
        CU_ASSERT(p == NULL);
        if (!strstr(why, reason)) fprintf(stderr, "expected '%s' in: %s\n", reason, why);
        CU_ASSERT(strstr(why, reason) != NULL);
    }
    arena_free(&ar);
}

static void test_decode_refusals(void)
{
    expect_refusal("model m(x: f32[N, T, 8]) -> f32[N, T, 8] { return attention(x, x, x, causal = true) }\n", "");
    expect_refusal("model m(x: f32[N, T, 8]) -> f32[N, T, 8] { return attention(x, x, x) }\n", "not causal");
    expect_refusal("model m(x: f32[N, T, 8]) -> f32[N, 8] { return mean(attention(x, x, x, causal = true), axis = 1) }\n",
                   "a reduction over the sequence");
    expect_refusal("model m(x: f32[N, T, 8]) -> f32[N, T, 8] { return softmax(attention(x, x, x, causal = true), axis = 1) }\n",
                   "softmax over the sequence");
    expect_refusal("model m(x: f32[N, T, 8]) -> f32[N, T, 8] { return x * 2 }\n", "no causal self-attention");
    expect_refusal("model m(x: f32[N, 4, 8]) -> f32[N, 4, 8] { return attention(x, x, x, causal = true) }\n",
                   "no sequence symbol");
    expect_refusal("model m(x: f32[N, T, 8]) -> f32[N, T, 8] {\n"
                   "    h = lstm(x, 8)\n"
                   "    return attention(h, h, h, causal = true)\n}\n",
                   "mixes positions");
}

void suite_decode(void)
{
    CU_pSuite s = CU_add_suite("decode", NULL, NULL);
    CU_add_test(s, "decode equals forward at every split", test_decode_matches_forward);
    CU_add_test(s, "models that cannot decode, and why", test_decode_refusals);
}
