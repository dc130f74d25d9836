/* source_text.c — a text corpus as a source of named-field batches for the
 * training driver: the dl_text_batcher behind the dl_source interface, so
 * train.c binds `tokens` and `targets` (and `mlm_mask` for masked-token
 * batches) to a model's steps like any fields. */
#include <string.h>

#include "step_internal.h"

static int64_t text_next(dl_source *s, dl_batch *b) { return dl_text_batcher_next(&s->text, b); }
static void text_reset(dl_source *s) { dl_text_batcher_reset(&s->text); }
static void text_close(dl_source *s) { dl_text_batcher_free(&s->text); }

int dl_source_text(dl_source *s, const int32_t *ids, int64_t n, const dl_data_config *dc, int64_t vocab, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    if (dl_text_batcher_init(&s->text, ids, n, dc->batch, dc->seq_len, dc->contiguous, seed)) return -1;
    /* [MASK] is the id after the vocabulary, so the model's vocabulary dimension is vocab + 1 */
    if (dc->mlm > 0 && dl_text_batcher_set_mlm(&s->text, dc->mlm, (int32_t)vocab)) {
        dl_text_batcher_free(&s->text);
        return -1;
    }
    s->next = text_next;
    s->reset = text_reset;
    s->close = text_close;
    s->batches = dl_text_batcher_batches(&s->text);
    /* the largest batch: `batch` rows of seq_len ids (the bounds of N and T) */
    s->bounds = (dl_batch){.n = dc->batch, .n_fields = 2};
    s->bounds.field[0] = (dl_field){.name = "tokens", .dtype = DL_I32, .rank = 1, .shape = {dc->seq_len}};
    s->bounds.field[1] = (dl_field){.name = "targets", .dtype = DL_I32, .rank = 1, .shape = {dc->seq_len}};
    if (dc->mlm > 0) {
        s->bounds.n_fields = 3;
        s->bounds.field[2] = (dl_field){.name = "mlm_mask", .dtype = DL_F32, .rank = 1, .shape = {dc->seq_len}};
    }
    return 0;
}
