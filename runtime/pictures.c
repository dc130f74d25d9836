/* pictures.c — from a CSV the driver wrote to its picture: dl_plot_csv,
 * what `dlnc plot` calls and what the driver calls after writing its files.
 *
 * The kind of table is read from its header: "epoch,train_loss,..." is a
 * history (drawn with the per-step losses in <stem>.steps.csv when that
 * file exists), "true_class,pred_0,..." a confusion matrix. Without an
 * output name both a PNG and an SVG are written beside the CSV. */
#include "pictures_internal.h"
#include "dlnrt.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int dl_ends_with(const char *s, const char *end)
{
    size_t n = strlen(s), k = strlen(end);
    return n >= k && strcmp(s + n - k, end) == 0;
}

char *dl_sibling_path(const char *csv, const char *suffix)
{
    size_t stem = strlen(csv) - (dl_ends_with(csv, ".csv") ? 4 : 0);
    char *p = malloc(stem + strlen(suffix) + 1);
    if (p) {
        memcpy(p, csv, stem);
        strcpy(p + stem, suffix);
    }
    return p;
}

/* "runs/mlp.confusion.csv" -> "mlp" */
static void dl_run_name(const char *csv, char *out, size_t cap)
{
    const char *base = strrchr(csv, '/');
    base = base ? base + 1 : csv;
    size_t n = strlen(base);
    if (dl_ends_with(base, ".csv")) n -= 4;
    if (n > 10 && !strncmp(base + n - 10, ".confusion", 10)) n -= 10;
    snprintf(out, cap, "%.*s", (int)n, base);
}

/* The history's figure, with its per-step losses when they are beside it. */
static int dl_history_from(const char *csv, const dl_numtable *h, dl_figure *f)
{
    char name[128], title[160];
    dl_run_name(csv, name, sizeof name);
    snprintf(title, sizeof title, "%s: training curves", name);
    char *steps_path = dl_sibling_path(csv, ".steps.csv");
    if (!steps_path) { dl_set_error("out of memory"); return -1; }
    dl_numtable steps;
    int have_steps = access(steps_path, F_OK) == 0, rc = -1;
    if (!have_steps || dl_numtable_read(steps_path, &steps) == 0) {
        rc = dl_history_figure(csv, h, steps_path, have_steps ? &steps : NULL, title, f, NULL);
        if (have_steps) dl_numtable_free(&steps);
    }
    free(steps_path);
    return rc;
}

int dl_plot_csv(const char *csv, const char *out)
{
    dl_numtable t;
    if (dl_numtable_read(csv, &t)) return -1;
    dl_figure f;
    dl_fig_init(&f, 0, 0);
    int rc = -1;
    if (t.ncols > 0 && !strcmp(t.names[0], "true_class")) {
        char name[128], title[160];
        dl_run_name(csv, name, sizeof name);
        snprintf(title, sizeof title, "%s: confusion matrix", name);
        if (dl_confusion_figure(csv, &t, title, &f)) goto done;
    } else if (dl_numtable_col(&t, "step") >= 0) {
        char *h = dl_ends_with(csv, ".steps.csv") ? strndup(csv, strlen(csv) - 10) : NULL;
        dl_set_error("%s: this is a run's per-step losses; plot its history%s%s%s, which draws them too", csv,
                     h ? " (" : "", h ? h : "", h ? ".csv)" : "");
        free(h);
        goto done;
    } else if (dl_numtable_col(&t, "epoch") >= 0) {
        if (dl_history_from(csv, &t, &f)) goto done;
    } else {
        dl_set_error("%s:1: neither a training history (epoch,train_loss,...) nor a confusion matrix "
                     "(true_class,pred_0,...)", csv);
        goto done;
    }
    if (out) {
        rc = dl_fig_save(&f, out);
    } else {
        char *png = dl_sibling_path(csv, ".png"), *svg = dl_sibling_path(csv, ".svg");
        if (!png || !svg) dl_set_error("out of memory");
        else rc = dl_fig_save(&f, png) || dl_fig_save(&f, svg) ? -1 : 0;
        free(png);
        free(svg);
    }
done:
    dl_fig_free(&f);
    dl_numtable_free(&t);
    return rc;
}
