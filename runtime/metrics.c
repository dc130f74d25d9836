/* metrics.c — evaluation metrics over a batch of outputs.
 *
 * Exact match is all-or-nothing per sequence over the positions the target
 * defines (PAD after its end is not the model's to predict): the number a
 * sequence-to-sequence task is judged by, where per-token accuracy flatters
 * a model that gets most digits of every answer right and no answer whole.
 *
 * Argmax takes the first maximum (like torch.argmax), so ties are resolved
 * the same way as in a PyTorch reference; NaN logits never win. IoU counts
 * pixels (a segmentation model's logits > 0 against targets > 0.5); the
 * caller sums the counts over the whole evaluation set before dividing, so
 * the metric does not depend on the batch size. */
#include "dlnrt.h"

int dl_argmax(const float *row, int classes)
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

int64_t dl_count_correct_where(const float *logits, const int32_t *labels, const float *weight, int32_t ignore,
                               int64_t n, int classes, int64_t *counted)
{
    int64_t correct = 0, k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] == ignore || (weight && !(weight[i] > 0))) continue;
        k++;
        correct += dl_argmax(logits + i * (int64_t)classes, classes) == labels[i];
    }
    *counted = k;
    return correct;
}

int64_t dl_count_exact_logits(const float *logits, const int32_t *target, int64_t n, int64_t T, int classes)
{
    int64_t exact = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t t = 0;
        const int32_t *y = target + i * T;
        while (t < T && (y[t] == DL_TOK_PAD || dl_argmax(logits + (i * T + t) * classes, classes) == y[t])) t++;
        exact += t == T;
    }
    return exact;
}

int64_t dl_count_exact(const int32_t *pred, const int32_t *target, int64_t n, int64_t T)
{
    int64_t exact = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t t = 0;
        while (t < T && (target[i * T + t] == DL_TOK_PAD || pred[i * T + t] == target[i * T + t])) t++;
        exact += t == T;
    }
    return exact;
}
