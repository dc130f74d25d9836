/* test_rt_train.c — the training driver with a hand-written model: a linear
 * softmax classifier over 4x4 images, written directly in C against
 * dl_model_api (as generated code would fill it), trained on a small
 * generated IDX dataset of three classes (class k lights up row k). The loss
 * must go down and the test accuracy up; max_steps, the history CSV (and
 * the per-step losses, pictures and confusion matrix beside it), the
 * checkpoint, a validation split from CSV, and the errors (input size
 * mismatch, non-finite loss keeping the last checkpoint) are checked, and
 * so are the non-finite values the loss does not show: a NaN weight behind
 * a finite loss, an infinite test loss, a step that fails with a reason. */
#include "dlnrt.h"
#include "files.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

enum { D = 16, C = 3 };

typedef struct linear_model {
    int64_t max_batch;
    float w[C * D], b[C], gw[C * D], gb[C], mw[C * D], mb[C];
    float *logits;                        /* max_batch x C */
    float lr;
    int64_t step;
} linear_model;

static int64_t nan_at_step;               /* >0: train_step returns NaN at this step (error test) */
static int64_t poison_at_step;            /* >0: w[3] becomes NaN after this step's loss */
static int64_t fail_at_step;              /* >0: train_step fails with a reason (NaN + dl_set_error) */
static int inf_eval;                      /* eval_step returns +inf */
static const dl_train_config *current_cfg;

static void *lm_create(int64_t max_batch)
{
    linear_model *m = calloc(1, sizeof *m);
    m->max_batch = max_batch;
    m->logits = malloc(sizeof(float) * (size_t)(max_batch * C));
    return m;
}

static void lm_destroy(void *p)
{
    linear_model *m = p;
    free(m->logits);
    free(m);
}

static void lm_init(void *p, uint64_t seed)
{
    linear_model *m = p;
    dl_rng r;
    dl_rng_seed(&r, seed);
    dl_init xu = {.kind = DL_INIT_XAVIER_UNIFORM, .fan_in = D, .fan_out = C};
    dl_init_tensor(m->w, C * D, &xu, &r);
    memset(m->b, 0, sizeof m->b);
    memset(m->mw, 0, sizeof m->mw);
    memset(m->mb, 0, sizeof m->mb);
    m->step = 0;
}

/* logits[n, C] = x[n, D] @ w^T + b */
static void lm_forward(void *p, const float *x, float *out, int64_t n)
{
    linear_model *m = p;
    dl_sgemm(0, 1, n, C, D, 1.0f, x, D, m->w, D, 0.0f, out, C);
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < C; j++) out[i * C + j] += m->b[j];
}

/* Mean softmax cross-entropy; with grad != NULL, turns out into dloss/dlogits. */
static float lm_loss(float *logits, const int32_t *y, int64_t n, int grad)
{
    double total = 0;
    for (int64_t i = 0; i < n; i++) {
        float *l = logits + i * C, mx = l[0], s = 0;
        for (int j = 1; j < C; j++) mx = fmaxf(mx, l[j]);
        for (int j = 0; j < C; j++) s += expf(l[j] - mx);
        total += -(l[y[i]] - mx - logf(s));
        if (grad)
            for (int j = 0; j < C; j++) l[j] = (expf(l[j] - mx) / s - (j == y[i])) / (float)n;
    }
    return (float)(total / n);
}

static float lm_eval_step(void *p, const float *x, const void *y, float *out, int64_t n)
{
    lm_forward(p, x, out, n);
    float *copy = malloc(sizeof(float) * (size_t)(n * C));
    memcpy(copy, out, sizeof(float) * (size_t)(n * C));
    float loss = lm_loss(copy, y, n, 0);
    free(copy);
    return inf_eval ? INFINITY : loss;
}

static float lm_train_step(void *p, const float *x, const void *y, int64_t n)
{
    linear_model *m = p;
    lm_forward(m, x, m->logits, n);
    float loss = lm_loss(m->logits, y, n, 1);
    /* gw[C, D] = dlogits^T @ x, gb = column sums of dlogits */
    dl_sgemm(1, 0, C, D, n, 1.0f, m->logits, C, x, D, 0.0f, m->gw, D);
    for (int j = 0; j < C; j++) {
        m->gb[j] = 0;
        for (int64_t i = 0; i < n; i++) m->gb[j] += m->logits[i * C + j];
    }
    m->step++;
    dl_optim_update(&current_cfg->optim, m->lr, m->step, m->w, m->gw, m->mw, NULL, C * D);
    dl_optim_update(&current_cfg->optim, m->lr, m->step, m->b, m->gb, m->mb, NULL, C);
    if (m->step == poison_at_step) m->w[3] = NAN; /* what a relu-masked NaN does to a weight */
    if (m->step == fail_at_step) {
        dl_set_error("non-finite value (nan) in the output of log at t.dln:3:9 (kernel k7_log) during train_step, "
                     "step %lld", (long long)m->step);
        return NAN;
    }
    return m->step == nan_at_step ? NAN : loss;
}

