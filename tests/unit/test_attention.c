/* test_attention.c — the fused attention op in generated code, at run-time
 * sequence lengths.
 *
 * The gradient check (test_gradcheck.c) holds the VJP to central differences
 * on the interpreter and the parity suite holds both to PyTorch; what is
 * left is the generated C and runtime/attention.c themselves: a model whose
 * T is a symbol (which the composed form q @ transpose(k) cannot express),
 * run at two lengths from one build, its output and its input gradient
 * against the reference interpreter; and masks with -inf, down to a sample
 * whose every key is masked, which must give 0 rather than NaN; and the
 * runtime's q_pos0, which cached decoding will use. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiled.h"
#include "emitted.h"
#include "interp.h"

enum { NB = 3, TMAX = 9, E = 8 };

/* Runs `src` (model m, two f32 inputs shaped [N, T, e0] and [N, T, e1]
 * (or [N, 1, T] when e1 < 0), two outputs) compiled and in the interpreter
 * at length t, inputs a and b; compares both outputs. */
static void check_against_interp(const char *src, int64_t t, int e0, int e1, const float *a, const float *b, int outs_w)
{
    emitted em;
    CU_ASSERT_FATAL(emitted_build_source(src, &em) == 0);
    int64_t sym_max[2] = {NB, TMAX}, syms[1] = {t};
    void *m = em.api->create_io(sym_max);
    CU_ASSERT_FATAL(m != NULL);
    em.api->init(m, 1);
    int64_t na = NB * t * e0, nb = e1 < 0 ? NB * t : NB * t * e1, no = NB * t * outs_w;
    float *y0 = calloc((size_t)no, sizeof(float)), *y1 = calloc((size_t)no, sizeof(float));
    const void *in[2] = {a, b};
    void *out[2] = {y0, y1};
    em.api->forward_io(m, in, out, NB, syms);

    arena ar = {0};
    ir_module *mod = compiled_elaborate(&ar, stderr, src);
    CU_ASSERT_FATAL(mod != NULL);
    double *da = malloc(sizeof(double) * (size_t)na), *db = malloc(sizeof(double) * (size_t)nb);
    for (int64_t i = 0; i < na; i++) da[i] = a[i];
    for (int64_t i = 0; i < nb; i++) db[i] = b[i];
    double *ins[2] = {da, db};
    int64_t sv[IR_MAX_SYMS] = {NB, t, 1, 1, 1, 1, 1, 1};
    interp_state st;
    CU_ASSERT_FATAL(interp_run(&st, mod->forward, sv, ins, NULL, 1) == 0);
    CU_ASSERT(emitted_close(y0, interp_output(&st, 0), no, 1e-4, "attention's output"));
    CU_ASSERT(emitted_close(y1, interp_output(&st, 1), no, 1e-4, "attention's input gradient"));
    for (int64_t i = 0; i < no; i++) CU_ASSERT(isfinite(y0[i]) && isfinite(y1[i]));
    interp_free(&st);
    arena_free(&ar);
    free(da), free(db), free(y0), free(y1);
    em.api->destroy(m);
    emitted_unload(&em);
}

static void fill(float *v, int64_t n, uint64_t *rng)
{
    for (int64_t i = 0; i < n; i++) v[i] = (float)(4 * emitted_urand(rng) - 2);
}

/* Causal self-attention with two heads at T = 5 and T = 9 from one build;
 * the gradient of sum(y * r) with respect to x runs all three backward
 * kernels (dq, dk, dv all reach x). */
static void test_symbolic_length(void)
{
    static const char *src = "model m(x: f32[N, T, 8], r: f32[N, T, 8]) -> (y: f32[N, T, 8], gx: f32[N, T, 8]) {\n"
                             "    y = attention(x, x, x, heads = 2, causal = true)\n"
                             "    return y, grad(sum(y * r), x)\n"
                             "}\n";
    uint64_t rng = 42;
    float x[NB * TMAX * E], r[NB * TMAX * E];
    for (int64_t t = 5; t <= TMAX; t += 4) {
        fill(x, NB * t * E, &rng), fill(r, NB * t * E, &rng);
        check_against_interp(src, t, E, E, x, r, E);
    }
}

