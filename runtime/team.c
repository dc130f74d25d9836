/* team.c — how many threads each training step uses.
 *
 * On a machine another process keeps busy, a second OpenMP thread can make a
 * step many times slower (docs/performance.md, "Threads on a busy machine"):
 * libgomp's threads spin at every barrier, and one that shares its core with
 * another process spins through the other's time slices. Two remedies, both
 * here so that users set no environment variable:
 *
 * - dl_team_wait_policy: threads that spin only briefly at a barrier, then
 *   sleep (GOMP_SPINCOUNT=20000 for libgomp, KMP_BLOCKTIME=1 ms for libomp,
 *   instead of 300,000 spins and 200 ms). Sleeping at once (passive) cost
 *   ResNet-20's quiet 2-thread step 13% in futex wake-ups at its ~400
 *   barriers; spinning long is the busy-core collapse. Both libraries read
 *   these once, when they load, so a program that wants them re-executes
 *   itself with the variables set — unless the user chose a policy, a spin
 *   count or a block time.
 * - dl_team: the training loop times its steps at each candidate count
 *   (limit, limit/2, ... 1), keeps the fastest by its mean step, and tries again after an
 *   interval that doubles while the choice holds, or at once when steps turn
 *   much slower than the chosen count's time. It times only counts up to the
 *   cores other processes left free (team_machine.c reads /proc/stat over the
 *   last 0.1 s of steps), so beside a busy core it does not pay for 2-thread
 *   trials at all. Results are the same bits at any
 *   thread count (docs/design.md, "Determinism"), so changing the count
 *   between steps changes only the speed. */
#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlnrt.h"

enum {
    TEAM_FIRST_INTERVAL = 50, /* steps between explorations, at first and after a change */
    TEAM_MAX_INTERVAL = 1600, /* the doubling stops here */
    TEAM_SLOW_STEPS = 3,     /* this many steps in a row ... */
};
#define TEAM_SLOW_FACTOR 2.0 /* ... this much slower than the chosen time: explore now */
/* A candidate is timed for at least this long: beside a busy core the other
 * process's time slices are milliseconds, and three 2 ms LeNet-5 steps at 2
 * threads could all fall between them (make bench's busy-core LeNet-5 chose 2
 * threads that then ran 1.5x slower than 1, 2026-12-06 19:53). */
#define TEAM_TRIAL_SECONDS 0.030
/* The chosen count's mean over DL_TEAM_WATCH steps this much slower than
 * the runner-up's timing: the choice was luck or the machine changed. */
#define TEAM_WATCH_FACTOR 1.15
/* Explorations cost at most this share of the time: the next one waits until
 * the steps since took 1 / share times what the last one cost over the
 * chosen count's time. Beside a busy core on a loaded machine LeNet-5's
 * 2-thread steps took 15-60 ms against 2 ms at 1 thread, so three of them
 * every 50 steps cost 40% (make bench's scenario, 2026-12-06 22:40,
 * docs/results/team_busy_trace.log). */
#define TEAM_EXPLORE_SHARE 0.02
/* The machine is read after at least this much wall time of steps: /proc/stat
 * counts in 10 ms jiffies, so 0.1 s of 2 CPUs is 20 of them. */
#define TEAM_LOOK_SECONDS 0.1
/* A trial step this much slower than the chosen count's time ends that
 * candidate's trial at once: beside a busy core LeNet-5's 2-thread steps took
 * 15-190 ms against 2 ms at 1 thread, and three of them (or 30 ms) is the cost. */
#define TEAM_CUT_FACTOR 3.0

/* Measured (docs/performance.md, "A brief spin at barriers"): ResNet-20 at
 * 2 bound threads 52.3 ms passive, 46.1 ms with this count; beside a busy
 * core also faster than passive. */
#define TEAM_SPINCOUNT "20000"
#define TEAM_BLOCKTIME_MS "1"

int dl_team_wait_policy(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT") || getenv("KMP_BLOCKTIME") || !argv ||
        !argv[0])
        return 0;
    if (setenv("GOMP_SPINCOUNT", TEAM_SPINCOUNT, 1) || setenv("KMP_BLOCKTIME", TEAM_BLOCKTIME_MS, 1)) {
        unsetenv("GOMP_SPINCOUNT");
        return -1;
    }
    fflush(NULL);
    execv("/proc/self/exe", argv);
    unsetenv("GOMP_SPINCOUNT"); /* no /proc: run on with the library's default */
    unsetenv("KMP_BLOCKTIME");
    return -1;
}