static const dl_param_info lm_params[2] = {{"fc.weight", 2, {C, D}, C * D, 1}, {"fc.bias", 1, {C}, C, 1}};

static float *lm_param_data(void *p, int i)
{
    linear_model *m = p;
    return i == 0 ? m->w : i == 1 ? m->b : NULL;
}

static void lm_set_lr(void *p, float lr) { ((linear_model *)p)->lr = lr; }

static int lm_save(void *p, const char *path)
{
    linear_model *m = p;
    dl_named_tensor t[2] = {{"fc.weight", 2, {C, D}, m->w}, {"fc.bias", 1, {C}, m->b}};
    return dl_save_safetensors(path, t, 2);
}

static char dir[64];
static dl_train_config cfg;
static dl_model_api api;

/* n samples: class k = i % 3 has row k bright (200..255), the rest dim (0..60). */
static void write_set(const char *prefix, int n, uint64_t seed, FILE *csv)
{
    unsigned char *px = malloc((size_t)n * D), *lab = malloc((size_t)n);
    dl_rng r;
    dl_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        lab[i] = (unsigned char)(i % C);
        for (int k = 0; k < D; k++)
            px[i * D + k] = (unsigned char)(k / 4 == lab[i] ? 200 + dl_rng_next(&r) % 56 : dl_rng_next(&r) % 61);
        if (csv) {
            for (int k = 0; k < D; k++) fprintf(csv, "%d,", px[i * D + k]);
            fprintf(csv, "%d\n", lab[i]);
        }
    }
    char path[128];
    unsigned char hdr[16] = {0, 0, 8, 3, 0, 0, (unsigned char)(n >> 8), (unsigned char)n, 0, 0, 0, 4, 0, 0, 0, 4};
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    gzFile f = gzopen(path, "wb");
    gzwrite(f, hdr, 16);
    gzwrite(f, px, (unsigned)(n * D));
    gzclose(f);
    unsigned char lh[8] = {0, 0, 8, 1, 0, 0, (unsigned char)(n >> 8), (unsigned char)n};
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    f = gzopen(path, "wb");
    gzwrite(f, lh, 8);
    gzwrite(f, lab, (unsigned)n);
    gzclose(f);
    free(px);
    free(lab);
}

static int train_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/dlnrt_train_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char path[128];
    snprintf(path, sizeof path, "%s/all.csv", dir);
    FILE *csv = fopen(path, "w");
    write_set("train", 300, 1, csv);
    write_set("t10k", 60, 2, NULL);
    fclose(csv);
    return 0;
}

static int train_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Fresh config/api for each test. */
static void reset_model(void)
{
    memset(&cfg, 0, sizeof cfg);
    cfg.data = (dl_data_config){.kind = "idx", .path = dir, .batch = 16, .shuffle = 1};
    cfg.optim = (dl_optim_config){.kind = DL_OPT_SGD, .lr = 0.05f, .momentum = 0.9f};
    cfg.sched = (dl_sched_config){.kind = DL_SCHED_COSINE, .warmup = 1};
    cfg.epochs = 5;
    cfg.metrics = DL_METRIC_LOSS | DL_METRIC_ACCURACY;
    cfg.seed = 42;
    current_cfg = &cfg;
    nan_at_step = poison_at_step = fail_at_step = 0;
    inf_eval = 0;
    api = (dl_model_api){.name = "linear", .abi_version = DL_ABI_VERSION, .in_numel = D, .in_rank = 3,
                         .in_shape = {1, 4, 4}, .out_numel = C, .label_kind = DL_LABEL_CLASS, .label_numel = 1,
                         .create = lm_create, .destroy = lm_destroy, .init = lm_init, .forward = lm_forward,
                         .eval_step = lm_eval_step, .train_step = lm_train_step, .set_lr = lm_set_lr,
                         .save = lm_save, .train = &cfg, .n_params = 2, .params = lm_params,
                         .param_data = lm_param_data};
}

