/* test_rt_progress.c — the in-epoch progress line (progress_live.c) as a
 * log sees it, and the --profile table (profile.c) from sites with known
 * times: grouping by (phase, line), order, self time, GFLOP/s, the %. */
#include "dlnrt.h"
#include "progress_internal.h"

#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

/* the text written to f so far */
static char *contents(FILE *f)
{
    long n = ftell(f);
    char *s = calloc((size_t)n + 1, 1);
    rewind(f);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = '\0';
    fseek(f, 0, SEEK_END);
    return s;
}

static void test_total(void)
{
    CU_ASSERT_EQUAL(dl_live_total(100, 0, 0), 100);
    CU_ASSERT_EQUAL(dl_live_total(100, 30, 0), 30);     /* --max-steps ends the epoch early */
    CU_ASSERT_EQUAL(dl_live_total(100, 130, 100), 30);  /* ... in the second epoch */
    CU_ASSERT_EQUAL(dl_live_total(100, 500, 100), 100);
    CU_ASSERT_EQUAL(dl_live_total(0, 0, 0), 0);         /* a source that does not know its length */
}

static void test_plain_lines(void)
{
    FILE *f = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    dl_live l;
    dl_live_init(&l, f, 0, 1e-9);   /* a file is no terminal: plain lines, here at every step */
    CU_ASSERT_FALSE(l.tty);
    dl_live_epoch(&l, 2, 3, 4);
    for (int k = 1; k <= 4; k++) dl_live_step(&l, k, 8 * k, "loss 0.5000");
    dl_live_clear(&l);              /* nothing to erase in a log */
    char *s = contents(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NULL(strchr(s, '\r'));
    CU_ASSERT_PTR_NULL(strchr(s, '\033'));
    int lines = 0;
    for (char *p = s; (p = strchr(p, '\n')); p++) lines++;
    CU_ASSERT_EQUAL(lines, 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "[epoch 2/3] 1/4  loss 0.5000  "));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "[epoch 2/3] 3/4  loss 0.5000  "));
    /* every line but the last has an ETA; the last step has none left */
    const char *last = strstr(s, "[epoch 2/3] 4/4");
    CU_ASSERT_PTR_NOT_NULL_FATAL(last);
    CU_ASSERT_PTR_NULL(strstr(last, "ETA"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, " samples/s  ETA "));
    free(s);
    fclose(f);
}

static void test_quiet_and_interval(void)
{
    FILE *f = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    dl_live q, slow;
    dl_live_init(&q, f, 1, 1e-9);    /* --quiet */
    dl_live_init(&slow, f, 0, 0);    /* the default: a line every 10 s */
    CU_ASSERT_DOUBLE_EQUAL(slow.every, 10.0, 0);
    dl_live_epoch(&q, 1, 1, 3);
    dl_live_epoch(&slow, 1, 1, 3);
    for (int k = 1; k <= 3; k++) {
        dl_live_step(&q, k, k, "loss 1.0000");
        dl_live_step(&slow, k, k, "loss 1.0000");
    }
    CU_ASSERT_EQUAL(ftell(f), 0);
    fclose(f);
}

/* a site that ran `calls` times for `ms` milliseconds in all */
static void run_site(dl_prof_site *s, int calls, double ms, double flops)
{
    for (int i = 0; i < calls; i++) dl_prof_add(s, dl_prof_clock() - (int64_t)(ms * 1e6 / calls), flops);
}

static double column(const char *row, int from_end)
{
    /* the value `from_end` fields before the end of the row (0: the last) */
    const char *end = strchr(row, '\n'), *p = end;
    for (int k = 0; k <= from_end; k++) {
        while (p > row && p[-1] == ' ') p--;
        while (p > row && p[-1] != ' ') p--;
    }
    return atof(p);
}

