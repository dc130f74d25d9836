/* region_work.c — where a multi-threaded step's time goes, in CPU time (immune to preemption).
 *
 * An LD_PRELOAD library over libgomp's GOMP_parallel (the only entry point dlnc's generated C and
 * libdlnrt use: `nm -D` of a bench binary). For each outlined function it sums, over its regions,
 * every thread's CPU time inside the function (CLOCK_THREAD_CPUTIME_ID: time another process held
 * the core does not count) and the busiest thread's; the master thread's CPU time outside regions
 * is the serial part. Busiest minus half the sum is the imbalance a quiet machine would wait for.
 * Run with OMP_WAIT_POLICY=passive so that waits at barriers inside a region sleep instead of
 * spinning (spinning is CPU time and would count as work). Nested regions count in the outer one.
 *
 *   cc -O2 -fPIC -shared -fopenmp bench/region_work.c -o /tmp/region_work.so -ldl
 *   SHIM_OUT=/tmp/w.txt LD_PRELOAD=/tmp/region_work.so OMP_NUM_THREADS=2 OMP_PROC_BIND=true \
 *     OMP_WAIT_POLICY=passive /tmp/b/resnet20.bench --batch 64 --only train --reps 3 --min-time 0.4
 *
 * Output (SHIM_OUT, else stderr): a line per outlined function, `fn 0xOFFSET regions=N work_cpu=S
 * busiest_cpu=S master_in=S` (OFFSET from the binary's load address: `nm` names it), then `total
 * ...`. docs/performance.md, "branch thr2", has the use. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define FNS 1024
#define THREADS 64
static void *fns[FNS];
static long regions[FNS];
static double work[FNS], busiest[FNS], master_in[FNS], in_regions;
static int depth;

static double cpu_now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct wrap {
    void (*fn)(void *);
    void *data;
    int n;
    double cpu[THREADS];
} wrap;

static void timed(void *p)
{
    wrap *w = p;
    const double t0 = cpu_now(CLOCK_THREAD_CPUTIME_ID);
    w->fn(w->data);
    const int me = omp_get_thread_num();
    if (me < THREADS) w->cpu[me] = cpu_now(CLOCK_THREAD_CPUTIME_ID) - t0;
    if (me == 0) w->n = omp_get_num_threads();
}

typedef void (*gomp_parallel_fn)(void (*)(void *), void *, unsigned, unsigned);

void GOMP_parallel(void (*fn)(void *), void *data, unsigned nthreads, unsigned flags)
{
    static gomp_parallel_fn real;
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "GOMP_parallel");
    if (depth++) { /* nested: its time is the outer region's */
        real(fn, data, nthreads, flags);
        depth--;
        return;
    }
    wrap w = {.fn = fn, .data = data};
    const double m0 = cpu_now(CLOCK_THREAD_CPUTIME_ID);
    real(timed, &w, nthreads, flags);
    const double m = cpu_now(CLOCK_THREAD_CPUTIME_ID) - m0;
    depth--;
    in_regions += m;
    double sum = 0, most = 0;
    for (int k = 0; k < w.n && k < THREADS; k++) {
        sum += w.cpu[k];
        most = w.cpu[k] > most ? w.cpu[k] : most;
    }
    int i = 0;
    while (i < FNS && fns[i] && fns[i] != (void *)fn) i++;
    if (i == FNS) return;
    fns[i] = (void *)fn;
    regions[i]++;
    work[i] += sum;
    busiest[i] += most;
    master_in[i] += m;
}

__attribute__((destructor)) static void report(void)
{
    const char *path = getenv("SHIM_OUT");
    FILE *f = path ? fopen(path, "w") : stderr;
    if (!f) return;
    double all = 0, most = 0;
    for (int i = 0; i < FNS && fns[i]; i++) {
        Dl_info di;
        const long off = dladdr(fns[i], &di) ? (long)((char *)fns[i] - (char *)di.dli_fbase) : 0;
        fprintf(f, "fn 0x%lx regions=%ld work_cpu=%.6f busiest_cpu=%.6f master_in=%.6f\n", off, regions[i], work[i],
                busiest[i], master_in[i]);
        all += work[i];
        most += busiest[i];
    }
    const double master = cpu_now(CLOCK_THREAD_CPUTIME_ID);
    fprintf(f, "total work_cpu=%.6f busiest_cpu=%.6f master_cpu=%.6f master_serial=%.6f process_cpu=%.6f\n", all, most,
            master, master - in_regions, cpu_now(CLOCK_PROCESS_CPUTIME_ID));
    if (path) fclose(f);
}
