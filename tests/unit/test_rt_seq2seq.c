/* test_rt_seq2seq.c — the data side of sequence-to-sequence and masked-token
 * training: the seq2seq_task generator (every task's fields checked row by
 * row against the task written out here, PAD handling with min_length, a
 * test set disjoint from the training sources, seeded), its batches, exact
 * match, greedy decoding through a hand-made model whose answer is known,
 * the BERT masking statistics of text batches, and the train section's
 * seq2seq_task(...) and mlm resolved into dl_data_config. */
#include "compiled.h"
#include "dlnrt.h"
#include "step_internal.h"
#include "train.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static dl_data_config task(const char *name, int64_t length, int64_t min_length, int64_t digits, int64_t n_train,
                           int64_t n_test)
{
    return (dl_data_config){.kind = "seq2seq_task", .task = name, .length = length, .min_length = min_length,
                            .digits = digits, .n_train = n_train, .n_test = n_test, .batch = 16};
}

/* The digits of a row (ids DL_TOK_DIGIT0 + d) up to the first id that is not one, into d; their count. */
static int64_t digits_of(const int32_t *row, int64_t n, int32_t *d)
{
    int64_t k = 0;
    while (k < n && row[k] >= DL_TOK_DIGIT0) d[k] = row[k] - DL_TOK_DIGIT0, k++;
    return k;
}

/* Every row of d: target = the task applied to source, then EOS, then PAD; source PAD after its end;
 * target_in = BOS + target[:-1]; lengths within [lo, hi]. Counts the lengths seen into seen[]. */
static void check_rows(const dl_seq2seq_data *d, const char *name, int64_t lo, int64_t hi, int64_t D, int *seen)
{
    const int64_t rows = d->n_train + d->n_test, S = d->S, T = d->T;
    int32_t x[64], y[64], want[64];
    for (int64_t i = 0; i < rows; i++) {
        const int32_t *src = d->source + i * S, *tgt = d->target + i * T, *tin = d->target_in + i * T;
        int64_t k = digits_of(src, S, x), ny;
        if (strcmp(name, "add") == 0) {
            CU_ASSERT_FATAL(k < S && src[k] == DL_TOK_SEP);
            const int64_t kb = digits_of(src + k + 1, S - k - 1, x + k);
            CU_ASSERT(k >= lo && k <= hi && kb >= lo && kb <= hi);
            CU_ASSERT(k == 1 || x[0] != 0);
            CU_ASSERT(kb == 1 || x[k] != 0);
            int64_t a = 0, b = 0;
            for (int64_t j = 0; j < k; j++) a = a * D + x[j];
            for (int64_t j = 0; j < kb; j++) b = b * D + x[k + j];
            int64_t sum = a + b;
            ny = 0;
            do want[ny++] = (int32_t)(sum % D), sum /= D; while (sum);
            for (int64_t j = 0; j < ny / 2; j++) {
                const int32_t t = want[j];
                want[j] = want[ny - 1 - j], want[ny - 1 - j] = t;
            }
            k += 1 + kb;
        } else {
            CU_ASSERT(k >= lo && k <= hi);
            seen[k]++;
            ny = k;
            for (int64_t j = 0; j < k; j++) want[j] = strcmp(name, "reverse") == 0 ? x[k - 1 - j] : x[j];
            if (strcmp(name, "sort") == 0)
                for (int64_t a = 0; a < k; a++)   /* insertion sort: the plain definition */
                    for (int64_t b = a; b > 0 && want[b - 1] > want[b]; b--) {
                        const int32_t t = want[b];
                        want[b] = want[b - 1], want[b - 1] = t;
                    }
        }
        for (int64_t j = k; j < S; j++) CU_ASSERT(src[j] == DL_TOK_PAD);
        CU_ASSERT_EQUAL(digits_of(tgt, T, y), ny);
        CU_ASSERT(memcmp(y, want, (size_t)ny * sizeof *y) == 0);
        CU_ASSERT(tgt[ny] == DL_TOK_EOS);
        for (int64_t j = ny + 1; j < T; j++) CU_ASSERT(tgt[j] == DL_TOK_PAD);
        CU_ASSERT(tin[0] == DL_TOK_BOS);
        CU_ASSERT(memcmp(tin + 1, tgt, (size_t)(T - 1) * sizeof *tin) == 0);
    }
}

