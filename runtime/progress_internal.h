/* progress_internal.h — the training driver's human-facing output
 * (progress lines, summary, loss-curve CSV); used by train.c only. */
#ifndef DLNRT_PROGRESS_INTERNAL_H
#define DLNRT_PROGRESS_INTERNAL_H
#include <stdint.h>
#include <stdio.h>

typedef struct dl_epoch_stats {
    int epoch, epochs;                    /* 1-based epoch, total */
    double train_loss;
    const char *eval_name;                /* "test", or "val" for a validation split: the label of test_* */
    double test_loss, test_acc;           /* NaN when not measured; acc is a fraction */
    double test_iou;                      /* NaN when not measured */
    double test_exact_teacher, test_exact_greedy; /* seq2seq exact match, NaN when not measured */
    double test_bits_per_dim;             /* test_loss / ln 2 (a likelihood model's NLL per dimension), NaN when not asked */
    double test_map50, test_map50_95;     /* detection mAP@0.5 and mAP@0.5:0.95, NaN when not asked */
    double test_mean_iou;                 /* images(masks = ...): mean IoU over the classes, NaN when not asked */
    double samples_per_s;
    double seconds;                       /* this epoch, training + evaluation */
    double eta_seconds;                   /* estimate for the remaining epochs */
} dl_epoch_stats;

/* "1.5s", "2m03s", "1h02m" */
void dl_format_duration(double seconds, char *buf, size_t cap);
/* epoch  3/10  loss 0.3012  test_loss 0.3311  test_acc 88.12%  41234 samples/s  1.5s  ETA 10.5s */
void dl_progress_epoch(FILE *out, const dl_epoch_stats *s);
/* The history CSV's optional columns, after `seconds`, in this order. */
enum {
    DL_HIST_EXACT = 1,    /* test_exact_teacher,test_exact_greedy: a seq2seq_task measuring exact_match */
    DL_HIST_BPD = 2,      /* test_bits_per_dim: metrics = [bits_per_dim] */
    DL_HIST_IOU = 4,      /* test_iou: metrics = [iou] on dense labels */
    DL_HIST_MEAN_IOU = 8, /* test_mean_iou: metrics = [mean_iou] on images(path, masks = ...) */
    DL_HIST_MAP = 16      /* test_map50,test_map50_95: metrics = [map] on detection_canvas */
};
/* "epoch,train_loss,test_loss,test_acc,seconds" (val_loss, val_acc for a
 * validation split), then the columns of `cols`; one row per epoch, every
 * column of `cols` in each ("nan" where an epoch has no value). */
FILE *dl_history_open(const char *path, const char *eval_name, int keep_rows, unsigned cols);
void dl_history_row(FILE *f, unsigned cols, const dl_epoch_stats *s);

/* log_every: a line every `every` steps with the mean training loss of the
 * steps since the last line and the rate of the latest step. */
typedef struct dl_step_log {
    int every;                            /* 0: no step lines */
    double sum;                           /* losses since the last line */
    int count;
} dl_step_log;
/* step  1200  epoch 3  loss 0.4123  lr 0.000875 */
void dl_step_log_add(dl_step_log *l, FILE *out, int64_t step, int epoch, float loss, float lr);

/* The in-epoch progress line (progress_live.c): on stderr, redrawn in place
 * on a terminal, a plain line every `every` seconds elsewhere:
 *   [epoch 2/10] 120/469  loss 0.4123  10240 samples/s  ETA 4.1s */
typedef struct dl_live {
    FILE *out;                            /* NULL: --quiet */
    int tty;                              /* redraw in place */
    double every;                         /* not a terminal: seconds between lines */
    double t0, last;                      /* the epoch's start, the last line's time */
    int first;                            /* no line yet this epoch (a terminal draws the first step) */
    int drawn;                            /* a redrawn line is on the screen (erase before printing) */
    int epoch, epochs;
    int64_t total;                        /* steps in this epoch, 0 when unknown */
} dl_live;
void dl_live_init(dl_live *l, FILE *out, int quiet, double every);
/* the steps an epoch of `batches` will take, --max-steps (0: none) having
 * `done` of them behind it; 0 when the source does not know its length */
int64_t dl_live_total(int64_t batches, int64_t max_steps, int64_t done);
void dl_live_epoch(dl_live *l, int epoch, int epochs, int64_t total);
/* k steps and `samples` samples done this epoch; loss: "loss 0.4123" */
void dl_live_step(dl_live *l, int64_t k, int64_t samples, const char *loss);
/* erase a redrawn line before anything else goes to the terminal */
void dl_live_clear(dl_live *l);
#endif
