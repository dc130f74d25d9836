/* test_conv_winograd.c — Winograd F(2x2, 3x3) and F(4x4, 3x3) against a
 * plain direct sum.
 *
 * conv_winograd.c computes through transforms whose rounding differs from
 * the direct sum's, so the check is the largest absolute error relative to
 * the output's scale (max |reference|); F(2x2) stays near float epsilon.
 * The reference is one direct loop in double for all three directions.
 * Geometries cover what the tile bookkeeping can get wrong: odd and non-square planes (a last tile half
 * outside), padding 0, 1, 2 and asymmetric, channel counts that are not
 * multiples of 8 or 16, batch 1 (all threads on one chunk, its products on
 * conv_pointwise.c's unpacked tiles instead of dl_sgemm) and batches of
 * several chunks with a partial last one; the weight gradient on the same
 * kinds of geometry. The kernels are also called through dl_conv2d,
 * dl_conv2d_bwd_data and dl_conv2d_bwd_weight where the dispatch rule picks
 * them, and must give the same bits at 1 and 2 threads. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "conv_pointwise_internal.h"
#include "conv_winograd_c16_internal.h"
#include "conv_winograd_internal.h"
#include "dlnrt.h"

static void fill(float *v, int64_t n, unsigned *seed)
{
    for (int64_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        v[i] = (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

static dl_conv2d_geom geom(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oc, int64_t pt, int64_t pb,
                           int64_t pl, int64_t pr)
{
    dl_conv2d_geom g = {.n = n, .c = c, .h = h, .w = w, .oc = oc, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pt = pt,
                        .pb = pb, .pl = pl, .pr = pr, .dh = 1, .dw = 1, .groups = 1};
    g.oh = h + pt + pb - 2, g.ow = w + pl + pr - 2;
    return g;
}

enum { REF_FORWARD, REF_DATA, REF_WEIGHT };

/* The direct convolution in double, one loop for all three directions:
 * REF_FORWARD out = y from (x, w); REF_DATA out = gx from (gy, w);
 * REF_WEIGHT out = gw from (x, gy). Unused inputs may be NULL. */
static void reference(const dl_conv2d_geom *g, int dir, const float *x, const float *w, const float *gy, double *out)
{
    int64_t n_out = dir == REF_FORWARD ? g->n * g->oc * g->oh * g->ow
                    : dir == REF_DATA  ? g->n * g->c * g->h * g->w
                                       : g->oc * g->c * 9;
    memset(out, 0, sizeof(double) * (size_t)n_out);
    for (int64_t i = 0; i < g->n; i++)
        for (int64_t o = 0; o < g->oc; o++)
            for (int64_t r = 0; r < g->oh; r++)
                for (int64_t q = 0; q < g->ow; q++)
                    for (int64_t c = 0; c < g->c; c++)
                        for (int64_t a = 0; a < 3; a++)
                            for (int64_t b = 0; b < 3; b++) {
                                int64_t ir = r - g->pt + a, iq = q - g->pl + b;
                                if (ir < 0 || ir >= g->h || iq < 0 || iq >= g->w) continue;
                                int64_t xi = ((i * g->c + c) * g->h + ir) * g->w + iq;
                                int64_t yi = ((i * g->oc + o) * g->oh + r) * g->ow + q, wi = ((o * g->c + c) * 3 + a) * 3 + b;
                                if (dir == REF_FORWARD) out[yi] += (double)x[xi] * w[wi];
                                else if (dir == REF_DATA) out[xi] += (double)gy[yi] * w[wi];
                                else out[wi] += (double)gy[yi] * x[xi];
                            }
}

/* max |got - want| / max |want| (infinite if anything is NaN: an unwritten output). */
static double scaled_err(const float *got, const double *want, int64_t n)
{
    double e = 0, scale = 1e-30;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(got[i])) return INFINITY;
        e = fmax(e, fabs(got[i] - want[i]));
        scale = fmax(scale, fabs(want[i]));
    }
    return e / scale;
}

/* What the epilogue saw: how often each image came, and whether its y was complete. */
typedef struct ep_log {
    int64_t calls[16];
    int complete;
    int64_t per_image;
} ep_log;

static void epilogue(void *ctx, int64_t image, float *y)
{
    ep_log *l = ctx;
#pragma omp atomic
    l->calls[image]++;
    for (int64_t k = 0; k < l->per_image; k++)
        if (isnan(y[k])) {
#pragma omp atomic write
            l->complete = 0;
        }
}

/* F(m x m) forward of g against the direct sum, within bound. */
static void check_forward(const dl_conv2d_geom *g, int m, double bound)
{
    const int64_t nx = g->n * g->c * g->h * g->w, ny = g->n * g->oc * g->oh * g->ow, nw = g->oc * g->c * 9;
    float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw), *y = malloc(sizeof(float) * ny);
    double *want = malloc(sizeof(double) * ny);
    unsigned seed = 7u + (unsigned)(g->h * 131 + g->w * 7 + g->c + g->pt);
    fill(x, nx, &seed);
    fill(w, nw, &seed);
    reference(g, REF_FORWARD, x, w, NULL, want);
    for (int64_t i = 0; i < ny; i++) y[i] = NAN;
    ep_log log = {.complete = 1, .per_image = g->oc * g->oh * g->ow};
    CU_ASSERT_FATAL(g->n <= 16 && dl_conv_winograd_fits(g));
    CU_ASSERT_EQUAL(m == 2 ? dl_conv_winograd(g, x, w, y, epilogue, &log)
                           : dl_conv_winograd_u(g, m, x, w, NULL, y, epilogue, &log, NULL), 0);
    double err = scaled_err(y, want, ny);
    CU_ASSERT(err < bound);
    if (!(err < bound))
        fprintf(stderr, "\nwinograd F(%dx%d) n%lld c%lld %lldx%lld oc%lld pad %lld,%lld,%lld,%lld: error %g\n", m, m,
                (long long)g->n,
                (long long)g->c, (long long)g->h, (long long)g->w, (long long)g->oc, (long long)g->pt,
                (long long)g->pb, (long long)g->pl, (long long)g->pr, err);
    CU_ASSERT(log.complete);
    for (int64_t i = 0; i < g->n; i++) CU_ASSERT_EQUAL(log.calls[i], 1);
    free(x), free(w), free(y), free(want);
}

