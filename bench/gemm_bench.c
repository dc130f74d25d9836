/* gemm_bench.c — GFLOP/s of dl_sgemm against OpenBLAS's cblas_sgemm, and
 * of dl_sgemm at one thread against itself at all threads.
 *
 * Build and run (from the repository root, after `make`):
 *   cc -O2 -fopenmp -Iruntime -I/usr/include/x86_64-linux-gnu/openblas-pthread \
 *      bench/gemm_bench.c build/libdlnrt.a -o build/gemm_bench -lopenblas -lpng -lz -lm
 *   OMP_WAIT_POLICY=passive OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 build/gemm_bench [options]
 *
 * Options:
 *   TA TB              transposes for the square sizes (default 0 0; old usage:
 *                      no options = n = 256, 512, 1024, NN, which bench/run.py reads)
 *   --shapes LIST      comma-separated sets: square (n = 256, 512, 1024, all of NN,
 *                      NT, TN with no TA TB given), mlp (batch-128 MLP forward and
 *                      backward products), conv (im2col shapes of small CNNs),
 *                      gemv (batch-1 inference), small (thresholds); default square
 *   --mnk M,N,K,TA,TB  one shape (repeatable)
 *   --vs1              compare dl_sgemm at all threads with dl_sgemm at one
 *                      thread (in the same process, alternating) instead of
 *                      with OpenBLAS: the ratio says whether threading pays
 *   --rounds R         alternations per shape (default 5); the best of each kept
 *
 * The second line names the kernel OpenBLAS chose (openblas_get_corename).
 *
 * Each shape runs both sides alternately, R rounds of enough repetitions for
 * about 20 ms, and keeps the best time of each (the least disturbed by the
 * machine's other work). Before each dl_sgemm phase after OpenBLAS ran with
 * several threads we sleep 0.3 s: OpenBLAS's idle worker threads busy-wait
 * for about 0.1 s after a call (its THREAD_TIMEOUT) and would otherwise steal
 * a core from our OpenMP threads. */
#include "dlnrt.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct shape { int m, n, k, ta, tb; } shape;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The shapes a set stands for; returns how many were appended to out. */
static int shape_set(const char *name, int ta, int tb, int have_t, shape *out)
{
    int c = 0;
    if (!strcmp(name, "square")) {
        static const int tr[3][2] = {{0, 0}, {0, 1}, {1, 0}};
        for (int t = 0; t < (have_t ? 1 : 3); t++)
            for (int n = 256; n <= 1024; n *= 2)
                out[c++] = (shape){n, n, n, have_t ? ta : tr[t][0], have_t ? tb : tr[t][1]};
    } else if (!strcmp(name, "mlp")) {
        /* 784-512-256-10 at batch 128: forward X W, then dX = dY W^T, dW = X^T dY */
        static const shape s[] = {{128, 512, 784, 0, 0}, {128, 256, 512, 0, 0}, {128, 10, 256, 0, 0},
                                  {128, 512, 256, 0, 1}, {128, 784, 512, 0, 1},
                                  {784, 512, 128, 1, 0}, {512, 256, 128, 1, 0}, {256, 10, 128, 1, 0}};
        for (size_t i = 0; i < sizeof s / sizeof *s; i++) out[c++] = s[i];
    } else if (!strcmp(name, "conv")) {
        /* weights [Cout x Cin*9] times im2col columns [Cin*9 x H*W] (NN), and
         * the backward products: dW = dY cols^T (NT), dcols = W^T dY (TN) */
        static const int cv[][3] = {{16, 1024, 144}, {32, 256, 288}, {64, 64, 576}, {32, 1024, 144}, {64, 256, 576}};
        for (size_t i = 0; i < sizeof cv / sizeof *cv; i++) {
            int m = cv[i][0], n = cv[i][1], k = cv[i][2];
            out[c++] = (shape){m, n, k, 0, 0};
            out[c++] = (shape){m, k, n, 0, 1};
            out[c++] = (shape){k, n, m, 1, 0};
        }
    } else if (!strcmp(name, "gemv")) {
        static const shape s[] = {{1, 512, 784, 0, 0}, {1, 256, 512, 0, 0}, {1, 10, 256, 0, 0},
                                  {1, 512, 784, 0, 1}, {1, 1024, 1024, 0, 1}, {1024, 1, 1024, 0, 0}};
        for (size_t i = 0; i < sizeof s / sizeof *s; i++) out[c++] = s[i];
    } else if (!strcmp(name, "small")) {
        static const int n[] = {32, 48, 64, 80, 96, 128, 160};
        for (size_t i = 0; i < sizeof n / sizeof *n; i++) out[c++] = (shape){n[i], n[i], n[i], 0, 0};
        static const shape s[] = {{8, 64, 64, 0, 0}, {16, 256, 144, 0, 0}, {16, 64, 144, 0, 0},
                                  {32, 128, 128, 0, 0}, {4, 512, 784, 0, 0}, {16, 512, 784, 0, 0}};
        for (size_t i = 0; i < sizeof s / sizeof *s; i++) out[c++] = s[i];
    } else {
        fprintf(stderr, "gemm_bench: unknown shape set '%s'\n", name);
        exit(2);
    }
    return c;
}

