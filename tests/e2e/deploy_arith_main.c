/* deploy_arith_main.c — `dlnc export` of tests/e2e/deploy_arith.dln (an i32 output, and an id that
 * reaches a table only through arithmetic) against the training build, at the export's SEQ_LEN:
 * COUNT samples of random features and labels in [0, 3) (a fixed seed) through arith_forward and
 * arith_infer, in batches of MAX_BATCH: the logits and sq within BOUND, the i32 output `best` equal.
 * Then new features and a label of 3 (inside ARITH_IN_LABEL_VOCAB, but its square is past the second table) in the last
 * sample: arith_infer must return -1 with all three outputs untouched (they were written from the arena
 * only on success).
 *   usage: deploy_arith_main CHECKPOINT COUNT BOUND
 * Built beside model.h and model_infer.h (the export's, -o model_infer.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "model.h"
#include "model_infer.h"

enum { B = ARITH_MAX_BATCH, T = ARITH_SEQ_LEN, L = ARITH_OUT_LOGITS_FLOATS };

int main(int argc, char **argv)
{
    if (argc < 4 || ARITH_IN_FEATURES_FLOATS != T || ARITH_IN_LABEL_VOCAB != 4 || ARITH_OUT_BEST_IDS != 1 || ARITH_OUT_SQ_FLOATS != 2) return 2;
    const long count = atol(argv[2]);
    const double bound = atof(argv[3]);
    arith_model *m = arith_create(B, T);
    if (!m || arith_load(m, argv[1]) != 0) {
        fprintf(stderr, "deploy_arith_main: %s\n", dl_last_error());
        return 1;
    }
    static float x[B * T], rl[B * L], ol[B * L], kl[B * L], ra[B * 2], oa[B * 2], ka[B * 2];
    static int32_t y[B], rb[B], ob[B], kb[B];
    static float arena[(ARITH_ARENA_BYTES + 3) / 4];
    unsigned seed = 4242;
    double d = 0;
    long same = 0;
    int nb = 0;
    for (long i = 0; i < count; i += B) {
        nb = count - i < B ? (int)(count - i) : B;
        for (int j = 0; j < nb * T; j++) seed = seed * 1664525u + 1013904223u, x[j] = (float)(seed >> 8) / 16777216.0f;
        for (int j = 0; j < nb; j++) seed = seed * 1664525u + 1013904223u, y[j] = (int32_t)((seed >> 8) % 3);
        arith_forward(m, x, y, rl, rb, ra, nb, T);
        if (arith_infer(NULL, arena, x, y, ol, ob, oa, nb) != 0) {
            fprintf(stderr, "deploy_arith_main: arith_infer failed at sample %ld\n", i);
            return 1;
        }
        for (int j = 0; j < nb * L; j++)
            if (!(fabs(rl[j] - ol[j]) <= d)) d = isnan(ol[j]) ? INFINITY : fabs(rl[j] - ol[j]);
        for (int j = 0; j < nb; j++) same += rb[j] == ob[j];
        for (int j = 0; j < nb * 2; j++)
            if (!(fabs(ra[j] - oa[j]) <= d)) d = isnan(oa[j]) ? INFINITY : fabs(ra[j] - oa[j]);
    }
    memcpy(kl, ol, sizeof ol), memcpy(kb, ob, sizeof ob), memcpy(ka, oa, sizeof oa);
    for (int j = 0; j < nb * T; j++) x[j] = 1.0f - x[j]; /* new logits, which must not reach ol */
    y[nb - 1] = 3;
    const int refused = arith_infer(NULL, arena, x, y, ol, ob, oa, nb) == -1 && !memcmp(kl, ol, sizeof ol) && !memcmp(ka, oa, sizeof oa) &&
                        !memcmp(kb, ob, sizeof ob);
    printf("%ld samples: max |export - forward| = %.3g (bound %g), i32 output equal on %ld/%ld, "
           "an id squared past its table %s\n",
           count, d, bound, same, count, refused ? "refused with the outputs untouched" : "NOT refused cleanly");
    arith_free(m);
    return d <= bound && same == count && refused ? 0 : 1;
}