static const int64_t forward_cases[][9] = {
        /* n  c   h   w  oc pt pb pl pr */
        {1, 1, 4, 4, 1, 0, 0, 0, 0},     /* one tile, no padding */
        {2, 3, 7, 9, 5, 1, 1, 1, 1},     /* odd planes: half-outside last tiles */
        {3, 17, 11, 6, 33, 2, 2, 2, 2},  /* pad 2, channels not multiples of 16 */
        {1, 33, 16, 16, 32, 1, 1, 1, 1}, /* batch 1: threads share the chunk */
        {9, 32, 8, 8, 64, 1, 1, 1, 1},   /* 4-image chunks (128 tiles), a partial last one */
        {5, 8, 5, 13, 7, 0, 2, 1, 0},    /* asymmetric padding */
        {4, 2, 3, 3, 3, 1, 1, 1, 1},     /* 3x3 plane: one tile of two outputs cut */
        {2, 4, 32, 31, 16, 1, 1, 1, 1},  /* 16 tiles per row: whole blocks of 8 plus none */
        {2, 5, 20, 19, 9, 1, 0, 0, 1},   /* rows of 9 and 10 tiles: a block and a tail */
        {2, 3, 10, 8, 5, 1, 1, 1, 1},    /* rows of 4 tiles two to a vector, 5 rows: one alone */
        {3, 4, 7, 8, 6, 1, 1, 1, 1},     /* 8 wide, 7 high: the last tile row's outputs cut */
        {2, 3, 6, 7, 4, 1, 1, 1, 1},     /* rows of 4 tiles, 7 wide: paired input only */
        {2, 3, 10, 10, 5, 0, 0, 0, 0},   /* 8x8 outputs without padding */
        {1, 7, 9, 11, 13, 1, 1, 1, 1},   /* batch 1, odd: the products on conv_pointwise.c's tiles */
        {1, 64, 8, 8, 64, 1, 1, 1, 1},   /* batch 1, 16 tiles: ResNet's 8x8 stage (the forward's own rule) */
        {1, 67, 8, 8, 65, 1, 1, 1, 1},   /* the same with channels past whole register tiles */
        {1, 32, 16, 16, 32, 1, 1, 1, 1}, /* F(4x4)'s batch-1 case: 16 tiles of 4x4, one vector */
        {1, 35, 16, 16, 33, 1, 1, 1, 1}, /* the same, channels past whole register tiles */
        {3, 32, 16, 16, 32, 1, 1, 1, 1}, /* rows of 4 tiles of 4x4, whole vectors, several images */
        {2, 6, 13, 22, 5, 1, 1, 1, 1},   /* rows of 6 tiles of 4x4 (a half block cut), odd rows */
        {1, 3, 6, 6, 2, 0, 0, 0, 0},     /* one 4x4 tile alone in its vector */
        {1, 16, 32, 32, 16, 1, 1, 1, 1}, /* F(4x4)'s other batch-1 case: 64 tiles, four vectors */
};

static void forward_vs_direct(int m, double bound)
{
    for (size_t i = 0; i < sizeof forward_cases / sizeof forward_cases[0]; i++) {
        const int64_t *k = forward_cases[i];
        dl_conv2d_geom g = geom(k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8]);
        check_forward(&g, m, bound);
    }
}

static void test_forward_vs_direct(void) { forward_vs_direct(2, 1e-5); }

/* The F(m x m) forward of case k twice, with set(0) and set(1) (a switch
 * between two forms of a transform, restored after), into y[0] and y[1];
 * returns the output's size. */
static int64_t forward_both(const int64_t *k, unsigned seed, int m, int (*set)(int), float *y[2])
{
    dl_conv2d_geom g = geom(k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8]);
    const int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.oc * g.oh * g.ow, nw = g.oc * g.c * 9;
    float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw);
    fill(x, nx, &seed), fill(w, nw, &seed);
    for (int on = 0; on < 2; on++) {
        y[on] = malloc(sizeof(float) * ny);
        for (int64_t i = 0; i < ny; i++) y[on][i] = NAN;
        int was = set(on);
        CU_ASSERT_EQUAL(m == 2 ? dl_conv_winograd(&g, x, w, y[on], NULL, NULL)
                               : dl_conv_winograd_u(&g, m, x, w, NULL, y[on], NULL, NULL, NULL), 0);
        set(was);
    }
    free(x), free(w);
    return ny;
}

/* F(2x2)'s input transform with its columns one by one and in pairs
 * (conv_winograd.c's input_pairs, Intel's default): the same sums in the
 * same order, so the same bits, on every forward geometry above (rows of
 * 4 tiles two to a vector, whole blocks of 8, tails). */
static void test_input_pairs_same(void)
{
    for (size_t i = 0; i < sizeof forward_cases / sizeof forward_cases[0]; i++) {
        float *y[2];
        int64_t ny = forward_both(forward_cases[i], 17u + (unsigned)i, 2, dl_winograd_input_pairs, y);
        CU_ASSERT(memcmp(y[0], y[1], sizeof(float) * (size_t)ny) == 0);
        free(y[0]), free(y[1]);
    }
}

/* F(4x4)'s transforms (coefficients up to 8 and 1/24) lose about a decimal
 * digit more than F(2x2)'s: its bound is 2e-5 of the output's scale. */
static void test_forward4_vs_direct(void)
{
    forward_vs_direct(4, 2e-5); /* planes of whole 16-tile groups take conv_winograd4_x16.c where AVX-512 is */
    int was = dl_wg4_x16_enable(0); /* and the 8-tile transforms everywhere */
    forward_vs_direct(4, 2e-5);
    dl_wg4_x16_enable(was);
}

/* conv_winograd4_x16.c's 16-tile transforms against conv_winograd4.c's 8-tile
 * ones (the same formulas): ResNet's two F(4x4) planes, a 16x32 plane whose
 * 16-tile groups span two tile rows, no padding, odd channel counts. */
