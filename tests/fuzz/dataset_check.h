/* dataset_check.h — what every dataset a reader returns must satisfy.
 *
 * A reader that says "loaded" hands the dataset to the batcher and the
 * model, which index it by n, x_numel and the labels without checking again;
 * so after a successful load the harnesses check the bookkeeping and read
 * every value (letting ASan see any short buffer). A violation aborts, and
 * libFuzzer keeps the input. */
#ifndef DLNC_FUZZ_DATASET_CHECK_H
#define DLNC_FUZZ_DATASET_CHECK_H
#include "dlnrt.h"

/* unit_range: pixel readers promise x in [0, 1]. */
void dataset_check(const dl_dataset *d, int unit_range);

#endif
