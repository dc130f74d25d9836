/* test_rt_image_tiles.c — the pictures of `dlnc sample`'s image modes
 * (runtime/image_tiles.c, image_recon.c, image_interp.c) with hand-made
 * models whose every pixel is known: the canvas's size, cells, gaps and value
 * mapping (range, clamping, NaN, sigmoid); the interpolation's points
 * (exactly its endpoints at both ends); --reconstruct on the real
 * Fashion-MNIST test set through a model giving 1 - x, each original above
 * its reconstruction, the printed MSE the exact one, a further output of the
 * image's shape on a third row; --interpolate through a decoder that paints
 * its latent, each row linear from its first to its last cell; and the forms
 * refused with a message naming the model. */
#include "dlnrt.h"
#include "files.h"
#include "image_tiles_internal.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FMNIST "/usr/share/datasets/fashion-mnist"

static char dir[64];

static int tiles_setup(void) {
    snprintf(dir, sizeof dir, "/tmp/dlnrt_tiles_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int tiles_teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static unsigned char byte_of(float v) { /* the canvas's mapping for [0, 1] */
    v *= 255.0f;
    return (unsigned char)lrintf(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void test_canvas(void) {
    dl_canvas cv;
    CU_ASSERT_EQUAL_FATAL(dl_canvas_init(&cv, 3, 2, 1, 2, 3), 0);
    CU_ASSERT_EQUAL(cv.width, 3 * 4 - 1);
    CU_ASSERT_EQUAL(cv.height, 2 * 3 - 1);
    const float img[6] = {0.0f, 0.5f, 1.0f, -3.0f, 7.0f, NAN};
    dl_canvas_put(&cv, 2, 1, img, 0, 1, 0);
    const unsigned char *p = cv.pix + 3 * cv.width + 8; /* cell (2, 1): x0 = 2 (3 + 1), y0 = 1 (2 + 1) */
    CU_ASSERT_EQUAL(p[0], 0);
    CU_ASSERT_EQUAL(p[1], 128);
    CU_ASSERT_EQUAL(p[2], 255);
    CU_ASSERT_EQUAL(p[cv.width], 0);       /* clamped below */
    CU_ASSERT_EQUAL(p[cv.width + 1], 255); /* clamped above */
    CU_ASSERT_EQUAL(p[cv.width + 2], 0);   /* NaN: black */
    int lit = 0;
    for (int i = 0; i < cv.width * cv.height; i++) lit += cv.pix[i] != 0;
    CU_ASSERT_EQUAL(lit, 3); /* nothing outside the cell, the gaps black */
    const float logits[6] = {0, 0, 0, 0, 0, 0};
    dl_canvas_put(&cv, 0, 0, logits, -1, 1, 1); /* sigmoid(0) = 0.5 on [-1, 1]: 3/4 of white */
    CU_ASSERT_EQUAL(cv.pix[0], 191);
    dl_canvas_put(&cv, 3, 0, img, 0, 1, 0); /* outside the grid: ignored */
    dl_canvas_free(&cv);
    CU_ASSERT_EQUAL(dl_canvas_init(&cv, 100000, 100000, 1, 28, 28), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "too large"));
    CU_ASSERT_EQUAL(dl_canvas_init(&cv, 1, 1, 2, 28, 28), -1); /* 2 channels: no such picture */
}

static void test_lerp(void) {
    const float a[3] = {0.1f, -2.5f, 3.0f}, b[3] = {0.7f, 1.0f / 3.0f, -1e-7f};
    float out[10 * 3];
    dl_lerp_points(a, b, 3, 10, out);
    CU_ASSERT_EQUAL(memcmp(out, a, sizeof a), 0); /* bit for bit at both ends */
    CU_ASSERT_EQUAL(memcmp(out + 27, b, sizeof b), 0);
    for (int j = 0; j < 10; j++)
        for (int k = 0; k < 3; k++) CU_ASSERT_DOUBLE_EQUAL(out[j * 3 + k], a[k] + (b[k] - a[k]) * j / 9.0, 1e-6);
}

/* ---- hand-made models: the dl_model_api members the image modes call ---- */
typedef struct fake {
    int kind; /* 0: 1 - x and x / 2 (an autoencoder); 1: latent z[0] painted (a decoder) */
} fake;
static fake fake_ae = {0}, fake_dec = {1};
static const dl_train_config *fake_cfg;
static void *fake_create(const int64_t *sym_max) { return sym_max[0] > 0 ? malloc(1) : NULL; }
static void fake_destroy(void *m) { free(m); }
static int fake_load(void *m, const char *path) { return m && path ? 0 : -1; }
static void fake_forward(const fake *f, const void *const *in, void *const *out, int64_t n) {
    const float *x = in[0];
    float *y = out[0], *y2 = out[1];
    if (f->kind == 0)
        for (int64_t i = 0; i < n * 784; i++) y[i] = 1.0f - x[i], y2[i] = x[i] / 2;
    else
        for (int64_t s = 0; s < n; s++)
            for (int i = 0; i < 4; i++) y[s * 4 + i] = x[s * 2];
}
static void ae_forward(void *m, const void *const *in, void *const *out, int64_t n, const int64_t *syms) {
    (void)m, (void)syms;
    fake_forward(&fake_ae, in, out, n);
}
static void dec_forward(void *m, const void *const *in, void *const *out, int64_t n, const int64_t *syms) {
    (void)m, (void)syms;
    fake_forward(&fake_dec, in, out, n);
}
static const char *const syms[1] = {"N"};
static const dl_io_info img_in = {"image", "image", DL_F32, 3, {1, 28, 28}};
static const dl_io_info ae_out[2] = {{"recon", "recon", DL_F32, 3, {1, 28, 28}}, {"half", "half", DL_F32, 3, {1, 28, 28}}};
static const dl_io_info lat_in = {"z", "z", DL_F32, 1, {2}};
static const dl_io_info dec_out[1] = {{"output", "output", DL_F32, 3, {1, 2, 2}}};

static dl_model_api fake_api(int kind) {
    dl_model_api a;
    memset(&a, 0, sizeof a);
    a.name = kind == 0 ? "ae" : "dec";
    a.abi_version = DL_ABI_VERSION;
    a.n_syms = 1;
    a.sym_names = syms;
    a.n_inputs = 1;
    a.inputs = kind == 0 ? &img_in : &lat_in;
    a.n_outputs = kind == 0 ? 2 : 1;
    a.outputs = kind == 0 ? ae_out : dec_out;
    a.create_io = fake_create;
    a.destroy = fake_destroy;
    a.load = fake_load;
    a.forward_io = kind == 0 ? ae_forward : dec_forward;
    a.train = fake_cfg;
    return a;
}

static void test_reconstruct(void) {
    if (access(FMNIST "/t10k-images-idx3-ubyte.gz", R_OK) != 0) {
        printf("(skipped: no Fashion-MNIST in " FMNIST ") ");
        return;
    }
    dl_train_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data.kind = "fashion_mnist";
    cfg.data.path = FMNIST;
    fake_cfg = &cfg;
    dl_model_api api = fake_api(0);
    char path[128];
    snprintf(path, sizeof path, "%s/r.png", dir);
    dl_grid_options o = {.checkpoint = "unused", .path = path, .count = 10, .lo = 0, .hi = 1};
    double mse = -1;
    CU_ASSERT_EQUAL_FATAL(dl_sample_reconstruct(&api, &o, &mse), 0);
    dl_dataset d;
    CU_ASSERT_EQUAL_FATAL(dl_load_mnist_dir(FMNIST, "test", &d), 0);
    double want = 0;
    for (int64_t i = 0; i < d.n * 784; i++) want += (1.0 - 2.0 * d.x[i]) * (1.0 - 2.0 * d.x[i]);
    CU_ASSERT_DOUBLE_EQUAL(mse, want / (double)(d.n * 784), 1e-9);
    int w, h;
    unsigned char *px = test_read_png(path, PNG_FORMAT_GRAY, &w, &h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(px);
    /* 10 images, 8 per row: 2 groups of 3 rows (originals, 1 - x, x / 2) */
    CU_ASSERT_EQUAL(w, 8 * 29 - 1);
    CU_ASSERT_EQUAL(h, 6 * 29 - 1);
    int bad = 0;
    for (int i = 0; i < 10; i++)
        for (int p = 0; p < 784; p++) {
            const int x0 = (i % 8) * 29 + p % 28, y0 = (i / 8) * 3 * 29 + p / 28;
            const float v = d.x[i * 784 + p];
            bad += px[y0 * w + x0] != byte_of(v);
            bad += px[(y0 + 29) * w + x0] != byte_of(1.0f - v);
            bad += px[(y0 + 58) * w + x0] != byte_of(v / 2);
        }
    CU_ASSERT_EQUAL(bad, 0);
    free(px);
    /* with --sigmoid, the MSE compares sigmoid(1 - x) */
    o.sigmoid = 1;
    CU_ASSERT_EQUAL(dl_sample_reconstruct(&api, &o, &mse), 0);
    want = 0;
    for (int64_t i = 0; i < d.n * 784; i++) {
        double s = 1.0 / (1.0 + exp(-(1.0 - d.x[i])));
        want += (s - d.x[i]) * (s - d.x[i]);
    }
    CU_ASSERT_DOUBLE_EQUAL(mse, want / (double)(d.n * 784), 1e-6);
    dl_dataset_free(&d);
    /* forms refused: token ids, an output not shaped like the image, no train section */
    dl_io_info ids = img_in;
    ids.dtype = DL_I32;
    api.inputs = &ids;
    CU_ASSERT_EQUAL(dl_sample_reconstruct(&api, &o, NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "model 'ae' cannot reconstruct"));
    api.inputs = &img_in;
    api.outputs = dec_out;
    CU_ASSERT_EQUAL(dl_sample_reconstruct(&api, &o, NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "first output 'output' must be an image shaped like its input"));
    api.train = NULL;
    CU_ASSERT_EQUAL(dl_sample_reconstruct(&api, &o, NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "has no train section"));
}

static void test_interpolate(void) {
    dl_model_api dec = fake_api(1);
    char path[128];
    snprintf(path, sizeof path, "%s/i.png", dir);
    dl_grid_options o = {.checkpoint = "unused", .path = path, .count = 3, .seed = 7, .lo = -4, .hi = 4};
    CU_ASSERT_EQUAL_FATAL(dl_sample_interpolate(&dec, NULL, NULL, &o), 0);
    int w, h;
    unsigned char *px = test_read_png(path, PNG_FORMAT_GRAY, &w, &h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(px);
    CU_ASSERT_EQUAL(w, DL_INTERP_STEPS * 3 - 1);
    CU_ASSERT_EQUAL(h, 3 * 3 - 1);
    int bad = 0, flat = 0;
    for (int r = 0; r < 3; r++) {
        const int a = px[r * 3 * w], b = px[r * 3 * w + (DL_INTERP_STEPS - 1) * 3];
        flat += a == b;
        for (int j = 0; j < DL_INTERP_STEPS; j++) /* linear between the ends, within rounding */
            bad += abs(px[r * 3 * w + j * 3] - (int)lrint(a + (b - a) * j / (double)(DL_INTERP_STEPS - 1))) > 1;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(flat < 3); /* N(0, 1) endpoints differ */
    free(px);
    /* a decoder whose input is no fixed-size latent, rows out of range */
    dl_io_info sym = lat_in;
    sym.shape[0] = -1;
    dec.inputs = &sym;
    CU_ASSERT_EQUAL(dl_sample_interpolate(&dec, NULL, NULL, &o), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "model 'dec' cannot interpolate"));
    dec.inputs = &lat_in;
    o.count = DL_INTERP_MAX_ROWS + 1;
    CU_ASSERT_EQUAL(dl_sample_interpolate(&dec, NULL, NULL, &o), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "rows"));
    /* an encoder whose latent is not the decoder's size */
    o.count = 2;
    dl_model_api enc = fake_api(0);
    dl_train_config tc;
    memset(&tc, 0, sizeof tc);
    tc.data.kind = "fashion_mnist";
    tc.data.path = FMNIST;
    if (access(FMNIST "/t10k-images-idx3-ubyte.gz", R_OK) == 0) {
        CU_ASSERT_EQUAL(dl_sample_interpolate(&dec, &enc, &tc, &o), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "model 'ae' cannot be the encoder"));
    }
    tc.data.kind = "csv";
    CU_ASSERT_EQUAL(dl_sample_interpolate(&dec, &enc, &tc, &o), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "not images"));
}

void suite_rt_image_tiles(void) {
    CU_pSuite s = CU_add_suite("rt_image_tiles", tiles_setup, tiles_teardown);
    CU_add_test(s, "canvas: size, cells, gaps, value mapping", test_canvas);
    CU_add_test(s, "interpolation points: exact endpoints", test_lerp);
    CU_add_test(s, "--reconstruct: pixels, rows and the exact MSE", test_reconstruct);
    CU_add_test(s, "--interpolate: linear rows, forms refused", test_interpolate);
}