static void test_forward4_x16_same(void)
{
    static const int64_t cases[][9] = {
        {1, 32, 16, 16, 32, 1, 1, 1, 1}, {1, 16, 32, 32, 16, 1, 1, 1, 1}, {2, 5, 16, 32, 7, 1, 1, 1, 1},
        {1, 3, 18, 18, 2, 0, 0, 0, 0},   {3, 17, 32, 16, 9, 1, 1, 1, 1},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        float *y[2];
        int64_t ny = forward_both(cases[t], 31u + (unsigned)t, 4, dl_wg4_x16_enable, y);
        double diff = 0, scale = 1e-30;
        for (int64_t i = 0; i < ny; i++) {
            diff = isnan(y[1][i]) ? INFINITY : fmax(diff, fabs((double)y[1][i] - y[0][i]));
            scale = fmax(scale, fabs(y[0][i]));
            if (isinf(diff)) break;
        }
        CU_ASSERT(diff / scale < 1e-6);
        if (!(diff / scale < 1e-6)) fprintf(stderr, "\nF(4x4) 16-tile transforms, case %zu: %g\n", t, diff / scale);
        free(y[0]), free(y[1]);
    }
}

/* conv_winograd_product.c's 16-column product against a double one, with
 * its 12-row tiles and without (conv_pointwise.c's): row counts around the
 * tiles' 12, 8, 4 and 1, depths 1 to 67; its 32-column one on V's columns
 * twice, the same bits. */
static void test_product16(void)
{
    static const int64_t cases[][2] = {{64, 64}, {32, 32}, {1, 1}, {5, 7}, {13, 3}, {33, 67}, {67, 64}, {24, 16}, {16, 5}, {48, 9}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int64_t M = cases[t][0], K = cases[t][1];
        float *U = malloc(sizeof(float) * M * K), *V = malloc(sizeof(float) * K * 16), *out = malloc(sizeof(float) * M * 16);
        unsigned seed = 77u + (unsigned)t;
        fill(U, M * K, &seed), fill(V, K * 16, &seed);
        for (int on = 0; on < 2; on++) {
            for (int64_t i = 0; i < M * 16; i++) out[i] = NAN;
            int was = dl_wg_product16_enable(on);
            dl_wg_product16(M, K, U, V, out);
            if (on) { /* 32 columns: the 16 twice over, the same bits as 16 */
                float *V32 = malloc(sizeof(float) * K * 32), *o32 = malloc(sizeof(float) * M * 32);
                for (int64_t k = 0; k < K; k++)
                    memcpy(V32 + k * 32, V + k * 16, 16 * sizeof(float)),
                        memcpy(V32 + k * 32 + 16, V + k * 16, 16 * sizeof(float));
                dl_wg_product32(M, K, U, V32, o32);
                int same = 1;
                for (int64_t i = 0; i < M; i++)
                    same &= !memcmp(o32 + i * 32, out + i * 16, 64) && !memcmp(o32 + i * 32 + 16, out + i * 16, 64);
                CU_ASSERT(same);
                free(V32), free(o32);
            }
            dl_wg_product16_enable(was);
            double err = 0;
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < 16; j++) {
                    double want = 0;
                    for (int64_t k = 0; k < K; k++) want += (double)U[i * K + k] * V[k * 16 + j];
                    err = isnan(out[i * 16 + j]) ? INFINITY : fmax(err, fabs(out[i * 16 + j] - want));
                }
            CU_ASSERT(err < 1e-5 * K);
            if (!(err < 1e-5 * K)) fprintf(stderr, "\nproduct16 %lld x %lld (tiles %d): error %g\n", (long long)M, (long long)K, on, err);
        }
        free(U), free(V), free(out);
    }
}

/* Only the shapes the kernel is written for. */
static void test_fits(void)
{
    dl_conv2d_geom g = geom(2, 32, 8, 8, 32, 1, 1, 1, 1);
    CU_ASSERT(dl_conv_winograd_fits(&g));
    dl_conv2d_geom s = g;
    s.sh = 2, s.oh = 4;
    CU_ASSERT(!dl_conv_winograd_fits(&s));
    s = g, s.kh = 5, s.oh = 6;
    CU_ASSERT(!dl_conv_winograd_fits(&s));
    s = g, s.dh = 2, s.oh = 6;
    CU_ASSERT(!dl_conv_winograd_fits(&s));
    s = g, s.groups = 2;
    CU_ASSERT(!dl_conv_winograd_fits(&s));
    s = g, s.pt = -1, s.oh = 6;
    CU_ASSERT(!dl_conv_winograd_fits(&s));
    s = g, s.oh = 7; /* oh not what the padding gives */
    CU_ASSERT(!dl_conv_winograd_fits(&s));
}

/* The weight gradient on the same geometries as the forward: odd planes,
 * padding, batch 1, several chunks and groups of chunks. */
static void test_bwd_weight_vs_direct(void)
{
    static const int64_t cases[][9] = {
        {1, 1, 4, 4, 1, 0, 0, 0, 0},   {2, 3, 7, 9, 5, 1, 1, 1, 1},    {3, 17, 11, 6, 33, 2, 2, 2, 2},
        {1, 33, 16, 16, 32, 1, 1, 1, 1}, {16, 32, 8, 8, 40, 1, 1, 1, 1}, {5, 8, 5, 13, 7, 0, 2, 1, 0},
        {2, 5, 20, 19, 9, 1, 0, 0, 1},  {40, 3, 4, 4, 2, 1, 1, 1, 1},   /* 40 one-image chunks in 4 groups */
        /* rows of 4 tiles (8 wide) two to a vector: odd tile rows, cut last rows, 7 wide, no padding */
        {2, 3, 10, 8, 5, 1, 1, 1, 1},   {3, 4, 7, 8, 6, 1, 1, 1, 1},    {2, 3, 6, 7, 4, 1, 1, 1, 1},
        {2, 3, 10, 10, 5, 0, 0, 0, 0},
        {2, 3, 7, 16, 4, 1, 1, 1, 1},   /* gy rows of 16 read in place, the last tile row cut */
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int64_t *k = cases[t];
        dl_conv2d_geom g = geom(k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8]);
        const int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.oc * g.oh * g.ow, nw = g.oc * g.c * 9;
        float *x = malloc(sizeof(float) * nx), *gy = malloc(sizeof(float) * ny), *gw = malloc(sizeof(float) * nw);
        double *want = malloc(sizeof(double) * nw);
        unsigned seed = 5u + (unsigned)t;
        fill(x, nx, &seed), fill(gy, ny, &seed);
        reference(&g, REF_WEIGHT, x, NULL, gy, want);
        for (int64_t i = 0; i < nw; i++) gw[i] = NAN;
        CU_ASSERT_EQUAL(dl_conv_winograd_bwd_weight(&g, x, gy, gw), 0);
        double err = scaled_err(gw, want, nw);
        CU_ASSERT(err < 1e-5);
        if (!(err < 1e-5)) fprintf(stderr, "\nwinograd weight gradient, case %zu: error %g\n", t, err);
        free(x), free(gy), free(gw), free(want);
    }
}

