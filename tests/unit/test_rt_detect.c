/* test_rt_detect.c — detection: the detection_canvas generator (seeded,
 * each canvas's grid target decoding back to its boxes), IoU, NMS and
 * average precision on cases worked out by hand, and mAP of a perfect and
 * of a shifted prediction. The numpy reference is tests/parity/detect.py. */
#include "dlnrt.h"
#include "step_internal.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FMNIST "/usr/share/datasets/fashion-mnist"

static dl_data_config canvas_config(void)
{
    return (dl_data_config){.kind = "detection_canvas", .path = FMNIST, .canvas = 64, .grid = 8, .min_objects = 1,
                            .max_objects = 3, .n_train = 200, .n_test = 50, .batch = 16};
}

static void test_generate_seeded(void)
{
    dl_data_config dc = canvas_config();
    dl_detect_data a, b, c;
    CU_ASSERT_FATAL(dl_detect_generate(&dc, 7, &a) == 0);
    CU_ASSERT_FATAL(dl_detect_generate(&dc, 7, &b) == 0);
    CU_ASSERT_FATAL(dl_detect_generate(&dc, 8, &c) == 0);
    const size_t px = (size_t)(250 * 64 * 64) * sizeof(float), grid = (size_t)(250 * 8 * 8 * 15) * sizeof(float);
    CU_ASSERT(memcmp(a.image, b.image, px) == 0);
    CU_ASSERT(memcmp(a.grid, b.grid, grid) == 0);
    CU_ASSERT(memcmp(a.boxes, b.boxes, (size_t)(250 * 3 * 4) * sizeof(float)) == 0);
    CU_ASSERT(memcmp(a.image, c.image, px) != 0);
    /* a canvas does not depend on how many come before it: 100 training canvases are the first 100 of 200 */
    dc.n_train = 100;
    dl_detect_data d;
    CU_ASSERT_FATAL(dl_detect_generate(&dc, 7, &d) == 0);
    CU_ASSERT(memcmp(a.image, d.image, (size_t)(100 * 64 * 64) * sizeof(float)) == 0);
    CU_ASSERT(memcmp(a.image + 200 * 64 * 64, d.image + 100 * 64 * 64, (size_t)(50 * 64 * 64) * sizeof(float)) == 0);
    dl_detect_free(&a), dl_detect_free(&b), dl_detect_free(&c), dl_detect_free(&d);
}

/* Every box is inside the canvas, holds ink, and its centre's cell encodes it
 * (the first box placed there); cells without a centre are all 0. */
static void test_grid_encoding(void)
{
    dl_data_config dc = canvas_config();
    dl_detect_data d;
    CU_ASSERT_FATAL(dl_detect_generate(&dc, 3, &d) == 0);
    int64_t counts[4] = {0}, cells = 0, owned = 0;
    for (int64_t i = 0; i < 250; i++) {
        const float *g = d.grid + i * 8 * 8 * 15, *bx = d.boxes + i * 12, *mask = d.box_mask + i * 3;
        const int32_t *cls = d.classes + i * 3;
        int k = 0;
        for (int m = 0; m < 3; m++) k += mask[m] > 0;
        counts[k]++;
        for (int m = 0; m < 3; m++) {
            if (mask[m] == 0) {
                CU_ASSERT(cls[m] == -1);
                continue;
            }
            const float *b = bx + 4 * m;
            CU_ASSERT(b[0] >= 0 && b[1] >= 0 && b[2] <= 64 && b[3] <= 64 && b[0] < b[2] && b[1] < b[3]);
            CU_ASSERT(cls[m] >= 0 && cls[m] < 10);
            const float cx = 0.5f * (b[0] + b[2]), cy = 0.5f * (b[1] + b[3]);
            const int c = (int)(cx / 8), r = (int)(cy / 8);
            const float *v = g + (r * 8 + c) * 15;
            CU_ASSERT(v[0] == 1);
            /* the decoding of dl_detect_decode gives the box back */
            if (fabsf((c + v[1]) * 8 - cx) < 1e-4f && fabsf(v[3] * 64 - (b[2] - b[0])) < 1e-4f &&
                fabsf((r + v[2]) * 8 - cy) < 1e-4f && fabsf(v[4] * 64 - (b[3] - b[1])) < 1e-4f && v[5 + cls[m]] == 1)
                owned++;
        }
        for (int64_t q = 0; q < 64; q++) cells += g[q * 15] == 1;
    }
    CU_ASSERT(counts[0] == 0 && counts[1] > 50 && counts[2] > 50 && counts[3] > 50);
    CU_ASSERT(owned == cells);   /* every object cell is some box's, exactly */
    dl_detect_free(&d);
}

