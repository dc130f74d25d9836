/* test_conv_winograd_weights.c — Winograd's transformed filters kept per
 * weights version (runtime/conv_winograd_weights.c, compiler/emit_weights.c).
 *
 *   - With a version, dl_conv_winograd_w, dl_conv2d_ep_w and
 *     dl_conv2d_affine_w give the bits of the uncached calls and the values
 *     of a direct sum in double: odd planes and channel counts, padding 0
 *     and 2, batch 1 and batches of several chunks (more than the threads),
 *     at 1 and 2 threads with the same bits.
 *   - The cache: the same version after w changed still reads the old
 *     filters (so the cache is really used), a new version transforms again,
 *     version 0 never caches, dl_weights_release forgets; beyond the
 *     table's 256 weights the calls transform each time, still right.
 *   - Batch 1 with channels in the vector lanes (conv_winograd_cl.c) against
 *     the double direct sum on planes it takes (ResNet's 64x8x8, odd tile
 *     counts, tile counts past 16, non-square, no padding, output channels
 *     not a multiple of 64), with and without kept filters, bit for bit at
 *     1 and 2 threads; the F(2x2) it replaces on the same cases; and the
 *     shapes it must leave alone.
 *   - Its fused affine (batch norm, residual, clamp applied as it stores):
 *     the bits of the plain conv then dl_affine_rows_isa, also with y the
 *     residual, at 1, 2 and 3 threads (tile rows split down to one a
 *     thread); its thread rule on ResNet-20's planes and on 32x32 ones.
 *   - Generated code: a model's batch-1 forward with the three kinds of conv
 *     kernel (batch norm as data, a callback epilogue, plain) after SGD steps and after `load`
 *     equals a fresh computation (a new instance loaded with the same
 *     weights, whose filters are transformed for the first time). */
#define RAND_BUFFERS_SEED 0x5eedc0de
#include "rand_buffers.h"

#include <CUnit/CUnit.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "conv_pointwise_internal.h"
#include "conv_winograd_cl_internal.h"
#include "conv_winograd_internal.h"
#include "dlnrt.h"

static dl_conv2d_geom geom(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oc, int64_t pad) {
    return (dl_conv2d_geom){.n = n, .c = c, .h = h, .w = w, .oc = oc, .oh = h + 2 * pad - 2, .ow = w + 2 * pad - 2,
                            .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pt = pad, .pb = pad, .pl = pad, .pr = pad,
                            .dh = 1, .dw = 1, .groups = 1};
}

/* y = conv(x, w) in double. */
static void reference(const dl_conv2d_geom *g, const float *x, const float *w, double *y) {
    for (int64_t i = 0; i < g->n; i++)
        for (int64_t o = 0; o < g->oc; o++)
            for (int64_t r = 0; r < g->oh; r++)
                for (int64_t q = 0; q < g->ow; q++) {
                    double s = 0;
                    for (int64_t c = 0; c < g->c; c++)
                        for (int64_t a = 0; a < 3; a++)
                            for (int64_t b = 0; b < 3; b++) {
                                int64_t ir = r - g->pt + a, iq = q - g->pl + b;
                                if (ir >= 0 && ir < g->h && iq >= 0 && iq < g->w)
                                    s += (double)x[((i * g->c + c) * g->h + ir) * g->w + iq] *
                                         w[((o * g->c + c) * 3 + a) * 3 + b];
                            }
                    y[((i * g->oc + o) * g->oh + r) * g->ow + q] = s;
                }
}

enum { VIA_WINOGRAD, VIA_EP, VIA_AFFINE };

/* y by one of the three entry points at `version`; the affine with scale 1,
 * shift 0 and no clamp is the convolution itself. */
static int run(int via, uint64_t version, const dl_conv2d_geom *g, const float *x, const float *w, float *yc,
               float *y) {
    static const float ones[128] = {[0 ... 127] = 1.0f}, zeros[128];
    const dl_conv_affine a = {.scale = ones, .shift = zeros};
    if (via == VIA_WINOGRAD) return dl_conv_winograd_w(version, g, x, w, y, NULL, NULL);
    if (via == VIA_EP) return dl_conv2d_ep_w(version, g, x, w, y, NULL, NULL);
    return dl_conv2d_affine_w(version, g, x, w, yc, y, &a);
}

