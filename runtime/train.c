/* train.c — the training driver: `dlnc run`, or a user's main, hands it a
 * compiled model's dl_model_api and it does the rest.
 *
 *   load data (IDX directory, CSV, CIFAR-10, a PNG image folder, or
 *     Fashion-MNIST with generated masks; test split, test file/folder or a
 *     held-out validation fraction) and check it fits the model's input and
 *     labels (class labels feeding a model with dense labels, as mixup
 *     needs, are one-hot encoded)
 *   batch with augmentation (training batches) and normalization (all)
 *   create the model (max batch = the data batch), initialize it with the seed
 *   per epoch: reshuffle; per step set the LR from the schedule at the
 *     fractional epoch and call train_step; then evaluate on the test set with
 *     eval_step (loss; accuracy when labels are classes; IoU for masks when
 *     asked); print a progress line,
 *     append to the history CSV, save the checkpoint (atomically)
 *   stop early on max_steps, or with an error on a non-finite value (below)
 *
 * Saving after every epoch means a run that diverges (or is killed) keeps
 * the last good checkpoint: the save is atomic, and a NaN epoch never saves.
 * What counts as a NaN epoch: a non-finite training loss (checked every
 * step); a step that fails with a reason (a model built with
 * --check-numerics names the first kernel whose output is not finite); a
 * non-finite parameter, scanned once per epoch, which catches the NaN that a
 * later relu or max hides from the loss (fmaxf and `x > 0 ? x : 0` map NaN
 * to 0) while it ruins the weights; and a non-finite test/validation loss.
 * The scan reads every parameter once (0.25 ms for the MLP sample's 536K,
 * 0.02% of its epoch); a check per step would cost a few percent.
 * Everything the model needs comes through the api struct; everything the
 * caller needs comes back through dl_run_result and the return code. */
#include "dlnrt.h"
#include "dist.h"
#include "early_stop_internal.h"
#include "pictures_internal.h"
#include "progress_internal.h"
#include "report_internal.h"
#include "resume_internal.h"
#include "lookahead_internal.h"
#include "swa_internal.h"
#include "run_record_internal.h"
#include "step_internal.h"
#include "train_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

double dl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Prefixes the current error message with context. */
static void dl_error_context(const char *what)
{
    char inner[768];
    snprintf(inner, sizeof inner, "%s", dl_last_error());
    dl_set_error("%s: %s", what, inner);
}

/* Appends to the current error what became of the checkpoint: a run stopped
 * by a non-finite value keeps the last good one, or wrote none. */
static void dl_error_kept(int last_saved, const char *checkpoint, int saves)
{
    char inner[768];
    snprintf(inner, sizeof inner, "%s", dl_last_error());
    if (last_saved) dl_set_error("%s; the checkpoint from epoch %d is kept in %s", inner, last_saved, checkpoint);
    else if (saves) dl_set_error("%s; no checkpoint was written", inner);
}

/* -1 with an error naming the first parameter (or buffer: running
 * statistics are saved too) that holds a NaN or an infinity. */
static int dl_scan_params(const dl_model_api *api, void *m)
{
    for (int i = 0; api->param_data && api->params && i < api->n_params; i++) {
        const float *p = api->param_data(m, i);
        const int64_t n = api->params[i].numel, at = p ? dl_find_nonfinite(p, n) : -1;
        if (at >= 0) {
            dl_set_error("non-finite value (%s) in parameter '%s' (element %lld of %lld)", dl_nonfinite_name(p[at]),
                         api->params[i].name, (long long)at, (long long)n);
            return -1;
        }
    }
    return 0;
}

static int dl_is_mnist_kind(const char *kind)
{
    return strcmp(kind, "fashion_mnist") == 0 || strcmp(kind, "mnist") == 0 || strcmp(kind, "idx") == 0;
}

/* Loads the training set and the evaluation set (test split, test file, or
 * a validation split; *have_eval = 0 when there is none). The evaluation
 * set's figures are labelled "val" when it is a validation split, "test"
 * otherwise (dl_eval_name). */
int dl_load_data(const dl_data_config *dc, uint64_t seed, dl_dataset *train, dl_dataset *eval, int *have_eval)
{
    *have_eval = 0;
    memset(eval, 0, sizeof *eval);
    if (!dc->kind || !dc->path) { dl_set_error("data: the train section names no data kind or path"); return -1; }
    if (dl_is_mnist_kind(dc->kind)) {
        /* classes / fraction: a subset of the training data (the test set: all of those classes' samples) */
        const int sub = dc->classes || (dc->fraction > 0 && dc->fraction < 1);
        if (dl_load_mnist_dir(dc->path, "train", train)) return -1;
        if (sub && dl_dataset_subset(train, dc->classes, dc->n_classes, dc->fraction, seed ^ 0x5ab5e7ULL)) {
            dl_dataset_free(train);
            return -1;
        }
        if (dc->val_split <= 0) {
            if (dl_load_mnist_dir(dc->path, "test", eval) || (sub && dl_dataset_subset(eval, dc->classes, dc->n_classes, 1, 0))) {
                dl_dataset_free(train);
                dl_dataset_free(eval);
                return -1;
            }
            *have_eval = 1;
            return 0;
        }
    } else if (strcmp(dc->kind, "fashion_mnist_masks") == 0) {
        if (dl_load_mnist_dir(dc->path, "train", train)) return -1;
        if (dl_dataset_to_masks(train, dc->mask_threshold)) { dl_dataset_free(train); return -1; }
        if (dc->val_split <= 0) {
            if (dl_load_mnist_dir(dc->path, "test", eval) || dl_dataset_to_masks(eval, dc->mask_threshold)) {
                dl_dataset_free(train);
                dl_dataset_free(eval);
                return -1;
            }
            *have_eval = 1;
            return 0;
        }
    } else if (strcmp(dc->kind, "cifar10") == 0) {
        if (dl_load_cifar10_dir(dc->path, "train", train)) return -1;
        if (dc->val_split <= 0) {
            if (dl_load_cifar10_dir(dc->path, "test", eval)) { dl_dataset_free(train); return -1; }
            *have_eval = 1;
            return 0;
        }
    } else if (strcmp(dc->kind, "image_folder") == 0) {
        if (dl_load_image_folder(dc->path, NULL, dc->channels, train)) return -1;
        if (dc->test_path) {
            /* the training folder's classes and channel count, so labels and shapes agree */
            if (dl_load_image_folder(dc->test_path, dc->path, (int)train->x_shape[0], eval)) {
                dl_dataset_free(train);
                return -1;
            }
            *have_eval = 1;
            return 0;
        }
    } else if (strcmp(dc->kind, "csv") == 0) {
        if (dl_load_csv(dc->path, &dc->csv, train)) return -1;
        if (dc->test_path) {
            if (dl_load_csv(dc->test_path, &dc->csv, eval)) { dl_dataset_free(train); return -1; }
            *have_eval = 1;
            return 0;
        }
    } else {
        dl_set_error("data: unknown kind '%s' (expected fashion_mnist, mnist, idx, csv, cifar10, image_folder or "
                     "fashion_mnist_masks)", dc->kind);
        return -1;
    }
    if (dc->val_split > 0) {
        if (dl_dataset_split(train, dc->val_split, seed ^ 0x5eedULL, eval)) { dl_dataset_free(train); return -1; }
        *have_eval = 1;
    }
    return 0;
}

