/* gan_main.c — the steps of tests/e2e/gan.dln through their generated C:
 * a discriminator step leaves every gen.* parameter's bytes as they were and
 * moves disc.*, a generator step the other way round; then the checkpoint
 * `dlnc run` saved (argv[1]) loads into the standalone model gen by prefix
 * "gen." with the same values the step module reads from it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gan.h"

#define CHECK(c, ...) do { if (!(c)) { fprintf(stderr, "gan_main: " __VA_ARGS__); fprintf(stderr, "\n"); return 1; } } while (0)

enum { B = 8 };

static float image[B * 784];

/* One step of a module through its descriptor: the parameters under `kept`
 * keep their bytes, every weight under `moved` changes. */
static int step_changes(const dl_model_api *api, void *m, const char *moved, const char *kept) {
    float *before[64];
    CHECK(api->n_params <= 64, "too many parameters");
    for (int i = 0; i < api->n_params; i++) {
        before[i] = malloc((size_t)api->params[i].numel * sizeof(float));
        memcpy(before[i], api->param_data(m, i), (size_t)api->params[i].numel * sizeof(float));
    }
    const void *in[1] = {image};
    float loss = api->train_io(m, in, B, NULL);
    CHECK(loss == loss, "%s: the step's loss is NaN: %s", api->name, dl_last_error());
    for (int i = 0; i < api->n_params; i++) {
        const char *name = api->params[i].name;
        int same = memcmp(before[i], api->param_data(m, i), (size_t)api->params[i].numel * sizeof(float)) == 0;
        free(before[i]);
        if (!strncmp(name, kept, strlen(kept))) CHECK(same, "%s changed %s", api->name, name);
        if (!strncmp(name, moved, strlen(moved)) && strstr(name, "weight")) CHECK(!same, "%s left %s as it was", api->name, name);
    }
    return 0;
}

int main(int argc, char **argv) {
    CHECK(argc == 2, "usage: gan_main CHECKPOINT");
    for (int i = 0; i < B * 784; i++) image[i] = (float)((i * 37) % 101) / 100.0f;
    dcgan_disc_model *d = dcgan_disc_create(B);
    dcgan_gen_model *g = dcgan_gen_create(B);
    CHECK(d && g, "create: %s", dl_last_error());
    dcgan_disc_init(d, 1);
    dcgan_gen_init(g, 1);
    if (step_changes(dcgan_disc_api(), d, "disc.", "gen.") || step_changes(dcgan_gen_api(), g, "gen.", "disc.")) return 1;
    printf("a disc step changes disc.* only, a gen step gen.* only: ok\n");

    gen_model *alone = gen_create(B);
    dl_load_report rep;
    CHECK(alone && gen_load_prefix(alone, argv[1], "gen.", &rep) == 0, "gen_load_prefix: %s", dl_last_error());
    CHECK(rep.used == 4 && rep.skipped == 4, "load by prefix: %d used, %d skipped", rep.used, rep.skipped);
    CHECK(dcgan_gen_load(g, argv[1]) == 0, "dcgan_gen_load: %s", dl_last_error());
    for (int i = 0; gen_param_info(i); i++) {
        const dl_param_info *pi = gen_param_info(i);
        char full[128];
        snprintf(full, sizeof full, "gen.%s", pi->name);
        CHECK(!memcmp(gen_param(alone, pi->name), dcgan_gen_param(g, full), (size_t)pi->numel * sizeof(float)),
              "%s differs from the checkpoint's %s", pi->name, full);
    }
    printf("the trained generator loads alone with prefix 'gen.': ok\n");
    gen_free(alone);
    dcgan_gen_free(g);
    dcgan_disc_free(d);
    return 0;
}
