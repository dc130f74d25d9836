/* step_internal.h — how the training driver calls a model's steps on
 * named-field batches (step.c). */
#ifndef DLNRT_STEP_INTERNAL_H
#define DLNRT_STEP_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"

#define DL_STEP_MAX_ARGS 16 /* model inputs + data fields */
#define DL_STEP_MAX_SYMS 8

/* A model's step arguments bound to batch fields by name. An api with the
 * io entry points (ABI 4) reads each input's `field` and each step field's
 * name; a hand-written api without them takes the batch's first field as x
 * and "label" as y, as drivers always did. */
typedef struct dl_stepper {
    const dl_model_api *api;
    int io;                                   /* 1: create_io / train_io / eval_io */
    int n_args;                               /* inputs then fields */
    const char *field[DL_STEP_MAX_ARGS];      /* the batch field each argument reads (NULL: the first) */
    const dl_io_info *info[DL_STEP_MAX_ARGS]; /* its declared type (io only) */
    const void *arg[DL_STEP_MAX_ARGS];        /* bound by dl_stepper_bind */
    int n_syms;
    int64_t sym[DL_STEP_MAX_SYMS];            /* symbol values of the bound batch (sym[0] = n) */
    int64_t sym_max[DL_STEP_MAX_SYMS];        /* their bounds: from the bounds batch given to init */
    int n_out;
    void *out[8];                             /* eval outputs, each at the bounds */
    int64_t out_numel[8];                     /* per sample, at the bound batch's symbol values */
} dl_stepper;

/* Binds the api to the fields of `bounds` (a batch of the source's largest
 * shapes; data may be NULL), which fixes every symbol's bound, sym_max[0] =
 * max_batch, and allocates the eval outputs. -1 with an error naming the
 * field that is missing or does not fit. */
int dl_stepper_init(dl_stepper *s, const dl_model_api *api, const dl_batch *bounds, int64_t max_batch);
void dl_stepper_free(dl_stepper *s);
/* The model, created at the stepper's bounds. */
void *dl_stepper_create(const dl_stepper *s);
/* Points the arguments at b's fields and takes the symbol values from their
 * shapes; -1 with an error when a field is missing, of another dtype or
 * shape, or a symbol exceeds its bound. */
int dl_stepper_bind(dl_stepper *s, const dl_batch *b);
float dl_stepper_train(dl_stepper *s, void *m);
/* The loss; the outputs into s->out. */
float dl_stepper_eval(dl_stepper *s, void *m);
/* Per-position accuracy after dl_stepper_eval on b: output 0's last dim is
 * the classes, and the label field (i32 "label", "targets" or "target")
 * holds one class per position of the rest ([N, T, V] outputs with [N, T]
 * labels). Positions whose label is `ignore` (PAD for seq2seq_task, -1 for
 * none) or whose mlm_mask is 0 are not counted. The correct ones are
 * returned, the counted ones into *rows; 0 when the model is not such a
 * classifier. */
int64_t dl_stepper_count_correct(const dl_stepper *st, const dl_batch *b, int32_t ignore, int64_t *rows);

/* A source of named-field batches: the training loop and the evaluation
 * draw from one. A dataset (IDX, CSV, CIFAR-10, an image folder) comes
 * through dl_batcher and dl_batch_from_dataset (dl_source_dataset); a
 * source that produces dl_batches itself (a text corpus) fills next, reset,
 * close and bounds the same way and needs nothing else from the driver. */
