/* smoke_main.c — end-to-end check for one compiled model.
 *
 * Linked with a model's generated C and libdlnrt: builds the model through
 * its dl_model_api, fits one fixed random batch for a few steps and requires
 * the loss to fall (a network that cannot overfit one batch has a broken
 * gradient or update), then checks that eval_step and forward agree and that
 * a checkpoint round-trips. Prints one line; exit status 0 on success. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"

const dl_model_api *dlnc_entry(void);

int main(int argc, char **argv) {
    const dl_model_api *api = dlnc_entry();
    int steps = argc > 1 ? atoi(argv[1]) : 30;
    const char *ckpt = argc > 2 ? argv[2] : "/tmp/dlnc_smoke.safetensors";
    const int64_t n = 16;
    void *m = api->create(n);
    if (!m) {
        printf("%s: create failed: %s\n", api->name, dl_last_error());
        return 1;
    }
    api->init(m, 1);
    float *x = malloc(sizeof(float) * n * api->in_numel);
    float *out = malloc(sizeof(float) * n * api->out_numel);
    float *out2 = malloc(sizeof(float) * n * api->out_numel);
    void *y;
    dl_rng r;
    dl_rng_seed(&r, 7);
    for (int64_t i = 0; i < n * api->in_numel; i++) x[i] = dl_rng_uniform(&r);
    if (api->label_kind == DL_LABEL_CLASS) {
        int32_t *yc = malloc(sizeof(int32_t) * n);
        for (int64_t i = 0; i < n; i++) yc[i] = (int32_t)(dl_rng_next(&r) % (uint64_t)api->out_numel);
        y = yc;
    } else {
        float *yd = malloc(sizeof(float) * n * api->label_numel);
        for (int64_t i = 0; i < n * api->label_numel; i++) yd[i] = dl_rng_uniform(&r) * 0.5f;
        y = yd;
    }
    float first = api->train_step(m, x, y, n), last = first;
    for (int s = 1; s < steps; s++) last = api->train_step(m, x, y, n);
    int ok = isfinite(first) && isfinite(last) && last < first;
    float eval_loss = api->eval_step(m, x, y, out, n);
    api->forward(m, x, out2, n);
    double maxdiff = 0;
    for (int64_t i = 0; i < n * api->out_numel; i++) maxdiff = fmax(maxdiff, fabs(out[i] - out2[i]));
    ok = ok && isfinite(eval_loss) && maxdiff < 1e-5;
    /* Checkpoint round trip: save, perturb, load, compare outputs. */
    if (ok && api->save(m, ckpt) == 0) {
        api->init(m, 99);
        if (api->load(m, ckpt) != 0) ok = 0;
        api->forward(m, x, out, n);
        for (int64_t i = 0; i < n * api->out_numel; i++)
            if (out[i] != out2[i]) ok = 0;
    } else if (ok) {
        printf("%s: save failed: %s\n", api->name, dl_last_error());
        ok = 0;
    }
    printf("%s: loss %.4f -> %.4f after %d steps, eval %.4f, forward/eval max diff %.2g: %s\n", api->name, first, last,
           steps, eval_loss, maxdiff, ok ? "ok" : "FAILED");
    api->destroy(m);
    free(x);
    free(out);
    free(out2);
    free(y);
    return ok ? 0 : 1;
}
