/* source_segment.c — images(path, masks = ...) (data_image.c) as a source of
 * named-field batches, image f32[C, H, W] and label i32[H, W] a sample (a
 * class id per pixel, ignore_index where none), and the driver's evaluation
 * of a segmentation model on the test pairs: the mean loss and the pixel
 * accuracy over the pixels whose label is a class. The pairs are a table of
 * rows (source_rows.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "step_internal.h"

int dl_source_segment(dl_source *s, const dl_segment_data *d, int64_t first, int64_t count, int64_t batch, int shuffle,
                      uint64_t seed)
{
    const void *from[2] = {d->image, d->label};
    const dl_field fields[2] = {
        {.name = "image", .dtype = DL_F32, .rank = 3, .shape = {d->C, d->H, d->W}},
        {.name = "label", .dtype = DL_I32, .rank = 2, .shape = {d->H, d->W}},
    };
    return dl_source_rows(s, "segmentation", from, fields, 2, d->n_train + d->n_test, first, count, batch, shuffle, seed);
}

/* Pixel accuracy reads the first output as logits f32[N, K, H, W] (classes on
 * axis 1, PyTorch's layout): the arg-max class of each labelled pixel. */
int dl_evaluate_segment(void *m, const dl_segment_data *d, int64_t batch, dl_stepper *st, int ignore, double *loss,
                        double *acc)
{
    dl_source src;
    if (dl_source_segment(&src, d, d->n_train, d->n_test, batch, 0, 0)) return -1;
    const int64_t hw = d->H * d->W, per = st->out_numel[0], K = per / hw;
    double loss_sum = 0;
    int64_t seen = 0, right = 0, counted = 0, n;
    int rc = -1;
    dl_batch b;
    while ((n = src.next(&src, &b)) > 0) {
        dl_clear_error();
        const float l = dl_stepper_bind(st, &b) ? NAN : dl_stepper_eval(st, m);
        if (isnan(l) && dl_last_error()[0]) goto done;
        loss_sum += (double)l * n;
        seen += n;
        const int32_t *y = b.field[1].data;
        for (int64_t i = 0; K > 0 && per == K * hw && i < n; i++)
            for (int64_t p = 0; p < hw; p++) {
                const int32_t t = y[i * hw + p];
                if (t == ignore) continue;
                const float *o = (const float *)st->out[0] + i * per + p;
                int64_t best = 0;
                for (int64_t k = 1; k < K; k++)
                    if (o[k * hw] > o[best * hw]) best = k;
                right += best == t;
                counted++;
            }
    }
    *loss = seen ? loss_sum / seen : NAN;
    *acc = counted ? (double)right / counted : NAN;
    rc = 0;
done:
    src.close(&src);
    return rc;
}
