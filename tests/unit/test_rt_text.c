/* test_rt_text.c — the text sources: a corpus directory written by the test
 * (name order, skipped names, symlinks, subdirectories), the vocabulary from
 * the training part and the fallback for validation bytes, the vocabulary in
 * checkpoint metadata, token files and their damage, both batching modes,
 * sampling, the real fortunes corpus, and the train section's text(...) and
 * tokens(...) resolved into dl_data_config. */
#include "compiled.h"
#include "dlnrt.h"
#include "train.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int text_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/dlnrt_text_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int text_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* "<dir>/<name>" in a rotating buffer (two live at once). */
static const char *at(const char *name)
{
    static char buf[2][256];
    static int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void put(const char *name, const char *text)
{
    FILE *f = fopen(at(name), "wb");
    fwrite(text, 1, strlen(text), f);
    fclose(f);
}

/* The ids of d's training and validation parts decoded back to text. */
static void decode_all(const dl_text_data *d, char *train, char *val)
{
    CU_ASSERT_EQUAL(dl_vocab_decode(&d->vocab, d->train, d->n_train, train), 0);
    CU_ASSERT_EQUAL(dl_vocab_decode(&d->vocab, d->val, d->n_val, val), 0);
}

static void test_corpus_directory(void)
{
    mkdir(at("corpus"), 0755);
    put("corpus/b", "bbb\n");
    put("corpus/a", "aa\n");
    put("corpus/.hidden", "HIDDEN");
    put("corpus/a.dat", "DAT");
    CU_ASSERT_EQUAL(symlink("a", at("corpus/a.u8")), 0);     /* fortune's duplicate links: skipped by name */
    CU_ASSERT_EQUAL(symlink("b", at("corpus/c")), 0);        /* any other link to a file: read */
    CU_ASSERT_EQUAL(symlink("nowhere", at("corpus/d")), 0);  /* dangling: skipped */
    mkdir(at("corpus/sub"), 0755);
    put("corpus/sub/x", "SUBDIR");                           /* not descended into */
    dl_text_data d;
    CU_ASSERT_EQUAL_FATAL(dl_load_text(at("corpus"), 0, &d), 0);
    char train[64], val[64];
    decode_all(&d, train, val);
    CU_ASSERT_STRING_EQUAL(train, "aa\nbbb\nbbb\n");
    CU_ASSERT_EQUAL(d.n_val, 0);
    CU_ASSERT_PTR_NULL(d.val);
    CU_ASSERT(d.has_vocab && d.vocab_size == 3 && d.vocab.size == 3);
    CU_ASSERT(d.vocab.byte[0] == '\n' && d.vocab.byte[1] == 'a' && d.vocab.byte[2] == 'b');
    CU_ASSERT(d.train[0] == 1 && d.train[2] == 0);
    dl_text_data_free(&d);

    /* A single file, and the errors */
    CU_ASSERT_EQUAL(dl_load_text(at("corpus/a"), 0, &d), 0);
    CU_ASSERT_EQUAL(d.n_train, 3);
    dl_text_data_free(&d);
    mkdir(at("empty"), 0755);
    put("empty/.x", "hidden only");
    CU_ASSERT_EQUAL(dl_load_text(at("empty"), 0, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "no text files in the directory"));
    put("zero", "");
    CU_ASSERT_EQUAL(dl_load_text(at("zero"), 0, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "the text is empty"));
    put("one", "x");
    CU_ASSERT_EQUAL(dl_load_text(at("one"), 0, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "1 token; training needs at least 2"));
    CU_ASSERT_EQUAL(dl_load_text(at("missing"), 0, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "cannot open"));
    CU_ASSERT_EQUAL(dl_load_text(at("corpus/a"), 1.0, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "val_split must be in [0, 1)"));
    CU_ASSERT_EQUAL(dl_load_text(at("corpus/a"), 0.5, &d), -1);   /* 1 byte of validation */
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "each part needs at least 2"));
    CU_ASSERT_EQUAL(dl_load_text("/dev/null", 0, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "not a regular file"));
    CU_ASSERT_PTR_NULL(d.train);
}

