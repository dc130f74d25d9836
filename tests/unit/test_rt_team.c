/* test_rt_team.c — the thread team (runtime/team.c) on step times given by
 * the test, not measured: which count it tries, which it keeps, that it never
 * goes past its limit, that a pinned team never moves and that the test hook
 * cycles. Timing the real machine belongs to bench/threads_busy.sh. */
#include <CUnit/CUnit.h>
#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlnrt.h"

/* A 2-CPU machine the test scripts: the team's sampler reads it and step()
 * advances it by each step, the team's threads busy and other processes using
 * `others` cores meanwhile. */
static struct {
    double wall, own, busy, others;
    int readable;
} fake;

static int fake_sample(dl_team_sample *s)
{
    if (!fake.readable) return -1;
    *s = (dl_team_sample){.wall = fake.wall, .own = fake.own, .busy = fake.busy, .cpus = 2};
    return 0;
}

/* A team on the scripted machine. */
static void init_on(dl_team *t, int limit, double others, int readable)
{
    dl_team_init(t, limit, 0, 0);
    t->sample = fake_sample;
    fake.others = others;
    fake.readable = readable;
}

/* A team that does not read the machine: the timing logic alone. */
static void init_blind(dl_team *t, int limit, int pinned, int cycle)
{
    dl_team_init(t, limit, pinned, cycle);
    t->sample = NULL;
}

/* One step: begin (checked against the limit and the OpenMP count), then a
 * step time of ms_at[threads] per sample. */
static int step(dl_team *t, const double *ms_at)
{
    const int n = dl_team_begin(t);
    CU_ASSERT(n >= 1 && n <= t->limit);
    CU_ASSERT_EQUAL(omp_get_max_threads(), n);
    const double seconds = ms_at[n] * 1e-3 * 64;
    fake.wall += seconds;
    fake.own += seconds * n;
    fake.busy += seconds * (n + fake.others);
    dl_team_end(t, seconds, 64);
    return n;
}

static void test_keeps_the_fastest(void)
{
    const int saved = omp_get_max_threads();
    const double one_faster[] = {0, 1.0, 4.0}, two_faster[] = {0, 1.0, 0.6};
    dl_team t;
    init_blind(&t, 2, 0, 0);
    /* 3 steps at 2, 3 at 1, then 1 is kept until the next exploration */
    int seq[8];
    for (int i = 0; i < 8; i++) seq[i] = step(&t, one_faster);
    CU_ASSERT(seq[0] == 2 && seq[2] == 2 && seq[3] == 1 && seq[5] == 1 && seq[6] == 1 && seq[7] == 1);
    CU_ASSERT_EQUAL(t.chosen, 1);
    /* the machine changes: the next exploration finds 2 (4 ms per sample at 2
     * cost 9 ms over 1 thread's: it waits 9 / (2% of 1.0) steps) */
    CU_ASSERT_EQUAL(t.interval, 451);
    for (int i = 0; i < 460; i++) step(&t, two_faster);
    CU_ASSERT_EQUAL(t.chosen, 2);
    /* a choice that holds explores at doubling intervals */
    const int64_t before = t.interval;
    for (int i = 0; i < 200; i++) step(&t, two_faster);
    CU_ASSERT(t.interval > before);
    omp_set_num_threads(saved);
}

/* A new team of limit 2 through its first exploration: 3 steps at 2 threads,
 * 3 at 1, of ms[0..5] ms per sample in turn. */
static void first_exploration(dl_team *t, const double *ms)
{
    init_blind(t, 2, 0, 0);
    for (int i = 0; i < 2 * DL_TEAM_TRIALS; i++) {
        CU_ASSERT_EQUAL(dl_team_begin(t), i < DL_TEAM_TRIALS ? 2 : 1);
        dl_team_end(t, ms[i] * 1e-3 * 64, 64);
    }
}

/* One lucky step at 2 threads (0.5 ms, then 1.4 and 1.4) does not beat 1
 * thread's steady 1.0: the mean of a count's steps decides, not the fastest. */
static void test_mean_not_luck(void)
{
    const int saved = omp_get_max_threads();
    const double lucky[] = {0.5, 1.4, 1.4, 1.0, 1.0, 1.0};
    dl_team t;
    first_exploration(&t, lucky);
    CU_ASSERT_EQUAL(t.chosen, 1);
    CU_ASSERT_DOUBLE_EQUAL(t.best[2], 1.1e-3, 1e-12);
    omp_set_num_threads(saved);
}

