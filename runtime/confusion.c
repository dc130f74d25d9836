/* confusion.c — a classifier's confusion matrix: the table printed at the
 * end of a run, its CSV, and its heat map.
 *
 * Rows are true classes, columns predicted classes (scikit-learn's and
 * PyTorch-metrics' convention). Cells are coloured by their share of the
 * row — the fraction of class i predicted as j — so a rare class reads as
 * clearly as a common one; the counts are written in the cells when they
 * fit. */
#include "pictures_internal.h"
#include "file_open_internal.h"
#include "dlnrt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void dl_confusion_print(FILE *out, const int64_t *counts, int k, const char *eval_name)
{
    int64_t most = 0;
    for (int i = 0; i < k * k; i++) most = counts[i] > most ? counts[i] : most;
    int w = snprintf(NULL, 0, "%lld", (long long)most) + 2;
    if (w < 6) w = 6;
    fprintf(out, "confusion matrix (%s; rows: true class, columns: predicted class):\n", eval_name);
    fprintf(out, "%6s", "");
    for (int j = 0; j < k; j++) fprintf(out, "%*d", w, j);
    fprintf(out, "   recall\n");
    for (int i = 0; i < k; i++) {
        int64_t row = 0;
        fprintf(out, "%6d", i);
        for (int j = 0; j < k; j++) {
            fprintf(out, "%*lld", w, (long long)counts[i * k + j]);
            row += counts[i * k + j];
        }
        if (row) fprintf(out, "   %5.1f%%\n", 100.0 * counts[i * k + i] / row);
        else fprintf(out, "       -\n");
    }
}

int dl_confusion_write_csv(const char *path, const int64_t *counts, int k)
{
    FILE *f = dl_fopen_write(path, "w");
    if (!f) return -1;
    fprintf(f, "true_class");
    for (int j = 0; j < k; j++) fprintf(f, ",pred_%d", j);
    fputc('\n', f);
    for (int i = 0; i < k; i++) {
        fprintf(f, "%d", i);
        for (int j = 0; j < k; j++) fprintf(f, ",%lld", (long long)counts[i * k + j]);
        fputc('\n', f);
    }
    if (fclose(f) != 0) { dl_set_error("%s: write failed: %s", path, strerror(errno)); return -1; }
    return 0;
}

/* White to dark blue through four steps (as matplotlib's "Blues"). */
static uint32_t dl_blues(double p)
{
    static const uint32_t stops[] = {0xf7fbff, 0xc6dbef, 0x6baed6, 0x2171b5, 0x08306b};
    p = p < 0 ? 0 : p > 1 ? 1 : p;
    double s = p * 4;
    int i = s >= 4 ? 3 : (int)s;
    double t = s - i;
    uint32_t a = stops[i], b = stops[i + 1], c = 0;
    for (int sh = 0; sh < 24; sh += 8)
        c |= (uint32_t)lround((a >> sh & 255) * (1 - t) + (b >> sh & 255) * t) << sh;
    return c;
}

/* Checks the table is a square matrix of counts in class order. */
static int dl_confusion_check(const char *path, const dl_numtable *t, int *k)
{
    *k = t->ncols - 1;
    if (t->ncols < 2 || strcmp(t->names[0], "true_class")) {
        dl_set_error("%s:1: not a confusion matrix: the header should start 'true_class,pred_0'", path);
        return -1;
    }
    for (int j = 0; j < *k; j++) {
        char want[32];
        snprintf(want, sizeof want, "pred_%d", j);
        if (strcmp(t->names[j + 1], want)) {
            dl_set_error("%s:1: column %d is '%s'; expected '%s'", path, j + 2, t->names[j + 1], want);
            return -1;
        }
    }
    if (t->nrows != *k) {
        dl_set_error("%s: %d rows for %d classes; a confusion matrix is square", path, t->nrows, *k);
        return -1;
    }
    for (int i = 0; i < *k; i++)
        for (int j = 0; j <= *k; j++) {
            double v = dl_numtable_at(t, i, j), want = j == 0 ? i : v;
            if (!(v >= 0 && v < 9e15 && v == floor(v)) || v != want) {
                dl_set_error("%s:%d: column %d: %s", path, t->line[i], j + 1,
                             j == 0 ? "the true class should be the row's index" : "a count is a whole number >= 0");
                return -1;
            }
        }
    if (*k > DL_CONFUSION_MAX_DRAWN) {
        dl_set_error("%s: %d classes are more than a picture shows (at most %d); the CSV has the counts", path, *k,
                     DL_CONFUSION_MAX_DRAWN);
        return -1;
    }
    return 0;
}