/* The weight gradient with 16 channels to a vector (conv_winograd_wgrad.c)
 * against the direct sum in double and against the 8-tile path
 * (dl_wg_wgrad16_enable(0)): odd and non-square planes (a last tile half
 * outside, rows wider than one 16x16 transpose), padding 0, 1, 2 and
 * asymmetric, output channels not a multiple of 12 (blocks of 12, 8 and 4), batches of 1 to 9
 * (groups of one image and of several), input channels 16 (mod 32) (the
 * 16 x 16 tiles: ResNet-20's 16-channel 32x32 layer, 48 and 80), each at 1
 * and 2 threads with the same bits; conv.c's rule for 16 channels
 * (dl_wg_wgrad16_pays). Skipped where the CPU has no AVX-512 (fits says 0). */
static void test_bwd_weight16(void)
{
    static const int64_t cases[][9] = {
        {1, 32, 16, 16, 32, 1, 1, 1, 1}, {7, 32, 16, 16, 32, 1, 1, 1, 1}, {5, 64, 8, 8, 64, 1, 1, 1, 1},
        {2, 32, 7, 9, 16, 1, 1, 1, 1},   {3, 64, 5, 13, 48, 0, 2, 1, 0},  {9, 32, 3, 3, 80, 0, 0, 0, 0},
        {2, 32, 17, 33, 16, 2, 2, 2, 2}, {4, 96, 6, 7, 112, 1, 0, 0, 1},  {1, 32, 4, 4, 16, 2, 1, 0, 2},
        {3, 16, 32, 32, 16, 1, 1, 1, 1}, {9, 16, 9, 11, 16, 1, 1, 1, 1},  {2, 16, 5, 7, 32, 0, 2, 1, 0},
        {2, 48, 8, 8, 32, 1, 1, 1, 1},   {5, 80, 3, 5, 16, 1, 1, 1, 1},
    };
    int saved = omp_get_max_threads();
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int64_t *k = cases[t];
        dl_conv2d_geom g = geom(k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8]);
        if (!dl_wg_wgrad16_fits(&g)) {
            CU_ASSERT(!dl_conv_winograd_fits(&g) || !__builtin_cpu_supports("avx512f"));
            continue;
        }
        const int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.oc * g.oh * g.ow, nw = g.oc * g.c * 9;
        float *x = malloc(sizeof(float) * nx), *gy = malloc(sizeof(float) * ny), *gw[3];
        double *want = malloc(sizeof(double) * nw);
        unsigned seed = 11u + (unsigned)t;
        fill(x, nx, &seed), fill(gy, ny, &seed);
        reference(&g, REF_WEIGHT, x, NULL, gy, want);
        for (int r = 0; r < 3; r++) { /* 16 lanes at 1 and 2 threads, then the 8-tile path */
            gw[r] = malloc(sizeof(float) * nw);
            for (int64_t i = 0; i < nw; i++) gw[r][i] = NAN;
            omp_set_num_threads(r == 1 ? 2 : 1);
            int was = dl_wg_wgrad16_enable(r < 2);
            CU_ASSERT_EQUAL(dl_conv_winograd_bwd_weight(&g, x, gy, gw[r]), 0);
            dl_wg_wgrad16_enable(was);
            double err = scaled_err(gw[r], want, nw);
            CU_ASSERT(err < 1e-5);
            if (!(err < 1e-5))
                fprintf(stderr, "\nwinograd 16-lane weight gradient, case %zu run %d: error %g\n", t, r, err);
        }
        omp_set_num_threads(saved);
        CU_ASSERT(memcmp(gw[0], gw[1], sizeof(float) * (size_t)nw) == 0);
        free(x), free(gy), free(want);
        for (int r = 0; r < 3; r++) free(gw[r]);
    }
    dl_conv2d_geom odd = geom(2, 24, 8, 8, 32, 1, 1, 1, 1); /* 24 input channels: not whole vectors */
    CU_ASSERT(!dl_wg_wgrad16_fits(&odd));
    odd = geom(2, 32, 8, 8, 40, 1, 1, 1, 1); /* 40 output channels: not whole vectors */
    CU_ASSERT(!dl_wg_wgrad16_fits(&odd));
    int was = dl_wg_wgrad16_enable(0);
    odd = geom(2, 32, 8, 8, 32, 1, 1, 1, 1);
    CU_ASSERT(!dl_wg_wgrad16_fits(&odd));
    dl_wg_wgrad16_enable(was);
    dl_conv2d_geom r16 = geom(64, 16, 32, 32, 16, 1, 1, 1, 1); /* ResNet-20's 16-channel layer */
    CU_ASSERT(!dl_wg_wgrad16_pays(&r16) == !dl_wg_wgrad16_fits(&r16));
    was = dl_wg_wgrad16_c16_enable(0);
    CU_ASSERT(!dl_wg_wgrad16_pays(&r16));
    dl_wg_wgrad16_c16_enable(was);
    r16 = geom(1, 16, 8, 8, 16, 1, 1, 1, 1); /* 16 tiles: the direct kernels */
    CU_ASSERT(!dl_wg_wgrad16_pays(&r16));
    r16 = geom(64, 32, 16, 16, 32, 1, 1, 1, 1); /* dl_conv_winograd_pays's */
    CU_ASSERT(!dl_wg_wgrad16_pays(&r16));
}

/* Through conv.c: forward, data and weight gradient of shapes the rule
 * sends to Winograd, at 1 and 2 threads, bit for bit the same; at 2 threads
 * both with each call split over the threads (threshold 0) and by the
 * default rule (these small shapes: on the calling thread). */