static void test_iou_by_hand(void)
{
    const float a[4] = {0, 0, 2, 2}, b[4] = {1, 1, 3, 3}, c[4] = {5, 5, 6, 6}, z[4] = {1, 1, 1, 1};
    CU_ASSERT_DOUBLE_EQUAL(dl_box_iou(a, b), 1.0 / 7.0, 1e-7);
    CU_ASSERT(dl_box_iou(a, c) == 0);
    CU_ASSERT(dl_box_iou(a, a) == 1);
    CU_ASSERT(dl_box_iou(z, z) == 0);   /* empty union */
}

static void test_nms_by_hand(void)
{
    dl_detection d[4] = {{{0, 0, 10, 10}, 0.9f, 0},     /* kept */
                         {{1, 1, 11, 11}, 0.8f, 0},     /* IoU 81/119 = 0.68 with the first: dropped */
                         {{1, 1, 11, 11}, 0.7f, 1},     /* another class: kept */
                         {{20, 20, 30, 30}, 0.95f, 0}}; /* kept, first */
    CU_ASSERT(dl_nms(d, 4, 0.5f) == 3);
    CU_ASSERT(d[0].score == 0.95f && d[1].score == 0.9f && d[2].score == 0.7f && d[2].cls == 1);
    dl_detection e[2] = {{{0, 0, 10, 10}, 0.9f, 0}, {{1, 1, 11, 11}, 0.8f, 0}};
    CU_ASSERT(dl_nms(e, 2, 0.7f) == 2);   /* IoU 0.68 is not above 0.7: both stay */
}

/* The nms op's mask (dl_nms_mask): equal scores go by index, a class id
 * keeps classes apart, the threshold and the limit cut, per image. */
static void test_nms_mask_by_hand(void)
{
    const float boxes[2 * 4 * 4] = {0, 0, 10, 10,  1, 1, 11, 11,  0, 0, 10, 10,  20, 20, 30, 30,
                                    0, 0, 10, 10,  1, 1, 11, 11,  0, 0, 10, 10,  20, 20, 30, 30};
    const float scores[8] = {0.5f, 0.5f, 0.9f, 0.01f,   0.5f, 0.5f, 0.9f, 0.01f};
    const int32_t cls[8] = {0, 1, 0, 0,   0, 1, 0, 0};
    float keep[8];
    /* box 2 first (0.9); 0 and 1 tie at 0.5 and overlap 2: both dropped; 3 stays */
    CU_ASSERT(dl_nms_mask(boxes, scores, NULL, keep, 2, 4, 0.5f, -INFINITY, 4) == 0);
    const float one_class[8] = {0, 0, 1, 1, 0, 0, 1, 1};
    CU_ASSERT(memcmp(keep, one_class, sizeof keep) == 0);
    /* with classes box 1 (class 1) survives; a threshold of 0.1 drops box 3 and max_out 1 keeps box 2 alone */
    CU_ASSERT(dl_nms_mask(boxes, scores, cls, keep, 1, 4, 0.5f, 0.1f, 4) == 0);
    CU_ASSERT(keep[0] == 0 && keep[1] == 1 && keep[2] == 1 && keep[3] == 0);
    CU_ASSERT(dl_nms_mask(boxes, scores, cls, keep, 1, 4, 0.5f, -INFINITY, 1) == 0);
    CU_ASSERT(keep[0] == 0 && keep[1] == 0 && keep[2] == 1 && keep[3] == 0);
    /* ties by index: two identical boxes of equal score, the first is kept */
    const float same[8] = {0, 0, 4, 4, 0, 0, 4, 4}, tie[2] = {0.3f, 0.3f};
    CU_ASSERT(dl_nms_mask(same, tie, NULL, keep, 1, 2, 0.5f, -INFINITY, 2) == 0);
    CU_ASSERT(keep[0] == 1 && keep[1] == 0);
}

