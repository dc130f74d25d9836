/* ckpt_main.c — corrupt checkpoints through a compiled model's load.
 *
 * Linked with one model's generated C and libdlnrt (like smoke_main.c). Saves
 * a good checkpoint, then feeds the model's own load function damaged copies:
 * every truncation boundary of the format, a garbled length prefix, random
 * bytes flipped in the JSON header, and files with a wrong shape, a missing
 * name, a renamed tensor, an extra tensor or another dtype. Each must fail
 * with a message and leave every parameter bit-for-bit as it was: a load
 * that half-copies before noticing the damage would silently mix two
 * models. Random header flips that still form a valid, matching file may
 * load; they are counted, and then the parameters must be the saved ones.
 * Prints one line; exit status 0 on success.
 *   usage: ckpt_main DIR */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"

const dl_model_api *dlnc_entry(void);

typedef struct ctx {
    const dl_model_api *api;
    void *m;
    float **before;       /* the parameters before each load attempt */
    int64_t *numel;
    char path[4096];
    int failures, rejected, accepted;
} ctx;

static void snapshot(ctx *c) {
    for (int i = 0; i < c->api->n_params; i++)
        memcpy(c->before[i], c->api->param_data(c->m, i), sizeof(float) * (size_t)c->numel[i]);
}

static int unchanged(const ctx *c) {
    for (int i = 0; i < c->api->n_params; i++)
        if (memcmp(c->before[i], c->api->param_data(c->m, i), sizeof(float) * (size_t)c->numel[i])) return 0;
    return 1;
}

static int write_file(const char *path, const unsigned char *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(b, 1, n, f);
    return fclose(f) || w != n ? -1 : 0;
}

/* Load `bytes` through the model; must_fail: a rejection is required. */
static void try_load(ctx *c, const char *what, const unsigned char *bytes, size_t n, int must_fail,
                     const float *const *saved) {
    if (write_file(c->path, bytes, n)) {
        printf("FAIL %s: cannot write %s\n", what, c->path);
        c->failures++;
        return;
    }
    snapshot(c);
    dl_set_error("%s", "");
    int rc = c->api->load(c->m, c->path);
    if (rc != 0) {
        c->rejected++;
        if (!dl_last_error()[0]) {
            printf("FAIL %s: load failed without a message\n", what);
            c->failures++;
        }
        if (!unchanged(c)) {
            printf("FAIL %s: load failed but changed the parameters (%s)\n", what, dl_last_error());
            c->failures++;
        }
        return;
    }
    c->accepted++;
    if (must_fail) {
        printf("FAIL %s: a damaged checkpoint was accepted\n", what);
        c->failures++;
        return;
    }
    for (int i = 0; i < c->api->n_params; i++)
        if (memcmp(saved[i], c->api->param_data(c->m, i), sizeof(float) * (size_t)c->numel[i])) {
            printf("FAIL %s: accepted, but parameter %d differs from the saved one\n", what, i);
            c->failures++;
            return;
        }
}