static void test_split_vocab_fallback(void)
{
    /* 20 bytes, val 0.25: the last 5 ("xyz a") are validation; x, y, z were
     * never trained on and map to the id of ' '. */
    put("split", "abab abab abab xyz a");
    dl_text_data d;
    CU_ASSERT_EQUAL_FATAL(dl_load_text(at("split"), 0.25, &d), 0);
    CU_ASSERT_EQUAL(d.n_train, 15);
    CU_ASSERT_EQUAL(d.n_val, 5);
    CU_ASSERT_EQUAL(d.vocab.size, 3);   /* ' ', 'a', 'b' */
    CU_ASSERT_EQUAL(d.fallback, 0);     /* ' ' is the smallest byte */
    CU_ASSERT_EQUAL(d.val_unknown, 3);
    char train[32], val[32];
    decode_all(&d, train, val);
    CU_ASSERT_STRING_EQUAL(train, "abab abab abab ");
    CU_ASSERT_STRING_EQUAL(val, "    a");
    dl_text_data_free(&d);
    /* without ' ' in the vocabulary the fallback is id 0 */
    put("nospace", "bbbbbbbbaQ");
    CU_ASSERT_EQUAL_FATAL(dl_load_text(at("nospace"), 0.2, &d), 0);
    CU_ASSERT(d.vocab.size == 1 && d.fallback == 0 && d.val_unknown == 2);
    dl_text_data_free(&d);
}

static void test_vocab_meta_and_checkpoint(void)
{
    dl_vocab v, w;
    const unsigned char text[] = {'b', 0, 0xff, '\n', 'a', 'b', 0x80};
    dl_vocab_build(&v, text, sizeof text);
    char meta[DL_VOCAB_META_MAX];
    dl_vocab_to_meta(&v, meta);
    CU_ASSERT_STRING_EQUAL(meta, "bytes:000a616280ff");
    CU_ASSERT_EQUAL_FATAL(dl_vocab_from_meta(meta, &w), 0);
    CU_ASSERT_EQUAL(memcmp(&v, &w, sizeof v), 0);
    /* all 256 bytes: the longest value */
    unsigned char all[256];
    for (int i = 0; i < 256; i++) all[i] = (unsigned char)(255 - i);
    dl_vocab_build(&v, all, 256);
    dl_vocab_to_meta(&v, meta);
    CU_ASSERT_EQUAL(strlen(meta), DL_VOCAB_META_MAX - 1);
    CU_ASSERT_EQUAL(dl_vocab_from_meta(meta, &w), 0);
    CU_ASSERT_EQUAL(w.size, 256);
    static const char *const bad[] = {"", "0a20", "bytes:", "bytes:0", "bytes:0g", "bytes:0A", "bytes:2020",
                                      "bytes:200a", "chars:0a"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CU_ASSERT_EQUAL(dl_vocab_from_meta(bad[i], &w), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "vocabulary: "));
    }

    /* stored with a checkpoint and read back */
    dl_vocab_build(&v, text, sizeof text);
    dl_vocab_to_meta(&v, meta);
    float x[2] = {1, 2};
    dl_named_tensor t = {.name = "w", .rank = 1, .shape = {2}, .data = x};
    const char *kv[] = {DL_VOCAB_META_KEY, meta};
    CU_ASSERT_EQUAL_FATAL(dl_save_safetensors_meta(at("ck.safetensors"), &t, 1, kv, 1), 0);
    CU_ASSERT_EQUAL(dl_vocab_load(at("ck.safetensors"), &w), 0);
    CU_ASSERT_EQUAL(memcmp(&v, &w, sizeof v), 0);
    CU_ASSERT_EQUAL(dl_save_safetensors(at("novocab.safetensors"), &t, 1), 0);
    CU_ASSERT_EQUAL(dl_vocab_load(at("novocab.safetensors"), &w), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "no 'vocab' in the checkpoint's metadata"));
    const char *kv2[] = {DL_VOCAB_META_KEY, "bytes:zz"};
    CU_ASSERT_EQUAL(dl_save_safetensors_meta(at("badvocab.safetensors"), &t, 1, kv2, 1), 0);
    CU_ASSERT_EQUAL(dl_vocab_load(at("badvocab.safetensors"), &w), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "badvocab.safetensors: vocabulary: 'zz'"));
}