/* The dataset must match the model's input size and label kind/size. */
static void dl_format_dims(char *out, size_t cap, const int64_t *shape, int rank)
{
    size_t k = 0;
    out[0] = '\0';
    for (int i = 0; i < rank && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, i ? "x%lld" : "%lld", (long long)shape[i]);
}

static int dl_non_one_rank(const int64_t *shape, int rank)
{
    int r = 0;
    for (int i = 0; i < rank; i++) r += shape[i] != 1;
    return r;
}

/* Equal after dropping the size-1 axes (an IDX 28x28 image is a 1x28x28 input). */
static int dl_same_shape_but_ones(const int64_t *a, int ra, const int64_t *b, int rb)
{
    int i = 0, j = 0;
    for (;;) {
        while (i < ra && a[i] == 1) i++;
        while (j < rb && b[j] == 1) j++;
        if (i == ra || j == rb) return i == ra && j == rb;
        if (a[i++] != b[j++]) return 0;
    }
}

static int dl_check_fit(const dl_model_api *api, const dl_dataset *d, const char *which)
{
    if (d->x_numel != api->in_numel) {
        /* the sample's shape only when it says more than its count (1x28x28, not 17) */
        char shape[112] = "";
        if (dl_non_one_rank(d->x_shape, d->x_rank) >= 2) {
            memcpy(shape, " (", 3);
            dl_format_dims(shape + 2, sizeof shape - 3, d->x_shape, d->x_rank);
            strcat(shape, ")");
        }
        dl_set_error("data: %s samples have %lld values%s but model '%s' takes %lld per sample", which,
                     (long long)d->x_numel, shape, api->name ? api->name : "?", (long long)api->in_numel);
        return -1;
    }
    /* Images fed to a model that takes images must also have its shape,
     * size-1 axes aside: 14x56 pictures in a 1x28x28 model would train on
     * scrambled pixels without a word. A flat side (a CSV row, a model
     * taking f32[N, 784]) is a deliberate flattening: any shape goes. */
    if (dl_non_one_rank(d->x_shape, d->x_rank) >= 2 && dl_non_one_rank(api->in_shape, api->in_rank) >= 2 &&
        !dl_same_shape_but_ones(d->x_shape, d->x_rank, api->in_shape, api->in_rank)) {
        char have[96], want[96];
        dl_format_dims(have, sizeof have, d->x_shape, d->x_rank);
        dl_format_dims(want, sizeof want, api->in_shape, api->in_rank);
        dl_set_error("data: %s samples are %s but model '%s' takes %s", which, have, api->name ? api->name : "?", want);
        return -1;
    }
    if (api->label_kind == DL_LABEL_CLASS) {
        if (d->label_kind != DL_LABEL_CLASS) {
            dl_set_error("data: model '%s' is a classifier but the %s labels are real-valued targets", api->name, which);
            return -1;
        }
        if (d->num_classes > api->out_numel) {
            dl_set_error("data: %s labels go up to %d but model '%s' has only %lld outputs", which,
                         d->num_classes - 1, api->name, (long long)api->out_numel);
            return -1;
        }
    } else if (d->label_kind == DL_LABEL_CLASS && api->label_numel == api->out_numel) {
        /* one-hot encoded by the batcher (mixup, soft-target losses) */
        if (d->num_classes > api->label_numel) {
            dl_set_error("data: %s labels go up to %d but model '%s' has only %lld outputs", which,
                         d->num_classes - 1, api->name, (long long)api->out_numel);
            return -1;
        }
    } else if (d->label_kind != DL_LABEL_DENSE || d->y_numel != api->label_numel) {
        dl_set_error("data: model '%s' expects %lld real-valued targets per sample; the %s data has %s", api->name,
                     (long long)api->label_numel, which, d->label_kind == DL_LABEL_CLASS ? "class labels" : "a different count");
        return -1;
    }
    return 0;
}

/* A model of the one-input form (its x/y members describe it) or filled
 * by hand; otherwise only its io tables do (general form, ABI 4). */
static int dl_one_input_form(const dl_model_api *api) { return api->forward != NULL || api->train_step != NULL; }

/* The step argument reading the field "label", NULL if none does. */
static const dl_io_info *dl_label_arg(const dl_model_api *api)
{
    for (int i = 0; i < api->n_fields; i++)
        if (strcmp(api->fields[i].name, "label") == 0) return &api->fields[i];
    for (int i = 0; i < api->n_inputs; i++)
        if (api->inputs[i].field && strcmp(api->inputs[i].field, "label") == 0) return &api->inputs[i];
    return NULL;
}

static int64_t dl_info_numel(const dl_io_info *in)
{
    int64_t k = 1;
    for (int d = 0; d < in->rank; d++) k *= in->shape[d] > 0 ? in->shape[d] : 1;
    return k;
}

/* Class labels become one-hot rows when the model takes dense labels. */
static int dl_one_hot_width(const dl_model_api *api, const dl_dataset *d)
{
    if (d->label_kind != DL_LABEL_CLASS) return 0;
    if (dl_one_input_form(api)) return api->label_kind == DL_LABEL_DENSE ? (int)api->label_numel : 0;
    const dl_io_info *l = dl_label_arg(api);
    return l && l->dtype == DL_F32 ? (int)dl_info_numel(l) : 0;
}

/* The classes of a classifier's confusion matrix: the one-input form's
 * outputs, or a general model's first output [N, C] when its label is one
 * i32 class per sample; 0 otherwise. */
static int dl_class_count(const dl_model_api *api)
{
    if (dl_one_input_form(api)) return (int)api->out_numel;
    const dl_io_info *l = dl_label_arg(api);
    if (!l || l->dtype != DL_I32 || l->rank != 0 || api->n_outputs < 1) return 0;
    const dl_io_info *o = &api->outputs[0];
    return o->rank == 1 && o->shape[0] > 0 && o->shape[0] <= DL_CONFUSION_MAX_CLASSES ? (int)o->shape[0] : 0;
}

/* The name a dataset's samples go by: "features" for a CSV file, "image" otherwise. */
const char *dl_first_field(const dl_data_config *dc)
{
    return dc->kind && strcmp(dc->kind, "csv") == 0 ? "features" : "image";
}

/* A general model's fit to a dataset beyond what binding checks: class
 * labels within the first output's last dimension. */
static int dl_check_classes(const dl_model_api *api, const dl_dataset *d, const char *which)
{
    const dl_io_info *l = dl_label_arg(api);
    if (!l || l->dtype != DL_I32 || d->label_kind != DL_LABEL_CLASS || api->n_outputs < 1) return 0;
    const dl_io_info *o = &api->outputs[0];
    const int64_t v = o->rank > 0 ? o->shape[o->rank - 1] : 1;
    if (v > 0 && d->num_classes > v) {
        dl_set_error("data: %s labels go up to %d but output '%s' of model '%s' has only %lld classes", which,
                     d->num_classes - 1, o->name, api->name, (long long)v);
        return -1;
    }
    return 0;
}