static void test_kept_matches_fresh(void) {
    static const int64_t cases[][7] = {
        /* n  c   h   w  oc pad via */
        {1, 33, 9, 7, 40, 1, VIA_WINOGRAD},  /* odd planes and channels, batch 1 */
        {3, 17, 6, 11, 9, 2, VIA_WINOGRAD},  /* pad 2, several images */
        {1, 5, 4, 4, 3, 0, VIA_WINOGRAD},    /* one tile, no padding */
        {1, 32, 16, 16, 32, 1, VIA_EP},      /* ResNet-20's 32-channel stage at batch 1 */
        {1, 64, 16, 16, 48, 1, VIA_AFFINE},  /* through the affine entry, batch 1 */
        {9, 32, 8, 8, 64, 1, VIA_AFFINE},    /* several chunks: more than the threads */
    };
    const int saved = omp_get_max_threads();
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int64_t *k = cases[t];
        const dl_conv2d_geom g = geom(k[0], k[1], k[2], k[3], k[4], k[5]);
        const int via = (int)k[6];
        CU_ASSERT_FATAL(dl_conv_winograd_fits(&g) && (via == VIA_WINOGRAD || dl_conv_winograd_pays(&g)));
        const int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.oc * g.oh * g.ow, nw = g.oc * g.c * 9;
        float *x = values(nx), *w = values(nw), *fresh = nans(ny), *yc = nans(ny), *kept[2];
        double *want = malloc(sizeof(double) * (size_t)ny);
        reference(&g, x, w, want);
        const uint64_t v = dl_weights_version();
        CU_ASSERT(run(via, 0, &g, x, w, yc, fresh) == 0);
        for (int th = 0; th < 2; th++) {
            omp_set_num_threads(th + 1);
            const double was = dl_conv_winograd_split_macs(0); /* 2 threads: split, however small */
            kept[th] = nans(ny);
            CU_ASSERT(run(via, v, &g, x, w, yc, kept[th]) == 0); /* th 0 transforms, th 1 reuses */
            dl_conv_winograd_split_macs(was);
            CU_ASSERT(memcmp(kept[th], fresh, sizeof(float) * (size_t)ny) == 0);
        }
        omp_set_num_threads(saved);
        CU_ASSERT(close_to(kept[1], want, ny));
        if (!close_to(kept[1], want, ny)) fprintf(stderr, "\nkept Winograd filters wrong in case %zu\n", t);
        dl_weights_release(w, nw);
        free(x), free(w), free(fresh), free(yc), free(kept[0]), free(kept[1]), free(want);
    }
}

/* One weight at batch 1 on a 16x16 plane (F(4x4)'s filters) and at batch 2
 * (F(2x2)'s) under one version: each tile side keeps its own U, and both
 * outputs stay right whichever came first. */
static void test_both_tile_sides(void) {
    dl_conv2d_geom g[2] = {geom(1, 32, 16, 16, 32, 1), geom(2, 32, 16, 16, 32, 1)};
    CU_ASSERT_FATAL(dl_conv_winograd_tile(&g[0]) == 4 && dl_conv_winograd_tile(&g[1]) == 2);
    const int64_t nw = 32 * 32 * 9, nx = 2 * 32 * 16 * 16;
    float *x = values(nx), *w = values(nw), *y = nans(nx), *fresh = nans(nx);
    double *want = malloc(sizeof(double) * (size_t)nx);
    reference(&g[1], x, w, want); /* image 0's half is batch 1's answer */
    const uint64_t v = dl_weights_version();
    for (int round = 0; round < 2; round++)
        for (int k = 0; k < 2; k++) {
            const int64_t ny = g[k].n * 32 * 16 * 16;
            CU_ASSERT(dl_conv_winograd_w(0, &g[k], x, w, fresh, NULL, NULL) == 0);
            CU_ASSERT(dl_conv_winograd_w(v, &g[k], x, w, y, NULL, NULL) == 0);
            CU_ASSERT(memcmp(y, fresh, sizeof(float) * (size_t)ny) == 0);
            CU_ASSERT(close_to(y, want, ny));
        }
    dl_weights_release(w, nw);
    free(x), free(w), free(y), free(fresh), free(want);
}