static void test_encode_decode(void)
{
    dl_vocab v;
    dl_vocab_build(&v, (const unsigned char *)"hello world", 11);
    int32_t ids[16];
    char out[17];
    CU_ASSERT_EQUAL(dl_vocab_encode(&v, "low", 3, ids), 0);
    CU_ASSERT(ids[0] == v.id['l'] && ids[1] == v.id['o'] && ids[2] == v.id['w']);
    CU_ASSERT_EQUAL(dl_vocab_decode(&v, ids, 3, out), 0);
    CU_ASSERT_STRING_EQUAL(out, "low");
    CU_ASSERT_EQUAL(dl_vocab_encode(&v, "hello!", 6, ids), -1);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), "byte '!' at position 5 is not in the model's vocabulary (8 bytes seen in "
                                            "its training text)");
    CU_ASSERT_EQUAL(dl_vocab_encode(&v, "\xc3\xa9", 2, NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "byte 0xc3 at position 0"));
    ids[1] = 8;
    CU_ASSERT_EQUAL(dl_vocab_decode(&v, ids, 3, out), -1);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), "id 8 at position 1 is outside the vocabulary [0, 8)");
    ids[1] = -1;
    CU_ASSERT_EQUAL(dl_vocab_decode(&v, ids, 3, out), -1);
}