/* The mean of n values: what the steps cost in all. Not the fastest: one
 * lucky step (the other process descheduled) chose 2 threads whose typical
 * step was 1.4x slower than 1's (make bench's busy-core LeNet-5, 2026-12-06).
 * Not the median either: on a loaded machine steps are bimodal, LeNet-5's
 * 2-thread ones 1.1 ms with both cores free or 15-50 ms with a thread
 * preempted, half and half, so 8 of them had a median of 1.15 ms and a mean
 * of 8 ms, against 1 thread's 2-20 ms; the median handed the choice to 2
 * threads (docs/results/team_busy_trace_b.log). */
static double mean_of(const double *x, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++) sum += x[i];
    return sum / n;
}

/* The next candidate after n, halving; 0 past 1. */
static int next_candidate(int n) { return n > 1 ? n / 2 : 0; }

static int fastest(const dl_team *t, int except);
static int64_t next_interval(const dl_team *t, int held);

/* Reads the machine once the steps since the last sample took
 * TEAM_LOOK_SECONDS (or at once, with no sample yet): `free` becomes the
 * cores other processes left in that window. Unreadable: the limit, and the
 * machine is not read again. */
static void watch_machine(dl_team *t, double seconds)
{
    t->look_seconds += seconds;
    if (!t->sample || (t->have_seen && t->look_seconds < TEAM_LOOK_SECONDS)) return;
    dl_team_sample now;
    if (t->sample(&now) != 0) {
        t->sample = NULL;
        t->free = t->limit;
        return;
    }
    if (t->have_seen) {
        t->free = dl_team_free_cores(&t->seen, &now);
        if (t->trace)
            fprintf(t->trace, "team: others used %.2f of %d cores over %.3f s: %d free\n",
                    dl_team_others(&t->seen, &now), now.cpus, now.wall - t->seen.wall, t->free);
    }
    t->seen = now;
    t->have_seen = 1;
    t->look_seconds = 0;
}

/* An exploration is over: `chosen` runs until the next one. `timed`: the
 * candidates were timed (what they cost over the chosen decides the wait);
 * else only one count was possible and the next look is cheap. */
static void choose(dl_team *t, int timed)
{
    const int was = t->chosen;
    t->chosen = t->threads = timed ? fastest(t, 0) : 1;
    t->chosen_time = t->best[t->chosen];
    t->excess = timed ? t->explored - (double)t->explored_steps * t->chosen_time : 0;
    t->excess = t->excess > 0 ? t->excess : 0;
    t->since_time = 0;
    t->interval = timed ? next_interval(t, was == t->chosen) : TEAM_FIRST_INTERVAL;
    t->exploring = 0;
    t->since = 0;
    t->slow = 0;
    t->watched = 0;
}

/* The first candidate the free cores allow; 1 when no other is (chosen untimed). */
static int begin_trials(dl_team *t)
{
    t->looking = 0;
    int n = t->limit;
    const int free = t->free > 0 ? t->free : t->limit;
    while (n > 1 && n > free) n = next_candidate(n);
    t->threads = n;
    if (n > 1) return 0;
    choose(t, 0);
    return 1;
}

/* 1 when the free cores left only 1 thread, chosen at once. */
static int start_exploring(dl_team *t)
{
    t->exploring = 1;
    t->trials = 0;
    t->trial_seconds = 0;
    t->explored = 0;
    t->explored_steps = 0;
    for (int k = 0; k <= DL_TEAM_MAX; k++) t->best[k] = 0;
    if (t->sample && !t->free) { /* not known yet: wait at a count that costs nothing beside a busy core */
        t->looking = 1;
        t->threads = t->chosen ? t->chosen : 1;
        return 0;
    }
    return begin_trials(t);
}

void dl_team_init(dl_team *t, int limit, int pinned, int cycle)
{
    memset(t, 0, sizeof *t);
    t->limit = limit < 1 ? 1 : limit > DL_TEAM_MAX ? DL_TEAM_MAX : limit;
    t->pinned = pinned;
    t->cycle = cycle > 0 ? cycle : 0;
    t->interval = TEAM_FIRST_INTERVAL;
    t->threads = t->limit;
    t->sample = dl_team_sample_machine;
    if (!pinned && !t->cycle && t->limit > 1) start_exploring(t);
}