/* A key-padding bias [N, 1, T]: -inf hides keys; sample 0 hides them all,
 * so its output and gradient rows are 0, not NaN. */
static void test_masked_keys(void)
{
    static const char *src = "model m(x: f32[N, T, 8], bias: f32[N, 1, T]) -> (y: f32[N, T, 8], gx: f32[N, T, 8]) {\n"
                             "    y = attention(x, x, x, mask = bias, scale = 0.3)\n"
                             "    return y, grad(sum(y * y), x)\n"
                             "}\n";
    enum { T = 6 };
    uint64_t rng = 7;
    float x[NB * T * E], bias[NB * T];
    fill(x, NB * T * E, &rng);
    fill(bias, NB * T, &rng);
    for (int s = 0; s < T; s++) bias[s] = -INFINITY;   /* sample 0: every key */
    bias[T + 2] = bias[T + 5] = -INFINITY;            /* sample 1: two keys */
    check_against_interp(src, T, E, -1, x, bias, E);

    emitted em;
    CU_ASSERT_FATAL(emitted_build_source(src, &em) == 0);
    int64_t sym_max[2] = {NB, TMAX}, syms[1] = {T};
    void *m = em.api->create_io(sym_max);
    CU_ASSERT_FATAL(m != NULL);
    float y[NB * T * E], gx[NB * T * E];
    const void *in[2] = {x, bias};
    void *out[2] = {y, gx};
    em.api->forward_io(m, in, out, NB, syms);
    for (int i = 0; i < T * E; i++) CU_ASSERT(y[i] == 0.0f && gx[i] == 0.0f);
    em.api->destroy(m);
    emitted_unload(&em);
}

/* The runtime's q_pos0 (for cached decoding: the 3 queries are positions
 * 2, 3, 4 of 5 keys, so query t sees keys s <= t + 2), against the formula
 * written out; the op itself passes 0. */
static void test_query_offset(void)
{
    enum { T = 3, S = 5, D = 4 };
    uint64_t rng = 3;
    float q[T * D], k[S * D], v[S * D], out[T * D];
    fill(q, T * D, &rng), fill(k, S * D, &rng), fill(v, S * D, &rng);
    dl_attention_geom g = {.batch = 1, .t = T, .s = S, .e = D, .ev = D, .heads = 1, .causal = 1, .q_pos0 = 2, .scale = 0.5f};
    CU_ASSERT_FATAL(dl_attention(&g, q, k, v, NULL, out) == 0);
    double want[T * D] = {0};
    for (int t = 0; t < T; t++) {
        double w[S], sum = 0;
        for (int s = 0; s <= t + 2; s++) {
            double d = 0;
            for (int i = 0; i < D; i++) d += (double)q[t * D + i] * k[s * D + i];
            sum += w[s] = exp(0.5 * d);
        }
        for (int s = 0; s <= t + 2; s++)
            for (int i = 0; i < D; i++) want[t * D + i] += w[s] / sum * v[s * D + i];
    }
    CU_ASSERT(emitted_close(out, want, T * D, 1e-5, "attention with q_pos0 = 2"));
}

/* dl_attention against the formula in double, over geometries that reach
 * both forms of the softmax (runtime/attention.c: tiles of 16 queries or more
 * take the column form, fewer the row form) and their edges: GPT's 64 x 64
 * causal tile, odd head widths, a last tile of 6 queries after one of 64,
 * keys more than queries with and without q_pos0, 1500 keys (tiles of 43
 * queries), and a full [B, H, T, S] mask holding -inf, down to a query that
 * sees no key (its row is 0). Tolerance 2e-5 of max(1, |want|): float scores
 * of up to 32 products and dl_expf's 1.8e-7; an index off by one is O(1). */
