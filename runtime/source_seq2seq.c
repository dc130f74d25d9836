/* source_seq2seq.c — generated sequence-to-sequence rows (seq2seq_task.c)
 * as a source of named-field batches (source_rows.c): `source`,
 * `target_in`, `target`, so a model's inputs and its loss read them by name
 * like any fields. */
#include "step_internal.h"

int dl_source_seq2seq(dl_source *s, const dl_seq2seq_data *d, int64_t first, int64_t count, int64_t batch, int shuffle,
                      uint64_t seed)
{
    const void *from[3] = {d->source, d->target_in, d->target};
    const dl_field fields[3] = {{.name = "source", .dtype = DL_I32, .rank = 1, .shape = {d->S}},
                                {.name = "target_in", .dtype = DL_I32, .rank = 1, .shape = {d->T}},
                                {.name = "target", .dtype = DL_I32, .rank = 1, .shape = {d->T}}};
    return dl_source_rows(s, "seq2seq", from, fields, 3, d->n_train + d->n_test, first, count, batch, shuffle, seed);
}