static void test_profile_table(void)
{
    static dl_prof_site a = {.kernel = "m_train_k3_dense", .phase = "forward", .line = "m.dln:4", .what = "dense",
                             .inner = "lib.dln:3", .op = "matmul"},
                        e = {.kernel = "m_eval_k3_dense", .phase = "eval", .line = "m.dln:4", .what = "dense",
                             .inner = "lib.dln:3", .op = "matmul"},
                        b = {.kernel = "m_train_k5_relu", .phase = "forward", .line = "m.dln:4", .what = "relu", .self = 1},
                        c = {.kernel = "m_train_k9_mul", .phase = "backward", .line = "m.dln:4", .what = "dense"},
                        o = {.kernel = "dl_optim_update", .phase = "optimizer", .line = "m.dln:4", .what = "update", .self = 1};
    dl_prof_reset();
    run_site(&a, 10, 60, 1e6);    /* 10 MFLOP in 60 ms */
    run_site(&b, 10, 20, 0);
    run_site(&c, 5, 100, 2e6);
    run_site(&o, 5, 20, -1);
    run_site(&e, 4, 50, 1e6);     /* evaluation: a table of its own */
    FILE *f = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(dl_prof_report(f), 0);
    char *s = contents(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const char *bw = strstr(s, "\nbackward "), *fw = strstr(s, "\nforward "), *op = strstr(s, "\noptimizer ");
    CU_ASSERT_FATAL(bw && fw && op);
    CU_ASSERT_TRUE(bw < fw && fw < op);                    /* slowest first */
    CU_ASSERT_PTR_NULL(strstr(fw + 1, "\nforward "));      /* the two forward sites of line 4 are one row */
    CU_ASSERT_PTR_NOT_NULL(strstr(fw, "dense, relu"));
    CU_ASSERT_EQUAL((int)column(fw + 1, 4), 20);           /* calls */
    CU_ASSERT_DOUBLE_EQUAL(column(fw + 1, 3), 80, 2);      /* total ms */
    CU_ASSERT_DOUBLE_EQUAL(column(fw + 1, 2), 40, 1);      /* % of 200 ms */
    CU_ASSERT_DOUBLE_EQUAL(column(fw + 1, 1), 20, 1);      /* self: relu only */
    CU_ASSERT_DOUBLE_EQUAL(column(fw + 1, 0), 0.125, 0.01);/* 10 MFLOP / 80 ms */
    CU_ASSERT_DOUBLE_EQUAL(column(bw + 1, 0), 0.1, 0.01);  /* 10 MFLOP / 100 ms */
    const char *gf = strchr(op + 1, '\n');
    CU_ASSERT_TRUE(gf && gf[-1] == '-');                   /* unknown FLOPs: no rate */
    CU_ASSERT_DOUBLE_EQUAL(column(bw + 1, 2) + column(fw + 1, 2) + column(op + 1, 2), 100, 0.05);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "by phase:  forward 40.0%  backward 50.0%  optimizer 10.0%\n"));
    /* the block line inlined into line 4, beneath it: dense's matmul, all of it self time */
    const char *in = strstr(fw + 1, "\n             lib.dln:3 ");
    CU_ASSERT_FATAL(in && in < op && strstr(in, "matmul"));
    CU_ASSERT_DOUBLE_EQUAL(column(in + 1, 3), 60, 2);
    CU_ASSERT_DOUBLE_EQUAL(column(in + 1, 1), 60, 2);
    const char *ev = strstr(s, "profile: evaluation");
    CU_ASSERT_FATAL(ev && ev > op);
    CU_ASSERT_PTR_NOT_NULL(strstr(ev, "\neval       m.dln:4 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(ev, "by phase:  eval 100.0%\n"));
    free(s);
    fclose(f);
    dl_prof_reset();
}

void suite_rt_progress(void)
{
    CU_pSuite s = CU_add_suite("rt_progress", NULL, NULL);
    CU_add_test(s, "the steps of an epoch", test_total);
    CU_add_test(s, "plain lines when not a terminal", test_plain_lines);
    CU_add_test(s, "--quiet, and the 10 s default", test_quiet_and_interval);
    CU_add_test(s, "the --profile table", test_profile_table);
}