static void test_versions(void) {
    const dl_conv2d_geom g = geom(1, 32, 10, 10, 32, 1);
    const int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.oc * g.oh * g.ow, nw = g.oc * g.c * 9;
    const size_t bytes = sizeof(float) * (size_t)ny;
    float *x = values(nx), *w = values(nw), *before = nans(ny), *out = nans(ny), *want = nans(ny);
    const uint64_t v1 = dl_weights_version(), v2 = dl_weights_version();
    CU_ASSERT(dl_conv_winograd_w(v1, &g, x, w, before, NULL, NULL) == 0);
    w[5 * 9 + 4] += 1.0f; /* filter (0, 5)'s centre */
    CU_ASSERT(dl_conv_winograd_w(0, &g, x, w, want, NULL, NULL) == 0); /* fresh: the kept path's own kernel */
    CU_ASSERT(memcmp(want, before, bytes) != 0);
    CU_ASSERT(dl_conv_winograd_w(v1, &g, x, w, out, NULL, NULL) == 0); /* same version: the kept filters */
    CU_ASSERT(memcmp(out, before, bytes) == 0);
    CU_ASSERT(dl_conv_winograd_w(v2, &g, x, w, out, NULL, NULL) == 0); /* a new version: transformed again */
    CU_ASSERT(memcmp(out, want, bytes) == 0);
    w[7] -= 2.0f;
    CU_ASSERT(dl_conv_winograd_w(0, &g, x, w, want, NULL, NULL) == 0); /* version 0 never caches */
    CU_ASSERT(memcmp(want, out, bytes) != 0);
    dl_weights_release(w, nw); /* forgotten: even the old version transforms afresh */
    CU_ASSERT(dl_conv_winograd_w(v2, &g, x, w, out, NULL, NULL) == 0);
    CU_ASSERT(memcmp(out, want, bytes) == 0);
    dl_weights_release(w, nw);
    free(x), free(w), free(before), free(out), free(want);
}

/* More weights than the table holds (256): the ones beyond it transform
 * into scratch on every call, still right; releasing frees the slots. */
static void test_table_full(void) {
    enum { WEIGHTS = 300 };
    const dl_conv2d_geom g = geom(1, 2, 5, 5, 3, 1);
    const int64_t nx = g.c * g.h * g.w, ny = g.oc * g.oh * g.ow, nw = g.oc * g.c * 9;
    float *x = values(nx), *w = values(WEIGHTS * nw), *y = nans(ny);
    double *want = malloc(sizeof(double) * (size_t)ny);
    const uint64_t v = dl_weights_version();
    int ok = 1;
    for (int round = 0; round < 2; round++)
        for (int k = 0; k < WEIGHTS; k++) {
            reference(&g, x, w + k * nw, want);
            ok &= dl_conv_winograd_w(v, &g, x, w + k * nw, y, NULL, NULL) == 0 && close_to(y, want, ny);
        }
    CU_ASSERT(ok);
    dl_weights_release(w, WEIGHTS * nw);
    free(x), free(w), free(y), free(want);
}

/* ---- generated code ------------------------------------------------------- */

static const char conv_src[] =
    "model cbr(x: f32[N, 32, 16, 16]) -> f32[N, 10] {\n"
    "    h = conv2d(x, 32, 3, pad = 1, use_bias = false) |> batch_norm |> relu\n"  /* dl_conv2d_affine_w */
    "    a = conv2d(h, 32, 3, pad = 1, use_bias = false) |> batch_norm\n"  /* a callback epilogue: ep->wver */
    "    s = conv2d(h, 32, 1, use_bias = false) |> batch_norm\n"
    "    h = relu(a + s)\n"
    "    h = conv2d(h, 32, 3, pad = 1, use_bias = false) |> batch_norm |> relu\n"  /* plain: a wver argument */
    "    return global_avg_pool(h) |> dense(10)\n"
    "}\n"
    "train cbr {\n"
    "    data = csv(\"unused.csv\", batch = 4, classify = false)\n"
    "    loss = sum(output * label)\n"
    "    optim = sgd(lr = 0.5)\n"
    "    epochs = 1\n"
    "}\n";

