/* test_rt_optim.c — each optimizer for 3 steps on w = [1, -2, 0.5] with the
 * fixed gradient g = [0.1, -0.2, 0.3], against values worked out by hand from
 * torch.optim's update rules (the arithmetic for element 0 is written next to
 * each case; elements 1 and 2 follow the same rule). Tolerance 1e-6. */
#include "dlnrt.h"

#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

static const float W0[3] = {1.0f, -2.0f, 0.5f};
static const float G[3] = {0.1f, -0.2f, 0.3f};

/* Runs 3 steps and compares w after each step with expect[step][i]. */
static void check_three_steps(const dl_optim_config *c, const double expect[3][3])
{
    float w[3], m1[3] = {0}, m2[3] = {0};
    memcpy(w, W0, sizeof w);
    for (int t = 1; t <= 3; t++) {
        dl_optim_update(c, c->lr, t, w, G, m1, m2, 3);
        for (int i = 0; i < 3; i++) CU_ASSERT_DOUBLE_EQUAL(w[i], expect[t - 1][i], 1e-6);
    }
}

static void test_sgd_momentum(void)
{
    /* lr .1, momentum .9: buf1 = g, buf2 = .9g + g = 1.9g, buf3 = .9*1.9g + g = 2.71g
     * w0: 1 - .01 = .99;  .99 - .1*.19 = .971;  .971 - .1*.271 = .9439 */
    dl_optim_config c = {.kind = DL_OPT_SGD, .lr = 0.1f, .momentum = 0.9f};
    const double e[3][3] = {{0.99, -1.98, 0.47}, {0.971, -1.942, 0.413}, {0.9439, -1.8878, 0.3317}};
    check_three_steps(&c, e);
    /* momentum 0: w -= lr*g each step: .99, .98, .97 */
    dl_optim_config p = {.kind = DL_OPT_SGD, .lr = 0.1f};
    const double e2[3][3] = {{0.99, -1.98, 0.47}, {0.98, -1.96, 0.44}, {0.97, -1.94, 0.41}};
    check_three_steps(&p, e2);
}

static void test_sgd_nesterov_weight_decay(void)
{
    /* lr .1, momentum .9, nesterov, wd .1; element 0:
     * t1: d = .1 + .1*1 = .2;         buf = .2;                     d = .2 + .9*.2 = .38;          w = 1 - .038 = .962
     * t2: d = .1 + .0962 = .1962;     buf = .9*.2 + .1962 = .3762;  d = .1962 + .33858 = .53478;   w = .962 - .053478 = .908522
     * t3: d = .1 + .0908522 = .1908522; buf = .33858 + .1908522 = .5294322;
     *     d = .1908522 + .47648898 = .66734118;  w = .908522 - .066734118 = .841787882 */
    dl_optim_config c = {.kind = DL_OPT_SGD, .lr = 0.1f, .momentum = 0.9f, .nesterov = 1, .weight_decay = 0.1f};
    const double e[3][3] = {{0.962, -1.924, 0.4335},
                            {0.908522, -1.817044, 0.3399135},
                            {0.841787882, -1.68357576, 0.223128793}};
    check_three_steps(&c, e);
}

static void test_sgd_dampening(void)
{
    /* lr .1, momentum .9, dampening .5: buf1 = g (no dampening on the first step),
     * buf2 = .9*.1 + .5*.1 = .14, buf3 = .9*.14 + .05 = .176
     * w0: .99;  .99 - .014 = .976;  .976 - .0176 = .9584 */
    dl_optim_config c = {.kind = DL_OPT_SGD, .lr = 0.1f, .momentum = 0.9f, .dampening = 0.5f};
    const double e[3][3] = {{0.99, -1.98, 0.47}, {0.976, -1.952, 0.428}, {0.9584, -1.9168, 0.3752}};
    check_three_steps(&c, e);
}

static void test_adagrad(void)
{
    /* lr .1, lr_decay .5, initial_accumulator .1, eps 1e-10, wd .1; element 0:
     * t1: d = .2;          clr = .1;        sum = .1 + .04 = .14;             w = 1 - .1*.2/.3741657 = .9465478
     * t2: d = .19465478;   clr = .1/1.5;    sum = .14 + .0378905 = .1778905;  w = .9465478 - .0666667*.19465478/.4217707 = .9157799
     * t3: d = .19157799;   clr = .1/2;      sum = .1778905 + .0367021 = .2145926;
     *     w = .9157799 - .05*.19157799/.4632414 = .8951019 */
    dl_optim_config c = {.kind = DL_OPT_ADAGRAD, .lr = 0.1f, .lr_decay = 0.5f, .initial_accumulator = 0.1f,
                         .eps = 1e-10f, .weight_decay = 0.1f};
    const double e[3][3] = {{0.946547752, -1.92155355, 0.425800148},
                            {0.915779881, -1.88091117, 0.386624152},
                            {0.895101895, -1.85508203, 0.361508491}};
    check_three_steps(&c, e);
}

