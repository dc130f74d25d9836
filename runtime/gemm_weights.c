/* gemm_weights.c — products whose B is a weight, with B kept packed.
 *
 * dl_sgemm packs op(B) into 16-wide panels on every call. When B is a model
 * parameter the panels are the same from call to call until the weights
 * change, and at batch-1 inference (GPT: 64 rows times [out, in] weights,
 * transposed) that repacking was 14-17% of the forward. So dl_sgemm_w keeps
 * each weight's panels in a table keyed by (B, ldb, K, N, trans_b) together
 * with the version they were packed at; a call with another version packs
 * again. Versions come from one process-wide counter (dl_weights_version),
 * so a model's new version never equals a version another model (or an
 * earlier model at the same address) cached: stale panels cannot be
 * matched. The generated code takes a new version after every write it
 * knows of (init, load, each optimizer step, state updates) and before every
 * step function once a writable parameter pointer has been handed out.
 *
 * The table holds at most DL_WPACK_MAX weights; beyond that, and when memory
 * runs out, products fall back to dl_sgemm. Entries are created and repacked
 * under a mutex (forwards of different models may run on different threads);
 * the panels are then read without it: they change only when the version
 * does, i.e. when the weights were written, which no caller does during a
 * product that reads them. A model's free releases its
 * entries (dl_weights_release). */
#include "dlnrt.h"
#include "conv_winograd_internal.h"
#include "gemm_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

static _Atomic uint64_t dl_wversion_next = 1;

uint64_t dl_weights_version(void) { return atomic_fetch_add(&dl_wversion_next, 1); }

#ifndef DL_USE_CBLAS /* (BLAS builds multiply unpacked: nothing is cached) */
enum { DL_WPACK_MAX = 512 };

typedef struct dl_wpack {
    const float *b;            /* the weight as stored; NULL: a free slot */
    int64_t ldb, K, N;
    int trans_b;
    uint64_t version;          /* the weights' version the panels hold */
    float *panels;             /* dl_gemm_packed_b_floats(K, N) floats */
} dl_wpack;

static dl_wpack dl_wpacks[DL_WPACK_MAX];
static int dl_wpack_used; /* slots [0, used) have been taken at some time */
/* Held for every look-up (uncontended: ~20 ns, a few dozen per forward), so
 * no thread reads an entry another is filling or releasing. */
static pthread_mutex_t dl_wpack_lock = PTHREAD_MUTEX_INITIALIZER;

static int dl_wpack_is(const dl_wpack *e, int trans_b, int64_t K, int64_t N, const float *B, int64_t ldb)
{
    return e->b == B && e->ldb == ldb && e->K == K && e->N == N && e->trans_b == trans_b;
}

/* The panels of B at `version`, packed now if needed; NULL when the table is
 * full or memory short (the caller multiplies unpacked). */
static const float *dl_wpack_get(uint64_t version, int trans_b, int64_t K, int64_t N, const float *B, int64_t ldb)
{
    const float *out = NULL;
    pthread_mutex_lock(&dl_wpack_lock);
    dl_wpack *e = NULL, *free_slot = NULL;
    for (int i = 0; i < dl_wpack_used && !e; i++) {
        if (dl_wpack_is(&dl_wpacks[i], trans_b, K, N, B, ldb)) e = &dl_wpacks[i];
        else if (!dl_wpacks[i].b && !free_slot) free_slot = &dl_wpacks[i];
    }
    if (!e && !free_slot && dl_wpack_used < DL_WPACK_MAX) free_slot = &dl_wpacks[dl_wpack_used];
    if (!e && free_slot) {
        float *panels = malloc((size_t)dl_gemm_packed_b_floats(K, N) * sizeof *panels);
        if (panels) {
            e = free_slot;
            *e = (dl_wpack){.b = B, .ldb = ldb, .K = K, .N = N, .trans_b = trans_b, .panels = panels};
            if (e == &dl_wpacks[dl_wpack_used]) dl_wpack_used++;
        }
    }
    if (e) {
        if (e->version != version) {
            dl_gemm_pack_b(trans_b, K, N, B, ldb, e->panels);
            e->version = version;
        }
        out = e->panels;
    }
    pthread_mutex_unlock(&dl_wpack_lock);
    return out;
}

#endif

void dl_sgemm_w(uint64_t version, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
#ifndef DL_USE_CBLAS
    /* matrix-vector and tiny products never pack B, nor does a bad call */
    const int64_t b_cols = trans_b ? K : N;
    if (version && dl_gemm_blocked_shape(M, N, K) && ldb >= b_cols && ldc >= N && lda >= (trans_a ? M : K)) {
        const float *panels = dl_wpack_get(version, trans_b, K, N, B, ldb);
        if (panels) {
            const dl_packed_b pre = {panels, (N + 15) / 16 * 16};
            if (dl_sgemm_wide(trans_a, M, N, K, alpha, A, lda, &pre, beta, C, ldc) != 0)
                dl_sgemm_prepacked(trans_a, M, N, K, alpha, A, lda, &pre, beta, C, ldc);
            return;
        }
    }
#else
    (void)version;
#endif
    dl_sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void dl_weights_release(const float *base, int64_t n)
{
    dl_conv_winograd_release(base, n); /* Winograd's kept filters (conv_winograd_weights.c) */
#ifndef DL_USE_CBLAS
    pthread_mutex_lock(&dl_wpack_lock);
    for (int i = 0; i < dl_wpack_used; i++) {
        dl_wpack *e = &dl_wpacks[i];
        if (e->b && e->b >= base && e->b < base + n) {
            free(e->panels);
            *e = (dl_wpack){0};
        }
    }
    pthread_mutex_unlock(&dl_wpack_lock);
#else
    (void)base, (void)n;
#endif
}