static void test_dispatch_and_threads(void)
{
    /* {1, 32, 16} and {1, 16, 32}: F(4x4) (dl_conv_winograd_tile), {1, 64, 8}: the forward's batch-1 rule */
    static const int64_t cases[][3] = {{3, 32, 16}, {1, 48, 16}, {20, 64, 8}, {5, 40, 9},
                                       {1, 64, 8},  {1, 32, 16}, {1, 16, 32}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        dl_conv2d_geom g = geom(cases[t][0], cases[t][1], cases[t][2], cases[t][2], cases[t][1], 1, 1, 1, 1);
        CU_ASSERT_FATAL(dl_conv_winograd_pays_forward(&g)); /* the gradients may take other kernels: checked alike */
        const int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.oc * g.oh * g.ow, nw = g.oc * g.c * 9;
        float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw), *gy = malloc(sizeof(float) * ny);
        float *y[3], *gx[3], *gw[3];
        double *want_y = malloc(sizeof(double) * ny), *want_gx = malloc(sizeof(double) * nx);
        double *want_gw = malloc(sizeof(double) * nw);
        unsigned seed = 99u + (unsigned)t;
        fill(x, nx, &seed), fill(w, nw, &seed), fill(gy, ny, &seed);
        reference(&g, REF_FORWARD, x, w, NULL, want_y);
        reference(&g, REF_DATA, NULL, w, gy, want_gx);
        reference(&g, REF_WEIGHT, x, NULL, gy, want_gw);
        int saved = omp_get_max_threads();
        for (int k = 0; k < 3; k++) {
            y[k] = malloc(sizeof(float) * ny), gx[k] = malloc(sizeof(float) * nx), gw[k] = malloc(sizeof(float) * nw);
            for (int64_t i = 0; i < nw; i++) gw[k][i] = NAN;
            for (int64_t i = 0; i < ny; i++) y[k][i] = NAN;
            for (int64_t i = 0; i < nx; i++) gx[k][i] = NAN;
            omp_set_num_threads(k ? 2 : 1);
            const double was = dl_conv_winograd_split_macs(k == 1 ? 0 : -1);
            CU_ASSERT_EQUAL(dl_conv2d(&g, x, w, y[k]), 0);
            CU_ASSERT_EQUAL(dl_conv2d_bwd_data(&g, gy, w, gx[k]), 0);
            CU_ASSERT(scaled_err(y[k], want_y, ny) < 1e-5);
            CU_ASSERT(scaled_err(gx[k], want_gx, nx) < 1e-5);
            CU_ASSERT_EQUAL(dl_conv2d_bwd_weight(&g, x, gy, gw[k]), 0);
            CU_ASSERT(scaled_err(gw[k], want_gw, nw) < 1e-5);
            dl_conv_winograd_split_macs(was);
        }
        omp_set_num_threads(saved);
        for (int k = 1; k < 3; k++) {
            CU_ASSERT(memcmp(y[0], y[k], sizeof(float) * (size_t)ny) == 0);
            CU_ASSERT(memcmp(gx[0], gx[k], sizeof(float) * (size_t)nx) == 0);
            CU_ASSERT(memcmp(gw[0], gw[k], sizeof(float) * (size_t)nw) == 0);
        }
        free(x), free(w), free(gy), free(want_y), free(want_gx), free(want_gw);
        for (int k = 0; k < 3; k++) free(y[k]), free(gx[k]), free(gw[k]);
    }
}

/* The forward's wider rule: batch-1 64-channel planes of whole vectors of
 * tiles, and only the forward (the gradients keep dl_conv_winograd_pays). */
static void test_forward_rule(void)
{
    dl_conv2d_geom g = geom(1, 64, 8, 8, 64, 1, 1, 1, 1);
    CU_ASSERT(dl_conv_winograd_pays_forward(&g));
    CU_ASSERT(!dl_conv_winograd_pays(&g));
    dl_conv2d_geom s = g;
    s.n = 2; /* 32 tiles on dl_sgemm: unmeasured, not taken */
    CU_ASSERT(!dl_conv_winograd_pays_forward(&s));
    s = geom(1, 32, 8, 8, 32, 1, 1, 1, 1); /* 32 channels: conv_b1.c */
    CU_ASSERT(!dl_conv_winograd_pays_forward(&s));
    s = geom(1, 64, 10, 10, 64, 1, 1, 1, 1); /* 25 tiles: 9 would go through the scalar tail */
    CU_ASSERT(!dl_conv_winograd_pays_forward(&s));
    s = geom(1, 32, 16, 16, 32, 1, 1, 1, 1); /* what pays already still does */
    CU_ASSERT(dl_conv_winograd_pays_forward(&s) && dl_conv_winograd_pays(&s));
    /* F(4x4): batch 1, planes of whole 16x16 blocks, 16 to 32 input channels */
    CU_ASSERT_EQUAL(dl_conv_winograd_tile(&s), 4);
    CU_ASSERT_EQUAL(dl_conv_winograd_tile(&g), 2); /* 8x8 */
    s.n = 2;
    CU_ASSERT_EQUAL(dl_conv_winograd_tile(&s), 2);
    s = geom(1, 16, 32, 32, 16, 1, 1, 1, 1); /* ResNet's 16-channel stage: below pays' 32 channels */
    CU_ASSERT(dl_conv_winograd_tile(&s) == 4 && dl_conv_winograd_pays_forward(&s) && !dl_conv_winograd_pays(&s));
    s = geom(1, 64, 16, 16, 64, 1, 1, 1, 1); /* 64 input channels: F(4x4)'s error too large */
    CU_ASSERT_EQUAL(dl_conv_winograd_tile(&s), 2);
    s = geom(1, 8, 32, 32, 16, 1, 1, 1, 1); /* 8 input channels: direct kernels */
    CU_ASSERT(dl_conv_winograd_tile(&s) == 2 && !dl_conv_winograd_pays_forward(&s));
    s = geom(1, 32, 16, 14, 32, 1, 1, 1, 1); /* 14 wide: not whole blocks */
    CU_ASSERT_EQUAL(dl_conv_winograd_tile(&s), 2);
}