/* Bimodal steps (a loaded machine): 2 threads at 1.1 or 30 (a thread
 * preempted) lose to 1 thread's steady 2.0 although their median is 1.1;
 * and a choice of 2 whose steps turn 0.6 / 5.0 in turn (median 0.6, mean
 * 2.8) hands over to 1 thread (1.0) at the next watch. */
static void test_bimodal_steps(void)
{
    const int saved = omp_get_max_threads();
    const double explore[] = {1.1, 30.0, 1.1, 2.0, 2.0, 2.0};
    dl_team t;
    first_exploration(&t, explore);
    CU_ASSERT_EQUAL(t.chosen, 1);
    init_blind(&t, 2, 0, 0);
    const double two_faster[] = {0, 1.0, 0.6};
    for (int i = 0; i < 2 * DL_TEAM_TRIALS; i++) step(&t, two_faster);
    CU_ASSERT_EQUAL(t.chosen, 2);
    for (int i = 0; i < DL_TEAM_WATCH; i++) {
        CU_ASSERT_EQUAL(dl_team_begin(&t), 2);
        dl_team_end(&t, (i % 2 ? 5.0 : 0.6) * 1e-3 * 64, 64);
    }
    CU_ASSERT_EQUAL(t.chosen, 1);
    CU_ASSERT_DOUBLE_EQUAL(t.best[2], 2.8e-3, 1e-12);
    omp_set_num_threads(saved);
}

/* Short steps are timed until they add up to 30 ms, at most
 * DL_TEAM_TRIALS_MAX of them. */
static void test_trials_last_long_enough(void)
{
    const int saved = omp_get_max_threads();
    const double short_steps[] = {0, 0.2, 0.1}, tiny_steps[] = {0, 1e-4, 2e-4};
    dl_team t;
    init_blind(&t, 2, 0, 0);
    /* 5 steps of 6.4 ms at 2 threads, 3 of 12.8 ms at 1, then 2 is kept */
    for (int i = 0; i < 10; i++) CU_ASSERT_EQUAL(step(&t, short_steps), i < 5 || i >= 8 ? 2 : 1);
    CU_ASSERT_EQUAL(t.chosen, 2);
    init_blind(&t, 2, 0, 0);
    for (int i = 0; i < 2 * DL_TEAM_TRIALS_MAX; i++)
        CU_ASSERT_EQUAL(step(&t, tiny_steps), i < DL_TEAM_TRIALS_MAX ? 2 : 1);
    CU_ASSERT_EQUAL(t.chosen, 1);
    omp_set_num_threads(saved);
}

/* Timed lucky at 2 threads (0.8 ms against 1 thread's 1.0), then steady at
 * 1.4: after DL_TEAM_WATCH steps the runner-up, 1 thread, takes over, long
 * before the next exploration, and stays (no swapping back on the old 0.8). */
static void test_watch_hands_over(void)
{
    const int saved = omp_get_max_threads();
    const double lucky[] = {0, 1.0, 0.8}, steady[] = {0, 1.0, 1.4};
    dl_team t;
    init_blind(&t, 2, 0, 0);
    for (int i = 0; i < 2 * DL_TEAM_TRIALS; i++) step(&t, lucky);
    CU_ASSERT_EQUAL(t.chosen, 2);
    for (int i = 0; i < DL_TEAM_WATCH - 1; i++) CU_ASSERT_EQUAL(step(&t, steady), 2);
    CU_ASSERT_EQUAL(step(&t, steady), 2); /* the 8th step at 2 decides */
    CU_ASSERT_EQUAL(t.chosen, 1);
    CU_ASSERT_DOUBLE_EQUAL(t.best[2], 1.4e-3, 1e-12);
    for (int i = 0; i < 3 * DL_TEAM_WATCH; i++) CU_ASSERT_EQUAL(step(&t, steady), 1);
    /* a choice running as timed (within 15%) is left alone */
    init_blind(&t, 2, 0, 0);
    const double close[] = {0, 1.0, 0.9}, close_steady[] = {0, 1.0, 1.1};
    for (int i = 0; i < 2 * DL_TEAM_TRIALS; i++) step(&t, close);
    for (int i = 0; i < 3 * DL_TEAM_WATCH; i++) CU_ASSERT_EQUAL(step(&t, close_steady), 2);
    omp_set_num_threads(saved);
}

