/* detect_canvas.c — a detection task made from Fashion-MNIST: items pasted
 * on a larger canvas, with their boxes and classes, so that detectors can be
 * trained and scored with nothing to download beyond the classifier's data.
 *
 * Every canvas has its own generator, seeded by (seed, split, index), so a
 * canvas does not depend on how many came before it or on threads, and the
 * same seed gives the same data. Items come from the training images for
 * training canvases and from the test images for test ones, so no test item
 * is ever trained on. Placement avoids overlap (by rejection: 100 tries of
 * a uniform position whose 28 x 28 square meets no earlier one), which a
 * 64-pixel canvas of up to 3 items nearly always allows; when it does not,
 * the last try stands and the pixels are merged by max. The box is the
 * item's tight box (pixels > 0.1), not its 28 x 28 square: Fashion-MNIST
 * items have black margins of different widths, so boxes vary in size. */
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"

#define ITEM 28
#define TRIES 100
#define INK 0.1f

/* The tight box of one 28 x 28 item's pixels > INK: x1, y1, x2, y2 with the
 * ends exclusive; the whole square when the item is blank. */
static void ink_box(const float *px, int b[4])
{
    int x1 = ITEM, y1 = ITEM, x2 = 0, y2 = 0;
    for (int y = 0; y < ITEM; y++)
        for (int x = 0; x < ITEM; x++)
            if (px[y * ITEM + x] > INK) {
                if (x < x1) x1 = x;
                if (y < y1) y1 = y;
                if (x + 1 > x2) x2 = x + 1;
                if (y + 1 > y2) y2 = y + 1;
            }
    if (x2 == 0) x1 = 0, y1 = 0, x2 = ITEM, y2 = ITEM;
    b[0] = x1, b[1] = y1, b[2] = x2, b[3] = y2;
}

/* Canvas i of a split from items of src: image, grid, boxes, classes, mask. */
static void make_canvas(const dl_detect_data *d, const dl_dataset *src, const dl_data_config *dc, uint64_t seed,
                        int split, int64_t i, int64_t row)
{
    const int64_t S = d->S, G = d->G, M = d->M, C = d->C, K = 5 + C;
    float *img = d->image + row * S * S, *grid = d->grid + row * G * G * K;
    float *boxes = d->boxes + row * M * 4, *mask = d->box_mask + row * M;
    int32_t *cls = d->classes + row * M;
    dl_rng r;
    dl_rng_seed(&r, seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(2 * i + split + 1)));
    const int64_t span = dc->max_objects - dc->min_objects + 1;
    const int64_t k = dc->min_objects + (int64_t)(dl_rng_next(&r) % (uint64_t)span);
    int64_t px[8], py[8];   /* squares placed so far (max_objects <= 8) */
    for (int64_t m = 0; m < M; m++) cls[m] = -1;
    for (int64_t j = 0; j < k; j++) {
        const int64_t item = (int64_t)(dl_rng_next(&r) % (uint64_t)src->n);
        int64_t x = 0, y = 0;
        for (int t = 0; t < TRIES; t++) {
            x = (int64_t)(dl_rng_next(&r) % (uint64_t)(S - ITEM + 1));
            y = (int64_t)(dl_rng_next(&r) % (uint64_t)(S - ITEM + 1));
            int clear = 1;
            for (int64_t q = 0; q < j; q++)
                if (x < px[q] + ITEM && px[q] < x + ITEM && y < py[q] + ITEM && py[q] < y + ITEM) clear = 0;
            if (clear) break;
        }
        px[j] = x, py[j] = y;
        const float *p = src->x + item * ITEM * ITEM;
        for (int64_t yy = 0; yy < ITEM; yy++)
            for (int64_t xx = 0; xx < ITEM; xx++) {
                float *o = &img[(y + yy) * S + x + xx];
                if (p[yy * ITEM + xx] > *o) *o = p[yy * ITEM + xx];
            }
        int b[4];
        ink_box(p, b);
        float *bx = boxes + j * 4;
        bx[0] = (float)(x + b[0]), bx[1] = (float)(y + b[1]), bx[2] = (float)(x + b[2]), bx[3] = (float)(y + b[3]);
        cls[j] = src->y_class[item];
        mask[j] = 1;
        const float cx = 0.5f * (bx[0] + bx[2]), cy = 0.5f * (bx[1] + bx[3]);
        const float gx = cx * (float)G / (float)S, gy = cy * (float)G / (float)S;
        int64_t c = (int64_t)gx, rr = (int64_t)gy;
        if (c >= G) c = G - 1;
        if (rr >= G) rr = G - 1;
        float *cell = grid + (rr * G + c) * K;
        if (cell[0] != 0) continue;   /* the first item keeps a shared cell */
        cell[0] = 1;
        cell[1] = gx - (float)c, cell[2] = gy - (float)rr;
        cell[3] = (bx[2] - bx[0]) / (float)S, cell[4] = (bx[3] - bx[1]) / (float)S;
        cell[5 + cls[j]] = 1;
    }
}

