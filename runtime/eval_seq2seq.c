/* eval_seq2seq.c — the training driver's evaluation of a seq2seq_task
 * model on the test sequences: mean loss, token accuracy over the target
 * positions (PAD excluded), and, when the train section asks for
 * exact_match, the fraction of sequences right in full twice over —
 * teacher-forced (the eval step's logits, each position given the true
 * prefix) and greedily decoded (dl_greedy_decode, each position given the
 * model's own prefix). The gap between the two is what teacher forcing
 * hides. */
#include <math.h>
#include <stdlib.h>

#include "step_internal.h"

int dl_evaluate_seq2seq(const dl_model_api *api, void *m, const dl_seq2seq_data *d, int64_t batch, dl_stepper *st,
                        int exact, dl_seq2seq_scores *r)
{
    dl_source src;
    if (dl_source_seq2seq(&src, d, d->n_train, d->n_test, batch, 0, 0)) return -1;
    int32_t *decoded = exact ? malloc((size_t)(src.bounds.n * d->T) * sizeof *decoded) : NULL;
    double loss_sum = 0;
    int64_t seen = 0, correct = 0, counted = 0, tf = 0, greedy = 0, rows, n;
    int rc = -1;
    dl_batch b;
    if (exact && !decoded) {
        dl_set_error("evaluation: out of memory");
        goto done;
    }
    while ((n = src.next(&src, &b)) > 0) {
        dl_clear_error();
        if (api->reset_state) api->reset_state(m);
        const float loss = dl_stepper_bind(st, &b) ? NAN : dl_stepper_eval(st, m);
        if (isnan(loss) && dl_last_error()[0]) goto done;
        loss_sum += (double)loss * n;
        seen += n;
        correct += dl_stepper_count_correct(st, &b, DL_TOK_PAD, &rows);
        counted += rows;
        if (!exact) continue;
        const dl_field *target = dl_batch_find(&b, "target");
        const dl_io_info *o = &api->outputs[0];
        const int64_t V = o->rank == 2 ? o->shape[1] : 0;
        if (V > 0 && st->out_numel[0] == d->T * V) tf += dl_count_exact_logits(st->out[0], target->data, n, d->T, (int)V);
        if (dl_greedy_decode(api, m, &b, d->T, decoded)) goto done;
        greedy += dl_count_exact(decoded, target->data, n, d->T);
    }
    r->loss = seen ? loss_sum / seen : NAN;
    r->accuracy = counted ? (double)correct / counted : NAN;
    r->exact_teacher = exact && seen ? (double)tf / seen : NAN;
    r->exact_greedy = exact && seen ? (double)greedy / seen : NAN;
    rc = 0;
done:
    free(decoded);
    src.close(&src);
    return rc;
}