static void test_slow_steps_explore_at_once(void)
{
    const int saved = omp_get_max_threads();
    const double two_faster[] = {0, 1.0, 0.5}, two_collapsed[] = {0, 1.0, 20.0};
    dl_team t;
    init_blind(&t, 2, 0, 0);
    for (int i = 0; i < 10; i++) step(&t, two_faster);
    CU_ASSERT_EQUAL(t.chosen, 2);
    /* three slow steps, then 3 + 3 timed: 1 thread chosen well before the 50-step interval */
    for (int i = 0; i < 10; i++) step(&t, two_collapsed);
    CU_ASSERT_EQUAL(t.chosen, 1);
    CU_ASSERT_EQUAL(dl_team_begin(&t), 1);
    omp_set_num_threads(saved);
}

/* The interval after an exploration pays for it: 3 steps at 2 threads that
 * cost 19 ms per sample more than 1 thread's 1 ms wait the longest interval;
 * a cheap loser (2.0 against 1.0: 3 ms over) waits 3 / (2% of 1.0) = 150 steps
 * (151); a close one the usual 50. Held at the longest, it stays there. */
static void test_costly_exploration_waits(void)
{
    const int saved = omp_get_max_threads();
    const double collapsed[] = {0, 1.0, 20.0}, costly[] = {0, 1.0, 2.0}, close[] = {0, 1.0, 1.1};
    dl_team t;
    init_blind(&t, 2, 0, 0);
    for (int i = 0; i < 2 * DL_TEAM_TRIALS; i++) step(&t, close);
    CU_ASSERT(t.chosen == 1 && !t.exploring);
    CU_ASSERT_EQUAL(t.interval, 50);
    init_blind(&t, 2, 0, 0);
    for (int i = 0; i < 2 * DL_TEAM_TRIALS; i++) step(&t, costly);
    CU_ASSERT_EQUAL(t.interval, 151);
    init_blind(&t, 2, 0, 0);
    for (int i = 0; i < 2 * DL_TEAM_TRIALS; i++) step(&t, collapsed);
    CU_ASSERT(t.chosen == 1 && t.interval == 1600);
    for (int i = 0; i < 1599; i++) CU_ASSERT_EQUAL(step(&t, collapsed), 1);
    CU_ASSERT_FALSE(t.exploring);
    CU_ASSERT_EQUAL(step(&t, collapsed), 1); /* the 1600th step starts the next exploration */
    CU_ASSERT(t.exploring);
    for (int i = 0; i < 2 * DL_TEAM_TRIALS; i++) step(&t, collapsed);
    CU_ASSERT(t.chosen == 1 && !t.exploring && t.interval == 1600);
    /* steps 5x slower (a preempted run) explore early only once the last
     * exploration is paid for: 19 ms per sample over (one 20 ms step at 2: over
     * 3x the chosen time, it ended the trial), / 2% = 950, less the 2 ms of the
     * two 1-thread steps since, at 5 ms: the 190th step */
    const double preempted[] = {0, 5.0, 20.0};
    for (int i = 0; i < 189; i++) CU_ASSERT_EQUAL(step(&t, preempted), 1);
    CU_ASSERT_FALSE(t.exploring);
    int at_two = 0;
    for (int i = 0; i < 20; i++) at_two += step(&t, preempted) == 2;
    CU_ASSERT_EQUAL(at_two, 1);
    omp_set_num_threads(saved);
}

/* The CPUs of places p0 .. p1 - 1. */
static void places_cpus(int p0, int p1, cpu_set_t *set)
{
    CPU_ZERO(set);
    for (int p = p0; p < p1; p++) {
        int ids[CPU_SETSIZE];
        omp_get_place_proc_ids(p, ids);
        for (int k = 0; k < omp_get_place_num_procs(p); k++) CPU_SET(ids[k], set);
    }
}

/* Under OMP_PROC_BIND (places), 1 thread runs on every place's CPUs and more
 * on the master's own place; without places the affinity is left alone.
 * tests/e2e/threads.sh runs this suite bound too. */
