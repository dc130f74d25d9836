/* deploy_pair_main.c — `dlnc export` of a model with two inputs and two
 * outputs (tests/e2e/iface.dln's pair: features f32[N, T], label i32[N] ->
 * logits f32[N, 3], scaled f32[N, T]) against the training build, at the
 * export's SEQ_LEN: COUNT samples of random features and labels (a fixed
 * seed) through pair_forward and pair_infer, in batches of MAX_BATCH. Then
 * a NULL second input must return -1 with both outputs untouched. Exit 0
 * when both outputs differ by at most BOUND and the NULL is refused.
 *   usage: deploy_pair_main CHECKPOINT COUNT BOUND
 * Built beside model.h and model_infer.h (the export's, -o model_infer.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "model.h"
#include "model_infer.h"

enum { B = PAIR_MAX_BATCH, T = PAIR_SEQ_LEN, L = PAIR_OUT_LOGITS_FLOATS, S = PAIR_OUT_SCALED_FLOATS };

static double maxdiff(const float *a, const float *b, long n, double d)
{
    for (long i = 0; i < n; i++)
        if (!(fabs(a[i] - b[i]) <= d)) d = isnan(b[i]) ? INFINITY : fabs(a[i] - b[i]);
    return d;
}

int main(int argc, char **argv)
{
    if (argc < 4 || PAIR_IN_FEATURES_FLOATS != T || PAIR_IN_LABEL_IDS != 1 || S != T) return 2;
    const long count = atol(argv[2]);
    const double bound = atof(argv[3]);
    pair_model *m = pair_create(B, T);
    if (!m || pair_load(m, argv[1]) != 0) {
        fprintf(stderr, "deploy_pair_main: %s\n", dl_last_error());
        return 1;
    }
    static float x[B * T], rl[B * L], rs[B * S], ol[B * L], os[B * S], kl[B * L], ks[B * S];
    static int32_t y[B];
    static float arena[(PAIR_ARENA_BYTES + 3) / 4];
    unsigned seed = 777;
    double d = 0;
    for (long i = 0; i < count; i += B) {
        const int nb = count - i < B ? (int)(count - i) : B;
        for (int j = 0; j < nb * T; j++) seed = seed * 1664525u + 1013904223u, x[j] = (float)(seed >> 31);
        for (int j = 0; j < nb; j++) seed = seed * 1664525u + 1013904223u, y[j] = (int32_t)((seed >> 8) % 3);
        pair_forward(m, x, y, rl, rs, nb, T);
        if (pair_infer(NULL, arena, x, y, ol, os, nb) != 0) {
            fprintf(stderr, "deploy_pair_main: pair_infer failed at sample %ld\n", i);
            return 1;
        }
        d = maxdiff(rs, os, (long)nb * S, maxdiff(rl, ol, (long)nb * L, d));
    }
    memcpy(kl, ol, sizeof ol), memcpy(ks, os, sizeof os);
    const int refused = pair_infer(NULL, arena, x, NULL, ol, os, 1) == -1 && !memcmp(kl, ol, sizeof ol) &&
                        !memcmp(ks, os, sizeof os);
    printf("%ld samples, two inputs and two outputs: max |export - forward| = %.3g (bound %g), a NULL input %s\n",
           count, d, bound, refused ? "refused" : "NOT refused");
    pair_free(m);
    return d <= bound && refused ? 0 : 1;
}
