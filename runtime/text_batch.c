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
 * because the rows jump back to the parts' starts.
 *
 * Masked-token batches (BERT; dl_text_batcher_set_mlm) keep the same
 * windows but predict the window itself: targets = the window, tokens = the
 * window with a fraction p of its positions selected, 80% of those replaced
 * by [MASK], 10% by a random token and 10% left as they are (so the model
 * cannot learn that an unmasked token is always right), and mlm_mask marks
 * the selected positions for the loss. Each window draws from a generator
 * of its own, seeded by (seed, epoch, its start in the stream), so its
 * masking does not depend on the batch it lands in; a window with no
 * position selected gets one, so no sample is a zero-weight row (and a
 * batch of one never divides by a zero mask sum). */
#include "dlnrt.h"

#include <stdlib.h>
#include <string.h>

/* Rows of a batch at most: a random-window batch never has more than the epoch's windows. */
static int64_t batcher_rows(const dl_text_batcher *b)
{
    return b->contiguous || b->batch < b->windows ? b->batch : b->windows;
}

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
    const int64_t rows = batcher_rows(b);
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

int dl_text_batcher_set_mlm(dl_text_batcher *b, float p, int32_t mask_id)
{
    if (!(p > 0 && p < 1) || mask_id < 1) {
        dl_set_error("masked-token batches: the fraction (%g) must be in (0, 1) and the [MASK] id (%d) >= 1", (double)p,
                     (int)mask_id);
        return -1;
    }
    free(b->mlm_mask);
    b->mlm_mask = malloc((size_t)(batcher_rows(b) * b->seq_len) * sizeof *b->mlm_mask);
    if (!b->mlm_mask) {
        dl_set_error("text batches: out of memory");
        return -1;
    }
    b->mlm = p;
    b->mask_id = mask_id;
    return 0;
}

/* BERT's corruption of one window (tokens, targets already the window itself). */
static void mlm_window(const dl_text_batcher *b, int64_t start, int32_t *tokens, float *mask)
{
    const int64_t T = b->seq_len;
    dl_rng r;
    dl_rng_seed(&r, b->seed ^ (uint64_t)b->epoch * 0x9E3779B97F4A7C15ULL ^ (uint64_t)start * 0xC2B2AE3D27D4EB4FULL);
    int64_t selected = 0;
    for (int64_t t = 0; t < T; t++) mask[t] = dl_rng_uniform(&r) < b->mlm, selected += mask[t] > 0;
    if (selected == 0) mask[dl_rng_next(&r) % (uint64_t)T] = 1;
    for (int64_t t = 0; t < T; t++) {
        if (mask[t] == 0) continue;
        const float v = dl_rng_uniform(&r);
        if (v < 0.8f) tokens[t] = b->mask_id;
        else if (v < 0.9f) tokens[t] = (int32_t)(dl_rng_next(&r) % (uint64_t)b->mask_id);
    }
}

int64_t dl_text_batcher_batches(const dl_text_batcher *b)
{
    return b->contiguous ? b->windows : (b->windows + b->batch - 1) / b->batch;
}

int64_t dl_text_batcher_next(dl_text_batcher *b, dl_batch *out)
{
    const int64_t T = b->seq_len, shift = b->mlm > 0 ? 0 : 1;   /* masked tokens predict the window itself */
    int64_t rows;
    if (b->contiguous) {
        if (b->pos >= b->windows) return out->n = 0;
        rows = b->batch;
        for (int64_t i = 0; i < rows; i++) {
            const int64_t start = i * b->stream_len + b->pos * T;
            memcpy(b->tokens + i * T, b->ids + start, (size_t)T * sizeof *b->ids);
            memcpy(b->targets + i * T, b->ids + start + shift, (size_t)T * sizeof *b->ids);
            if (b->mlm > 0) mlm_window(b, start, b->tokens + i * T, b->mlm_mask + i * T);
        }
        out->reset = b->pos == 0;
        b->pos++;
    } else {
        rows = b->windows - b->pos < b->batch ? b->windows - b->pos : b->batch;
        if (rows <= 0) return out->n = 0;
        for (int64_t i = 0; i < rows; i++) {
            const int64_t start = b->offset + b->order[b->pos + i] * T;
            memcpy(b->tokens + i * T, b->ids + start, (size_t)T * sizeof *b->ids);
            memcpy(b->targets + i * T, b->ids + start + shift, (size_t)T * sizeof *b->ids);
            if (b->mlm > 0) mlm_window(b, start, b->tokens + i * T, b->mlm_mask + i * T);
        }
        out->reset = 1;
        b->pos += rows;
    }
    out->n = rows;
    out->n_fields = 2;
    out->field[0] = (dl_field){.name = "tokens", .dtype = DL_I32, .rank = 1, .shape = {T}, .data = b->tokens};
    out->field[1] = (dl_field){.name = "targets", .dtype = DL_I32, .rank = 1, .shape = {T}, .data = b->targets};
    if (b->mlm > 0) {
        out->n_fields = 3;
        out->field[2] = (dl_field){.name = "mlm_mask", .dtype = DL_F32, .rank = 1, .shape = {T}, .data = b->mlm_mask};
    }
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
    free(b->mlm_mask);
    memset(b, 0, sizeof *b);
}