static void test_place_master(void)
{
    cpu_set_t before, now, want;
    CU_ASSERT_EQUAL_FATAL(sched_getaffinity(0, sizeof before, &before), 0);
    const int places = omp_get_num_places();
    if (places < 1) {
        CU_ASSERT_EQUAL(dl_team_place(1), 0);
        CU_ASSERT_EQUAL(dl_team_place(2), 0);
        sched_getaffinity(0, sizeof now, &now);
        CU_ASSERT(CPU_EQUAL(&now, &before));
        return;
    }
    CU_ASSERT_EQUAL(dl_team_place(1), 1);
    sched_getaffinity(0, sizeof now, &now);
    places_cpus(0, places, &want);
    CU_ASSERT(CPU_EQUAL(&now, &want));
    CU_ASSERT_EQUAL(dl_team_place(2), 1);
    sched_getaffinity(0, sizeof now, &now);
    places_cpus(omp_get_place_num(), omp_get_place_num() + 1, &want);
    CU_ASSERT(CPU_EQUAL(&now, &want));
    /* the team releases at 1 and binds back at 2, once each */
    dl_team t;
    init_blind(&t, 2, 0, 1);
    CU_ASSERT(dl_team_begin(&t) == 1 && t.released);
    dl_team_end(&t, 1e-3, 1);
    CU_ASSERT(dl_team_begin(&t) == 2 && !t.released);
    sched_getaffinity(0, sizeof now, &now);
    CU_ASSERT(CPU_EQUAL(&now, &want));
    sched_setaffinity(0, sizeof before, &before);
}

static void test_never_past_the_limit(void)
{
    const int saved = omp_get_max_threads();
    double ms[DL_TEAM_MAX + 1];
    for (int limit = 1; limit <= 7; limit++) {
        /* more threads always look faster: the team must still stop at its limit */
        for (int k = 0; k <= DL_TEAM_MAX; k++) ms[k] = 10.0 / (k + 1);
        dl_team t;
        init_blind(&t, limit, 0, 0);
        int most = 0;
        for (int i = 0; i < 500; i++) {
            const int n = step(&t, ms);
            most = n > most ? n : most;
        }
        CU_ASSERT_EQUAL(most, limit);
        CU_ASSERT_EQUAL(t.chosen > 0 ? t.chosen : 1, limit);
    }
    omp_set_num_threads(saved);
}

static void test_pinned_and_cycle(void)
{
    const int saved = omp_get_max_threads();
    const double one_faster[] = {0, 1.0, 9.0, 9.0, 9.0};
    dl_team t;
    init_blind(&t, 3, 1, 0); /* --threads 3: slower steps do not move it */
    for (int i = 0; i < 100; i++) CU_ASSERT_EQUAL(step(&t, one_faster), 3);
    init_blind(&t, 3, 0, 2); /* DLNC_THREADS_CYCLE=2: 1 1 2 2 3 3 1 1 ... */
    const int want[] = {1, 1, 2, 2, 3, 3, 1, 1, 2};
    for (int i = 0; i < 9; i++) CU_ASSERT_EQUAL(step(&t, one_faster), want[i]);
    dl_run_options o = {.threads = 5};
    init_blind(&t, o.threads, 1, 0);
    char line[160];
    dl_team_describe(&t, line, sizeof line);
    CU_ASSERT_STRING_EQUAL(line, "threads: 5 (--threads)");
    omp_set_num_threads(saved);
}

/* /proc/stat's format: the first line sums every CPU (user nice system idle
 * iowait irq softirq steal ...), one line per CPU follows. Idle and iowait are
 * free; the rest, steal included, busy. Missing or malformed: -1. */
