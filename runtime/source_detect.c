/* source_detect.c — detection_canvas data (detect_canvas.c) as a source of
 * named-field batches — image, grid_target, boxes, classes, box_mask — and
 * the driver's evaluation of a detector on the test canvases: the mean loss
 * and, with metrics = [map], the mAP of its decoded grid output
 * (detect_map.c). The order of an epoch is the seq2seq source's
 * (dl_source_rows_epoch), so a resumed run replays it by resetting. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "step_internal.h"

/* floats of each field per canvas, in field order (classes counted as floats: same size) */
static void det_sizes(const dl_detect_data *d, int64_t sz[5])
{
    sz[0] = d->S * d->S, sz[1] = d->G * d->G * (5 + d->C), sz[2] = d->M * 4, sz[3] = d->M, sz[4] = d->M;
}

static int64_t det_next(dl_source *s, dl_batch *b)
{
    const dl_detect_data *d = s->det;
    const int64_t batch = s->bounds.n;
    const int64_t n = s->s2s_count - s->s2s_pos < batch ? s->s2s_count - s->s2s_pos : batch;
    if (n <= 0) return b->n = 0;
    int64_t sz[5];
    det_sizes(d, sz);
    const char *from[5] = {(const char *)d->image, (const char *)d->grid, (const char *)d->boxes,
                           (const char *)d->classes, (const char *)d->box_mask};
    *b = s->bounds;
    b->n = n;
    char *to = (char *)s->det_buf;
    for (int f = 0; f < 5; f++) {
        const size_t row = (size_t)sz[f] * 4;   /* f32 and i32 alike */
        for (int64_t i = 0; i < n; i++) {
            const int64_t r = s->s2s_first + s->s2s_order[s->s2s_pos + i];
            memcpy(to + i * row, from[f] + r * row, row);
        }
        b->field[f].data = to;
        to += batch * row;
    }
    s->s2s_pos += n;
    b->reset = 1;
    return n;
}

static void det_close(dl_source *s)
{
    free(s->s2s_order);
    free(s->det_buf);
    s->s2s_order = NULL;
    s->det_buf = NULL;
}

int dl_source_detect(dl_source *s, const dl_detect_data *d, int64_t first, int64_t count, int64_t batch, int shuffle,
                     uint64_t seed)
{
    memset(s, 0, sizeof *s);
    if (count < 1 || batch < 1 || first < 0 || first + count > d->n_train + d->n_test) {
        dl_set_error("detection batches: canvases [%lld, %lld) of %lld, batch %lld", (long long)first,
                     (long long)(first + count), (long long)(d->n_train + d->n_test), (long long)batch);
        return -1;
    }
    if (batch > count) batch = count;
    int64_t sz[5];
    det_sizes(d, sz);
    s->det = d;
    s->s2s_first = first;
    s->s2s_count = count;
    s->s2s_seed = seed;
    s->shuffle_rows = shuffle;
    s->s2s_order = malloc((size_t)count * sizeof *s->s2s_order);
    s->det_buf = malloc((size_t)(batch * (sz[0] + sz[1] + sz[2] + sz[3] + sz[4])) * 4);
    if (!s->s2s_order || !s->det_buf) {
        det_close(s);
        dl_set_error("detection batches: out of memory");
        return -1;
    }
    s->next = det_next;
    s->reset = dl_source_rows_reset;
    s->close = det_close;
    s->batches = (count + batch - 1) / batch;
    s->bounds = (dl_batch){.n = batch, .n_fields = 5};
    s->bounds.field[0] = (dl_field){.name = "image", .dtype = DL_F32, .rank = 3, .shape = {1, d->S, d->S}};
    s->bounds.field[1] = (dl_field){.name = "grid_target", .dtype = DL_F32, .rank = 3, .shape = {d->G, d->G, 5 + d->C}};
    s->bounds.field[2] = (dl_field){.name = "boxes", .dtype = DL_F32, .rank = 2, .shape = {d->M, 4}};
    s->bounds.field[3] = (dl_field){.name = "classes", .dtype = DL_I32, .rank = 1, .shape = {d->M}};
    s->bounds.field[4] = (dl_field){.name = "box_mask", .dtype = DL_F32, .rank = 1, .shape = {d->M}};
    dl_source_rows_epoch(s);
    return 0;
}

int dl_evaluate_detect(void *m, const dl_detect_data *d, int64_t batch, dl_stepper *st,
                       int map, dl_detect_scores *r)
{
    dl_source src;
    if (dl_source_detect(&src, d, d->n_train, d->n_test, batch, 0, 0)) return -1;
    const int64_t G = d->G, K = 5 + d->C;
    dl_detection *dets = malloc((size_t)(G * G) * sizeof *dets);
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
    if (map && st->out_numel[0] != G * G * K) {
        dl_set_error("'map' decodes the model's first output as the grid target, f32[N, %lld, %lld, %lld]; it has %lld "
                     "values per canvas", (long long)G, (long long)G, (long long)K, (long long)st->out_numel[0]);
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
            const int64_t k = dl_detect_decode(out + i * G * G * K, G, d->C, d->S, 0.001f, 0.5f, 100, dets);
            if (dl_map_add(&t, dets, k, boxes + i * d->M * 4, cls + i * d->M, mask + i * d->M, d->M)) goto done;
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
