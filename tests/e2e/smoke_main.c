/* smoke_main.c — end-to-end check for one compiled model.
 *
 * Linked with a model's generated C and libdlnrt: builds the model through
 * its dl_model_api, fits one fixed random batch for a few steps and requires
 * the loss to fall (a network that cannot overfit one batch has a broken
 * gradient or update), then checks that eval_step and forward agree and that
 * a checkpoint round-trips. Prints one line; exit status 0 on success.
 * A file with a several-model train section gives its first step's module
 * (a GAN's discriminator step).
 * A model of the general form (several or integer inputs, a sequence length
 * T) goes through the io entry points instead (smoke_io), T = 16. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"

const dl_model_api *dlnc_entry(void);

/* Overwrites every parameter (not init: a model drawing noise in evaluation,
 * a denoiser, draws it from the init seed and the step, which must stay as
 * they were for the outputs after the load to be comparable). */
static void scramble_params(const dl_model_api *api, void *m) {
    for (int i = 0; i < api->n_params; i++) {
        float *p = api->param_data(m, i);
        for (int64_t j = 0; j < api->params[i].numel; j++) p[j] = 0.25f + 0.001f * (float)(j % 7);
    }
}

static int64_t io_numel(const dl_io_info *io, const int64_t *sym) {
    int64_t k = 1;
    for (int d = 0; d < io->rank; d++) k *= io->shape[d] < 0 ? sym[-io->shape[d]] : io->shape[d];
    return k;
}

/* The general form: random inputs and fields (integers below the first
 * output's last dimension, the classes), the same checks as main. */
static int smoke_io(const dl_model_api *api, int steps, const char *ckpt) {
    const int64_t n = 16, sym[8] = {n, 16, 16, 16, 16, 16, 16, 16};
    void *m = api->create_io(sym);
    if (!m || api->n_inputs + api->n_fields > 16 || api->n_outputs > 8) {
        printf("%s: create failed: %s\n", api->name, dl_last_error());
        return 1;
    }
    api->init(m, 1);
    const dl_io_info *o0 = &api->outputs[0];
    int64_t classes = o0->rank > 0 && o0->shape[o0->rank - 1] > 0 ? o0->shape[o0->rank - 1] : 2;
    /* a detector's class ids (detection_canvas's field "classes") index the C classes of an
     * output whose rows are 5 + C wide: 4 box numbers and objectness or the background first */
    for (int i = 0; i < api->n_fields; i++)
        if (!strcmp(api->fields[i].field, "classes") && classes > 5) classes -= 5;
    const void *args[16];
    void *outs[8], *outs2[8];
    dl_rng r;
    dl_rng_seed(&r, 3);
    for (int i = 0; i < api->n_inputs + api->n_fields; i++) {
        const dl_io_info *io = i < api->n_inputs ? &api->inputs[i] : &api->fields[i - api->n_inputs];
        const int64_t k = n * io_numel(io, sym);
        void *v = malloc(4 * (size_t)k);
        for (int64_t j = 0; j < k; j++) {
            if (io->dtype == DL_I32) ((int32_t *)v)[j] = (int32_t)(dl_rng_next(&r) % (uint64_t)classes);
            else ((float *)v)[j] = dl_rng_uniform(&r);
        }
        args[i] = v;
    }
    for (int k = 0; k < api->n_outputs; k++) {
        outs[k] = malloc(4 * (size_t)(n * io_numel(&api->outputs[k], sym)));
        outs2[k] = malloc(4 * (size_t)(n * io_numel(&api->outputs[k], sym)));
    }
    float first = api->train_io(m, args, n, sym + 1), last = first;
    for (int s = 1; s < steps; s++) last = api->train_io(m, args, n, sym + 1);
    float eval_loss = api->eval_io(m, args, outs, n, sym + 1);
    api->forward_io(m, args, outs2, n, sym + 1);
    const int64_t k0 = n * io_numel(o0, sym);
    double maxdiff = 0;
    for (int64_t i = 0; i < k0; i++) maxdiff = fmax(maxdiff, fabs(((float *)outs[0])[i] - ((float *)outs2[0])[i]));
    int ok = isfinite(first) && isfinite(last) && last < first && isfinite(eval_loss) && maxdiff < 1e-5;
    /* the round trip compares the parameters, not outputs: a GAN step's loss
     * draws noise from the seed, which init(m, 99) changes */
    float *kept = NULL;
    int64_t total = 0;
    for (int i = 0; i < api->n_params; i++) total += api->params[i].numel;
    if (ok && !(kept = malloc(sizeof *kept * (size_t)(total + 1)))) ok = 0;
    for (int i = 0, at = 0; ok && i < api->n_params; at += (int)api->params[i].numel, i++)
        memcpy(kept + at, api->param_data(m, i), sizeof *kept * (size_t)api->params[i].numel);
    if (ok && api->save(m, ckpt) == 0) {
        scramble_params(api, m);
        if (api->load(m, ckpt) != 0) ok = 0;
        for (int i = 0, at = 0; ok && i < api->n_params; at += (int)api->params[i].numel, i++)
            if (memcmp(kept + at, api->param_data(m, i), sizeof *kept * (size_t)api->params[i].numel) != 0) ok = 0;
    } else if (ok) {
        printf("%s: save failed: %s\n", api->name, dl_last_error());
        ok = 0;
    }
    printf("%s: loss %.4f -> %.4f after %d steps, eval %.4f, forward/eval max diff %.2g: %s\n", api->name, first, last,
           steps, eval_loss, maxdiff, ok ? "ok" : "FAIL");
    api->destroy(m);
    free(kept);
    for (int i = 0; i < api->n_inputs + api->n_fields; i++) free((void *)args[i]);
    for (int k = 0; k < api->n_outputs; k++) free(outs[k]), free(outs2[k]);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    const dl_model_api *api = dlnc_entry();
    int steps = argc > 1 ? atoi(argv[1]) : 30;
    const char *ckpt = argc > 2 ? argv[2] : "/tmp/dlnc_smoke.safetensors";
    if (!api->create) return smoke_io(api, steps, ckpt);
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
        scramble_params(api, m);
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