static void test_driver_trains(void)
{
    reset_model();
    char hist[128], ckpt[128];
    snprintf(hist, sizeof hist, "%s/history.csv", dir);
    snprintf(ckpt, sizeof ckpt, "%s/linear.safetensors", dir);
    dl_run_options o = {.quiet = 1, .history_csv = hist, .checkpoint = ckpt};
    dl_run_result r;
    int rc = dl_run_training(&api, &o, &r);
    if (rc) printf("\n%s\n", dl_last_error());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(r.epochs_done, 5);
    CU_ASSERT_EQUAL(r.steps, 5 * 19);   /* 300 / 16 -> 18 full batches + 1 partial */
    CU_ASSERT(r.test_accuracy > 0.9);
    CU_ASSERT(r.seconds_per_epoch > 0);
    /* the loss goes down: history rows epoch 1 vs epoch 5 */
    FILE *f = fopen(hist, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[256];
    double loss[6] = {0};
    int rows = 0;
    CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, f));
    CU_ASSERT_STRING_EQUAL(line, "epoch,train_loss,test_loss,test_acc,seconds\n");
    while (fgets(line, sizeof line, f) && rows < 5) {
        int e;
        if (sscanf(line, "%d,%lf", &e, &loss[rows]) == 2) rows++;
    }
    fclose(f);
    CU_ASSERT_EQUAL(rows, 5);
    CU_ASSERT(loss[4] < 0.5 * loss[0]);
    CU_ASSERT_DOUBLE_EQUAL(loss[4], r.final_train_loss, 1e-4);
    /* beside it: each step's loss, the pictures, the last evaluation's confusion matrix */
    char side[160];
    snprintf(side, sizeof side, "%s/history.steps.csv", dir);
    f = fopen(side, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int lines = 0;
    while (fgets(line, sizeof line, f)) lines++;
    fclose(f);
    CU_ASSERT_EQUAL(lines, 1 + 5 * 19);
    const char *pictures[] = {"history.png", "history.svg", "history.confusion.png", "history.confusion.svg"};
    for (int i = 0; i < 4; i++) {
        snprintf(side, sizeof side, "%s/%s", dir, pictures[i]);
        CU_ASSERT_EQUAL(access(side, R_OK), 0);
    }
    snprintf(side, sizeof side, "%s/history.confusion.csv", dir);
    f = fopen(side, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, f));
    CU_ASSERT_STRING_EQUAL(line, "true_class,pred_0,pred_1,pred_2\n");
    int total = 0, diagonal = 0, row = 0, c[4];
    while (fscanf(f, "%d,%d,%d,%d\n", &c[0], &c[1], &c[2], &c[3]) == 4) {
        CU_ASSERT_EQUAL(c[0], row);
        total += c[1] + c[2] + c[3];
        diagonal += c[1 + row++];
    }
    fclose(f);
    CU_ASSERT_EQUAL(row, 3);
    CU_ASSERT_EQUAL(total, 60);
    CU_ASSERT_EQUAL(diagonal, (int)lround(r.test_accuracy * 60));
    /* the checkpoint holds the trained parameters */
    float w[C * D], b[C];
    dl_named_tensor t[2] = {{"fc.weight", 2, {C, D}, w}, {"fc.bias", 1, {C}, b}};
    CU_ASSERT_EQUAL(dl_load_safetensors(ckpt, t, 2, 0), 0);
    /* same seed, same run */
    dl_run_result r2;
    o.history_csv = NULL;
    o.checkpoint = NULL;
    CU_ASSERT_EQUAL(dl_run_training(&api, &o, &r2), 0);
    CU_ASSERT_EQUAL(r2.final_train_loss, r.final_train_loss);
}

/* metrics = [bits_per_dim]: the test loss / ln 2, in the result and as the
 * history's last column, row by row the test_loss column over ln 2 */
