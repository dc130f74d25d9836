/* deploy_state_main.c — `dlnc export` of a model with carried state
 * (tests/e2e/tbptt.dln: an LSTM whose h and c buffers carry the state from
 * one batch to the next) against the training build, as a streaming app uses
 * it: BATCH rows of CHUNKS * LMS_SEQ_LEN random ids (a fixed seed) fed in
 * chunks of LMS_SEQ_LEN through one lms_ctx. Checked:
 *   - chunk k's outputs equal the training build's forward over the whole
 *     sequence at once (T = CHUNKS * SEQ_LEN, from the zero state) at those
 *     positions, and its forward over chunk k alone with its state (m->state)
 *     set to the export's before the chunk (lms_ctx_get_state): |difference|
 *     at most BOUND;
 *   - lms_ctx_reset(ctx, -1) then chunk 0 gives chunk 0's first outputs again,
 *     bit for bit; lms_ctx_reset(ctx, 1) alone restarts row 1 only;
 *   - a state saved (get) and restored (set) into a fresh context continues
 *     identically;
 *   - two contexts (two arenas) streaming the same chunks in two OpenMP threads at
 *     once each match the whole-sequence forward within BOUND;
 *   - refused with -1: n other than the context's batch (state untouched), a
 *     batch past MAX_BATCH, a row past the batch, an id of VOCAB (state
 *     untouched).
 *   usage: deploy_state_main CHECKPOINT CHUNKS BOUND
 * Built beside model.c (the training build, included: the driver sets its lms_model's state) and
 * model_infer.h (the export). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.c"
#include "model_infer.h"

enum { BATCH = 3, L = LMS_SEQ_LEN, O = LMS_OUT_FLOATS / LMS_SEQ_LEN, S = LMS_STATE_FLOATS };

static double maxdiff(const float *a, const float *b, long n)
{
    double d = 0;
    for (long i = 0; i < n; i++)
        if (!(fabs(a[i] - b[i]) <= d)) d = isnan(a[i] - b[i]) ? INFINITY : fabs(a[i] - b[i]);
    return d;
}

/* The training build's m->state from the export's packed state: each buffer (h, then c: [batch, 32]) at
 * its offset, MAX_BATCH rows of its 16-float-aligned per-row size apart (emit_c.c's layout). */
static void put_state(lms_model *m, const float *packed, int mb)
{
    memcpy(m->state, packed, sizeof(float) * BATCH * 32);
    memcpy(m->state + 32 * mb, packed + BATCH * 32, sizeof(float) * BATCH * 32);
}

