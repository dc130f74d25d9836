/* examples/classify.c — a Fashion-MNIST classifier in plain C: LeNet-5 exported by
 *   dlnc export samples/lenet5.dln --checkpoint lenet5.st -o lenet5_infer.c
 *   cc -std=c99 -O2 examples/classify.c lenet5_infer.c -I. -lm -o classify
 *   ./classify image.pgm        (28x28, 8-bit binary PGM, white garment on black) */
#include <stdio.h>

#include "lenet5_infer.h"

static const char *const names[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
static float arena[(LENET5_ARENA_BYTES + sizeof(float) - 1) / sizeof(float)];

int main(int argc, char **argv)
{
    float x[LENET5_IN_FLOATS], out[LENET5_OUT_FLOATS];
    int w = 0, h = 0, maxv = 0, i, c, best = 0;
    FILE *f = argc == 2 ? fopen(argv[1], "rb") : NULL;
    /* 28 x 28 exactly (not any w * h of 784, which a negative pair or an
     * overflowing product also gives) and one byte per pixel (maxval > 255
     * means two, read here as two pixels each) */
    if (!f || fscanf(f, "P5 %d %d %d", &w, &h, &maxv) != 3 || w != 28 || h != 28 || maxv < 1 || maxv > 255 ||
        fgetc(f) == EOF)
        return fprintf(stderr, "usage: classify IMAGE.pgm (28x28, 8-bit binary PGM)\n"), 2;
    for (i = 0; i < w * h && (c = fgetc(f)) != EOF; i++) x[i] = (float)c / (float)maxv;
    if (i < w * h || lenet5_infer(NULL, arena, x, out, 1) != 0)
        return fprintf(stderr, "classify: %s: truncated image\n", argv[1]), 1;
    for (i = 1; i < LENET5_OUT_FLOATS; i++) best = out[i] > out[best] ? i : best;
    printf("%s: %s (class %d)\n", argv[1], names[best], best);
    return 0;
}
