/* seq2seq_task.c — the classic toy sequence-to-sequence tasks, generated in
 * memory: reverse, copy or sort a sequence of digits, or add two numbers.
 *
 * They are what an encoder-decoder is first tried on: the answer is a pure
 * function of the source, so a model either learned the task or it did not,
 * and exact match (every token of the answer right) measures it without
 * ambiguity. For that number to mean generalization, the test sources are
 * drawn first, distinct, and kept in a hash set; a training draw equal to one
 * of them is drawn again. Every row comes from one generator seeded once,
 * consumed in row order: the same seed gives the same data. */
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"

/* The limits dlnc checks at compile time too (elab_train.c). */
#define S2S_MAX_LENGTH 1024
#define S2S_MAX_DIGITS 1000
#define S2S_MAX_CELLS ((int64_t)1 << 28) /* ids in all rows: 1 GiB */

enum { TASK_REVERSE, TASK_COPY, TASK_SORT, TASK_ADD };

static int task_kind(const char *task)
{
    static const char *const names[] = {"reverse", "copy", "sort", "add"};
    for (int k = 0; task && k < 4; k++)
        if (strcmp(task, names[k]) == 0) return k;
    return -1;
}

int dl_seq2seq_lengths(const char *task, int64_t length, int64_t *S, int64_t *T)
{
    const int k = task_kind(task);
    if (k < 0) {
        dl_set_error("seq2seq_task: unknown task '%s' (expected reverse, copy, sort or add)", task ? task : "(null)");
        return -1;
    }
    /* the answer, then EOS; a sum has one digit more than its longer term */
    *S = k == TASK_ADD ? 2 * length + 1 : length;
    *T = k == TASK_ADD ? length + 2 : length + 1;
    return 0;
}

/* a + b, saturating at 2^62 (the counts below only need "large"). */
static int64_t sat_add(int64_t a, int64_t b) { return a > ((int64_t)1 << 62) - b ? (int64_t)1 << 62 : a + b; }
static int64_t sat_mul(int64_t a, int64_t b) { return b && a > (((int64_t)1 << 62) / b) ? (int64_t)1 << 62 : a * b; }

/* How many distinct sources the task has (saturating). */
static int64_t source_space(int kind, int64_t lo, int64_t hi, int64_t digits)
{
    int64_t total = 0, power = 1;   /* digits^(k-1) */
    for (int64_t k = 1; k <= hi; k++) {
        /* sequences of k digits, or numbers of k digits (no leading zero unless k = 1) */
        const int64_t count = kind != TASK_ADD ? sat_mul(power, digits) : k == 1 ? digits : sat_mul(power, digits - 1);
        if (k >= lo) total = sat_add(total, count);
        power = sat_mul(power, digits);
    }
    return kind == TASK_ADD ? sat_mul(total, total) : total;
}

int64_t dl_seq2seq_sources(const dl_data_config *dc)
{
    const int kind = task_kind(dc->task);
    if (kind < 0 || dc->min_length < 1 || dc->min_length > dc->length || dc->digits < 2) return -1;
    return source_space(kind, dc->min_length, dc->length, dc->digits);
}

static int64_t draw(dl_rng *r, int64_t n) { return (int64_t)(dl_rng_next(r) % (uint64_t)n); }

/* k digits of a number (most significant first, nonzero unless k = 1) into d. */
static void draw_number(dl_rng *r, int64_t k, int64_t digits, int32_t *d)
{
    for (int64_t i = 0; i < k; i++) d[i] = (int32_t)(i == 0 && k > 1 ? 1 + draw(r, digits - 1) : draw(r, digits));
}

