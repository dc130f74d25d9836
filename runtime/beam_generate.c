/* beam_generate.c — `dlnc sample --beam K`: the K likeliest continuations.
 *
 * The K beams run through the model together at batch K (the model is created
 * with max batch K), one position per step: beam b's logits at its last
 * position give the candidates b + v, and dl_beam_step keeps the K best by
 * the sum of their log probabilities. Text models have no end token of their
 * own: without o->end every beam runs the whole length and the length penalty
 * divides every score by the same length^alpha. With one, Hugging Face's rule
 * with early_stopping=True: of the 2K best candidates, an end among the K best
 * finishes a beam (dl_beam_done_add keeps the K best by sum / length^alpha),
 * the rest continue until there are K, and the search stops when K have
 * finished; if the length runs out first, the running beams join them.
 *
 * The key/value cache: cache row b holds the keys of the tokens beam b had
 * when they were computed. After a step beam b may descend from another
 * beam, so row b is valid only up to the first position where its cached
 * tokens and beam b's tokens differ; the step recomputes, at batch K, every
 * position from the smallest such prefix over the beams (decode_io with that
 * pos), which rewrites each row for its new beam. Beams share the prompt and
 * usually long prefixes, so this is a few positions, and the logits are those
 * of recomputing the window (--no-cache) up to float rounding: decode_io runs
 * forward_io's kernels at other lengths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "generate_internal.h"

typedef struct beam_bufs {
    int32_t *ids, *ids_next;   /* K rows of total tokens: the beams, the next step's */
    int32_t *fin;              /* K rows of total tokens: the finished beams (done.slot) */
    dl_beam_done done;
    int32_t *cached;           /* K rows of context tokens: what each cache row was computed from */
    int64_t *cached_len;       /* K: how many positions of each row are in its cache */
    int32_t *win;              /* K windows: the model's input */
    double *scores, *next_scores, *scratch;
    int *parent, *token;
    char *text;
    void *outs[GEN_MAX_OUTPUTS];
} beam_bufs;

static void beam_free(beam_bufs *b) {
    free(b->ids), free(b->ids_next), free(b->fin), free(b->cached), free(b->cached_len), free(b->win);
    free(b->scores), free(b->next_scores), free(b->scratch), free(b->parent), free(b->token), free(b->text);
    for (int k = 0; k < GEN_MAX_OUTPUTS; k++) free(b->outs[k]);
}

static int beam_alloc(beam_bufs *b, const dl_gen_request *r, int K, int64_t total) {
    const size_t k = (size_t)K;
    memset(b, 0, sizeof *b);
    b->ids = malloc(sizeof(int32_t) * k * (size_t)total);
    b->ids_next = malloc(sizeof(int32_t) * k * (size_t)total);
    b->fin = malloc(sizeof(int32_t) * k * (size_t)total);
    b->done.K = K;
    b->cached = malloc(sizeof(int32_t) * k * (size_t)r->context);
    b->cached_len = calloc(k, sizeof(int64_t));
    b->win = malloc(sizeof(int32_t) * k * (size_t)r->context);
    b->scores = calloc(2 * k, sizeof(double)); /* swapped with next_scores */
    b->next_scores = malloc(sizeof(double) * 2 * k); /* 2K candidates: K may end */
    b->scratch = malloc(sizeof(double) * (size_t)r->V);
    b->parent = malloc(sizeof(int) * 2 * k);
    b->token = malloc(sizeof(int) * 2 * k);
    b->text = malloc((size_t)total + 1);
    int ok = b->ids && b->ids_next && b->fin && b->cached && b->cached_len && b->win && b->scores && b->next_scores &&
             b->scratch && b->parent && b->token && b->text;
    for (int j = 0; ok && j < r->api->n_outputs; j++)
        ok = (b->outs[j] = malloc(sizeof(float) * k * (size_t)dl_gen_output_numel(&r->api->outputs[j], r->context))) != NULL;
    if (!ok) dl_set_error("beam search: out of memory (K = %d)", K);
    return ok ? 0 : -1;
}

/* The first position from which the caches of beams 0..n-1 must be recomputed. */
static int64_t beam_valid_prefix(const beam_bufs *b, int n, int64_t total, int64_t context, int64_t len) {
    int64_t pos = len - 1; /* at least the last position: its logits are the step's */
    for (int j = 0; j < n; j++) {
        int64_t p = 0;
        while (p < b->cached_len[j] && p < pos && b->cached[j * context + p] == b->ids[j * total + p]) p++;
        if (p < pos) pos = p;
    }
    return pos;
}

/* One model call for beams 0..n-1 of length len: their logits at the last
 * position, set in *logits with *stride floats from one beam's to the next. */
