/* deploy_main.c — `dlnc export` against the training build: the same
 * checkpoint through the build's <model>_forward (libdlnrt) and through the
 * exported <model>_infer (portable kernels), on the first COUNT Fashion-MNIST
 * test images, in batches of the export's MAX_BATCH. Prints the largest
 * |difference| of an output, how many argmaxes agree and both accuracies;
 * exit 0 when the difference is at most BOUND and the argmaxes agree on at
 * least MIN_AGREE percent of the images (default 100: all).
 *   usage: deploy_main CHECKPOINT COUNT BOUND [WEIGHTS.bin|-] [MIN_AGREE]
 * Built with -DM=<model> -DUM=<MODEL>, beside model.h and model_infer.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "model.h"
#include "model_infer.h"
#include "deploy_test.h"

int main(int argc, char **argv)
{
    if (argc < 4) return 2;
    long count = atol(argv[2]);
    double bound = atof(argv[3]);
    float *weights = NULL;
    double min_agree = argc > 5 ? atof(argv[5]) : 100.0;
    if (argc > 4 && strcmp(argv[4], "-")) { /* the blob of --weights-file */
        FILE *f = fopen(argv[4], "rb");
        weights = malloc(sizeof(float) * K(_WEIGHT_FLOATS));
        if (!f || fread(weights, sizeof(float), K(_WEIGHT_FLOATS), f) != K(_WEIGHT_FLOATS) || fgetc(f) != EOF) {
            fprintf(stderr, "deploy_main: %s is not %d floats\n", argv[4], (int)K(_WEIGHT_FLOATS));
            return 1;
        }
        fclose(f);
    }
    dl_dataset ds;
    if (dl_load_mnist_dir("/usr/share/datasets/fashion-mnist", "test", &ds) != 0 || ds.x_numel != K(_IN_FLOATS)) {
        fprintf(stderr, "deploy_main: %s\n", dl_last_error());
        return 1;
    }
    if (count > ds.n) count = ds.n;
    FN(_model) *m = FN(_create)(K(_MAX_BATCH));
    if (!m || FN(_load)(m, argv[1]) != 0) {
        fprintf(stderr, "deploy_main: %s\n", dl_last_error());
        return 1;
    }
    void *arena = malloc(K(_ARENA_BYTES));
    float *ref = malloc(sizeof(float) * K(_MAX_BATCH) * K(_OUT_FLOATS));
    float *out = malloc(sizeof(float) * K(_MAX_BATCH) * K(_OUT_FLOATS));
    double maxdiff = 0;
    long agree = 0, right_ref = 0, right_out = 0;
    for (long i = 0; i < count; i += K(_MAX_BATCH)) {
        int nb = count - i < K(_MAX_BATCH) ? (int)(count - i) : K(_MAX_BATCH);
        const float *x = ds.x + i * K(_IN_FLOATS);
        FN(_forward)(m, x, ref, nb);
        if (FN(_infer)(weights, arena, x, out, nb) != 0) {
            fprintf(stderr, "deploy_main: %s_infer failed at image %ld\n", "model", i);
            return 1;
        }
        for (int s = 0; s < nb; s++) {
            const float *a = ref + s * K(_OUT_FLOATS), *b = out + s * K(_OUT_FLOATS);
            for (int j = 0; j < K(_OUT_FLOATS); j++)
                if (!(fabs(a[j] - b[j]) <= maxdiff)) maxdiff = isnan(b[j]) ? INFINITY : fabs(a[j] - b[j]);
            int pa = argmax(a, K(_OUT_FLOATS)), pb = argmax(b, K(_OUT_FLOATS));
            agree += pa == pb;
            right_ref += pa == ds.y_class[i + s];
            right_out += pb == ds.y_class[i + s];
        }
    }
    printf("%ld test images: max |export - forward| = %.3g (bound %g), argmax agrees on %ld/%ld, "
           "accuracy %.2f%% (export) / %.2f%% (forward)\n",
           count, maxdiff, bound, agree, count, 100.0 * right_out / count, 100.0 * right_ref / count);
    FN(_free)(m);
    dl_dataset_free(&ds);
    free(arena), free(ref), free(out), free(weights);
    return maxdiff <= bound && 100.0 * agree >= min_agree * count ? 0 : 1;
}
