/* fuzz_csv_columns.c — libFuzzer harness: csv(columns = [...]) and a weight
 * column (weight_col), the options fuzz_csv leaves off. The bytes are a CSV
 * file after two option bytes:
 *
 *   byte 0: bits 0-1 delimiter , ; tab space   bit 2 classify   bit 3 a weight column
 *           bits 4-5 header auto, no, yes, auto   bits 6-7 label column -1 0 1 -2
 *   byte 1: bits 0-2 how many named columns (0-5, 6 and 7 are 5) from
 *           a, b, label, w, a (the last a repeat)   bits 3-7 which of them an i32 input reads
 *
 * The weight column is the second-to-last. A loaded dataset is checked
 * with dataset_check, which also checks the columns and weights. */
#include <stdint.h>
#include <stdlib.h>

#include "dataset_check.h"
#include "dlnrt.h"
#include "scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    static const char delimiters[4] = {',', ';', '\t', ' '};
    static const int headers[4] = {-1, 0, 1, -1};
    static const int label_cols[4] = {-1, 0, 1, -2};
    static const char *names[DL_CSV_MAX_COLUMNS] = {"a", "b", "label", "w", "a"};
    dl_csv_options opt = {.delimiter = delimiters[data[0] & 3],
                          .classify = data[0] >> 2 & 1,
                          .has_weight = data[0] >> 3 & 1,
                          .weight_col = -2,
                          .header = headers[data[0] >> 4 & 3],
                          .label_col = label_cols[data[0] >> 6]};
    opt.n_columns = data[1] & 7;
    if (opt.n_columns > DL_CSV_MAX_COLUMNS) opt.n_columns = DL_CSV_MAX_COLUMNS;
    for (int k = 0; k < opt.n_columns; k++) {
        opt.columns[k] = names[k];
        opt.column_i32[k] = data[1] >> (3 + k) & 1;
    }
    const char *path = scratch_write("data.csv", data + 2, size - 2);
    dl_dataset d;
    if (dl_load_csv(path, &opt, &d) == 0) {
        dataset_check(&d, 0);
        dl_dataset_free(&d);
    }
    return 0;
}