static void test_tasks(void)
{
    static const char *const names[] = {"reverse", "copy", "sort", "add"};
    for (int k = 0; k < 4; k++) {
        const int add = strcmp(names[k], "add") == 0;
        dl_data_config dc = task(names[k], 5, 5, 10, 300, 100);
        dl_seq2seq_data d;
        int seen[8] = {0};
        CU_ASSERT_EQUAL_FATAL(dl_seq2seq_generate(&dc, 7, &d), 0);
        CU_ASSERT_EQUAL(d.S, add ? 11 : 5);
        CU_ASSERT_EQUAL(d.T, add ? 7 : 6);
        CU_ASSERT_EQUAL(d.vocab, 14);
        check_rows(&d, names[k], 5, 5, 10, seen);
        dl_seq2seq_free(&d);
        /* min_length < length: every length comes up, PAD after each end */
        dc = task(names[k], 6, 2, 10, 2000, 200);
        memset(seen, 0, sizeof seen);
        CU_ASSERT_EQUAL_FATAL(dl_seq2seq_generate(&dc, 8, &d), 0);
        check_rows(&d, names[k], 2, 6, dc.digits, seen);
        for (int len = 2; len <= 6 && !add; len++) CU_ASSERT(seen[len] > 100);
        dl_seq2seq_free(&d);
    }
    /* base 2, one-digit numbers: 1 + 1 = 10 */
    dl_data_config dc = task("add", 1, 1, 2, 50, 0);
    dl_seq2seq_data d;
    int seen[8] = {0};
    CU_ASSERT_EQUAL_FATAL(dl_seq2seq_generate(&dc, 1, &d), 0);
    check_rows(&d, "add", 1, 1, 2, seen);
    dl_seq2seq_free(&d);
}

/* The training sources never equal a test source; the test sources are distinct. */
static void test_disjoint_and_seeded(void)
{
    /* a small space (10^3 + 10^2 sources), so that collisions would happen */
    dl_data_config dc = task("reverse", 3, 2, 10, 5000, 500);
    dl_seq2seq_data a, b, c;
    CU_ASSERT_EQUAL_FATAL(dl_seq2seq_generate(&dc, 3, &a), 0);
    const int64_t S = a.S;
    char *in_test = calloc(10000, 1);
    for (int64_t i = a.n_train; i < a.n_train + a.n_test; i++) {
        int key = 0;
        for (int64_t j = 0; j < S; j++) key = key * 11 + (a.source[i * S + j] ? a.source[i * S + j] - 3 : 0);   /* PAD 0, digits 1..10 */
        CU_ASSERT(!in_test[key]);
        in_test[key] = 1;
    }
    int64_t repeats = 0;
    for (int64_t i = 0; i < a.n_train; i++) {
        int key = 0;
        for (int64_t j = 0; j < S; j++) key = key * 11 + (a.source[i * S + j] ? a.source[i * S + j] - 3 : 0);
        CU_ASSERT(in_test[key] != 1);
        repeats += in_test[key] == 2;
        in_test[key] = 2;
    }
    CU_ASSERT(repeats > 0);   /* training rows may repeat: 5000 draws from 600 sources */
    free(in_test);
    CU_ASSERT_EQUAL_FATAL(dl_seq2seq_generate(&dc, 3, &b), 0);
    CU_ASSERT(memcmp(a.source, b.source, (size_t)(5500 * S) * 4) == 0);
    CU_ASSERT(memcmp(a.target, b.target, (size_t)(5500 * a.T) * 4) == 0);
    CU_ASSERT_EQUAL_FATAL(dl_seq2seq_generate(&dc, 4, &c), 0);
    CU_ASSERT(memcmp(a.source, c.source, (size_t)(5500 * S) * 4) != 0);
    dl_seq2seq_free(&a);
    dl_seq2seq_free(&b);
    dl_seq2seq_free(&c);
    /* the test set may take at most half of the sources: 10 + 100 here */
    dc = task("copy", 2, 1, 10, 10, 56);
    CU_ASSERT_EQUAL(dl_seq2seq_sources(&dc), 110);
    const dl_data_config add1 = task("add", 1, 1, 3, 1, 0), add2 = task("add", 2, 2, 10, 1, 0);
    const dl_data_config huge = task("sort", 1024, 1, 1000, 1, 0), bad = task("rotate", 2, 1, 10, 1, 0);
    CU_ASSERT_EQUAL(dl_seq2seq_sources(&add1), 9);
    CU_ASSERT_EQUAL(dl_seq2seq_sources(&add2), 90 * 90);   /* no leading zeros */
    CU_ASSERT_EQUAL(dl_seq2seq_sources(&huge), (int64_t)1 << 62);   /* saturated, not wrapped */
    CU_ASSERT_EQUAL(dl_seq2seq_sources(&bad), -1);
    CU_ASSERT_EQUAL(dl_seq2seq_generate(&dc, 1, &a), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "110 distinct sources"));
    dc.n_test = 55;
    CU_ASSERT_EQUAL(dl_seq2seq_generate(&dc, 1, &a), 0);
    dl_seq2seq_free(&a);
    dc = task("rotate", 2, 1, 10, 10, 5);
    CU_ASSERT_EQUAL(dl_seq2seq_generate(&dc, 1, &a), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "unknown task 'rotate'"));
    dc = task("copy", 4, 5, 10, 10, 5);
    CU_ASSERT_EQUAL(dl_seq2seq_generate(&dc, 1, &a), -1);
    dc = task("copy", 4, 4, 1, 10, 5);
    CU_ASSERT_EQUAL(dl_seq2seq_generate(&dc, 1, &a), -1);
}

