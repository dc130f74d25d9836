/* fma_peak.c — the machine's peak single-precision GFLOP/s, the ceiling
 * `make bench` reports each workload's GFLOP/s against.
 *
 *   cc -O2 -fopenmp -Wall -Wextra -Werror bench/fma_peak.c -o fma_peak
 *   fma_peak [--seconds S] [--rounds R] [--isa avx512|avx2|sse|scalar]
 *
 * (each measurement the best of R rounds of about S seconds: short rounds
 * and many of them find the moments a shared machine leaves both cores free)
 *
 * prints one line of key=value pairs for bench/run.py:
 *   isa=avx512 lanes=16 threads=2 gflops_1=... gflops_all=...
 *
 * A BLAS's speed is no ceiling: Debian's OpenBLAS does not recognise newer
 * CPUs and falls back to old kernels (issue 15 measured 31 GFLOP/s where
 * dl_sgemm made 154). The peak is cores x FMA units x vector width x 2 x
 * clock; rather than trusting a datasheet for each factor we run the loop
 * that reaches it: independent chains of FMAs on registers, no memory
 * traffic. Chains must outnumber FMA latency x FMA ports (4 x 2 on current
 * x86) or the loop measures latency, not throughput; we use 16 (12 for AVX2
 * and SSE, which have 16 vector registers, one holding the multiplier).
 *
 * The binary is built for baseline x86-64 and each kernel carries its own
 * target attribute, so one build measures the widest ISA the CPU running it
 * has (__builtin_cpu_supports), as a user's `-march=native` model would use.
 * SSE has no FMA: its loop does a multiply and an add, also 2 FLOPs a lane.
 *
 * The chains compute acc = acc * m + c with m just below 1, which converges
 * to c / (1 - m) and so stays a normal number forever (no overflow, no
 * denormal slowdown); the sum is printed into a volatile so the compiler
 * cannot drop the loop. The inner loops are unrolled so the chains live in
 * registers, not in a stack array (without it -O2 measured a third of the peak). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FMA_X86 1
#endif

typedef double (*kernel_fn)(long iters);   /* returns a checksum of the chains */

static volatile double sink;

#ifdef FMA_X86
/* One body for every vector ISA: VEC its register type, SET1 and FMA its
 * broadcast and multiply-add, CHAINS the independent accumulators. */
#define FMA_KERNEL(NAME, TARGET, VEC, LANES, CHAINS, SET1, FMA)                                      \
    __attribute__((target(TARGET))) static double NAME(long iters)                                   \
    {                                                                                                \
        const VEC m = SET1(0.999f), c = SET1(1e-3f);                                                 \
        VEC a[CHAINS];                                                                               \
        for (int i = 0; i < CHAINS; i++) a[i] = SET1((float)i);                                      \
        for (long it = 0; it < iters; it++)                                                          \
            _Pragma("GCC unroll 16") for (int i = 0; i < CHAINS; i++) a[i] = FMA(a[i], m, c);        \
        float v[LANES];                                                                              \
        double sum = 0;                                                                              \
        for (int i = 0; i < CHAINS; i++) {                                                           \
            memcpy(v, &a[i], sizeof v);                                                              \
            for (int j = 0; j < LANES; j++) sum += v[j];                                             \
        }                                                                                            \
        return sum;                                                                                  \
    }

/* SSE has no FMA: a multiply and an add, the same 2 FLOPs a lane. */
static inline __m128 sse_mul_add(__m128 a, __m128 m, __m128 c) { return _mm_add_ps(_mm_mul_ps(a, m), c); }

FMA_KERNEL(k_avx512, "avx512f", __m512, 16, 16, _mm512_set1_ps, _mm512_fmadd_ps)
FMA_KERNEL(k_avx2, "avx2,fma", __m256, 8, 12, _mm256_set1_ps, _mm256_fmadd_ps)
FMA_KERNEL(k_sse, "sse2", __m128, 4, 12, _mm_set1_ps, sse_mul_add)
#endif

