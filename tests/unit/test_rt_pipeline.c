/* test_rt_pipeline.c — the data pipeline end to end through the compiler:
 * a .dln whose train section uses the new data kinds and `augment = [...]`
 * is compiled by this build's dlnc, the generated C compiles with -Werror,
 * and `dlnc run` (dl_run_training in the JIT-compiled model) trains a few
 * steps on data the test writes: CIFAR-10 batches with every augmentation
 * and mixup (soft_cross_entropy), and a PNG class folder with a test folder.
 * With Fashion-MNIST installed, the generated mask task trains with IoU. */
#include "dlnrt.h"
#include "emitted.h"

#include <CUnit/CUnit.h>
#include <limits.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], bdir[PATH_MAX];

static int pipeline_setup(void)
{
    emitted_exe_dir(bdir, sizeof bdir);
    snprintf(dir, sizeof dir, "/tmp/dlnrt_pipeline_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int pipeline_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* dlnc name.dln -o name.c; cc -Werror; dlnc run name.dln <args>. The run's
 * output must contain `expect`. */
static void compile_and_run(const char *name, const char *run_args, const char *expect)
{
    char cmd[PATH_MAX * 2 + 1024];
    snprintf(cmd, sizeof cmd, "%s/dlnc %s/%s.dln -o %s/%s.c", bdir, dir, name, dir, name);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "cc -std=c11 -O2 -fopenmp -Wall -Wextra -Werror -Iruntime -I%s -c %s/%s.c -o %s/%s.o", dir,
             dir, name, dir, name);
    if (system(cmd) != 0) {
        CU_FAIL("generated C does not compile with -Werror");
        fprintf(stderr, "\n  %s\n", cmd);
        return;
    }
    snprintf(cmd, sizeof cmd, "DLNC_CACHE=%s/cache OMP_NUM_THREADS=2 %s/dlnc run %s/%s.dln %s > %s/%s.out 2>&1", dir, bdir,
             dir, name, run_args, dir, name);
    int rc = system(cmd);
    char path[256], out[4096] = "";
    snprintf(path, sizeof path, "%s/%s.out", dir, name);
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(out, 1, sizeof out - 1, f);
        out[n] = 0;
        fclose(f);
    }
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, expect));
    if (rc != 0 || !strstr(out, expect)) fprintf(stderr, "\n  %s:\n%s\n", cmd, out);
}

static void test_cifar10_augmented(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/cifar", dir);
    mkdir(path, 0755);
    unsigned char rec[3073];
    for (int b = 0; b < 6; b++) {
        if (b < 5) snprintf(path, sizeof path, "%s/cifar/data_batch_%d.bin", dir, b + 1);
        else snprintf(path, sizeof path, "%s/cifar/test_batch.bin", dir);
        FILE *f = fopen(path, "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        for (int r = 0; r < 8; r++) {   /* class c: a brighter image for a higher class */
            rec[0] = (unsigned char)((b + r) % 10);
            for (int k = 0; k < 3072; k++) rec[1 + k] = (unsigned char)(rec[0] * 25 + (k * 7 + r) % 20);
            fwrite(rec, 1, sizeof rec, f);
        }
        fclose(f);
    }
    char text[2048];
    snprintf(text, sizeof text,
             "model tiny(x: f32[N, 3, 32, 32]) -> f32[N, 10] {\n"
             "    return dense(flatten(x), 10)\n"
             "}\n"
             "train tiny {\n"
             "    data    = cifar10(\"%s/cifar\", batch = 8)\n"
             "    loss    = soft_cross_entropy(output, label)\n"
             "    metrics = [accuracy]\n"
             "    augment = [random_crop(pad = 4), hflip(), vflip(p = 0.5), rotate(degrees = 10), noise(std = 0.05),\n"
             "               brightness(0.2), contrast(0.2), cutout(size = 8), mixup(alpha = 0.2),\n"
             "               normalize(mean = [0.5, 0.5, 0.5], std = [0.25, 0.25, 0.25])]\n"
             "}\n", dir);
    write_text("tiny.dln", text);
    compile_and_run("tiny", "--epochs 1 --max-steps 4", "test_acc");
}

static void write_png(const char *rel, int seed)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.format = PNG_FORMAT_RGB;
    im.width = im.height = 8;
    unsigned char pix[8 * 8 * 3];
    for (int i = 0; i < (int)sizeof pix; i++) pix[i] = (unsigned char)(seed * 60 + i % 50);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    CU_ASSERT(png_image_write_to_file(&im, path, 0, pix, 0, NULL) != 0);
}

static void test_image_folder(void)
{
    const char *dirs[] = {"train", "train/circle", "train/square", "test", "test/square", "test/circle"};
    char path[256];
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, dirs[i]);
        mkdir(path, 0755);
    }
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "train/%s/%d.png", i % 2 ? "square" : "circle", i);
        write_png(path, i % 2);
    }
    write_png("test/square/a.png", 1);
    write_png("test/circle/b.png", 0);
    char text[2048];
    snprintf(text, sizeof text,
             "model shapes(x: f32[N, 3, 8, 8]) -> f32[N, 2] {\n"
             "    return dense(flatten(x), 2)\n"
             "}\n"
             "train shapes {\n"
             "    data    = image_folder(\"%s/train\", test = \"%s/test\", batch = 4, channels = 3)\n"
             "    loss    = cross_entropy(output, label)\n"
             "    metrics = [accuracy]\n"
             "    augment = [hflip(), random_crop(pad = 1), normalize(mean = [0.5], std = [0.5])]\n"
             "    epochs  = 2\n"
             "}\n", dir, dir);
    write_text("shapes.dln", text);
    compile_and_run("shapes", "", "test_acc");
}

static void test_fashion_mnist_masks(void)
{
    if (access("/usr/share/datasets/fashion-mnist", R_OK) != 0) return;   /* optional data */
    write_text("seg.dln",
               "model seg(x: f32[N, 1, 28, 28]) -> f32[N, 1, 28, 28] {\n"
               "    h = conv2d(x, 4, kernel = 3, pad = 1) |> relu\n"
               "    return conv2d(h, 1, kernel = 1)\n"
               "}\n"
               "train seg {\n"
               "    data    = fashion_mnist_masks(batch = 64, threshold = 0.1, val_split = 0.01)\n"
               "    loss    = bce_with_logits(output, label)\n"
               "    optim   = adam(lr = 1e-2)\n"
               "    metrics = [iou]\n"
               "    augment = [hflip(), rotate(degrees = 10)]\n"
               "}\n");
    compile_and_run("seg", "--epochs 1 --max-steps 30", "val_iou"); /* a validation split */
}

void suite_rt_pipeline(void)
{
    CU_pSuite s = CU_add_suite("rt_pipeline", pipeline_setup, pipeline_teardown);
    CU_add_test(s, "cifar10 + every augmentation + mixup, compiled and trained", test_cifar10_augmented);
    CU_add_test(s, "image_folder with a test folder, compiled and trained", test_image_folder);
    CU_add_test(s, "fashion_mnist_masks with IoU, compiled and trained", test_fashion_mnist_masks);
}