/* Mean loss, accuracy (NaN unless the labels are classes) and IoU (NaN
 * unless asked for, with dense labels) over d; the confusion matrix into
 * rec's when it has one, and the counts the final figures' intervals need
 * into tally. */
static int dl_evaluate(const dl_model_api *api, void *m, const dl_dataset *d, int64_t batch, dl_stepper *st,
                       double *loss, double *acc, double *iou, dl_run_record *rec, dl_eval_tally *tally)
{
    const int one_input = dl_one_input_form(api);
    float *const out = st->out[0];
    int64_t rows = 0, rows_seen = 0;
    dl_batch db;
    dl_source src;
    if (dl_source_dataset(&src, d, dl_first_field(&api->train->data), batch, 0, 0, &api->train->data.augment, 0,
                          dl_one_hot_width(api, d)))
        return -1;
    const unsigned metrics = api->train->metrics;
    const int want_iou = (metrics & DL_METRIC_IOU) && d->label_kind == DL_LABEL_DENSE;
    const int image_iou = (metrics & (DL_METRIC_IOU | DL_METRIC_MEAN_IOU)) && d->label_kind == DL_LABEL_DENSE &&
                          one_input;
    if (dl_tally_begin(tally, d->n, image_iou)) { src.close(&src); return -1; }
    double loss_sum = 0;
    int64_t correct = 0, seen = 0, n, inter = 0, uni = 0;
    if (rec->confusion) memset(rec->confusion, 0, sizeof *rec->confusion * (size_t)rec->classes * (size_t)rec->classes);
    if (api->reset_state) api->reset_state(m); /* evaluation starts from the initial state */
    while ((n = src.next(&src, &db)) > 0) {
        dl_clear_error();
        if (db.reset && api->reset_state) api->reset_state(m);
        const float loss = dl_stepper_bind(st, &db) ? NAN : dl_stepper_eval(st, m);
        /* NaN with a reason is a failed step (e.g. a --check-numerics check), not a value to average */
        if (isnan(loss) && dl_last_error()[0]) {
            src.close(&src);
            return -1;
        }
        loss_sum += (double)loss * n;
        seen += n;
        tally->loss_sum += (double)loss * n, tally->loss_sq += (double)loss * loss * n, tally->batches++;
        if (!one_input) {
            correct += dl_stepper_count_correct(st, &db, -1, &rows);
            rows_seen += rows;
            const dl_field *lf = dl_batch_find(&db, "label");
            if (rec->confusion && lf && lf->dtype == DL_I32 && lf->rank == 0)
                dl_count_confusion(out, lf->data, n, rec->classes, rec->confusion);
            continue;
        }
        /* the batcher's ybuf holds the class labels even when the label field is their one-hot rows */
        const int32_t *classes = src.batcher.ybuf;
        if (rec->confusion) dl_count_confusion(out, classes, n, rec->classes, rec->confusion);
        if (d->label_kind == DL_LABEL_CLASS) correct += dl_count_correct(out, classes, n, (int)api->out_numel);
        if (want_iou) dl_count_iou(out, db.field[1].data, n * api->out_numel, &inter, &uni);
        for (int64_t i = 0; image_iou && i < n && tally->images < tally->iou_cap; i++)
            dl_count_iou_image(out + i * api->out_numel, (const float *)db.field[1].data + i * api->out_numel,
                               api->out_numel, tally->iou + 4 * tally->images++);
        rows_seen += n;
    }
    src.close(&src);
    *loss = loss_sum / seen;
    /* accuracy for classifiers, unless the train section lists metrics without it */
    int want_acc = d->label_kind == DL_LABEL_CLASS && (!metrics || (metrics & DL_METRIC_ACCURACY)) && rows_seen > 0;
    *acc = want_acc ? (double)correct / rows_seen : NAN;
    tally->samples = seen, tally->scored = want_acc ? rows_seen : 0, tally->correct = correct;
    *iou = want_iou ? (uni ? (double)inter / uni : 1.0) : NAN;
    return 0;
}

/* With a validation split the test set the source has (the IDX test files,
 * CIFAR-10's test batch, the masks of Fashion-MNIST's test images) is
 * evaluated once, at the end, with the final (kept) weights: the figure to
 * report, untouched by every choice the run made on the validation split.
 * A CSV or image folder has no test set besides its `test =` file, which
 * replaces the split. Prints the test figures with their intervals. */
static int dl_final_test(const dl_model_api *api, void *m, int64_t batch, dl_stepper *st, dl_run_record *rec,
                         dl_eval_tally *tally, uint64_t seed)
{
    const dl_data_config *dc = &api->train->data;
    dl_dataset test = {0};
    int rc;
    if (dl_is_mnist_kind(dc->kind)) rc = dl_load_mnist_dir(dc->path, "test", &test);
    else if (strcmp(dc->kind, "fashion_mnist_masks") == 0)
        rc = dl_load_mnist_dir(dc->path, "test", &test) || dl_dataset_to_masks(&test, dc->mask_threshold);
    else if (strcmp(dc->kind, "cifar10") == 0) rc = dl_load_cifar10_dir(dc->path, "test", &test);
    else return 0;
    double loss, acc, iou;
    rc = rc || (dl_one_input_form(api) ? dl_check_fit(api, &test, "test") : dl_check_classes(api, &test, "test")) ||
         dl_evaluate(api, m, &test, batch, st, &loss, &acc, &iou, rec, tally);
    dl_dataset_free(&test);
    if (rc) {
        char what[4200];
        snprintf(what, sizeof what, "evaluating the test set of %s after training", dc->path);
        dl_error_context(what);
        return -1;
    }
    printf("test set, evaluated once after training with the final weights:\n");
    if (rec->confusion && rec->classes <= DL_CONFUSION_MAX_PRINTED)
        dl_confusion_print(stdout, rec->confusion, rec->classes, "test");
    const dl_report rep = {.eval_name = "test", .metrics = api->train->metrics, .tally = tally,
                           .confusion = rec->confusion, .classes = rec->classes, .seed = seed ^ 0x7e57ULL};
    return dl_report_print(stdout, &rep);
}

static int dl_is_text_kind(const char *kind)
{
    return kind && (strcmp(kind, "text") == 0 || strcmp(kind, "tokens") == 0);
}

/* The validation ids must make one contiguous batch (dl_evaluate_text): checked
 * before training, not after its first epoch, and naming the file. */
static int dl_check_text_val(const dl_text_data *td, const dl_data_config *dc)
{
    if (td->n_val == 0) return 0;
    dl_source src;
    dl_data_config vc = *dc;
    vc.contiguous = 1;
    if (dl_source_text(&src, td->val, td->n_val, &vc, td->vocab_size, 0) == 0) {
        src.close(&src);
        return 0;
    }
    char what[4200];
    snprintf(what, sizeof what, "%s: its validation split (val_split = %g)", dc->path, dc->val_split);
    dl_error_context(what);
    return -1;
}

/* Mean loss and per-position accuracy of a language model over the
 * validation ids, in the order of the text, the state carried as in training. */