/* dl_conv_winograd_u with an affine (scale and shift per channel, a
 * residual or none, a clamp or none): bit for bit the convolution then
 * dl_affine_rows_isa per image (conv_affine.c's epilogue), at 1 thread, at
 * 2 with every call split (batch 1: bands of tile rows, run_band) and at 2
 * by the default rule; also with y the residual itself. Batch-1 planes cut
 * in bands of one or more tile rows (a shorter last band, its outputs cut),
 * F(4x4) planes whose 16-tile groups span two tile rows, planes too narrow
 * to cut (one band), F(2x2) with odd planes and padding, batches of 2 and 3. */
static void test_fused_affine_and_bands(void)
{
    static const int64_t cases[][10] = {
        /* m  n   c   h   w  oc pt pb pl pr */
        {4, 1, 16, 32, 32, 16, 1, 1, 1, 1}, /* ResNet-20's 16-channel stage: 64 tiles, 2 bands of 4 tile rows */
        {4, 1, 16, 64, 32, 16, 1, 1, 1, 1}, /* 16 tile rows of 8 */
        {4, 1, 5, 16, 32, 7, 1, 1, 1, 1},   /* 16-tile groups over two tile rows: bands of 2 */
        {4, 1, 6, 13, 22, 5, 1, 1, 1, 1},   /* rows of 6 tiles (a half block cut), 8-tile transforms */
        {4, 1, 3, 18, 18, 2, 0, 0, 0, 0},   /* no padding */
        {4, 1, 32, 16, 16, 32, 1, 1, 1, 1}, /* one band (16 tiles: one vector) */
        {2, 1, 7, 9, 11, 13, 1, 1, 1, 1},   /* F(2x2), 5 tile rows: bands of 2 and 3 */
        {2, 1, 4, 13, 22, 5, 2, 0, 1, 2},   /* asymmetric padding */
        {2, 1, 3, 10, 8, 5, 1, 1, 1, 1},    /* rows of 4 tiles, two to a vector */
        {4, 1, 6, 30, 32, 5, 1, 1, 1, 1},   /* F(4x4), the last tile row's outputs cut: a shorter last band */
        {2, 1, 5, 29, 16, 7, 1, 1, 1, 1},   /* F(2x2), 15 tile rows of 8: bands of 2, the last of 1 */
        {2, 2, 3, 10, 8, 5, 1, 1, 1, 1},    /* a batch of 2 */
        {4, 3, 16, 32, 32, 16, 1, 1, 1, 1}, /* and of 3 with F(4x4) */
    };
    const int saved = omp_get_max_threads();
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int64_t *k = cases[t];
        const int m = (int)k[0];
        dl_conv2d_geom g = geom(k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9]);
        const int64_t P = g.oh * g.ow, per = g.oc * P, ny = g.n * per, nx = g.n * g.c * g.h * g.w;
        const int64_t nw = g.oc * g.c * 9;
        float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw), *yc = malloc(sizeof(float) * ny);
        float *res = malloc(sizeof(float) * ny), *want = malloc(sizeof(float) * ny), *y = malloc(sizeof(float) * ny);
        float *scale = malloc(sizeof(float) * g.oc), *shift = malloc(sizeof(float) * g.oc);
        unsigned seed = 501u + (unsigned)t;
        fill(x, nx, &seed), fill(w, nw, &seed), fill(res, ny, &seed), fill(scale, g.oc, &seed);
        fill(shift, g.oc, &seed);
        omp_set_num_threads(1);
        CU_ASSERT_EQUAL(dl_conv_winograd_u(&g, m, x, w, NULL, yc, NULL, NULL, NULL), 0);
        for (int v = 0; v < 5; v++) { /* residual (bit 0), clamp (bit 1); 4: residual in y */
            const dl_conv_affine a = {.scale = scale, .shift = shift, .residual = v & 1 || v == 4 ? res : NULL,
                                      .clamp = (v & 2) != 0, .lo = 0.0f, .hi = 0.75f};
            for (int64_t i = 0; i < g.n; i++) {
                dl_conv_affine ai = a;
                if (ai.residual) ai.residual += i * per;
                CU_ASSERT_EQUAL(dl_affine_rows_isa(DL_GEMV_BEST, g.oc, P, yc + i * per, want + i * per, &ai), 0);
            }
            for (int r = 0; r < 3; r++) { /* 1 thread, 2 split, 2 by the rule */
                omp_set_num_threads(r ? 2 : 1);
                const double was = dl_conv_winograd_split_macs(r == 1 ? 0 : -1);
                dl_conv_affine ar = a;
                if (v == 4) memcpy(y, res, sizeof(float) * (size_t)ny), ar.residual = y;
                else
                    for (int64_t i = 0; i < ny; i++) y[i] = NAN;
                CU_ASSERT_EQUAL(dl_conv_winograd_u(&g, m, x, w, NULL, y, NULL, NULL, &ar), 0);
                dl_conv_winograd_split_macs(was);
                const int same = memcmp(y, want, sizeof(float) * (size_t)ny) == 0;
                CU_ASSERT(same);
                if (!same) fprintf(stderr, "\nfused affine, case %zu, variant %d, run %d: other bits\n", t, v, r);
            }
        }
        free(x), free(w), free(yc), free(res), free(want), free(y), free(scale), free(shift);
    }
    omp_set_num_threads(saved);
}

/* Batch 1 split in space (run_band) against one thread, without an
 * affine: the same bits at 2 threads with every call split and by the
 * rule, through dl_conv_winograd_u, F(4x4) and F(2x2), the 16- and 8-tile
 * transforms (bands of whole 16-tile groups, so both or neither). */
