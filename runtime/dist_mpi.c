/* dist_mpi.c — the transport of data-parallel training over MPI, the only
 * file that includes mpi.h. Linked into dlnc (and libdlnrt_mpi.a) when the
 * build finds mpicc; its definitions replace dist_single.c's weak ones.
 *
 * A process joins MPI only when mpirun started it (its environment says
 * so): a plain `dlnc run` never pays for MPI_Init. Errors return instead of
 * aborting (MPI_ERRORS_RETURN), so a failed collective is a message. When a
 * rank dies, mpirun ends the others with SIGTERM; each says so on stderr
 * before going, since it cannot tell the user through a collective. */
#include "dist.h"

#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char term_msg[256];
static size_t term_len;

static void on_term(int sig)
{
    /* async-signal-safe: the message was formatted at init */
    if (write(STDERR_FILENO, term_msg, term_len) < 0) {}
    signal(sig, SIG_DFL);
    raise(sig);
}

static void finish(void)
{
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
}

static int mpi_failed(int err, const char *what)
{
    if (err == MPI_SUCCESS) return 0;
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(err, s, &len);
    dl_set_error("%s failed: %s", what, s);
    return -1;
}

int dl_dist_tr_init(int *rank, int *size)
{
    *rank = 0, *size = 1;
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_RANK")) return 0;
    int provided;
    if (mpi_failed(MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided), "MPI_Init")) return -1;
    atexit(finish);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    snprintf(term_msg, sizeof term_msg,
             "dlnc: rank %d of %d: ended by mpirun (another rank stopped); the last checkpoint saved is intact, "
             "continue with --resume\n", *rank, *size);
    term_len = strlen(term_msg);
    signal(SIGTERM, on_term);
    return 0;
}

int dl_dist_tr_sum_f32(float *x, int64_t n)
{
    /* MPI counts are int: a very large buffer goes in pieces */
    for (int64_t at = 0; at < n;) {
        const int k = n - at > (1 << 30) ? 1 << 30 : (int)(n - at);
        if (mpi_failed(MPI_Allreduce(MPI_IN_PLACE, x + at, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce"))
            return -1;
        at += k;
    }
    return 0;
}

int dl_dist_tr_sum_f64(double *x, int n)
{
    return mpi_failed(MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
}

int dl_dist_tr_gather(const void *mine, void *all, int bytes)
{
    return mpi_failed(MPI_Allgather(mine, bytes, MPI_BYTE, all, bytes, MPI_BYTE, MPI_COMM_WORLD), "MPI_Allgather");
}
