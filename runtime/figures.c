/* figures.c — the figures a classifier or a segmentation model is judged
 * by, and how sure each one is.
 *
 * The test set is a sample of the data the model will meet, so every
 * figure at the end of a run comes with a 95% interval:
 *
 *   accuracy, IoU (pixels)  Wilson score interval of k successes in n trials
 *                           (accuracy: samples; better than the normal
 *                           approximation near 0 and 1, never outside [0, 1])
 *   precision, recall, F1,  percentile bootstrap over the samples: the
 *   IoU, mean IoU           confusion matrix (or the per-image pixel counts)
 *                           resampled with replacement, 1000 times, seeded,
 *                           the 2.5th and 97.5th percentiles of the figure;
 *                           the classes averaged over are the evaluation's
 *                           (a class a resample misses scores 0). IoU's
 *                           pixels are not independent trials, its images are
 *   loss                    normal approximation over the batch means: each
 *                           batch's mean loss is one observation (the eval
 *                           step returns means, not per-sample losses)
 *
 * Macro averages follow scikit-learn (average='macro', zero_division=0):
 * per class, precision = tp / predicted, recall = tp / true, F1 =
 * 2PR / (P + R), 0 when a denominator is 0; averaged with equal weight
 * over the classes that occur in the truth or the predictions (sklearn's
 * unique_labels), so a class absent from both does not pull the mean down. */
#include "dlnrt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { DL_BOOT_REPS = 1000 };
static const double dl_z95 = 1.959963984540054;

void dl_wilson_interval(int64_t k, int64_t n, double *lo, double *hi)
{
    if (n <= 0) { *lo = *hi = NAN; return; }
    const double z = dl_z95, p = (double)k / n, z2n = z * z / n;
    const double center = (p + z2n / 2) / (1 + z2n);
    const double half = z * sqrt(p * (1 - p) / n + z2n / (4.0 * n)) / (1 + z2n);
    *lo = fmax(0.0, center - half);
    *hi = fmin(1.0, center + half);
}

void dl_mean_interval(double sum, double sum_sq, double weight, int64_t count, double *lo, double *hi)
{
    *lo = *hi = NAN;
    if (count < 2 || !(weight > 0)) return;
    /* weighted mean and variance of the observations; their standard error with count of them */
    const double mean = sum / weight, var = fmax(0.0, sum_sq / weight - mean * mean) * count / (count - 1);
    const double half = dl_z95 * sqrt(var / count);
    *lo = mean - half;
    *hi = mean + half;
}

/* Per-class sums of a confusion matrix: tp, true (row) and predicted (column) counts. */
static void dl_class_sums(const int64_t *counts, int k, int64_t *tp, int64_t *truth, int64_t *pred)
{
    memset(truth, 0, sizeof *truth * (size_t)k);
    memset(pred, 0, sizeof *pred * (size_t)k);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            truth[i] += counts[(int64_t)i * k + j];
            pred[j] += counts[(int64_t)i * k + j];
        }
    for (int i = 0; i < k; i++) tp[i] = counts[(int64_t)i * k + i];
}

void dl_class_prf(int64_t tp, int64_t truth, int64_t pred, double prf[3])
{
    prf[0] = pred ? (double)tp / pred : 0;
    prf[1] = truth ? (double)tp / truth : 0;
    prf[2] = prf[0] + prf[1] > 0 ? 2 * prf[0] * prf[1] / (prf[0] + prf[1]) : 0;
}

/* The mean over the classes marked in `present` (NULL: those occurring in truth or prediction). */
static void dl_macro_from_sums(const int64_t *tp, const int64_t *truth, const int64_t *pred, int k,
                               const unsigned char *present, double prf[3])
{
    double sum[3] = {0, 0, 0}, c[3];
    int counted = 0;
    for (int i = 0; i < k; i++) {
        if (present ? !present[i] : !truth[i] && !pred[i]) continue;
        counted++;
        dl_class_prf(tp[i], truth[i], pred[i], c);
        for (int m = 0; m < 3; m++) sum[m] += c[m];
    }
    for (int m = 0; m < 3; m++) prf[m] = counted ? sum[m] / counted : NAN;
}

int dl_macro_prf(const int64_t *counts, int k, double prf[3])
{
    int64_t *s = malloc(sizeof *s * 3 * (size_t)(k > 0 ? k : 1));
    if (!s) { dl_set_error("out of memory for %d classes", k); return -1; }
    dl_class_sums(counts, k, s, s + k, s + 2 * k);
    dl_macro_from_sums(s, s + k, s + 2 * k, k, NULL, prf);
    free(s);
    return 0;
}

static int dl_cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The 2.5th and 97.5th percentiles of v[0..n) (sorted in place). */
static void dl_percentiles(double *v, int n, double *lo, double *hi)
{
    qsort(v, (size_t)n, sizeof *v, dl_cmp_double);
    *lo = v[(int)floor(0.025 * (n - 1))];
    *hi = v[(int)ceil(0.975 * (n - 1))];
}

/* The sample at rank r of a population whose cumulative counts are cum[0..m). */
static int64_t dl_cell_of(const int64_t *cum, int64_t m, int64_t r)
{
    int64_t a = 0, b = m - 1;
    while (a < b) {
        int64_t mid = (a + b) / 2;
        if (cum[mid] > r) b = mid;
        else a = mid + 1;
    }
    return a;
}

