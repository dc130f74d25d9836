/* scratch.c — per-thread scratch buffers kept between calls (see scratch_internal.h).
 *
 * Why per thread and cached: GEMM tiles and batch-parallel convolutions run
 * on several threads at once, each needing its own buffer, and the same
 * shapes come back every training step. A pthread key (not _Thread_local)
 * because its destructor frees a thread's buffers when the thread exits, so
 * programs that start and stop their own threads do not leak. The buffers
 * are scratch with no observable state, which is why they stay out of the
 * kernels' signatures. Growth only: a buffer is replaced by a larger one
 * when a larger request comes, never shrunk. */
#include "scratch_internal.h"

#include <pthread.h>
#include <stdlib.h>

#include "dlnrt.h"

typedef struct dl_scratch_set {
    float *p[DL_SCRATCH_SLOTS];
    size_t floats[DL_SCRATCH_SLOTS];
} dl_scratch_set;

static pthread_key_t dl_scratch_key;
static pthread_once_t dl_scratch_once = PTHREAD_ONCE_INIT;
static int dl_scratch_key_ok;

static void dl_scratch_free(void *v)
{
    dl_scratch_set *s = v;
    for (int i = 0; i < DL_SCRATCH_SLOTS; i++) free(s->p[i]);
    free(s);
}

static void dl_scratch_init(void) { dl_scratch_key_ok = pthread_key_create(&dl_scratch_key, dl_scratch_free) == 0; }

float *dl_scratch(int slot, int64_t floats)
{
    if (slot < 0 || slot >= DL_SCRATCH_SLOTS || floats < 0) {
        dl_set_error("dl_scratch: bad request (slot %d, %lld floats)", slot, (long long)floats);
        return NULL;
    }
    if (floats == 0) floats = 1;
    pthread_once(&dl_scratch_once, dl_scratch_init);
    dl_scratch_set *s = dl_scratch_key_ok ? pthread_getspecific(dl_scratch_key) : NULL;
    if (dl_scratch_key_ok && !s && (s = calloc(1, sizeof *s)) && pthread_setspecific(dl_scratch_key, s) != 0) {
        free(s);
        s = NULL;
    }
    if (!s) {
        dl_set_error("dl_scratch: cannot set up per-thread scratch memory");
        return NULL;
    }
    if ((size_t)floats > s->floats[slot]) {
        free(s->p[slot]);
        s->floats[slot] = 0;
        s->p[slot] = aligned_alloc(64, ((size_t)floats * sizeof(float) + 63) / 64 * 64);
        if (!s->p[slot]) {
            dl_set_error("dl_scratch: out of memory for %lld floats of scratch", (long long)floats);
            return NULL;
        }
        s->floats[slot] = (size_t)floats;
    }
    return s->p[slot];
}
