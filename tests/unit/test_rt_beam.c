/* test_rt_beam.c — dl_beam_step (runtime/beam.c) driven over hand-made
 * next-token tables: a case where a beam of 2 finds a likelier sequence than
 * greedy, with the best sequence found by brute force over all sequences in
 * the test itself; random tables where a beam as wide as all prefixes keeps
 * exactly the brute-force K best, in order; ties to the lower parent, then
 * the lower token id; -inf tokens never kept; NaN refused; the finished
 * beams of a search with an end token (dl_beam_done_add). */
#include "dlnrt.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXV 4
#define MAXL 4
#define MAXK 64

/* The model: the next token's logits depend on the previous token only
 * (row V: the first step's, after the prompt). */
typedef struct markov { int V; float logit[MAXV + 1][MAXV]; } markov;

static double seq_logp(const markov *m, const int *seq, int L) {
    double s = 0, lp[MAXV];
    for (int i = 0, prev = m->V; i < L; prev = seq[i++]) {
        dl_log_softmax_row(m->logit[prev], m->V, lp);
        s += lp[seq[i]];
    }
    return s;
}

/* Beam search of width K and length L: the final beams (best first) in seqs, their sums in sc. */
static int run_beam(const markov *m, int K, int L, int seqs[][MAXL], double *sc) {
    int n = 1, parent[MAXK], token[MAXK], next[MAXK][MAXL];
    double scores[MAXK] = {0}, nscores[MAXK], scratch[MAXV];
    float logits[MAXK][MAXV];
    for (int len = 0; len < L; len++) {
        for (int b = 0; b < n; b++) memcpy(logits[b], m->logit[len ? seqs[b][len - 1] : m->V], sizeof logits[b]);
        const int kept = dl_beam_step(scores, n, &logits[0][0], MAXV, m->V, K, scratch, parent, token, nscores);
        CU_ASSERT_FATAL(kept >= 1 && kept <= K);
        for (int j = 0; j < kept; j++) {
            memcpy(next[j], seqs[parent[j]], sizeof next[j]);
            next[j][len] = token[j];
        }
        memcpy(seqs, next, sizeof(int[MAXL]) * (size_t)kept);
        memcpy(scores, nscores, sizeof(double) * (size_t)kept);
        n = kept;
    }
    memcpy(sc, scores, sizeof(double) * (size_t)n);
    return n;
}

/* Every sequence of length L (V^L of them), as numbers in base V, best first by log p, ties by lower number. */
typedef struct ranked { double s; int code; } ranked;
static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->s != y->s) return x->s > y->s ? -1 : 1;
    return x->code - y->code;
}
static int brute_force(const markov *m, int L, ranked *all) {
    int count = 1;
    for (int i = 0; i < L; i++) count *= m->V;
    for (int c = 0; c < count; c++) {
        int seq[MAXL];
        for (int i = L - 1, x = c; i >= 0; i--, x /= m->V) seq[i] = x % m->V;
        all[c] = (ranked){seq_logp(m, seq, L), c};
    }
    qsort(all, (size_t)count, sizeof *all, cmp_ranked);
    return count;
}
static int code_of(const int *seq, int L, int V) {
    int c = 0;
    for (int i = 0; i < L; i++) c = c * V + seq[i];
    return c;
}

static void set_probs(markov *m, int row, const double *p) {
    for (int v = 0; v < m->V; v++) m->logit[row][v] = p[v] > 0 ? (float)log(p[v]) : -INFINITY;
}

