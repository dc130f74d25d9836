/* decode_latency.c — batch-1 generation cost per token of a decoder model:
 * with its key/value cache (decode_io: the new position only) against
 * recomputing the window (forward_io over every position so far), as
 * `dlnc sample` runs with and without --no-cache.
 *
 * Linked with a model's generated C and libdlnrt (bench/run.sh builds it for
 * samples/gpt_char.dln). From a one-token prompt it generates up to the
 * model's context (the train section's seq_len), feeding back fixed token
 * ids (the logits are not sampled: only the time matters), best of 5 runs:
 *
 *   decode_ms=... recompute_ms=... context=64
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dlnrt.h"

const dl_model_api *dlnc_entry(void);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
    const dl_model_api *api = dlnc_entry();
    if (!api->decode_io || api->n_inputs != 1 || api->n_outputs < 1) {
        fprintf(stderr, "decode_latency: model '%s' has no key/value cache: %s\n", api->name,
                api->no_decode ? api->no_decode : "not a decoder");
        return 1;
    }
    const int64_t T = api->train && api->train->data.seq_len > 0 ? api->train->data.seq_len : 64;
    const int64_t bounds[2] = {1, T};
    void *m = api->create_io(bounds);
    if (!m) {
        fprintf(stderr, "decode_latency: %s\n", dl_last_error());
        return 1;
    }
    api->init(m, 1);
    int64_t width = 1;
    for (int d = 0; d < api->outputs[0].rank; d++) width *= api->outputs[0].shape[d] < 0 ? 1 : api->outputs[0].shape[d];
    int32_t *ids = malloc(sizeof *ids * (size_t)T);
    float *out = malloc(sizeof(float) * (size_t)(T * width));
    for (int64_t i = 0; i < T; i++) ids[i] = (int32_t)(i * 7 % 13);
    void *outs[1] = {out};
    double best[2] = {1e30, 1e30};
    for (int rep = 0; rep < 5; rep++)
        for (int cached = 0; cached < 2; cached++) {
            double t0 = now();
            for (int64_t len = 1; len <= T; len++) {
                const void *in[1] = {cached ? ids + len - 1 : ids};
                const int64_t t = cached ? 1 : len;
                if (cached) api->decode_io(m, in, outs, 1, &t, len - 1);
                else api->forward_io(m, in, outs, 1, &t);
            }
            double per = (now() - t0) / (double)T;
            if (per < best[cached]) best[cached] = per;
        }
    if (dl_last_error()[0]) {
        fprintf(stderr, "decode_latency: %s\n", dl_last_error());
        return 1;
    }
    printf("decode_ms=%.4f recompute_ms=%.4f context=%lld\n", best[1] * 1e3, best[0] * 1e3, (long long)T);
    api->destroy(m);
    free(ids);
    free(out);
    return 0;
}
