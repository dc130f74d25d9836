/* progress.c — what a person watching a training run sees: one line per
 * epoch with the numbers that matter (train loss, test loss and accuracy,
 * throughput, time, ETA), and an optional CSV of the same numbers that a
 * plotting tool (or a spreadsheet) turns into loss curves. Kept apart from
 * the epoch loop so the format can change without touching training logic. */
#include "progress_internal.h"
#include "file_open_internal.h"
#include "dlnrt.h"

#include <errno.h>
#include <math.h>
#include <string.h>

void dl_format_duration(double s, char *buf, size_t cap)
{
    if (!(s >= 0)) s = 0;
    if (s < 60) snprintf(buf, cap, "%.1fs", s);
    else if (s < 3600) snprintf(buf, cap, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else snprintf(buf, cap, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

void dl_progress_epoch(FILE *out, const dl_epoch_stats *s)
{
    char took[32], eta[32];
    int width = snprintf(NULL, 0, "%d", s->epochs);
    dl_format_duration(s->seconds, took, sizeof took);
    dl_format_duration(s->eta_seconds, eta, sizeof eta);
    fprintf(out, "epoch %*d/%d  loss %.4f", width + 1, s->epoch, s->epochs, s->train_loss);
    const char *ev = s->eval_name ? s->eval_name : "test";
    if (!isnan(s->test_loss)) fprintf(out, "  %s_loss %.4f", ev, s->test_loss);
    if (!isnan(s->test_acc)) fprintf(out, "  %s_acc %.2f%%", ev, 100.0 * s->test_acc);
    if (!isnan(s->test_iou)) fprintf(out, "  %s_iou %.4f", ev, s->test_iou);
    if (!isnan(s->test_mean_iou)) fprintf(out, "  %s_mean_iou %.4f", ev, s->test_mean_iou);
    if (!isnan(s->test_exact_teacher)) fprintf(out, "  %s_exact_teacher %.2f%%", ev, 100.0 * s->test_exact_teacher);
    if (!isnan(s->test_exact_greedy)) fprintf(out, "  %s_exact_greedy %.2f%%", ev, 100.0 * s->test_exact_greedy);
    if (!isnan(s->test_bits_per_dim)) fprintf(out, "  %s_bits_per_dim %.4f", ev, s->test_bits_per_dim);
    if (!isnan(s->test_map50)) fprintf(out, "  %s_map50 %.4f  %s_map50_95 %.4f", ev, s->test_map50, ev, s->test_map50_95);
    fprintf(out, "  %.0f samples/s  %s", s->samples_per_s, took);
    if (s->epoch < s->epochs) fprintf(out, "  ETA %s", eta);
    fputc('\n', out);
    fflush(out);
}

FILE *dl_history_open(const char *path, const char *eval_name, int keep_rows, unsigned cols)
{
    /* a resumed run continues the curve; keep_rows = the epochs already in it */
    FILE *f = dl_fopen_write(path, keep_rows > 0 ? "a" : "w");   /* names path */
    if (!f) return NULL;
    if (keep_rows <= 0) {
        /* after seconds, so that the first five columns are the same for every run */
        const char *ev = eval_name;
        fprintf(f, "epoch,train_loss,%s_loss,%s_acc,seconds", ev, ev);
        if (cols & DL_HIST_EXACT) fprintf(f, ",%s_exact_teacher,%s_exact_greedy", ev, ev);
        if (cols & DL_HIST_BPD) fprintf(f, ",%s_bits_per_dim", ev);
        if (cols & DL_HIST_IOU) fprintf(f, ",%s_iou", ev);
        if (cols & DL_HIST_MEAN_IOU) fprintf(f, ",%s_mean_iou", ev);
        if (cols & DL_HIST_MAP) fprintf(f, ",%s_map50,%s_map50_95", ev, ev);
        fputc('\n', f);
    }
    fflush(f);
    return f;
}

void dl_history_row(FILE *f, unsigned cols, const dl_epoch_stats *s)
{
    fprintf(f, "%d,%.6g,%.6g,%.6g,%.3f", s->epoch, s->train_loss, s->test_loss, s->test_acc, s->seconds);
    if (cols & DL_HIST_EXACT) fprintf(f, ",%.6g,%.6g", s->test_exact_teacher, s->test_exact_greedy);
    if (cols & DL_HIST_BPD) fprintf(f, ",%.6g", s->test_bits_per_dim);
    if (cols & DL_HIST_IOU) fprintf(f, ",%.6g", s->test_iou);
    if (cols & DL_HIST_MEAN_IOU) fprintf(f, ",%.6g", s->test_mean_iou);
    if (cols & DL_HIST_MAP) fprintf(f, ",%.6g,%.6g", s->test_map50, s->test_map50_95);
    fputc('\n', f);
    fflush(f);   /* a run stopped early still leaves its curve */
}

void dl_step_log_add(dl_step_log *l, FILE *out, int64_t step, int epoch, float loss, float lr)
{
    if (l->every <= 0) return;
    l->sum += loss;
    if (++l->count < l->every) return;
    fprintf(out, "step %lld  epoch %d  loss %.4f  lr %.6g\n", (long long)step, epoch, l->sum / l->count, (double)lr);
    fflush(out);
    l->sum = 0, l->count = 0;
}