static void test_driver_bits_per_dim(void)
{
    reset_model();
    cfg.metrics = DL_METRIC_LOSS | DL_METRIC_BITS_PER_DIM;
    cfg.epochs = 2;
    char hist[128];
    snprintf(hist, sizeof hist, "%s/bpd.csv", dir);
    dl_run_options o = {.quiet = 1, .history_csv = hist};
    dl_run_result r;
    CU_ASSERT_EQUAL_FATAL(dl_run_training(&api, &o, &r), 0);
    CU_ASSERT_DOUBLE_EQUAL(r.test_bits_per_dim, r.test_loss / log(2.0), 1e-12);
    FILE *f = fopen(hist, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[256];
    CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, f));
    CU_ASSERT_STRING_EQUAL(line, "epoch,train_loss,test_loss,test_acc,seconds,test_bits_per_dim\n");
    int rows = 0;
    double e, tl, tv, ta, s, bpd;
    while (fscanf(f, "%lf,%lf,%lf,%lf,%lf,%lf\n", &e, &tl, &tv, &ta, &s, &bpd) == 6) {
        CU_ASSERT_DOUBLE_EQUAL(bpd, tv / log(2.0), 1e-5 * tv);
        rows++;
    }
    fclose(f);
    CU_ASSERT_EQUAL(rows, 2);
    /* without the metric: no column, NaN in the result */
    reset_model();
    cfg.epochs = 1;
    o.history_csv = NULL;
    CU_ASSERT_EQUAL_FATAL(dl_run_training(&api, &o, &r), 0);
    CU_ASSERT(isnan(r.test_bits_per_dim));
}

static void test_driver_progress_and_max_steps(void)
{
    reset_model();
    dl_run_options o = {.max_steps = 7, .epochs = 3};
    dl_run_result r;
    printf("\n");
    CU_ASSERT_EQUAL_FATAL(dl_run_training(&api, &o, &r), 0);
    CU_ASSERT_EQUAL(r.steps, 7);
    CU_ASSERT_EQUAL(r.epochs_done, 1);
    CU_ASSERT(!isnan(r.test_loss));
}

static void test_driver_csv_val_split(void)
{
    reset_model();
    char path[128];
    snprintf(path, sizeof path, "%s/all.csv", dir);
    cfg.data = (dl_data_config){.kind = "csv", .path = path, .batch = 32, .shuffle = 1, .val_split = 0.2f,
                                .csv = {.label_col = -1, .header = -1, .classify = 1}};
    cfg.optim.lr = 0.002f;                /* raw 0..255 features */
    dl_run_options o = {.quiet = 1};
    dl_run_result r;
    int rc = dl_run_training(&api, &o, &r);
    if (rc) printf("\n%s\n", dl_last_error());
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(r.test_accuracy > 0.8);
}

static void test_driver_errors(void)
{
    reset_model();
    dl_run_options o = {.quiet = 1};
    dl_run_result r;
    api.in_numel = 15;
    CU_ASSERT_EQUAL(dl_run_training(&api, &o, &r), -1);
    char msg[4400];   /* the data's path first: a damaged file is as likely as the wrong model */
    snprintf(msg, sizeof msg, "%s: data: training samples have 16 values (1x4x4) but model 'linear' takes 15 per sample",
             dir);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), msg);
    /* same count, other picture shape: an error, not scrambled pixels */
    reset_model();
    api.in_rank = 3, api.in_shape[1] = 2, api.in_shape[2] = 8;
    CU_ASSERT_EQUAL(dl_run_training(&api, &o, &r), -1);
    snprintf(msg, sizeof msg, "%s: data: training samples are 1x4x4 but model 'linear' takes 1x2x8", dir);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), msg);
    reset_model();
    api.in_rank = 2, api.in_shape[0] = 4, api.in_shape[1] = 4;   /* 4x4 for 1x4x4: size-1 axes aside, equal */
    o.max_steps = 1;
    CU_ASSERT_EQUAL(dl_run_training(&api, &o, &r), 0);
    reset_model();
    api.in_rank = 1, api.in_shape[0] = 16;                        /* a flat model takes any picture */
    CU_ASSERT_EQUAL(dl_run_training(&api, &o, &r), 0);
    o.max_steps = 0;
    reset_model();
    api.out_numel = 2;
    CU_ASSERT_EQUAL(dl_run_training(&api, &o, &r), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "labels go up to 2 but model 'linear' has only 2 outputs"));
    reset_model();
    api.train = NULL;
    CU_ASSERT_EQUAL(dl_run_training(&api, &o, &r), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "no train section"));
    reset_model();
    cfg.data.path = "/nonexistent";
    CU_ASSERT_EQUAL(dl_run_training(&api, &o, &r), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "/nonexistent: no train-images-idx3-ubyte.gz"));
    reset_model();
    cfg.data.kind = "parquet";
    CU_ASSERT_EQUAL(dl_run_training(&api, &o, &r), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "unknown kind 'parquet'"));
    /* NaN at step 25 = epoch 2, batch 6: error, and epoch 1's checkpoint survives */
    reset_model();
    char ckpt[128];
    snprintf(ckpt, sizeof ckpt, "%s/nan.safetensors", dir);
    o.checkpoint = ckpt;
    nan_at_step = 25;
    CU_ASSERT_EQUAL(dl_run_training(&api, &o, &r), -1);
    char want[256];
    snprintf(want, sizeof want,
             "non-finite loss (nan) at epoch 2, step 25 (batch 6 of 19); the checkpoint from epoch 1 is kept in %s", ckpt);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), want);
    CU_ASSERT_EQUAL(r.epochs_done, 1);
    CU_ASSERT_EQUAL(access(ckpt, R_OK), 0);
}