/* The box form of metrics = [map]: per anchor (x1, y1, x2, y2) then the
 * background and C class logits; one detection per class whose softmax is
 * >= min_score. Logits (0, 5, 0): class 0 at e^5 / (e^5 + 2) = 0.98670,
 * class 1 and the background at 0.00665, below 0.01; (5, 0, 0) gives none;
 * a third anchor on the first box, class 0 at 2/3, is suppressed by it. */
static void test_decode_boxes_by_hand(void)
{
    const float out[3 * 7] = {0, 0, 10, 10, 0, 5, 0,   20, 20, 30, 30, 5, 0, 0,   1, 0, 10, 10, 0, 0.6931472f, -50};
    dl_detection d[6];
    const int64_t n = dl_detect_decode_boxes(out, 3, 2, 0.01f, 0.5f, 100, d);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT(d[0].cls == 0 && fabsf(d[0].score - 0.98670f) < 1e-5f && d[0].box[2] == 10);
}

/* Two boxes of one class; detections TP (0.9), FP (0.8), TP (0.7): precision
 * 1, 1/2, 2/3 at recall 1/2, 1/2, 1; made monotone 1, 2/3, 2/3; recalls 0 ..
 * 0.50 (51 points) read 1, 0.51 .. 1 (50 points) read 2/3: AP = (51 + 100/3)
 * / 101. */
static void test_ap_by_hand(void)
{
    const float gt[8] = {0, 0, 10, 10, 20, 20, 30, 30};
    const int64_t gi[2] = {0, 0}, di[3] = {0, 0, 0};
    const dl_detection d[3] = {{{50, 50, 60, 60}, 0.8f, 0}, {{0, 0, 10, 10}, 0.9f, 0}, {{20, 20, 30, 30}, 0.7f, 0}};
    CU_ASSERT_DOUBLE_EQUAL(dl_average_precision(d, di, 3, gt, gi, 2, 1, 0.5f), (51.0 + 100.0 / 3.0) / 101.0, 1e-12);
    CU_ASSERT(isnan(dl_average_precision(d, di, 3, gt, gi, 0, 1, 0.5f)));
    /* the same boxes in another image do not match */
    const int64_t other[3] = {1, 1, 1};
    CU_ASSERT(dl_average_precision(d, other, 3, gt, gi, 2, 2, 0.5f) == 0);
    /* a box matched twice counts once: the second detection of it is a false positive */
    const dl_detection twice[2] = {{{0, 0, 10, 10}, 0.9f, 0}, {{0, 0, 10, 10}, 0.8f, 0}};
    const float one[4] = {0, 0, 10, 10};
    CU_ASSERT_DOUBLE_EQUAL(dl_average_precision(twice, di, 2, one, gi, 1, 1, 0.5f), 1.0, 1e-12);
    /* IoU 0.68 is a match at 0.5 and 0.65, not at 0.7 */
    const dl_detection near[1] = {{{1, 1, 11, 11}, 0.9f, 0}};
    CU_ASSERT(dl_average_precision(near, di, 1, one, gi, 1, 1, 0.65f) == 1);
    CU_ASSERT(dl_average_precision(near, di, 1, one, gi, 1, 1, 0.7f) == 0);
}

/* The grid targets themselves, as logits, decode to their boxes: mAP 1 at
 * every threshold. Shifted by 2 pixels they lose the high thresholds. */
