/* fuzz_text.c — libFuzzer harness for the text sources: the bytes, after one
 * byte of options, are a token file (dl_load_tokens), a character corpus
 * (dl_load_text) and a stored vocabulary (dl_vocab_from_meta):
 *
 *   bits 0-1 vocab 0 (max + 1), 1, 10, 1000   bits 2-3 val_split 0, 0.1, 0.5, 0.9
 *   bit 4 contiguous batches                  bits 5-7 seq_len 1 2 3 4 5 8 16 64
 *
 * What loads is batched for one epoch (batch 3) and checked: every id within
 * the vocabulary, targets the tokens shifted by one, the batch count
 * matching dl_text_batcher_batches; then for one epoch of masked-token
 * batches (mlm 0.15, [MASK] = the vocabulary size): targets within the
 * vocabulary, tokens within it or [MASK], the mask 0 or 1 with at least one
 * 1 per row, unselected tokens equal to their targets. A violation aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "scratch.h"

static void check(int ok)
{
    if (!ok) abort();
}

static void check_ids(const int32_t *ids, int64_t n, int64_t vocab)
{
    for (int64_t i = 0; i < n; i++) check(ids[i] >= 0 && ids[i] < vocab);
}

static void batch_epoch(const int32_t *ids, int64_t n, int64_t vocab, int64_t T, int contiguous)
{
    dl_text_batcher b;
    if (dl_text_batcher_init(&b, ids, n, 3, T, contiguous, 7) != 0) return;
    dl_batch bt;
    int64_t m, batches = 0;
    while ((m = dl_text_batcher_next(&b, &bt)) > 0) {
        const int32_t *tok = bt.field[0].data, *tgt = bt.field[1].data;
        check(m <= 3 && bt.n == m && bt.n_fields == 2);
        check_ids(tok, m * T, vocab);
        check_ids(tgt, m * T, vocab);
        for (int64_t r = 0; r < m; r++)
            for (int64_t t = 0; t + 1 < T; t++) check(tgt[r * T + t] == tok[r * T + t + 1]);
        batches++;
    }
    check(batches == dl_text_batcher_batches(&b));
    dl_text_batcher_free(&b);
    if (contiguous || vocab > 2147483646 || dl_text_batcher_init(&b, ids, n, 3, T, 0, 7) != 0) return;
    check(dl_text_batcher_set_mlm(&b, 0.15f, (int32_t)vocab) == 0);
    while ((m = dl_text_batcher_next(&b, &bt)) > 0) {
        const int32_t *tok = bt.field[0].data, *tgt = bt.field[1].data;
        const float *mask = bt.field[2].data;
        check(bt.n_fields == 3);
        check_ids(tok, m * T, vocab + 1);
        check_ids(tgt, m * T, vocab);
        for (int64_t r = 0; r < m; r++) {
            int64_t selected = 0;
            for (int64_t t = 0; t < T; t++) {
                const int64_t k = r * T + t;
                check(mask[k] == 0.0f || mask[k] == 1.0f);
                check(mask[k] == 1.0f || tok[k] == tgt[k]);
                selected += mask[k] == 1.0f;
            }
            check(selected >= 1);
        }
    }
    dl_text_batcher_free(&b);
}

static void check_data(const dl_text_data *d, int64_t T, int contiguous)
{
    check(d->n_train >= 2 && d->vocab_size >= 1);
    check_ids(d->train, d->n_train, d->vocab_size);
    check_ids(d->val, d->n_val, d->vocab_size);
    batch_epoch(d->train, d->n_train, d->vocab_size, T, contiguous);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const int64_t vocabs[4] = {0, 1, 10, 1000};
    static const double splits[4] = {0, 0.1, 0.5, 0.9};
    static const int64_t seq_lens[8] = {1, 2, 3, 4, 5, 8, 16, 64};
    const int64_t vocab = vocabs[data[0] & 3], T = seq_lens[data[0] >> 5];
    const double split = splits[data[0] >> 2 & 3];
    const int contiguous = data[0] >> 4 & 1;
    const char *path = scratch_write("tokens.txt", data + 1, size - 1);
    dl_text_data d;
    if (dl_load_tokens(path, vocab, split, &d) == 0) {
        check(vocab == 0 || d.vocab_size == vocab);
        check_data(&d, T, contiguous);
        dl_text_data_free(&d);
    }
    if (dl_load_text(path, split, &d) == 0) {
        check(d.has_vocab && d.vocab_size == d.vocab.size && d.fallback < d.vocab.size);
        check_data(&d, T, contiguous);
        dl_text_data_free(&d);
    }
    char *meta = malloc(size);
    memcpy(meta, data + 1, size - 1);
    meta[size - 1] = '\0';
    dl_vocab v;
    if (dl_vocab_from_meta(meta, &v) == 0) {
        char back[DL_VOCAB_META_MAX];
        dl_vocab_to_meta(&v, back);
        check(strcmp(back, meta) == 0);   /* only the canonical form is accepted */
    }
    free(meta);
    return 0;
}
