/* dist_main.c — a user's own training binary (tests/e2e/dist.sh): the
 * generated model's dlnc_model_api handed to dl_run_training, linked with
 * libdlnrt_mpi.a so that mpirun's ranks train it data-parallel. */
#include <stdio.h>

#include "dlnrt.h"

extern const dl_model_api dlnc_model_api;

int main(void)
{
    const dl_run_options opt = {.max_steps = 10};
    if (dl_run_training(&dlnc_model_api, &opt, NULL) != 0) {
        fprintf(stderr, "dist_main: %s\n", dl_last_error());
        return 1;
    }
    return 0;
}