static int dl_evaluate_text(const dl_model_api *api, void *m, const dl_text_data *td, const dl_data_config *dc,
                            dl_stepper *st, double *loss, double *acc)
{
    dl_source src;
    dl_data_config vc = *dc;
    vc.contiguous = 1; /* every validation position once, in order */
    if (dl_source_text(&src, td->val, td->n_val, &vc, td->vocab_size, 0)) return -1;
    double loss_sum = 0;
    int64_t seen = 0, correct = 0, rows_seen = 0, rows, n;
    dl_batch db;
    if (api->reset_state) api->reset_state(m);
    while ((n = src.next(&src, &db)) > 0) {
        dl_clear_error();
        if (db.reset && api->reset_state) api->reset_state(m);
        const float l = dl_stepper_bind(st, &db) ? NAN : dl_stepper_eval(st, m);
        if (isnan(l) && dl_last_error()[0]) {
            src.close(&src);
            return -1;
        }
        loss_sum += (double)l * n;
        seen += n;
        correct += dl_stepper_count_correct(st, &db, -1, &rows);
        rows_seen += rows;
    }
    src.close(&src);
    if (seen == 0) {
        dl_set_error("the validation text is shorter than one batch of %lld x %lld tokens", (long long)dc->batch,
                     (long long)dc->seq_len);
        return -1;
    }
    *loss = loss_sum / seen;
    *acc = rows_seen ? (double)correct / rows_seen : NAN;
    return 0;
}

/* A segmentation model's first output, logits [K, H, W] a sample (classes on
 * axis 1 of the batch, as PyTorch's), must have a class for every id of the
 * masks; ignore_index is no class. */
static int dl_check_segment(const dl_model_api *api, const dl_segment_data *sg, int ignore)
{
    if (api->n_outputs < 1) return 0;
    const dl_io_info *o = &api->outputs[0];
    const int64_t k = o->rank == 3 ? o->shape[0] : 0;
    if (k > 0 && sg->max_label >= k) {
        dl_set_error("%s: a pixel of class %d, but output '%s' of model '%s' has %lld classes (axis 1); mask values are "
                     "class ids 0 to %lld, or %d (ignored)", sg->max_where, sg->max_label, o->name, api->name,
                     (long long)k, (long long)k - 1, ignore);
        return -1;
    }
    return 0;
}

/* The classes of output 0 (its last dimension) must hold every id the data
 * gives: a seq2seq_task's digits + 4, a masked-token batch's [MASK] (the
 * vocabulary size). An embedding would report the first id beyond its table,
 * but not a dense output that is merely too narrow. */
static int dl_check_vocab(const dl_model_api *api, int64_t need, const char *why)
{
    if (api->n_outputs < 1) return 0;
    const dl_io_info *o = &api->outputs[0];
    const int64_t v = o->rank > 0 ? o->shape[o->rank - 1] : 0;
    if (v > 0 && v < need) {
        dl_set_error("data: output '%s' of model '%s' has %lld classes, too few for %s: %lld are needed", o->name, api->name,
                     (long long)v, why, (long long)need);
        return -1;
    }
    return 0;
}

dl_run_result dl_run_result_none(void)
{
    dl_run_result r = {0};
    r.test_loss = r.test_accuracy = r.test_iou = NAN;
    r.test_exact_teacher = r.test_exact_greedy = r.test_bits_per_dim = NAN;
    r.test_map50 = r.test_map50_95 = NAN;
    return r;
}

static int dl_train_rank(const dl_model_api *api, const dl_run_options *options, dl_run_result *res);

/* One rank's run; a rank that fails tells the others at the collective they
 * are waiting in (dist.h), unless a failure was already seen by all. */
int dl_run_training(const dl_model_api *api, const dl_run_options *options, dl_run_result *res)
{
    if (dl_dist_begin()) return -1;
    const int rc = dl_train_rank(api, options, res);
    if (rc && !dl_dist_stopped()) dl_dist_check(1);
    return rc;
}