static void test_read_stat(void)
{
    char path[] = "/tmp/dlnc_team_statXXXXXX";
    const int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("cpu  100 20 50 800 30 5 5 10 0 0\ncpu0 50 10 25 400 15 0 5 5 0 0\n"
          "cpu1 50 10 25 400 15 5 0 5 0 0\ncpu2 0 0 0 0 0 0 0 0 0 0\nintr 1 2 3\n", f);
    fclose(f);
    dl_team_sample s = {0};
    CU_ASSERT_EQUAL(dl_team_read_stat(path, &s), 0);
    CU_ASSERT_EQUAL(s.cpus, 3);
    CU_ASSERT_DOUBLE_EQUAL(s.busy, 190.0 / (double)sysconf(_SC_CLK_TCK), 1e-12);
    f = fopen(path, "w");
    fputs("intr 1 2 3\ncpu  1 2 3 4\n", f); /* no cpu lines first */
    fclose(f);
    CU_ASSERT_EQUAL(dl_team_read_stat(path, &s), -1);
    f = fopen(path, "w");
    fputs("cpu  1 2 3 4 5 6 7 8\n", f); /* a total but no CPU */
    fclose(f);
    CU_ASSERT_EQUAL(dl_team_read_stat(path, &s), -1);
    unlink(path);
    CU_ASSERT_EQUAL(dl_team_read_stat(path, &s), -1);
    if (access("/proc/stat", R_OK) == 0) {
        CU_ASSERT_EQUAL(dl_team_sample_machine(&s), 0);
        CU_ASSERT(s.cpus >= 1 && s.busy > 0 && s.own > 0 && s.wall > 0);
    }
}

