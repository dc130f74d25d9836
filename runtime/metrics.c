/* metrics.c — evaluation metrics over a batch of outputs.
 *
 * Argmax takes the first maximum (like torch.argmax), so ties are resolved
 * the same way as in a PyTorch reference; NaN logits never win. */
#include "dlnrt.h"

int64_t dl_count_correct(const float *logits, const int32_t *labels, int64_t n, int classes)
{
    int64_t correct = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *row = logits + i * (int64_t)classes;
        int best = 0;
        for (int j = 1; j < classes; j++)
            if (row[j] > row[best] || row[best] != row[best]) best = j;
        correct += best == labels[i];
    }
    return correct;
}