/* Batches: the three fields, every training row once per epoch, a new order the next. */
static void test_batches(void)
{
    dl_data_config dc = task("sort", 4, 1, 10, 100, 20);
    dl_seq2seq_data d;
    CU_ASSERT_EQUAL_FATAL(dl_seq2seq_generate(&dc, 5, &d), 0);
    dl_source s;
    CU_ASSERT_EQUAL_FATAL(dl_source_seq2seq(&s, &d, 0, d.n_train, 16, 1, 9), 0);
    CU_ASSERT_EQUAL(s.batches, 7);
    CU_ASSERT(s.bounds.n == 16 && s.bounds.n_fields == 3);
    CU_ASSERT_STRING_EQUAL(s.bounds.field[1].name, "target_in");
    int64_t first[2] = {-1, -1};
    for (int epoch = 0; epoch < 2; epoch++) {
        int hits[100] = {0};
        dl_batch b;
        int64_t n, total = 0;
        while ((n = s.next(&s, &b)) > 0) {
            CU_ASSERT(b.reset == 1 && b.n_fields == 3 && b.field[0].shape[0] == 4 && b.field[2].shape[0] == 5);
            for (int64_t i = 0; i < n; i++) {
                /* find the row by its content */
                const int32_t *src = (const int32_t *)b.field[0].data + i * 4;
                const int32_t *tgt = (const int32_t *)b.field[2].data + i * 5;
                int64_t row = -1;
                for (int64_t r = 0; r < 100 && row < 0; r++)
                    if (!hits[r] && !memcmp(d.source + r * 4, src, 16) && !memcmp(d.target + r * 5, tgt, 20)) row = r;
                CU_ASSERT_FATAL(row >= 0);
                hits[row] = 1;
                if (total + i == 0) first[epoch] = row;
            }
            total += n;
        }
        CU_ASSERT_EQUAL(total, 100);
        s.reset(&s);
    }
    CU_ASSERT(first[0] != first[1] || first[0] < 0);
    s.close(&s);
    dl_seq2seq_free(&d);
}

static void test_exact_match(void)
{
    /* rows of T = 3: [5, EOS, PAD] twice, [6, 7, EOS] */
    const int32_t target[] = {5, 2, 0, 5, 2, 0, 6, 7, 2};
    const int32_t pred[] = {5, 2, 9, 5, 3, 0, 6, 7, 2};   /* PAD positions are not compared */
    CU_ASSERT_EQUAL(dl_count_exact(pred, target, 3, 3), 2);
    float logits[9 * 10] = {0};
    for (int i = 0; i < 9; i++) logits[i * 10 + pred[i]] = 1;
    CU_ASSERT_EQUAL(dl_count_exact_logits(logits, target, 3, 3, 10), 2);
    int64_t counted;
    CU_ASSERT_EQUAL(dl_count_correct_where(logits, target, NULL, DL_TOK_PAD, 9, 10, &counted), 6);
    CU_ASSERT_EQUAL(counted, 7);
    const float w[] = {1, 0, 1, 1, 1, 1, 0, 0, 0};
    CU_ASSERT_EQUAL(dl_count_correct_where(logits, target, w, -1, 9, 10, &counted), 3);
    CU_ASSERT_EQUAL(counted, 5);
}

