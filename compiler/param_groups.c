/* param_groups.c — which freeze / lr_scale prefix a parameter name falls under. */
#include <string.h>

#include "param_groups.h"

int pg_match(const pg_prefix *list, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strncmp(name, list[i].prefix, strlen(list[i].prefix)) == 0) return i;
    return -1;
}

int pg_frozen(const pg_groups *g, const char *name) {
    return g && pg_match(g->freeze, g->n_freeze, name) >= 0;
}

float pg_lr_scale(const pg_groups *g, const char *name) {
    int k = g ? pg_match(g->scale, g->n_scale, name) : -1;
    return k >= 0 ? g->scale[k].scale : 1.0f;
}
