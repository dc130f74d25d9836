/* fuzz_idx.c — libFuzzer harness: the bytes are an IDX image file and an
 * IDX label file (MNIST's format, plain or gzipped), split as
 *
 *   [u16 little-endian: length L of the image file][L bytes: images][the rest: labels]
 *
 * (an L past the end gives all the bytes to the images and none to the
 * labels), written as MNIST's test split, loaded with dl_load_mnist_dir
 * (which finds the files, then calls dl_load_idx) and checked with
 * dataset_check. */
#include <stdint.h>
#include <stdlib.h>

#include "dataset_check.h"
#include "dlnrt.h"
#include "scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    size_t len = (size_t)data[0] | (size_t)data[1] << 8;
    data += 2, size -= 2;
    if (len > size) len = size;
    scratch_write("mnist/t10k-images-idx3-ubyte", data, len);
    scratch_write("mnist/t10k-labels-idx1-ubyte", data + len, size - len);
    dl_dataset d;
    if (dl_load_mnist_dir(scratch_path("mnist"), "test", &d) == 0) {
        dataset_check(&d, 1);
        dl_dataset_free(&d);
    }
    return 0;
}