/* Why release at 1 thread: under OMP_PROC_BIND the master thread is bound to
 * one core from the start, so beside another process spinning on that core a
 * single thread got half a core, while an unbound one is moved to the idle
 * core. The team timed its 1-thread candidate bound, found it slower than 2
 * and kept 2 (make bench's busy-core LeNet-5, 0.79x of 1 unbound thread;
 * docs/performance.md, "The thread team beside a busy core"). libgomp binds
 * the master only once, so its own place is restored here at more threads. */
int dl_team_place(int threads)
{
    const int places = omp_get_num_places();
    if (places < 1) return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int p = threads > 1 ? omp_get_place_num() : 0; p < places && p >= 0; p++) {
        int ids[CPU_SETSIZE];
        const int n = omp_get_place_num_procs(p);
        if (n < 1 || n > CPU_SETSIZE) continue;
        omp_get_place_proc_ids(p, ids);
        for (int k = 0; k < n; k++)
            if (ids[k] >= 0 && ids[k] < CPU_SETSIZE) CPU_SET(ids[k], &set);
        if (threads > 1) break;
    }
    return CPU_COUNT(&set) > 0 && sched_setaffinity(0, sizeof set, &set) == 0;
}

int dl_team_begin(dl_team *t)
{
    if (t->looking && !t->have_seen) { /* the first look: unreadable, and the team explores at once as before */
        watch_machine(t, 0);
        if (!t->sample) begin_trials(t);
    }
    if (t->cycle) t->threads = 1 + (int)((t->steps / t->cycle) % t->limit);
    if (t->threads == 1 && !t->released)
        t->released = dl_team_place(1);
    else if (t->threads > 1 && t->released)
        t->released = !dl_team_place(t->threads);
    omp_set_num_threads(t->threads);
    return t->threads;
}

/* The fastest timed candidate of the exploration just finished, leaving
 * out `except` (0: none); 0 if there is no other. Untimed (best 0): above the
 * free cores. */
static int fastest(const dl_team *t, int except)
{
    int best = 0;
    for (int n = t->limit; n; n = next_candidate(n))
        if (n != except && t->best[n] > 0 && (!best || t->best[n] < t->best[best])) best = n;
    return best;
}

/* Steps until the next exploration: doubled while the choice holds (from
 * TEAM_FIRST_INTERVAL after a change), and at least what makes the exploration
 * just finished cost TEAM_EXPLORE_SHARE of the time; at most TEAM_MAX_INTERVAL. */
static int64_t next_interval(const dl_team *t, int held)
{
    const int64_t doubled = held ? 2 * t->interval : TEAM_FIRST_INTERVAL; /* held at the most: stays there */
    const double paid = t->chosen_time > 0 ? t->excess / (TEAM_EXPLORE_SHARE * t->chosen_time) : 0;
    const int64_t n = paid > (double)doubled ? (int64_t)paid + 1 : doubled;
    return n < TEAM_MAX_INTERVAL ? n : TEAM_MAX_INTERVAL;
}

/* After DL_TEAM_WATCH steps at the chosen count: hand over to the runner-up
 * if the chosen count's steps run clearly slower than the runner-up was
 * timed. Its own mean becomes its time, so the two cannot swap back and
 * forth on the old figure. 1 when the count changed. */
static int watch_choice(dl_team *t)
{
    const double steady = mean_of(t->watch, DL_TEAM_WATCH);
    t->watched = 0;
    if (t->chosen_time <= 0) t->chosen_time = steady; /* chosen untimed: its steps give the slow trigger a time */
    const int other = fastest(t, t->chosen);
    if (!other || steady <= TEAM_WATCH_FACTOR * t->best[other]) return 0;
    t->best[t->chosen] = steady;
    t->chosen = t->threads = other;
    t->chosen_time = t->best[other];
    t->slow = 0;
    return 1;
}