/* ---- greedy decoding through a hand-made model --------------------------------
 * "Count up": the logits at position t point at source[0] after BOS and at
 * the successor of target_in[t] otherwise, EOS after the digit 9. Each token
 * is a function of the one decoded before it, so only a decoder that writes
 * its argmax back into target_in gets the whole sequence. */

static const char *const sym_names[] = {"N", "T"};
static const dl_io_info count_inputs[] = {
    {.name = "source", .dtype = DL_I32, .rank = 1, .shape = {2}},
    {.name = "tin", .field = "target_in", .dtype = DL_I32, .rank = 1, .shape = {DL_DIM_SYM(1)}},
};
static const dl_io_info count_outputs[] = {
    {.name = "hidden", .dtype = DL_F32, .rank = 1, .shape = {3}},
    {.name = "logits", .dtype = DL_F32, .rank = 2, .shape = {DL_DIM_SYM(1), 14}},
};
static int forwards;

static void count_forward(void *m, const void *const *in, void *const *out, int64_t n, const int64_t *syms)
{
    (void)m;
    const int64_t T = syms[0];
    const int32_t *src = in[0], *tin = in[1];
    float *logits = out[1];
    forwards++;
    if (src[0] < 0) {   /* a failing step */
        dl_set_error("count: step failed");
        return;
    }
    memset(out[0], 0, (size_t)(n * 3) * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        for (int64_t t = 0; t < T; t++) {
            const int32_t prev = tin[i * T + t];
            const int32_t next = prev == DL_TOK_BOS ? src[i * 2] : prev == DL_TOK_DIGIT0 + 9 ? DL_TOK_EOS
                                 : prev >= DL_TOK_DIGIT0 ? prev + 1 : DL_TOK_PAD;
            for (int v = 0; v < 14; v++) logits[(i * T + t) * 14 + v] = v == next ? 1.0f : -1.0f;
        }
}

static void *count_create(const int64_t *sym_max) { return (void *)sym_max; }

static const dl_model_api count_api = {
    .name = "count", .abi_version = DL_ABI_VERSION, .n_syms = 2, .sym_names = sym_names, .n_inputs = 2,
    .n_outputs = 2, .inputs = count_inputs, .outputs = count_outputs, .create_io = count_create,
    .forward_io = count_forward};

static void test_greedy_decode(void)
{
    /* sources 6 and 9 (as digits): 6 7 8 9 EOS and 9 EOS PAD PAD PAD */
    const int32_t src[] = {DL_TOK_DIGIT0 + 6, 0, DL_TOK_DIGIT0 + 9, 0};
    dl_batch b = {.n = 2, .n_fields = 1};
    b.field[0] = (dl_field){.name = "source", .dtype = DL_I32, .rank = 1, .shape = {2}, .data = src};
    int32_t out[2 * 6];
    int m = 0;
    forwards = 0;
    CU_ASSERT_EQUAL_FATAL(dl_greedy_decode(&count_api, &m, &b, 6, out), 0);
    const int32_t want[] = {10, 11, 12, 13, 2, 0, 13, 2, 0, 0, 0, 0};
    CU_ASSERT(memcmp(out, want, sizeof want) == 0);
    CU_ASSERT_EQUAL(forwards, 5);   /* stops once every row has its EOS */
    /* the target these rows should give, and a wrong one */
    const int32_t target[] = {10, 11, 12, 13, 2, 0, 13, 2, 0, 0, 0, 0}, wrong[] = {10, 11, 12, 13, 2, 0, 12, 2, 0, 0, 0, 0};
    CU_ASSERT_EQUAL(dl_count_exact(out, target, 2, 6), 2);
    CU_ASSERT_EQUAL(dl_count_exact(out, wrong, 2, 6), 1);
    /* errors: a failing forward, a batch without the source, a model without target_in */
    const int32_t bad[] = {-1, 0, 0, 0};
    b.field[0].data = bad;
    CU_ASSERT_EQUAL(dl_greedy_decode(&count_api, &m, &b, 6, out), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "step failed"));
    b.field[0].name = "src";
    CU_ASSERT_EQUAL(dl_greedy_decode(&count_api, &m, &b, 6, out), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "'source'"));
    dl_model_api other = count_api;
    other.n_inputs = 1;
    CU_ASSERT_EQUAL(dl_greedy_decode(&other, &m, &b, 6, out), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "cannot be decoded greedily"));
}

