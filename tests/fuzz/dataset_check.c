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
    if (d->weight)
        for (int64_t i = 0; i < d->n; i++)
            if (!(d->weight[i] >= 0) || !isfinite(d->weight[i])) broken("a weight is negative or not finite");
    if (d->n_columns < 0 || d->n_columns > DL_CSV_MAX_COLUMNS) broken("n_columns outside 0..DL_CSV_MAX_COLUMNS");
    for (int k = 0; k < d->n_columns; k++) {
        if (!d->column_name[k] || d->column_x[k] < 0 || d->column_x[k] >= d->x_numel) broken("a named column outside x");
        for (int64_t i = 0; d->column_i32[k] && i < d->n; i++) {
            float v = d->x[i * d->x_numel + d->column_x[k]];
            if (v != floorf(v) || fabsf(v) > 16777216.0f) broken("an i32 column's value is not an integer in [-2^24, 2^24]");
        }
    }
}
