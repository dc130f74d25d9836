/* pictures_internal.h — the pictures of a training run (runtime only): the
 * loss and accuracy curves of a history CSV and the confusion matrix of a
 * classifier, as PNG and SVG, built on plot_internal.h. The driver
 * (train.c) and `dlnc plot` (dl_plot_csv) go through the same code: the
 * driver writes the CSVs and redraws from them. */
#ifndef DLNRT_PICTURES_INTERNAL_H
#define DLNRT_PICTURES_INTERNAL_H
#include <stdint.h>
#include <stdio.h>

#include "numtable_internal.h"
#include "plot_internal.h"

/* "runs/mlp.csv" + ".png" -> "runs/mlp.png" (the .csv is replaced; a name
 * without it keeps its whole name). malloc'd; NULL if out of memory. */
char *dl_sibling_path(const char *csv, const char *suffix);

/* The curves of a history (columns epoch, train_loss, <eval>_loss,
 * <eval>_acc; see progress.c) and of its per-step losses (columns epoch —
 * fractional — and train_loss; steps may be NULL): a loss panel, and an
 * accuracy panel when the history has accuracies. Errors name path (or
 * steps_path) and the line. axes[0], axes[1] receive the panels' axes
 * (axes[1].w = 0 without the accuracy panel); axes may be NULL. */
int dl_history_figure(const char *path, const dl_numtable *h, const char *steps_path, const dl_numtable *steps,
                      const char *title, dl_figure *f, dl_axes *axes);
enum { DL_HISTORY_WIDTH = 800, DL_HISTORY_HEIGHT_1 = 374, DL_HISTORY_HEIGHT_2 = 712 };

/* A confusion matrix table (header true_class,pred_0,...; row i counts the
 * samples of class i by predicted class) as a heat map coloured by the
 * share of each true class. */
int dl_confusion_figure(const char *path, const dl_numtable *t, const char *title, dl_figure *f);
enum { DL_CONFUSION_MAX_DRAWN = 50, DL_CONFUSION_MAX_PRINTED = 20 };
/* The table the driver prints at the end of a run, with each class's recall. */
void dl_confusion_print(FILE *out, const int64_t *counts, int k, const char *eval_name);
int dl_confusion_write_csv(const char *path, const int64_t *counts, int k);

#endif