static void test_map_of_targets(void)
{
    dl_data_config dc = canvas_config();
    dl_detect_data d;
    CU_ASSERT_FATAL(dl_detect_generate(&dc, 5, &d) == 0);
    float *out = malloc(8 * 8 * 15 * sizeof *out);
    dl_detection det[64];
    for (int shift = 0; shift < 2; shift++) {
        dl_map_tally t = {.C = 10};
        for (int64_t i = 200; i < 250; i++) {
            const float *g = d.grid + i * 8 * 8 * 15;
            for (int q = 0; q < 64 * 15; q++) out[q] = g[q];
            for (int q = 0; q < 64; q++) {
                out[q * 15] = g[q * 15] > 0 ? 10.0f : -10.0f;
                for (int k = 0; k < 10; k++) out[q * 15 + 5 + k] = g[q * 15 + 5 + k] * 10.0f;
                if (shift) out[q * 15 + 1] += 2.0f / 8.0f;
            }
            const int64_t n = dl_detect_decode(out, 8, 10, 64, 0.001f, 0.5f, 100, det);
            CU_ASSERT_FATAL(dl_map_add(&t, det, n, d.boxes + i * 12, d.classes + i * 3, d.box_mask + i * 3, 3) == 0);
        }
        double m50, m;
        dl_map_result(&t, &m50, &m);
        if (!shift) {
            /* every cell's box is exact; boxes whose centre shares a cell with an earlier one are missed */
            CU_ASSERT(m50 > 0.95 && m50 <= 1.0 && fabs(m - m50) < 1e-12);
        } else {
            CU_ASSERT(m50 > 0.95 && m < m50 - 0.1);
        }
        dl_map_free(&t);
    }
    free(out);
    dl_detect_free(&d);
}

/* Batches carry the five fields with the generator's values. */
static void test_source_fields(void)
{
    dl_data_config dc = canvas_config();
    dl_detect_data d;
    CU_ASSERT_FATAL(dl_detect_generate(&dc, 2, &d) == 0);
    dl_source s;
    dl_batch b;
    CU_ASSERT_FATAL(dl_source_detect(&s, &d, 200, 50, 16, 0, 0) == 0);
    CU_ASSERT(s.batches == 4);
    CU_ASSERT(s.next(&s, &b) == 16);
    CU_ASSERT(b.n_fields == 5 && strcmp(b.field[1].name, "grid_target") == 0 && b.field[1].shape[2] == 15);
    CU_ASSERT(memcmp(b.field[0].data, d.image + 200 * 64 * 64, 16 * 64 * 64 * sizeof(float)) == 0);
    CU_ASSERT(memcmp(b.field[3].data, d.classes + 200 * 3, 16 * 3 * sizeof(int32_t)) == 0);
    CU_ASSERT(memcmp(b.field[4].data, d.box_mask + 200 * 3, 16 * 3 * sizeof(float)) == 0);
    int64_t n = 16, k;
    while ((k = s.next(&s, &b)) > 0) n += k;
    CU_ASSERT(n == 50);
    s.close(&s);
    dl_detect_free(&d);
    dc.canvas = 20;   /* smaller than an item */
    CU_ASSERT(dl_detect_generate(&dc, 2, &d) == -1 && strstr(dl_last_error(), "canvas 20") != NULL);
}

void suite_rt_detect(void)
{
    CU_pSuite s = CU_add_suite("rt_detect", NULL, NULL);
    CU_add_test(s, "detection_canvas is seeded and per canvas", test_generate_seeded);
    CU_add_test(s, "grid target encodes every box", test_grid_encoding);
    CU_add_test(s, "IoU by hand", test_iou_by_hand);
    CU_add_test(s, "NMS by hand", test_nms_by_hand);
    CU_add_test(s, "the nms op's mask by hand", test_nms_mask_by_hand);
    CU_add_test(s, "per-anchor boxes decoded by hand", test_decode_boxes_by_hand);
    CU_add_test(s, "average precision by hand", test_ap_by_hand);
    CU_add_test(s, "mAP of the targets and of shifted boxes", test_map_of_targets);
    CU_add_test(s, "detection batches", test_source_fields);
}
