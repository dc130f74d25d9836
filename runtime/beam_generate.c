/* beam_generate.c — `dlnc sample --beam K`: the K likeliest continuations.
 *
 * The K beams run through the model together at batch K (the model is created
 * with max batch K), one position per step: beam b's logits at its last
 * position give the candidates b + v, and dl_beam_step keeps the K best by
 * the sum of their log probabilities. Text models have no end token, so every
 * beam runs the whole length and the length penalty divides every score by the
 * same length^alpha: it changes the scores printed, never the ranking.
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
    int32_t *cached;           /* K rows of context tokens: what each cache row was computed from */
    int64_t *cached_len;       /* K: how many positions of each row are in its cache */
    int32_t *win;              /* K windows: the model's input */
    double *scores, *next_scores, *scratch;
    int *parent, *token;
    char *text;
    void *outs[GEN_MAX_OUTPUTS];
} beam_bufs;

static void beam_free(beam_bufs *b) {
    free(b->ids), free(b->ids_next), free(b->cached), free(b->cached_len), free(b->win);
    free(b->scores), free(b->next_scores), free(b->scratch), free(b->parent), free(b->token), free(b->text);
    for (int k = 0; k < GEN_MAX_OUTPUTS; k++) free(b->outs[k]);
}

static int beam_alloc(beam_bufs *b, const dl_gen_request *r, int K, int64_t total) {
    const size_t k = (size_t)K;
    memset(b, 0, sizeof *b);
    b->ids = malloc(sizeof(int32_t) * k * (size_t)total);
    b->ids_next = malloc(sizeof(int32_t) * k * (size_t)total);
    b->cached = malloc(sizeof(int32_t) * k * (size_t)r->context);
    b->cached_len = calloc(k, sizeof(int64_t));
    b->win = malloc(sizeof(int32_t) * k * (size_t)r->context);
    b->scores = calloc(k, sizeof(double));
    b->next_scores = malloc(sizeof(double) * k);
    b->scratch = malloc(sizeof(double) * (size_t)r->V);
    b->parent = malloc(sizeof(int) * k);
    b->token = malloc(sizeof(int) * k);
    b->text = malloc((size_t)total + 1);
    int ok = b->ids && b->ids_next && b->cached && b->cached_len && b->win && b->scores && b->next_scores &&
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

static void beam_print(const dl_gen_request *r, beam_bufs *b, int n, int64_t total, FILE *out) {
    const dl_generate_options *o = r->o;
    for (int j = 0; j < (o->all_beams ? n : 1); j++) {
        dl_vocab_decode(r->vocab, b->ids + j * total, total, b->text);
        if (o->all_beams)
            fprintf(out, "beam %d: score %.6f, log p %.6f, %lld tokens\n", j + 1,
                    dl_beam_score(b->scores[j], o->length, o->length_penalty), b->scores[j], (long long)o->length);
        fwrite(b->text, 1, (size_t)total, out);
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
    const int64_t total = r->plen + o->length;
    beam_bufs b;
    void *m = NULL;
    int rc = -1, n = 1; /* one beam, the prompt, until the first step branches */
    if (beam_alloc(&b, r, K, total) != 0) goto done;
    memcpy(b.ids, r->prompt_ids, sizeof(int32_t) * (size_t)r->plen);
    const int64_t bounds[2] = {K, r->context};
    if (!(m = r->api->create_io(bounds)) || r->api->load(m, o->checkpoint) != 0) goto done;
    for (int64_t len = r->plen; len < total; len++) {
        const float *logits;
        int64_t stride;
        if (beam_logits(r, &b, m, n, total, len, &logits, &stride) != 0) goto done;
        const int kept = dl_beam_step(b.scores, n, logits, stride, r->vocab->size, K, b.scratch, b.parent, b.token,
                                      b.next_scores);
        if (kept < 1) goto done;
        for (int j = 0; j < kept; j++) {
            memcpy(b.ids_next + j * total, b.ids + b.parent[j] * total, sizeof(int32_t) * (size_t)len);
            b.ids_next[j * total + len] = b.token[j];
        }
        int32_t *t = b.ids; b.ids = b.ids_next; b.ids_next = t;
        double *s = b.scores; b.scores = b.next_scores; b.next_scores = s;
        n = kept;
    }
    beam_print(r, &b, n, total, out);
    rc = 0;
done:
    if (m) r->api->destroy(m);
    beam_free(&b);
    return rc;
}
