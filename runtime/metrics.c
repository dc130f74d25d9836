/* metrics.c — evaluation metrics over a batch of outputs.
 *
 * Argmax takes the first maximum (like torch.argmax), so ties are resolved
 * the same way as in a PyTorch reference; NaN logits never win. IoU counts
 * pixels (a segmentation model's logits > 0 against targets > 0.5); the
 * caller sums the counts over the whole evaluation set before dividing, so
 * the metric does not depend on the batch size. */
#include "dlnrt.h"

static int dl_argmax(const float *row, int classes)
{
    int best = 0;
    for (int j = 1; j < classes; j++)
        if (row[j] > row[best] || row[best] != row[best]) best = j;
    return best;
}

int64_t dl_count_correct(const float *logits, const int32_t *labels, int64_t n, int classes)
{
    int64_t correct = 0;
    for (int64_t i = 0; i < n; i++) correct += dl_argmax(logits + i * (int64_t)classes, classes) == labels[i];
    return correct;
}

void dl_count_confusion(const float *logits, const int32_t *labels, int64_t n, int classes, int64_t *counts)
{
    for (int64_t i = 0; i < n; i++)
        if (labels[i] >= 0 && labels[i] < classes)
            counts[(int64_t)labels[i] * classes + dl_argmax(logits + i * (int64_t)classes, classes)]++;
}

void dl_count_iou(const float *logits, const float *target, int64_t n, int64_t *inter, int64_t *uni)
{
    int64_t in = 0, un = 0;
    for (int64_t i = 0; i < n; i++) {
        int p = logits[i] > 0.0f, t = target[i] > 0.5f;
        in += p & t;
        un += p | t;
    }
    *inter += in;
    *uni += un;
}