static double k_scalar(long iters)
{
    float a[8];
    for (int i = 0; i < 8; i++) a[i] = (float)i;
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 16
        for (int i = 0; i < 8; i++) a[i] = a[i] * 0.999f + 1e-3f;
    return (double)a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

typedef struct isa { const char *name; kernel_fn fn; int lanes, chains; } isa;

static const isa ISAS[] = {
#ifdef FMA_X86
    {"avx512", k_avx512, 16, 16},
    {"avx2", k_avx2, 8, 12},
    {"sse", k_sse, 4, 12},
#endif
    {"scalar", k_scalar, 1, 8},
};
enum { N_ISAS = sizeof ISAS / sizeof *ISAS };

static int cpu_has(const char *name)
{
#ifdef FMA_X86
    __builtin_cpu_init();
    if (!strcmp(name, "avx512")) return __builtin_cpu_supports("avx512f");
    if (!strcmp(name, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!strcmp(name, "sse")) return __builtin_cpu_supports("sse2");
#endif
    return !strcmp(name, "scalar");
}

/* CPU time of the calling thread, not wall time: on a shared machine other
 * processes take the core for part of any run, and what we want is what the
 * core does while it runs our loop (measured at load 6 on 2 cores: wall-time
 * rounds gave 206-283 GFLOP/s per core from run to run). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* GFLOP/s of `threads` threads each running `iters` iterations at once.
 * Each thread times its own loop (in its CPU time) and keeps its best of
 * `rounds`; the result is the sum: what each core does while the others
 * work too (a clock that drops with every core busy shows here). */
static double measure(const isa *k, int threads, long iters, int rounds)
{
    double best[256];
    if (threads > 256) threads = 256;
    for (int i = 0; i < threads; i++) best[i] = 1e30;
    for (int r = 0; r < rounds; r++) {
        double sum = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sum)
        {
            const double t0 = cpu_now();
            sum += k->fn(iters);
            const double t = cpu_now() - t0;
            const int me = omp_get_thread_num();
            if (t < best[me]) best[me] = t;
        }
        sink = sum;
    }
    double gflops = 0;
    for (int i = 0; i < threads; i++) gflops += 2.0 * (double)k->lanes * k->chains * (double)iters / best[i] * 1e-9;
    return gflops;
}

int main(int argc, char **argv)
{
    double seconds = 0.2;
    int rounds = 5;
    const char *want = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--seconds")) seconds = atof(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--rounds")) rounds = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--isa")) want = argv[++i];
        else {
            fprintf(stderr, "usage: fma_peak [--seconds S] [--rounds R] [--isa avx512|avx2|sse|scalar]\n");
            return 2;
        }
    }
    if (!(seconds > 0 && seconds < 60) || rounds < 1 || rounds > 1000) {
        fprintf(stderr, "fma_peak: --seconds must be in (0, 60), --rounds in 1..1000\n");
        return 2;
    }
    const isa *k = NULL;
    for (int i = 0; i < N_ISAS && !k; i++)
        if ((!want || !strcmp(want, ISAS[i].name)) && cpu_has(ISAS[i].name)) k = &ISAS[i];
    if (!k) {
        fprintf(stderr, "fma_peak: ISA '%s' unknown or not supported by this CPU\n", want);
        return 2;
    }
    /* Calibrate the iteration count on one thread so one round takes about `seconds`. */
    long iters = 1 << 16;
    for (;;) {
        const double t0 = cpu_now();
        sink = k->fn(iters);
        const double t = cpu_now() - t0;
        if (t > 0.02 || iters > (1L << 40)) {
            iters = (long)((double)iters * seconds / (t > 1e-9 ? t : 1e-9)) + 1;
            break;
        }
        iters *= 4;
    }
    const int threads = omp_get_max_threads();
    const double one = measure(k, 1, iters, rounds), all = measure(k, threads, iters, rounds);
    printf("isa=%s lanes=%d chains=%d threads=%d gflops_1=%.1f gflops_all=%.1f\n", k->name, k->lanes, k->chains,
           threads, one, all);
    return 0;
}
