/* sample_images.c — `dlnc sample`'s image modes, between the driver and the
 * runtime (runtime/image_*.c does the drawing). The one thing the driver
 * cannot do alone is the encoder of --interpolate: it is a second model of
 * the file, built beside the decoder, and its test images come from a train
 * section that neither of them may have — a VAE file's halves `enc` and `dec`
 * are models without one, trained inside `vae`. */
#include "sample_images.h"

#include "train.h"

#include <stdio.h>
#include <string.h>

const char *sample_mode_flag(sample_mode m) {
    return m == SAMPLE_RECONSTRUCT ? "--reconstruct" : m == SAMPLE_INTERPOLATE ? "--interpolate"
           : m == SAMPLE_AUTOREGRESSIVE ? "--autoregressive" : m == SAMPLE_PCA ? "--pca" : "--grid";
}

int sample_mode_reads_data(sample_mode m) { return m == SAMPLE_RECONSTRUCT || m == SAMPLE_PCA; }

int64_t sample_mode_count(sample_mode m) {
    return m == SAMPLE_RECONSTRUCT ? DL_RECON_DEFAULT_COUNT : m == SAMPLE_INTERPOLATE ? DL_INTERP_DEFAULT_ROWS
           : m == SAMPLE_PCA ? DL_PCA_DEFAULT_COUNT : 64;
}

const char *sample_section_of(const ast_program *p, const char *name) {
    for (int i = 0; i < p->n_decls; i++) {
        const ast_decl *t = p->decls[i];
        if (t->kind != AST_DECL_TRAIN) continue;
        for (int k = 0; k < t->n_settings; k++) {
            const ast_expr *v = t->settings[k].value;
            if (strcmp(t->settings[k].key, "models") != 0 || !v || v->kind != AST_LIST) continue;
            for (int j = 0; j < v->n_items; j++)
                if (v->items[j]->kind == AST_NAME && !strcmp(v->items[j]->name, name)) return t->name;
        }
    }
    return NULL;
}

int sample_images_encoder(const elab_output *eo, const ast_program *prog, const char *input, const char *name,
                          arena *ar, dl_grid_options *g, ir_module **enc, ir_module **data, diag_ctx *d) {
    *enc = *data = NULL;
    for (int m = 0; m < eo->n_mods; m++) {
        if (!strcmp(eo->mods[m]->name, name)) *enc = eo->mods[m];
        if (!*data && eo->mods[m]->train && !eo->mods[m]->train->section) *data = eo->mods[m];
    }
    if (!*enc) {
        diag_fatal_noloc(d, "--encoder %s: '%s' defines no such model", name, input);
        return -1;
    }
    if ((*enc)->train && !(*enc)->train->section) *data = *enc;
    if (!*data) {
        diag_fatal_noloc(d, "--encoder %s: '%s' has no single-model train section whose test images the encoder "
                         "could read", name, input);
        return -1;
    }
    const char *section = sample_section_of(prog, name);
    g->enc_prefix = section ? arena_printf(ar, "%s.", name) : "";
    return 0;
}

int sample_images_run(const jit_module *jm, sample_mode mode, const dl_grid_options *g, int has_encoder,
                      int verbose) {
    /* the build's first model is the one drawn (jm->api is the first with a train section) */
    const dl_model_api *api = jm->models && jm->models[0] ? jm->models[0] : jm->api;
    int rc;
    if (mode == SAMPLE_RECONSTRUCT) {
        rc = dl_sample_reconstruct(api, g, NULL);
    } else if (mode == SAMPLE_INTERPOLATE) {
        const dl_model_api *enc = has_encoder ? jm->models[1] : NULL;
        const dl_model_api *data = NULL; /* the last of the build with a train section: the data model */
        for (int k = 0; has_encoder && k < 3 && jm->models[k]; k++)
            if (jm->models[k]->train) data = jm->models[k];
        rc = dl_sample_interpolate(api, enc, data ? data->train : NULL, g);
    } else if (mode == SAMPLE_PCA) {
        rc = dl_sample_pca(api, g);
    } else if (mode == SAMPLE_AUTOREGRESSIVE) {
        rc = dl_sample_pixels(api, g);
    } else {
        rc = dl_sample_grid(api, g);
    }
    if (rc != 0) {
        fprintf(stderr, "dlnc: error: %s\n", dl_last_error());
        return 1;
    }
    if (verbose) fprintf(stderr, "dlnc: wrote %s\n", g->path);
    return 0;
}
