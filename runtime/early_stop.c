/* early_stop.c — when to stop and which epoch to keep.
 *
 * Keras's EarlyStopping with restore_best_weights, in the driver's terms:
 * an epoch improves when its monitored figure beats the best so far by more
 * than min_delta (lower for val_loss, higher for val_acc); the first epoch
 * always does. The driver writes the checkpoint only on an improving epoch,
 * so the file always holds the best weights seen, written atomically, and a
 * later worse (or diverging) epoch never replaces them. After `patience`
 * epochs in a row without improvement the run ends.
 *
 * The figure comes from a validation split of the training data, never
 * from the test set: choosing the epoch on the test set would make its
 * figure an optimistic one. The compiler refuses early_stop without a
 * validation split. */
#include "early_stop_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void dl_keep_best_init(dl_keep_best *k)
{
    *k = (dl_keep_best){.best = NAN};
}

const char *dl_monitor_name(dl_monitor m)
{
    return m == DL_MONITOR_VAL_ACC ? "val_acc" : "val_loss";
}

int dl_keep_best_update(dl_keep_best *k, const dl_early_stop *es, int epoch, double val_loss, double val_acc)
{
    const int acc = es->monitor == DL_MONITOR_VAL_ACC;
    const double v = acc ? val_acc : val_loss;
    int better;
    if (isnan(v)) better = 0;
    else if (k->best_epoch == 0 || isnan(k->best)) better = 1;
    else better = acc ? v > k->best + es->min_delta : v < k->best - es->min_delta;
    if (better) {
        k->best = v;
        k->best_epoch = epoch;
        k->bad_epochs = 0;
    } else {
        k->bad_epochs++;
    }
    return better;
}

int dl_keep_best_exhausted(const dl_keep_best *k, const dl_early_stop *es)
{
    return es->patience > 0 && k->bad_epochs >= es->patience;
}

/* The snapshot lets the run end on the best weights (its final figures and
 * confusion matrix are the kept model's) with or without a checkpoint file. */
int dl_keep_best_snapshot(dl_keep_best *k, const dl_model_api *api, void *m)
{
    if (!k->snapshot) {
        int64_t total = 0;
        for (int i = 0; i < api->n_params; i++) total += api->params[i].numel;
        k->snapshot = malloc(sizeof(float) * (size_t)(total > 0 ? total : 1));
        if (!k->snapshot) {
            dl_set_error("early_stop: no memory for a copy of the best epoch's %lld parameters", (long long)total);
            return -1;
        }
    }
    float *at = k->snapshot;
    for (int i = 0; i < api->n_params; i++) {
        memcpy(at, api->param_data(m, i), sizeof(float) * (size_t)api->params[i].numel);
        at += api->params[i].numel;
    }
    return 0;
}

void dl_keep_best_restore(const dl_keep_best *k, const dl_model_api *api, void *m)
{
    const float *at = k->snapshot;
    for (int i = 0; at && i < api->n_params; i++) {
        memcpy(api->param_data(m, i), at, sizeof(float) * (size_t)api->params[i].numel);
        at += api->params[i].numel;
    }
}

void dl_keep_best_free(dl_keep_best *k)
{
    free(k->snapshot);
    k->snapshot = NULL;
}
