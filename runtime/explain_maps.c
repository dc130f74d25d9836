/* explain_maps.c — where a trained classifier looks (`dlnc explain --map`):
 * saliency and occlusion maps of the first test images, each drawn plain, as
 * a colour map and over the image.
 *
 * Saliency is one backward pass: the input-gradient model the compiler adds
 * for --map saliency returns d logit[label] / d image. Occlusion needs only
 * the logits: every position of a grey square is one image of a batch, so an
 * image costs (H - p + 1)(W - p + 1) forwards in batches of OCC_BATCH. */
#include "dlnrt.h"
#include "explain_internal.h"
#include "image_tiles_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OCC_BATCH 256
#define OCC_FILL 0.5f

void dl_heat_rgb(float v, float rgb[3]) {
    static const float stops[5][3] = {{0, 0, 1}, {0, 1, 1}, {0, 1, 0}, {1, 1, 0}, {1, 0, 0}};
    v = isnan(v) ? 0 : fminf(fmaxf(v, 0), 1) * 4;
    int k = v >= 4 ? 3 : (int)v;
    float t = v - (float)k;
    for (int c = 0; c < 3; c++) rgb[c] = stops[k][c] + t * (stops[k + 1][c] - stops[k][c]);
}

/* Softmax probability of class y among K logits. */
static float prob_of(const float *l, int64_t K, int y) {
    float mx = l[0];
    for (int64_t k = 1; k < K; k++) mx = fmaxf(mx, l[k]);
    double s = 0;
    for (int64_t k = 0; k < K; k++) s += exp((double)(l[k] - mx));
    return (float)(exp((double)(l[y] - mx)) / s);
}

typedef struct map_run {
    const dl_model_api *ig;
    void *m;
    int C, H, W;
    int64_t K, per;
    float *logits, *grad, *batch;         /* OCC_BATCH of each */
    float *act;                           /* Grad-CAM: the activation (grad: its gradient) */
    int ac, ah, aw;                       /* ... its sizes */
    int32_t *labels;
} map_run;

static int map_eval(map_run *r, const float *x, const int32_t *y, int64_t n) {
    return dl_explain_eval(r->ig, r->m, x, y, n, r->logits, r->grad, r->act);
}

/* map (H x W) of image x with label y; *p its clean probability. */
static int saliency(map_run *r, const float *x, int32_t y, float *map, float *p) {
    if (map_eval(r, x, &y, 1)) return -1;
    *p = prob_of(r->logits, r->K, y);
    for (int i = 0; i < r->H * r->W; i++) {
        float v = 0;
        for (int c = 0; c < r->C; c++) v = fmaxf(v, fabsf(r->grad[c * r->H * r->W + i]));
        map[i] = v;
    }
    return 0;
}

void dl_gradcam(const float *A, const float *dA, int C, int h, int w, float *map, int H, int W) {
    const int hw = h * w;
    float *cam = calloc((size_t)hw, sizeof *cam);
    if (!cam) {   /* the map stays 0: drawn blue rather than failing a picture */
        memset(map, 0, (size_t)(H * W) * sizeof *map);
        return;
    }
    for (int k = 0; k < C; k++) {
        double alpha = 0;
        for (int i = 0; i < hw; i++) alpha += dA[k * hw + i];
        alpha /= hw;
        for (int i = 0; i < hw; i++) cam[i] += (float)alpha * A[k * hw + i];
    }
    for (int i = 0; i < hw; i++) cam[i] = fmaxf(cam[i], 0);
    for (int i = 0; i < H; i++) {
        const float sy = fmaxf(((float)i + 0.5f) * (float)h / (float)H - 0.5f, 0);
        const int y0 = (int)sy, y1 = y0 + 1 < h ? y0 + 1 : y0;
        const float fy = sy - (float)y0;
        for (int j = 0; j < W; j++) {
            const float sx = fmaxf(((float)j + 0.5f) * (float)w / (float)W - 0.5f, 0);
            const int x0 = (int)sx, x1 = x0 + 1 < w ? x0 + 1 : x0;
            const float fx = sx - (float)x0;
            map[i * W + j] = (1 - fy) * ((1 - fx) * cam[y0 * w + x0] + fx * cam[y0 * w + x1]) +
                             fy * ((1 - fx) * cam[y1 * w + x0] + fx * cam[y1 * w + x1]);
        }
    }
    free(cam);
}