/* One sequence: its source row (S ids) and target row (T ids); x, y, work are scratch. */
static void make_row(int kind, const dl_data_config *dc, int64_t S, int64_t T, dl_rng *r, int32_t *src, int32_t *tgt,
                     int32_t *x, int32_t *y, int64_t *count)
{
    const int64_t lo = dc->min_length, span = dc->length - lo + 1, D = dc->digits;
    int64_t ny;
    for (int64_t i = 0; i < S; i++) src[i] = DL_TOK_PAD;
    for (int64_t i = 0; i < T; i++) tgt[i] = DL_TOK_PAD;
    if (kind == TASK_ADD) {
        const int64_t ka = lo + draw(r, span), kb = lo + draw(r, span);
        draw_number(r, ka, D, x);
        draw_number(r, kb, D, x + ka);
        for (int64_t i = 0; i < ka; i++) src[i] = DL_TOK_DIGIT0 + x[i];
        src[ka] = DL_TOK_SEP;
        for (int64_t i = 0; i < kb; i++) src[ka + 1 + i] = DL_TOK_DIGIT0 + x[ka + i];
        /* schoolbook addition from the least significant digit, into y reversed */
        int64_t carry = 0;
        ny = 0;
        for (int64_t i = 0; i < ka || i < kb || carry; i++) {
            const int64_t s = (i < ka ? x[ka - 1 - i] : 0) + (i < kb ? x[ka + kb - 1 - i] : 0) + carry;
            y[ny++] = (int32_t)(s % D);
            carry = s / D;
        }
        while (ny > 1 && y[ny - 1] == 0) ny--;   /* 0 + 0 = 0, one digit */
        for (int64_t i = 0; i < ny / 2; i++) {
            const int32_t t = y[i];
            y[i] = y[ny - 1 - i];
            y[ny - 1 - i] = t;
        }
    } else {
        const int64_t k = lo + draw(r, span);
        for (int64_t i = 0; i < k; i++) x[i] = (int32_t)draw(r, D), src[i] = DL_TOK_DIGIT0 + x[i];
        ny = k;
        if (kind == TASK_REVERSE)
            for (int64_t i = 0; i < k; i++) y[i] = x[k - 1 - i];
        else if (kind == TASK_COPY)
            memcpy(y, x, (size_t)k * sizeof *y);
        else {   /* counting sort, ascending */
            memset(count, 0, (size_t)D * sizeof *count);
            for (int64_t i = 0; i < k; i++) count[x[i]]++;
            ny = 0;
            for (int64_t d = 0; d < D; d++)
                for (int64_t c = 0; c < count[d]; c++) y[ny++] = (int32_t)d;
        }
    }
    for (int64_t i = 0; i < ny; i++) tgt[i] = DL_TOK_DIGIT0 + y[i];
    tgt[ny] = DL_TOK_EOS;
}