enum { IMG = 32 * 16 * 16, OUTS = 10, B = 4 };

/* out = the batch-1 forward of a new instance holding the weights in path:
 * its filters are transformed for the first time, whatever a cache holds. */
static void fresh_forward(const dl_model_api *api, const char *path, const float *x, float *out) {
    void *f = api->create(B);
    CU_ASSERT_FATAL(f && api->load(f, path) == 0);
    api->forward(f, x, out, 1);
    api->destroy(f);
}

static void test_generated_versions(void) {
    emitted e;
    CU_ASSERT_FATAL(emitted_build_source(conv_src, &e) == 0);
    const dl_model_api *api = e.api;
    float x[B * IMG], label[B * OUTS], out0[OUTS], out1[OUTS], fresh[OUTS];
    char pa[96], pb[96];
    snprintf(pa, sizeof pa, "%s/a.safetensors", e.dir);
    snprintf(pb, sizeof pb, "%s/b.safetensors", e.dir);
    dl_fill_normal(x, B * IMG, 5, 1);
    dl_fill_normal(label, B * OUTS, 5, 2);
    void *a = api->create(B), *b = api->create(B);
    CU_ASSERT_FATAL(a && b);
    api->init(a, 3), api->init(b, 4);
    api->forward(a, x, out0, 1); /* a's filters kept at its first version */
    for (int s = 0; s < 3; s++) CU_ASSERT(isfinite(api->train_step(a, x, label, B)));
    api->forward(a, x, out1, 1);
    CU_ASSERT_FATAL(api->save(a, pa) == 0);
    fresh_forward(api, pa, x, fresh);
    CU_ASSERT(memcmp(out0, out1, sizeof out0) != 0); /* the steps changed the output */
    CU_ASSERT(memcmp(out1, fresh, sizeof out1) == 0);

    /* load: a takes b's weights */
    CU_ASSERT(isfinite(api->train_step(b, x, label, B)));
    CU_ASSERT_FATAL(api->save(b, pb) == 0);
    CU_ASSERT_FATAL(api->load(a, pb) == 0);
    api->forward(a, x, out0, 1);
    fresh_forward(api, pb, x, fresh);
    CU_ASSERT(memcmp(out0, out1, sizeof out0) != 0);
    CU_ASSERT(memcmp(out0, fresh, sizeof out0) == 0);
    api->destroy(a), api->destroy(b);
    emitted_unload(&e);
}