static void test_token_files(void)
{
    dl_text_data d;
    put("tok", "3 1 4\n1 5\t9\r\n2 6\n");
    CU_ASSERT_EQUAL_FATAL(dl_load_tokens(at("tok"), 0, 0, &d), 0);
    CU_ASSERT(d.n_train == 8 && d.vocab_size == 10 && !d.has_vocab);
    CU_ASSERT(d.train[0] == 3 && d.train[5] == 9 && d.train[7] == 6);
    dl_text_data_free(&d);
    CU_ASSERT_EQUAL_FATAL(dl_load_tokens(at("tok"), 100, 0.25, &d), 0);
    CU_ASSERT(d.n_train == 6 && d.n_val == 2 && d.val[0] == 2 && d.val[1] == 6 && d.vocab_size == 100);
    dl_text_data_free(&d);
    put("big", "2147483646 0");   /* the largest id */
    CU_ASSERT_EQUAL(dl_load_tokens(at("big"), 0, 0, &d), 0);
    CU_ASSERT_EQUAL(d.vocab_size, 2147483647);
    dl_text_data_free(&d);

    static const struct { const char *text; int64_t vocab; const char *error; } bad[] = {
        {"1 2\n3 -4\n", 0, "tok_bad:2: a negative id; token ids are integers >= 0"},
        {"1 2 abc", 0, "tok_bad:1: unexpected 'a'; a token file holds non-negative integers separated by whitespace"},
        {"1\n\n7x", 0, "tok_bad:3: unexpected 'x' after the id 7; ids are separated by whitespace"},
        {"1,2", 0, "tok_bad:1: unexpected ',' after the id 1"},
        {"+1", 0, "tok_bad:1: unexpected '+'"},
        {"1.5", 0, "tok_bad:1: unexpected '.' after the id 1"},
        {"1 2147483647", 0, "tok_bad:1: id 2147483647 is too large (ids are at most 2147483646)"},
        {"99999999999999999999999999999999", 0, "tok_bad:1: id 9999999999 is too large"},
        {"", 0, "tok_bad: no token ids in the file"},
        {" \n\t\n", 0, "tok_bad: no token ids in the file"},
        {"0 1 2 3", 3, "tok_bad:1: id 3 is outside the vocabulary (vocab = 3: ids 0 to 2)"},
        {"1 \x01", 0, "unexpected 0x01"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        put("tok_bad", bad[i].text);
        CU_ASSERT_EQUAL(dl_load_tokens(at("tok_bad"), bad[i].vocab, 0, &d), -1);
        const char *e = strstr(dl_last_error(), "tok_bad");
        if (!e || !strstr(e, bad[i].error)) printf("\n  token file %zu: got '%s'\n", i, dl_last_error());
        CU_ASSERT_PTR_NOT_NULL(e && strstr(dl_last_error(), bad[i].error));
        CU_ASSERT_PTR_NULL(d.train);
    }
    put("tok_bad", "1 2 3");
    CU_ASSERT_EQUAL(dl_load_tokens(at("tok_bad"), -1, 0, &d), -1);
    CU_ASSERT_EQUAL(dl_load_tokens(at("tok_bad"), 0, 0.5, &d), -1);   /* 1 id of validation */
    CU_ASSERT_EQUAL(dl_load_tokens(dir, 0, 0, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "not a regular file"));
}

/* ids[i] = i: a token's value is its position, so batches show where they come from. */
static int32_t *counting(int64_t n)
{
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    for (int64_t i = 0; i < n; i++) ids[i] = (int32_t)i;
    return ids;
}

static void check_fields(const dl_batch *b, int64_t T)
{
    CU_ASSERT_EQUAL(b->n_fields, 2);
    CU_ASSERT_STRING_EQUAL(b->field[0].name, "tokens");
    CU_ASSERT_STRING_EQUAL(b->field[1].name, "targets");
    for (int f = 0; f < 2; f++)
        CU_ASSERT(b->field[f].dtype == DL_I32 && b->field[f].rank == 1 && b->field[f].shape[0] == T);
}

static void test_random_windows(void)
{
    /* 103 ids, T = 10: 10 windows, 2 ids of slack for the offset; batch 4: 4, 4, 2 */
    const int64_t n = 103, T = 10;
    int32_t *ids = counting(n);
    dl_text_batcher b, c;
    CU_ASSERT_EQUAL_FATAL(dl_text_batcher_init(&b, ids, n, 4, T, 0, 5), 0);
    CU_ASSERT_EQUAL(dl_text_batcher_batches(&b), 3);
    int32_t first[2][100];
    int offsets_differ = 0, orders_differ = 0;
    for (int epoch = 0; epoch < 6; epoch++) {
        dl_batch bt;
        int64_t m, rows = 0, nb = 0, sizes[3] = {0};
        int seen[11] = {0}, off = -1, shifted = 1;
        while ((m = dl_text_batcher_next(&b, &bt)) > 0) {
            check_fields(&bt, T);
            CU_ASSERT_EQUAL(bt.reset, 1);
            if (nb < 3) sizes[nb] = m;
            nb++;
            const int32_t *tok = bt.field[0].data, *tgt = bt.field[1].data;
            for (int64_t r = 0; r < m; r++) {
                for (int64_t t = 0; t < T; t++) shifted &= tgt[r * T + t] == tok[r * T + t] + 1 && tok[r * T + t] == tok[r * T] + t;
                if (off < 0) off = tok[r * T] % T;
                CU_ASSERT_EQUAL(tok[r * T] % T, off);   /* one grid per epoch */
                seen[tok[r * T] / T]++;
                if (epoch < 2 && rows < 10) first[epoch][rows] = tok[r * T];
                rows++;
            }
        }
        CU_ASSERT(shifted);
        CU_ASSERT(nb == 3 && sizes[0] == 4 && sizes[1] == 4 && sizes[2] == 2);
        CU_ASSERT(off >= 0 && off <= 2);
        int once = 1;
        for (int w = 0; w < 10; w++) once &= seen[w] == 1;
        CU_ASSERT(once);   /* every window once */
        CU_ASSERT_EQUAL(dl_text_batcher_next(&b, &bt), 0);
        if (epoch == 1) orders_differ = memcmp(first[0], first[1], 10 * sizeof(int32_t)) != 0;
        if (epoch > 0 && off != first[0][0] % T) offsets_differ = 1;
        dl_text_batcher_reset(&b);
    }
    CU_ASSERT(orders_differ && offsets_differ);
    /* same seed, same batches; another seed, others */
    dl_text_batcher_free(&b);
    dl_batch x, y;
    CU_ASSERT_EQUAL_FATAL(dl_text_batcher_init(&b, ids, n, 4, T, 0, 5), 0);
    CU_ASSERT_EQUAL_FATAL(dl_text_batcher_init(&c, ids, n, 4, T, 0, 5), 0);
    dl_text_batcher_next(&b, &x);
    dl_text_batcher_next(&c, &y);
    CU_ASSERT_EQUAL(memcmp(x.field[0].data, y.field[0].data, 4 * T * sizeof(int32_t)), 0);
    CU_ASSERT_EQUAL(((const int32_t *)x.field[0].data)[0], first[0][0]);
    dl_text_batcher_free(&c);
    CU_ASSERT_EQUAL_FATAL(dl_text_batcher_init(&c, ids, n, 4, T, 0, 6), 0);
    dl_text_batcher_next(&c, &y);
    CU_ASSERT_NOT_EQUAL(memcmp(x.field[0].data, y.field[0].data, 4 * T * sizeof(int32_t)), 0);
    dl_text_batcher_free(&b);
    dl_text_batcher_free(&c);
    /* the smallest stream: one window; a batch larger than the epoch */
    CU_ASSERT_EQUAL_FATAL(dl_text_batcher_init(&b, ids, T + 1, 1000, T, 0, 1), 0);
    CU_ASSERT_EQUAL(dl_text_batcher_next(&b, &x), 1);
    CU_ASSERT_EQUAL(((const int32_t *)x.field[1].data)[T - 1], T);
    dl_text_batcher_free(&b);
    CU_ASSERT_EQUAL(dl_text_batcher_init(&b, ids, T, 1, T, 0, 1), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "10 tokens are too few; windows of seq_len + 1 need at least 11"));
    CU_ASSERT_EQUAL(dl_text_batcher_init(&b, ids, n, 0, T, 0, 1), -1);
    CU_ASSERT_EQUAL(dl_text_batcher_init(&b, ids, n, 1, 0, 0, 1), -1);
    free(ids);
}