static void test_beam_beats_greedy(void) {
    /* first token: a .5, b .4, c .1; after a: a third each; after b: a .9. Greedy: a then
     * anything (.5 / 3 = .167); the best: b a (.36), which a beam of 2 keeps. */
    markov m = {.V = 3};
    set_probs(&m, 3, (double[]){0.5, 0.4, 0.1});
    set_probs(&m, 0, (double[]){1.0 / 3, 1.0 / 3, 1.0 / 3});
    set_probs(&m, 1, (double[]){0.9, 0.05, 0.05});
    set_probs(&m, 2, (double[]){0.2, 0.3, 0.5});
    ranked all[27];
    brute_force(&m, 2, all);
    int seqs[MAXK][MAXL];
    double sc[MAXK];
    run_beam(&m, 1, 2, seqs, sc);
    const double greedy = sc[0];
    CU_ASSERT_EQUAL(seqs[0][0], 0);
    CU_ASSERT_EQUAL(seqs[0][1], 0); /* three equal tokens after a: the lowest id */
    CU_ASSERT(greedy < all[0].s - 0.5);
    const int n = run_beam(&m, 2, 2, seqs, sc);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(code_of(seqs[0], 2, 3), all[0].code); /* b a */
    CU_ASSERT_EQUAL(seqs[0][0], 1);
    CU_ASSERT_EQUAL(seqs[0][1], 0);
    CU_ASSERT_DOUBLE_EQUAL(sc[0], log(0.4 * 0.9), 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(sc[0], all[0].s, 1e-12);
}

static void test_wide_beam_is_exhaustive(void) {
    srand(11);
    for (int trial = 0; trial < 50; trial++) {
        markov m = {.V = 2 + trial % 3};
        for (int r = 0; r <= m.V; r++)
            for (int v = 0; v < m.V; v++) /* a few repeated values, so that ties happen */
                m.logit[r][v] = (float)(rand() % 5) * 0.5f;
        const int L = 1 + trial % 3;
        int K = 1;
        for (int i = 0; i < L; i++) K *= m.V; /* every sequence kept: the search is exhaustive */
        ranked all[MAXK];
        const int count = brute_force(&m, L, all);
        int seqs[MAXK][MAXL];
        double sc[MAXK];
        const int n = run_beam(&m, K, L, seqs, sc);
        CU_ASSERT_EQUAL(n, count);
        int ok = 1;
        for (int j = 0; j < n; j++) ok &= fabs(sc[j] - all[j].s) < 1e-9 && fabs(sc[j] - seq_logp(&m, seqs[j], L)) < 1e-9;
        for (int j = 1; j < n; j++) ok &= sc[j] <= sc[j - 1];
        CU_ASSERT(ok);
        /* the best is the brute force's, ties included (equal sums: the lower code) */
        CU_ASSERT(fabs(sc[0] - all[0].s) < 1e-9);
    }
}

static void test_ties_and_masks(void) {
    double scores[2] = {0, 0}, next[3], scratch[4];
    int parent[3], token[3];
    const float eq[2][4] = {{1, 1, 1, 1}, {1, 1, 1, 1}};
    CU_ASSERT_EQUAL(dl_beam_step(scores, 2, &eq[0][0], 4, 4, 3, scratch, parent, token, next), 3);
    CU_ASSERT(parent[0] == 0 && token[0] == 0 && parent[1] == 0 && token[1] == 1 && parent[2] == 0 && token[2] == 2);
    scores[0] = -1; /* a worse parent: its candidates come after beam 1's */
    CU_ASSERT_EQUAL(dl_beam_step(scores, 2, &eq[0][0], 4, 4, 3, scratch, parent, token, next), 3);
    CU_ASSERT(parent[0] == 1 && token[0] == 0 && parent[2] == 1 && token[2] == 2);
    const float masked[4] = {-INFINITY, 2, -INFINITY, -INFINITY};
    scores[0] = 0;
    CU_ASSERT_EQUAL(dl_beam_step(scores, 1, masked, 4, 4, 3, scratch, parent, token, next), 1);
    CU_ASSERT(token[0] == 1 && next[0] == 0);
    const float bad[4] = {0, NAN, 0, 0};
    CU_ASSERT_EQUAL(dl_beam_step(scores, 1, bad, 4, 4, 3, scratch, parent, token, next), -1);
    CU_ASSERT(strstr(dl_last_error(), "NaN") || strstr(dl_last_error(), "nan"));
    CU_ASSERT_DOUBLE_EQUAL(dl_beam_score(-8.0, 4, 1.0), -2.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(dl_beam_score(-8.0, 4, 0.5), -4.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(dl_beam_score(-8.0, 4, 0.0), -8.0, 1e-12);
}

static void test_finished_beams(void) {
    /* K = 2 finished beams by sum / length^alpha: fewer than K are always kept, then only a
     * strictly better one, which takes the worst's slot */
    dl_beam_done d = {.K = 2};
    CU_ASSERT_EQUAL(dl_beam_done_add(&d, -6.0, 3, 1.0), 0);   /* -2 */
    CU_ASSERT_EQUAL(dl_beam_done_add(&d, -2.0, 2, 1.0), 1);   /* -1: first now */
    CU_ASSERT(d.n == 2 && d.score[0] == -1.0 && d.slot[0] == 1 && d.score[1] == -2.0 && d.slot[1] == 0);
    CU_ASSERT_EQUAL(dl_beam_done_add(&d, -4.0, 2, 1.0), -1);  /* -2: not better than the worst */
    CU_ASSERT_EQUAL(dl_beam_done_add(&d, -3.0, 2, 1.0), 0);   /* -1.5 replaces -2 in slot 0 */
    CU_ASSERT(d.n == 2 && d.score[0] == -1.0 && d.score[1] == -1.5 && d.slot[1] == 0 && d.length[1] == 2);
    CU_ASSERT_EQUAL(dl_beam_done_add(&d, -1.0, 4, 0.5), 0);   /* -0.5: first, the worst's slot again */
    CU_ASSERT(d.score[0] == -0.5 && d.sum[0] == -1.0 && d.length[0] == 4 && d.score[1] == -1.0 && d.slot[1] == 1);
    dl_beam_done e = {.K = 3}; /* equal scores keep their order of arrival */
    dl_beam_done_add(&e, -1.0, 1, 1.0);
    dl_beam_done_add(&e, -2.0, 2, 1.0);
    CU_ASSERT(e.slot[0] == 0 && e.slot[1] == 1 && e.length[0] == 1);
}

void suite_rt_beam(void) {
    CU_pSuite s = CU_add_suite("rt_beam", NULL, NULL);
    CU_add_test(s, "a beam of 2 finds the brute-force best, greedy does not", test_beam_beats_greedy);
    CU_add_test(s, "a beam as wide as every prefix keeps the brute-force ranking", test_wide_beam_is_exhaustive);
    CU_add_test(s, "ties: lower parent, then lower token; -inf never kept; NaN refused", test_ties_and_masks);
    CU_add_test(s, "finished beams: the K best by sum / length^alpha", test_finished_beams);
}
