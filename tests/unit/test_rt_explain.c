/* test_rt_explain.c — the attacks of `dlnc explain` (runtime/explain.c):
 * FGSM's sign step (sign(0) = 0), PGD's projection onto the eps-ball and
 * [0, 1], and a whole attack over the Fashion-MNIST test set through a
 * hand-made input-gradient model: its logits are (mean(x), 0.4) and its
 * "gradient" -1 everywhere, so an attack darkens every pixel by exactly eps
 * (clamped at 0) and the accuracies can be counted here independently; the
 * maps' colour scale at its stops. */
#include "dlnrt.h"
#include "explain_internal.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FMNIST "/usr/share/datasets/fashion-mnist"

static void test_sign_step(void) {
    float x[4] = {0.5f, 0.5f, 0.5f, 0.0f}, g[4] = {2.0f, -1e-30f, 0.0f, 3.0f};
    dl_sign_step(x, g, 4, 0.25f);
    CU_ASSERT_EQUAL(x[0], 0.75f);
    CU_ASSERT_EQUAL(x[1], 0.25f);
    CU_ASSERT_EQUAL(x[2], 0.5f);   /* a zero gradient moves nothing, as torch.sign */
    CU_ASSERT_EQUAL(x[3], 0.25f);
}

static void test_project(void) {
    const float x0[5] = {0.5f, 0.5f, 0.05f, 0.95f, 0.5f};
    float x[5] = {0.9f, 0.1f, -0.3f, 1.4f, 0.55f};
    dl_linf_project(x, x0, 5, 0.1f, 0.0f, 1.0f);
    CU_ASSERT_DOUBLE_EQUAL(x[0], 0.6, 1e-7);    /* onto the ball's upper face */
    CU_ASSERT_DOUBLE_EQUAL(x[1], 0.4, 1e-7);    /* ... and its lower one */
    CU_ASSERT_EQUAL(x[2], 0.0f);                /* the ball says -0.05, the pixel range 0 */
    CU_ASSERT_EQUAL(x[3], 1.0f);
    CU_ASSERT_EQUAL(x[4], 0.55f);               /* inside: unchanged */
}

static const dl_io_info ig_in[2] = {{"image", "image", DL_F32, 3, {1, 28, 28}}, {"label", "label", DL_I32, 0, {0}}};
static const dl_io_info ig_out[2] = {{"logits", "logits", DL_F32, 1, {10}},
                                     {"input_grad", "input_grad", DL_F32, 3, {1, 28, 28}}};
static const char *const syms[1] = {"N"};
static void *ig_create(const int64_t *sym_max) { return sym_max[0] > 0 ? malloc(1) : NULL; }
static void ig_destroy(void *m) { free(m); }
static int ig_load(void *m, const char *path) { return m && path ? 0 : -1; }
static void ig_forward(void *m, const void *const *in, void *const *out, int64_t n, const int64_t *s) {
    (void)m, (void)s;
    const float *x = in[0];
    float *l = out[0], *g = out[1];
    for (int64_t i = 0; i < n; i++) {
        double sum = 0;
        for (int k = 0; k < 784; k++) sum += x[i * 784 + k], g[i * 784 + k] = -1.0f;
        /* classes 0 and 1 compete; the others, never chosen, are there for the
         * labels to go up to 9 as Fashion-MNIST's do */
        for (int k = 2; k < 10; k++) l[10 * i + k] = -100.0f;
        l[10 * i] = (float)(sum / 784), l[10 * i + 1] = 0.4f;
    }
}

/* The fake input-gradient model reading Fashion-MNIST's test set (cfg). */
static dl_model_api fake_ig(dl_train_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->data.kind = "fashion_mnist";
    cfg->data.path = FMNIST;
    dl_model_api ig;
    memset(&ig, 0, sizeof ig);
    ig.name = "m_input_grad", ig.abi_version = DL_ABI_VERSION, ig.n_syms = 1, ig.sym_names = syms;
    ig.n_inputs = 2, ig.inputs = ig_in, ig.n_outputs = 2, ig.outputs = ig_out;
    ig.create_io = ig_create, ig.destroy = ig_destroy, ig.load = ig_load, ig.forward_io = ig_forward;
    ig.train = cfg;
    return ig;
}

/* Images whose class (0 if the mean > 0.4, else 1) equals their label
 * after darkening by eps. */
static double count_right(const dl_dataset *d, float eps) {
    int64_t right = 0;
    for (int64_t i = 0; i < d->n; i++) {
        double sum = 0;
        for (int k = 0; k < 784; k++) sum += fmaxf(d->x[i * 784 + k] - eps, 0.0f);
        right += ((float)(sum / 784) > 0.4f ? 0 : 1) == d->y_class[i];
    }
    return (double)right / (double)d->n;
}