/* conv_winograd_cl.c, through dl_conv_winograd_w as the forward calls it. */
static void test_channel_lanes(void) {
    static const int64_t cases[][6] = {
        /* c  h   w  oc pad */
        {64, 8, 8, 64, 1},  /* ResNet-20's 64-channel stage */
        {16, 2, 2, 16, 1},  /* one tile */
        {32, 10, 10, 48, 1}, /* 25 tiles: a tile row of 1; 3 channel vectors */
        {48, 6, 12, 16, 1}, /* non-square, 18 tiles */
        {16, 10, 6, 80, 0}, /* no padding; 80 = 64 + 16 output channels */
        {128, 4, 4, 32, 1}, /* deeper sums */
        {32, 16, 16, 32, 1}, /* F(4x4): ResNet-20's 32-channel stage */
        {32, 16, 32, 48, 1}, /* F(4x4), non-square, 32 tiles */
    };
    const int saved = omp_get_max_threads();
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int64_t *k = cases[t];
        const dl_conv2d_geom g = geom(1, k[0], k[1], k[2], k[3], k[4]);
        const int64_t nx = g.c * g.h * g.w, ny = g.oc * g.oh * g.ow, nw = g.oc * g.c * 9;
        float *x = values(nx), *w = values(nw), *y[3], *plain = nans(ny);
        double *want = malloc(sizeof(double) * (size_t)ny);
        reference(&g, x, w, want);
        int was = dl_wg_cl_enable(0);
        CU_ASSERT(!dl_wg_cl_applies(&g));
        CU_ASSERT(dl_conv_winograd_w(0, &g, x, w, plain, NULL, NULL) == 0); /* conv_winograd.c's F(2x2) */
        dl_wg_cl_enable(was);
        CU_ASSERT(close_to(plain, want, ny));
        if (!dl_wg_cl_applies(&g)) { /* no AVX-512: the F(2x2) above is what runs */
            free(x), free(w), free(plain), free(want);
            continue;
        }
        const uint64_t v = dl_weights_version();
        for (int th = 0; th < 3; th++) { /* fresh at 1 thread, kept at 1 and at 2 */
            omp_set_num_threads(th < 2 ? 1 : 2);
            const int was = dl_wg_cl_split_rows(1); /* 2 threads: split from 2 tile rows */
            y[th] = nans(ny);
            CU_ASSERT(dl_conv_winograd_w(th ? v : 0, &g, x, w, y[th], NULL, NULL) == 0);
            dl_wg_cl_split_rows(was);
        }
        omp_set_num_threads(saved);
        double err = 0, scale = 0;
        for (int64_t i = 0; i < ny; i++)
            err = fmax(err, isnan(y[0][i]) ? INFINITY : fabs(y[0][i] - want[i])), scale = fmax(scale, fabs(want[i]));
        const double bound = (dl_wg_cl_applies(&g) == 4 ? 2e-5 : 1e-5) * (1.0 + scale); /* test_conv_winograd.c's */
        CU_ASSERT(err <= bound);
        if (!(err <= bound)) fprintf(stderr, "\nchannel lanes case %zu: error %g scale %g\n", t, err, scale);
        CU_ASSERT(memcmp(y[0], y[1], sizeof(float) * (size_t)ny) == 0);
        CU_ASSERT(memcmp(y[1], y[2], sizeof(float) * (size_t)ny) == 0);
        dl_weights_release(w, nw);
        free(x), free(w), free(plain), free(want), free(y[0]), free(y[1]), free(y[2]);
    }
    /* Not its shapes: batch 2, 8 or 24 channels, an odd output plane, F(4x4) with 16 channels. */
    const dl_conv2d_geom no[] = {geom(2, 64, 8, 8, 64, 1), geom(1, 8, 8, 8, 64, 1), geom(1, 64, 8, 8, 24, 1),
                                 geom(1, 64, 7, 7, 64, 1), geom(1, 16, 32, 32, 16, 1), geom(1, 32, 16, 16, 16, 1)};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) CU_ASSERT(!dl_wg_cl_applies(&no[i]));
}

/* conv_winograd_cl.c's fused affine (dl_conv_winograd_affine_w with a):
 * the bits of the plain conv then dl_affine_rows_isa, with and without the
 * residual (also as y itself) and the clamp; and 1, 2 and 3 threads (tile
 * rows split however few) the same bits. */