static void test_bands_same_bits(void)
{
    static const int64_t cases[][10] = {
        {4, 1, 16, 32, 32, 16, 1, 1, 1, 1}, {4, 1, 16, 64, 64, 8, 1, 1, 1, 1}, {4, 1, 5, 16, 32, 7, 1, 1, 1, 1},
        {4, 1, 9, 30, 34, 4, 1, 1, 1, 1},   {2, 1, 7, 9, 11, 13, 1, 1, 1, 1},  {2, 1, 33, 16, 16, 32, 1, 1, 1, 1},
        {2, 1, 3, 6, 7, 4, 1, 1, 1, 1},     {4, 1, 6, 30, 32, 5, 1, 1, 1, 1},  {2, 1, 7, 32, 24, 13, 1, 1, 1, 1},
        {2, 1, 5, 29, 16, 7, 1, 1, 1, 1},   {2, 1, 4, 33, 22, 5, 2, 0, 1, 2},
    };
    const int saved = omp_get_max_threads();
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int64_t *k = cases[t];
        dl_conv2d_geom g = geom(k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9]);
        const int64_t ny = g.n * g.oc * g.oh * g.ow, nx = g.n * g.c * g.h * g.w, nw = g.oc * g.c * 9;
        float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw), *y[3];
        unsigned seed = 901u + (unsigned)t;
        fill(x, nx, &seed), fill(w, nw, &seed);
        for (int x16 = 0; x16 < 2; x16++) {
            const int was16 = dl_wg4_x16_enable(x16);
            for (int r = 0; r < 3; r++) {
                y[r] = malloc(sizeof(float) * ny);
                for (int64_t i = 0; i < ny; i++) y[r][i] = NAN;
                omp_set_num_threads(r ? 2 : 1);
                const double was = dl_conv_winograd_split_macs(r == 1 ? 0 : -1);
                CU_ASSERT_EQUAL(dl_conv_winograd_u(&g, (int)k[0], x, w, NULL, y[r], NULL, NULL, NULL), 0);
                dl_conv_winograd_split_macs(was);
            }
            dl_wg4_x16_enable(was16);
            for (int r = 1; r < 3; r++) {
                const int same = memcmp(y[0], y[r], sizeof(float) * (size_t)ny) == 0;
                CU_ASSERT(same);
                if (!same) {
                    int64_t nd = 0, first = -1;
                    for (int64_t i = 0; i < ny; i++)
                        if (memcmp(&y[0][i], &y[r][i], 4)) nd++, first = first < 0 ? i : first;
                    fprintf(stderr, "\nbands, case %zu, x16 %d, run %d: other bits %lld first %lld (%g %g) plane %lld\n", t, x16, r, (long long)nd, (long long)first, y[0][first], y[r][first], (long long)(g.oh*g.ow));
                }
            }
            for (int r = 0; r < 3; r++) free(y[r]);
        }
        free(x), free(w);
    }
    omp_set_num_threads(saved);
}

/* An empty batch: the forward touches nothing, the weight gradient is zero. */
/* The split rule (dl_conv_winograd_threads): ResNet-20's batch-1 layers
 * (2.36M multiply-adds) on one thread at 2 threads; a batch of 64 of them,
 * or one image of 64 channels on 32x32 (37.7M), on all; inside a parallel
 * region always 1; a threshold of 0 splits everything. */
static void test_split_rule(void)
{
    const int saved = omp_get_max_threads();
    omp_set_num_threads(2);
    static const int64_t r20[][2] = {{16, 32}, {32, 16}, {64, 8}}; /* channels, plane side */
    for (int i = 0; i < 3; i++) {
        dl_conv2d_geom g = geom(1, r20[i][0], r20[i][1], r20[i][1], r20[i][0], 1, 1, 1, 1);
        CU_ASSERT_EQUAL(dl_conv_winograd_threads(&g), 1);
        g.n = 64;
        CU_ASSERT_EQUAL(dl_conv_winograd_threads(&g), 2);
    }
    const dl_conv2d_geom big = geom(1, 64, 32, 32, 64, 1, 1, 1, 1), small = geom(1, 16, 8, 8, 16, 1, 1, 1, 1);
    CU_ASSERT_EQUAL(dl_conv_winograd_threads(&big), 2);
    int inside = 0, team = 0;
#pragma omp parallel num_threads(2) reduction(+ : inside, team)
    {
        if (omp_in_parallel()) inside += dl_conv_winograd_threads(&big), team++;
    }
    CU_ASSERT_EQUAL(inside, team); /* 1 per thread of an active team */
    const double was = dl_conv_winograd_split_macs(0);
    CU_ASSERT_EQUAL(dl_conv_winograd_threads(&small), 2);
    CU_ASSERT_EQUAL(dl_conv_winograd_split_macs(was), 0);
    CU_ASSERT_EQUAL(dl_conv_winograd_threads(&small), 1);
    omp_set_num_threads(saved);
}

static void test_empty_batch(void)
{
    dl_conv2d_geom g = geom(0, 32, 8, 8, 32, 1, 1, 1, 1);
    static float w[32 * 32 * 9];
    CU_ASSERT_EQUAL(dl_conv_winograd(&g, NULL, w, NULL, NULL, NULL), 0);
    for (int i = 0; i < 32 * 32 * 9; i++) w[i] = NAN;
    CU_ASSERT_EQUAL(dl_conv_winograd_bwd_weight(&g, NULL, NULL, w), 0);
    int zero = 1;
    for (int i = 0; i < 32 * 32 * 9; i++) zero &= w[i] == 0.0f;
    CU_ASSERT(zero);
}

/* conv_winograd_c16.c (16 -> 16 channels, pad 1, batch >= 2, AVX-512): the
 * forward and the data gradient through conv.c, against the direct sum, the
 * same bits at 1 and 2 threads; planes whose tile rows make blocks of one or
 * several rows, and blocks not a multiple of the 8-tile product group. Also
 * called directly with an epilogue (once per complete image). */