static void test_contiguous_streams(void)
{
    /* 100 ids, 3 streams of 33, T = 8: 4 batches of 3 rows (the last 1 id of each stream unused) */
    const int64_t n = 100, T = 8, N = 3;
    int32_t *ids = counting(n);
    dl_text_batcher b;
    CU_ASSERT_EQUAL_FATAL(dl_text_batcher_init(&b, ids, n, N, T, 1, 0), 0);
    CU_ASSERT_EQUAL(dl_text_batcher_batches(&b), 4);
    for (int epoch = 0; epoch < 2; epoch++) {
        int32_t end[3] = {0};
        dl_batch bt;
        int64_t k = 0, m;
        while ((m = dl_text_batcher_next(&b, &bt)) > 0) {
            CU_ASSERT_EQUAL(m, N);
            check_fields(&bt, T);
            CU_ASSERT_EQUAL(bt.reset, k == 0);
            const int32_t *tok = bt.field[0].data, *tgt = bt.field[1].data;
            for (int64_t r = 0; r < N; r++) {
                /* row r continues exactly where it ended; it starts at its stream's start */
                CU_ASSERT_EQUAL(tok[r * T], k == 0 ? r * 33 : end[r] + 1);
                for (int64_t t = 0; t < T; t++) CU_ASSERT_EQUAL(tgt[r * T + t], tok[r * T + t] + 1);
                end[r] = tok[r * T + T - 1];
            }
            k++;
        }
        CU_ASSERT_EQUAL(k, 4);
        CU_ASSERT_EQUAL(end[2], 2 * 33 + 31);
        dl_text_batcher_reset(&b);
    }
    dl_text_batcher_free(&b);
    CU_ASSERT_EQUAL(dl_text_batcher_init(&b, ids, N * T, N, T, 1, 0), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "contiguous batches (batch x seq_len + 1) need at least 25"));
    CU_ASSERT_EQUAL(dl_text_batcher_init(&b, ids, N * T + 1, N, T, 1, 0), 0);
    CU_ASSERT_EQUAL(dl_text_batcher_batches(&b), 1);
    dl_text_batcher_free(&b);
    free(ids);
}