static uint64_t row_hash(const int32_t *row, int64_t n)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a over the ids */
    for (int64_t i = 0; i < n; i++) h = (h ^ (uint32_t)row[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

/* Open addressing over the test rows: slot holds row index + 1, 0 = empty. */
typedef struct row_set {
    int64_t *slot;
    uint64_t mask;
    const int32_t *rows;
    int64_t width;
} row_set;

/* 1 if row is in the set; otherwise inserts it as index `as` when as >= 0. */
static int row_set_probe(row_set *s, const int32_t *row, int64_t as)
{
    for (uint64_t i = row_hash(row, s->width) & s->mask;; i = (i + 1) & s->mask) {
        if (s->slot[i] == 0) {
            if (as >= 0) s->slot[i] = as + 1;
            return 0;
        }
        if (memcmp(s->rows + (s->slot[i] - 1) * s->width, row, (size_t)s->width * sizeof *row) == 0) return 1;
    }
}

static int check_config(const dl_data_config *dc, int kind, int64_t S, int64_t T)
{
    if (dc->length < 1 || dc->length > S2S_MAX_LENGTH || dc->min_length < 1 || dc->min_length > dc->length) {
        dl_set_error("seq2seq_task: need 1 <= min_length <= length <= %d (got min_length %lld, length %lld)",
                     S2S_MAX_LENGTH, (long long)dc->min_length, (long long)dc->length);
        return -1;
    }
    if (dc->digits < 2 || dc->digits > S2S_MAX_DIGITS) {
        dl_set_error("seq2seq_task: digits must be in [2, %d], got %lld", S2S_MAX_DIGITS, (long long)dc->digits);
        return -1;
    }
    if (dc->n_train < 1 || dc->n_test < 0 || dc->batch < 1) {
        dl_set_error("seq2seq_task: need train >= 1, test >= 0 and batch >= 1");
        return -1;
    }
    const int64_t rows = dc->n_train + dc->n_test, space = source_space(kind, dc->min_length, dc->length, dc->digits);
    if (rows > S2S_MAX_CELLS / (S + 2 * T)) {
        dl_set_error("seq2seq_task: %lld sequences of %lld + 2 x %lld ids are more than %lld ids", (long long)rows,
                     (long long)S, (long long)T, (long long)S2S_MAX_CELLS);
        return -1;
    }
    if (dc->n_test > space / 2) {
        dl_set_error("seq2seq_task: the task '%s' has %lld distinct sources at these lengths and digits; a test set of "
                     "%lld would leave too few to train on (at most half, %lld)", dc->task, (long long)space,
                     (long long)dc->n_test, (long long)(space / 2));
        return -1;
    }
    return 0;
}

int dl_seq2seq_generate(const dl_data_config *dc, uint64_t seed, dl_seq2seq_data *out)
{
    memset(out, 0, sizeof *out);
    const int kind = task_kind(dc->task);
    int64_t S, T;
    if (dl_seq2seq_lengths(dc->task, dc->length, &S, &T) || check_config(dc, kind, S, T)) return -1;
    const int64_t rows = dc->n_train + dc->n_test;
    *out = (dl_seq2seq_data){.n_train = dc->n_train, .n_test = dc->n_test, .S = S, .T = T, .vocab = dc->digits + 4};
    out->source = malloc((size_t)(rows * S) * sizeof *out->source);
    out->target = malloc((size_t)(rows * T) * sizeof *out->target);
    out->target_in = malloc((size_t)(rows * T) * sizeof *out->target_in);
    int32_t *x = malloc((size_t)(2 * dc->length + 2) * sizeof *x), *y = malloc((size_t)(dc->length + 2) * sizeof *y);
    int64_t *count = malloc((size_t)dc->digits * sizeof *count);
    uint64_t cap = 2;
    while (cap < 2 * (uint64_t)dc->n_test + 2) cap *= 2;
    row_set set = {.slot = calloc(cap, sizeof *set.slot), .mask = cap - 1, .rows = out->source + dc->n_train * S,
                   .width = S};
    int rc = -1;
    if (!out->source || !out->target || !out->target_in || !x || !y || !count || !set.slot) {
        dl_set_error("seq2seq_task: out of memory for %lld sequences", (long long)rows);
        goto done;
    }
    dl_rng r;
    dl_rng_seed(&r, seed ^ 0x5e25e9ULL);
    /* the test rows first (they live after the training rows), each new */
    for (int64_t i = dc->n_train; i < rows; i++)
        do make_row(kind, dc, S, T, &r, out->source + i * S, out->target + i * T, x, y, count);
        while (row_set_probe(&set, out->source + i * S, i - dc->n_train));
    /* the set holds at most half the sources, so a draw is new with probability >= 1/2 */
    for (int64_t i = 0; i < dc->n_train; i++)
        do make_row(kind, dc, S, T, &r, out->source + i * S, out->target + i * T, x, y, count);
        while (dc->n_test && row_set_probe(&set, out->source + i * S, -1));
    for (int64_t i = 0; i < rows; i++) {
        int32_t *in = out->target_in + i * T;
        in[0] = DL_TOK_BOS;
        memcpy(in + 1, out->target + i * T, (size_t)(T - 1) * sizeof *in);
    }
    rc = 0;
done:
    free(x);
    free(y);
    free(count);
    free(set.slot);
    if (rc) dl_seq2seq_free(out);
    return rc;
}

void dl_seq2seq_free(dl_seq2seq_data *d)
{
    if (!d) return;
    free(d->source);
    free(d->target_in);
    free(d->target);
    memset(d, 0, sizeof *d);
}
