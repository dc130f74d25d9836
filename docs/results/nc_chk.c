/* nc_chk.c — docs/performance.md, section "branch nc": 3 training steps of a generated ResNet-20
 * (model.h/model.c beside it) on fixed random data, losses printed, parameters saved to argv[1];
 * two builds (plain, nc_fuse_model.py + nc_resid_sums.patch) compared with cmp. */
#include <stdio.h>
#include <stdlib.h>
#include "model.h"
int main(int argc, char **argv) {
    const int n = 64;
    resnet20_model *m = resnet20_create(n);
    resnet20_init(m, 42);
    float *x = malloc(sizeof(float) * n * 3 * 32 * 32);
    int32_t *y = malloc(sizeof(int32_t) * n);
    srand(1);
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < n * 3 * 32 * 32; i++) x[i] = (float)rand() / RAND_MAX - 0.5f;
        for (int i = 0; i < n; i++) y[i] = rand() % 10;
        printf("loss %.9g\n", resnet20_train_step(m, x, y, n));
    }
    return resnet20_save(m, argv[1]) != 0;
}
