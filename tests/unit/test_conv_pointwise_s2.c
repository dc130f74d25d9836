/* test_conv_pointwise_s2.c — conv_pointwise_s2.c (1x1, stride-2 convolutions)
 * against plain double-precision loops written from the definition.
 *
 * The weight gradient's reduction tile in every variant this CPU runs
 * (portable, AVX2, AVX-512): row and column counts around each tile (1 to
 * 67), 1 to 5 images, planes that are and are not multiples of 16,
 * overwriting and accumulating. Then the public entry points on geometries
 * the dispatch rule sends here (batch 1, 2, 3 and 64, odd heights and
 * widths, 1x1 planes, ResNet-20's two shortcuts): forward, data gradient
 * (its odd pixels exactly zero, every element written) and weight gradient,
 * bit for bit the same at 1 and 2 threads. The file is also compiled in
 * here without clones (P2_BASELINE_ONLY, baseline x86-64) under base_*
 * names, so the plain C gather and spread loops run on any machine: its
 * forward and data gradient must give the library's bits (the gather and
 * spread only move floats), its weight gradient the loops' values. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "conv_pointwise_s2_internal.h"

#define P2_BASELINE_ONLY
#define dl_pw2_applies base_pw2_applies
#define dl_pw2_wgrad_pays base_pw2_wgrad_pays
#define dl_pw2_forward_image base_pw2_forward_image
#define dl_pw2_bwd_data_image base_pw2_bwd_data_image
#define dl_pw2_wgrad_floats base_pw2_wgrad_floats
#define dl_pw2_bwd_weight base_pw2_bwd_weight
#define dl_pw2_wgrad_isa base_pw2_wgrad_isa
#include "../../runtime/conv_pointwise_s2.c"
#undef dl_pw2_applies
#undef dl_pw2_wgrad_pays
#undef dl_pw2_forward_image
#undef dl_pw2_bwd_data_image
#undef dl_pw2_wgrad_floats
#undef dl_pw2_bwd_weight
#undef dl_pw2_wgrad_isa

static const dl_gemv_isa isas[] = {DL_GEMV_PORTABLE, DL_GEMV_AVX2, DL_GEMV_AVX512, DL_GEMV_BEST};

static float *randn(int64_t n, uint64_t seed)
{
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    dl_fill_normal(p, n, seed, 1);
    return p;
}

/* |got - ref| within a rounding bound for a sum of `depth` products of N(0,1) values. */
static int close_to(float got, double ref, int64_t depth) { return fabs(got - ref) <= 4e-5 * (1.0 + sqrt((double)depth)); }

static void test_wgrad_variants(void)
{
    /* M, C, G, P */
    static const int64_t shapes[][4] = {{1, 1, 1, 1},   {3, 5, 2, 15},  {4, 4, 1, 16},  {5, 7, 3, 17},
                                        {32, 16, 4, 256}, {64, 32, 5, 64}, {9, 67, 2, 33}, {67, 3, 1, 49}};
    int ran = 0, bad = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int64_t M = shapes[s][0], C = shapes[s][1], G = shapes[s][2], P = shapes[s][3];
        /* images further apart than their matrices, as in a batch */
        const int64_t gys = M * P + 7, xss = C * P + 3;
        float *gy = randn(G * gys, 41 + s), *xs = randn(G * xss, 43 + s), *gw = malloc(sizeof(float) * (size_t)(M * C));
        for (size_t q = 0; q < sizeof isas / sizeof *isas; q++)
            for (int add = 0; add < 2; add++) {
                for (int64_t e = 0; e < M * C; e++) gw[e] = add ? (float)e : NAN; /* overwritten unless add */
                if (dl_pw2_wgrad_isa(isas[q], M, C, G, P, gy, gys, xs, xss, gw, add)) continue;
                ran++;
                for (int64_t o = 0; o < M; o++)
                    for (int64_t c = 0; c < C; c++) {
                        double r = add ? (double)(o * C + c) : 0.0;
                        for (int64_t i = 0; i < G; i++)
                            for (int64_t p = 0; p < P; p++) r += (double)gy[i * gys + o * P + p] * xs[i * xss + c * P + p];
                        bad += !close_to(gw[o * C + c], r, G * P);
                    }
            }
        free(gy), free(xs), free(gw);
    }
    CU_ASSERT(ran >= 2 * 2 * (int)(sizeof shapes / sizeof *shapes)); /* portable and best always run */
    CU_ASSERT_EQUAL(bad, 0);
}

