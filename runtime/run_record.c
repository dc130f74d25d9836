/* run_record.c — the per-step losses, the confusion matrix and the pictures
 * of a training run (see run_record_internal.h).
 *
 * Files, for --history runs/mlp.csv: runs/mlp.steps.csv (step, fractional
 * epoch, loss: written as the run goes, so a killed run keeps it),
 * runs/mlp.png and .svg (the curves, redrawn during the run), and for a
 * classifier runs/mlp.confusion.csv, .png and .svg at the end. The pictures
 * are drawn from the CSVs by dl_plot_csv, exactly as `dlnc plot` redraws
 * them. */
#include "run_record_internal.h"
#include "file_open_internal.h"
#include "pictures_internal.h"
#include "dlnrt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double dl_record_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int dl_record_open(dl_run_record *r, const char *history, int classes)
{
    memset(r, 0, sizeof *r);
    r->history = history;
    if (classes > 0 && classes <= DL_CONFUSION_MAX_CLASSES) {
        if (!(r->confusion = calloc((size_t)classes * (size_t)classes, sizeof *r->confusion))) {
            dl_set_error("out of memory (confusion matrix of %d classes)", classes);
            return -1;
        }
        r->classes = classes;
    }
    if (!history) return 0;
    if (!(r->steps_path = dl_sibling_path(history, ".steps.csv"))) { dl_set_error("out of memory"); return -1; }
    if (!(r->steps = dl_fopen_write(r->steps_path, "w"))) return -1;   /* names the path */
    fprintf(r->steps, "step,epoch,train_loss\n");
    /* an earlier run's confusion matrix must not pass for this one's */
    char *old[3] = {dl_sibling_path(history, ".confusion.csv"), dl_sibling_path(history, ".confusion.png"),
                    dl_sibling_path(history, ".confusion.svg")};
    for (int i = 0; i < 3; i++) {
        if (old[i]) remove(old[i]);
        free(old[i]);
    }
    return 0;
}

void dl_record_step(dl_run_record *r, int64_t step, double epoch, float loss)
{
    if (r->steps) fprintf(r->steps, "%lld,%.6f,%.6g\n", (long long)step, epoch, loss);
}

static int dl_record_draw(dl_run_record *r)
{
    if (fflush(r->steps) != 0) {
        dl_set_error("%s: write failed: %s", r->steps_path, strerror(errno));
        return -1;
    }
    r->last_drawn = dl_record_now();
    r->undrawn = 0;
    return dl_plot_csv(r->history, NULL);
}

int dl_record_epoch(dl_run_record *r)
{
    if (!r->history) return 0;
    r->undrawn++;
    if (r->last_drawn > 0 && dl_record_now() - r->last_drawn < 2.0) return fflush(r->steps) == 0 ? 0 : -1;
    return dl_record_draw(r);
}

int dl_record_finish(dl_run_record *r, const char *eval_name, int quiet)
{
    if (r->history && r->undrawn && dl_record_draw(r)) return -1;
    if (!r->confusion) return 0;
    if (!quiet && r->classes <= DL_CONFUSION_MAX_PRINTED) dl_confusion_print(stdout, r->confusion, r->classes, eval_name);
    if (!r->history) return 0;
    char *csv = dl_sibling_path(r->history, ".confusion.csv");
    int rc = !csv ? (dl_set_error("out of memory"), -1) : dl_confusion_write_csv(csv, r->confusion, r->classes);
    /* a matrix too big to draw still has its CSV */
    if (rc == 0 && r->classes <= DL_CONFUSION_MAX_DRAWN) rc = dl_plot_csv(csv, NULL);
    free(csv);
    return rc;
}

void dl_record_close(dl_run_record *r)
{
    if (r->steps) {
        if (r->undrawn) {
            char keep[1024];
            snprintf(keep, sizeof keep, "%s", dl_last_error());
            dl_record_draw(r);
            dl_set_error("%s", keep);
        }
        fclose(r->steps);
    }
    free(r->steps_path);
    free(r->confusion);
    memset(r, 0, sizeof *r);
}
