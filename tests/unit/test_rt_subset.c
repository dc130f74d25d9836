/* test_rt_subset.c — dl_dataset_subset, the data's `classes` and `fraction`:
 *   - only the listed classes, relabelled 0.. in the listed order, in file order;
 *   - a fraction keeps round(f x count) of each class (at least 1), the same
 *     ones for the same seed, others for another;
 *   - a class the data lacks, and dense labels, are errors. */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"

/* 500 samples of 10 classes: x = (index, label), label = index % 10, but
 * class 9 has only 5 samples (the others 50). */
static void make_ten(dl_dataset *d)
{
    memset(d, 0, sizeof *d);
    d->x = malloc(500 * 2 * sizeof(float));
    d->y_class = malloc(500 * sizeof(int32_t));
    int64_t n = 0;
    for (int i = 0; i < 500; i++) {
        if (i % 10 == 9 && i >= 50) continue;
        d->x[2 * n] = (float)i;
        d->x[2 * n + 1] = (float)(i % 10);
        d->y_class[n++] = i % 10;
    }
    d->n = n;
    d->x_numel = 2;
    d->x_rank = 1;
    d->x_shape[0] = 2;
    d->label_kind = DL_LABEL_CLASS;
    d->y_numel = 1;
    d->num_classes = 10;
}

static void test_classes(void)
{
    dl_dataset d;
    make_ten(&d);
    const int cl[] = {7, 2, 9};
    CU_ASSERT_EQUAL_FATAL(dl_dataset_subset(&d, cl, 3, 1, 0), 0);
    CU_ASSERT_EQUAL(d.n, 50 + 50 + 5);
    CU_ASSERT_EQUAL(d.num_classes, 3);
    int ok = 1;
    for (int64_t i = 0; i < d.n; i++) {
        ok &= d.y_class[i] == (d.x[2 * i + 1] == 7 ? 0 : d.x[2 * i + 1] == 2 ? 1 : d.x[2 * i + 1] == 9 ? 2 : -1);
        ok &= i == 0 || d.x[2 * i] > d.x[2 * (i - 1)];   /* file order */
    }
    CU_ASSERT(ok);
    dl_dataset_free(&d);
}

static void test_fraction(void)
{
    dl_dataset a, b, c;
    make_ten(&a);
    make_ten(&b);
    make_ten(&c);
    const int cl[] = {0, 9};
    CU_ASSERT_EQUAL_FATAL(dl_dataset_subset(&a, cl, 2, 0.1, 5), 0);
    CU_ASSERT_EQUAL_FATAL(dl_dataset_subset(&b, cl, 2, 0.1, 5), 0);
    CU_ASSERT_EQUAL_FATAL(dl_dataset_subset(&c, cl, 2, 0.1, 6), 0);
    int per[2] = {0, 0};
    for (int64_t i = 0; i < a.n; i++) per[a.y_class[i]]++;
    CU_ASSERT_EQUAL(per[0], 5);
    CU_ASSERT_EQUAL(per[1], 1);   /* round(0.5) = 1, and never 0 */
    CU_ASSERT_EQUAL(a.n, b.n);
    CU_ASSERT_EQUAL(memcmp(a.x, b.x, (size_t)a.n * 2 * sizeof(float)), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a.x, c.x, (size_t)a.n * 2 * sizeof(float)), 0);
    dl_dataset_free(&a);
    dl_dataset_free(&b);
    dl_dataset_free(&c);
    /* every class, thinned: classes NULL */
    make_ten(&a);
    CU_ASSERT_EQUAL_FATAL(dl_dataset_subset(&a, NULL, 0, 0.2, 1), 0);
    CU_ASSERT_EQUAL(a.n, 9 * 10 + 1);
    CU_ASSERT_EQUAL(a.num_classes, 10);
    dl_dataset_free(&a);
}

static void test_errors(void)
{
    dl_dataset d;
    make_ten(&d);
    const int cl[] = {3, 10};
    CU_ASSERT_EQUAL(dl_dataset_subset(&d, cl, 2, 1, 0), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "class 10 is not in the data (its labels are 0..9)"));
    CU_ASSERT_EQUAL(d.n, 500 - 45);   /* untouched */
    d.label_kind = DL_LABEL_DENSE;
    CU_ASSERT_EQUAL(dl_dataset_subset(&d, cl, 1, 1, 0), -1);
    d.label_kind = DL_LABEL_CLASS;
    dl_dataset_free(&d);
}

void suite_rt_subset(void)
{
    CU_pSuite s = CU_add_suite("rt_subset", NULL, NULL);
    CU_add_test(s, "classes: kept, relabelled in order", test_classes);
    CU_add_test(s, "fraction: per class, seeded", test_fraction);
    CU_add_test(s, "unknown class, dense labels: errors", test_errors);
}
