/* plot_history.c — the loss and accuracy curves of a training run.
 *
 * Loss panel: the training loss of every step (thin, light: it is noisy),
 * the epoch's mean training loss and the evaluation loss at each epoch's
 * end. Accuracy panel (when the history has accuracies): the evaluation
 * accuracy per epoch, in percent. The x axis is the epoch for both, so a
 * step sits at its fractional epoch and the panels line up. The evaluation
 * set's name comes from the header (val_loss for a validation split,
 * test_loss for a test set).
 *
 * The loss axis covers every per-epoch value but only the lowest 98% of the
 * per-step losses: the first steps of a run are several times the rest and
 * would flatten the part worth reading; their curve is clipped at the top. */
#include "pictures_internal.h"
#include "dlnrt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DL_STEP_COLOR 0xa6cbe6u
#define DL_TRAIN_COLOR 0x1f77b4u
#define DL_EVAL_COLOR 0xe8710au

enum { DL_LEFT = 100, DL_RIGHT = 28, DL_TOP = 78, DL_PANEL_H = 230, DL_PANEL_GAP = 108 };

/* The evaluation columns: the one "<name>_loss" other than train_loss, and
 * "<name>_acc" beside it (either may be absent: -1). */
static void dl_eval_columns(const dl_numtable *h, char *name, size_t cap, int *loss, int *acc)
{
    *loss = *acc = -1;
    name[0] = '\0';
    for (int i = 0; i < h->ncols; i++) {
        size_t n = strlen(h->names[i]);
        if (n > 5 && !strcmp(h->names[i] + n - 5, "_loss") && strcmp(h->names[i], "train_loss") && *loss < 0) {
            *loss = i;
            snprintf(name, cap, "%.*s", (int)(n - 5), h->names[i]);
        }
    }
    if (*loss >= 0) {
        char acc_name[80];
        snprintf(acc_name, sizeof acc_name, "%s_acc", name);
        *acc = dl_numtable_col(h, acc_name);
    }
}

/* Column col of t as an array (times scale); NULL if out of memory. */
static double *dl_column(const dl_numtable *t, int col, double scale)
{
    double *v = malloc((size_t)(t->nrows ? t->nrows : 1) * sizeof *v);
    for (int i = 0; v && i < t->nrows; i++) v[i] = col < 0 ? NAN : dl_numtable_at(t, i, col) * scale;
    return v;
}

static void dl_extend(const double *v, int n, double *lo, double *hi)
{
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) *lo = fmin(*lo, v[i]), *hi = fmax(*hi, v[i]);
}

static int dl_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Widens [lo, hi] to the finite values of v up to its 98th percentile. */
static int dl_extend_most(const double *v, int n, double *lo, double *hi)
{
    double *s = malloc((size_t)(n ? n : 1) * sizeof *s);
    if (!s) return -1;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) s[m++] = v[i];
    if (m > 0) {
        qsort(s, (size_t)m, sizeof *s, dl_cmp_double);
        *lo = fmin(*lo, s[0]);
        *hi = fmax(*hi, s[(int)(0.98 * (m - 1))]);
    }
    free(s);
    return 0;
}

/* Epochs are whole numbers on a run of two or more: no tick at 2.5. */
static void dl_epoch_ticks(double xmax, dl_ticks *t)
{
    dl_nice_ticks(0, xmax, 9, t);
    if (xmax >= 2 && t->step < 1) {
        t->step = 1;
        t->lo = 0;
        t->hi = ceil(xmax - 1e-9);
        t->n = (int)t->hi + 1;
        t->decimals = 0;
    }
}

static int dl_require(const char *path, const dl_numtable *t, const char *col, const char *what)
{
    if (dl_numtable_col(t, col) >= 0) return 0;
    char header[200] = "";
    for (int i = 0; i < t->ncols && strlen(header) < 150; i++)
        snprintf(header + strlen(header), sizeof header - strlen(header), "%s%s", i ? "," : "", t->names[i]);
    dl_set_error("%s:1: not %s: no '%s' column (the header is '%s')", path, what, col, header);
    return -1;
}

