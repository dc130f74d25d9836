/* gpt2_bf16_peak.c — multiply-adds per second of AVX512_BF16's vdpbf16ps on one core against
 * vfmadd231ps, the same loop shape as bench/fma_peak.c (16 independent accumulator chains, no
 * memory traffic): does the bf16 dot product give twice the float32 FMA's rate here?
 *   cc -O2 -Wall -Wextra -Werror docs/results/gpt2_bf16_peak.c -o gpt2_bf16_peak && ./gpt2_bf16_peak */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

#define ITERS 20000000L

__attribute__((target("avx512f,avx512bf16"), noinline)) static float bf16_loop(float seed) {
    __m512 acc[16];
    for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps(seed + i);
    const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3380); /* 1, 2^-24 */
    for (long n = 0; n < ITERS; n++) {
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    }
    float s = 0;
    for (int i = 0; i < 16; i++) s += _mm512_reduce_add_ps(acc[i]);
    return s;
}

__attribute__((target("avx512f,fma"), noinline)) static float fma_loop(float seed) {
    __m512 acc[16];
    for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps(seed + i);
    const __m512 a = _mm512_set1_ps(1.0f), b = _mm512_set1_ps(0x1p-24f);
    for (long n = 0; n < ITERS; n++) {
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(a, b, acc[i]);
    }
    float s = 0;
    for (int i = 0; i < 16; i++) s += _mm512_reduce_add_ps(acc[i]);
    return s;
}

int main(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512bf16")) {
        printf("no avx512_bf16\n");
        return 0;
    }
    for (int round = 0; round < 3; round++) {
        double t0 = now();
        volatile float s1 = fma_loop(1.0f);
        double t1 = now();
        volatile float s2 = bf16_loop(1.0f);
        double t2 = now();
        (void)s1, (void)s2;
        /* vfmadd231ps zmm: 16 multiply-adds; vdpbf16ps zmm: 32 (two per float lane) */
        printf("round %d: fp32 FMA %.1f G multiply-adds/s, bf16 dot %.1f G multiply-adds/s, ratio %.2f\n", round,
               16.0 * 16 * ITERS / (t1 - t0) * 1e-9, 32.0 * 16 * ITERS / (t2 - t1) * 1e-9,
               (32.0 / (t2 - t1)) / (16.0 / (t1 - t0)));
    }
    return 0;
}
