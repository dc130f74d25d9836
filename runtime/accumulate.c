/* accumulate.c — gradient accumulation (a train section's `accumulate = k`).
 *
 * A model compiled with accumulate = k > 1 calls dl_grads_accumulate after
 * each batch's backward (and dl_grads_reduce): the batch's gradients are added
 * to a buffer the model owns, and the optimizer runs only when the group of k
 * batches is complete, on the group's sum divided by k — PyTorch's
 *     (loss / k).backward(); if (i + 1) % k == 0: opt.step(); opt.zero_grad()
 * The driver closes a short group at the end of an epoch (Lightning's
 * accumulate_grad_batches steps it too, its sum divided by k as well) through
 * the model's end_group, which sets the flag *close this call reads. */
#include <stdlib.h>

#include "dlnrt.h"

int dl_grads_accumulate(float **acc, int64_t *count, int *close_group, float *grads, int64_t n, int k)
{
    const int close = *close_group;
    *close_group = 0;
    if (!*acc && !(*acc = calloc((size_t)(n > 0 ? n : 1), sizeof(float)))) {
        dl_set_error("gradient accumulation: cannot allocate %lld floats", (long long)n);
        return -1;
    }
    float *a = *acc;
    if (*count == 0)
        for (int64_t i = 0; i < n; i++) a[i] = grads[i];
    else
        for (int64_t i = 0; i < n; i++) a[i] += grads[i];
    if (++*count < k && !close) return 0;
    const float kf = (float)k;
    for (int64_t i = 0; i < n; i++) grads[i] = a[i] / kf;
    *count = 0;
    return 1;
}