static unsigned char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    if (b && fread(b, 1, (size_t)len, f) != (size_t)len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* Save the model's parameters with one edit to the tensor list. */
static int save_edited(ctx *c, const char *path, int edit) {
    const dl_model_api *api = c->api;
    int n = api->n_params;
    dl_named_tensor *t = calloc((size_t)n + 1, sizeof *t);
    float *extra = calloc(4, sizeof(float));
    for (int i = 0; i < n; i++) {
        t[i].name = api->params[i].name;
        t[i].rank = api->params[i].rank;
        memcpy(t[i].shape, api->params[i].shape, sizeof t[i].shape);
        t[i].data = api->param_data(c->m, i);
    }
    int count = n;
    switch (edit) {
    case 0: /* wrong shape: the last parameter one element shorter along its first axis */
        if (t[n - 1].rank > 0 && t[n - 1].shape[0] > 1) t[n - 1].shape[0]--;
        else { t[n - 1].rank = 1; t[n - 1].shape[0] = 4; t[n - 1].data = extra; }
        break;
    case 1: count = n - 1; break;                                 /* a missing tensor */
    case 2: t[0].name = "not_a_parameter"; break;                 /* a renamed tensor */
    case 3: /* an extra tensor */
        t[n] = (dl_named_tensor){.name = "extra", .rank = 1, .shape = {4}, .data = extra};
        count = n + 1;
        break;
    case 4: /* transposed shape of a rank-2 parameter, same element count */
        for (int i = 0; i < n; i++)
            if (t[i].rank == 2 && t[i].shape[0] != t[i].shape[1]) {
                int64_t s = t[i].shape[0];
                t[i].shape[0] = t[i].shape[1];
                t[i].shape[1] = s;
                break;
            }
        break;
    }
    int rc = dl_save_safetensors(path, t, count);
    free(t);
    free(extra);
    return rc;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    ctx c = {.api = dlnc_entry()};
    const dl_model_api *api = c.api;
    const int64_t bounds[8] = {2, 16, 16, 16, 16, 16, 16, 16}; /* a general model: N = 2, every other symbol 16 */
    if (!(c.m = api->create ? api->create(2) : api->create_io(bounds)) || api->n_params == 0) {
        printf("%s: create failed or no parameters: %s\n", api->name, dl_last_error());
        return 1;
    }
    c.before = calloc((size_t)api->n_params, sizeof *c.before);
    c.numel = calloc((size_t)api->n_params, sizeof *c.numel);
    float **saved = calloc((size_t)api->n_params, sizeof *saved);
    for (int i = 0; i < api->n_params; i++) {
        c.numel[i] = api->params[i].numel;
        c.before[i] = malloc(sizeof(float) * (size_t)c.numel[i] + 1);
        saved[i] = malloc(sizeof(float) * (size_t)c.numel[i] + 1);
    }
    char good[4096];
    snprintf(good, sizeof good, "%s/good.safetensors", dir);
    snprintf(c.path, sizeof c.path, "%s/bad.safetensors", dir);
    api->init(c.m, 1);
    if (api->save(c.m, good)) {
        printf("FAIL save: %s\n", dl_last_error());
        return 1;
    }
    for (int i = 0; i < api->n_params; i++)
        memcpy(saved[i], api->param_data(c.m, i), sizeof(float) * (size_t)c.numel[i]);
    api->init(c.m, 2);   /* different parameters, so a partial load would show */

    size_t n;
    unsigned char *b = read_file(good, &n);
    if (!b || n < 16) {
        printf("FAIL cannot read back %s\n", good);
        return 1;
    }
    size_t h = 0;
    for (int i = 7; i >= 0; i--) h = h << 8 | b[i];
    char what[96];

    /* Truncations: every boundary of the format, and a spread of lengths in between. */
    size_t cuts[] = {0, 1, 7, 8, 9, 8 + h / 2, 8 + h - 1, 8 + h, 8 + h + 1, n - 4, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        if (cuts[i] >= n) continue;
        snprintf(what, sizeof what, "truncated to %zu of %zu bytes", cuts[i], n);
        try_load(&c, what, b, cuts[i], 1, (const float *const *)saved);
    }
    for (size_t cut = 10; cut < n; cut += n / 37 + 1) {
        snprintf(what, sizeof what, "truncated to %zu of %zu bytes", cut, n);
        try_load(&c, what, b, cut, 1, (const float *const *)saved);
    }
    /* A garbled length prefix: zero, beyond the file, absurd, and one off. */
    uint64_t lens[] = {0, 1, (uint64_t)n, (uint64_t)n * 2, ~(uint64_t)0, (uint64_t)1 << 62, h - 1, h + 1};
    unsigned char *m = malloc(n);
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        memcpy(m, b, n);
        for (int k = 0; k < 8; k++) m[k] = (unsigned char)(lens[i] >> (8 * k));
        snprintf(what, sizeof what, "header length %llu (real %zu)", (unsigned long long)lens[i], h);
        try_load(&c, what, m, n, 1, (const float *const *)saved);
    }
    /* Random header corruption: may only load if it still describes this model exactly. */
    dl_rng r;
    dl_rng_seed(&r, 11);
    const char junk[] = "\"{}[]:,0123456789-eE.\\ \x01\xff" "F16F32I32abc";
    for (int it = 0; it < 300; it++) {
        memcpy(m, b, n);
        int flips = 1 + (int)(dl_rng_next(&r) % 3);
        for (int k = 0; k < flips; k++) m[8 + dl_rng_next(&r) % h] = (unsigned char)junk[dl_rng_next(&r) % (sizeof junk - 1)];
        snprintf(what, sizeof what, "header flip #%d", it);
        try_load(&c, what, m, n, 0, (const float *const *)saved);
    }
    /* Well-formed files that do not describe this model. */
    const char *edits[] = {"wrong shape", "missing tensor", "renamed tensor", "extra tensor", "transposed shape"};
    for (int e = 0; e < 5; e++) {
        api->init(c.m, 1);
        char other[4096];
        snprintf(other, sizeof other, "%s/other.safetensors", dir);
        if (save_edited(&c, other, e)) {
            printf("FAIL saving the '%s' file: %s\n", edits[e], dl_last_error());
            c.failures++;
            continue;
        }
        size_t on;
        unsigned char *ob = read_file(other, &on);
        int changed = on != n || memcmp(ob, b, n);   /* a rank-1-only model has no transpose to make */
        api->init(c.m, 2);
        if (changed) try_load(&c, edits[e], ob, on, 1, (const float *const *)saved);
        free(ob);
    }
    /* A dtype the loader does not take, spelled in place. */
    memcpy(m, b, n);
    char *f32 = memmem(m + 8, h, "\"F32\"", 5);
    if (f32) {
        memcpy(f32, "\"I32\"", 5);
        try_load(&c, "dtype I32", m, n, 1, (const float *const *)saved);
    }
    /* Not a file at all, and the good file, last: it must load exactly. */
    snapshot(&c);
    if (api->load(c.m, dir) == 0 || !dl_last_error()[0] || !unchanged(&c)) {
        printf("FAIL loading a directory: rc 0, no message, or parameters changed\n");
        c.failures++;
    }
    try_load(&c, "the good file", b, n, 0, (const float *const *)saved);

    printf("%s: %d damaged checkpoints rejected with the parameters unchanged, %d accepted (valid), %d failure%s\n",
           api->name, c.rejected, c.accepted, c.failures, c.failures == 1 ? "" : "s");
    free(m);
    free(b);
    for (int i = 0; i < api->n_params; i++) {
        free(c.before[i]);
        free(saved[i]);
    }
    free(c.before);
    free(c.numel);
    free(saved);
    api->destroy(c.m);
    return c.failures ? 1 : 0;
}
