/* dist_single.c — the transport of a build without MPI: one process, rank 0
 * of 1. Weak, so that dist_mpi.c's definitions replace these where it is
 * linked (dlnc built with mpicc found) and libdlnrt itself never needs MPI. */
#include "dist.h"

#include <stdlib.h>
#include <string.h>

__attribute__((weak)) int dl_dist_tr_init(int *rank, int *size)
{
    *rank = 0, *size = 1;
    /* started by mpirun among others: training alone would be P runs
     * writing one checkpoint, so refuse */
    const char *np = getenv("OMPI_COMM_WORLD_SIZE");
    if (np && atoi(np) > 1) {
        dl_set_error("this build has no MPI, so it cannot join a job of %s ranks: install libopenmpi-dev and rebuild "
                     "(make MPI=1)", np);
        return -1;
    }
    return 0;
}

__attribute__((weak)) int dl_dist_tr_sum_f32(float *x, int64_t n)
{
    (void)x, (void)n;
    return 0;
}

__attribute__((weak)) int dl_dist_tr_sum_f64(double *x, int n)
{
    (void)x, (void)n;
    return 0;
}

__attribute__((weak)) int dl_dist_tr_gather(const void *mine, void *all, int bytes)
{
    memcpy(all, mine, (size_t)bytes);
    return 0;
}