int dl_history_figure(const char *path, const dl_numtable *h, const char *steps_path, const dl_numtable *steps,
                      const char *title, dl_figure *f, dl_axes *axes)
{
    dl_fig_init(f, 0, 0);   /* freeable whatever happens */
    if (dl_require(path, h, "epoch", "a training history") || dl_require(path, h, "train_loss", "a training history"))
        return -1;
    if (steps && (dl_require(steps_path, steps, "epoch", "a per-step loss file") ||
                  dl_require(steps_path, steps, "train_loss", "a per-step loss file")))
        return -1;
    if (h->nrows == 0) {
        dl_set_error("%s: the history has no epochs yet", path);
        return -1;
    }
    const int ce = dl_numtable_col(h, "epoch");
    for (int i = 1; i < h->nrows; i++)
        if (!(dl_numtable_at(h, i, ce) > dl_numtable_at(h, i - 1, ce))) {
            dl_set_error("%s:%d: epoch %g follows epoch %g; the epochs must increase", path, h->line[i],
                         dl_numtable_at(h, i, ce), dl_numtable_at(h, i - 1, ce));
            return -1;
        }
    char eval[64];
    int c_eval_loss, c_eval_acc;
    dl_eval_columns(h, eval, sizeof eval, &c_eval_loss, &c_eval_acc);

    const int n = h->nrows, ns = steps ? steps->nrows : 0;
    double *ep = dl_column(h, ce, 1), *tl = dl_column(h, dl_numtable_col(h, "train_loss"), 1);
    double *el = dl_column(h, c_eval_loss, 1), *ea = dl_column(h, c_eval_acc, 100);
    double *sx = steps ? dl_column(steps, dl_numtable_col(steps, "epoch"), 1) : NULL;
    double *sl = steps ? dl_column(steps, dl_numtable_col(steps, "train_loss"), 1) : NULL;
    int rc = -1;
    if (!ep || !tl || !el || !ea || (steps && (!sx || !sl))) { dl_set_error("%s: out of memory", path); goto done; }

    double alo = INFINITY, ahi = -INFINITY;
    dl_extend(ea, n, &alo, &ahi);
    const int acc_panel = alo <= ahi;
    dl_fig_init(f, DL_HISTORY_WIDTH, acc_panel ? DL_HISTORY_HEIGHT_2 : DL_HISTORY_HEIGHT_1);
    dl_fig_rect(f, 0, 0, (float)f->width, (float)f->height, 0xffffff);
    dl_fig_text(f, f->width / 2.0f, 40, 21, DL_ANCHOR_MIDDLE, 0, 0x111111, "%s", title);

    double xmax = 0, llo = INFINITY, lhi = -INFINITY;
    dl_extend(ep, n, &xmax, &xmax);
    dl_extend(sx, ns, &xmax, &xmax);
    dl_extend(tl, n, &llo, &lhi);
    dl_extend(el, n, &llo, &lhi);
    if (dl_extend_most(sl, ns, &llo, &lhi)) { dl_set_error("%s: out of memory", path); goto done; }
    dl_axes loss = {.x = DL_LEFT, .y = DL_TOP, .w = DL_HISTORY_WIDTH - DL_LEFT - DL_RIGHT, .h = DL_PANEL_H};
    dl_epoch_ticks(xmax, &loss.xt);
    dl_nice_ticks(llo, lhi, 6, &loss.yt);
    /* the curves, with their legend entries; the axis is raised to make room for the legend;
     * a marker per epoch while they stay apart */
    const float marker = n <= 40 ? 3.5f : 0;
    char eval_label[96];
    snprintf(eval_label, sizeof eval_label, "%s loss", eval);
    double elo = INFINITY, ehi = -INFINITY;
    dl_extend(el, n, &elo, &ehi);
    dl_legend_entry le[3];
    dl_series ls[3];
    int nc = 0;
    if (ns > 0) {
        ls[nc] = (dl_series){sx, sl, ns};
        le[nc++] = (dl_legend_entry){"train loss, each step", DL_STEP_COLOR, 1, 0, 0};
    }
    ls[nc] = (dl_series){ep, tl, n};
    le[nc++] = (dl_legend_entry){"train loss, epoch mean", DL_TRAIN_COLOR, 2, 0, marker};
    if (elo <= ehi) {
        ls[nc] = (dl_series){ep, el, n};
        le[nc++] = (dl_legend_entry){eval_label, DL_EVAL_COLOR, 2, 6, marker};
    }
    dl_axes_headroom(&loss, le, nc, ls, nc);
    dl_axes_draw(f, &loss, "Loss", "epoch", "loss");
    for (int i = 0; i < nc; i++)
        dl_axes_series(f, &loss, ls[i].xs, ls[i].ys, ls[i].n, le[i].color, le[i].width, le[i].dash, le[i].marker);
    dl_legend(f, &loss, le, nc);
    if (axes) axes[0] = loss, axes[1] = (dl_axes){0};

    if (acc_panel) {
        dl_axes acc = loss;
        acc.y = DL_TOP + DL_PANEL_H + DL_PANEL_GAP;
        dl_nice_ticks(alo, fmin(ahi, 100), 6, &acc.yt);
        dl_axes_draw(f, &acc, "Accuracy", "epoch", "accuracy (%)");
        dl_axes_series(f, &acc, ep, ea, n, DL_EVAL_COLOR, 2, 6, marker);
        char acc_label[96];
        snprintf(acc_label, sizeof acc_label, "%s accuracy", eval);
        dl_legend_entry ae = {acc_label, DL_EVAL_COLOR, 2, 6, marker};
        dl_legend(f, &acc, &ae, 1);
        if (axes) axes[1] = acc;
    }
    rc = 0;
done:
    free(ep), free(tl), free(el), free(ea), free(sx), free(sl);
    return rc;
}
