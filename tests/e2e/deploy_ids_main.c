/* deploy_ids_main.c — `dlnc export` of a model with an i32 input (token ids)
 * against the training build: the same checkpoint through <model>_forward
 * and the exported <model>_infer on COUNT samples of random ids in
 * [0, VOCAB) (a fixed seed), in batches of MAX_BATCH. Prints the largest
 * |difference| and how many argmaxes (over the last LAST outputs: one
 * position's logits) agree; then an id of VOCAB and one of -1 in the last
 * sample must each make <model>_infer return -1 with out untouched.
 * Exit 0 when the difference is at most BOUND, every argmax agrees and both
 * bad ids are refused.
 *   usage: deploy_ids_main CHECKPOINT COUNT BOUND LAST
 * Built with -DM=<model> -DUM=<MODEL> (and -DSEQ=<T> for a run-time T), beside model.h and model_infer.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "model.h"
#include "model_infer.h"
#include "deploy_test.h"

/* a model with a run-time T: created for, and run at, the export's SEQ_LEN */
#ifdef SEQ
#define T_ARG , SEQ
#else
#define T_ARG
#endif

int main(int argc, char **argv)
{
    if (argc < 5) return 2;
    const long count = atol(argv[2]);
    const double bound = atof(argv[3]);
    const int last = atoi(argv[4]);
    if (last < 1 || K(_OUT_FLOATS) % last) return 2;
    FN(_model) *m = FN(_create)(K(_MAX_BATCH) T_ARG);
    if (!m || FN(_load)(m, argv[1]) != 0) {
        fprintf(stderr, "deploy_ids_main: %s\n", dl_last_error());
        return 1;
    }
    const size_t nout = (size_t)K(_MAX_BATCH) * K(_OUT_FLOATS);
    void *arena = malloc(K(_ARENA_BYTES));
    int32_t *x = malloc(sizeof(int32_t) * K(_MAX_BATCH) * K(_IN_IDS));
    float *ref = malloc(sizeof(float) * nout), *out = malloc(sizeof(float) * nout), *keep = malloc(sizeof(float) * nout);
    unsigned seed = 12345;
    double maxdiff = 0;
    long agree = 0, rows = 0;
    int nb = 0;
    for (long i = 0; i < count; i += K(_MAX_BATCH)) {
        nb = count - i < K(_MAX_BATCH) ? (int)(count - i) : K(_MAX_BATCH);
        for (long j = 0; j < (long)nb * K(_IN_IDS); j++) {
            seed = seed * 1664525u + 1013904223u;
            x[j] = (int32_t)((seed >> 8) % K(_VOCAB));
        }
        FN(_forward)(m, x, ref, nb T_ARG);
        if (FN(_infer)(NULL, arena, x, out, nb) != 0) {
            fprintf(stderr, "deploy_ids_main: %s_infer failed at sample %ld\n", "model", i);
            return 1;
        }
        for (long j = 0; j < (long)nb * K(_OUT_FLOATS); j++)
            if (!(fabs(ref[j] - out[j]) <= maxdiff)) maxdiff = isnan(out[j]) ? INFINITY : fabs(ref[j] - out[j]);
        for (long r = 0; r < (long)nb * K(_OUT_FLOATS) / last; r++, rows++)
            agree += argmax(ref + r * last, last) == argmax(out + r * last, last);
    }
    /* out-of-range ids: refused before any read, out as it was */
    int refused = 0;
    const int32_t bad[2] = {K(_VOCAB), -1};
    for (int b = 0; b < 2; b++) {
        const long at = (long)nb * K(_IN_IDS) - 1;
        const int32_t was = x[at];
        x[at] = bad[b];
        memcpy(keep, out, sizeof(float) * nout);
        refused += FN(_infer)(NULL, arena, x, out, nb) == -1 && !memcmp(keep, out, sizeof(float) * nout);
        x[at] = was;
    }
    printf("%ld samples of random ids: max |export - forward| = %.3g (bound %g), argmax agrees on %ld/%ld positions, "
           "ids %d and -1 refused: %d of 2\n",
           count, maxdiff, bound, agree, rows, (int)K(_VOCAB), refused);
    FN(_free)(m);
    free(arena), free(x), free(ref), free(out), free(keep);
    return maxdiff <= bound && agree == rows && refused == 2 ? 0 : 1;
}
