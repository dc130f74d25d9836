/* fuzz_segment.c — libFuzzer harness: images(path, masks = ...), the
 * segmentation pairs of dl_segment_load (docs/language.md, "Segmentation").
 * The bytes are [option byte][u16 LE length L][L bytes: image PNG][mask PNG]:
 * the image img/a.png and its mask mask/a.png; with L = 0 or L past the end,
 * the bytes after the length are both, so the mask has its image's size and
 * reaches the pixel checks. The option byte's low two bits pick the channels
 * asked (0 = from the image, 1, 3, 4), bit 2 adds a test pair (test/a.png,
 * test_masks/a.png: the same files), bit 3 makes the ignore index 0 instead
 * of 255. A loaded set is checked for what the batcher relies on: its counts
 * and size, pixels in [0, 1], labels 0..255 and the largest class id true. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    static const int channels[4] = {0, 1, 3, 4};
    const uint8_t opt = data[0], *img = data + 3, *mask = img;
    const size_t len = (size_t)data[1] | (size_t)data[2] << 8;
    size_t img_n = size - 3, mask_n = img_n;
    if (len > 0 && len <= img_n) img_n = len, mask = img + len, mask_n = size - 3 - len;
    scratch_write("img/a.png", img, img_n);
    scratch_write("mask/a.png", mask, mask_n);
    scratch_write("test/a.png", img, opt & 4 ? img_n : 0);
    scratch_write("test_masks/a.png", mask, opt & 4 ? mask_n : 0);
    char path[4][512];
    const char *rel[4] = {"img", "mask", "test", "test_masks"};
    for (int k = 0; k < 4; k++) {
        strncpy(path[k], scratch_path(rel[k]), sizeof path[k] - 1);
        path[k][sizeof path[k] - 1] = 0;
    }
    dl_data_config dc;
    memset(&dc, 0, sizeof dc);
    dc.kind = "images", dc.path = path[0], dc.masks_path = path[1];
    if (opt & 4) dc.test_path = path[2], dc.test_masks_path = path[3];
    dc.channels = channels[opt & 3];
    dc.ignore_index = opt & 8 ? 0 : 255;
    dl_segment_data d;
    if (dl_segment_load(&dc, &d) != 0) return 0;
    const int64_t n = d.n_train + d.n_test, hw = d.H * d.W;
    if (d.n_train != 1 || d.n_test != (opt & 4 ? 1 : 0) || d.H < 1 || d.W < 1 || !d.image || !d.label) abort();
    if (channels[opt & 3] ? d.C != channels[opt & 3] : d.C != 1 && d.C != 3) abort();
    int max = 0;
    for (int64_t i = 0; i < n * d.C * hw; i++)
        if (!(d.image[i] >= 0 && d.image[i] <= 1)) abort();
    for (int64_t i = 0; i < n * hw; i++) {
        if (d.label[i] < 0 || d.label[i] > 255) abort();
        if (d.label[i] != dc.ignore_index && d.label[i] > max) max = d.label[i];
    }
    if (max != d.max_label) abort();
    dl_segment_free(&d);
    return 0;
}
