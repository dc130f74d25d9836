/* init_from.c — a train section's `init_from`: after initialization, the
 * model takes the part of a checkpoint it owns, and the run says exactly
 * what came from the file, what the file had besides, and what kept its
 * fresh initial values.
 *
 * Transfer learning puts a new head on a pretrained trunk: the file's
 * head.weight is [10, 64] where the model's is [5, 64]. A shape that
 * differs stays an error (a silently re-initialized layer is a bug that
 * trains), so the head is named instead: `init_skip = ["head."]` leaves the
 * model's tensors under those prefixes out of the load, reported as newly
 * initialized, and the file's tensors of those names as skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

static int dl_skipped(const char *const *skip, const char *name)
{
    for (int k = 0; skip && skip[k]; k++)
        if (strncmp(name, skip[k], strlen(skip[k])) == 0) return 1;
    return 0;
}

/* "a, b, c, ..." as dl_load_report lists names. */
static void dl_list_name(char *list, size_t cap, int already, const char *name)
{
    size_t len = strlen(list);
    if (already == 3) snprintf(list + len, cap - len, ", ...");
    if (already >= 3) return;
    snprintf(list + len, cap - len, "%s%s", already ? ", " : "", name);
}

int dl_init_from(const dl_model_api *api, void *m, const dl_train_config *cfg)
{
    const char *prefix = cfg->init_prefix ? cfg->init_prefix : "";
    /* init_into = "teacher.": the file's dense0.weight is our teacher.dense0.weight; our tensors
     * outside the prefix (the student's) are not the file's business and keep their values. */
    const char *into = cfg->init_into ? cfg->init_into : "";
    size_t into_len = strlen(into);
    int outside = 0;
    dl_named_tensor *nt = calloc((size_t)(api->n_params > 0 ? api->n_params : 1), sizeof *nt);
    if (!nt) {
        dl_set_error("init_from: out of memory listing %d parameters", api->n_params);
        return -1;
    }
    int n = 0, fresh = 0;
    char fresh_names[160] = "";
    for (int i = 0; i < api->n_params; i++) {
        const dl_param_info *p = &api->params[i];
        if (dl_skipped(cfg->init_skip, p->name)) {
            dl_list_name(fresh_names, sizeof fresh_names, fresh++, p->name);
            continue;
        }
        if (strncmp(p->name, into, into_len) != 0) {
            outside++;
            continue;
        }
        nt[n] = (dl_named_tensor){.name = p->name + into_len, .rank = p->rank, .data = api->param_data(m, i)};
        memcpy(nt[n].shape, p->shape, sizeof nt[n].shape);
        n++;
    }
    if (n == 0 && into_len) {
        free(nt);
        dl_set_error("init_from: init_into '%s' is the prefix of none of the model's tensors\n"
                     "hint: a model called in a step is named after itself: init_into = \"teacher.\"", into);
        return -1;
    }
    dl_load_report rep;
    int rc = dl_load_safetensors_prefix(cfg->init_from, nt, n, prefix, &rep);
    free(nt);
    if (rc) {
        char inner[768];
        snprintf(inner, sizeof inner, "%s", dl_last_error());
        dl_set_error("init_from: %s%s", inner, strstr(inner, " has shape ")
                     ? "\nhint: a layer the model replaces (a new head) is left out of the load with "
                       "init_skip = [\"head.\"] in the train section" : "");
        return -1;
    }
    printf("init_from %s%s%s%s%s%s%s: %d tensor%s loaded", cfg->init_from, *prefix ? " (prefix '" : "", prefix,
           *prefix ? "')" : "", into_len ? " (into '" : "", into, into_len ? "')" : "", rep.used,
           rep.used == 1 ? "" : "s");
    if (rep.skipped) printf(", %d in the file skipped (%s)", rep.skipped, rep.skipped_names);
    if (rep.missing) printf(", %d of the model's not in the file, kept as initialized (%s)", rep.missing,
                            rep.missing_names);
    if (fresh) printf(", %d newly initialized by init_skip (%s)", fresh, fresh_names);
    if (outside) printf(", %d outside '%s' kept as initialized", outside, into);
    printf("\n");
    return 0;
}