static void test_sampling(void)
{
    dl_rng r, s;
    const float logits[5] = {0.5f, 2.0f, -1.0f, 2.0f, 1.5f};
    dl_rng_seed(&r, 1);
    CU_ASSERT_EQUAL(dl_sample_logits(logits, 5, 0, 0, &r), 1);   /* greedy: the first maximum */
    CU_ASSERT_EQUAL(dl_sample_logits(logits, 5, 1, 1, &r), 1);   /* top-1 is greedy at any temperature */
    /* frequencies follow softmax(logits / T) */
    int count[5] = {0};
    const int draws = 20000;
    for (int i = 0; i < draws; i++) count[dl_sample_logits(logits, 5, 1, 0, &r)]++;
    double z = 0;
    for (int i = 0; i < 5; i++) z += exp(logits[i]);
    for (int i = 0; i < 5; i++) CU_ASSERT(fabs(count[i] / (double)draws - exp(logits[i]) / z) < 0.015);
    /* top_k = 3 keeps ids 1, 3 and 4 */
    memset(count, 0, sizeof count);
    for (int i = 0; i < 3000; i++) count[dl_sample_logits(logits, 5, 1, 3, &r)]++;
    CU_ASSERT(count[0] == 0 && count[2] == 0 && count[1] > 0 && count[3] > 0 && count[4] > 0);
    /* top_p: probabilities 0.5, 0.3, 0.15, 0.05 (ids 2, 0, 3, 1). The nucleus is the likeliest
     * tokens up to the first whose cumulative probability reaches p, renormalized. */
    const float nucleus[4] = {logf(0.3f), logf(0.05f), logf(0.5f), logf(0.15f)};
    const struct { float p; int kept[4]; } cut[] = {
        {0.4f, {0, 0, 1, 0}}, {0.75f, {1, 0, 1, 0}}, {0.9f, {1, 0, 1, 1}}, {1.0f, {1, 1, 1, 1}}};
    for (size_t c = 0; c < sizeof cut / sizeof cut[0]; c++) {
        int hits[4] = {0};
        const int nd = 20000;
        for (int i = 0; i < nd; i++) hits[dl_sample_logits_p(nucleus, 4, 1, 0, cut[c].p, &r)]++;
        const double pr[4] = {0.3, 0.05, 0.5, 0.15};
        double z = 0;
        for (int i = 0; i < 4; i++) z += cut[c].kept[i] * pr[i];
        for (int i = 0; i < 4; i++) CU_ASSERT(fabs(hits[i] / (double)nd - cut[c].kept[i] * pr[i] / z) < 0.015);
    }
    /* with top_k first: of the top 3 (0.5, 0.3, 0.15, renormalized to 0.53, 0.32, 0.16), p = 0.8 keeps two */
    memset(count, 0, sizeof count);
    for (int i = 0; i < 3000; i++) count[dl_sample_logits_p(nucleus, 4, 1, 3, 0.8f, &r)]++;
    CU_ASSERT(count[1] == 0 && count[3] == 0 && count[0] > 0 && count[2] > 0);
    /* a tiny p is greedy at any temperature; p outside (0, 1] is an error */
    for (int i = 0; i < 50; i++) CU_ASSERT_EQUAL(dl_sample_logits_p(logits, 5, 3, 0, 1e-6f, &r), 1);
    CU_ASSERT_EQUAL(dl_sample_logits_p(logits, 5, 1, 0, 0, &r), -1);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), "sample: top_p must be in (0, 1], got 0");
    CU_ASSERT_EQUAL(dl_sample_logits_p(logits, 5, 1, 0, 1.5f, &r), -1);
    /* a low temperature is nearly greedy, a high one nearly uniform */
    memset(count, 0, sizeof count);
    for (int i = 0; i < 1000; i++) count[dl_sample_logits(logits, 5, 0.05f, 0, &r)]++;
    CU_ASSERT(count[1] + count[3] == 1000);
    memset(count, 0, sizeof count);
    for (int i = 0; i < 5000; i++) count[dl_sample_logits(logits, 5, 100, 0, &r)]++;
    CU_ASSERT(count[2] > 850);
    /* reproducible: same seed, same ids */
    dl_rng_seed(&r, 9);
    dl_rng_seed(&s, 9);
    int same = 1;
    for (int i = 0; i < 100; i++) same &= dl_sample_logits(logits, 5, 0.8f, 4, &r) == dl_sample_logits(logits, 5, 0.8f, 4, &s);
    CU_ASSERT(same);
    /* -inf is probability 0; the errors */
    const float masked[3] = {-INFINITY, 0, -INFINITY};
    for (int i = 0; i < 50; i++) CU_ASSERT_EQUAL(dl_sample_logits(masked, 3, 2, 0, &r), 1);
    const float none[2] = {-INFINITY, -INFINITY}, nan[2] = {0, NAN}, inf[2] = {INFINITY, 0};
    CU_ASSERT_EQUAL(dl_sample_logits(none, 2, 1, 0, &r), -1);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), "sample: every logit is -inf");
    CU_ASSERT_EQUAL(dl_sample_logits(nan, 2, 1, 0, &r), -1);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), "sample: logit 1 is nan");
    CU_ASSERT_EQUAL(dl_sample_logits(inf, 2, 0, 0, &r), -1);
    CU_ASSERT_EQUAL(dl_sample_logits(logits, 5, -1, 0, &r), -1);
    CU_ASSERT_EQUAL(dl_sample_logits(logits, 0, 1, 0, &r), -1);
    CU_ASSERT(fabs(dl_bits_per_char(log(2.0)) - 1) < 1e-12);
    CU_ASSERT(fabs(dl_bits_per_char(1.0) - 1.4426950408889634) < 1e-12);
}

