/* test_rt_special_files.c — every file reader handed something that is not a
 * file of bytes: a FIFO with no writer (open() without O_NONBLOCK waited for
 * a writer forever: safetensors, IDX, CSV, CIFAR-10, `dlnc plot`'s CSVs, graph
 * files and .dln sources all hung before file_open.c), /dev/zero (read
 * without end), a directory. Each must return an error naming the path at
 * once; alarm() turns a hang back into a failed test instead of a stuck run. */
#include "dlnrt.h"
#include "file_open_internal.h"
#include "parse.h"

#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int special_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/dlnrt_special_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int special_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

enum { FIFO, DEV_ZERO, DIRECTORY, N_KINDS };
static const char *const kind_name[N_KINDS] = {"fifo", "zero", "dir"};

/* dir/<sub>/<name> made as kind (its directory made too); returns the path. */
static const char *make_special(int kind, const char *sub, const char *name)
{
    static char path[256];
    char d[192];
    snprintf(d, sizeof d, "%s/%s_%s", dir, sub, kind_name[kind]);
    mkdir(d, 0700);
    snprintf(path, sizeof path, "%s/%s", d, name);
    int rc = kind == FIFO ? mkfifo(path, 0600) : kind == DEV_ZERO ? symlink("/dev/zero", path) : mkdir(path, 0700);
    CU_ASSERT_FATAL(rc == 0);
    return path;
}

/* The reader refused within the alarm, naming `name` and saying what it got. */
static void check_refused(int rc, const char *name, int kind)
{
    CU_ASSERT_EQUAL(rc, -1);
    const char *e = dl_last_error();
    CU_ASSERT_PTR_NOT_NULL(strstr(e, name));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, kind == FIFO ? "a FIFO" : kind == DEV_ZERO ? "a character device" : "a directory"));
    if (rc != -1 || !strstr(e, name)) fprintf(stderr, "\n  %s (%s): rc %d, '%s'\n", name, kind_name[kind], rc, e);
}

static void test_runtime_readers(void)
{
    alarm(20);   /* a blocking open would stop here: SIGALRM ends the run, a failure */
    for (int k = 0; k < N_KINDS; k++) {
        const char *p = make_special(k, "st", "ck.safetensors");
        float w[3];
        dl_named_tensor t = {.name = "w", .data = w, .rank = 1, .shape = {3}};
        check_refused(dl_load_safetensors(p, &t, 1, 0), "ck.safetensors", k);
        char meta[32];
        check_refused(dl_safetensors_meta(p, "dlnc.steps", meta, sizeof meta), "ck.safetensors", k);

        dl_dataset d;
        dl_csv_options o = {.label_col = -1, .header = -1, .classify = 1, .delimiter = ','};
        check_refused(dl_load_csv(make_special(k, "csv", "rows.csv"), &o, &d), "rows.csv", k);

        p = make_special(k, "idx", "train-images-idx3-ubyte");
        check_refused(dl_load_idx(p, p, &d), "train-images-idx3-ubyte", k);

        char cdir[256];
        snprintf(cdir, sizeof cdir, "%s", make_special(k, "cifar", "test_batch.bin"));
        *strrchr(cdir, '/') = '\0';
        check_refused(dl_load_cifar10_dir(cdir, "test", &d), "test_batch.bin", k);

        check_refused(dl_plot_csv(make_special(k, "plot", "run.csv"), NULL), "run.csv", k);

        char gdir[256];
        snprintf(gdir, sizeof gdir, "%s", make_special(k, "graph", "nodes.csv"));
        *strrchr(gdir, '/') = '\0';
        dl_graph g;
        check_refused(dl_graph_load(gdir, &g), "nodes.csv", k);
    }
    alarm(0);
}

/* Files a run writes at a name the user gives (--history and the files
 * beside it, `dlnc search --out`): fopen(path, "w" or "a") of a FIFO nobody
 * reads waited in open() for a reader (docs/results/fz2_history_fifo.log);
 * dl_fopen_write refuses it at once, refuses a directory, and writes
 * /dev/null and a FIFO that has a reader. */
