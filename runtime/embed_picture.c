/* embed_picture.c — a picture of learned embeddings (`dlnc sample --pca`,
 * `--tsne`): test images through the model in evaluation mode, one output of
 * each kept (flattened), projected on its two principal components (pca.c)
 * or placed by t-SNE (tsne.c), and drawn as
 * a scatter plot coloured by the images' classes, the legend beside the plot
 * so that it hides no point. Points are drawn in the order of the data, so a
 * class drawn later covers an earlier one where they overlap: the legend is in
 * class order, the same as the drawing order. */
#include "dlnrt.h"
#include "image_tiles_internal.h"
#include "plot_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMBED_BATCH 250
enum { EMBED_W = 760, EMBED_H = 600, EMBED_LEFT = 80, EMBED_TOP = 50, EMBED_PLOT = 480, EMBED_LEGEND_X = 600 };

/* matplotlib's tab10, then grey for classes beyond it */
static const uint32_t palette[10] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                     0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};

/* Which output: o->output by name, else the first; its fixed per-sample size. */
static int embed_output(const dl_model_api *api, const char *name, int *k, int64_t *per) {
    *k = -1;
    for (int i = 0; i < api->n_outputs && *k < 0; i++)
        if (!name || !strcmp(api->outputs[i].name, name)) *k = i;
    if (*k < 0) {
        char names[256] = "";
        for (int i = 0; i < api->n_outputs; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s'%s'", i ? ", " : "", api->outputs[i].name);
        dl_set_error("--output %s: model '%s' has no such output (its outputs: %s)", name, api->name, names);
        return -1;
    }
    const dl_io_info *o = &api->outputs[*k];
    *per = dl_fixed_numel(o->shape, o->rank);
    if (o->dtype != DL_F32 || *per < 1 || *per > DL_PCA_MAX_DIM) {
        dl_set_error("--pca: the output '%s' of model '%s' must be f32 with fixed sizes and at most %d values per "
                     "sample", o->name, api->name, DL_PCA_MAX_DIM);
        return -1;
    }
    return 0;
}

/* frac NULL: a t-SNE plane of that perplexity (its axes have no unit). */
static int draw(const dl_grid_options *o, const char *out_name, const char *what, const double *p, const int32_t *y,
                int64_t n, int classes, const double *frac, double perplexity) {
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < 2; c++) lo[c] = fmin(lo[c], p[i * 2 + c]), hi[c] = fmax(hi[c], p[i * 2 + c]);
    for (int c = 0; c < 2; c++)
        if (!(hi[c] > lo[c])) lo[c] -= 1, hi[c] += 1;   /* all points on a line: a range to draw it in */
    dl_figure f;
    dl_fig_init(&f, EMBED_W, EMBED_H);
    dl_fig_rect(&f, 0, 0, EMBED_W, EMBED_H, 0xffffff);
    dl_axes a = {.x = EMBED_LEFT, .y = EMBED_TOP, .w = EMBED_PLOT, .h = EMBED_PLOT};
    dl_nice_ticks(lo[0], hi[0], 7, &a.xt);
    dl_nice_ticks(lo[1], hi[1], 7, &a.yt);
    char title[160], xl[64], yl[64];
    if (frac) {
        snprintf(title, sizeof title, "PCA of '%s', %lld %s images", out_name, (long long)n, what);
        snprintf(xl, sizeof xl, "PC1 (%.1f%% of the variance)", 100 * frac[0]);
        snprintf(yl, sizeof yl, "PC2 (%.1f%% of the variance)", 100 * frac[1]);
    } else {
        snprintf(title, sizeof title, "t-SNE of '%s', %lld %s images", out_name, (long long)n, what);
        snprintf(xl, sizeof xl, "t-SNE 1 (perplexity %g)", perplexity);
        snprintf(yl, sizeof yl, "t-SNE 2");
    }
    dl_axes_draw(&f, &a, title, xl, yl);
    for (int64_t i = 0; i < n; i++)
        dl_fig_disc(&f, dl_axes_px(&a, p[i * 2]), dl_axes_py(&a, p[i * 2 + 1]), 2.5f,
                    y && y[i] >= 0 && y[i] < 10 ? palette[y[i]] : 0x555555);
    for (int c = 0; c < classes && c < 24; c++) {
        const float cy = EMBED_TOP + 10 + c * 22;
        dl_fig_disc(&f, EMBED_LEGEND_X + 6, cy, 5, c < 10 ? palette[c] : 0x555555);
        dl_fig_text(&f, EMBED_LEGEND_X + 18, cy + 5, 14, DL_ANCHOR_START, 0, 0x222222, "class %d", c);
    }
    int rc = dl_fig_save(&f, o->path);
    dl_fig_free(&f);
    return rc;
}