typedef struct dl_source {
    /* The next batch into *b (its pointers valid until the next call): its
     * n, 0 at the end of the epoch, -1 on an error. */
    int64_t (*next)(struct dl_source *s, dl_batch *b);
    void (*reset)(struct dl_source *s);       /* a new epoch (reshuffles) */
    void (*close)(struct dl_source *s);
    dl_batch bounds;                          /* the largest batch: n and each field's largest shape (data NULL) */
    int64_t batches;                          /* per epoch, for the schedule's fractional epoch */
    /* the text source's state (source_text.c) */
    dl_text_batcher text;
    /* a row source's state (source_rows.c: seq2seq_task, detection_canvas):
     * rows [rows_first, rows_first + rows_count) of a table whose field f is
     * stored row after row at rows_from[f] */
    const char *rows_from[8];
    int64_t rows_first, rows_count, rows_pos, rows_epoch;
    int64_t *rows_order;
    void *rows_buf;                           /* every field of one batch */
    uint64_t rows_seed;
    int shuffle_rows;
    /* the graph source's state (source_graph.c): the whole graph, one batch */
    const dl_graph *graph;
    float *graph_mask;                        /* [V]: 1 at the nodes of the split */
    int graph_given;                          /* the batch of this epoch is out */
    /* the graph collection's state (source_graphset.c): the split's graphs in
     * rows_order, visited as the row source's; one batch's union of graphs */
    const dl_graphset *graphset;
    float *gs_x, *gs_mask, *gs_edge_attr;
    int32_t *gs_src, *gs_dst, *gs_graph, *gs_label;
    /* the dataset adapter's state */
    dl_batcher batcher;
    const dl_dataset *d;
    const char *first;                        /* "image" or "features" */
    int one_hot;
    void *column_buf;                         /* a CSV's named columns of one batch: [column][batch] (f32 or i32) */
    /* images(masks = ...) with an augment list (source_segment.c): the row
     * source's next and close, wrapped */
    const dl_augment_config *seg_aug;
    int seg_augment;                          /* 1: training transforms; 0: normalization only */
    int32_t seg_fill;                         /* a mask's pixels from outside the image: the ignore_index */
    float *seg_tmp;                           /* [batch, C, H, W] scratch */
    int32_t *seg_mtmp;                        /* [batch, H, W] scratch */
    int64_t (*seg_rows_next)(struct dl_source *s, dl_batch *b);
    void (*seg_rows_close)(struct dl_source *s);
} dl_source;

/* Batches of d with the fields first_name ("image", "features") and
 * "label"; shuffle/seed/aug/augment/one_hot as for dl_batcher. */
int dl_source_dataset(dl_source *s, const dl_dataset *d, const char *first_name, int64_t batch, int shuffle,
                      uint64_t seed, const dl_augment_config *aug, int augment, int one_hot);

/* Next-token batches (fields tokens, targets: i32[seq_len]) of the ids
 * ids[0..n), as the text source's dl_data_config says (batch, seq_len,
 * contiguous streams or seeded random windows); with dc->mlm, masked-token
 * batches (and mlm_mask f32[seq_len]) whose [MASK] id is vocab. */
int dl_source_text(dl_source *s, const int32_t *ids, int64_t n, const dl_data_config *dc, int64_t vocab, uint64_t seed);

/* Batches of the rows [first, first + count) of d (fields source i32[S],
 * target_in and target i32[T]), visited in a shuffled order per epoch
 * (seeded by seed and the epoch) when shuffle, in row order otherwise. */
int dl_source_seq2seq(dl_source *s, const dl_seq2seq_data *d, int64_t first, int64_t count, int64_t batch, int shuffle,
                      uint64_t seed);
/* Shuffles s->rows_order[0, rows_count) by the generator seeded from
 * (rows_seed, rows_epoch): a row source's, or a graph collection's, epoch. */
void dl_rows_shuffle(dl_source *s);
/* Batches of the rows [first, first + count) of a table of total rows: field
 * f (fields[f]: name, dtype f32 or i32, per-row shape) stored row after row
 * at from[f]. Visited in a shuffled order per epoch (seeded by seed and the
 * epoch; a reset moves to the next epoch, so a resumed run replays it) when
 * shuffle, in row order otherwise. what names the source in errors. The
 * table must outlive the source. */
int dl_source_rows(dl_source *s, const char *what, const void *const *from, const dl_field *fields, int n_fields,
                   int64_t total, int64_t first, int64_t count, int64_t batch, int shuffle, uint64_t seed);

/* What dl_evaluate_seq2seq measures on the test rows of a seq2seq_task;
 * NaN where not measured. */