/* ---- masked tokens -------------------------------------------------------------- */

static void test_mlm_statistics(void)
{
    enum { N_IDS = 200001, T = 50, V = 20 };
    int32_t *ids = malloc(N_IDS * sizeof *ids);
    for (int i = 0; i < N_IDS; i++) ids[i] = (i * 7 + i / 13) % V;
    dl_text_batcher b, c;
    CU_ASSERT_EQUAL_FATAL(dl_text_batcher_init(&b, ids, N_IDS, 64, T, 0, 11), 0);
    CU_ASSERT_EQUAL(dl_text_batcher_set_mlm(&b, 0.0f, V), -1);
    CU_ASSERT_EQUAL(dl_text_batcher_set_mlm(&b, 1.0f, V), -1);
    CU_ASSERT_EQUAL_FATAL(dl_text_batcher_set_mlm(&b, 0.15f, V), 0);
    int64_t positions = 0, selected = 0, masked = 0, random = 0, kept = 0;
    dl_batch out;
    int64_t n;
    while ((n = dl_text_batcher_next(&b, &out)) > 0) {
        CU_ASSERT_FATAL(out.n_fields == 3);
        CU_ASSERT_STRING_EQUAL(out.field[2].name, "mlm_mask");
        CU_ASSERT(out.field[2].dtype == DL_F32);
        const int32_t *tok = out.field[0].data, *tgt = out.field[1].data;
        const float *mask = out.field[2].data;
        for (int64_t i = 0; i < n; i++) {
            /* targets are the window itself (not shifted): the tokens wherever none was selected */
            int64_t row_selected = 0;
            for (int64_t t = 0; t < T; t++) {
                const int64_t k = i * T + t;
                positions++;
                if (mask[k] == 0) {
                    CU_ASSERT(mask[k] == 0.0f && tok[k] == tgt[k]);
                    continue;
                }
                CU_ASSERT(mask[k] == 1.0f);
                selected++, row_selected++;
                if (tok[k] == V) masked++;
                else if (tok[k] == tgt[k]) kept++;   /* (a random draw can give the token back) */
                else random++;
                CU_ASSERT(tok[k] >= 0 && tok[k] <= V);
            }
            CU_ASSERT(row_selected >= 1);
        }
        if (positions > 200000) break;
    }
    const double p = (double)selected / positions;
    CU_ASSERT(fabs(p - 0.15) < 0.01);
    const double pm = (double)masked / selected, pr = (double)random / selected, pk = (double)kept / selected;
    CU_ASSERT(fabs(pm - 0.80) < 0.02);
    CU_ASSERT(fabs(pr - 0.10 * (V - 1) / V) < 0.015);   /* a random token equal to the original counts as kept */
    CU_ASSERT(fabs(pk - (0.10 + 0.10 / V)) < 0.015);
    /* seeded: the same seed gives the same batches; another epoch other masks */
    CU_ASSERT_EQUAL_FATAL(dl_text_batcher_init(&c, ids, N_IDS, 64, T, 0, 11), 0);
    CU_ASSERT_EQUAL_FATAL(dl_text_batcher_set_mlm(&c, 0.15f, V), 0);
    dl_text_batcher_reset(&b);
    dl_text_batcher_reset(&c);
    dl_batch ob, oc;
    CU_ASSERT_EQUAL(dl_text_batcher_next(&b, &ob), dl_text_batcher_next(&c, &oc));
    CU_ASSERT(memcmp(ob.field[0].data, oc.field[0].data, 64 * T * 4) == 0);
    CU_ASSERT(memcmp(ob.field[2].data, oc.field[2].data, 64 * T * 4) == 0);
    dl_text_batcher_free(&c);
    CU_ASSERT_EQUAL_FATAL(dl_text_batcher_init(&c, ids, N_IDS, 64, T, 0, 11), 0);
    CU_ASSERT_EQUAL_FATAL(dl_text_batcher_set_mlm(&c, 0.15f, V), 0);
    dl_text_batcher_next(&c, &oc);   /* epoch 0 against b's epoch 1: other windows, other masks */
    CU_ASSERT(memcmp(ob.field[2].data, oc.field[2].data, 64 * T * 4) != 0);
    dl_text_batcher_free(&b);
    dl_text_batcher_free(&c);
    /* a window never goes without a selected position, even at a tiny fraction */
    CU_ASSERT_EQUAL_FATAL(dl_text_batcher_init(&b, ids, N_IDS, 8, 4, 1, 0), 0);
    CU_ASSERT_EQUAL_FATAL(dl_text_batcher_set_mlm(&b, 0.001f, V), 0);
    CU_ASSERT_EQUAL(dl_text_batcher_next(&b, &out), 8);
    const float *mask = out.field[2].data;
    for (int i = 0; i < 8; i++) CU_ASSERT(mask[i * 4] + mask[i * 4 + 1] + mask[i * 4 + 2] + mask[i * 4 + 3] == 1.0f);
    dl_text_batcher_free(&b);
    free(ids);
}

