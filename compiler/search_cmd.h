/* search_cmd.h — `dlnc search`: hyper-parameter search over a train
 * section's settings (search_spec.h), each trial trained in-process on the
 * model built with that trial's settings, ranked on the validation split;
 * only the best trial is evaluated on the test set. main.c routes to it. */
#ifndef DLNC_SEARCH_CMD_H
#define DLNC_SEARCH_CMD_H
#include "diag.h"
#include "dlnrt.h"
#include "emit.h"
#include "ir.h"
#include "jit.h"

typedef struct search_options {
    const char *spec;        /* --grid SPEC */
    int64_t random;          /* --random N: N draws from SPEC instead of every combination */
    const char *out;         /* --out FILE.csv: the ranked table */
} search_options;

/* If argv[*i] is --grid, --random or --out, takes it and its value
 * (advancing *i) and returns 1; 0 for another option; -1 after printing a
 * usage error. */
int search_cmd_option(int argc, char **argv, int *i, search_options *o);
/* Runs the search on mods[0] (its train section); errors at the section's
 * location through d. ro: the run options (--epochs, --max-steps, --seed,
 * --checkpoint, --history apply to every trial or to the best one's rerun).
 * Returns the exit status. */
int search_cmd_run(ir_module *const *mods, int n_mods, const emit_options *eo, const jit_options *jo,
                   const dl_run_options *ro, const search_options *so, diag_ctx *d);

#endif
