/* report.c — the end of a run, as a course would have it reported: each
 * evaluation figure with its 95% interval (figures.c says which interval
 * and why), then, when asked, each class's precision, recall and F1.
 *
 *   val figures (95% intervals; 100 samples):
 *     accuracy   95.00%    [88.83%, 97.85%]   Wilson
 *     loss       0.5130    [0.4677, 0.5583]   normal, 7 batch means
 *     f1         0.6416    [0.5969, 0.6790]   bootstrap, 1000 resamples
 *
 * Per-class recall is per-class accuracy (the share of the class's
 * samples predicted as it); the table also goes to <stem>.per_class.csv
 * beside the history, so a spreadsheet can have it. */
#include "report_internal.h"
#include "file_open_internal.h"
#include "pictures_internal.h"
#include "dlnrt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int dl_tally_begin(dl_eval_tally *t, int64_t n, int iou)
{
    int64_t *keep = t->iou, cap = t->iou_cap;
    *t = (dl_eval_tally){.iou = keep, .iou_cap = cap};
    if (!iou) return 0;
    if (n > cap) {
        free(t->iou);
        t->iou = malloc(sizeof *t->iou * 4 * (size_t)n);
        t->iou_cap = t->iou ? n : 0;
        if (!t->iou) { dl_set_error("out of memory for the pixel counts of %lld images", (long long)n); return -1; }
    }
    /* dl_count_iou_image adds to its four counts */
    memset(t->iou, 0, sizeof *t->iou * 4 * (size_t)n);
    return 0;
}

void dl_tally_free(dl_eval_tally *t)
{
    free(t->iou);
    memset(t, 0, sizeof *t);
}

static void dl_figure_line(FILE *out, const char *name, double v, double lo, double hi, int percent, const char *how)
{
    char a[32], b[32], c[32];
    const char *fmt = percent ? "%.2f%%" : "%.4f";
    const double k = percent ? 100 : 1;
    snprintf(a, sizeof a, fmt, k * v);
    snprintf(b, sizeof b, fmt, k * lo);
    snprintf(c, sizeof c, fmt, k * hi);
    if (isnan(lo)) fprintf(out, "  %-10s %-9s %-22s %s\n", name, a, "-", how);
    else fprintf(out, "  %-10s %-9s [%s, %s]%*s %s\n", name, a, b, c, (int)(20 - strlen(b) - strlen(c)), "", how);
}

static int dl_per_class(FILE *out, const dl_report *r)
{
    const int k = r->classes;
    FILE *csv = NULL;
    char *path = NULL;
    if (r->history) {
        path = dl_sibling_path(r->history, ".per_class.csv");
        if (!path || !(csv = dl_fopen_write(path, "w"))) {
            if (!path) dl_set_error("out of memory");
            free(path);
            return -1;
        }
        fprintf(csv, "class,support,predicted,precision,recall,f1\n");
    }
    if (out) fprintf(out, "per class (%s; recall is the class's accuracy):\n  class  support  precision  recall      f1\n",
                     r->eval_name);
    for (int i = 0; i < k; i++) {
        int64_t truth = 0, pred = 0;
        for (int j = 0; j < k; j++) truth += r->confusion[(int64_t)i * k + j], pred += r->confusion[(int64_t)j * k + i];
        double prf[3];
        dl_class_prf(r->confusion[(int64_t)i * k + i], truth, pred, prf);
        if (out && k <= DL_CONFUSION_MAX_PRINTED)
            fprintf(out, "  %5d  %7lld  %9.4f  %6.4f  %6.4f\n", i, (long long)truth, prf[0], prf[1], prf[2]);
        if (csv) fprintf(csv, "%d,%lld,%lld,%.6g,%.6g,%.6g\n", i, (long long)truth, (long long)pred, prf[0], prf[1], prf[2]);
    }
    if (out && k > DL_CONFUSION_MAX_PRINTED) fprintf(out, "  (%d classes: see the per_class CSV)\n", k);
    int rc = 0;
    if (csv && fclose(csv) != 0) { dl_set_error("%s: write failed: %s", path, strerror(errno)); rc = -1; }
    free(path);
    return rc;
}

int dl_report_print(FILE *out, const dl_report *r)
{
    const dl_eval_tally *t = r->tally;
    const unsigned mt = r->metrics;
    if (out && t->samples > 0) {
        fprintf(out, "%s figures (95%% intervals; %lld samples):\n", r->eval_name, (long long)t->samples);
        double lo, hi;
        if ((mt & DL_METRIC_ACCURACY) && t->scored > 0) {
            dl_wilson_interval(t->correct, t->scored, &lo, &hi);
            dl_figure_line(out, "accuracy", (double)t->correct / t->scored, lo, hi, 1, "Wilson");
        }
        char how[64];
        snprintf(how, sizeof how, "normal, %lld batch means", (long long)t->batches);
        dl_mean_interval(t->loss_sum, t->loss_sq, (double)t->samples, t->batches, &lo, &hi);
        dl_figure_line(out, "loss", t->loss_sum / t->samples, lo, hi, 0, t->batches >= 2 ? how : "(one batch: no interval)");
        const unsigned prf_bits = DL_METRIC_PRECISION | DL_METRIC_RECALL | DL_METRIC_F1;
        if ((mt & prf_bits) && r->confusion) {
            double v[3], plo[3], phi[3];
            if (dl_macro_prf(r->confusion, r->classes, v) ||
                dl_macro_prf_bootstrap(r->confusion, r->classes, r->seed, plo, phi))
                return -1;
            static const char *const names[] = {"precision", "recall", "f1"};
            for (int q = 0; q < 3; q++)
                if (mt & (DL_METRIC_PRECISION << q))
                    dl_figure_line(out, names[q], v[q], plo[q], phi[q], 0, "macro, bootstrap of 1000");
        } else if (mt & prf_bits) {
            fprintf(out, "  precision, recall, f1: not measured (a model of one input whose labels are classes has them)\n");
        }
        if ((mt & (DL_METRIC_IOU | DL_METRIC_MEAN_IOU)) && t->iou && t->images > 0) {
            double v[2], ilo[2], ihi[2];
            dl_iou_figures(t->iou, t->images, v);
            if (dl_iou_bootstrap(t->iou, t->images, r->seed, ilo, ihi)) return -1;
            if (mt & DL_METRIC_IOU) dl_figure_line(out, "iou", v[0], ilo[0], ihi[0], 0, "bootstrap of 1000 over images");
            if (mt & DL_METRIC_MEAN_IOU)
                dl_figure_line(out, "mean_iou", v[1], ilo[1], ihi[1], 0, "bootstrap of 1000 over images");
        }
    }
    if ((mt & DL_METRIC_PER_CLASS) && r->confusion) return dl_per_class(out, r);
    return 0;
}