static void test_rmsprop(void)
{
    /* lr .01, alpha .99, eps 1e-8; element 0 (g = .1):
     * t1: sq = .01*.01 = 1e-4;                  w = 1 - .01*.1/(.01 + 1e-8) = .9000001
     * t2: sq = .99e-4 + 1e-4 = 1.99e-4;         w = .9000001 - .001/.01410674 = .8291120
     * t3: sq = .99*1.99e-4 + 1e-4 = 2.9701e-4;  w = .8291120 - .001/.01723398 = .7710872 */
    dl_optim_config c = {.kind = DL_OPT_RMSPROP, .lr = 0.01f, .alpha = 0.99f, .eps = 1e-8f};
    const double e[3][3] = {{0.9000001, -1.90000005, 0.400000033},
                            {0.82911203, -1.82911195, 0.32911193},
                            {0.771087155, -1.77108706, 0.271087032}};
    check_three_steps(&c, e);
    /* lr .01, alpha .9, momentum .5, wd .1; element 0:
     * t1: d = .2; sq = .1*.04 = .004; buf = .2/.0632456 = 3.1622777; w = 1 - .0316228 = .9683772
     * t2: d = .19683772; sq = .0036 + .0038745 = .0074745; buf = 1.5811389 + .19683772/.0864551 = 3.8578 ; w = .9297983
     * t3: likewise: w = .8916319 */
    dl_optim_config m = {.kind = DL_OPT_RMSPROP, .lr = 0.01f, .alpha = 0.9f, .eps = 1e-8f, .momentum = 0.5f,
                         .weight_decay = 0.1f};
    const double e2[3][3] = {{0.968377228, -1.96837723, 0.468377226},
                             {0.929798258, -1.92971072, 0.429723156},
                             {0.891631937, -1.89133255, 0.391375004}};
    check_three_steps(&m, e2);
}

static void test_adam(void)
{
    /* lr .1, betas (.9, .999), eps 1e-8. With a constant gradient the bias-
     * corrected moments are exactly g and g^2, so every step moves each
     * element by lr * g/(|g| + eps) = .1 toward -sign(g): 1 -> .9 -> .8 -> .7 */
    dl_optim_config c = {.kind = DL_OPT_ADAM, .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    const double e[3][3] = {{0.9, -1.9, 0.4}, {0.8, -1.8, 0.3}, {0.7, -1.7, 0.2}};
    check_three_steps(&c, e);
}

static void test_adamw(void)
{
    /* AdamW, lr .1, wd .1: first w *= 1 - .01, then the Adam step of -.1*sign(g):
     * 1*.99 - .1 = .89;  .89*.99 - .1 = .7811;  .7811*.99 - .1 = .673289 */
    dl_optim_config c = {.kind = DL_OPT_ADAMW, .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                         .weight_decay = 0.1f};
    const double e[3][3] = {{0.89, -1.88, 0.395}, {0.7811, -1.7612, 0.29105}, {0.673289, -1.643588, 0.18813951}};
    check_three_steps(&c, e);
}

static void test_adam_l2(void)
{
    /* Adam with (coupled) wd .1: the gradient becomes g + .1*w, so the moments
     * are no longer constant; values from the same rule in double precision. */
    dl_optim_config c = {.kind = DL_OPT_ADAM, .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                         .weight_decay = 0.1f};
    const double e[3][3] = {{0.900000005, -1.9, 0.400000003},
                            {0.800166496, -1.800074, 0.300086052},
                            {0.700623407, -1.70027385, 0.200318953}};
    check_three_steps(&c, e);
}

static void test_lamb(void)
{
    /* LAMB, lr .1, wd .1, eps 1e-6: the Adam direction sign(g) plus .1 w, scaled by
     * |w| / |u| over the tensor; values from the same rule in double precision. */
    dl_optim_config c = {.kind = DL_OPT_LAMB, .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-6f,
                         .weight_decay = 0.1f};
    const double e[3][3] = {{0.86989008, -1.85806121, 0.375803432},
                            {0.751451884, -1.72885527, 0.262748122},
                            {0.643372125, -1.61094949, 0.159580469}};
    check_three_steps(&c, e);
    /* without decay there is no trust ratio (timm's always_adapt = False): Adam's steps */
    c.weight_decay = 0.0f;
    const double e0[3][3] = {{0.900001, -1.9000005, 0.400000333},          /* eps 1e-6 against |g| */
                             {0.800002, -1.800001, 0.300000667},
                             {0.700003, -1.7000015, 0.200001}};
    check_three_steps(&c, e0);
}

static void test_state_slots_and_norm(void)
{
    CU_ASSERT_EQUAL(dl_optim_state_slots(DL_OPT_SGD), 1);
    CU_ASSERT_EQUAL(dl_optim_state_slots(DL_OPT_ADAGRAD), 1);
    CU_ASSERT_EQUAL(dl_optim_state_slots(DL_OPT_RMSPROP), 2);
    CU_ASSERT_EQUAL(dl_optim_state_slots(DL_OPT_ADAM), 2);
    CU_ASSERT_EQUAL(dl_optim_state_slots(DL_OPT_ADAMW), 2);
    CU_ASSERT_EQUAL(dl_optim_state_slots(DL_OPT_LAMB), 2);
    float a[2] = {3, 0}, b[1] = {4};
    float *gs[2] = {a, b};
    int64_t sz[2] = {2, 1};
    CU_ASSERT_DOUBLE_EQUAL(dl_grad_norm(gs, sz, 2), 5.0, 1e-12);
    /* Missing state is an error, not a crash. */
    dl_optim_config c = {.kind = DL_OPT_ADAM, .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f};
    float w[3] = {1, 2, 3};
    dl_optim_update(&c, 0.1f, 1, w, G, NULL, NULL, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "state slot"));
    CU_ASSERT_EQUAL(w[0], 1.0f);
}