static int dl_train_rank(const dl_model_api *api, const dl_run_options *options, dl_run_result *res)
{
    dl_run_options opt = {0};
    if (options) opt = *options;
    dl_run_result result = dl_run_result_none();
    double seg_miou = NAN;                /* images(masks = ...) with metrics = [mean_iou]: the last epoch's */
    if (res) *res = result;
    if (!api) { dl_set_error("dl_run_training: no model"); return -1; }
    if (api->abi_version != DL_ABI_VERSION) {
        dl_set_error("model '%s' was compiled for runtime ABI %d; this libdlnrt %s is ABI %d", api->name,
                     api->abi_version, DLNRT_VERSION, DL_ABI_VERSION);
        return -1;
    }
    const dl_train_config *cfg = api->train;
    if (!cfg) { dl_set_error("model '%s' has no train section", api->name); return -1; }
    if (!(api->create || api->create_io) || !api->destroy || !api->init || !(api->train_step || api->train_io) ||
        !api->set_lr) {
        dl_set_error("model '%s': incomplete dl_model_api (create/destroy/init/train_step/set_lr)", api->name);
        return -1;
    }
    const int epochs = opt.epochs > 0 ? opt.epochs : cfg->epochs;
    const uint64_t seed = opt.seed_set ? opt.seed : cfg->seed;
    const char *checkpoint = opt.checkpoint ? opt.checkpoint : cfg->checkpoint;
    const int64_t batch = cfg->data.batch;
    if (epochs <= 0 || batch <= 0) {
        dl_set_error("train section of '%s': need epochs > 0 and batch > 0 (got %d, %lld)", api->name, epochs,
                     (long long)batch);
        return -1;
    }
    /* data-parallel (dist.h): rank 0 alone evaluates, keeps the history and saves */
    const int ranks = dl_dist_size(), lead = dl_dist_rank() == 0;
    if (ranks > 1 && batch < ranks) {
        dl_set_error("train section of '%s': a batch of %lld cannot be shared by %d ranks", api->name, (long long)batch,
                     ranks);
        return -1;
    }
    if (!lead) opt.history_csv = NULL;

    dl_dataset train = {0}, eval = {0};
    dl_text_data td = {0};
    dl_seq2seq_data sd = {0};
    dl_graph graph = {0};
    dl_graphset gset = {0};
    dl_detect_data dd = {0};
    dl_segment_data sg = {0};
    int have_eval, rc = -1;
    const int text = dl_is_text_kind(cfg->data.kind);
    const int s2s = cfg->data.kind && strcmp(cfg->data.kind, "seq2seq_task") == 0;
    const int is_graph = cfg->data.kind && (strcmp(cfg->data.kind, "graph") == 0 || strcmp(cfg->data.kind, "sbm") == 0);
    const int det = cfg->data.kind && strcmp(cfg->data.kind, "detection_canvas") == 0;
    const int is_gset = cfg->data.kind && strcmp(cfg->data.kind, "graphs") == 0;
    const int seg = cfg->data.kind && strcmp(cfg->data.kind, "images") == 0;
    char vocab_meta[2 * 256 + 16];
    if (text) {
        /* a language model's corpus: next-token batches of named fields */
        if (strcmp(cfg->data.kind, "text") == 0 ? dl_load_text(cfg->data.path, cfg->data.val_split, &td)
                                                : dl_load_tokens(cfg->data.path, cfg->data.vocab, cfg->data.val_split, &td))
            return -1;
        have_eval = td.n_val > 0;
        if (td.has_vocab) dl_vocab_to_meta(&td.vocab, vocab_meta);
    } else if (s2s) {
        /* generated from the run's seed: no file, the same sequences every time */
        if (dl_seq2seq_generate(&cfg->data, seed, &sd)) return -1;
        have_eval = sd.n_test > 0;
    } else if (is_graph) {
        /* one graph, full batch: the splits are masks over its nodes */
        if (strcmp(cfg->data.kind, "graph") == 0 ? dl_graph_load(cfg->data.path, &graph) : dl_graph_sbm(&cfg->data, &graph))
            return -1;
        have_eval = graph.count[DL_SPLIT_VAL] + graph.count[DL_SPLIT_TEST] > 0;
    } else if (is_gset) {
        /* many small graphs, a batch of them per step: the splits are the graphs' */
        if (dl_graphset_load(cfg->data.path, &gset)) return -1;
        for (int k = 0; k < 4; k++) graph.count[k] = gset.count[k];   /* the eval split, chosen as for one graph */
        have_eval = gset.count[DL_SPLIT_VAL] + gset.count[DL_SPLIT_TEST] > 0;
    } else if (det) {
        /* canvases generated from the run's seed and the Fashion-MNIST items */
        if (dl_detect_generate(&cfg->data, seed, &dd)) return -1;
        have_eval = dd.n_test > 0;
    } else if (seg) {
        /* images and their masks: a class id per pixel */
        if (dl_segment_load(&cfg->data, &sg)) return -1;
        have_eval = sg.n_test > 0;
    } else if (dl_load_data(&cfg->data, seed, &train, &eval, &have_eval)) {
        return -1;
    }
    have_eval = have_eval && (api->eval_step || api->eval_io);
    void *m = NULL;
    dl_stepper st = {0};
    dl_source src = {0};
    dl_batch db;
    FILE *history = NULL;
    dl_run_record rec = {0};
    dl_live live = {0};                   /* the in-epoch line, erased before an error is printed */
    dl_keep_best kb;
    dl_lookahead la = {0};
    dl_swa swa = {0};
    dl_keep_best_init(&kb);
    dl_eval_tally tally = {0};
    /* a validation split is held out of the training data, never the test set */
    const char *eval_name = cfg->data.val_split > 0 ? "val" : "test";
    /* a graph is evaluated on its validation nodes every epoch, on its test nodes at the end */
    const int eval_split = graph.count[DL_SPLIT_VAL] ? DL_SPLIT_VAL : DL_SPLIT_TEST;
    if (is_graph || is_gset) {
        eval_name = eval_split == DL_SPLIT_VAL ? "val" : "test";
        if (dl_check_vocab(api, is_gset ? gset.classes : graph.classes, "the graph's labels")) goto done;
    } else if (text || s2s) {
        /* the model's own checks name a token id beyond an embedding's table */
        char why[96];
        snprintf(why, sizeof why, s2s ? "seq2seq_task's tokens (digits + 4)"
                                      : "masked tokens (the %lld ids of the vocabulary, then [MASK] = %lld)",
                 (long long)td.vocab_size, (long long)td.vocab_size);
        if (s2s ? dl_check_vocab(api, sd.vocab, why) : cfg->data.mlm > 0 && dl_check_vocab(api, td.vocab_size + 1, why))
            goto done;
        if (text && dl_check_text_val(&td, &cfg->data)) goto done;
        /* next-token targets: per-position logits ([T, V] a sample) must have a class for
         * every id, or the run would stop at the first batch holding a rare byte */
        snprintf(why, sizeof why, "the next-token targets (the %lld ids of the vocabulary)", (long long)td.vocab_size);
        if (text && cfg->data.mlm == 0 && api->n_outputs > 0 && api->outputs[0].rank == 2 &&
            dl_check_vocab(api, td.vocab_size, why))
            goto done;
    } else if (det) {
        /* the fields' shapes are checked when the stepper binds them */
    } else if (seg) {
        if (dl_check_segment(api, &sg, cfg->data.ignore_index)) goto done;
    } else if (dl_one_input_form(api) ? dl_check_fit(api, &train, "training") || (have_eval && dl_check_fit(api, &eval, eval_name))
               : dl_check_classes(api, &train, "training") || (have_eval && dl_check_classes(api, &eval, eval_name))) {
        /* the files' name: a label beyond the model's classes is as likely a damaged file as the wrong model */
        if (cfg->data.path && *cfg->data.path) dl_error_context(cfg->data.path);
        goto done;
    }
    /* the training batches as named fields; the steps' arguments bound to them
     * by name, the bounds of the model's symbols from the source's largest batch */
    if (is_graph ? dl_source_graph(&src, &graph, DL_SPLIT_TRAIN)
        : is_gset ? dl_source_graphset(&src, &gset, DL_SPLIT_TRAIN, batch, cfg->data.shuffle, seed + 1)
        : s2s ? dl_source_seq2seq(&src, &sd, 0, sd.n_train, batch, cfg->data.shuffle, seed + 1)
        : det ? dl_source_detect(&src, &dd, 0, dd.n_train, batch, cfg->data.shuffle, seed + 1)
        : seg ? dl_source_segment(&src, &sg, 0, sg.n_train, batch, cfg->data.shuffle, seed + 1, &cfg->data.augment, 1,
                                  cfg->data.ignore_index)
        : text ? dl_source_text(&src, td.train, td.n_train, &cfg->data, td.vocab_size, seed + 1)
             : dl_source_dataset(&src, &train, dl_first_field(&cfg->data), batch, cfg->data.shuffle, seed + 1,
                                 &cfg->data.augment, 1, dl_one_hot_width(api, &train)))
        goto done;
    if (dl_stepper_init(&st, api, &src.bounds, is_graph || is_gset ? 1 : batch)) goto done;
    m = dl_stepper_create(&st);
    if (!m) { dl_error_context("creating the model"); goto done; }
    api->init(m, seed);
    if (cfg->init_from && dl_init_from(api, m, cfg)) goto done;
    if (cfg->param_groups) printf("%s\n", cfg->param_groups);
    /* lookahead's slow weights: the initial weights (a resumed run's, its checkpoint's) */
    if (dl_lookahead_init(&la, cfg, api, m) || dl_swa_init(&swa, cfg, api)) goto done;
    if (swa.start > 0 && ranks > 1) {
        dl_set_error("swa is not supported in a data-parallel run yet; run it on one rank");
        goto done;
    }
    if (swa.start > epochs && !opt.quiet) /* (a run in parts: --epochs now, --resume later) */
        printf("swa: averaging starts at epoch %d, after this run's %d: these epochs train as without swa\n",
               swa.start, epochs);
    /* --resume: the last run checkpoint's state, and the data order replayed to
     * where it stood (a fresh run when there is no checkpoint yet) */
    dl_run_position at = {.seed = seed, .vocab = text && td.has_vocab ? vocab_meta : NULL, .slow = la.slow, .swa = swa.avg};
    if (opt.resume && checkpoint && access(checkpoint, F_OK) == 0) {
        if (dl_run_load(api, m, checkpoint, &at)) { dl_error_context("--resume"); goto done; }
        for (int k = 1; k < at.epochs_done && k < epochs; k++) src.reset(&src);
        result.steps = at.steps;
        result.epochs_done = at.epochs_done;
        printf("resuming from %s: %d epoch%s, %lld steps done\n", checkpoint, at.epochs_done,
               at.epochs_done == 1 ? "" : "s", (long long)at.steps);
    }
    /* early stopping and a plateau schedule watch the validation split; their
     * state (best value, epochs without improvement) is not in a run checkpoint */
    const dl_early_stop *es = &cfg->early_stop;
    const int plateau = cfg->sched.kind == DL_SCHED_PLATEAU;
    if ((es->patience > 0 || plateau) && !(have_eval && cfg->data.val_split > 0 && !cfg->data.test_path)) {
        dl_set_error("%s watches the validation loss: the data needs a validation split (val_split > 0), never the "
                     "test set", es->patience > 0 ? "early_stop" : "sched = plateau(...)");
        goto done;
    }
    if ((es->patience > 0 || plateau) && at.epochs_done > 0) {
        dl_set_error("--resume: a run with %s cannot be resumed (its best epoch and patience are not in the "
                     "checkpoint); start it afresh", es->patience > 0 ? "early_stop" : "sched = plateau(...)");
        goto done;
    }
    if ((es->patience > 0 || plateau) && ranks > 1) {
        dl_set_error("%s is not supported in a data-parallel run (rank 0 alone evaluates); run it on one rank",
                     es->patience > 0 ? "early_stop" : "sched = plateau(...)");
        goto done;
    }
    if (!lead) have_eval = 0;
    dl_plateau pl;
    dl_plateau_init(&pl);
    dl_step_log slog = {.every = opt.log_every > 0 ? opt.log_every : opt.quiet ? 0 : cfg->log_every};
    const int exact = s2s && have_eval && (cfg->metrics & DL_METRIC_EXACT_MATCH);
    /* bits per dimension: the test loss read as a mean NLL in nats per dimension */
    const int bpd = have_eval && (cfg->metrics & DL_METRIC_BITS_PER_DIM);
    const int plain = !det && !seg && !s2s && !text && !is_graph && !is_gset;
    const unsigned hist_cols =
        (exact ? DL_HIST_EXACT : 0) | (bpd ? DL_HIST_BPD : 0) |
        (have_eval && plain && (cfg->metrics & DL_METRIC_IOU) && eval.label_kind == DL_LABEL_DENSE ? DL_HIST_IOU : 0) |
        (have_eval && seg && (cfg->metrics & DL_METRIC_MEAN_IOU) ? DL_HIST_MEAN_IOU : 0) |
        (have_eval && det && (cfg->metrics & (DL_METRIC_MAP | DL_METRIC_MAP_BOXES)) ? DL_HIST_MAP : 0);
    if (opt.history_csv && !(history = dl_history_open(opt.history_csv, eval_name, at.epochs_done, hist_cols)))
        goto done;
    /* a confusion matrix where accuracy is measured (see dl_evaluate) */
    const unsigned class_metrics = DL_METRIC_ACCURACY | DL_METRIC_PRECISION | DL_METRIC_RECALL | DL_METRIC_F1 |
                                   DL_METRIC_PER_CLASS | DL_METRIC_CONFUSION;
    const int classes = have_eval && eval.label_kind == DL_LABEL_CLASS && !text && !s2s && !det && !seg &&
                        (!cfg->metrics || (cfg->metrics & class_metrics)) ? dl_class_count(api) : 0;
    if (dl_record_open(&rec, opt.history_csv, classes)) goto done;

    /* every rank ready, and running the same run: else they would not meet at the same collectives */
    if (ranks > 1) {
        const int64_t same[] = {epochs, opt.max_steps, batch, src.batches, api->n_params, (int64_t)seed,
                                at.epochs_done, at.steps};
        static const char *const names[] = {"epochs", "--max-steps", "batch", "batches per epoch", "parameters",
                                            "seed", "epochs done (--resume)", "steps done (--resume)"};
        if (dl_dist_check(0) || dl_dist_same(same, names, 8)) goto done;
    }
    const int64_t batches = src.batches;
    const int64_t group = cfg->accumulate > 1 ? cfg->accumulate : 1; /* batches per optimizer step */
    /* every rank knows what was saved (for its messages); rank 0 alone writes it */
    const int saves = checkpoint && api->save;
    const double t_start = dl_now();
    dl_team team;
    dl_team_start(&team, &opt);
    int last_saved = at.epochs_done;
    dl_live_init(&live, stderr, opt.quiet || !lead, opt.progress_every); /* rank 0 alone draws it */
    for (int e = at.epochs_done; e < epochs; e++) {
        const double t0 = dl_now();
        if (e > 0) src.reset(&src);
        dl_live_epoch(&live, e + 1, epochs, dl_live_total(batches, opt.max_steps, result.steps));
        /* carried state starts every epoch from its initializer (so a resumed run replays it exactly) */
        if (api->reset_state) api->reset_state(m);
        double loss_sum = 0;
        int64_t seen = 0, n, bi = 0;
        int stop = 0;
        while (!(stop = opt.max_steps > 0 && result.steps >= opt.max_steps) && (n = src.next(&src, &db)) > 0) {
            /* the schedule moves once per optimizer step: with accumulate = k, once per group of k
             * batches; SWA's epochs run at swa(lr = ...)'s constant rate */
            const float lr =
                swa.start > 0 && e + 1 >= swa.start && cfg->swa_lr > 0
                    ? dl_swa_lr(cfg, e + 1, dl_sched_lr(&cfg->sched, cfg->optim.lr, epochs, swa.start - 1) * pl.scale)
                    : dl_sched_lr(&cfg->sched, cfg->optim.lr, epochs, e + (double)(bi / group) / ((batches + group - 1) / group)) *
                          pl.scale;
            api->set_lr(m, lr);
            /* an epoch's (or a --max-steps run's) last batch closes a short group: its update is not carried over */
            if (group > 1 && api->end_group && (bi + 1 >= batches || (opt.max_steps > 0 && result.steps + 1 >= opt.max_steps)))
                api->end_group(m);
            dl_clear_error();
            if (db.reset && api->reset_state) api->reset_state(m); /* the batch starts a new stream */
            /* data-parallel: this rank's slice of the global batch (a rank
             * left without rows trains on row 0 with weight 0, to update alike) */
            dl_batch mine = db;
            if (ranks > 1) {
                int64_t first, count;
                dl_dist_shard(n, &first, &count);
                dl_dist_step_begin(n, count);
                dl_dist_rows(&mine, &db, count ? first : 0, count ? count : 1);
            }
            dl_team_begin(&team);
            const double t_step = dl_now();
            float loss = dl_stepper_bind(&st, &mine) ? NAN : dl_stepper_train(&st, m);
            dl_team_report(&team, dl_now() - t_step, n, &opt, lead);
            if (ranks > 1) {
                /* the global batch's loss; a step that failed here is told to the others at done */
                const int reduced = dl_dist_step_end(&loss);
                if (dl_dist_stopped()) goto done; /* another rank failed: its reason is the error */
                if (!reduced && isfinite(loss)) {
                    dl_set_error("model '%s' was compiled without dl_grads_reduce (an older dlnc): rebuild it to "
                                 "train on several ranks", api->name);
                    goto done;
                }
            }
            bi++;
            if (!isfinite(loss)) {
                /* a NaN with a reason is a failed step: its reason says more than the NaN */
                char why[512];
                snprintf(why, sizeof why, "%s", dl_last_error());
                if (why[0] && isnan(loss))
                    dl_set_error("%s (epoch %d, batch %lld of %lld)", why, e + 1, (long long)bi, (long long)batches);
                else
                    dl_set_error("non-finite loss (%s) at epoch %d, step %lld (batch %lld of %lld)",
                                 dl_nonfinite_name(loss), e + 1, (long long)(result.steps + 1), (long long)bi,
                                 (long long)batches);
                dl_error_kept(last_saved, checkpoint, saves);
                /* the global loss of a batch whose non-finite part was another rank's
                 * rows: that rank's message is the one every rank reports */
                if (ranks > 1) dl_dist_follow();
                goto done;
            }
            loss_sum += (double)loss * n;
            seen += n;
            result.steps++;
            dl_lookahead_step(&la, api, m, result.steps);
            dl_record_step(&rec, result.steps, e + (double)bi / batches, loss);
            if (slog.every > 0 && slog.count + 1 >= slog.every) dl_live_clear(&live);
            dl_step_log_add(&slog, stdout, result.steps, e + 1, loss, lr);
            char running[48];
            snprintf(running, sizeof running, "loss %.4f", loss_sum / seen);
            dl_live_step(&live, bi, seen, running);
        }
        dl_live_clear(&live);
        if (seen == 0) break;   /* max_steps reached exactly at an epoch boundary */
        /* SWA: this epoch's weights into the average; the last epoch ends on it, update_bn done */
        dl_swa_epoch(&swa, api, m, e + 1);
        if (swa.start > 0 && e + 1 >= swa.start && (e + 1 == epochs || stop)) {
            if (dl_swa_finish(&swa, api, m, &st, &src)) {
                dl_error_context("SWA's update_bn");
                dl_error_kept(last_saved, checkpoint, saves);
                goto done;
            }
            if (!opt.quiet)
                printf("swa: the weights averaged over epochs %d..%d, batch norm statistics recomputed over the "
                       "training data\n", swa.start, e + 1);
        }
        const double t_train = dl_now() - t0;
        dl_epoch_stats s = {.epoch = e + 1, .epochs = epochs, .train_loss = loss_sum / seen,
                            .eval_name = eval_name, .test_loss = NAN, .test_acc = NAN, .test_iou = NAN,
                            .test_exact_teacher = NAN, .test_exact_greedy = NAN, .test_bits_per_dim = NAN,
                            .test_map50 = NAN, .test_map50_95 = NAN, .test_mean_iou = NAN,
                            .samples_per_s = seen / (t_train > 0 ? t_train : 1e-9)};
        /* batch norm's running statistics: each rank's, averaged */
        if (dl_dist_average_buffers(api, m)) goto done;
        dl_seq2seq_scores sc;
        dl_detect_scores ds;
        if (have_eval &&
            (det ? dl_evaluate_detect(m, &dd, batch, &st, (cfg->metrics & DL_METRIC_MAP_BOXES) ? 2 : (cfg->metrics & DL_METRIC_MAP) != 0, &ds)
             : is_graph ? dl_evaluate_graph(api, m, &graph, eval_split, &st, &s.test_loss, &s.test_acc)
             : seg ? dl_evaluate_segment(m, &sg, batch, &st, &cfg->data.augment, cfg->data.ignore_index, &s.test_loss,
                                         &s.test_acc, (cfg->metrics & DL_METRIC_MEAN_IOU) ? &s.test_mean_iou : NULL)
             : is_gset ? dl_evaluate_graphset(api, m, &gset, eval_split, batch, &st, &s.test_loss, &s.test_acc)
             : s2s  ? dl_evaluate_seq2seq(api, m, &sd, batch, &st, (cfg->metrics & DL_METRIC_EXACT_MATCH) != 0, &sc)
             : text ? dl_evaluate_text(api, m, &td, &cfg->data, &st, &s.test_loss, &s.test_acc)
                    : dl_evaluate(api, m, &eval, batch, &st, &s.test_loss, &s.test_acc, &s.test_iou, &rec, &tally))) {
            char what[96];
            snprintf(what, sizeof what, "evaluating on the %s after epoch %d",
                     eval_name[0] == 'v' ? "validation split" : "test set", e + 1);
            dl_error_context(what);
            dl_error_kept(last_saved, checkpoint, saves);
            goto done;
        }
        if (have_eval && s2s) {
            s.test_loss = sc.loss, s.test_acc = sc.accuracy;
            s.test_exact_teacher = sc.exact_teacher, s.test_exact_greedy = sc.exact_greedy;
        }
        if (have_eval && det) s.test_loss = ds.loss, s.test_map50 = ds.map50, s.test_map50_95 = ds.map50_95;
        if (bpd) s.test_bits_per_dim = dl_bits_per_char(s.test_loss);
        s.seconds = dl_now() - t0;
        s.eta_seconds = (dl_now() - t_start) / (e + 1) * (epochs - e - 1);
        result.epochs_done = e + 1;
        result.final_train_loss = s.train_loss;
        result.test_loss = s.test_loss;
        result.test_accuracy = s.test_acc;
        result.test_iou = s.test_iou;
        seg_miou = s.test_mean_iou;
        result.test_exact_teacher = s.test_exact_teacher;
        result.test_exact_greedy = s.test_exact_greedy;
        result.test_bits_per_dim = s.test_bits_per_dim;
        result.test_map50 = s.test_map50, result.test_map50_95 = s.test_map50_95;
        if (!opt.quiet) dl_progress_epoch(stdout, &s);
        if (history) dl_history_row(history, hist_cols, &s);
        if (dl_record_epoch(&rec)) goto done;
        /* The epoch's line is out (it shows the damage); now refuse to save
         * or go on from non-finite weights or figures. Accuracy and IoU are
         * ratios of counts and always finite; the loss is what can overflow. */
        int bad = dl_scan_params(api, m);
        if (!bad && have_eval && !isfinite(s.test_loss)) {
            dl_set_error("non-finite %s loss (%s)", eval_name, dl_nonfinite_name((float)s.test_loss));
            bad = -1;
        }
        if (bad) {
            char why[512];
            snprintf(why, sizeof why, "%s", dl_last_error());
            dl_set_error("%s after epoch %d, step %lld; rerun with --check-numerics to find the op that produced it",
                         why, e + 1, (long long)result.steps);
            dl_error_kept(last_saved, checkpoint, saves);
            goto done;
        }
        /* with early stopping only an improving epoch is saved: the file holds the best weights */
        const int improved = es->patience > 0 && dl_keep_best_update(&kb, es, e + 1, s.test_loss, s.test_acc);
        if (improved && dl_keep_best_snapshot(&kb, api, m)) goto done;
        if (saves && (es->patience <= 0 || improved)) {
            at.epochs_done = e + 1, at.steps = result.steps;
            if (lead && dl_run_save(api, m, checkpoint, &at)) { dl_error_context("saving the checkpoint"); goto done; }
            last_saved = e + 1;
        }
        /* every rank waits for rank 0's evaluation and save */
        if (dl_dist_check(0)) goto done;
        if (plateau && dl_plateau_step(&pl, &cfg->sched, cfg->optim.lr, s.test_loss) && !opt.quiet)
            printf("plateau: val_loss has not improved for %d epoch%s: lr x %g = %.4g from epoch %d\n",
                   cfg->sched.patience + 1, cfg->sched.patience ? "s" : "", (double)cfg->sched.factor,
                   (double)cfg->optim.lr * pl.scale, e + 2);
        if (es->patience > 0 && dl_keep_best_exhausted(&kb, es)) {
            printf("early stop after epoch %d: %s has not improved by more than %g for %d epochs\n", e + 1,
                   dl_monitor_name(es->monitor), (double)es->min_delta, es->patience);
            break;
        }
        if (stop) break;
    }
    if (es->patience > 0 && kb.best_epoch > 0) {
        /* the run ends on the kept weights: its final figures (and confusion matrix) are theirs */
        result.best_epoch = kb.best_epoch;
        if (kb.best_epoch != result.epochs_done) {
            dl_keep_best_restore(&kb, api, m);
            double l = NAN, a = NAN, u = NAN;
            if (text ? dl_evaluate_text(api, m, &td, &cfg->data, &st, &l, &a)
                     : dl_evaluate(api, m, &eval, batch, &st, &l, &a, &u, &rec, &tally)) {
                dl_error_context("evaluating the kept epoch");
                goto done;
            }
            result.test_loss = l, result.test_accuracy = a, result.test_iou = u;
        }
        printf("kept epoch %d (%s %.4f)%s%s\n", kb.best_epoch, dl_monitor_name(es->monitor), kb.best,
               saves ? " in " : "", saves ? checkpoint : "");
    }
    const double total = dl_now() - t_start;
    result.seconds_per_epoch = result.epochs_done ? total / result.epochs_done : 0;
    if (dl_record_finish(&rec, eval_name, opt.quiet)) goto done;
    if (have_eval && !text && !s2s && !det && !seg && result.epochs_done > 0) {
        /* every figure of the last evaluation (the kept epoch's) with its 95% interval */
        const dl_report rep = {.eval_name = eval_name, .metrics = cfg->metrics, .tally = &tally,
                               .confusion = rec.confusion, .classes = rec.classes, .seed = seed ^ 0xb007ULL,
                               .history = opt.history_csv};
        if (dl_report_print(opt.quiet ? NULL : stdout, &rep)) goto done;
        if (!opt.quiet && eval_name[0] == 'v' && !cfg->data.test_path &&
            dl_final_test(api, m, batch, &st, &rec, &tally, seed))
            goto done;
    }
    if (dl_dist_check(0)) goto done;
    if (ranks > 1 && !opt.quiet)
        printf("data-parallel: %d ranks, batch %lld = %lld per rank; gradient exchange %.2f s of %.2f s (%.1f%%) over "
               "%lld steps, of which %.2f s waiting for the slowest rank\n", ranks, (long long)batch,
               (long long)(batch / ranks), dl_dist_reduce_seconds(), total,
               total > 0 ? 100.0 * dl_dist_reduce_seconds() / total : 0.0, (long long)dl_dist_reduce_calls(),
               dl_dist_wait_seconds());
    /* --quiet drops the per-epoch lines, never the result */
    {
        char took[32];
        dl_format_duration(total, took, sizeof took);
        printf("done: %d epoch%s, %lld steps in %s", result.epochs_done, result.epochs_done == 1 ? "" : "s",
               (long long)result.steps, took);
        if (!isnan(result.test_accuracy)) printf(", %s_acc %.2f%%", eval_name, 100.0 * result.test_accuracy);
        else if (!isnan(result.test_iou)) printf(", %s_iou %.4f", eval_name, result.test_iou);
        else if (!isnan(result.test_bits_per_dim))
            printf(", %s_loss %.4f (%.4f bits per dimension)", eval_name, result.test_loss, result.test_bits_per_dim);
        else if (!isnan(result.test_loss)) printf(", %s_loss %.4f", eval_name, result.test_loss);
        if (!isnan(seg_miou)) printf(", %s_mean_iou %.4f", eval_name, seg_miou);
        if (!isnan(result.test_exact_teacher))
            printf(", %s_exact_teacher %.2f%%, %s_exact_greedy %.2f%%", eval_name, 100.0 * result.test_exact_teacher,
                   eval_name, 100.0 * result.test_exact_greedy);
        /* a masked-token loss is over the masked positions only: not a compression rate of the text */
        if (text && !isnan(result.test_loss) && cfg->data.mlm > 0)
            printf(", %s_loss %.4f (masked tokens)", eval_name, result.test_loss);
        else if (text && !isnan(result.test_loss))
            printf(", %s_loss %.4f (%.3f bits per %s)", eval_name, result.test_loss, dl_bits_per_char(result.test_loss),
                   td.has_vocab ? "character" : "token");
        if ((is_graph || is_gset) && eval_split == DL_SPLIT_VAL && graph.count[DL_SPLIT_TEST] && result.epochs_done) {
            double tl, ta;
            if (is_gset ? dl_evaluate_graphset(api, m, &gset, DL_SPLIT_TEST, batch, &st, &tl, &ta)
                        : dl_evaluate_graph(api, m, &graph, DL_SPLIT_TEST, &st, &tl, &ta)) {
                printf("\n");
                dl_error_context(is_gset ? "evaluating on the test graphs" : "evaluating on the test nodes");
                goto done;
            }
            /* no accuracy when the output is not per-node (per-graph) classes: a link predictor's */
            if (isnan(ta))
                printf(", test_loss %.4f (%lld test %s)", tl, (long long)graph.count[DL_SPLIT_TEST], is_gset ? "graphs" : "nodes");
            else
                printf(", test_acc %.2f%% (%lld test %s)", 100.0 * ta, (long long)graph.count[DL_SPLIT_TEST],
                       is_gset ? "graphs" : "nodes");
        }
        if (!isnan(result.test_map50))
            printf(", %s_map50 %.4f, %s_map50_95 %.4f", eval_name, result.test_map50, eval_name, result.test_map50_95);
        if (checkpoint && last_saved) printf(", saved %s", checkpoint);
        printf("\n");
        fflush(stdout);
    }
    rc = 0;
done:
    dl_live_clear(&live);
    if (res) *res = result;
    dl_keep_best_free(&kb);
    dl_lookahead_free(&la);
    dl_swa_free(&swa);
    dl_tally_free(&tally);
    if (history) fclose(history);
    dl_record_close(&rec);
    if (src.close) src.close(&src);
    dl_stepper_free(&st);
    if (m) api->destroy(m);
    dl_dataset_free(&train);
    dl_dataset_free(&eval);
    dl_text_data_free(&td);
    dl_seq2seq_free(&sd);
    dl_graph_free(&graph);
    dl_graphset_free(&gset);
    dl_detect_free(&dd);
    dl_segment_free(&sg);
    return rc;
}
