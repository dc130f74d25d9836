/* source_rows.c — a table of rows as a source of named-field batches: the
 * generated sources (seq2seq_task, detection_canvas) keep every field of
 * every row in memory, so a batch is rows copied in the epoch's order. The
 * order comes from its own generator (seed, epoch), as the text batcher's
 * does, so a resumed run replays it by resetting. */
#include <stdlib.h>
#include <string.h>

#include "step_internal.h"

/* Bytes of one row of a field: every value is 4 bytes (f32 or i32). */
static size_t row_bytes(const dl_field *f)
{
    size_t e = 4;
    for (int d = 0; d < f->rank; d++) e *= (size_t)f->shape[d];
    return e;
}

void dl_rows_shuffle(dl_source *s)
{
    dl_rng r;
    dl_rng_seed(&r, s->rows_seed ^ (uint64_t)s->rows_epoch * 0x9E3779B97F4A7C15ULL);
    for (int64_t i = s->rows_count - 1; i > 0; i--) {
        const int64_t j = (int64_t)(dl_rng_next(&r) % (uint64_t)(i + 1)), t = s->rows_order[i];
        s->rows_order[i] = s->rows_order[j];
        s->rows_order[j] = t;
    }
}

static void rows_epoch(dl_source *s)
{
    s->rows_pos = 0;
    for (int64_t i = 0; i < s->rows_count; i++) s->rows_order[i] = i;
    if (s->shuffle_rows) dl_rows_shuffle(s);
}

static void rows_reset(dl_source *s)
{
    s->rows_epoch++;
    rows_epoch(s);
}

static int64_t rows_next(dl_source *s, dl_batch *b)
{
    const int64_t batch = s->bounds.n;
    const int64_t n = s->rows_count - s->rows_pos < batch ? s->rows_count - s->rows_pos : batch;
    if (n <= 0) return b->n = 0;
    *b = s->bounds;
    b->n = n;
    char *to = s->rows_buf;
    for (int f = 0; f < b->n_fields; f++) {
        const size_t row = row_bytes(&b->field[f]);
        for (int64_t i = 0; i < n; i++) {
            const int64_t r = s->rows_first + s->rows_order[s->rows_pos + i];
            memcpy(to + (size_t)i * row, s->rows_from[f] + (size_t)r * row, row);
        }
        b->field[f].data = to;
        to += (size_t)batch * row;
    }
    s->rows_pos += n;
    b->reset = 1;   /* rows are unrelated: no state carries over */
    return n;
}

static void rows_close(dl_source *s)
{
    free(s->rows_order);
    free(s->rows_buf);
    s->rows_order = NULL;
    s->rows_buf = NULL;
}

int dl_source_rows(dl_source *s, const char *what, const void *const *from, const dl_field *fields, int n_fields,
                   int64_t total, int64_t first, int64_t count, int64_t batch, int shuffle, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    if (count < 1 || batch < 1 || first < 0 || first + count > total || n_fields < 1 || n_fields > 8) {
        dl_set_error("%s batches: rows [%lld, %lld) of %lld, batch %lld", what, (long long)first,
                     (long long)(first + count), (long long)total, (long long)batch);
        return -1;
    }
    if (batch > count) batch = count;   /* the largest batch there will be: the bound of N */
    size_t per_row = 0;
    s->bounds = (dl_batch){.n = batch, .n_fields = n_fields};
    for (int f = 0; f < n_fields; f++) {
        s->bounds.field[f] = fields[f];
        s->bounds.field[f].data = NULL;
        s->rows_from[f] = from[f];
        per_row += row_bytes(&fields[f]);
    }
    s->rows_first = first;
    s->rows_count = count;
    s->rows_seed = seed;
    s->shuffle_rows = shuffle;
    s->rows_order = malloc((size_t)count * sizeof *s->rows_order);
    s->rows_buf = malloc((size_t)batch * per_row);
    if (!s->rows_order || !s->rows_buf) {
        rows_close(s);
        dl_set_error("%s batches: out of memory", what);
        return -1;
    }
    s->next = rows_next;
    s->reset = rows_reset;
    s->close = rows_close;
    s->batches = (count + batch - 1) / batch;
    rows_epoch(s);
    return 0;
}
