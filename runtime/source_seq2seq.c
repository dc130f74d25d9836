/* source_seq2seq.c — generated sequence-to-sequence rows (seq2seq_task.c)
 * as a source of named-field batches: `source`, `target_in`, `target`, so a
 * model's inputs and its loss read them by name like any fields. The order
 * of an epoch comes from its own generator (seed, epoch), as the text
 * batcher's does, so a resumed run replays it by resetting. */
#include <stdlib.h>
#include <string.h>

#include "step_internal.h"

void dl_source_rows_epoch(dl_source *s)
{
    s->s2s_pos = 0;
    for (int64_t i = 0; i < s->s2s_count; i++) s->s2s_order[i] = i;
    if (!s->shuffle_rows) return;
    dl_rng r;
    dl_rng_seed(&r, s->s2s_seed ^ (uint64_t)s->s2s_epoch * 0x9E3779B97F4A7C15ULL);
    for (int64_t i = s->s2s_count - 1; i > 0; i--) {
        const int64_t j = (int64_t)(dl_rng_next(&r) % (uint64_t)(i + 1)), t = s->s2s_order[i];
        s->s2s_order[i] = s->s2s_order[j];
        s->s2s_order[j] = t;
    }
}

static int64_t s2s_next(dl_source *s, dl_batch *b)
{
    const dl_seq2seq_data *d = s->s2s_data;
    const int64_t S = d->S, T = d->T, batch = s->bounds.n;
    const int64_t n = s->s2s_count - s->s2s_pos < batch ? s->s2s_count - s->s2s_pos : batch;
    if (n <= 0) return b->n = 0;
    int32_t *src = s->s2s_buf, *tin = src + batch * S, *tgt = tin + batch * T;
    for (int64_t i = 0; i < n; i++) {
        const int64_t row = s->s2s_first + s->s2s_order[s->s2s_pos + i];
        memcpy(src + i * S, d->source + row * S, (size_t)S * sizeof *src);
        memcpy(tin + i * T, d->target_in + row * T, (size_t)T * sizeof *tin);
        memcpy(tgt + i * T, d->target + row * T, (size_t)T * sizeof *tgt);
    }
    s->s2s_pos += n;
    *b = s->bounds;
    b->n = n;
    b->field[0].data = src;
    b->field[1].data = tin;
    b->field[2].data = tgt;
    b->reset = 1;   /* sequences are unrelated */
    return n;
}

void dl_source_rows_reset(dl_source *s)
{
    s->s2s_epoch++;
    dl_source_rows_epoch(s);
}

static void s2s_close(dl_source *s)
{
    free(s->s2s_order);
    free(s->s2s_buf);
    s->s2s_order = NULL;
    s->s2s_buf = NULL;
}

int dl_source_seq2seq(dl_source *s, const dl_seq2seq_data *d, int64_t first, int64_t count, int64_t batch, int shuffle,
                      uint64_t seed)
{
    memset(s, 0, sizeof *s);
    if (count < 1 || batch < 1 || first < 0 || first + count > d->n_train + d->n_test) {
        dl_set_error("seq2seq batches: rows [%lld, %lld) of %lld, batch %lld", (long long)first,
                     (long long)(first + count), (long long)(d->n_train + d->n_test), (long long)batch);
        return -1;
    }
    if (batch > count) batch = count;   /* the largest batch there will be: the bound of N */
    s->s2s_data = d;
    s->s2s_first = first;
    s->s2s_count = count;
    s->s2s_seed = seed;
    s->shuffle_rows = shuffle;
    s->s2s_order = malloc((size_t)count * sizeof *s->s2s_order);
    s->s2s_buf = malloc((size_t)(batch * (d->S + 2 * d->T)) * sizeof *s->s2s_buf);
    if (!s->s2s_order || !s->s2s_buf) {
        s2s_close(s);
        dl_set_error("seq2seq batches: out of memory");
        return -1;
    }
    s->next = s2s_next;
    s->reset = dl_source_rows_reset;
    s->close = s2s_close;
    s->batches = (count + batch - 1) / batch;
    s->bounds = (dl_batch){.n = batch, .n_fields = 3};
    s->bounds.field[0] = (dl_field){.name = "source", .dtype = DL_I32, .rank = 1, .shape = {d->S}};
    s->bounds.field[1] = (dl_field){.name = "target_in", .dtype = DL_I32, .rank = 1, .shape = {d->T}};
    s->bounds.field[2] = (dl_field){.name = "target", .dtype = DL_I32, .rank = 1, .shape = {d->T}};
    dl_source_rows_epoch(s);
    return 0;
}