static void test_c16(void)
{
    static const int64_t cases[][3] = {
            /* n h  w */
            {2, 32, 32}, /* ResNet-20's stage: blocks of one 16-tile row */
            {3, 6, 10},  /* rows of 5 tiles, 3 to a block (15, padded to 16), the last block 0 rows short */
            {5, 18, 34}, /* 17 tiles a row: a block of 17 padded to 24 */
            {2, 2, 2},   /* one tile */
            {4, 14, 4},  /* 2 tiles a row, 8 rows to a block, the last of 7 rows cut to 3 */
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        dl_conv2d_geom g = geom(cases[t][0], 16, cases[t][1], cases[t][2], 16, 1, 1, 1, 1);
        if (!dl_wg_c16_applies(&g)) { /* no AVX-512: conv.c's other paths (tested elsewhere) */
            CU_PASS("no AVX-512");
            return;
        }
        const int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.oc * g.oh * g.ow, nw = g.oc * g.c * 9;
        float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw), *gy = malloc(sizeof(float) * ny);
        float *y[3], *gx[2];
        double *want_y = malloc(sizeof(double) * ny), *want_gx = malloc(sizeof(double) * nx);
        unsigned seed = 5u + (unsigned)t;
        fill(x, nx, &seed), fill(w, nw, &seed), fill(gy, ny, &seed);
        reference(&g, REF_FORWARD, x, w, NULL, want_y);
        reference(&g, REF_DATA, NULL, w, gy, want_gx);
        const int saved = omp_get_max_threads();
        for (int k = 0; k < 2; k++) {
            y[k] = malloc(sizeof(float) * ny), gx[k] = malloc(sizeof(float) * nx);
            for (int64_t i = 0; i < ny; i++) y[k][i] = NAN;
            for (int64_t i = 0; i < nx; i++) gx[k][i] = NAN;
            omp_set_num_threads(k + 1);
            CU_ASSERT_EQUAL(dl_conv2d(&g, x, w, y[k]), 0);
            CU_ASSERT_EQUAL(dl_conv2d_bwd_data(&g, gy, w, gx[k]), 0);
            const double ey = scaled_err(y[k], want_y, ny), ex = scaled_err(gx[k], want_gx, nx);
            CU_ASSERT(ey < 1e-5 && ex < 1e-5);
            if (!(ey < 1e-5 && ex < 1e-5))
                fprintf(stderr, "\nc16 n%lld %lldx%lld threads %d: forward error %g, data %g\n", (long long)g.n,
                        (long long)g.h, (long long)g.w, k + 1, ey, ex);
        }
        omp_set_num_threads(saved);
        CU_ASSERT(memcmp(y[0], y[1], sizeof(float) * (size_t)ny) == 0);
        CU_ASSERT(memcmp(gx[0], gx[1], sizeof(float) * (size_t)nx) == 0);
        y[2] = malloc(sizeof(float) * ny);
        for (int64_t i = 0; i < ny; i++) y[2][i] = NAN;
        ep_log log = {.complete = 1, .per_image = g.oc * g.oh * g.ow};
        CU_ASSERT_EQUAL(dl_wg_c16_forward(&g, x, w, y[2], epilogue, &log), 0);
        CU_ASSERT(memcmp(y[0], y[2], sizeof(float) * (size_t)ny) == 0);
        CU_ASSERT(log.complete);
        for (int64_t i = 0; i < g.n; i++) CU_ASSERT_EQUAL(log.calls[i], 1);
        free(x), free(w), free(gy), free(want_y), free(want_gx);
        for (int k = 0; k < 3; k++) free(y[k]);
        free(gx[0]), free(gx[1]);
    }
}

/* Which geometries conv_winograd_c16.c takes. */
static void test_c16_rule(void)
{
    dl_conv2d_geom g = geom(64, 16, 32, 32, 16, 1, 1, 1, 1);
    if (!dl_wg_c16_applies(&g)) return; /* no AVX-512 */
    dl_conv2d_geom no[] = {geom(1, 16, 32, 32, 16, 1, 1, 1, 1),  /* batch 1: conv_winograd_cl.c / F(4x4) */
                           geom(64, 32, 16, 16, 32, 1, 1, 1, 1), /* 32 channels */
                           geom(64, 16, 32, 32, 32, 1, 1, 1, 1), /* 16 -> 32 */
                           geom(64, 16, 31, 32, 16, 1, 1, 1, 1), /* odd height */
                           geom(64, 16, 32, 32, 16, 0, 0, 0, 0), /* pad 0 */
                           geom(64, 16, 32, 32, 16, 2, 2, 2, 2)};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) CU_ASSERT(!dl_wg_c16_applies(&no[i]));
    g.sh = 2;
    CU_ASSERT(!dl_wg_c16_applies(&g));
    g.sh = 1;
    const int was = dl_wg_c16_enable(0);
    CU_ASSERT(!dl_wg_c16_applies(&g));
    dl_wg_c16_enable(was);
    const int64_t min = dl_wg_c16_min_batch(128);
    CU_ASSERT(!dl_wg_c16_applies(&g));
    dl_wg_c16_min_batch(min);
    CU_ASSERT(dl_wg_c16_applies(&g));
}

void suite_conv_winograd(void)
{
    CU_pSuite s = CU_add_suite("conv_winograd", NULL, NULL);
    CU_add_test(s, "F(2x2,3x3) vs the direct sum: odd planes, padding, batch, epilogue", test_forward_vs_direct);
    CU_add_test(s, "F(4x4,3x3) vs the direct sum: the same geometries, 16- and 8-tile transforms", test_forward4_vs_direct);
    CU_add_test(s, "F(4x4)'s 16-tile transforms = its 8-tile ones", test_forward4_x16_same);
    CU_add_test(s, "F(2x2)'s input transform, columns one by one or in pairs: same bits", test_input_pairs_same);
    CU_add_test(s, "batch-1 products of 16 tiles, 16- and 12-row tiles and conv_pointwise.c's", test_product16);
    CU_add_test(s, "weight gradient vs the direct sum", test_bwd_weight_vs_direct);
    CU_add_test(s, "weight gradient, 16 channels to a vector: vs the direct sum, 1 = 2 threads", test_bwd_weight16);
    CU_add_test(s, "which geometries fit", test_fits);
    CU_add_test(s, "conv.c sends forward, data and weight gradient to it: same bits at 1 and 2 threads",
                test_dispatch_and_threads);
    CU_add_test(s, "the affine fused into the output transform = conv then dl_affine_rows_isa, 1 and 2 threads",
                test_fused_affine_and_bands);
    CU_add_test(s, "batch 1 split in bands of tile rows: same bits as 1 thread", test_bands_same_bits);
    CU_add_test(s, "an empty batch", test_empty_batch);
    CU_add_test(s, "the threads one call takes: ResNet-20's batch-1 layers on one", test_split_rule);
    CU_add_test(s, "the forward's batch-1 rule", test_forward_rule);
    CU_add_test(s, "16 -> 16 channels in the lanes: vs the direct sum, 1 = 2 threads, epilogue", test_c16);
    CU_add_test(s, "16 -> 16 channels in the lanes: which geometries", test_c16_rule);
}
