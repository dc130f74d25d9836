/* test_rt_figures.c — the end-of-run figures and their intervals, on cases
 * worked by hand (the parity section `metrics` checks them against numpy on
 * random data). */
#include "dlnrt.h"
#include "report_internal.h"

#include <CUnit/CUnit.h>
#include <math.h>

static void test_wilson(void)
{
    double lo, hi;
    /* 95 of 100: (p + z^2/2n ± z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), z = 1.959964 */
    dl_wilson_interval(95, 100, &lo, &hi);
    CU_ASSERT_DOUBLE_EQUAL(lo, 0.8882495, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(hi, 0.9784563, 1e-6);
    /* 0 of 10: the interval starts at 0 and is not empty (a normal interval would be [0, 0]) */
    dl_wilson_interval(0, 10, &lo, &hi);
    CU_ASSERT_DOUBLE_EQUAL(lo, 0.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(hi, 0.2775328, 1e-6);
    dl_wilson_interval(0, 0, &lo, &hi);
    CU_ASSERT_TRUE(isnan(lo) && isnan(hi));
}

static void test_mean_interval(void)
{
    /* batch means 1, 2, 3 of one sample each: mean 2, variance 1, half width z / sqrt(3) */
    double lo, hi;
    dl_mean_interval(6, 14, 3, 3, &lo, &hi);
    CU_ASSERT_DOUBLE_EQUAL(lo, 2 - 1.1315857, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(hi, 2 + 1.1315857, 1e-6);
    dl_mean_interval(5, 25, 1, 1, &lo, &hi);  /* one observation: no interval */
    CU_ASSERT_TRUE(isnan(lo));
}

static void test_macro(void)
{
    /* rows true, columns predicted: [[3, 1], [2, 4]]
     * class 0: P 3/5, R 3/4, F1 2/3; class 1: P 4/5, R 4/6, F1 8/11 */
    const int64_t c2[4] = {3, 1, 2, 4};
    double prf[3];
    CU_ASSERT_EQUAL(dl_macro_prf(c2, 2, prf), 0);
    CU_ASSERT_DOUBLE_EQUAL(prf[0], (0.6 + 0.8) / 2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(prf[1], (0.75 + 4.0 / 6) / 2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(prf[2], (2.0 / 3 + 8.0 / 11) / 2, 1e-12);
    /* a third class nobody has nor predicts is left out (sklearn's labels); one that is
     * true but never predicted counts with precision 0 */
    const int64_t c3[9] = {3, 1, 0, 2, 4, 0, 0, 0, 0};
    double prf3[3];
    dl_macro_prf(c3, 3, prf3);
    for (int m = 0; m < 3; m++) CU_ASSERT_DOUBLE_EQUAL(prf3[m], prf[m], 1e-12);
    const int64_t c4[9] = {3, 1, 0, 2, 4, 0, 1, 1, 0};
    dl_macro_prf(c4, 3, prf3);
    CU_ASSERT_DOUBLE_EQUAL(prf3[0], (3.0 / 6 + 4.0 / 6 + 0) / 3, 1e-12);
}

static void test_bootstrap(void)
{
    const int64_t c[9] = {50, 3, 2, 4, 40, 6, 1, 5, 30};
    double v[3], lo[3], hi[3], lo2[3], hi2[3];
    dl_macro_prf(c, 3, v);
    CU_ASSERT_EQUAL(dl_macro_prf_bootstrap(c, 3, 7, lo, hi), 0);
    CU_ASSERT_EQUAL(dl_macro_prf_bootstrap(c, 3, 7, lo2, hi2), 0);
    for (int m = 0; m < 3; m++) {
        CU_ASSERT_TRUE(lo[m] < v[m] && v[m] < hi[m]);
        CU_ASSERT_TRUE(hi[m] - lo[m] < 0.25);               /* 141 samples: a few points, not the whole range */
        CU_ASSERT_EQUAL(lo[m], lo2[m]);                     /* seeded: the same interval every time */
        CU_ASSERT_EQUAL(hi[m], hi2[m]);
    }
    /* a perfect classifier is perfect in every resample */
    const int64_t p[4] = {20, 0, 0, 30};
    dl_macro_prf_bootstrap(p, 2, 1, lo, hi);
    CU_ASSERT_DOUBLE_EQUAL(lo[2], 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(hi[2], 1.0, 1e-12);
}

static void test_iou(void)
{
    /* two images of 4 pixels: logits > 0 predicted, targets > .5 true
     * image 0: pred 1100, true 1010 -> fg inter 1 union 3, bg inter 1 union 3
     * image 1: pred 0000, true 0000 -> fg 0/0, bg 4/4
     * whole set: fg 1/3, bg 5/7; mean (1/3 + 5/7) / 2 */
    const float lg[8] = {1, 1, -1, -1, -1, -1, -1, -1}, tg[8] = {1, 0, 1, 0, 0, 0, 0, 0};
    int64_t counts[8] = {0};
    dl_count_iou_image(lg, tg, 4, counts);
    dl_count_iou_image(lg + 4, tg + 4, 4, counts + 4);
    CU_ASSERT_EQUAL(counts[0], 1);
    CU_ASSERT_EQUAL(counts[1], 3);
    CU_ASSERT_EQUAL(counts[2], 1);
    CU_ASSERT_EQUAL(counts[3], 3);
    CU_ASSERT_EQUAL(counts[6], 4);
    double iou[2], lo[2], hi[2];
    dl_iou_figures(counts, 2, iou);
    CU_ASSERT_DOUBLE_EQUAL(iou[0], 1.0 / 3, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(iou[1], (1.0 / 3 + 5.0 / 7) / 2, 1e-12);
    /* the empty image alone: no foreground anywhere, IoU 1; the mean is the background's */
    dl_iou_figures(counts + 4, 1, iou);
    CU_ASSERT_DOUBLE_EQUAL(iou[0], 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(iou[1], 1.0, 1e-12);
    CU_ASSERT_EQUAL(dl_iou_bootstrap(counts, 2, 3, lo, hi), 0);
    CU_ASSERT_TRUE(lo[1] <= hi[1] && lo[1] >= 0 && hi[1] <= 1);
}

/* An evaluation's tally starts from zero counts, also when it reuses the
 * buffer of an earlier evaluation (dl_count_iou_image adds to them). */
static void test_tally_reuse(void)
{
    dl_eval_tally t = {0};
    CU_ASSERT_EQUAL_FATAL(dl_tally_begin(&t, 3, 1), 0);
    for (int i = 0; i < 12; i++) t.iou[i] = 1000 + i;
    t.samples = 7, t.loss_sum = 3;
    CU_ASSERT_EQUAL_FATAL(dl_tally_begin(&t, 2, 1), 0);
    int zero = t.samples == 0 && t.loss_sum == 0 && t.images == 0;
    for (int i = 0; i < 8; i++) zero &= t.iou[i] == 0;
    CU_ASSERT(zero);
    dl_tally_free(&t);
    CU_ASSERT_PTR_NULL(t.iou);
}

void suite_rt_figures(void)
{
    CU_pSuite s = CU_add_suite("rt_figures", NULL, NULL);
    CU_add_test(s, "Wilson interval", test_wilson);
    CU_add_test(s, "normal interval of batch means", test_mean_interval);
    CU_add_test(s, "macro precision, recall, F1", test_macro);
    CU_add_test(s, "bootstrap intervals", test_bootstrap);
    CU_add_test(s, "IoU and mean IoU", test_iou);
    CU_add_test(s, "a tally starts from zero", test_tally_reuse);
}