/* accumulate = k: groups of k batches stepped on their mean; a group closed early
 * (the model's end_group sets close) is stepped on its sum / k; the buffer is reused. */
static void test_grads_accumulate(void)
{
    float *acc = NULL, g[2];
    int64_t count = 0;
    int close = 0;
    const float batches[4][2] = {{1, 2}, {4, -1}, {-2, 5}, {6, 3}};
    int steps[4];
    for (int b = 0; b < 3; b++) {
        memcpy(g, batches[b], sizeof g);
        steps[b] = dl_grads_accumulate(&acc, &count, &close, g, 2, 3);
    }
    CU_ASSERT(steps[0] == 0 && steps[1] == 0 && steps[2] == 1);
    CU_ASSERT_EQUAL(count, 0);
    CU_ASSERT_DOUBLE_EQUAL(g[0], 1.0, 1e-6); /* (1 + 4 - 2) / 3 */
    CU_ASSERT_DOUBLE_EQUAL(g[1], 2.0, 1e-6); /* (2 - 1 + 5) / 3 */
    float *const kept = acc;
    close = 1; /* a group of one: its sum / 3, as Lightning */
    memcpy(g, batches[3], sizeof g);
    steps[3] = dl_grads_accumulate(&acc, &count, &close, g, 2, 3);
    CU_ASSERT(steps[3] == 1 && count == 0 && acc == kept && close == 0);
    CU_ASSERT_DOUBLE_EQUAL(g[0], 2.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(g[1], 1.0, 1e-6);
    /* the flag is one-shot: the next group is whole again */
    memcpy(g, batches[0], sizeof g);
    CU_ASSERT_EQUAL(dl_grads_accumulate(&acc, &count, &close, g, 2, 3), 0);
    CU_ASSERT_EQUAL(count, 1);
    free(acc);
}

void suite_rt_optim(void)
{
    CU_pSuite s = CU_add_suite("rt_optim", NULL, NULL);
    CU_add_test(s, "sgd, momentum", test_sgd_momentum);
    CU_add_test(s, "sgd nesterov + weight decay", test_sgd_nesterov_weight_decay);
    CU_add_test(s, "sgd dampening", test_sgd_dampening);
    CU_add_test(s, "adagrad lr_decay, initial accumulator, wd", test_adagrad);
    CU_add_test(s, "rmsprop, with momentum", test_rmsprop);
    CU_add_test(s, "adam", test_adam);
    CU_add_test(s, "adamw decoupled decay", test_adamw);
    CU_add_test(s, "adam with L2", test_adam_l2);
    CU_add_test(s, "lamb: trust ratio with decay, Adam without", test_lamb);
    CU_add_test(s, "state slots, grad norm, errors", test_state_slots_and_norm);
    CU_add_test(s, "gradient accumulation: groups, a short group, one-shot close", test_grads_accumulate);
}
