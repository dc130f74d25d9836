/* test_plan_fit.c — pass_plan's first-fit placement (compiler/plan_fit.c)
 * against the plain scan it replaced: for random buffer lifetimes and sizes,
 * every offset must be the one the scan gives (the generated C, whose buffer
 * offsets come from here, must not change), and no two live buffers may
 * overlap. */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plan_fit.h"

typedef struct buf {
    int birth, death;
    int64_t units, off;
} buf;

/* The reference: keep the live buffers sorted by offset, drop the dead,
 * take the first gap that fits, else the end of the last. */
static void scan_place(buf *b, int n) {
    buf **live = malloc(sizeof *live * (size_t)n);
    int nl = 0;
    for (int i = 0; i < n; i++) {
        int keep = 0;
        for (int j = 0; j < nl; j++)
            if (live[j]->death >= b[i].birth) live[keep++] = live[j];
        nl = keep;
        int64_t off = 0;
        int at = nl;
        for (int j = 0; j < nl; j++) {
            if (off + b[i].units <= live[j]->off) {
                at = j;
                break;
            }
            if (live[j]->off + live[j]->units > off) off = live[j]->off + live[j]->units;
        }
        b[i].off = off;
        memmove(&live[at + 1], &live[at], sizeof *live * (size_t)(nl - at));
        live[at] = &b[i];
        nl++;
    }
    free(live);
}

static uint32_t rng = 12345;
static int rnd(int n) {
    rng = rng * 1103515245u + 12345u;
    return (int)((rng >> 8) % (uint32_t)n);
}

static void test_matches_scan(void) {
    enum { N = 3000 };
    buf *a = malloc(sizeof *a * N), *b = malloc(sizeof *b * N);
    plan_fit *f = plan_fit_new(N);
    int bad = 0, overlaps = 0;
    /* short lives (activations freed soon), long ones (saved for a backward), mixed sizes */
    for (int trial = 0; trial < 12; trial++) {
        int birth = 0, span = trial % 3 == 0 ? 4 : trial % 3 == 1 ? 60 : 2000;
        for (int i = 0; i < N; i++) {
            birth += rnd(3);
            a[i].birth = birth;
            a[i].death = birth + rnd(span);
            a[i].units = trial % 2 ? 16 * (1 + rnd(8)) : 1 + rnd(100);
        }
        memcpy(b, a, sizeof *a * N);
        scan_place(a, N);
        plan_fit_reset(f);
        for (int i = 0; i < N; i++) {
            plan_fit_expire(f, b[i].birth);
            b[i].off = plan_fit_place(f, b[i].units, b[i].death);
            bad += b[i].off != a[i].off;
        }
        for (int i = 0; i < N; i++)
            for (int j = i + 1; j < N && b[j].birth <= b[i].death; j++)
                overlaps += b[i].off < b[j].off + b[j].units && b[j].off < b[i].off + b[i].units;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(overlaps, 0);
    plan_fit_free(f);
    free(a);
    free(b);
}

void suite_plan_fit(void) {
    CU_pSuite s = CU_add_suite("plan_fit", NULL, NULL);
    CU_add_test(s, "first fit equals the scan it replaced", test_matches_scan);
}