/* Seconds per call of one side: dl_sgemm at `threads` threads, or OpenBLAS. */
static double time_side(int blas, int threads, const shape *s, int reps, const float *A, const float *B, float *C)
{
    int lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    if (!blas) omp_set_num_threads(threads);
    if (blas) cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans,
                          s->m, s->n, s->k, 1.0f, A, lda, B, ldb, 0.0f, C, s->n);
    else dl_sgemm(s->ta, s->tb, s->m, s->n, s->k, 1.0f, A, lda, B, ldb, 0.0f, C, s->n);   /* warm-up, untimed */
    double t0 = now();
    for (int r = 0; r < reps; r++) {
        if (blas) cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans,
                              s->m, s->n, s->k, 1.0f, A, lda, B, ldb, 0.0f, C, s->n);
        else dl_sgemm(s->ta, s->tb, s->m, s->n, s->k, 1.0f, A, lda, B, ldb, 0.0f, C, s->n);
    }
    return (now() - t0) / reps;
}

int main(int argc, char **argv)
{
    static shape shapes[512];
    int count = 0, vs1 = 0, rounds = 5, ta = 0, tb = 0, have_t = 0, positional = 0;
    const char *sets = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--vs1")) vs1 = 1;
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--shapes") && i + 1 < argc) sets = argv[++i];
        else if (!strcmp(argv[i], "--mnk") && i + 1 < argc && count < 500) {
            shape s = {0};
            if (sscanf(argv[++i], "%d,%d,%d,%d,%d", &s.m, &s.n, &s.k, &s.ta, &s.tb) < 3) {
                fprintf(stderr, "gemm_bench: --mnk wants M,N,K[,TA,TB]\n");
                return 2;
            }
            shapes[count++] = s;
        } else if (argv[i][0] != '-' && positional < 2) {
            *(positional++ ? &tb : &ta) = atoi(argv[i]);
            have_t = 1;
        } else {
            fprintf(stderr, "usage: gemm_bench [TA TB] [--shapes square,mlp,conv,gemv,small] [--mnk M,N,K,TA,TB] "
                            "[--vs1] [--rounds R]\n");
            return 2;
        }
    }
    if (!sets && !count) sets = "square", have_t = 1;   /* the old usage: n = 256..1024, TA TB (default NN) */
    if (sets) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", sets);
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) count += shape_set(tok, ta, tb, have_t, shapes + count);
    }
    const int threads = omp_get_max_threads();
    printf("dl_sgemm (%d threads) vs %s, GFLOP/s, best of %d rounds\n", threads,
           vs1 ? "dl_sgemm at 1 thread" : "cblas_sgemm", rounds);
    /* Which kernel OpenBLAS picked: an OpenBLAS that does not know the CPU
     * falls back to an old core's kernels, and its GFLOP/s are no ceiling. */
    printf("openblas_core=%s openblas_config=\"%s\"\n", openblas_get_corename(), openblas_get_config());
    /* Square shapes are labelled by n alone (bench/run.py reads those rows), others MxNxK. */
    printf("%14s %10s %10s %7s %10s %3s\n", "n or MxNxK", "dlnrt", vs1 ? "dl@1" : "openblas", "ratio", "max|diff|", "tr");
    for (int i = 0; i < count; i++) {
        const shape *s = shapes + i;
        size_t na = (size_t)s->m * s->k, nb = (size_t)s->k * s->n, nc = (size_t)s->m * s->n;
        float *A = malloc(na * 4), *B = malloc(nb * 4), *C1 = calloc(nc, 4), *C2 = calloc(nc, 4);
        dl_fill_uniform(A, (int64_t)na, 1, 1);
        dl_fill_uniform(B, (int64_t)nb, 1, 2);
        double flops = 2.0 * s->m * s->n * s->k, t1 = time_side(0, threads, s, 1, A, B, C1);
        int reps = (int)(0.02 / (t1 > 1e-7 ? t1 : 1e-7)) + 1;
        double best_dl = 1e30, best_ref = 1e30;
        for (int round = 0; round < rounds; round++) {
            if (!vs1 && threads > 1) usleep(300000);
            best_dl = fmin(best_dl, time_side(0, threads, s, reps, A, B, C1));
            best_ref = fmin(best_ref, time_side(!vs1, 1, s, reps, A, B, C2));
        }
        omp_set_num_threads(threads);
        double maxdiff = 0;
        for (size_t j = 0; j < nc; j++) maxdiff = fmax(maxdiff, fabs(C1[j] - C2[j]));
        char label[48];
        if (s->m == s->n && s->n == s->k) snprintf(label, sizeof label, "%d", s->n);
        else snprintf(label, sizeof label, "%dx%dx%d", s->m, s->n, s->k);
        printf("%14s %10.1f %10.1f %6.0f%% %10.2g  %c%c\n", label, flops * 1e-9 / best_dl, flops * 1e-9 / best_ref,
               100.0 * best_ref / best_dl, maxdiff, s->ta ? 'T' : 'N', s->tb ? 'T' : 'N');
        fflush(stdout);
        free(A); free(B); free(C1); free(C2);
    }
    return 0;
}
