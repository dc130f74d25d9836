/* plan_fit.c — see plan_fit.h.
 *
 * The live buffers are disjoint intervals [off, end), kept in a treap keyed
 * by offset. Each tree node also describes its subtree: the first offset,
 * the last end, and the widest gap between neighbouring intervals. First fit
 * is then one descent: the gap before the first interval if it is wide
 * enough, else the leftmost gap between neighbours that is, else the end of
 * the last interval. Inserting and removing are split and merge. Buffers
 * expire in order of their last use, from a min-heap. */
#include "plan_fit.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct fit_node {
    int64_t off, end;      /* the buffer: [off, end) */
    int death;
    uint32_t prio;         /* heap order of the treap: random */
    int left, right;       /* node indexes, -1 = none */
    int64_t first, last;   /* subtree: the first offset, the last end */
    int64_t gap;           /* subtree: the widest gap between neighbours, -1 if none */
} fit_node;

struct plan_fit {
    fit_node *nodes;       /* one per placement since the last reset */
    int n, cap;
    int root;
    int *heap;             /* live node indexes, a min-heap by death */
    int nh;
    uint32_t rng;
};

static void *fit_alloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size);
    if (!p) {
        fprintf(stderr, "dlnc: out of memory in pass_plan\n");
        exit(1);
    }
    return p;
}

plan_fit *plan_fit_new(int cap) {
    plan_fit *f = fit_alloc(1, sizeof *f);
    f->cap = cap;
    f->nodes = fit_alloc((size_t)cap, sizeof *f->nodes);
    f->heap = fit_alloc((size_t)cap, sizeof *f->heap);
    plan_fit_reset(f);
    return f;
}

void plan_fit_free(plan_fit *f) {
    if (!f) return;
    free(f->nodes);
    free(f->heap);
    free(f);
}

void plan_fit_reset(plan_fit *f) {
    f->n = f->nh = 0;
    f->root = -1;
    f->rng = 2463534242u;
}

/* ---- the treap ------------------------------------------------------------ */

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Recompute t's subtree summary from its children's. */
static void pull(plan_fit *f, int t) {
    fit_node *x = &f->nodes[t];
    x->first = x->off;
    x->last = x->end;
    x->gap = -1;
    if (x->left >= 0) {
        const fit_node *l = &f->nodes[x->left];
        x->first = l->first;
        x->gap = max64(l->gap, x->off - l->last);
    }
    if (x->right >= 0) {
        const fit_node *r = &f->nodes[x->right];
        x->last = r->last;
        x->gap = max64(x->gap, max64(r->gap, r->first - x->end));
    }
}

/* Splits t into the nodes with off < key (*l) and the rest (*r). */
static void split(plan_fit *f, int t, int64_t key, int *l, int *r) {
    if (t < 0) {
        *l = *r = -1;
        return;
    }
    if (f->nodes[t].off < key) {
        split(f, f->nodes[t].right, key, &f->nodes[t].right, r);
        *l = t;
    } else {
        split(f, f->nodes[t].left, key, l, &f->nodes[t].left);
        *r = t;
    }
    pull(f, t);
}

/* Joins l and r, every offset in l below every offset in r. */
static int merge(plan_fit *f, int l, int r) {
    if (l < 0) return r;
    if (r < 0) return l;
    if (f->nodes[l].prio > f->nodes[r].prio) {
        f->nodes[l].right = merge(f, f->nodes[l].right, r);
        pull(f, l);
        return l;
    }
    f->nodes[r].left = merge(f, l, f->nodes[r].left);
    pull(f, r);
    return r;
}

/* The start of the leftmost gap between neighbours in t at least `units`
 * wide, or -1 if there is none. */
static int64_t gap_in(const plan_fit *f, int t, int64_t units) {
    while (t >= 0 && f->nodes[t].gap >= units) {
        const fit_node *x = &f->nodes[t];
        if (x->left >= 0) {
            const fit_node *l = &f->nodes[x->left];
            if (l->gap >= units) {
                t = x->left;
                continue;
            }
            if (x->off - l->last >= units) return l->last;
        }
        if (x->right < 0) break; /* cannot happen: the gap is on the right */
        const fit_node *r = &f->nodes[x->right];
        if (r->first - x->end >= units) return x->end;
        t = x->right;
    }
    return -1;
}

/* ---- the heap of deaths ----------------------------------------------------- */

static int dies_before(const plan_fit *f, int a, int b) { return f->nodes[f->heap[a]].death < f->nodes[f->heap[b]].death; }

static void swap_heap(plan_fit *f, int a, int b) {
    int t = f->heap[a];
    f->heap[a] = f->heap[b];
    f->heap[b] = t;
}

static void heap_push(plan_fit *f, int node) {
    int i = f->nh++;
    f->heap[i] = node;
    for (; i > 0 && dies_before(f, i, (i - 1) / 2); i = (i - 1) / 2) swap_heap(f, i, (i - 1) / 2);
}

static int heap_pop(plan_fit *f) {
    int top = f->heap[0];
    f->heap[0] = f->heap[--f->nh];
    for (int i = 0;;) {
        int c = 2 * i + 1;
        if (c >= f->nh) break;
        if (c + 1 < f->nh && dies_before(f, c + 1, c)) c++;
        if (!dies_before(f, c, i)) break;
        swap_heap(f, i, c);
        i = c;
    }
    return top;
}

/* ---- placement -------------------------------------------------------------- */

void plan_fit_expire(plan_fit *f, int birth) {
    while (f->nh > 0 && f->nodes[f->heap[0]].death < birth) {
        int64_t off = f->nodes[heap_pop(f)].off;
        int l, mid, r;
        split(f, f->root, off, &l, &r);
        split(f, r, off + 1, &mid, &r); /* mid: the expired buffer alone (offsets are distinct) */
        f->root = merge(f, l, r);
    }
}

int64_t plan_fit_place(plan_fit *f, int64_t units, int death) {
    int64_t off = 0;
    if (f->root >= 0 && f->nodes[f->root].first < units) {
        off = gap_in(f, f->root, units);
        if (off < 0) off = f->nodes[f->root].last;
    }
    if (f->n == f->cap) {
        fprintf(stderr, "dlnc: internal error: pass_plan placed more buffers than it announced\n");
        abort();
    }
    int t = f->n++;
    f->rng ^= f->rng << 13; /* xorshift32 */
    f->rng ^= f->rng >> 17;
    f->rng ^= f->rng << 5;
    f->nodes[t] = (fit_node){.off = off, .end = off + units, .death = death, .prio = f->rng, .left = -1, .right = -1};
    pull(f, t);
    int l, r;
    split(f, f->root, off, &l, &r);
    f->root = merge(f, merge(f, l, t), r);
    heap_push(f, t);
    return off;
}
