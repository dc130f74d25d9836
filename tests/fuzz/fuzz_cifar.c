/* fuzz_cifar.c — libFuzzer harness: the bytes are CIFAR-10's test_batch.bin
 * (binary version: records of 1 label byte + 3072 pixel bytes), loaded with
 * dl_load_cifar10_dir(dir, "test") and checked with dataset_check. Run it
 * with -max_len of a few records (the seeds hold one and two). */
#include <stdint.h>
#include <stdlib.h>

#include "dataset_check.h"
#include "dlnrt.h"
#include "scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    scratch_write("cifar/test_batch.bin", data, size);
    dl_dataset d;
    if (dl_load_cifar10_dir(scratch_path("cifar"), "test", &d) == 0) {
        dataset_check(&d, 1);
        dl_dataset_free(&d);
    }
    return 0;
}
