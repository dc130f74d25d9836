/* generate.c — text from a trained language model (`dlnc sample`).
 *
 * Any compiled model whose one input is i32[N, T] token ids and one of whose
 * outputs is f32[N, T, V] next-token logits (a character LSTM, a GPT) can
 * generate. It runs at batch 1: the prompt, then one token at a time, each
 * drawn from the logits at the last position of the window of the last
 * `context` tokens, so a model sees the context lengths it was trained on.
 * A model with an incremental form (decode_io: a transformer whose
 * attention caches its keys and values) computes only the new position
 * while the window still starts at the first token, and the whole window
 * again once it slides (positions then shift, so nothing cached is valid):
 * the same logits as recomputing, at O(1) positions per token instead of
 * O(context) until the context is full.
 * Sampling is dl_sample_logits_p (temperature, top-k, top-p) with a seeded
 * generator: the same checkpoint, prompt, seed and settings give the same text.
 * With o->beam the same checks lead to beam search instead (beam_generate.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "generate_internal.h"

/* The logits output: f32 [T, V] per sample; -1 if the model has none. */
static int logits_output(const dl_model_api *api, int64_t *vocab) {
    for (int k = 0; k < api->n_outputs; k++) {
        const dl_io_info *o = &api->outputs[k];
        if (o->dtype == DL_F32 && o->rank == 2 && o->shape[0] == DL_DIM_SYM(1) && o->shape[1] > 0) {
            *vocab = o->shape[1];
            return k;
        }
    }
    return -1;
}

int64_t dl_gen_output_numel(const dl_io_info *o, int64_t t) {
    int64_t n = 1;
    for (int d = 0; d < o->rank; d++) n *= o->shape[d] < 0 ? t : o->shape[d];
    return n;
}

/* Appends token `next` to ids and prints it. */
static void emit_token(const dl_vocab *vocab, int32_t *ids, int64_t *len, int next, FILE *out) {
    ids[(*len)++] = next;
    char ch[2]; /* the byte and the terminator dl_vocab_decode writes */
    dl_vocab_decode(vocab, ids + *len - 1, 1, ch);
    fputc(ch[0], out);
    fflush(out);
}

int dl_generate(const dl_model_api *api, const dl_generate_options *o, FILE *out) {
    if (!api || !o || !out) {
        dl_set_error("dl_generate: missing argument");
        return -1;
    }
    int64_t V = 0;
    const int lo = api->abi_version >= 4 ? logits_output(api, &V) : -1;
    if (lo < 0 || api->n_inputs != 1 || api->n_syms != 2 || api->inputs[0].dtype != DL_I32 ||
        api->inputs[0].rank != 1 || api->inputs[0].shape[0] != DL_DIM_SYM(1) || !api->create_io ||
        !api->forward_io || api->n_outputs > GEN_MAX_OUTPUTS) {
        dl_set_error("model '%s' cannot generate text: sampling needs one input of token ids i32[N, T] and an output "
                     "of next-token logits f32[N, T, V]", api->name);
        return -1;
    }
    if (!o->checkpoint) {
        dl_set_error("sampling needs the trained model: --checkpoint FILE (what `dlnc run --checkpoint FILE` saved)");
        return -1;
    }
    if (o->length < 0 || !(o->temperature >= 0) || o->top_k < 0 || o->context < 0) {
        dl_set_error("sampling: length, temperature, top-k and context must not be negative");
        return -1;
    }
    if (!(o->top_p >= 0 && o->top_p <= 1)) {
        dl_set_error("sampling: top-p must be in (0, 1], got %g", (double)o->top_p);
        return -1;
    }
    const float top_p = o->top_p > 0 ? o->top_p : 1.0f; /* 0 (an options struct left zeroed): off */
    dl_vocab vocab;
    if (dl_vocab_load(o->checkpoint, &vocab) != 0) return -1;
    if (vocab.size > V) {
        dl_set_error("%s: its vocabulary has %d tokens but the model's logits have %lld", o->checkpoint, vocab.size,
                     (long long)V);
        return -1;
    }
    const char *prompt = o->prompt && o->prompt[0] ? o->prompt : "\n";
    const int64_t plen = (int64_t)strlen(prompt);
    const int64_t seq = api->train ? api->train->data.seq_len : 0;
    const int64_t context = o->context > 0 ? o->context : seq > 0 ? seq : 64;
    int32_t *ids = malloc(sizeof *ids * (size_t)(plen + o->length));
    void *outs[GEN_MAX_OUTPUTS] = {0};
    void *m = NULL;
    int rc = -1;
    if (!ids) {
        dl_set_error("sampling: out of memory");
        goto done;
    }
    for (int k = 0; k < api->n_outputs; k++)
        if (!(outs[k] = malloc(sizeof(float) * (size_t)dl_gen_output_numel(&api->outputs[k], context)))) {
            dl_set_error("sampling: out of memory");
            goto done;
        }
    if (dl_vocab_encode(&vocab, prompt, plen, ids) != 0) goto done;
    if (o->beam > 0) { /* no sampling: the K best continuations (beam_generate.c) */
        const dl_gen_request r = {api, o, &vocab, lo, V, context, ids, plen};
        rc = dl_generate_beam(&r, out);
        goto done;
    }
    const int64_t bounds[2] = {1, context};
    if (!(m = api->create_io(bounds)) || api->load(m, o->checkpoint) != 0) goto done;
    dl_rng rng;
    dl_rng_seed(&rng, o->seed);
    fputs(prompt, out);
    int64_t len = plen, cached = 0; /* decode: positions 0 .. cached-1 of the window starting at ids[0] are cached */
    for (int64_t i = 0; i < o->length; i++) {
        const int64_t t = len < context ? len : context;
        dl_clear_error();
        if (api->decode_io && !o->no_cache && len <= context) {
            const int64_t fresh = len - cached;
            const void *in[1] = {ids + cached};
            api->decode_io(m, in, outs, 1, &fresh, cached);
            cached = len;
            if (dl_last_error()[0]) goto done;
            const int next = dl_sample_logits_p((const float *)outs[lo] + (fresh - 1) * V, vocab.size, o->temperature,
                                                o->top_k, top_p, &rng);
            if (next < 0) goto done;
            emit_token(&vocab, ids, &len, next, out);
            continue;
        }
        const void *in[1] = {ids + len - t};
        if (api->reset_state) api->reset_state(m); /* each window is read from its start */
        api->forward_io(m, in, outs, 1, &t);
        if (dl_last_error()[0]) goto done;
        const int next = dl_sample_logits_p((const float *)outs[lo] + (t - 1) * V, vocab.size, o->temperature,
                                            o->top_k, top_p, &rng);
        if (next < 0) goto done;
        emit_token(&vocab, ids, &len, next, out);
    }
    fputc('\n', out);
    rc = 0;
done:
    if (m) api->destroy(m);
    for (int k = 0; k < GEN_MAX_OUTPUTS; k++) free(outs[k]);
    free(ids);
    return rc;
}