static int gradcam(map_run *r, const float *x, int32_t y, float *map, float *p) {
    if (map_eval(r, x, &y, 1)) return -1;
    *p = prob_of(r->logits, r->K, y);
    dl_gradcam(r->act, r->grad, r->ac, r->ah, r->aw, map, r->H, r->W);
    return 0;
}

static int occlusion(map_run *r, const float *x, int32_t y, int patch, float *map, float *p) {
    const int ny = r->H - patch + 1, nx = r->W - patch + 1, HW = r->H * r->W;
    float *cover = calloc((size_t)HW, sizeof *cover);
    if (!cover) {
        dl_set_error("out of memory for the occlusion map");
        return -1;
    }
    int rc = -1;
    if (map_eval(r, x, &y, 1)) goto done;
    *p = prob_of(r->logits, r->K, y);
    memset(map, 0, (size_t)HW * sizeof *map);
    for (int at = 0; at < ny * nx; at += OCC_BATCH) {
        const int n = ny * nx - at < OCC_BATCH ? ny * nx - at : OCC_BATCH;
        for (int s = 0; s < n; s++) {
            float *b = r->batch + (int64_t)s * r->per;
            const int oy = (at + s) / nx, ox = (at + s) % nx;
            memcpy(b, x, (size_t)r->per * sizeof *b);
            for (int c = 0; c < r->C; c++)
                for (int i = oy; i < oy + patch; i++)
                    for (int j = ox; j < ox + patch; j++) b[c * HW + i * r->W + j] = OCC_FILL;
            r->labels[s] = y;
        }
        if (map_eval(r, r->batch, r->labels, n)) goto done;
        for (int s = 0; s < n; s++) {
            const int oy = (at + s) / nx, ox = (at + s) % nx;
            const float drop = fmaxf(*p - prob_of(r->logits + s * r->K, r->K, y), 0);
            for (int i = oy; i < oy + patch; i++)
                for (int j = ox; j < ox + patch; j++) map[i * r->W + j] += drop, cover[i * r->W + j] += 1;
        }
    }
    for (int i = 0; i < HW; i++) map[i] /= cover[i];
    rc = 0;
done:
    free(cover);
    return rc;
}

/* Row 0: the image; 1: the map in colour (scaled by its largest value); 2:
 * the map over the image's grey (each half). */
static void draw_map(dl_canvas *cv, int col, const map_run *r, const float *x, const float *map, float *rgb) {
    const int HW = r->H * r->W;
    float mx = 0;
    for (int i = 0; i < HW; i++) mx = fmaxf(mx, map[i]);
    for (int row = 0; row < 3; row++) {
        for (int i = 0; i < HW; i++) {
            float grey = 0, heat[3];
            for (int c = 0; c < r->C; c++) grey += x[c * HW + i] / (float)r->C;
            dl_heat_rgb(mx > 0 ? map[i] / mx : 0, heat);
            for (int c = 0; c < 3; c++) {
                const float img = r->C == 3 ? x[c * HW + i] : grey;
                rgb[c * HW + i] = row == 0 ? img : row == 1 ? heat[c] : 0.5f * img + 0.5f * heat[c];
            }
        }
        dl_canvas_put(cv, col, row, rgb, 0, 1, 0);
    }
}

