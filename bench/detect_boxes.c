/* detect_boxes.c — a picture of a trained detector at work: test canvases
 * of its train section's detection_canvas(...) with the boxes it finds
 * drawn in (white: the true boxes; green: detections with score >= 0.3, as
 * metrics = [map] decodes them: the grid form f32[N, G, G, 5 + C] of
 * yolo_tiny or the per-anchor box form f32[N, A, 5 + C] of ssd_tiny), 4 rows
 * of 8, as a PNG. Linked with the model's generated C (dlnc model.dln -o
 * model.c) and libdlnrt; prints the per-canvas detections it drew.
 *
 *   detect_boxes CHECKPOINT OUT.png
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "image_tiles_internal.h"

const dl_model_api *dlnc_entry(void);

#define COUNT 32
#define COLS 8

/* the outline of box b in image img [S, S], value v (clipped to the canvas) */
static void outline(float *img, int64_t S, const float *b, float v)
{
    int x1 = (int)b[0], y1 = (int)b[1], x2 = (int)b[2] - 1, y2 = (int)b[3] - 1;
    x1 = x1 < 0 ? 0 : x1, y1 = y1 < 0 ? 0 : y1, x2 = x2 >= S ? (int)S - 1 : x2, y2 = y2 >= S ? (int)S - 1 : y2;
    for (int x = x1; x <= x2; x++) img[y1 * S + x] = img[y2 * S + x] = v;
    for (int y = y1; y <= y2; y++) img[y * S + x1] = img[y * S + x2] = v;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s CHECKPOINT OUT.png\n", argv[0]);
        return 2;
    }
    const dl_model_api *api = dlnc_entry();
    dl_detect_data d;
    if (!api->train || dl_detect_generate(&api->train->data, api->train->seed, &d)) {
        fprintf(stderr, "detect_boxes: %s\n", api->train ? dl_last_error() : "the model has no train section");
        return 1;
    }
    const int64_t S = d.S, G = d.G, sym[1] = {COUNT};
    const dl_io_info *o0 = &api->outputs[0];
    const int boxes_form = o0->rank == 2;                  /* [A, 5 + C] per canvas, else the grid [G, G, 5 + C] */
    void *m = api->create_io(sym);
    if (!m || api->load(m, argv[1]) || api->n_outputs > 8) {
        fprintf(stderr, "detect_boxes: %s\n", m ? dl_last_error() : "cannot create the model");
        return 1;
    }
    void *outs[8];
    for (int k = 0; k < api->n_outputs; k++) {
        int64_t numel = COUNT;
        for (int r = 0; r < api->outputs[k].rank; r++) numel *= api->outputs[k].shape[r];   /* the batch is not in it */
        outs[k] = malloc((size_t)numel * sizeof(float));
    }
    const int64_t A = boxes_form ? o0->shape[0] : 0, per = boxes_form ? A * o0->shape[1] : G * G * (5 + d.C);
    const float *out = outs[0];
    float *img = malloc((size_t)(S * S) * sizeof *img);
    dl_detection *det = malloc((size_t)(boxes_form ? A * d.C : G * G) * sizeof *det);
    const void *in[1] = {d.image + d.n_train * S * S};
    api->forward_io(m, in, outs, COUNT, NULL);
    dl_canvas cv;
    if (dl_canvas_init(&cv, COLS, COUNT / COLS, 3, (int)S, (int)S)) return 1;
    for (int i = 0; i < COUNT; i++) {
        const int64_t row = d.n_train + i;
        const int64_t n = boxes_form ? dl_detect_decode_boxes(out + i * per, A, d.C, 0.3f, 0.5f, 100, det)
                                     : dl_detect_decode(out + i * per, G, d.C, S, 0.3f, 0.5f, 100, det);
        float *rgb = malloc((size_t)(3 * S * S) * sizeof *rgb);
        for (int c = 0; c < 3; c++) {
            memcpy(img, d.image + row * S * S, (size_t)(S * S) * sizeof *img);
            for (int64_t j = 0; j < d.M; j++)   /* truth in white */
                if (d.box_mask[row * d.M + j] > 0) outline(img, S, d.boxes + (row * d.M + j) * 4, 1.0f);
            for (int64_t k = 0; k < n; k++)     /* detections in green */
                outline(img, S, det[k].box, c == 1 ? 1.0f : 0.0f);
            memcpy(rgb + c * S * S, img, (size_t)(S * S) * sizeof *img);
        }
        dl_canvas_put(&cv, i % COLS, i / COLS, rgb, 0, 1, 0);
        free(rgb);
        printf("canvas %2d:", i);
        for (int64_t k = 0; k < n; k++)
            printf(" class %d %.2f (%.0f, %.0f, %.0f, %.0f)", det[k].cls, det[k].score, det[k].box[0], det[k].box[1],
                   det[k].box[2], det[k].box[3]);
        printf("  | truth:");
        for (int64_t j = 0; j < d.M; j++)
            if (d.box_mask[row * d.M + j] > 0) printf(" class %d", d.classes[row * d.M + j]);
        printf("\n");
    }
    const int rc = dl_canvas_write_png(&cv, argv[2]);
    if (rc) fprintf(stderr, "detect_boxes: %s\n", dl_last_error());
    dl_canvas_free(&cv);
    for (int k = 0; k < api->n_outputs; k++) free(outs[k]);
    free(det);
    free(img);
    api->destroy(m);
    dl_detect_free(&d);
    return rc ? 1 : 0;
}
