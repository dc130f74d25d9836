/* fuzz_png.c — libFuzzer harness: the bytes are one PNG image in an image
 * folder (<dir>/cls/a.png), after one byte whose low two bits pick the
 * channels asked of dl_load_image_folder (0 = from the image, 1, 3, 4),
 * so every conversion libpng is asked for gets damaged input. A loaded
 * dataset is checked with dataset_check. */
#include <stdint.h>
#include <stdlib.h>

#include "dataset_check.h"
#include "dlnrt.h"
#include "scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const int channels[4] = {0, 1, 3, 4};
    scratch_write("images/cls/a.png", data + 1, size - 1);
    dl_dataset d;
    if (dl_load_image_folder(scratch_path("images"), NULL, channels[data[0] & 3], &d) == 0) {
        dataset_check(&d, 1);
        dl_dataset_free(&d);
    }
    return 0;
}
