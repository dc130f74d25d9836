/* fuzz_csv.c — libFuzzer harness: the bytes are a CSV file, after one byte
 * that picks dl_load_csv's options, so the fuzzer explores them too:
 *
 *   bits 0-1 delimiter , ; tab space   bit 2 classify   bits 3-4 header auto, no, yes, auto
 *   bits 5-7 label column -1 0 1 2 -2 3 -3 100
 *
 * A loaded dataset is checked with dataset_check. */
#include <stdint.h>
#include <stdlib.h>

#include "dataset_check.h"
#include "dlnrt.h"
#include "scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char delimiters[4] = {',', ';', '\t', ' '};
    static const int headers[4] = {-1, 0, 1, -1};
    static const int label_cols[8] = {-1, 0, 1, 2, -2, 3, -3, 100};
    dl_csv_options opt = {.delimiter = delimiters[data[0] & 3],
                          .classify = data[0] >> 2 & 1,
                          .header = headers[data[0] >> 3 & 3],
                          .label_col = label_cols[data[0] >> 5]};
    const char *path = scratch_write("data.csv", data + 1, size - 1);
    dl_dataset d;
    if (dl_load_csv(path, &opt, &d) == 0) {
        dataset_check(&d, 0);
        dl_dataset_free(&d);
    }
    return 0;
}
