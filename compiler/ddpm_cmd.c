/* ddpm_cmd.c — `dlnc sample --ddpm T`: option parsing and the sampler call.
 * The options are checked as numbers here (a usage error, status 2) and as a
 * schedule by dl_ddpm_check (beta1 <= betaT, DDIM steps <= T: status 1, with
 * the model's own checks, since they need each other's values). */
#include "ddpm_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void ddpm_cmd_defaults(dl_ddpm_options *o) {
    o->beta1 = 1e-4;
    o->betaT = 0.02;
}

int ddpm_cmd_option(int argc, char **argv, int *i, dl_ddpm_options *o) {
    const char *a = argv[*i];
    int is_int = !strcmp(a, "--ddpm") || !strcmp(a, "--ddim");
    if (!is_int && strcmp(a, "--beta1") && strcmp(a, "--beta-t")) return 0;
    if (!cli_has_value(argc, argv, *i)) return -1;
    const char *v = argv[++*i];
    char *end;
    errno = 0;
    if (is_int) {
        long long n = strtoll(v, &end, 10);
        if (errno || end == v || *end || n < 2 || n > DL_DDPM_MAX_STEPS) {
            fprintf(stderr, "dlnc: error: %s takes a number of steps from 2 to %d, not '%s'\n", a, DL_DDPM_MAX_STEPS, v);
            return -1;
        }
        if (!strcmp(a, "--ddpm")) o->steps = n;
        else o->ddim = n;
        return 1;
    }
    double b = strtod(v, &end);
    if (errno || end == v || *end || !(b > 0 && b < 1)) {
        fprintf(stderr, "dlnc: error: %s takes a number between 0 and 1 (exclusive), not '%s'\n", a, v);
        return -1;
    }
    if (!strcmp(a, "--beta1")) o->beta1 = b;
    else o->betaT = b;
    return 1;
}

int ddpm_cmd_run(const dl_model_api *api, dl_ddpm_options o, const dl_grid_options *grid, int verbose) {
    o.grid = *grid;
    if (!grid->path) {
        fprintf(stderr, "dlnc: error: --ddpm draws images: give the picture's path with --grid OUT.png\n");
        return 1;
    }
    if (dl_sample_ddpm(api, &o) != 0) {
        fprintf(stderr, "dlnc: error: %s\n", dl_last_error());
        return 1;
    }
    if (verbose)
        fprintf(stderr, "dlnc: wrote %lld images after %lld %s steps to %s\n", (long long)grid->count,
                (long long)(o.ddim ? o.ddim : o.steps), o.ddim ? "DDIM" : "DDPM", grid->path);
    return 0;
}
