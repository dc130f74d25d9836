/* ddpm_cmd.h — `dlnc sample --ddpm T`: the options of the DDPM reverse
 * process and the call into the runtime's sampler (runtime/sample_ddpm.c),
 * kept out of main.c, which only routes to them. */
#ifndef DLNC_DDPM_CMD_H
#define DLNC_DDPM_CMD_H
#include "dlnrt.h"

/* ddpm_schedule's defaults: beta1 = 1e-4, betaT = 0.02; no --ddpm. */
void ddpm_cmd_defaults(dl_ddpm_options *o);
/* If argv[*i] is --ddpm, --ddim, --beta1 or --beta-t, takes it and its value
 * (advancing *i) and returns 1; 0 for another option; -1 after printing a
 * usage error. */
int ddpm_cmd_option(int argc, char **argv, int *i, dl_ddpm_options *o);
/* Runs the sampler with the grid options (--grid, --count, --seed,
 * --range, the checkpoint); prints errors, and which of the checkpoint's
 * tensors were used; the exit status. verbose: also what was written. */
int ddpm_cmd_run(const dl_model_api *api, dl_ddpm_options o, const dl_grid_options *grid, int verbose);

#endif