typedef struct pass_out {
    float *y, *gx, *gw;
} pass_out;

/* The three passes through the public entry points at t threads. */
static pass_out run_passes(const dl_conv2d_geom *g, const float *x, const float *w, const float *gy, int t)
{
    const int64_t nx = g->n * g->c * g->h * g->w, ny = g->n * g->oc * g->oh * g->ow;
    pass_out r = {malloc(sizeof(float) * (size_t)ny), malloc(sizeof(float) * (size_t)nx),
                  malloc(sizeof(float) * (size_t)(g->oc * g->c))};
    for (int64_t e = 0; e < nx; e++) r.gx[e] = NAN; /* every element must be written */
    const int saved = omp_get_max_threads();
    omp_set_num_threads(t);
    CU_ASSERT_EQUAL(dl_conv2d(g, x, w, r.y), 0);
    CU_ASSERT_EQUAL(dl_conv2d_bwd_data(g, gy, w, r.gx), 0);
    CU_ASSERT_EQUAL(dl_conv2d_bwd_weight(g, x, gy, r.gw), 0);
    omp_set_num_threads(saved);
    return r;
}

/* The baseline build's passes, image by image; 0 if they match `lib` as the top says. */
static int baseline_mismatches(const dl_conv2d_geom *g, const float *x, const float *w, const float *gy,
                               const pass_out *lib)
{
    const int64_t plane = g->h * g->w, P = g->oh * g->ow;
    float *y = malloc(sizeof(float) * (size_t)(g->oc * P)), *gx = malloc(sizeof(float) * (size_t)(g->c * plane));
    float *gw = malloc(sizeof(float) * (size_t)(g->oc * g->c));
    float *buf = malloc(sizeof(float) * (size_t)(base_pw2_wgrad_floats(g) + g->c * P));
    int bad = 0;
    for (int64_t i = 0; i < g->n; i++) {
        base_pw2_forward_image(g, x + i * g->c * plane, w, y, buf);
        base_pw2_bwd_data_image(g, gy + i * g->oc * P, w, gx, buf);
        bad += memcmp(y, lib->y + i * g->oc * P, sizeof(float) * (size_t)(g->oc * P)) != 0;
        bad += memcmp(gx, lib->gx + i * g->c * plane, sizeof(float) * (size_t)(g->c * plane)) != 0;
    }
    base_pw2_bwd_weight(g, x, gy, gw, buf, 0, g->n);
    for (int64_t k = 0; k < g->oc * g->c; k++) bad += !close_to(gw[k], lib->gw[k], g->n * P);
    free(y), free(gx), free(gw), free(buf);
    return bad;
}

