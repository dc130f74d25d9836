/* deploy_s2s_main.c — `dlnc export` of a model with two run-time lengths (tests/e2e/seq2seq_copy.dln:
 * source i32[N, S], target_in i32[N, T] -> f32[N, T, 14]) against the training build, at the export's
 * SEQ_LEN_S and SEQ_LEN_T: COUNT samples of random ids in [0, VOCAB) (a fixed seed) through
 * copy_forward and copy_infer, in batches of MAX_BATCH: max |difference| and the argmax at every
 * position. Then an id of VOCAB in the last source: -1, the output untouched.
 *   usage: deploy_s2s_main CHECKPOINT COUNT BOUND
 * Built beside model.h and model_infer.h (the export's, -o model_infer.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "model.h"
#include "model_infer.h"
#include "deploy_test.h"

enum { B = COPY_MAX_BATCH, S = COPY_SEQ_LEN_S, T = COPY_SEQ_LEN_T, O = COPY_OUT_OUTPUT_FLOATS, V = 14 };

int main(int argc, char **argv)
{
    if (argc < 4 || COPY_IN_SOURCE_IDS != S || COPY_IN_TARGET_IN_IDS != T || O != T * V || COPY_IN_SOURCE_VOCAB != V) return 2;
    const long count = atol(argv[2]);
    const double bound = atof(argv[3]);
    copy_model *m = copy_create(B, S, T);
    if (!m || copy_load(m, argv[1]) != 0) {
        fprintf(stderr, "deploy_s2s_main: %s\n", dl_last_error());
        return 1;
    }
    static int32_t src[B * S], tgt[B * T];
    static float ref[B * O], out[B * O], keep[B * O];
    static float arena[(COPY_ARENA_BYTES + 3) / 4];
    unsigned seed = 99;
    double d = 0;
    long agree = 0, rows = 0;
    int nb = 0;
    for (long i = 0; i < count; i += B) {
        nb = count - i < B ? (int)(count - i) : B;
        for (int j = 0; j < nb * S; j++) seed = seed * 1664525u + 1013904223u, src[j] = (int32_t)((seed >> 8) % V);
        for (int j = 0; j < nb * T; j++) seed = seed * 1664525u + 1013904223u, tgt[j] = (int32_t)((seed >> 8) % V);
        copy_forward(m, src, tgt, ref, nb, S, T);
        if (copy_infer(NULL, arena, src, tgt, out, nb) != 0) {
            fprintf(stderr, "deploy_s2s_main: copy_infer failed at sample %ld\n", i);
            return 1;
        }
        for (int j = 0; j < nb * O; j++)
            if (!(fabs(ref[j] - out[j]) <= d)) d = isnan(out[j]) ? INFINITY : fabs(ref[j] - out[j]);
        for (int r = 0; r < nb * T; r++, rows++) agree += argmax(ref + r * V, V) == argmax(out + r * V, V);
    }
    memcpy(keep, out, sizeof out);
    src[nb * S - 1] = V;
    const int refused = copy_infer(NULL, arena, src, tgt, out, nb) == -1 && !memcmp(keep, out, sizeof out);
    printf("%ld samples at S = %d, T = %d: max |export - forward| = %.3g (bound %g), argmax agrees on %ld/%ld "
           "positions, id %d %s\n", count, S, T, d, bound, agree, rows, V, refused ? "refused" : "NOT refused");
    copy_free(m);
    return d <= bound && agree == rows && refused ? 0 : 1;
}
