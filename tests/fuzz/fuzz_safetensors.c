/* fuzz_safetensors.c — libFuzzer harness: the bytes are a checkpoint file.
 *
 * It is loaded into a model with two parameters, w f32[2, 3] and b f32[3]
 * (the seeds in corpus/safetensors/ hold those), every way a model loads:
 * exactly these tensors, these with extras allowed, no tensors with extras
 * allowed (every entry of any file is still validated), and the partial
 * loads under the prefixes "" and "m.". The loaders promise that a refused
 * file leaves the parameters untouched, and a partial load changes only the
 * tensors it reports used; the harness checks both, so a copy made before
 * an error is a finding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "scratch.h"

enum { SENTINEL = 0x5a };

static void broken(const char *what, const char *name) {
    fprintf(stderr, "fuzz_safetensors: %s ('%s'; last error: %s)\n", what, name, dl_last_error());
    abort();
}

static int untouched(const float *v, size_t n) {
    const unsigned char *b = (const unsigned char *)v;
    for (size_t i = 0; i < n * sizeof *v; i++)
        if (b[i] != SENTINEL) return 0;
    return 1;
}

/* count: how many of (w, b) to ask for; prefix NULL: dl_load_safetensors. */
static void load(const char *path, int count, int allow_extra, const char *prefix) {
    float w[6], b[3];
    memset(w, SENTINEL, sizeof w);
    memset(b, SENTINEL, sizeof b);
    dl_named_tensor t[2] = {{.name = "w", .rank = 2, .shape = {2, 3}, .data = w},
                            {.name = "b", .rank = 1, .shape = {3}, .data = b}};
    const size_t n[2] = {6, 3};
    dl_load_report rep;
    dl_set_error("%s", "");
    int rc = prefix ? dl_load_safetensors_prefix(path, t, count, prefix, &rep)
                    : dl_load_safetensors(path, t, count, allow_extra);
    if (rc != 0) {
        if (!dl_last_error()[0]) broken("refused without a message", path);
        for (int k = 0; k < 2; k++)
            if (!untouched(t[k].data, n[k])) broken("refused but changed a tensor", t[k].name);
        return;
    }
    if (prefix && rep.used + rep.missing != count) broken("used + missing is not the tensors asked for", prefix);
    int changed = 0;
    for (int k = 0; k < count; k++) changed += !untouched(t[k].data, n[k]);
    if (prefix && changed > rep.used) broken("changed a tensor it reports missing", prefix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = scratch_write("model.safetensors", data, size);
    load(path, 2, 0, NULL);
    load(path, 2, 1, NULL);
    load(path, 0, 1, NULL);
    load(path, 2, 1, "");
    load(path, 2, 1, "m.");
    return 0;
}
