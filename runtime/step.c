/* step.c — named-field batches to a model's step arguments.
 *
 * A data source hands the driver a dl_batch of named fields; a compiled
 * model (ABI 4) describes each of its step arguments (its inputs, then the
 * data fields its loss reads) by name, dtype and per-sample shape, a
 * run-time symbol such as T marked DL_DIM_SYM(k). Binding looks each
 * argument's field up by name, checks dtype and shape, and reads the symbol
 * values off the field shapes (all fields naming T must agree), so one
 * compiled model runs every length up to the bound it was created with.
 * The bounds come from a batch of the source's largest shapes at init. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "step_internal.h"

const dl_field *dl_batch_find(const dl_batch *b, const char *name)
{
    for (int i = 0; b && name && i < b->n_fields && i < 8; i++)
        if (b->field[i].name && strcmp(b->field[i].name, name) == 0) return &b->field[i];
    return NULL;
}

void dl_batch_from_dataset(dl_batch *b, const dl_dataset *d, const char *first_name, int64_t n, const float *x,
                           const void *y, int one_hot)
{
    memset(b, 0, sizeof *b);
    b->n = n;
    b->n_fields = 2;
    dl_field *f = &b->field[0];
    f->name = first_name ? first_name : "image";
    f->dtype = DL_F32;
    f->rank = d->x_rank;
    memcpy(f->shape, d->x_shape, sizeof d->x_shape);
    if (f->rank == 0) f->rank = 1, f->shape[0] = d->x_numel;
    f->data = x;
    f = &b->field[1];
    f->name = "label";
    f->data = y;
    if (one_hot > 0) {
        f->dtype = DL_F32, f->rank = 1, f->shape[0] = one_hot;
    } else if (d->label_kind == DL_LABEL_CLASS) {
        f->dtype = DL_I32, f->rank = 0;
    } else {
        f->dtype = DL_F32, f->rank = 1, f->shape[0] = d->y_numel;
    }
}

static int64_t field_numel(int rank, const int64_t *shape)
{
    int64_t k = 1;
    for (int i = 0; i < rank; i++) k *= shape[i];
    return k;
}

static const char *dtype_name(dl_dtype t) { return t == DL_I32 ? "i32" : "f32"; }

/* The batch's field names, for messages. */
static void field_names(const dl_batch *b, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = '\0';
    for (int i = 0; i < b->n_fields && i < 8 && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%s", i ? ", " : "", b->field[i].name);
}

/* Argument i against field f: dtype, shape, symbols into s->sym (set[k]: seen). */
static int check_arg(dl_stepper *s, int i, const dl_field *f, int *set)
{
    const dl_io_info *in = s->info[i];
    const char *model = s->api->name ? s->api->name : "?";
    if (f->dtype != in->dtype) {
        dl_set_error("data: the field '%s' is %s but model '%s' takes '%s' as %s", f->name, dtype_name(f->dtype), model,
                     in->name, dtype_name(in->dtype));
        return -1;
    }
    int symbolic = 0;
    for (int d = 0; d < in->rank; d++) symbolic |= in->shape[d] < 0;
    if (!symbolic) {
        /* a flat model input takes any sample shape of as many values (a CSV row, an image as f32[N, 784]) */
        if (field_numel(f->rank, f->shape) == field_numel(in->rank, in->shape)) return 0;
        dl_set_error("data: the field '%s' has %lld values per sample but model '%s' takes %lld for '%s'", f->name,
                     (long long)field_numel(f->rank, f->shape), model, (long long)field_numel(in->rank, in->shape),
                     in->name);
        return -1;
    }
    if (f->rank != in->rank) {
        dl_set_error("data: the field '%s' has rank %d per sample but model '%s' takes rank %d for '%s'", f->name, f->rank,
                     model, in->rank, in->name);
        return -1;
    }
    for (int d = 0; d < in->rank; d++) {
        if (in->shape[d] >= 0) {
            if (in->shape[d] == f->shape[d]) continue;
            dl_set_error("data: dimension %d of the field '%s' is %lld but model '%s' takes %lld", d + 1, f->name,
                         (long long)f->shape[d], model, (long long)in->shape[d]);
            return -1;
        }
        const int k = (int)-in->shape[d];
        const char *sn = s->api->sym_names && k < s->api->n_syms ? s->api->sym_names[k] : "?";
        if (k < 1 || k >= s->n_syms) {
            dl_set_error("data: model '%s' names symbol %d, which it does not have", model, k);
            return -1;
        }
        if (set[k] && s->sym[k] != f->shape[d]) {
            dl_set_error("data: the fields disagree on %s: %lld in '%s', %lld elsewhere", sn, (long long)f->shape[d],
                         f->name, (long long)s->sym[k]);
            return -1;
        }
        s->sym[k] = f->shape[d];
        set[k] = 1;
    }
    return 0;
}

int dl_stepper_bind(dl_stepper *s, const dl_batch *b)
{
    int set[DL_STEP_MAX_SYMS] = {0};
    s->sym[0] = b->n;
    for (int i = 0; i < s->n_args; i++) {
        const dl_field *f = s->field[i] ? dl_batch_find(b, s->field[i]) : b->n_fields > 0 ? &b->field[0] : NULL;
        if (!f) {
            char names[256];
            field_names(b, names, sizeof names);
            dl_set_error("data: model '%s' reads the field '%s' but the data gives only %s%s", s->api->name,
                         s->field[i], names,
                         strcmp(s->field[i], "edge_attr") == 0
                             ? " (edge_attr: the columns of edges.csv after source,target; this graph has none)"
                             : "");
            return -1;
        }
        if (s->io && check_arg(s, i, f, set)) return -1;
        s->arg[i] = f->data;
    }
    for (int k = 1; k < s->n_syms; k++) {
        if (!set[k]) {
            dl_set_error("data: no field gives the size of %s", s->api->sym_names ? s->api->sym_names[k] : "?");
            return -1;
        }
        if (s->sym_max[k] && s->sym[k] > s->sym_max[k]) {
            dl_set_error("data: %s = %lld is above its bound %lld", s->api->sym_names[k], (long long)s->sym[k],
                         (long long)s->sym_max[k]);
            return -1;
        }
    }
    for (int k = 0; s->io && k < s->n_out; k++) {
        const dl_io_info *o = &s->api->outputs[k];
        int64_t numel = 1;
        for (int d = 0; d < o->rank; d++) numel *= o->shape[d] >= 0 ? o->shape[d] : s->sym[-o->shape[d]];
        s->out_numel[k] = numel;
    }
    return 0;
}

int dl_stepper_init(dl_stepper *s, const dl_model_api *api, const dl_batch *bounds, int64_t max_batch)
{
    memset(s, 0, sizeof *s);
    s->api = api;
    s->io = api->train_io != NULL && api->create_io != NULL;
    if (!s->io) {
        /* an api filled by hand the ABI 3 way: x and y */
        s->n_args = 2;
        s->field[1] = "label";
        s->n_syms = 1;
        s->n_out = 1;
        s->out_numel[0] = api->out_numel;
    } else {
        if (api->n_inputs + api->n_fields > DL_STEP_MAX_ARGS || api->n_syms > DL_STEP_MAX_SYMS || api->n_outputs > 8) {
            dl_set_error("model '%s' has more inputs, fields, symbols or outputs than this driver takes", api->name);
            return -1;
        }
        s->n_syms = api->n_syms > 0 ? api->n_syms : 1;
        for (int i = 0; i < api->n_inputs; i++) {
            s->info[s->n_args] = &api->inputs[i];
            s->field[s->n_args++] = api->inputs[i].field ? api->inputs[i].field : api->inputs[i].name;
        }
        for (int i = 0; i < api->n_fields; i++) {
            s->info[s->n_args] = &api->fields[i];
            s->field[s->n_args++] = api->fields[i].name;
        }
        s->n_out = api->n_outputs;
    }
    if (dl_stepper_bind(s, bounds)) return -1;
    memcpy(s->sym_max, s->sym, sizeof s->sym);
    s->sym_max[0] = max_batch;
    for (int k = 0; k < s->n_out; k++) {
        s->out[k] = malloc((size_t)(max_batch * s->out_numel[k]) * sizeof(float) + 1);
        if (!s->out[k]) {
            dl_stepper_free(s);
            dl_set_error("out of memory");
            return -1;
        }
    }
    return 0;
}

void dl_stepper_free(dl_stepper *s)
{
    for (int k = 0; k < 8; k++) free(s->out[k]), s->out[k] = NULL;
}

void *dl_stepper_create(const dl_stepper *s)
{
    return s->io ? s->api->create_io(s->sym_max) : s->api->create(s->sym_max[0]);
}

float dl_stepper_train(dl_stepper *s, void *m)
{
    if (s->io) return s->api->train_io(m, s->arg, s->sym[0], s->n_syms > 1 ? s->sym + 1 : NULL);
    return s->api->train_step(m, s->arg[0], s->arg[1], s->sym[0]);
}

float dl_stepper_eval(dl_stepper *s, void *m)
{
    if (s->io) return s->api->eval_io(m, s->arg, s->out, s->sym[0], s->n_syms > 1 ? s->sym + 1 : NULL);
    return s->api->eval_step(m, s->arg[0], s->arg[1], s->out[0], s->sym[0]);
}

int64_t dl_stepper_count_correct(const dl_stepper *st, const dl_batch *b, int32_t ignore, int64_t *rows)
{
    const dl_model_api *api = st->api;
    *rows = 0;
    if (api->n_outputs < 1 || api->outputs[0].dtype != DL_F32) return 0;
    const dl_field *l = dl_batch_find(b, "label");
    if (!l || l->dtype != DL_I32) l = dl_batch_find(b, "targets");
    if (!l || l->dtype != DL_I32) l = dl_batch_find(b, "target");
    if (!l || l->dtype != DL_I32) return 0;
    /* masked-token batches are scored where the loss is: at the selected positions; a graph at the nodes of its split */
    const dl_field *w = dl_batch_find(b, "mlm_mask");
    if (!w) w = dl_batch_find(b, "mask");
    const dl_io_info *o = &api->outputs[0];
    const int64_t per = st->out_numel[0], v = o->rank > 0 && o->shape[o->rank - 1] > 0 ? o->shape[o->rank - 1] : 0;
    int64_t positions = 1;
    for (int d = 0; d < l->rank; d++) positions *= l->shape[d];
    if (v == 0 || positions * v != per) return 0;
    if (w && (w->dtype != DL_F32 || w->rank != l->rank || memcmp(w->shape, l->shape, sizeof *w->shape * (size_t)l->rank))) w = NULL;
    return dl_count_correct_where(st->out[0], l->data, w ? w->data : NULL, ignore, b->n * positions, (int)v, rows);
}

/* ---- the dataset source ------------------------------------------------------ */

/* A dataset's per-sample weights (a CSV weight column) as a third field, f32[N]. */
static void dl_add_weight_field(dl_batch *b, const float *w)
{
    dl_field *f = &b->field[b->n_fields++];
    memset(f, 0, sizeof *f);
    f->name = "weight", f->dtype = DL_F32, f->rank = 0, f->data = w;
}

/* The second view of each sample (views = 2) as the field image2, shaped like the first. */
static void dl_add_view_field(dl_batch *b, const float *x2)
{
    dl_field *f = &b->field[b->n_fields++];
    *f = b->field[0];
    f->name = "image2", f->data = x2;
}

/* A CSV's named columns (csv(columns = [...])) as fields f32[N] or i32[N],
 * each copied out of the batch's feature rows x (NULL: the bounds only). */
static void dl_add_column_fields(dl_batch *b, const dl_dataset *d, const float *x, void *buf, int64_t batch)
{
    for (int k = 0; k < d->n_columns; k++) {
        dl_field *f = &b->field[b->n_fields++];
        memset(f, 0, sizeof *f);
        f->name = d->column_name[k], f->dtype = d->column_i32[k] ? DL_I32 : DL_F32, f->rank = 0;
        if (!x) continue;
        float *fo = (float *)buf + k * batch;
        int32_t *io = (int32_t *)buf + k * batch;
        for (int64_t i = 0; i < b->n; i++) {
            const float v = x[i * d->x_numel + d->column_x[k]];
            if (d->column_i32[k]) io[i] = (int32_t)v; /* checked to be an integer at load (data_csv.c) */
            else fo[i] = v;
        }
        f->data = fo;
    }
}

static int64_t dataset_next(dl_source *s, dl_batch *b)
{
    const float *x;
    const void *y;
    const int64_t n = dl_batcher_next(&s->batcher, &x, &y);
    if (n > 0) dl_batch_from_dataset(b, s->d, s->first, n, x, y, s->one_hot);
    if (n > 0 && s->d->weight) dl_add_weight_field(b, s->batcher.wbuf);
    if (n > 0 && s->batcher.x2buf) dl_add_view_field(b, s->batcher.x2buf);
    if (n > 0 && s->d->n_columns) dl_add_column_fields(b, s->d, x, s->column_buf, s->bounds.n);
    return n;
}

static void dataset_reset(dl_source *s) { dl_batcher_reset(&s->batcher); }
static void dataset_close(dl_source *s)
{
    dl_batcher_free(&s->batcher);
    free(s->column_buf);
    s->column_buf = NULL;
}

int dl_source_dataset(dl_source *s, const dl_dataset *d, const char *first_name, int64_t batch, int shuffle,
                      uint64_t seed, const dl_augment_config *aug, int augment, int one_hot)
{
    memset(s, 0, sizeof *s);
    s->d = d;
    s->first = first_name;
    s->one_hot = one_hot;
    if (dl_batcher_init(&s->batcher, d, batch, shuffle, seed)) return -1;
    if (dl_batcher_set_augment(&s->batcher, aug, augment, one_hot)) {
        dl_batcher_free(&s->batcher);
        return -1;
    }
    s->next = dataset_next;
    s->reset = dataset_reset;
    s->close = dataset_close;
    s->batches = (d->n + batch - 1) / batch;
    dl_batch_from_dataset(&s->bounds, d, first_name, batch, NULL, NULL, one_hot);
    if (d->weight) dl_add_weight_field(&s->bounds, NULL);
    if (s->batcher.x2buf) dl_add_view_field(&s->bounds, NULL);
    if (d->n_columns) {
        dl_add_column_fields(&s->bounds, d, NULL, NULL, batch);
        if (!(s->column_buf = malloc(sizeof(float) * (size_t)(d->n_columns * batch)))) {
            dl_batcher_free(&s->batcher);
            dl_set_error("out of memory for a batch's CSV columns");
            return -1;
        }
    }
    return 0;
}