int dl_sample_pca(const dl_model_api *api, const dl_grid_options *o) {
    if (!api || !o || !o->path) {
        dl_set_error("dl_sample_pca: missing argument");
        return -1;
    }
    if (!api->train) {
        dl_set_error("model '%s' has no train section: --pca draws the test images of the model's own train "
                     "section's data", api->name);
        return -1;
    }
    if (dl_check_draw(o, DL_GRID_MAX_COUNT, "--count")) return -1;
    int k;
    int64_t per;
    if (embed_output(api, o->output, &k, &per)) return -1;
    dl_dataset d;
    const char *what;
    if (dl_load_eval_images(&api->train->data, api->train->seed, &d, &what) != 0) return -1;
    if (api->abi_version < 4 || api->n_inputs != 1 || api->n_syms != 1 || !dl_input_takes(api, 0, &d)) {
        dl_set_error("model '%s' cannot be drawn with --pca: its one input must be an f32 image of its train "
                     "section's data (%lld values per sample)", api->name, (long long)d.x_numel);
        dl_dataset_free(&d);
        return -1;
    }
    const int64_t n = o->count < d.n ? o->count : d.n, B = n < EMBED_BATCH ? n : EMBED_BATCH;
    float **outs = dl_alloc_outputs(api, B), *emb = malloc((size_t)(n * per) * sizeof *emb);
    double *proj = malloc((size_t)n * 2 * sizeof *proj), *dirs = malloc((size_t)per * 2 * sizeof *dirs), frac[2];
    void *m = NULL;
    int rc = -1;
    if (!outs || !emb || !proj || !dirs) {
        dl_set_error("out of memory");
        goto done;
    }
    if (!(m = dl_sample_open(api, B, o))) goto done;
    for (int64_t at = 0; at < n; at += B) {
        const int64_t b = n - at < B ? n - at : B;
        const void *inp[1] = {d.x + at * d.x_numel};
        dl_clear_error();
        if (api->reset_state) api->reset_state(m);
        api->forward_io(m, inp, (void *const *)outs, b, NULL);
        if (dl_last_error()[0]) goto done;
        memcpy(emb + at * per, outs[k], (size_t)(b * per) * sizeof *emb);
    }
    for (int64_t i = 0; i < n * per; i++)
        if (!isfinite(emb[i])) {
            dl_set_error("--pca: the output '%s' of test image %lld is not finite", api->outputs[k].name,
                         (long long)(i / per));
            goto done;
        }
    const int32_t *y = d.label_kind == DL_LABEL_CLASS ? d.y_class : NULL;
    if (o->tsne) {
        const double perplexity = n - 1 < 90 ? floor((double)(n - 1) / 3) : 30;
        if (dl_tsne(emb, n, per, perplexity, 1000, o->seed, proj) ||
            draw(o, api->outputs[k].name, what, proj, y, n, y ? d.num_classes : 0, NULL, perplexity))
            goto done;
        printf("t-SNE of '%s' (%lld values) over %lld %s images, perplexity %g, 1000 iterations, seed %llu; wrote %s\n",
               api->outputs[k].name, (long long)per, (long long)n, what, perplexity, (unsigned long long)o->seed,
               o->path);
        rc = 0;
        goto done;
    }
    if (per < 2) {
        dl_set_error("--pca: the output '%s' has 1 value per sample; a plane needs 2 or more", api->outputs[k].name);
        goto done;
    }
    if (dl_pca(emb, n, per, 2, proj, dirs, frac)) goto done;
    if (draw(o, api->outputs[k].name, what, proj, y, n, y ? d.num_classes : 0, frac, 0)) goto done;
    printf("PCA of '%s' (%lld values) over %lld %s images: PC1 %.1f%%, PC2 %.1f%% of the variance; wrote %s\n",
           api->outputs[k].name, (long long)per, (long long)n, what, 100 * frac[0], 100 * frac[1], o->path);
    rc = 0;
done:
    if (m) api->destroy(m);
    dl_free_outputs(outs);
    free(emb), free(proj), free(dirs);
    dl_dataset_free(&d);
    return rc;
}