int dl_team_end(dl_team *t, double seconds, int64_t samples)
{
    t->steps++;
    if (t->pinned || t->cycle || t->limit == 1) return 0;
    const double per = seconds / (double)(samples > 0 ? samples : 1);
    if (t->trace)
        fprintf(t->trace, "team: step %lld threads %d %.4f ms/sample %s\n", (long long)t->steps, t->threads, per * 1e3,
                t->exploring ? "explore" : "chosen");
    watch_machine(t, seconds);
    if (t->looking) {
        if (!t->chosen) {
            t->look_sum += per;
            t->look_steps++;
        }
        return t->free ? begin_trials(t) : 0;
    }
    if (t->exploring) {
        t->trial[t->trials++] = per;
        t->trial_seconds += seconds;
        t->explored += per;
        t->explored_steps++;
        /* the time to beat: the chosen count's, or before any choice the first look's at 1 thread */
        const double ref = t->chosen ? t->chosen_time : t->look_steps ? t->look_sum / t->look_steps : 0;
        const int cut = ref > 0 && t->threads != (t->chosen ? t->chosen : 1) && per > TEAM_CUT_FACTOR * ref;
        if (!cut && (t->trials < DL_TEAM_TRIALS ||
                     (t->trial_seconds < TEAM_TRIAL_SECONDS && t->trials < DL_TEAM_TRIALS_MAX)))
            return 0;
        t->best[t->threads] = mean_of(t->trial, t->trials);
        t->trials = 0;
        t->trial_seconds = 0;
        const int next = next_candidate(t->threads);
        if (next) {
            t->threads = next;
            return 0;
        }
        choose(t, 1);
        return 1;
    }
    t->watch[t->watched++] = per;
    if (t->watched == DL_TEAM_WATCH && watch_choice(t)) return 1;
    t->slow = t->chosen_time > 0 && per > TEAM_SLOW_FACTOR * t->chosen_time ? t->slow + 1 : 0;
    t->since_time += per;
    /* Slow steps explore at once, but not before the last exploration is paid
     * for: on a loaded machine a run of preempted 1-thread steps each time
     * bought 2-thread trials 10-90x slower (docs/results/team_busy_trace_b.log). */
    if (t->slow >= TEAM_SLOW_STEPS && t->since_time * TEAM_EXPLORE_SHARE >= t->excess) {
        t->interval = TEAM_FIRST_INTERVAL / 2; /* doubled back to the first interval if the choice holds */
        return start_exploring(t);
    }
    return ++t->since >= t->interval ? start_exploring(t) : 0;
}

int dl_team_describe(const dl_team *t, char *buf, size_t cap)
{
    if (t->pinned) return snprintf(buf, cap, "threads: %d (--threads)", t->limit);
    if (t->limit == 1) return snprintf(buf, cap, "threads: 1 (the limit: OMP_NUM_THREADS or the machine)");
    if (t->best[t->chosen] <= 0)
        return snprintf(buf, cap, "threads: %d of at most %d: other processes left %d core%s free, nothing to time",
                        t->chosen, t->limit, t->free, t->free == 1 ? "" : "s");
    int k = snprintf(buf, cap, "threads: %d of at most %d after timing the step at", t->chosen, t->limit);
    for (int n = t->limit; n && k >= 0 && (size_t)k < cap; n = next_candidate(n))
        k += t->best[n] > 0 ? snprintf(buf + k, cap - (size_t)k, "%s %d (%.3g ms per sample)",
                                       n == t->limit ? "" : ",", n, t->best[n] * 1e3)
                            : snprintf(buf + k, cap - (size_t)k, "%s %d (not timed: %d cores free)",
                                       n == t->limit ? "" : ",", n, t->free);
    return k;
}

/* The driver's side (train.c, steps.c). */

void dl_team_start(dl_team *t, const dl_run_options *opt)
{
    /* the limit as the process began: a team that ran before has since set the count */
    static int user_limit;
    if (!user_limit) user_limit = omp_get_max_threads();
    const char *cycle = getenv("DLNC_THREADS_CYCLE"); /* tests: switch counts every N steps */
    dl_team_init(t, opt->threads > 0 ? opt->threads : user_limit, opt->threads > 0, cycle ? atoi(cycle) : 0);
    if (opt->verbose && opt->threads > 0) {
        char line[160];
        dl_team_describe(t, line, sizeof line);
        fprintf(stderr, "dlnc: %s\n", line);
    }
}

void dl_team_report(dl_team *t, double seconds, int64_t samples, const dl_run_options *opt, int lead)
{
    const int was = t->chosen;
    if (dl_team_end(t, seconds, samples) && opt->verbose && lead && t->chosen != was) {
        char line[2048];
        dl_team_describe(t, line, sizeof line);
        fprintf(stderr, "dlnc: step %lld: %s\n", (long long)t->steps, line);
    }
}