static void test_writers(void)
{
    alarm(20);
    const char *modes[2] = {"w", "a"};
    for (int m = 0; m < 2; m++) {
        const char *p = make_special(FIFO, modes[m], "hist.csv");
        CU_ASSERT_PTR_NULL(dl_fopen_write(p, modes[m]));
        CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "hist.csv: cannot write: a FIFO that nothing reads"));
        p = make_special(DIRECTORY, modes[m], "hist.csv");
        CU_ASSERT_PTR_NULL(dl_fopen_write(p, modes[m]));
        CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "hist.csv: cannot write: Is a directory"));
        FILE *f = dl_fopen_write("/dev/null", modes[m]);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f) CU_ASSERT_EQUAL(fclose(f), 0);
    }
    /* a FIFO with a reader is written as a pipe */
    const char *p = make_special(FIFO, "read", "pipe.csv");
    int rd = open(p, O_RDONLY | O_NONBLOCK);
    CU_ASSERT_FATAL(rd >= 0);
    FILE *f = dl_fopen_write(p, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("epoch\n", f);
    CU_ASSERT_EQUAL(fclose(f), 0);
    char got[16] = {0};
    CU_ASSERT_EQUAL(read(rd, got, sizeof got - 1), 6);
    CU_ASSERT_STRING_EQUAL(got, "epoch\n");
    close(rd);
    /* a plain file: "w" truncates, "a" appends */
    char plain[256];
    snprintf(plain, sizeof plain, "%s/plain.csv", dir);
    for (int m = 0; m < 2; m++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(f = dl_fopen_write(plain, modes[m]));
        fputs("x\n", f);
        fclose(f);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(plain, "r"));
    CU_ASSERT_EQUAL(fread(got, 1, sizeof got - 1, f), 4);
    fclose(f);
    alarm(0);
}

/* The compiler's source reader: the same three, a file of zeros (stopped at
 * the first NUL, not read whole) and a sparse 16 GB one (refused by its size
 * before any read; skipped where the file system refuses the size). */
static void test_source_reader(void)
{
    alarm(20);
    static const char *const says[N_KINDS + 2] = {
        "not a regular file (a FIFO)", "not a regular file (a character device)", "not a regular file (a directory)",
        "the file contains a NUL byte (not a text file?)", "larger than 1 GB, not a source file"};
    for (int k = 0; k < N_KINDS + 2; k++) {
        const char *p;
        if (k < N_KINDS) {
            p = make_special(k, "dln", "m.dln");
        } else {
            static char sparse[256];
            snprintf(sparse, sizeof sparse, "%s/sparse%d.dln", dir, k);
            FILE *f = fopen(sparse, "w");
            CU_ASSERT_FATAL(f != NULL);
            int sized = ftruncate(fileno(f), k == N_KINDS ? (off_t)1 << 20 : (off_t)1 << 34) == 0;
            fclose(f);
            if (!sized) continue;
            p = sparse;
        }
        arena a;
        memset(&a, 0, sizeof a);
        diag_ctx dg;
        char *text = NULL;
        size_t len = 0;
        FILE *err = open_memstream(&text, &len);
        diag_init(&dg, err);
        ast_program *prog = parse_file(&a, &dg, p);
        fclose(err);
        CU_ASSERT_PTR_NULL(prog);
        char want[512];
        snprintf(want, sizeof want, "dlnc: error: cannot read '%s': %s\n", p, says[k]);
        CU_ASSERT_STRING_EQUAL(text, want);
        free(text);
        free(dg.sources);
        arena_free(&a);
    }
    alarm(0);
}

void suite_rt_special_files(void)
{
    CU_pSuite s = CU_add_suite("rt_special_files", special_setup, special_teardown);
    CU_add_test(s, "runtime readers: FIFO, /dev/zero, directory refused at once", test_runtime_readers);
    CU_add_test(s, "writers at a user's path: a FIFO nobody reads, a directory refused", test_writers);
    CU_add_test(s, "dlnc's source reader: the same, zeros and a sparse 16 GB file", test_source_reader);
}