int main(int argc, char **argv)
{
    if (argc < 4 || S != 64) return 2;
    const int chunks = atoi(argv[2]), T = chunks * L, mb = LMS_MAX_BATCH;
    const double bound = atof(argv[3]);
    lms_model *m = lms_create(mb, T);
    if (chunks < 2 || !m || lms_load(m, argv[1]) != 0) {
        fprintf(stderr, "deploy_state_main: %s\n", dl_last_error());
        return 1;
    }
    int32_t *ids = malloc(sizeof(int32_t) * BATCH * T), *x = malloc(sizeof(int32_t) * BATCH * L);
    float *full = malloc(sizeof(float) * BATCH * T * O), *ref = malloc(sizeof(float) * BATCH * L * O);
    float *out = malloc(sizeof(float) * BATCH * L * O), *first = malloc(sizeof(float) * BATCH * L * O);
    float *st = malloc(sizeof(float) * BATCH * S), *st2 = malloc(sizeof(float) * BATCH * S);
    void *arena = malloc(LMS_ARENA_BYTES);
    unsigned seed = 12345;
    for (long j = 0; j < (long)BATCH * T; j++) {
        seed = seed * 1664525u + 1013904223u;
        ids[j] = (int32_t)((seed >> 8) % LMS_VOCAB);
    }
    lms_reset_state(m);
    lms_forward(m, ids, full, BATCH, T); /* the whole sequence at once */

    lms_ctx ctx, ctx2;
    int bad = lms_ctx_init(&ctx, BATCH) != 0;
    double d_full = 0, d_chunk = 0;
    for (int k = 0; k < chunks; k++) {
        for (int r = 0; r < BATCH; r++) memcpy(x + r * L, ids + r * T + k * L, sizeof(int32_t) * L);
        bad |= lms_ctx_get_state(&ctx, st) != 0;
        put_state(m, st, mb);
        lms_forward(m, x, ref, BATCH, L); /* chunk k alone, from the export's state */
        if (lms_infer(&ctx, NULL, arena, x, out, BATCH) != 0) {
            fprintf(stderr, "deploy_state_main: lms_infer failed at chunk %d\n", k);
            return 1;
        }
        if (k == 0) memcpy(first, out, sizeof(float) * BATCH * L * O);
        for (int r = 0; r < BATCH; r++) {
            const double d = maxdiff(out + r * L * O, full + ((long)r * T + k * L) * O, (long)L * O);
            if (!(d <= d_full)) d_full = d;
        }
        const double d = maxdiff(out, ref, (long)BATCH * L * O);
        if (!(d <= d_chunk)) d_chunk = d;
    }
    /* a session saved and restored: the next chunk the same in a fresh context */
    int same_restored = lms_ctx_get_state(&ctx, st) == 0 && lms_ctx_init(&ctx2, BATCH) == 0 &&
                        lms_ctx_set_state(&ctx2, st) == 0 && lms_ctx_get_state(&ctx2, st2) == 0 &&
                        !memcmp(st, st2, sizeof(float) * BATCH * S);
    for (int r = 0; r < BATCH; r++) memcpy(x + r * L, ids + r * T, sizeof(int32_t) * L);
    same_restored &= lms_infer(&ctx, NULL, arena, x, out, BATCH) == 0 && lms_infer(&ctx2, NULL, arena, x, ref, BATCH) == 0 &&
                     !memcmp(out, ref, sizeof(float) * BATCH * L * O);
    /* row 1 restarted alone: chunk 0 gives row 1 its first outputs, the other rows go on */
    int row_reset = lms_ctx_reset(&ctx, 1) == 0 && lms_infer(&ctx, NULL, arena, x, out, BATCH) == 0 &&
                    !memcmp(out + L * O, first + L * O, sizeof(float) * L * O) && memcmp(out, first, sizeof(float) * L * O);
    /* every row restarted: chunk 0 gives the first outputs again */
    int reset = lms_ctx_reset(&ctx, -1) == 0 && lms_infer(&ctx, NULL, arena, x, out, BATCH) == 0 &&
                !memcmp(out, first, sizeof(float) * BATCH * L * O);
    /* two streams at once in two threads, each with its own context and arena: each as alone */
    double d_threads = 0;
#pragma omp parallel for num_threads(2) reduction(max : d_threads)
    for (int t = 0; t < 2; t++) {
        lms_ctx c;
        void *ar = malloc(LMS_ARENA_BYTES);
        float *o = malloc(sizeof(float) * BATCH * L * O);
        int32_t xx[BATCH * L];
        int ok = ar && o && lms_ctx_init(&c, BATCH) == 0;
        for (int k = 0; k < chunks && ok; k++) {
            for (int r = 0; r < BATCH; r++) memcpy(xx + r * L, ids + r * T + k * L, sizeof(int32_t) * L);
            ok = lms_infer(&c, NULL, ar, xx, o, BATCH) == 0;
            for (int r = 0; r < BATCH && ok; r++) {
                const double d = maxdiff(o + r * L * O, full + ((long)r * T + k * L) * O, (long)L * O);
                if (!(d <= d_threads)) d_threads = d;
            }
        }
        if (!ok) d_threads = INFINITY;
        free(ar), free(o);
    }
    /* refusals: the state as it was */
    lms_ctx_get_state(&ctx, st);
    int refused = lms_infer(&ctx, NULL, arena, x, out, BATCH - 1) == -1;
    refused += lms_ctx_init(&ctx2, mb + 1) == -1;
    refused += lms_ctx_reset(&ctx, BATCH) == -1;
    x[BATCH * L - 1] = LMS_VOCAB;
    refused += lms_infer(&ctx, NULL, arena, x, out, BATCH) == -1;
    refused += lms_infer(NULL, NULL, arena, x, out, BATCH) == -1;
    lms_ctx_get_state(&ctx, st2);
    refused += !memcmp(st, st2, sizeof(float) * BATCH * S);
    printf("%d rows of %d ids in %d chunks of %d: max |export - forward over the whole sequence| = %.3g, "
           "- forward over each chunk from the export's state = %.3g (bound %g); reset all: %s, reset row 1: %s, "
           "state saved and restored: %s, two streams in two threads: %.3g, refusals: %d of 6\n",
           BATCH, T, chunks, L, d_full, d_chunk, bound, reset ? "same" : "DIFFERENT", row_reset ? "ok" : "WRONG",
           same_restored ? "same" : "DIFFERENT", d_threads, refused);
    lms_free(m);
    free(ids), free(x), free(full), free(ref), free(out), free(first), free(st), free(st2), free(arena);
    return !bad && d_full <= bound && d_chunk <= bound && d_threads <= bound && reset && row_reset && same_restored && refused == 6 ? 0 : 1;
}
