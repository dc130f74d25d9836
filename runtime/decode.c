/* decode.c — greedy autoregressive decoding of a sequence-to-sequence model.
 *
 * Teacher forcing feeds the decoder the true previous token, so a model
 * trained and measured that way is never shown its own mistakes; a number
 * measured so flatters it. Decoding feeds each argmax back: target_in starts
 * as BOS and PADs, and the model runs once per output position, the argmax
 * at t becoming target_in[t + 1]. Any model works that takes its decoder
 * input as `target_in` (i32[T], T a number or a symbol) beside inputs read
 * from the batch by name, and returns logits f32[T, V]: it is driven through
 * its io descriptors, as dl_generate drives a language model. The forward
 * is recomputed over the whole prefix at every step, O(T^2) for a T-token
 * answer; a model with a key/value cache would do better, and toy answers
 * are short. Positions after t are PAD while t is decoded, so even a model
 * that attends to the future (no causal mask) is given nothing of the
 * answer. */
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"

#define DEC_MAX 16

/* The input fed the decoded prefix: the one reading the field "target_in". */
static int decoder_input(const dl_model_api *api)
{
    for (int i = 0; i < api->n_inputs; i++) {
        const char *f = api->inputs[i].field ? api->inputs[i].field : api->inputs[i].name;
        if (strcmp(f, "target_in") == 0) return i;
    }
    return -1;
}

/* The logits output: f32 [T, V] per sample, T the decoder input's length. */
static int logits_output(const dl_model_api *api, int64_t tdim, int64_t *V)
{
    for (int k = 0; k < api->n_outputs; k++) {
        const dl_io_info *o = &api->outputs[k];
        if (o->dtype == DL_F32 && o->rank == 2 && o->shape[0] == tdim && o->shape[1] > 0) {
            *V = o->shape[1];
            return k;
        }
    }
    return -1;
}

/* Symbol values from the inputs' fields (the decoder input's from T);
 * -1 with an error when a field is missing or does not fit. */
static int bind_inputs(const dl_model_api *api, const dl_batch *b, int dec, int64_t T, const int32_t *dec_in,
                       const void **in, int64_t *sym)
{
    for (int i = 0; i < api->n_inputs; i++) {
        const dl_io_info *io = &api->inputs[i];
        const int64_t *shape = &T;
        int rank = 1;
        if (i == dec) {
            in[i] = dec_in;
        } else {
            const char *name = io->field ? io->field : io->name;
            const dl_field *f = dl_batch_find(b, name);
            if (!f || f->dtype != io->dtype || f->rank != io->rank) {
                dl_set_error("greedy decoding: model '%s' reads '%s' (%s, rank %d), which the batch %s", api->name,
                             name, io->dtype == DL_I32 ? "i32" : "f32", io->rank, f ? "has in another form" : "lacks");
                return -1;
            }
            in[i] = f->data;
            shape = f->shape;
            rank = f->rank;
        }
        if (rank != io->rank) {
            dl_set_error("greedy decoding: model '%s' takes '%s' with rank %d, not %d", api->name, io->name, io->rank,
                         rank);
            return -1;
        }
        for (int d = 0; d < io->rank; d++) {
            if (io->shape[d] >= 0 ? io->shape[d] != shape[d] : -io->shape[d] >= api->n_syms) {
                dl_set_error("greedy decoding: dimension %d of '%s' is %lld, the model takes %lld", d + 1, io->name,
                             (long long)shape[d], (long long)io->shape[d]);
                return -1;
            }
            if (io->shape[d] < 0) sym[-io->shape[d]] = shape[d];
        }
    }
    return 0;
}

int dl_greedy_decode(const dl_model_api *api, void *m, const dl_batch *b, int64_t T, int32_t *out)
{
    if (!api || !m || !b || !out || b->n < 1 || T < 1) {
        dl_set_error("dl_greedy_decode: missing argument, or n or T < 1");
        return -1;
    }
    const int dec = api->abi_version >= 4 ? decoder_input(api) : -1;
    int64_t V = 0;
    const int lo = dec >= 0 && api->inputs[dec].dtype == DL_I32 && api->inputs[dec].rank == 1
                       ? logits_output(api, api->inputs[dec].shape[0], &V) : -1;
    if (lo < 0 || !api->forward_io || api->n_inputs > DEC_MAX || api->n_outputs > DEC_MAX ||
        api->n_syms > DEC_MAX || V > 2147483647) {
        dl_set_error("model '%s' cannot be decoded greedily: that needs an input target_in i32[N, T] and an output of "
                     "logits f32[N, T, V]", api ? api->name : "?");
        return -1;
    }
    const int64_t n = b->n;
    int64_t sym[DEC_MAX] = {n};
    const void *in[DEC_MAX];
    void *outs[DEC_MAX] = {0};
    int32_t *dec_in = calloc((size_t)(n * T), sizeof *dec_in);   /* DL_TOK_PAD is 0 */
    char *finished = calloc((size_t)n, 1);
    int rc = -1;
    if (!dec_in || !finished) goto oom;
    if (bind_inputs(api, b, dec, T, dec_in, in, sym)) goto done;
    for (int k = 0; k < api->n_outputs; k++) {
        int64_t numel = n;
        for (int d = 0; d < api->outputs[k].rank; d++)
            numel *= api->outputs[k].shape[d] >= 0 ? api->outputs[k].shape[d] : sym[-api->outputs[k].shape[d]];
        if (!(outs[k] = malloc((size_t)numel * sizeof(float)))) goto oom;
    }
    for (int64_t i = 0; i < n; i++) dec_in[i * T] = DL_TOK_BOS;
    for (int64_t i = 0; i < n * T; i++) out[i] = DL_TOK_PAD;
    int64_t left = n;
    for (int64_t t = 0; t < T && left > 0; t++) {
        dl_clear_error();
        if (api->reset_state) api->reset_state(m);   /* each pass reads the prefix from its start */
        api->forward_io(m, in, outs, n, api->n_syms > 1 ? sym + 1 : NULL);
        if (dl_last_error()[0]) goto done;
        const float *logits = outs[lo];
        for (int64_t i = 0; i < n; i++) {
            if (finished[i]) continue;
            const int32_t tok = dl_argmax(logits + (i * T + t) * V, (int)V);
            out[i * T + t] = tok;
            if (t + 1 < T) dec_in[i * T + t + 1] = tok;
            if (tok == DL_TOK_EOS) finished[i] = 1, left--;
        }
    }
    rc = 0;
    goto done;
oom:
    dl_set_error("greedy decoding: out of memory");
done:
    for (int k = 0; k < DEC_MAX; k++) free(outs[k]);
    free(dec_in);
    free(finished);
    return rc;
}
