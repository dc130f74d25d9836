/* params.c — a compiled model's parameters, driven by the tables it emits.
 *
 * Why here: initializing, finding, saving and loading parameters is the same
 * code for every model; only the tables differ (names and shapes, initializers,
 * offsets). Generated models used to carry a copy of these loops each; now
 * they pass their dl_param_table and the runtime does the work once. */
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"

void dl_params_init(const dl_param_table *t, float *params, uint64_t seed)
{
    for (int i = 0; i < t->count; i++) {
        dl_rng rng; /* one stream per parameter: adding a layer does not reshuffle the others */
        dl_rng_seed(&rng, seed * UINT64_C(0x9E3779B97F4A7C15) + (uint64_t)i + 1);
        dl_init_shaped(params + t->param_offset[i], t->info[i].rank, t->info[i].shape, &t->init[i], &rng);
    }
}

int dl_param_find(const dl_param_table *t, const char *name)
{
    for (int i = 0; name && i < t->count; i++)
        if (strcmp(t->info[i].name, name) == 0) return i;
    return -1;
}

/* The parameters as the checkpoint code sees them; NULL (error set) when out of memory. */
static dl_named_tensor *named(const dl_param_table *t, float *params)
{
    dl_named_tensor *nt = calloc((size_t)(t->count > 0 ? t->count : 1), sizeof *nt);
    if (!nt) {
        dl_set_error("out of memory listing %d parameters", t->count);
        return NULL;
    }
    for (int i = 0; i < t->count; i++) {
        nt[i].name = t->info[i].name;
        nt[i].rank = t->info[i].rank;
        memcpy(nt[i].shape, t->info[i].shape, sizeof nt[i].shape);
        nt[i].data = params + t->param_offset[i];
    }
    return nt;
}

int dl_params_save(const dl_param_table *t, float *params, const char *path)
{
    dl_named_tensor *nt = named(t, params);
    if (!nt) return -1;
    int rc = dl_save_safetensors(path, nt, t->count);
    free(nt);
    return rc;
}

int dl_params_load(const dl_param_table *t, float *params, const char *path, const char *prefix, dl_load_report *rep)
{
    dl_named_tensor *nt = named(t, params);
    if (!nt) return -1;
    int rc = prefix ? dl_load_safetensors_prefix(path, nt, t->count, prefix, rep) : dl_load_safetensors(path, nt, t->count, 0);
    free(nt);
    return rc;
}