static int beam_logits(const dl_gen_request *r, beam_bufs *b, void *m, int n, int64_t total, int64_t len,
                       const float **logits, int64_t *stride) {
    const dl_model_api *api = r->api;
    const int64_t C = r->context;
    dl_clear_error();
    if (api->decode_io && !r->o->no_cache && len <= C) {
        const int64_t pos = beam_valid_prefix(b, n, total, C, len), fresh = len - pos;
        for (int j = 0; j < n; j++) memcpy(b->win + j * fresh, b->ids + j * total + pos, sizeof(int32_t) * (size_t)fresh);
        const void *in[1] = {b->win};
        api->decode_io(m, in, b->outs, n, &fresh, pos);
        for (int j = 0; j < n; j++) {
            memcpy(b->cached + j * C, b->ids + j * total, sizeof(int32_t) * (size_t)len);
            b->cached_len[j] = len;
        }
        *logits = (const float *)b->outs[r->lo] + (fresh - 1) * r->V;
        *stride = fresh * r->V;
    } else {
        const int64_t t = len < C ? len : C;
        for (int j = 0; j < n; j++) memcpy(b->win + j * t, b->ids + j * total + len - t, sizeof(int32_t) * (size_t)t);
        const void *in[1] = {b->win};
        if (api->reset_state) api->reset_state(m); /* each window is read from its start */
        api->forward_io(m, in, b->outs, n, &t);
        for (int j = 0; j < n; j++) b->cached_len[j] = 0; /* forward_io leaves the caches alone */
        *logits = (const float *)b->outs[r->lo] + (t - 1) * r->V;
        *stride = t * r->V;
    }
    return dl_last_error()[0] ? -1 : 0;
}

/* Keeps a beam of `len` tokens (prompt included) among the finished ones. */
static void beam_finish(beam_bufs *b, const int32_t *ids, double sum, int64_t len, int64_t plen, int64_t total,
                        double alpha) {
    const int slot = dl_beam_done_add(&b->done, sum, len - plen, alpha);
    if (slot >= 0) memcpy(b->fin + slot * total, ids, sizeof(int32_t) * (size_t)len);
}

static void beam_print(const dl_gen_request *r, beam_bufs *b, int64_t total, FILE *out) {
    const dl_beam_done *d = &b->done;
    for (int j = 0; j < (r->o->all_beams ? d->n : 1); j++) {
        const int64_t len = r->plen + d->length[j];
        dl_vocab_decode(r->vocab, b->fin + d->slot[j] * total, len, b->text);
        if (r->o->all_beams)
            fprintf(out, "beam %d: score %.6f, log p %.6f, %lld tokens\n", j + 1, d->score[j], d->sum[j],
                    (long long)d->length[j]);
        fwrite(b->text, 1, (size_t)len, out);
        fputc('\n', out);
    }
    fflush(out);
}

int dl_generate_beam(const dl_gen_request *r, FILE *out) {
    const dl_generate_options *o = r->o;
    const int K = o->beam;
    if (K < 1 || K > DL_BEAM_MAX) {
        dl_set_error("beam search: the beam width must be 1 to %d, got %d", DL_BEAM_MAX, K);
        return -1;
    }
    if (!(o->length_penalty > -1e6 && o->length_penalty < 1e6)) {
        dl_set_error("beam search: the length penalty must be a finite number, got %g", o->length_penalty);
        return -1;
    }
    int end = -1; /* the end token's id */
    if (o->end) {
        const unsigned char e = (unsigned char)o->end[0];
        if (!o->end[0] || o->end[1] || (end = r->vocab->id[e]) < 0) {
            dl_set_error("beam search: the end token must be one byte of the model's vocabulary, not \"%s\"", o->end);
            return -1;
        }
    }
    const int64_t total = r->plen + o->length;
    beam_bufs b;
    void *m = NULL;
    int rc = -1, n = 1; /* one beam, the prompt, until the first step branches */
    if (beam_alloc(&b, r, K, total) != 0) goto done;
    memcpy(b.ids, r->prompt_ids, sizeof(int32_t) * (size_t)r->plen);
    const int64_t bounds[2] = {K, r->context};
    if (!(m = r->api->create_io(bounds)) || r->api->load(m, o->checkpoint) != 0) goto done;
    int64_t len = r->plen;
    for (; len < total && n > 0 && b.done.n < K; len++) { /* early stopping: K finished beams */
        const float *logits;
        int64_t stride;
        if (beam_logits(r, &b, m, n, total, len, &logits, &stride) != 0) goto done;
        /* 2K candidates with an end token: at most K of them end, K go on */
        const int kept = dl_beam_step(b.scores, n, logits, stride, r->vocab->size, end < 0 ? K : 2 * K, b.scratch,
                                      b.parent, b.token, b.next_scores);
        if (kept < 1) goto done;
        int next = 0;
        for (int j = 0; j < kept && next < K; j++) {
            int32_t *row = b.ids_next + next * total;
            memcpy(row, b.ids + b.parent[j] * total, sizeof(int32_t) * (size_t)len);
            row[len] = b.token[j];
            if (b.token[j] != end) {
                b.next_scores[next++] = b.next_scores[j]; /* j >= next: not yet read */
            } else if (j < K) { /* an end among the K best finishes a beam; lower ranks are dropped */
                beam_finish(&b, row, b.next_scores[j], len + 1, r->plen, total, o->length_penalty);
            }
        }
        int32_t *t = b.ids; b.ids = b.ids_next; b.ids_next = t;
        double *s = b.scores; b.scores = b.next_scores; b.next_scores = s;
        n = next;
    }
    if (b.done.n < K) /* the length ran out: the running beams join the finished ones */
        for (int j = 0; j < n; j++) beam_finish(&b, b.ids + j * total, b.scores[j], len, r->plen, total, o->length_penalty);
    beam_print(r, &b, total, out);
    rc = 0;
done:
    if (m) r->api->destroy(m);
    beam_free(&b);
    return rc;
}
