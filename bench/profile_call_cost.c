/* bench/profile_call_cost.c — what DL_PROF adds to one kernel call: the
 * same tiny call (a 16-float add) timed plain and wrapped, 10 million times
 * each, alternating in blocks so that a changing load hurts both alike.
 *   cc -std=c11 -O2 -DDL_PROFILE -Iruntime bench/profile_call_cost.c build/libdlnrt.a -lpng -lz -lm -fopenmp -o /tmp/pc && /tmp/pc */
#include <stdio.h>

#include "dlnrt.h"

static dl_prof_site site = {.kernel = "k", .phase = "forward", .line = "b.dln:1", .what = "add", .self = 1};

static void __attribute__((noinline)) kernel(float *y, const float *x)
{
    for (int i = 0; i < 16; i++) y[i] += x[i];
}

int main(void)
{
    static float y[16], x[16] = {1};
    const int block = 1000000, blocks = 10;
    int64_t plain = 0, wrapped = 0;
    for (int b = 0; b < blocks; b++) {
        int64_t t0 = dl_prof_clock();
        for (int i = 0; i < block; i++) kernel(y, x);
        int64_t t1 = dl_prof_clock();
        for (int i = 0; i < block; i++) DL_PROF(site, 16.0, kernel(y, x));
        int64_t t2 = dl_prof_clock();
        plain += t1 - t0, wrapped += t2 - t1;
    }
    const double n = (double)block * blocks;
    printf("plain %.1f ns/call, wrapped %.1f ns/call: DL_PROF adds %.1f ns per kernel call (y[0] = %g, calls %lld)\n",
           plain / n, wrapped / n, (wrapped - plain) / n, y[0], (long long)site.calls);
    return 0;
}