static void test_channel_lanes_affine(void) {
    static const int64_t cases[][5] = {
        /* c  h   w  oc pad */
        {64, 8, 8, 64, 1},   /* ResNet-20's 64-channel stage */
        {32, 16, 16, 32, 1}, /* ResNet-20's 32-channel stage, F(4x4) */
        {32, 10, 10, 48, 1}, /* 5 tile rows: 2 + 3 at 2 threads, 40-pixel blocks cut mid-row */
        {48, 6, 12, 16, 1},  /* 3 tile rows of 6 */
        {16, 10, 6, 80, 0},  /* no padding: the slabs' halo rows are all x's */
        {32, 16, 32, 48, 1}, /* F(4x4), non-square */
    };
    const int saved = omp_get_max_threads(), rows = dl_wg_cl_split_rows(1);
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int64_t *k = cases[t];
        const dl_conv2d_geom g = geom(1, k[0], k[1], k[2], k[3], k[4]);
        if (!dl_wg_cl_applies(&g)) continue; /* no AVX-512 */
        const int64_t nx = g.c * g.h * g.w, ny = g.oc * g.oh * g.ow, nw = g.oc * g.c * 9, hw = g.oh * g.ow;
        float *x = values(nx), *w = values(nw), *scale = values(g.oc), *shift = values(g.oc), *res = values(ny);
        float *yc = nans(ny), *want = nans(ny), *got = nans(ny), *first = nans(ny);
        omp_set_num_threads(1);
        CU_ASSERT(dl_conv_winograd_w(0, &g, x, w, yc, NULL, NULL) == 0);
        for (int kind = 0; kind < 5; kind++) { /* neither, both, clamp, residual as y, residual */
            const dl_conv_affine a = {.scale = scale, .shift = shift, .residual = kind % 2 || kind == 4 ? res : NULL,
                                      .clamp = kind >= 1 && kind <= 2, .lo = 0.0f, .hi = 0.5f};
            CU_ASSERT(dl_affine_rows_isa(DL_GEMV_BEST, g.oc, hw, yc, want, &a) == 0);
            for (int th = 1; th <= 3; th++) {
                omp_set_num_threads(th);
                float *out = got;
                dl_conv_affine b = a;
                if (kind == 3) memcpy(out = first, res, sizeof(float) * (size_t)ny), b.residual = first;
                else for (int64_t i = 0; i < ny; i++) out[i] = NAN;
                const int64_t trows = g.oh / dl_wg_cl_applies(&g); /* the split: a thread per tile row at most */
                CU_ASSERT(dl_wg_cl_threads(&g, dl_wg_cl_applies(&g)) == (trows < th ? trows : th));
                CU_ASSERT(dl_conv_winograd_affine_w(0, &g, x, w, NULL, out, &b, NULL, NULL) == 0);
                const int same = memcmp(out, want, sizeof(float) * (size_t)ny) == 0;
                CU_ASSERT(same);
                if (!same) fprintf(stderr, "\nfused affine case %zu kind %d, %d threads: not the bits\n", t, kind, th);
            }
        }
        omp_set_num_threads(saved);
        free(x), free(w), free(scale), free(shift), free(res), free(yc), free(want), free(got), free(first);
    }
    dl_wg_cl_split_rows(rows);
    /* The rule (4 tile rows a thread): ResNet-20's planes (4 tile rows) stay on one thread at 2,
     * 32x32 planes (8 rows of F(4x4), 16 of F(2x2)) split. */
    const dl_conv2d_geom r64 = geom(1, 64, 8, 8, 64, 1), r32 = geom(1, 32, 16, 16, 32, 1);
    const dl_conv2d_geom b32 = geom(1, 32, 32, 32, 32, 1), b64 = geom(1, 64, 32, 32, 64, 1);
    omp_set_num_threads(2);
    if (dl_wg_cl_applies(&r64)) {
        CU_ASSERT(dl_wg_cl_threads(&r64, 2) == 1);
        CU_ASSERT(dl_wg_cl_threads(&r32, 4) == 1);
        CU_ASSERT(dl_wg_cl_applies(&b32) == 4 && dl_wg_cl_threads(&b32, 4) == 2);
        CU_ASSERT(dl_wg_cl_applies(&b64) == 2 && dl_wg_cl_threads(&b64, 2) == 2);
    }
    omp_set_num_threads(1);
    CU_ASSERT(dl_wg_cl_threads(&r64, 2) == 1);
    omp_set_num_threads(saved);
}

void suite_conv_winograd_weights(void) {
    CU_pSuite s = CU_add_suite("conv_winograd_weights", NULL, NULL);
    CU_add_test(s, "kept filters = fresh bits, vs the direct sum, 1 = 2 threads", test_kept_matches_fresh);
    CU_add_test(s, "versions: kept, transformed again, version 0, released", test_versions);
    CU_add_test(s, "one weight kept for F(4x4) and F(2x2) apart", test_both_tile_sides);
    CU_add_test(s, "more weights than the table holds", test_table_full);
    CU_add_test(s, "batch 1, channels in the lanes: vs the direct sum, 1 = 2 threads", test_channel_lanes);
    CU_add_test(s, "batch 1, channels in the lanes: fused affine = conv + dl_affine_rows, 1 = 2 = 3 threads",
                test_channel_lanes_affine);
    CU_add_test(s, "generated: forward after SGD steps and after load", test_generated_versions);
}