static void test_attack(void) {
    if (access(FMNIST "/t10k-images-idx3-ubyte.gz", R_OK) != 0) {
        printf("(skipped: no Fashion-MNIST in " FMNIST ") ");
        return;
    }
    dl_train_config cfg;
    dl_model_api ig = fake_ig(&cfg);
    double acc[3];
    dl_explain_options o = {.grid = {.checkpoint = "unused", .count = 4, .hi = 1}, .kind = DL_ATTACK_FGSM,
                           .eps = {0.05, 0.2}, .n_eps = 2, .acc = acc};
    CU_ASSERT_EQUAL_FATAL(dl_explain_attack(&ig, &ig, &o), 0);
    dl_dataset d;
    CU_ASSERT_EQUAL_FATAL(dl_load_mnist_dir(FMNIST, "test", &d), 0);
    CU_ASSERT_DOUBLE_EQUAL(acc[0], count_right(&d, 0), 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(acc[1], count_right(&d, 0.05f), 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(acc[2], count_right(&d, 0.2f), 1e-12);
    /* PGD with steps of eps / 2: the same darkening after 2 steps, and no further after 4 (the ball) */
    o.kind = DL_ATTACK_PGD, o.steps = 4, o.alpha = 0.1, o.eps[0] = 0.2, o.n_eps = 1;
    CU_ASSERT_EQUAL_FATAL(dl_explain_attack(&ig, &ig, &o), 0);
    CU_ASSERT_DOUBLE_EQUAL(acc[1], count_right(&d, 0.2f), 1e-12);
    dl_dataset_free(&d);
    /* a model of another form is refused, naming it */
    ig.n_outputs = 1;
    CU_ASSERT_EQUAL(dl_explain_attack(&ig, &ig, &o), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "model 'm_input_grad' cannot be attacked"));
}

static void test_heat(void) {
    float c[3];
    dl_heat_rgb(0, c);
    CU_ASSERT(c[0] == 0 && c[1] == 0 && c[2] == 1);      /* blue */
    dl_heat_rgb(0.5f, c);
    CU_ASSERT(c[0] == 0 && c[1] == 1 && c[2] == 0);      /* green */
    dl_heat_rgb(1, c);
    CU_ASSERT(c[0] == 1 && c[1] == 0 && c[2] == 0);      /* red */
    dl_heat_rgb(0.625f, c);                              /* halfway from green to yellow */
    CU_ASSERT(c[0] == 0.5f && c[1] == 1 && c[2] == 0);
    dl_heat_rgb(7, c);
    CU_ASSERT(c[0] == 1 && c[1] == 0 && c[2] == 0);      /* clamped */
    dl_heat_rgb(NAN, c);
    CU_ASSERT(c[0] == 0 && c[1] == 0 && c[2] == 1);
}

/* Both maps through the fake model draw their picture; a square larger
 * than the images and a map without a picture path are refused. */
static void test_maps(void) {
    if (access(FMNIST "/t10k-images-idx3-ubyte.gz", R_OK) != 0) {
        printf("(skipped: no Fashion-MNIST in " FMNIST ") ");
        return;
    }
    dl_train_config cfg;
    dl_model_api ig = fake_ig(&cfg);
    char path[] = "/tmp/dlnrt_maps_XXXXXX.png";
    int fd = mkstemps(path, 4);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    dl_explain_options o = {.grid = {.checkpoint = "unused", .path = path, .count = 3, .hi = 1},
                            .map = DL_MAP_OCCLUSION, .patch = 29};
    CU_ASSERT_EQUAL(dl_explain_map(&ig, &ig, &o), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "--patch 29: the square must fit the 28x28 images"));
    o.patch = 5;
    CU_ASSERT_EQUAL(dl_explain_map(&ig, &ig, &o), 0);
    o.map = DL_MAP_SALIENCY;
    CU_ASSERT_EQUAL(dl_explain_map(&ig, &ig, &o), 0);
    o.grid.path = NULL;
    CU_ASSERT_EQUAL(dl_explain_map(&ig, &ig, &o), -1);
    unlink(path);
}

/* Grad-CAM of a 2-channel 2x2 activation: alphas 1 and -0.5 (the mean
 * gradients), cam = relu(A0 - 0.5 A1); resized to 4x4 each corner pixel
 * keeps its cell's value and an inner one mixes 3/4 and 1/4, as
 * F.interpolate(mode = "bilinear", align_corners = False). */
static void test_gradcam(void) {
    const float A[8] = {1, 2, 3, 4, /* */ 4, 0, 2, 2};
    const float dA[8] = {1, 1, 1, 1, /* */ -1, 0, -1, 0};
    float map[16];
    dl_gradcam(A, dA, 2, 2, 2, map, 4, 4);
    /* cam = relu([1 - 2, 2 - 0, 3 - 1, 4 - 1]) = [0, 2, 2, 3] */
    CU_ASSERT_DOUBLE_EQUAL(map[0], 0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(map[3], 2, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(map[12], 2, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(map[15], 3, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(map[1], 0.75 * 0 + 0.25 * 2, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(map[5], 0.75 * (0.75 * 0 + 0.25 * 2) + 0.25 * (0.75 * 2 + 0.25 * 3), 1e-6);
}

void suite_rt_explain(void) {
    CU_pSuite s = CU_add_suite("rt_explain", NULL, NULL);
    CU_add_test(s, "FGSM sign step", test_sign_step);
    CU_add_test(s, "PGD projection onto the ball and [0, 1]", test_project);
    CU_add_test(s, "attacks over the test set: exact accuracies", test_attack);
    CU_add_test(s, "the maps' colour scale", test_heat);
    CU_add_test(s, "Grad-CAM: weights, relu, bilinear resize", test_gradcam);
    CU_add_test(s, "occlusion and saliency maps drawn, a square too big refused", test_maps);
}