static void test_entry_points(void)
{
    /* n, c, h, w, oc */
    static const int64_t shapes[][5] = {{1, 16, 32, 32, 32}, {2, 3, 7, 9, 5},    {3, 5, 1, 1, 4},
                                        {3, 17, 13, 33, 6},  {64, 16, 32, 32, 32}, {64, 32, 16, 16, 64}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        dl_conv2d_geom g = {0};
        g.n = shapes[s][0], g.c = shapes[s][1], g.h = shapes[s][2], g.w = shapes[s][3], g.oc = shapes[s][4];
        g.oh = (g.h + 1) / 2, g.ow = (g.w + 1) / 2;
        g.kh = g.kw = g.dh = g.dw = g.groups = 1, g.sh = g.sw = 2;
        CU_ASSERT_TRUE(dl_pw2_applies(&g));
        const int64_t plane = g.h * g.w, P = g.oh * g.ow, nx = g.n * g.c * plane, ny = g.n * g.oc * P;
        float *x = randn(nx, 51 + s), *w = randn(g.oc * g.c, 53 + s), *gy = randn(ny, 55 + s);
        pass_out r1 = run_passes(&g, x, w, gy, 1), r2 = run_passes(&g, x, w, gy, 2);
        CU_ASSERT_EQUAL(memcmp(r1.y, r2.y, sizeof(float) * (size_t)ny), 0);
        CU_ASSERT_EQUAL(memcmp(r1.gx, r2.gx, sizeof(float) * (size_t)nx), 0);
        CU_ASSERT_EQUAL(memcmp(r1.gw, r2.gw, sizeof(float) * (size_t)(g.oc * g.c)), 0);
        int bad = 0;
        for (int64_t i = 0; i < g.n; i++) {
            const float *xi = x + i * g.c * plane, *gyi = gy + i * g.oc * P;
            for (int64_t p = 0; p < P; p++) {
                const int64_t at = 2 * (p / g.ow) * g.w + 2 * (p % g.ow); /* input pixel under output p */
                for (int64_t o = 0; o < g.oc; o++) {
                    double ref = 0;
                    for (int64_t c = 0; c < g.c; c++) ref += (double)w[o * g.c + c] * xi[c * plane + at];
                    bad += !close_to(r1.y[(i * g.oc + o) * P + p], ref, g.c);
                }
            }
            for (int64_t c = 0; c < g.c; c++)
                for (int64_t q = 0; q < plane; q++) {
                    const int64_t r = q / g.w, col = q % g.w;
                    double ref = 0;
                    if (r % 2 == 0 && col % 2 == 0)
                        for (int64_t o = 0; o < g.oc; o++)
                            ref += (double)w[o * g.c + c] * gyi[o * P + r / 2 * g.ow + col / 2];
                    bad += !close_to(r1.gx[(i * g.c + c) * plane + q], ref, g.oc); /* NaN fails too */
                    if (r % 2 || col % 2) bad += r1.gx[(i * g.c + c) * plane + q] != 0.0f;
                }
        }
        for (int64_t o = 0; o < g.oc; o++)
            for (int64_t c = 0; c < g.c; c++) {
                double ref = 0;
                for (int64_t i = 0; i < g.n; i++)
                    for (int64_t p = 0; p < P; p++)
                        ref += (double)gy[(i * g.oc + o) * P + p] *
                               x[(i * g.c + c) * plane + 2 * (p / g.ow) * g.w + 2 * (p % g.ow)];
                bad += !close_to(r1.gw[o * g.c + c], ref, g.n * P);
            }
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT_EQUAL(baseline_mismatches(&g, x, w, gy, &r1), 0);
        free(x), free(w), free(gy);
        free(r1.y), free(r1.gx), free(r1.gw), free(r2.y), free(r2.gx), free(r2.gw);
    }
}

/* Not sent here: padding, a 3x3 kernel, stride 1, groups, a big single
 * image; the weight gradient of 8x8 outputs. */
static void test_rule(void)
{
    dl_conv2d_geom g = {0};
    g.n = 4, g.c = 16, g.h = g.w = 32, g.oc = 32, g.oh = g.ow = 16;
    g.kh = g.kw = g.dh = g.dw = g.groups = 1, g.sh = g.sw = 2;
    CU_ASSERT_TRUE(dl_pw2_applies(&g));
    CU_ASSERT_TRUE(dl_pw2_wgrad_pays(&g));
    dl_conv2d_geom t = g;
    t.c = 32, t.oc = 64, t.h = t.w = 16, t.oh = t.ow = 8; /* the 8x8 shortcut's weight gradient stays on dl_sgemm */
    CU_ASSERT_TRUE(dl_pw2_applies(&t));
    CU_ASSERT_FALSE(dl_pw2_wgrad_pays(&t));
    t = g;
    t.pt = t.pl = 1, t.oh = t.ow = 17;
    CU_ASSERT_FALSE(dl_pw2_applies(&t));
    t = g, t.kh = t.kw = 3, t.oh = t.ow = 15;
    CU_ASSERT_FALSE(dl_pw2_applies(&t));
    t = g, t.sh = t.sw = 1, t.oh = t.ow = 32;
    CU_ASSERT_FALSE(dl_pw2_applies(&t));
    t = g, t.groups = 2;
    CU_ASSERT_FALSE(dl_pw2_applies(&t));
    t = g, t.n = 1, t.c = 256, t.oc = 512, t.h = t.w = 64, t.oh = t.ow = 32;
    CU_ASSERT_FALSE(dl_pw2_applies(&t));
}

void suite_conv_pointwise_s2(void)
{
    CU_pSuite s = CU_add_suite("conv_pointwise_s2", NULL, NULL);
    CU_add_test(s, "weight-gradient tile variants vs loops", test_wgrad_variants);
    CU_add_test(s, "entry points vs loops, 1 = 2 threads, baseline build", test_entry_points);
    CU_add_test(s, "dispatch rule", test_rule);
}
