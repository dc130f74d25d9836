/* text_batch.c — batches for next-token prediction over one stream of ids:
 * sample i is tokens = ids[s .. s+T) and targets = ids[s+1 .. s+T+1).
 *
 * Random windows: an epoch cuts the stream into W = (n - 1) / T windows at
 * an offset drawn from (seed, epoch) in [0, slack] (slack = n - 1 - W*T, the
 * ids the grid leaves over), so successive epochs see the text cut in
 * different places; the windows are visited in a Fisher–Yates order from the
 * same draw. Nothing is carried between windows: every batch says reset.
 *
 * Contiguous streams (truncated backpropagation through time): the stream is
 * split into `batch` consecutive parts of L = (n - 1) / batch ids; row i of
 * batch k is part i's ids [k*T, k*T + T), so the state a recurrent model
 * ends a row with is exactly the state the same row of the next batch
 * starts from. An epoch has L / T batches, all full; the first says reset,
 * because the rows jump back to the parts' starts. */
#include "dlnrt.h"

#include <stdlib.h>
#include <string.h>

/* The draws of one epoch: its own generator, so epoch e's batches do not
 * depend on how many batches were taken from the epochs before. */
static void dl_text_batcher_epoch(dl_text_batcher *b)
{
    b->pos = 0;
    if (b->contiguous) return;
    dl_rng rng;
    dl_rng_seed(&rng, b->seed ^ (uint64_t)b->epoch * 0x9E3779B97F4A7C15ULL);   /* dl_rng_seed mixes the bits */
    int64_t slack = b->n - 1 - b->windows * b->seq_len;
    b->offset = (int64_t)(dl_rng_next(&rng) % (uint64_t)(slack + 1));
    for (int64_t i = 0; i < b->windows; i++) b->order[i] = i;
    for (int64_t i = b->windows - 1; i > 0; i--) {
        int64_t j = (int64_t)(dl_rng_next(&rng) % (uint64_t)(i + 1)), t = b->order[i];
        b->order[i] = b->order[j];
        b->order[j] = t;
    }
}

int dl_text_batcher_init(dl_text_batcher *b, const int32_t *ids, int64_t n, int64_t batch, int64_t seq_len,
                         int contiguous, uint64_t seed)
{
    memset(b, 0, sizeof *b);
    if (batch < 1 || seq_len < 1 || batch > (1 << 20) || seq_len > (1 << 20)) {
        dl_set_error("text batches: batch (%lld) and seq_len (%lld) must be in [1, 1048576]", (long long)batch,
                     (long long)seq_len);
        return -1;
    }
    const int64_t need = contiguous ? batch * seq_len + 1 : seq_len + 1;
    if (!ids || n < need) {
        dl_set_error("text batches: %lld tokens are too few; %s need at least %lld", (long long)n,
                     contiguous ? "contiguous batches (batch x seq_len + 1)" : "windows of seq_len + 1", (long long)need);
        return -1;
    }
    *b = (dl_text_batcher){.ids = ids, .n = n, .batch = batch, .seq_len = seq_len, .contiguous = contiguous != 0,
                           .seed = seed};
    if (b->contiguous) {
        b->stream_len = (n - 1) / batch;
        b->windows = b->stream_len / seq_len;
    } else {
        b->windows = (n - 1) / seq_len;
        b->order = malloc((size_t)b->windows * sizeof *b->order);
    }
    /* A random-window batch never has more rows than the epoch has windows. */
    const int64_t rows = b->contiguous || batch < b->windows ? batch : b->windows;
    b->tokens = malloc((size_t)(rows * seq_len) * sizeof *b->tokens);
    b->targets = malloc((size_t)(rows * seq_len) * sizeof *b->targets);
    if ((!b->contiguous && !b->order) || !b->tokens || !b->targets) {
        dl_text_batcher_free(b);
        dl_set_error("text batches: out of memory");
        return -1;
    }
    dl_text_batcher_epoch(b);
    return 0;
}

int64_t dl_text_batcher_batches(const dl_text_batcher *b)
{
    return b->contiguous ? b->windows : (b->windows + b->batch - 1) / b->batch;
}

int64_t dl_text_batcher_next(dl_text_batcher *b, dl_batch *out)
{
    const int64_t T = b->seq_len;
    int64_t rows;
    if (b->contiguous) {
        if (b->pos >= b->windows) return out->n = 0;
        rows = b->batch;
        for (int64_t i = 0; i < rows; i++) {
            const int32_t *s = b->ids + i * b->stream_len + b->pos * T;
            memcpy(b->tokens + i * T, s, (size_t)T * sizeof *s);
            memcpy(b->targets + i * T, s + 1, (size_t)T * sizeof *s);
        }
        out->reset = b->pos == 0;
        b->pos++;
    } else {
        rows = b->windows - b->pos < b->batch ? b->windows - b->pos : b->batch;
        if (rows <= 0) return out->n = 0;
        for (int64_t i = 0; i < rows; i++) {
            const int32_t *s = b->ids + b->offset + b->order[b->pos + i] * T;
            memcpy(b->tokens + i * T, s, (size_t)T * sizeof *s);
            memcpy(b->targets + i * T, s + 1, (size_t)T * sizeof *s);
        }
        out->reset = 1;
        b->pos += rows;
    }
    out->n = rows;
    out->n_fields = 2;
    out->field[0] = (dl_field){.name = "tokens", .dtype = DL_I32, .rank = 1, .shape = {T}, .data = b->tokens};
    out->field[1] = (dl_field){.name = "targets", .dtype = DL_I32, .rank = 1, .shape = {T}, .data = b->targets};
    return rows;
}

void dl_text_batcher_reset(dl_text_batcher *b)
{
    b->epoch++;
    dl_text_batcher_epoch(b);
}

void dl_text_batcher_free(dl_text_batcher *b)
{
    if (!b) return;
    free(b->order);
    free(b->tokens);
    free(b->targets);
    memset(b, 0, sizeof *b);
}