int dl_macro_prf_bootstrap(const int64_t *counts, int k, uint64_t seed, double lo[3], double hi[3])
{
    for (int m = 0; m < 3; m++) lo[m] = hi[m] = NAN;
    /* the non-empty cells, so a resample costs the samples, not k * k */
    int64_t cells = 0, n = 0;
    for (int64_t c = 0; c < (int64_t)k * k; c++) cells += counts[c] > 0;
    if (cells == 0) return 0;
    int64_t *cum = malloc(sizeof *cum * (size_t)cells), *cell = malloc(sizeof *cell * (size_t)cells);
    int64_t *s = malloc(sizeof *s * 3 * (size_t)k);
    double *rep = malloc(sizeof *rep * 3 * DL_BOOT_REPS);
    unsigned char *present = malloc((size_t)k);
    if (!cum || !cell || !s || !rep || !present) {
        free(cum), free(cell), free(s), free(rep), free(present);
        dl_set_error("out of memory for the bootstrap of %d classes", k);
        return -1;
    }
    for (int64_t c = 0, m = 0; c < (int64_t)k * k; c++)
        if (counts[c] > 0) n += counts[c], cum[m] = n, cell[m++] = c;
    /* the classes are the evaluation's: one missing from a resample counts as 0, not as absent */
    dl_class_sums(counts, k, s, s + k, s + 2 * k);
    for (int i = 0; i < k; i++) present[i] = s[k + i] > 0 || s[2 * k + i] > 0;
    dl_rng rng;
    dl_rng_seed(&rng, seed);
    for (int r = 0; r < DL_BOOT_REPS; r++) {
        memset(s, 0, sizeof *s * 3 * (size_t)k);
        for (int64_t t = 0; t < n; t++) {
            const int64_t c = cell[dl_cell_of(cum, cells, (int64_t)(dl_rng_next(&rng) % (uint64_t)n))];
            const int i = (int)(c / k), j = (int)(c % k);
            s[i] += i == j, s[k + i]++, s[2 * k + j]++;
        }
        double prf[3];
        dl_macro_from_sums(s, s + k, s + 2 * k, k, present, prf);
        for (int m = 0; m < 3; m++) rep[m * DL_BOOT_REPS + r] = prf[m];
    }
    for (int m = 0; m < 3; m++) dl_percentiles(rep + m * DL_BOOT_REPS, DL_BOOT_REPS, &lo[m], &hi[m]);
    free(cum), free(cell), free(s), free(rep), free(present);
    return 0;
}

/* IoU of the foreground (a pixel with logit > 0, a target > 0.5) and the
 * mean of the foreground's and the background's, from pixel counts summed
 * over images: [0] fg intersection, [1] fg union, [2] bg intersection,
 * [3] bg union. A class absent from both prediction and target (union 0)
 * is left out of the mean, as sklearn's jaccard_score(average='macro')
 * leaves out labels that occur nowhere; the foreground IoU alone is 1 then
 * (nothing to find, nothing found), as the `iou` metric has always been. */
static void dl_iou_of(const int64_t *sum, double iou[2])
{
    const int classes = (sum[1] > 0) + (sum[3] > 0);
    const double fg = sum[1] ? (double)sum[0] / sum[1] : 0, bg = sum[3] ? (double)sum[2] / sum[3] : 0;
    iou[0] = sum[1] ? fg : 1;
    iou[1] = classes ? (fg + bg) / classes : NAN;
}

void dl_iou_figures(const int64_t *per_image, int64_t n, double iou[2])
{
    int64_t sum[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n; i++)
        for (int q = 0; q < 4; q++) sum[q] += per_image[4 * i + q];
    dl_iou_of(sum, iou);
}

int dl_iou_bootstrap(const int64_t *per_image, int64_t n, uint64_t seed, double lo[2], double hi[2])
{
    lo[0] = lo[1] = hi[0] = hi[1] = NAN;
    if (n <= 0) return 0;
    double *rep = malloc(sizeof *rep * 2 * DL_BOOT_REPS);
    if (!rep) { dl_set_error("out of memory for the bootstrap"); return -1; }
    dl_rng rng;
    dl_rng_seed(&rng, seed);
    for (int r = 0; r < DL_BOOT_REPS; r++) {
        int64_t sum[4] = {0, 0, 0, 0};
        for (int64_t t = 0; t < n; t++) {
            const int64_t *img = per_image + 4 * (int64_t)(dl_rng_next(&rng) % (uint64_t)n);
            for (int q = 0; q < 4; q++) sum[q] += img[q];
        }
        double iou[2];
        dl_iou_of(sum, iou);
        rep[r] = iou[0], rep[DL_BOOT_REPS + r] = iou[1];
    }
    for (int m = 0; m < 2; m++) dl_percentiles(rep + m * DL_BOOT_REPS, DL_BOOT_REPS, &lo[m], &hi[m]);
    free(rep);
    return 0;
}

void dl_count_iou_image(const float *logits, const float *target, int64_t n, int64_t *counts)
{
    for (int64_t i = 0; i < n; i++) {
        const int p = logits[i] > 0.0f, t = target[i] > 0.5f;
        counts[0] += p & t, counts[1] += p | t;
        counts[2] += !p & !t, counts[3] += !p | !t;
    }
}