/* 1 if the two files hold the same bytes. */
static int same_file(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    unsigned char *x = test_read_file(a, &la), *y = test_read_file(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/* Non-finite values that the training loss does not show stop the run
 * before they are saved (issue 18). */
static void test_driver_nonfinite(void)
{
    dl_run_options o = {.quiet = 1};
    dl_run_result r;
    char ckpt[128], ckpt1[128], want[512];
    snprintf(ckpt, sizeof ckpt, "%s/masked.safetensors", dir);
    snprintf(ckpt1, sizeof ckpt1, "%s/epoch1.safetensors", dir);
    /* the reference: what epoch 1 saves */
    reset_model();
    o.checkpoint = ckpt1;
    o.epochs = 1;
    CU_ASSERT_EQUAL_FATAL(dl_run_training(&api, &o, &r), 0);
    o.epochs = 0;

    /* a weight turns NaN behind a finite loss (here: in the update of the
     * last step of epoch 2, after its loss was computed): the per-epoch scan
     * stops the run before epoch 2's save */
    reset_model();
    poison_at_step = 38;
    o.checkpoint = ckpt;
    CU_ASSERT_EQUAL(dl_run_training(&api, &o, &r), -1);
    snprintf(want, sizeof want,
             "non-finite value (nan) in parameter 'fc.weight' (element 3 of 48) after epoch 2, step 38; rerun with "
             "--check-numerics to find the op that produced it; the checkpoint from epoch 1 is kept in %s", ckpt);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), want);
    CU_ASSERT(same_file(ckpt, ckpt1));

    /* an infinite test loss stops the run; nothing was saved yet */
    reset_model();
    inf_eval = 1;
    snprintf(ckpt, sizeof ckpt, "%s/inf.safetensors", dir);
    o.checkpoint = ckpt;
    CU_ASSERT_EQUAL(dl_run_training(&api, &o, &r), -1);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), "non-finite test loss (inf) after epoch 1, step 19; rerun with "
                                            "--check-numerics to find the op that produced it; no checkpoint was written");
    CU_ASSERT_NOT_EQUAL(access(ckpt, F_OK), 0);

    /* a step that fails with a reason (a --check-numerics build) is reported with it */
    reset_model();
    fail_at_step = 25;
    snprintf(ckpt, sizeof ckpt, "%s/fail.safetensors", dir);
    o.checkpoint = ckpt;
    CU_ASSERT_EQUAL(dl_run_training(&api, &o, &r), -1);
    snprintf(want, sizeof want,
             "non-finite value (nan) in the output of log at t.dln:3:9 (kernel k7_log) during train_step, step 25 "
             "(epoch 2, batch 6 of 19); the checkpoint from epoch 1 is kept in %s", ckpt);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), want);
    CU_ASSERT(same_file(ckpt, ckpt1));
}

void suite_rt_train(void)
{
    CU_pSuite s = CU_add_suite("rt_train", train_setup, train_teardown);
    CU_add_test(s, "driver trains a linear classifier", test_driver_trains);
    CU_add_test(s, "metrics = [bits_per_dim]: test loss / ln 2, history column", test_driver_bits_per_dim);
    CU_add_test(s, "progress line, max_steps", test_driver_progress_and_max_steps);
    CU_add_test(s, "csv with a validation split", test_driver_csv_val_split);
    CU_add_test(s, "errors: sizes, labels, data, NaN", test_driver_errors);
    CU_add_test(s, "non-finite weights, test loss, failed steps", test_driver_nonfinite);
}
