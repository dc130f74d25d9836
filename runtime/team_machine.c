/* team_machine.c — how many cores other processes leave the thread team.
 *
 * Beside a process that keeps one of two cores busy, every exploration of 2
 * threads costs LeNet-5 steps of 15-190 ms against 2 ms at 1 thread (make
 * bench 2026-12-06 23:13: the team at 0.93x of 1 thread although it chose 1).
 * The machine says beforehand whether a second core is free: the kernel counts
 * every CPU's busy time (/proc/stat), and this process's own CPU time is known
 * exactly, so what the others used over a window is the difference. The team
 * (team.c) then explores only counts up to the free cores.
 *
 * Plain file I/O on purpose: no shell, no library beyond libc. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dlnrt.h"

/* Other processes' CPU time over a window counts as a whole core taken once
 * it reaches this share of one. The spinner beside a 1-thread step measures
 * ~1.0; jiffies (10 ms each) make a 0.1 s window's figure uncertain by ~0.1-0.2;
 * a core the others use for less than this is still worth a trial. */
#define TEAM_TAKEN_SHARE 0.6

int dl_team_read_stat(const char *path, dl_team_sample *s)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[512];
    unsigned long long v[8] = {0};
    int have_total = 0, cpus = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "cpu", 3) != 0) break; /* the cpu lines come first */
        if (line[3] == ' ')
            have_total = sscanf(line + 3, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                                &v[4], &v[5], &v[6], &v[7]) >= 4;
        else if (line[3] >= '0' && line[3] <= '9')
            cpus++;
    }
    fclose(f);
    const long hz = sysconf(_SC_CLK_TCK);
    if (!have_total || cpus < 1 || hz <= 0) return -1;
    /* user nice system idle iowait irq softirq steal: idle and iowait are free
     * time; steal (another guest on the host) is taken, like any process */
    const unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    s->busy = (double)busy / (double)hz;
    s->cpus = cpus;
    return 0;
}

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    return clock_gettime(id, &ts) == 0 ? (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec : -1;
}

int dl_team_sample_machine(dl_team_sample *s)
{
    if (dl_team_read_stat("/proc/stat", s) != 0) return -1;
    s->wall = clock_seconds(CLOCK_MONOTONIC);
    s->own = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    return s->wall < 0 || s->own < 0 ? -1 : 0;
}

double dl_team_others(const dl_team_sample *a, const dl_team_sample *b)
{
    const double wall = b->wall - a->wall;
    return wall > 0 ? ((b->busy - a->busy) - (b->own - a->own)) / wall : 0;
}

int dl_team_free_cores(const dl_team_sample *a, const dl_team_sample *b)
{
    const double others = dl_team_others(a, b);
    const int taken = others > 0 ? (int)(others + 1.0 - TEAM_TAKEN_SHARE) : 0;
    const int free = b->cpus - taken;
    return free < 1 ? 1 : free;
}