/* ---- the train section ------------------------------------------------------------ */

static void test_train_section(void)
{
    static const char *const src[] = {
        "model m(source: i32[N, S], target_in: i32[N, T]) -> f32[N, T, 14] {\n"
        "    h = embedding(target_in, 14, 8) + unsqueeze(mean(embedding(source, 14, 8), axis = 1), 1)\n"
        "    return dense(h, 14) }\n"
        "train m { data = seq2seq_task(\"add\", length = 3, min_length = 1, digits = 10)\n"
        "  loss = cross_entropy(output, target, ignore_index = 0)  metrics = [exact_match] }\n",
        "model m(tokens: i32[N, T]) -> f32[N, T, 5] { return dense(embedding(tokens, 5, 8), 5) }\n"
        "train m { data = tokens(\"ids.txt\", vocab = 4, mlm = 0.2)\n"
        "  loss = cross_entropy(output, targets, mask = mlm_mask) }\n",
    };
    compiled c;
    compiled_init(&c, src[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod->train);
    const dl_train_config *cfg = &c.mod->train->cfg;
    const dl_data_config *d = &cfg->data;
    CU_ASSERT_STRING_EQUAL(d->kind, "seq2seq_task");
    CU_ASSERT_STRING_EQUAL(d->task, "add");
    CU_ASSERT(d->length == 3 && d->min_length == 1 && d->digits == 10 && d->n_train == 50000 && d->n_test == 2000);
    CU_ASSERT(d->batch == 64 && d->shuffle == 1);
    CU_ASSERT(cfg->metrics & DL_METRIC_EXACT_MATCH);
    compiled_free(&c);
    compiled_init(&c, src[1]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.mod);
    d = &c.mod->train->cfg.data;
    CU_ASSERT(fabsf(d->mlm - 0.2f) < 1e-7f && d->vocab == 4 && d->contiguous == 0);
    compiled_free(&c);
}

void suite_rt_seq2seq(void)
{
    CU_pSuite s = CU_add_suite("rt_seq2seq", NULL, NULL);
    CU_add_test(s, "tasks: every row against the task, PAD with min_length", test_tasks);
    CU_add_test(s, "test sources distinct and disjoint from training, seeded, errors", test_disjoint_and_seeded);
    CU_add_test(s, "batches: fields, every row once per epoch, reshuffled", test_batches);
    CU_add_test(s, "exact match and masked accuracy counts", test_exact_match);
    CU_add_test(s, "greedy decoding of a hand-made model", test_greedy_decode);
    CU_add_test(s, "masked tokens: 15% selected, 80/10/10, seeded", test_mlm_statistics);
    CU_add_test(s, "train section: seq2seq_task(...) and mlm", test_train_section);
}
