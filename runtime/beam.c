/* beam.c — one step of beam search over next-token logits.
 *
 * Each live beam b has a running score scores[b] (the sum of the log
 * probabilities of its generated tokens); each candidate (b, v) scores
 * scores[b] + log softmax(logits_b)[v]. The step keeps the K best candidates,
 * ranked by score, then by the lower parent rank, then by the lower token id:
 * the order of the flattened index b * V + v that Hugging Face's beam search
 * ranks with `topk` on scores.view(batch, K * V), made exact so that equal
 * scores never depend on a sort's stability. The log softmax is in double
 * from max-subtracted exponentials (any finite logits are safe); a -inf
 * logit is a token that cannot be chosen. */
#include "dlnrt.h"

#include <math.h>

/* Whether candidate (sa, pa, ta) ranks before (sb, pb, tb). */
static int beam_before(double sa, int pa, int ta, double sb, int pb, int tb)
{
    if (sa != sb) return sa > sb;
    if (pa != pb) return pa < pb;
    return ta < tb;
}

int dl_log_softmax_row(const float *logits, int V, double *out)
{
    if (V < 1 || !logits) { dl_set_error("beam: no logits (V = %d)", V); return -1; }
    double mx = -INFINITY;
    for (int v = 0; v < V; v++) {
        if (isnan(logits[v]) || logits[v] == INFINITY) {
            dl_set_error("beam: logit %d is %s", v, dl_nonfinite_name(logits[v]));
            return -1;
        }
        if (logits[v] > mx) mx = logits[v];
    }
    if (mx == -INFINITY) { dl_set_error("beam: every logit is -inf"); return -1; }
    double sum = 0;
    for (int v = 0; v < V; v++) sum += exp((double)logits[v] - mx);
    const double lse = mx + log(sum);
    for (int v = 0; v < V; v++) out[v] = (double)logits[v] - lse;
    return 0;
}

int dl_beam_step(const double *scores, int n, const float *logits, int64_t row_stride, int V, int K, double *scratch,
                 int *parent, int *token, double *next_scores)
{
    if (n < 1 || K < 1 || V < 1 || !scores || !logits || !scratch || !parent || !token || !next_scores) {
        dl_set_error("beam: bad step (n = %d, K = %d, V = %d)", n, K, V);
        return -1;
    }
    int kept = 0; /* parent/token/next_scores[0 .. kept-1]: the best so far, best first */
    for (int b = 0; b < n; b++) {
        if (dl_log_softmax_row(logits + (int64_t)b * row_stride, V, scratch) != 0) return -1;
        for (int v = 0; v < V; v++) {
            const double s = scores[b] + scratch[v];
            if (s == -INFINITY) continue;
            if (kept == K && !beam_before(s, b, v, next_scores[K - 1], parent[K - 1], token[K - 1])) continue;
            int at = kept < K ? kept++ : K - 1; /* insertion into the sorted list, dropping the worst when full */
            while (at > 0 && beam_before(s, b, v, next_scores[at - 1], parent[at - 1], token[at - 1])) {
                next_scores[at] = next_scores[at - 1], parent[at] = parent[at - 1], token[at] = token[at - 1];
                at--;
            }
            next_scores[at] = s, parent[at] = b, token[at] = v;
        }
    }
    return kept;
}

double dl_beam_score(double sum_logp, int64_t length, double length_penalty)
{
    return length > 0 ? sum_logp / pow((double)length, length_penalty) : sum_logp;
}

int dl_beam_done_add(dl_beam_done *d, double sum_logp, int64_t length, double length_penalty)
{
    const double s = dl_beam_score(sum_logp, length, length_penalty);
    int slot = d->n; /* while fewer than K are kept, they fill slots 0..n-1 */
    if (d->n == d->K) {
        if (!(s > d->score[d->K - 1])) return -1;
        slot = d->slot[--d->n]; /* the worst leaves; its row is reused */
    }
    int at = d->n++;
    for (; at > 0 && s > d->score[at - 1]; at--) {
        d->score[at] = d->score[at - 1], d->sum[at] = d->sum[at - 1];
        d->length[at] = d->length[at - 1], d->slot[at] = d->slot[at - 1];
    }
    d->score[at] = s, d->sum[at] = sum_logp, d->length[at] = length, d->slot[at] = slot;
    return slot;
}
