/* source_detect.c — detection_canvas data (detect_canvas.c) as a source of
 * named-field batches — image, grid_target, boxes, classes, box_mask — and
 * the driver's evaluation of a detector on the test canvases: the mean loss
 * and, with metrics = [map], the mAP of its decoded grid output or
 * per-anchor boxes (detect_map.c). The canvases are a table of rows (source_rows.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "step_internal.h"

int dl_source_detect(dl_source *s, const dl_detect_data *d, int64_t first, int64_t count, int64_t batch, int shuffle,
                     uint64_t seed)
{
    const void *from[5] = {d->image, d->grid, d->boxes, d->classes, d->box_mask};
    const dl_field fields[5] = {
        {.name = "image", .dtype = DL_F32, .rank = 3, .shape = {1, d->S, d->S}},
        {.name = "grid_target", .dtype = DL_F32, .rank = 3, .shape = {d->G, d->G, 5 + d->C}},
        {.name = "boxes", .dtype = DL_F32, .rank = 2, .shape = {d->M, 4}},
        {.name = "classes", .dtype = DL_I32, .rank = 1, .shape = {d->M}},
        {.name = "box_mask", .dtype = DL_F32, .rank = 1, .shape = {d->M}},
    };
    return dl_source_rows(s, "detection", from, fields, 5, d->n_train + d->n_test, first, count, batch, shuffle, seed);
}

int dl_evaluate_detect(void *m, const dl_detect_data *d, int64_t batch, dl_stepper *st,
                       int map, dl_detect_scores *r)
{
    dl_source src;
    if (dl_source_detect(&src, d, d->n_train, d->n_test, batch, 0, 0)) return -1;
    const int64_t G = d->G, K = 5 + d->C, per = st->out_numel[0];
    /* the box form (map == 2) has one row [x1, y1, x2, y2, C + 1 logits] per anchor */
    const int64_t A = per / K, room = map == 2 ? A * d->C : G * G;
    dl_detection *dets = malloc((size_t)(room > 0 ? room : 1) * sizeof *dets);
    dl_map_tally t = {.C = d->C};
    double loss_sum = 0;
    int64_t seen = 0, n;
    int rc = -1;
    dl_batch b;
    if (!dets) {
        dl_set_error("evaluation: out of memory");
        goto done;
    }
    /* the decoding reads the first output as the grid target's encoding: it must have its shape */
    if (map == 1 && per != G * G * K) {
        dl_set_error("'map' decodes the model's first output as the grid target, f32[N, %lld, %lld, %lld]; it has %lld "
                     "values per canvas", (long long)G, (long long)G, (long long)K, (long long)per);
        goto done;
    }
    if (map == 2 && per % K != 0) {
        dl_set_error("'map' decodes the model's first output as boxes, f32[N, A, %lld]; it has %lld values per canvas",
                     (long long)K, (long long)per);
        goto done;
    }
    while ((n = src.next(&src, &b)) > 0) {
        dl_clear_error();
        const float loss = dl_stepper_bind(st, &b) ? NAN : dl_stepper_eval(st, m);
        if (isnan(loss) && dl_last_error()[0]) goto done;
        loss_sum += (double)loss * n;
        seen += n;
        if (!map) continue;
        const float *out = st->out[0];
        const float *boxes = b.field[2].data, *mask = b.field[4].data;
        const int32_t *cls = b.field[3].data;
        for (int64_t i = 0; i < n; i++) {
            const int64_t k = map == 2 ? dl_detect_decode_boxes(out + i * per, A, d->C, 0.01f, 0.5f, 100, dets)
                                       : dl_detect_decode(out + i * per, G, d->C, d->S, 0.001f, 0.5f, 100, dets);
            if (k < 0 || dl_map_add(&t, dets, k, boxes + i * d->M * 4, cls + i * d->M, mask + i * d->M, d->M)) goto done;
        }
    }
    r->loss = seen ? loss_sum / seen : NAN;
    r->map50 = r->map50_95 = NAN;
    if (map) dl_map_result(&t, &r->map50, &r->map50_95);
    rc = 0;
done:
    free(dets);
    dl_map_free(&t);
    src.close(&src);
    return rc;
}
