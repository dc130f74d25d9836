/* test_rt_step.c — binding named-field batches to a model's step arguments
 * (runtime/step.c): by name, dtype and shape checked, a run-time symbol T
 * read off the field shapes and bounded by the source's largest batch; the
 * dataset adapter's fields. The model is a hand-filled ABI-4 descriptor
 * whose steps record what they were given. */
#include "dlnrt.h"
#include "step_internal.h"

#include <CUnit/CUnit.h>
#include <string.h>

static const void *seen_in[4];
static int64_t seen_n, seen_t;

static void *fake_create_io(const int64_t *sym_max)
{
    static int64_t bounds[2];
    bounds[0] = sym_max[0], bounds[1] = sym_max[1];
    return bounds;
}

static float fake_train_io(void *m, const void *const *in, int64_t n, const int64_t *syms)
{
    (void)m;
    memcpy(seen_in, in, 2 * sizeof *in);
    seen_n = n, seen_t = syms[0];
    return 1.5f;
}

static const char *const sym_names[2] = {"N", "T"};
/* model lm(tokens: i32[N, T]) -> (logits: f32[N, T, 5]); the loss reads targets i32[N, T] */
static const dl_io_info inputs[1] = {{"tokens", "tokens", DL_I32, 1, {DL_DIM_SYM(1)}}};
static const dl_io_info outputs[1] = {{"logits", "logits", DL_F32, 2, {DL_DIM_SYM(1), 5}}};
static const dl_io_info fields[1] = {{"targets", "targets", DL_I32, 1, {DL_DIM_SYM(1)}}};
static const dl_model_api lm = {.name = "lm", .abi_version = DL_ABI_VERSION, .n_syms = 2, .sym_names = sym_names,
                                .n_inputs = 1, .n_outputs = 1, .n_fields = 1, .inputs = inputs, .outputs = outputs,
                                .fields = fields, .create_io = fake_create_io, .train_io = fake_train_io};

/* A text-like batch: targets then tokens (order does not matter), each i32[T]. */
static dl_batch text_batch(int64_t n, int64_t t_tokens, int64_t t_targets, const void *tok, const void *tgt)
{
    dl_batch b = {.n = n, .n_fields = 2};
    b.field[0] = (dl_field){"targets", DL_I32, 1, {t_targets}, tgt};
    b.field[1] = (dl_field){"tokens", DL_I32, 1, {t_tokens}, tok};
    return b;
}

static void test_bind_by_name(void)
{
    int32_t tok[64], tgt[64];
    dl_batch bounds = text_batch(4, 16, 16, NULL, NULL);
    dl_stepper st;
    CU_ASSERT_EQUAL_FATAL(dl_stepper_init(&st, &lm, &bounds, 4), 0);
    CU_ASSERT_EQUAL(st.sym_max[0], 4);
    CU_ASSERT_EQUAL(st.sym_max[1], 16);
    CU_ASSERT_EQUAL(st.out_numel[0], 16 * 5);    /* logits per sample at the bound */
    const int64_t *made = dl_stepper_create(&st);
    CU_ASSERT_EQUAL(made[0], 4);
    CU_ASSERT_EQUAL(made[1], 16);

    /* a shorter sequence: T = 5 from the fields, the inputs before the fields */
    dl_batch b = text_batch(3, 5, 5, tok, tgt);
    CU_ASSERT_EQUAL_FATAL(dl_stepper_bind(&st, &b), 0);
    CU_ASSERT_EQUAL(dl_stepper_train(&st, NULL), 1.5f);
    CU_ASSERT_PTR_EQUAL(seen_in[0], tok);
    CU_ASSERT_PTR_EQUAL(seen_in[1], tgt);
    CU_ASSERT_EQUAL(seen_n, 3);
    CU_ASSERT_EQUAL(seen_t, 5);
    CU_ASSERT_EQUAL(st.out_numel[0], 5 * 5);
    dl_stepper_free(&st);
}

static void test_bind_errors(void)
{
    int32_t tok[64], tgt[64];
    dl_batch bounds = text_batch(4, 16, 16, NULL, NULL);
    dl_stepper st;
    CU_ASSERT_EQUAL_FATAL(dl_stepper_init(&st, &lm, &bounds, 4), 0);

    dl_batch b = text_batch(4, 6, 7, tok, tgt);
    CU_ASSERT_EQUAL(dl_stepper_bind(&st, &b), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "the fields disagree on T"));

    b = text_batch(4, 17, 17, tok, tgt);
    CU_ASSERT_EQUAL(dl_stepper_bind(&st, &b), -1);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), "data: T = 17 is above its bound 16");

    b = text_batch(4, 6, 6, tok, tgt);
    b.field[0].name = "labels";
    CU_ASSERT_EQUAL(dl_stepper_bind(&st, &b), -1);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), "data: model 'lm' reads the field 'targets' but the data gives only labels, tokens");

    b = text_batch(4, 6, 6, tok, tgt);
    b.field[1].dtype = DL_F32;
    CU_ASSERT_EQUAL(dl_stepper_bind(&st, &b), -1);
    CU_ASSERT_STRING_EQUAL(dl_last_error(), "data: the field 'tokens' is f32 but model 'lm' takes 'tokens' as i32");

    b = text_batch(4, 6, 6, tok, tgt);
    b.field[1].rank = 2, b.field[1].shape[1] = 2;
    CU_ASSERT_EQUAL(dl_stepper_bind(&st, &b), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "has rank 2 per sample but model 'lm' takes rank 1"));
    dl_stepper_free(&st);
}

/* Today's datasets as fields: the samples under their source's name, class
 * labels i32 per sample, one-hot rows f32 when asked. */
static void test_dataset_fields(void)
{
    float x[2 * 6] = {0};
    int32_t y[2] = {1, 0};
    dl_dataset d = {.n = 2, .x_numel = 6, .x = x, .x_shape = {1, 2, 3}, .x_rank = 3, .label_kind = DL_LABEL_CLASS,
                    .y_class = y, .num_classes = 2};
    dl_batch b;
    dl_batch_from_dataset(&b, &d, "image", 2, x, y, 0);
    CU_ASSERT_EQUAL(b.n, 2);
    CU_ASSERT_EQUAL(b.n_fields, 2);
    const dl_field *im = dl_batch_find(&b, "image"), *lab = dl_batch_find(&b, "label");
    CU_ASSERT_PTR_NOT_NULL_FATAL(im);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lab);
    CU_ASSERT_EQUAL(im->rank, 3);
    CU_ASSERT_EQUAL(im->shape[2], 3);
    CU_ASSERT_PTR_EQUAL(im->data, x);
    CU_ASSERT_EQUAL(lab->dtype, DL_I32);
    CU_ASSERT_EQUAL(lab->rank, 0);
    CU_ASSERT_PTR_NULL(dl_batch_find(&b, "features"));
    dl_batch_from_dataset(&b, &d, "features", 2, x, y, 4);
    CU_ASSERT_PTR_NOT_NULL(dl_batch_find(&b, "features"));
    lab = dl_batch_find(&b, "label");
    CU_ASSERT_EQUAL(lab->dtype, DL_F32);
    CU_ASSERT_EQUAL(lab->shape[0], 4);
}

void suite_rt_step(void)
{
    CU_pSuite s = CU_add_suite("rt_step", NULL, NULL);
    CU_add_test(s, "fields bound by name, T from their shapes", test_bind_by_name);
    CU_add_test(s, "missing, mistyped and oversized fields", test_bind_errors);
    CU_add_test(s, "a dataset's batches as image/features and label", test_dataset_fields);
}