int dl_explain_map(const dl_model_api *data, const dl_model_api *ig, const dl_explain_options *o) {
    if (!data || !ig || !o || !data->train || !o->grid.path || !o->map) {
        dl_set_error("dl_explain_map: missing argument");
        return -1;
    }
    if (dl_check_draw(&o->grid, DL_GRID_MAX_COUNT, "--count")) return -1;
    dl_dataset d;
    const char *what;
    if (dl_load_eval_images(&data->train->data, data->train->seed, &d, &what) != 0) return -1;
    map_run r = {.ig = ig, .per = d.x_numel, .C = d.x_rank == 3 ? (int)d.x_shape[0] : 1};
    r.H = (int)d.x_shape[d.x_rank - 2], r.W = (int)d.x_shape[d.x_rank - 1];
    const int64_t count = o->grid.count < d.n ? o->grid.count : d.n;
    int rc = -1;
    float *map = NULL, *rgb = NULL;
    dl_canvas cv = {0};
    if (dl_explain_form(ig, &d, &r.K)) goto done;
    if (o->map == DL_MAP_OCCLUSION && (o->patch < 1 || o->patch > r.H || o->patch > r.W)) {
        dl_set_error("--patch %d: the square must fit the %dx%d images", o->patch, r.H, r.W);
        goto done;
    }
    r.logits = malloc((size_t)(OCC_BATCH * r.K) * sizeof(float));
    r.grad = malloc((size_t)(OCC_BATCH * r.per) * sizeof(float));
    r.batch = malloc((size_t)(OCC_BATCH * r.per) * sizeof(float));
    r.labels = malloc(OCC_BATCH * sizeof(int32_t));
    if (o->map == DL_MAP_GRADCAM) {
        if (ig->n_outputs != 3) {
            dl_set_error("model '%s' has no activation for Grad-CAM (build it with --layer NAME)", ig->name);
            goto done;
        }
        r.ac = (int)ig->outputs[1].shape[0], r.ah = (int)ig->outputs[1].shape[1], r.aw = (int)ig->outputs[1].shape[2];
        free(r.grad);
        r.grad = malloc((size_t)r.ac * r.ah * r.aw * sizeof(float));
        r.act = malloc((size_t)r.ac * r.ah * r.aw * sizeof(float));
        if (!r.act) goto done_oom;
    } else if (ig->n_outputs != 2) {
        dl_set_error("model '%s' has no image gradient for --map", ig->name);
        goto done;
    }
    map = malloc((size_t)(r.H * r.W) * sizeof *map);
    rgb = malloc((size_t)(3 * r.H * r.W) * sizeof *rgb);
    if (!r.logits || !r.grad || !r.batch || !r.labels || !map || !rgb) {
    done_oom:
        dl_set_error("out of memory for the maps");
        goto done;
    }
    if (dl_canvas_init(&cv, (int)count, 3, 3, r.H, r.W)) goto done;
    if (!(r.m = dl_sample_open(ig, OCC_BATCH, &o->grid))) goto done;
    const char *name = o->map == DL_MAP_SALIENCY ? "saliency" : o->map == DL_MAP_OCCLUSION ? "occlusion" : "Grad-CAM";
    for (int64_t i = 0; i < count; i++) {
        const float *x = d.x + i * r.per;
        float p;
        if (o->map == DL_MAP_SALIENCY    ? saliency(&r, x, d.y_class[i], map, &p)
            : o->map == DL_MAP_OCCLUSION ? occlusion(&r, x, d.y_class[i], o->patch, map, &p)
                                         : gradcam(&r, x, d.y_class[i], map, &p))
            goto done;
        draw_map(&cv, (int)i, &r, x, map, rgb);
        printf("%s: %s image %lld, label %d, probability %.4f\n", name, what, (long long)i, d.y_class[i], p);
    }
    if (dl_canvas_write_png(&cv, o->grid.path) != 0) goto done;
    rc = 0;
done:
    if (r.m) ig->destroy(r.m);
    free(r.logits), free(r.grad), free(r.batch), free(r.labels), free(r.act), free(map), free(rgb);
    dl_canvas_free(&cv);
    dl_dataset_free(&d);
    return rc;
}