typedef struct dl_seq2seq_scores {
    double loss, accuracy;                    /* accuracy: per target position, PAD excluded */
    double exact_teacher, exact_greedy;       /* fractions of sequences right in full (exact != 0) */
} dl_seq2seq_scores;
int dl_evaluate_seq2seq(const dl_model_api *api, void *m, const dl_seq2seq_data *d, int64_t batch, dl_stepper *st,
                        int exact, dl_seq2seq_scores *r);

/* The whole graph g as one batch of n = 1 (fields features f32[V, F], src and
 * dst i32[E], label i32[V], and mask f32[V]: 1 at the nodes whose split is
 * `split`, DL_SPLIT_*), once per epoch. */
int dl_source_graph(dl_source *s, const dl_graph *g, int split);
/* Loss and accuracy of m over the nodes of `split` (the loss is the train
 * section's, which reads `mask`; accuracy counts the masked nodes). */
int dl_evaluate_graph(const dl_model_api *api, void *m, const dl_graph *g, int split, dl_stepper *st, double *loss,
                      double *acc);

/* Batches of `batch` graphs of `split` from gs, each their disjoint union
 * (fields features f32[V, F], src and dst i32[E] into the union's nodes,
 * graph i32[V]: each node's graph within the batch, label i32[batch] and
 * mask f32[batch]: 1 where the batch has a graph), n = 1; shuffled per
 * epoch from (seed, epoch) when shuffle, in file order otherwise. */
int dl_source_graphset(dl_source *s, const dl_graphset *gs, int split, int64_t batch, int shuffle, uint64_t seed);
/* Loss (a mean over the split's graphs) and accuracy of m over the graphs of split. */
int dl_evaluate_graphset(const dl_model_api *api, void *m, const dl_graphset *gs, int split, int64_t batch,
                         dl_stepper *st, double *loss, double *acc);

/* Batches of the pairs [first, first + count) of d (fields image f32[C, H,
 * W], label i32[H, W]), shuffled per epoch as dl_source_seq2seq's; aug (NULL:
 * none) transforms them as dl_batcher's (augment 0: normalization only), a
 * mask's pixels from outside the image set to fill. */
int dl_source_segment(dl_source *s, const dl_segment_data *d, int64_t first, int64_t count, int64_t batch, int shuffle,
                      uint64_t seed, const dl_augment_config *aug, int augment, int32_t fill);
/* The mean loss over the test pairs, the accuracy over their labelled pixels
 * and (miou != NULL) their mean IoU over the classes (NaN: none);
 * dl_segment_scores counts one batch's pixels into inter/uni/right/counted. */
int dl_evaluate_segment(void *m, const dl_segment_data *d, int64_t batch, dl_stepper *st, const dl_augment_config *aug,
                        int ignore, double *loss, double *acc, double *miou);
void dl_segment_scores(const float *logits, const int32_t *label, int64_t n, int64_t k, int64_t hw, int ignore,
                       int64_t *inter, int64_t *uni, int64_t *right, int64_t *counted);
double dl_mean_iou(const int64_t *inter, const int64_t *uni, int64_t k);
/* Batches of the canvases [first, first + count) of d (fields image f32[1, S,
 * S], grid_target f32[G, G, 5 + C], boxes f32[M, 4], classes i32[M],
 * box_mask f32[M]), shuffled per epoch as dl_source_seq2seq's. */
int dl_source_detect(dl_source *s, const dl_detect_data *d, int64_t first, int64_t count, int64_t batch, int shuffle,
                     uint64_t seed);
/* The mean loss over d's test canvases and, with map, mAP@0.5 and
 * mAP@0.5:0.95 of the first output decoded by dl_detect_decode (map 1: the
 * grid form, score >= 0.001) or dl_detect_decode_boxes (map 2: per-anchor
 * boxes, score >= 0.01), NMS at IoU 0.5, the best 100 per canvas; NaN where
 * not measured. */
typedef struct dl_detect_scores { double loss, map50, map50_95; } dl_detect_scores;
int dl_evaluate_detect(void *m, const dl_detect_data *d, int64_t batch, dl_stepper *st,
                       int map, dl_detect_scores *r);

#endif