int dl_confusion_figure(const char *path, const dl_numtable *t, const char *title, dl_figure *f)
{
    dl_fig_init(f, 0, 0);
    int k;
    if (dl_confusion_check(path, t, &k)) return -1;
    /* cells of 10 to 56 pixels, the matrix at least 280 (its scale's label is as long) */
    int cell = k * 56 <= 560 ? 56 : 560 / k < 10 ? 10 : 560 / k;
    if (k * cell < 280) cell = (280 + k - 1) / k;
    const float left = 100, top = 90, size = (float)(k * cell);
    const float bar_x = left + size + 28, bar_w = 16;
    dl_fig_init(f, (int)(bar_x + bar_w + 90), (int)(top + size + 84));
    dl_fig_rect(f, 0, 0, (float)f->width, (float)f->height, 0xffffff);

    double total = 0, right = 0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) total += dl_numtable_at(t, i, j + 1), right += i == j ? dl_numtable_at(t, i, j + 1) : 0;
    dl_fig_text(f, f->width / 2.0f, 36, 21, DL_ANCHOR_MIDDLE, 0, 0x111111, "%s", title);
    dl_fig_text(f, f->width / 2.0f, 62, 14, DL_ANCHOR_MIDDLE, 0, 0x444444, "%.0f samples, accuracy %.2f%%", total,
                total > 0 ? 100 * right / total : 0);
    for (int i = 0; i < k; i++) {
        double row = 0;
        for (int j = 0; j < k; j++) row += dl_numtable_at(t, i, j + 1);
        for (int j = 0; j < k; j++) {
            double v = dl_numtable_at(t, i, j + 1), p = row > 0 ? v / row : 0;
            float x = left + j * cell, y = top + i * cell;
            dl_fig_rect(f, x, y, (float)cell, (float)cell, dl_blues(p));
            char num[32];
            snprintf(num, sizeof num, "%.0f", v);
            float size14 = dl_text_width(num, 14), size7 = dl_text_width(num, 7);
            float ts = size14 <= cell - 6 && cell >= 24 ? 14 : size7 <= cell - 4 ? 7 : 0;
            if (ts > 0)
                dl_fig_text(f, x + cell / 2.0f, y + (cell + ts) / 2.0f, ts, DL_ANCHOR_MIDDLE, 0,
                            p > 0.45 ? 0xffffff : 0x222222, "%s", num);
        }
    }
    float frame[10] = {left - 0.5f, top - 0.5f, left + size + 0.5f, top - 0.5f, left + size + 0.5f,
                       top + size + 0.5f, left - 0.5f, top + size + 0.5f, left - 0.5f, top - 0.5f};
    dl_fig_line(f, frame, 5, 1, 0, 0x555555);
    /* class numbers: every one while they fit, else every few */
    int every = cell >= 20 ? 1 : (20 + cell - 1) / cell;
    for (int i = 0; i < k; i += every) {
        float c = i * cell + cell / 2.0f;
        dl_fig_text(f, left + c, top + size + 23, 14, DL_ANCHOR_MIDDLE, 0, 0x222222, "%d", i);
        dl_fig_text(f, left - 9, top + c + 7, 14, DL_ANCHOR_END, 0, 0x222222, "%d", i);
    }
    dl_fig_text(f, left + size / 2, top + size + 60, 14, DL_ANCHOR_MIDDLE, 0, 0x222222, "predicted class");
    dl_fig_text(f, left - 50, top + size / 2, 14, DL_ANCHOR_MIDDLE, 1, 0x222222, "true class");
    /* the colour scale, 100% at the top */
    for (int s = 0; s < 100; s++)
        dl_fig_rect(f, bar_x, top + size * s / 100.0f, bar_w, size / 100.0f + 0.5f, dl_blues(1 - (s + 0.5) / 100));
    float bar[10] = {bar_x - 0.5f, top - 0.5f, bar_x + bar_w + 0.5f, top - 0.5f, bar_x + bar_w + 0.5f,
                     top + size + 0.5f, bar_x - 0.5f, top + size + 0.5f, bar_x - 0.5f, top - 0.5f};
    dl_fig_line(f, bar, 5, 1, 0, 0x555555);
    for (int q = 0; q <= 4; q++)
        dl_fig_text(f, bar_x + bar_w + 6, top + size * (1 - q / 4.0f) + 7, 14, DL_ANCHOR_START, 0, 0x222222, "%d%%",
                    25 * q);
    dl_fig_text(f, bar_x + bar_w + 78, top + size / 2, 14, DL_ANCHOR_MIDDLE, 1, 0x222222, "share of the true class");
    return 0;
}
