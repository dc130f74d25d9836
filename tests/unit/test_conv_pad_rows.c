/* test_conv_pad_rows.c — conv_pad_rows.c (a plane's rows copied into a
 * zero-bordered plane) on every path this CPU runs (plain, AVX2, AVX-512):
 * row lengths around each vector width (1 to 67, with and without a masked
 * tail), source and destination strides wider than the row, destinations
 * off by 1 to 3 floats from alignment (Winograd's left padding), 1 and
 * many rows. The copy must give the source's bits and leave every other
 * float of the destination as it was (the zero border). Then Winograd's
 * forward, which copies through it, against the double direct sum on
 * planes whose rows end in every tail length. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv_pad_rows_internal.h"
#include "conv_winograd_internal.h"

static void fill(float *p, int64_t n, unsigned *seed) {
    for (int64_t i = 0; i < n; i++) p[i] = (float)rand_r(seed) / RAND_MAX * 2.0f - 1.0f;
}

static void test_rows_every_path(void)
{
    static const int64_t widths[] = {1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 47, 64, 67};
    static const int64_t rows_of[] = {1, 2, 5, 34};
    int bad = 0;
    for (int isa = DL_PAD_ROWS_PLAIN; isa <= DL_PAD_ROWS_AVX512; isa++)
        for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
            for (size_t ri = 0; ri < sizeof rows_of / sizeof rows_of[0]; ri++)
                for (int64_t off = 0; off < 4; off++) {
                    const int64_t n = widths[wi], rows = rows_of[ri], ss = n + (int64_t)(wi % 3), ds = n + 8 + off;
                    const int64_t dn = rows * ds + off + 16;
                    float *src = malloc(sizeof(float) * (size_t)(rows * ss)), *dst = malloc(sizeof(float) * (size_t)dn);
                    unsigned seed = 5u + (unsigned)(wi * 31 + ri * 7 + (size_t)off);
                    fill(src, rows * ss, &seed);
                    for (int64_t i = 0; i < dn; i++) dst[i] = -7.0f; /* the border: must stay */
                    dl_pad_rows_isa(isa, src, ss, dst + off, ds, rows, n);
                    for (int64_t i = 0; i < dn; i++) {
                        const int64_t at = i - off, r = at >= 0 ? at / ds : -1, q = at >= 0 ? at % ds : -1;
                        const float want = r >= 0 && r < rows && q < n ? src[r * ss + q] : -7.0f;
                        if (memcmp(&dst[i], &want, sizeof want)) bad++;
                    }
                    free(src), free(dst);
                }
    CU_ASSERT_EQUAL(bad, 0);
}

/* Winograd's forward (which pads every input plane through dl_pad_rows) vs
 * the double direct sum, on widths whose rows end in each tail. */
static void test_winograd_through_it(void)
{
    static const int64_t sides[][3] = {{1, 5, 9}, {2, 7, 17}, {1, 16, 16}, {1, 32, 32}, {3, 11, 31}};
    for (size_t t = 0; t < sizeof sides / sizeof sides[0]; t++) {
        const int64_t n = sides[t][0], h = sides[t][1], w = sides[t][2], c = 3, oc = 4;
        dl_conv2d_geom g = {0};
        g.n = n, g.c = c, g.h = h, g.w = w, g.oc = oc, g.kh = 3, g.kw = 3, g.sh = 1, g.sw = 1, g.dh = 1, g.dw = 1;
        g.pt = g.pb = g.pl = g.pr = 1, g.groups = 1, g.oh = h, g.ow = w;
        float *x = malloc(sizeof(float) * (size_t)(n * c * h * w)), *wt = malloc(sizeof(float) * (size_t)(oc * c * 9));
        float *y = malloc(sizeof(float) * (size_t)(n * oc * h * w));
        unsigned seed = 91u + (unsigned)t;
        fill(x, n * c * h * w, &seed), fill(wt, oc * c * 9, &seed);
        CU_ASSERT_EQUAL_FATAL(dl_conv_winograd(&g, x, wt, y, NULL, NULL), 0);
        double err = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t o = 0; o < oc; o++)
                for (int64_t r = 0; r < h; r++)
                    for (int64_t q = 0; q < w; q++) {
                        double want = 0;
                        for (int64_t ci = 0; ci < c; ci++)
                            for (int a = 0; a < 3; a++)
                                for (int b = 0; b < 3; b++) {
                                    const int64_t rr = r + a - 1, qq = q + b - 1;
                                    if (rr >= 0 && rr < h && qq >= 0 && qq < w)
                                        want += (double)x[((i * c + ci) * h + rr) * w + qq] *
                                                wt[(o * c + ci) * 9 + a * 3 + b];
                                }
                        err = fmax(err, fabs(y[((i * oc + o) * h + r) * w + q] - want));
                    }
        CU_ASSERT(err < 1e-5);
        free(x), free(wt), free(y);
    }
}

void suite_conv_pad_rows(void)
{
    CU_pSuite s = CU_add_suite("conv_pad_rows", NULL, NULL);
    CU_add_test(s, "rows copied on every path: source bits, border untouched", test_rows_every_path);
    CU_add_test(s, "Winograd's forward through it vs the direct sum", test_winograd_through_it);
}
