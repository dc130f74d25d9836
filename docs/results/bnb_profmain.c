/* bnb_profmain.c — per-kernel times of a bench/bench_main.c run, for
 * docs/performance.md "Batch norm's backward: the ReLU mask folded in".
 * Linked with a `dlnc --profile` model compiled -DDL_PROFILE and
 * bench_main.c compiled -Dmain=bench_real_main, with
 * -Wl,--wrap=dl_prof_add -Wl,--wrap=dl_prof_clock: every kernel call's time
 * is taken in this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so the
 * preemptions of a loaded machine are not counted, and listed per call site
 * after the run (bnb_summ.sh adds them up by kind). 1 thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dlnrt.h"

int bench_real_main(int argc, char **argv);

int64_t __wrap_dl_prof_clock(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static dl_prof_site *sites[4096];
static int64_t site_ns[4096], site_calls[4096];
static int nsites;

void __wrap_dl_prof_add(dl_prof_site *s, int64_t t0, double flops) {
    const int64_t dt = __wrap_dl_prof_clock() - t0;
    (void)flops;
    int i = 0;
    while (i < nsites && sites[i] != s) i++;
    if (i == nsites) {
        if (nsites == 4096) return;
        sites[nsites++] = s;
    }
    site_ns[i] += dt, site_calls[i]++;
}

int main(int argc, char **argv) {
    const int rc = bench_real_main(argc, argv);
    printf("\n# per call site: ms (all calls), calls, kernel, phase, op\n");
    for (int i = 0; i < nsites; i++)
        printf("site %9.3f ms %6lld calls  %-50s %s %s\n", site_ns[i] / 1e6, (long long)site_calls[i], sites[i]->kernel,
               sites[i]->phase, sites[i]->op);
    return rc;
}