/* Others' cores = (machine busy - own) / wall; a core is taken from 0.6 of one. */
static void test_free_cores(void)
{
    const dl_team_sample a = {.wall = 10, .own = 3, .busy = 100, .cpus = 2};
    const struct {
        double busy, own;
        int cpus, free;
    } cases[] = {
        {2.00, 1.00, 2, 1}, /* a spinner beside 1 thread */
        {2.00, 1.50, 2, 2}, /* others used half a core: still worth a trial */
        {1.05, 1.00, 2, 2}, /* quiet */
        {0.90, 1.00, 2, 2}, /* jiffies under the process's own exact time */
        {1.55, 1.00, 2, 2}, {1.65, 1.00, 2, 1},
        {2.00, 0.10, 2, 1}, /* the machine loaded past both cores: still 1 */
        {2.00, 1.00, 4, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const dl_team_sample b = {.wall = 11, .own = 3 + cases[i].own, .busy = 100 + cases[i].busy,
                                  .cpus = cases[i].cpus};
        CU_ASSERT_EQUAL(dl_team_free_cores(&a, &b), cases[i].free);
        CU_ASSERT_DOUBLE_EQUAL(dl_team_others(&a, &b), cases[i].busy - cases[i].own, 1e-9);
    }
}

/* Beside a busy core the team never runs a step at 2 threads, even with 2
 * timed faster than 1 in steps it never takes; it looks again every 50 steps,
 * and once the other process stops it explores and keeps 2. */
static void test_busy_core_not_explored(void)
{
    const int saved = omp_get_max_threads();
    const double two_faster[] = {0, 1.0, 0.6};
    dl_team t;
    init_on(&t, 2, 1.0, 1);
    int at_two = 0;
    for (int i = 0; i < 3000; i++) at_two += step(&t, two_faster) == 2;
    CU_ASSERT_EQUAL(at_two, 0);
    CU_ASSERT(t.chosen == 1 && t.free == 1 && t.interval == 50 && t.best[2] == 0);
    char line[256];
    dl_team_describe(&t, line, sizeof line);
    CU_ASSERT_STRING_EQUAL(line, "threads: 1 of at most 2: other processes left 1 core free, nothing to time");
    fake.others = 0.02;
    for (int i = 0; i < 60; i++) step(&t, two_faster);
    CU_ASSERT(t.chosen == 2 && t.free == 2);
    /* the spinner again: the 2-thread steps slow down, and the team goes to 1 without timing 2 */
    fake.others = 1.0;
    const double two_collapsed[] = {0, 1.0, 20.0};
    for (int i = 0; i < 20; i++) step(&t, two_collapsed);
    CU_ASSERT(t.chosen == 1 && !t.exploring);
    omp_set_num_threads(saved);
}

/* On a quiet machine: 0.1 s of steps at 1 thread to read it (two 64 ms
 * steps), then the usual 3 at 2 and 3 at 1, and the faster kept. */
static void test_quiet_machine_explores(void)
{
    const int saved = omp_get_max_threads();
    const double two_faster[] = {0, 1.0, 0.6};
    dl_team t;
    init_on(&t, 2, 0.02, 1);
    const int want[] = {1, 1, 2, 2, 2, 1, 1, 1, 2, 2};
    for (int i = 0; i < 10; i++) CU_ASSERT_EQUAL(step(&t, two_faster), want[i]);
    CU_ASSERT(t.chosen == 2 && t.free == 2);
    omp_set_num_threads(saved);
}

/* No /proc/stat: the team explores from the first step, as a blind one. */
static void test_unreadable_machine(void)
{
    const int saved = omp_get_max_threads();
    const double one_faster[] = {0, 1.0, 4.0};
    dl_team t, blind;
    init_on(&t, 2, 1.0, 0);
    init_blind(&blind, 2, 0, 0);
    for (int i = 0; i < 700; i++) {
        const int n = step(&t, one_faster);
        CU_ASSERT_EQUAL(n, step(&blind, one_faster));
    }
    CU_ASSERT(t.chosen == 1 && t.sample == NULL && t.free == 2);
    omp_set_num_threads(saved);
}

/* A trial step over 3x the chosen count's time ends that candidate's trial:
 * 1 thread chosen at 1.0, the next exploration pays one 20 ms step at 2, not 3;
 * in the first exploration, 3x the first look's 1-thread steps. */
static void test_trial_cut_short(void)
{
    const int saved = omp_get_max_threads();
    const double close[] = {0, 1.0, 1.1}, collapsed[] = {0, 1.0, 20.0}, slow_two[] = {0, 1.0, 2.9};
    dl_team t;
    init_blind(&t, 2, 0, 0);
    for (int i = 0; i < 2 * DL_TEAM_TRIALS; i++) step(&t, close);
    CU_ASSERT(t.chosen == 1 && t.interval == 50);
    int at_two = 0;
    for (int i = 0; i < 50 + 2 * DL_TEAM_TRIALS; i++) at_two += step(&t, collapsed) == 2;
    CU_ASSERT(at_two == 1 && t.chosen == 1);
    CU_ASSERT_DOUBLE_EQUAL(t.best[2], 20e-3, 1e-12);
    /* under 3x: the whole trial */
    init_blind(&t, 2, 0, 0);
    for (int i = 0; i < 2 * DL_TEAM_TRIALS; i++) step(&t, close);
    at_two = 0;
    for (int i = 0; i < 50 + 2 * DL_TEAM_TRIALS; i++) at_two += step(&t, slow_two) == 2;
    CU_ASSERT_EQUAL(at_two, DL_TEAM_TRIALS);
    /* before any choice, the first look's 1-thread steps are the time to beat */
    const int cut_first[] = {1, 1, 2, 1, 1, 1}, whole_first[] = {1, 1, 2, 2, 2, 1, 1, 1};
    init_on(&t, 2, 0.02, 1);
    for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(step(&t, collapsed), cut_first[i]);
    CU_ASSERT(t.chosen == 1 && t.look_steps == 2);
    init_on(&t, 2, 0.02, 1);
    for (int i = 0; i < 8; i++) CU_ASSERT_EQUAL(step(&t, slow_two), whole_first[i]);
    CU_ASSERT_EQUAL(t.chosen, 1);
    omp_set_num_threads(saved);
}

void suite_rt_team(void)
{
    CU_pSuite s = CU_add_suite("rt_team", NULL, NULL);
    CU_add_test(s, "keeps the fastest count, explores again", test_keeps_the_fastest);
    CU_add_test(s, "the mean step of each count decides", test_mean_not_luck);
    CU_add_test(s, "bimodal steps: the mean, not the median", test_bimodal_steps);
    CU_add_test(s, "trials last at least 30 ms", test_trials_last_long_enough);
    CU_add_test(s, "a lucky choice hands over to the runner-up", test_watch_hands_over);
    CU_add_test(s, "slow steps explore at once", test_slow_steps_explore_at_once);
    CU_add_test(s, "a costly exploration waits longer", test_costly_exploration_waits);
    CU_add_test(s, "1 thread unbound, more on the master's place", test_place_master);
    CU_add_test(s, "never past the limit", test_never_past_the_limit);
    CU_add_test(s, "pinned; the test cycle", test_pinned_and_cycle);
    CU_add_test(s, "/proc/stat read", test_read_stat);
    CU_add_test(s, "cores free of other processes", test_free_cores);
    CU_add_test(s, "a busy core: 2 threads never tried", test_busy_core_not_explored);
    CU_add_test(s, "a quiet machine: read, then explored", test_quiet_machine_explores);
    CU_add_test(s, "no /proc/stat: as before", test_unreadable_machine);
    CU_add_test(s, "a much slower trial step ends the trial", test_trial_cut_short);
}
