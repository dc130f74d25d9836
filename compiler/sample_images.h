/* sample_images.h — `dlnc sample`'s image modes (--grid, --reconstruct,
 * --interpolate, --autoregressive, --pca): which modules the build keeps besides the model drawn, and
 * running the runtime's dl_sample_grid / dl_sample_reconstruct /
 * dl_sample_interpolate on the loaded build. */
#ifndef DLNC_SAMPLE_IMAGES_H
#define DLNC_SAMPLE_IMAGES_H
#include "ast.h"
#include "diag.h"
#include "dlnrt.h"
#include "elab.h"
#include "jit.h"

typedef enum sample_mode {
    SAMPLE_TEXT,         /* dl_generate */
    SAMPLE_GRID,         /* --grid */
    SAMPLE_RECONSTRUCT,  /* --reconstruct */
    SAMPLE_INTERPOLATE,  /* --interpolate */
    SAMPLE_AUTOREGRESSIVE, /* --autoregressive --grid: pixel by pixel (PixelCNN) */
    SAMPLE_PCA,          /* --pca: a picture of an output's principal components over test images */
} sample_mode;

/* The option that chose the mode ("--grid"), for messages. */
const char *sample_mode_flag(sample_mode m);
/* Does the mode read the test images of the model's own train section
 * (--reconstruct, --pca), which a model without one cannot give? */
int sample_mode_reads_data(sample_mode m);
/* --count's default for the mode. */
int64_t sample_mode_count(sample_mode m);

/* The several-model train section (`models = [gen, disc]`) that trains the
 * model `name`, or NULL. */
const char *sample_section_of(const ast_program *p, const char *name);

/* --encoder NAME (with --interpolate): the encoder's module and the one whose
 * train section's data give the test images — NAME's own if it has one, else
 * the file's first model with a single-model train section. Sets g->enc_prefix
 * (NAME's tensors by their own names, or under "SECTION-MODEL." for a model
 * of a several-model section). -1 after reporting through d. */
int sample_images_encoder(const elab_output *eo, const ast_program *prog, const char *input, const char *name,
                          arena *ar, dl_grid_options *g, ir_module **enc, ir_module **data, diag_ctx *d);

/* Runs the mode on the build, whose models are (drawn model[, encoder, data
 * model]). 0, or 1 after printing the error. */
int sample_images_run(const jit_module *jm, sample_mode mode, const dl_grid_options *g, int has_encoder,
                      int verbose);

#endif