static void test_reference_geometries(void)
{
    static const struct { int64_t b, t, s, heads, dh, dvh, causal, q_pos0, mask; } cases[] = {
        {1, 64, 64, 4, 32, 32, 1, 0, 0}, {3, 17, 17, 2, 5, 3, 1, 0, 0},  {2, 70, 70, 1, 7, 4, 1, 0, 0},
        {2, 20, 33, 3, 4, 5, 0, 0, 1},   {1, 3, 5, 1, 4, 4, 1, 2, 0},    {1, 40, 1500, 2, 3, 2, 0, 0, 0},
        {2, 24, 1400, 1, 5, 3, 1, 1376, 1}, {3, 31, 31, 2, 8, 8, 1, 0, 1},
    };
    uint64_t rng = 19;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int64_t B = cases[c].b, T = cases[c].t, S = cases[c].s, H = cases[c].heads, dh = cases[c].dh,
                      dvh = cases[c].dvh, e = H * dh, ev = H * dvh;
        dl_attention_geom g = {.batch = B, .t = T, .s = S, .e = e, .ev = ev, .heads = H, .causal = (int)cases[c].causal,
                               .q_pos0 = cases[c].q_pos0, .scale = 1.0f / sqrtf((float)dh)};
        float *q = malloc(sizeof(float) * (size_t)(B * T * e)), *k = malloc(sizeof(float) * (size_t)(B * S * e));
        float *v = malloc(sizeof(float) * (size_t)(B * S * ev)), *out = malloc(sizeof(float) * (size_t)(B * T * ev));
        float *mask = cases[c].mask ? malloc(sizeof(float) * (size_t)(B * H * T * S)) : NULL;
        double *want = calloc((size_t)(B * T * ev), sizeof(double)), *w = malloc(sizeof(double) * (size_t)S);
        CU_ASSERT_FATAL(q && k && v && out && want && w && (mask || !cases[c].mask));
        fill(q, B * T * e, &rng), fill(k, B * S * e, &rng), fill(v, B * S * ev, &rng);
        if (mask) {
            fill(mask, B * H * T * S, &rng);
            for (int64_t i = 0; i < B * H * T * S; i += 7) mask[i] = -INFINITY;
            for (int64_t s = 0; s < S; s++) mask[(H * T - 1) * S + s] = -INFINITY; /* batch 0's last query of the last head */
            g.nb = 1, g.bdim[0] = B, g.mb[0] = H * T * S, g.mh = T * S, g.mt = S, g.ms = 1;
        }
        for (int64_t b = 0; b < B; b++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t t = 0; t < T; t++) {
                    double mx = -INFINITY, sum = 0;
                    for (int64_t s = 0; s < S; s++) {
                        double d = 0;
                        for (int64_t i = 0; i < dh; i++) d += (double)q[(b * T + t) * e + h * dh + i] * k[(b * S + s) * e + h * dh + i];
                        w[s] = g.causal && s > t + g.q_pos0 ? -INFINITY : d * g.scale;
                        if (mask) w[s] += mask[((b * H + h) * T + t) * S + s];
                        mx = w[s] > mx ? w[s] : mx;
                    }
                    if (mx == -INFINITY) continue; /* no key visible: 0 */
                    for (int64_t s = 0; s < S; s++) sum += w[s] = exp(w[s] - mx);
                    for (int64_t s = 0; s < S; s++)
                        for (int64_t j = 0; j < dvh; j++) want[(b * T + t) * ev + h * dvh + j] += w[s] / sum * v[(b * S + s) * ev + h * dvh + j];
                }
        CU_ASSERT(dl_attention(&g, q, k, v, mask, out) == 0);
        char what[64];
        snprintf(what, sizeof what, "dl_attention, case %d", (int)c);
        CU_ASSERT(emitted_close(out, want, B * T * ev, 2e-5, what));
        free(q), free(k), free(v), free(out), free(mask), free(want), free(w);
    }
}

void suite_attention(void)
{
    CU_pSuite s = CU_add_suite("attention", NULL, NULL);
    CU_add_test(s, "causal, two heads, T a symbol: C = interpreter at two lengths", test_symbolic_length);
    CU_add_test(s, "-inf key masks, a fully masked sample gives 0", test_masked_keys);
    CU_add_test(s, "the runtime's q_pos0: queries later in the sequence", test_query_offset);
    CU_add_test(s, "dl_attention = the formula in double: both softmax forms, masks, long keys", test_reference_geometries);
}
