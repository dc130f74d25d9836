/* dataset_check.c — see dataset_check.h. */
#include "dataset_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void broken(const char *what) {
    fprintf(stderr, "fuzz harness: a loaded dataset is inconsistent: %s\n", what);
    abort();
}

void dataset_check(const dl_dataset *d, int unit_range) {
    if (d->n < 1 || !d->x || d->x_numel < 1) broken("no samples, no x, or empty samples");
    if (d->x_rank < 1 || d->x_rank > 4) broken("x_rank outside 1..4");
    int64_t numel = 1;
    for (int i = 0; i < d->x_rank; i++) numel *= d->x_shape[i];
    if (numel != d->x_numel) broken("x_shape does not multiply to x_numel");
    for (int64_t i = 0; i < d->n * d->x_numel; i++) {
        float v = d->x[i];
        if (!isfinite(v) || (unit_range && (v < 0 || v > 1))) broken("a value is not finite or outside [0, 1]");
    }
    if (d->label_kind == DL_LABEL_CLASS) {
        if (!d->y_class || d->num_classes < 1) broken("class labels missing");
        for (int64_t i = 0; i < d->n; i++)
            if (d->y_class[i] < 0 || d->y_class[i] >= d->num_classes) broken("a class label outside 0..num_classes-1");
    } else {
        if (!d->y_dense || d->y_numel < 1) broken("dense labels missing");
        for (int64_t i = 0; i < d->n * d->y_numel; i++)
            if (!isfinite(d->y_dense[i])) broken("a dense label is not finite");
    }
}
