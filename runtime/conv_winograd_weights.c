/* conv_winograd_weights.c — Winograd's transformed weights kept per weights
 * version.
 *
 * Why: dl_conv_winograd computes U = G w G^T for every filter on every call.
 * At batch 1 the products are small (one image's 64 tiles), and that scalar
 * transform was ~5% of ResNet-20's forward (docs/performance.md, "ResNet-20
 * batch-1 inference"). A parameter's U is the same from call to call until
 * the weights change, so, as gemm_weights.c keeps dl_sgemm_w's packed
 * panels, this file keeps each weight's U in a table keyed by (w, oc, c)
 * with the version (dl_weights_version, unique in the process) it was
 * computed at; a call with another version transforms again. The generated
 * model passes its `wver` (compiler/emit_conv_weights.c), new after every
 * write it makes or sees, so a U is never stale.
 *
 * At most WU_MAX weights; beyond that, or when memory runs out, the call
 * transforms into scratch as before. Entries are created and refreshed under
 * a mutex; U is then read without it: it changes only with the version, i.e.
 * when the weights were written, which no caller does during a forward that
 * reads them. dl_weights_release (a model's free) drops a model's entries. */
#include <pthread.h>
#include <stdlib.h>

#include "conv_winograd_cl_internal.h"
#include "conv_winograd_internal.h"

enum { WU_MAX = 256 };

typedef struct wu_entry {
    const float *w;     /* the weight as stored; NULL: a free slot */
    int64_t oc, c;      /* its channels (U's shape) */
    int m;              /* U's layout: the output tile side (2 or 4) or DL_WG_CL_KEY(side) */
    uint64_t version;   /* the weights' version U holds */
    float *u;           /* dl_conv_winograd_u_floats floats */
} wu_entry;

static wu_entry wu_table[WU_MAX];

/* conv_winograd.c's U for tile side m, or conv_winograd_cl.c's U^T (m = DL_WG_CL_KEY(side)). */
static int64_t u_floats(const dl_conv2d_geom *g, int m) {
    return m > DL_WG_CL_KEY(0) ? dl_wg_cl_u_floats(g, m - DL_WG_CL_KEY(0)) : dl_conv_winograd_u_floats(g, m);
}

static void u_transform(const dl_conv2d_geom *g, int m, const float *w, float *u) {
    if (m > DL_WG_CL_KEY(0)) dl_wg_cl_weights(g, m - DL_WG_CL_KEY(0), w, u);
    else dl_conv_winograd_weights(g, m, w, u);
}
static int wu_used; /* slots [0, used) have been taken at some time */
static pthread_mutex_t wu_lock = PTHREAD_MUTEX_INITIALIZER;

/* The slot for (w, oc, c, m): its own, else a free one filled now; NULL when
 * the table is full or memory short. Called with wu_lock held. */
static wu_entry *wu_slot(const dl_conv2d_geom *g, int m, const float *w) {
    wu_entry *free_slot = NULL;
    for (int i = 0; i < wu_used; i++) {
        wu_entry *e = &wu_table[i];
        if (e->w == w && e->oc == g->oc && e->c == g->c && e->m == m) return e;
        if (!e->w && !free_slot) free_slot = e;
    }
    if (!free_slot && wu_used < WU_MAX) free_slot = &wu_table[wu_used];
    if (!free_slot) return NULL;
    float *u = malloc((size_t)u_floats(g, m) * sizeof *u);
    if (!u) return NULL;
    *free_slot = (wu_entry){.w = w, .oc = g->oc, .c = g->c, .m = m, .u = u}; /* version 0: never a model's */
    if (free_slot == &wu_table[wu_used]) wu_used++;
    return free_slot;
}

int dl_conv_winograd_affine_w(uint64_t version, const dl_conv2d_geom *g, const float *x, const float *w, float *yc,
                              float *y, const dl_conv_affine *a, dl_conv_epilogue ep, void *ctx) {
    const float *U = NULL;
    const int cl = dl_wg_cl_applies(g); /* conv_winograd_cl.c */
    const int m = cl ? DL_WG_CL_KEY(cl) : dl_conv_winograd_tile(g);
    if (version && g->n > 0) {
        pthread_mutex_lock(&wu_lock);
        wu_entry *e = wu_slot(g, m, w);
        if (e && e->version != version) {
            u_transform(g, m, w, e->u);
            e->version = version;
        }
        U = e ? e->u : NULL;
        pthread_mutex_unlock(&wu_lock);
    }
    if (cl) /* conv_winograd_cl.c applies a as it stores y */
        return a ? dl_wg_cl_forward(g, cl, x, w, U, y, a, NULL, NULL)
                 : dl_wg_cl_forward(g, cl, x, w, U, yc, NULL, ep, ctx);
    return dl_conv_winograd_u(g, m, x, w, U, a ? y : yc, ep, ctx, a);
}

int dl_conv_winograd_w(uint64_t version, const dl_conv2d_geom *g, const float *x, const float *w, float *y,
                       dl_conv_epilogue ep, void *ctx) {
    return dl_conv_winograd_affine_w(version, g, x, w, y, NULL, NULL, ep, ctx);
}

void dl_conv_winograd_release(const float *base, int64_t n) {
    pthread_mutex_lock(&wu_lock);
    for (int i = 0; i < wu_used; i++) {
        wu_entry *e = &wu_table[i];
        if (e->w && e->w >= base && e->w < base + n) {
            free(e->u);
            *e = (wu_entry){0};
        }
    }
    pthread_mutex_unlock(&wu_lock);
}