void dl_detect_free(dl_detect_data *d)
{
    free(d->image);
    free(d->grid);
    free(d->boxes);
    free(d->classes);
    free(d->box_mask);
    memset(d, 0, sizeof *d);
}

int dl_detect_generate(const dl_data_config *dc, uint64_t seed, dl_detect_data *out)
{
    memset(out, 0, sizeof *out);
    if (dc->canvas < ITEM || dc->canvas > 1024 || dc->grid < 1 || dc->grid > dc->canvas || dc->min_objects < 0 ||
        dc->max_objects < dc->min_objects || dc->max_objects < 1 || dc->max_objects > 8 || dc->n_train < 1 ||
        dc->n_test < 0) {
        dl_set_error("detection_canvas: canvas %lld (28..1024), grid %lld (1..canvas), objects %lld..%lld (0..8), "
                     "train_size %lld, test_size %lld", (long long)dc->canvas, (long long)dc->grid,
                     (long long)dc->min_objects, (long long)dc->max_objects, (long long)dc->n_train,
                     (long long)dc->n_test);
        return -1;
    }
    dl_dataset items[2] = {{0}};
    if (dl_load_mnist_dir(dc->path, "train", &items[0]) ||
        (dc->n_test > 0 && dl_load_mnist_dir(dc->path, "test", &items[1]))) {
        dl_dataset_free(&items[0]);
        return -1;
    }
    if (items[0].x_numel != ITEM * ITEM || (dc->n_test > 0 && items[1].x_numel != ITEM * ITEM)) {
        dl_set_error("detection_canvas: the items must be 28 x 28 images (Fashion-MNIST, MNIST)");
        goto fail;
    }
    out->n_train = dc->n_train, out->n_test = dc->n_test;
    out->S = dc->canvas, out->G = dc->grid, out->M = dc->max_objects, out->C = DL_DETECT_CLASSES;
    const int64_t n = dc->n_train + dc->n_test, S = out->S, G = out->G, M = out->M;
    out->image = calloc((size_t)(n * S * S), sizeof *out->image);
    out->grid = calloc((size_t)(n * G * G * (5 + out->C)), sizeof *out->grid);
    out->boxes = calloc((size_t)(n * M * 4), sizeof *out->boxes);
    out->classes = calloc((size_t)(n * M), sizeof *out->classes);
    out->box_mask = calloc((size_t)(n * M), sizeof *out->box_mask);
    if (!out->image || !out->grid || !out->boxes || !out->classes || !out->box_mask) {
        dl_set_error("detection_canvas: out of memory for %lld canvases", (long long)n);
        goto fail;
    }
    for (int64_t i = 0; i < dc->n_train; i++) make_canvas(out, &items[0], dc, seed, 0, i, i);
    for (int64_t i = 0; i < dc->n_test; i++) make_canvas(out, &items[1], dc, seed, 1, i, dc->n_train + i);
    dl_dataset_free(&items[0]);
    dl_dataset_free(&items[1]);
    return 0;
fail:
    dl_dataset_free(&items[0]);
    dl_dataset_free(&items[1]);
    dl_detect_free(out);
    return -1;
}
