/* fuzz_history.c — libFuzzer harness: `dlnc plot`'s reader. The bytes before
 * the first 0x00 are a run's history (run.csv: epoch,train_loss,... or a
 * confusion matrix true_class,pred_0,...), the rest, if there is a 0x00, its
 * per-step losses beside it (run.steps.csv), drawn as `dlnc plot run.csv -o
 * run.svg` would. A finding: a refusal without a message naming the file, a
 * refusal that leaves run.svg, an accepted file with no run.svg. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlnrt.h"
#include "scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *cut = memchr(data, 0, size);
    const size_t hist = cut ? (size_t)(cut - data) : size;
    const char *csv = scratch_write("run.csv", data, hist);
    char *csv_path = strdup(csv);
    if (!csv_path) abort();
    if (cut) scratch_write("run.steps.csv", cut + 1, size - hist - 1);
    else unlink(scratch_path("run.steps.csv"));
    char *out = strdup(scratch_path("run.svg"));
    if (!out) abort();
    unlink(out);
    if (dl_plot_csv(csv_path, out) == 0) {
        if (access(out, F_OK) != 0) abort();
    } else {
        const char *e = dl_last_error();
        if (!e || !strstr(e, "run.")) abort();   /* names run.csv or run.steps.csv */
        if (access(out, F_OK) == 0) abort();
    }
    free(out);
    free(csv_path);
    return 0;
}
