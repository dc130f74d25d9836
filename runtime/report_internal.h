/* report_internal.h — the figures at the end of a run, each with its 95%
 * interval, and the per-class table (report.c); for the training driver. */
#ifndef DLNRT_REPORT_INTERNAL_H
#define DLNRT_REPORT_INTERNAL_H
#include <stdint.h>
#include <stdio.h>

/* What one evaluation over a dataset counted, beyond its mean figures. */
typedef struct dl_eval_tally {
    int64_t samples;                      /* evaluated */
    int64_t scored, correct;              /* rows with a class label; of those, predicted right */
    double loss_sum, loss_sq;             /* sum n * batch mean, sum n * batch mean^2 */
    int64_t batches;
    int64_t *iou;                         /* 4 pixel counts per image (dl_count_iou_image), NULL unless asked */
    int64_t images, iou_cap;              /* images counted; room for */
} dl_eval_tally;

/* Starts a tally for an evaluation of n samples (room for their IoU counts when iou). */
int dl_tally_begin(dl_eval_tally *t, int64_t n, int iou);
void dl_tally_free(dl_eval_tally *t);

typedef struct dl_report {
    const char *eval_name;                /* "test" or "val" */
    unsigned metrics;                     /* DL_METRIC_* */
    const dl_eval_tally *tally;
    const int64_t *confusion;             /* classes x classes, NULL when not a classifier */
    int classes;
    uint64_t seed;                        /* of the bootstrap resamples */
    const char *history;                  /* the history CSV: <stem>.per_class.csv beside it; NULL: none */
} dl_report;

/* Prints the figures block (and the per-class table when asked) to out,
 * writes the per-class CSV beside the history. -1 with an error on a write
 * failure or no memory. */
int dl_report_print(FILE *out, const dl_report *r);

#endif