/* The real corpus: Debian's fortunes, read as the docs' example does. */
static void test_fortunes(void)
{
    const char *path = "/usr/share/games/fortunes";
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("\n  (skipped: %s not installed; apt-get install fortunes)\n", path);
        return;
    }
    dl_text_data d;
    CU_ASSERT_EQUAL_FATAL(dl_load_text(path, 0.05, &d), 0);
    /* every text file once: the .u8 links and .dat indexes are skipped */
    int64_t total = 0;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cat $(ls -d %s/* | grep -v -e '\\.dat$' -e '\\.u8$') | wc -c", path);
    FILE *p = popen(cmd, "r");
    CU_ASSERT(p && fscanf(p, "%lld", (long long *)&total) == 1);
    if (p) pclose(p);
    CU_ASSERT_EQUAL(d.n_train + d.n_val, total);
    CU_ASSERT_EQUAL(d.n_val, (int64_t)(total * 0.05));
    CU_ASSERT(d.vocab_size > 60 && d.vocab_size <= 256);
    CU_ASSERT(d.vocab.id['%'] >= 0 && d.vocab.id['e'] >= 0 && d.vocab.id['\n'] >= 0);
    CU_ASSERT(d.val_unknown < d.n_val / 1000);
    dl_text_batcher b;
    CU_ASSERT_EQUAL_FATAL(dl_text_batcher_init(&b, d.train, d.n_train, 32, 64, 1, 0), 0);
    CU_ASSERT_EQUAL(dl_text_batcher_batches(&b), (d.n_train - 1) / 32 / 64);
    dl_text_batcher_free(&b);
    dl_text_data_free(&d);
}

static void test_train_section(void)
{
    static const char *const src[] = {
        "model m(tokens: i32[N, T]) -> f32[N, T, 4] { return dense(embedding(tokens, 4, 8), 4) }\n"
        "train m { data = text(\"/usr/share/games/fortunes\", batch = 16, seq_len = 100, val_split = 0.1, "
        "contiguous = true)\n loss = cross_entropy(output, targets) }\n",
        "model m(tokens: i32[N, T]) -> f32[N, T, 4] { return dense(embedding(tokens, 4, 8), 4) }\n"
        "train m { data = tokens(\"ids.txt\", vocab = 5000)\n loss = cross_entropy(output, targets) }\n",
    };
    compiled c;
    compiled_init(&c, src[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod->train);
    const dl_data_config *d = &c.mod->train->cfg.data;
    CU_ASSERT_STRING_EQUAL(d->kind, "text");
    CU_ASSERT_STRING_EQUAL(d->path, "/usr/share/games/fortunes");
    CU_ASSERT(d->batch == 16 && d->seq_len == 100 && d->contiguous == 1 && d->vocab == 0);
    CU_ASSERT(fabsf(d->val_split - 0.1f) < 1e-7f);
    compiled_free(&c);
    compiled_init(&c, src[1]);   /* the defaults */
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    d = &c.mod->train->cfg.data;
    CU_ASSERT_STRING_EQUAL(d->kind, "tokens");
    CU_ASSERT(d->batch == 32 && d->seq_len == 64 && d->contiguous == 0 && d->vocab == 5000);
    CU_ASSERT(fabsf(d->val_split - 0.05f) < 1e-7f);
    compiled_free(&c);
}

void suite_rt_text(void)
{
    CU_pSuite s = CU_add_suite("rt_text", text_setup, text_teardown);
    CU_add_test(s, "corpus directory: order, skipped names, links, errors", test_corpus_directory);
    CU_add_test(s, "validation split: vocabulary from training text, fallback", test_split_vocab_fallback);
    CU_add_test(s, "vocabulary in checkpoint metadata", test_vocab_meta_and_checkpoint);
    CU_add_test(s, "prompt encode / decode", test_encode_decode);
    CU_add_test(s, "token files and their damage", test_token_files);
    CU_add_test(s, "random windows: shifted targets, every window once, seeded", test_random_windows);
    CU_add_test(s, "contiguous streams: rows continue, reset per epoch", test_contiguous_streams);
    CU_add_test(s, "sampling: greedy, temperature, top-k, top-p, seeded, errors", test_sampling);
    CU_add_test(s, "the fortunes corpus", test_fortunes);
    CU_add_test(s, "train section: text(...) and tokens(...)", test_train_section);
}
