/* test_rt_data.c — IDX files written by the test (plain and gzipped) and
 * loaded back; truncated and corrupt files give errors with the right text;
 * the real Fashion-MNIST test split; CSV parsing and its errors; the seeded
 * split and the batcher. */
#include "dlnrt.h"
#include "files.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char dir[64];

static int data_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/dlnrt_data_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int data_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes an IDX file of unsigned bytes: header (magic, dims) + data, gzipped
 * or plain; `keep` limits the total bytes written (to make truncated files). */
static void write_idx(const char *name, int gz, const int *dims, int ndim, const unsigned char *data, size_t keep)
{
    static unsigned char buf[16384];
    size_t n = 0;
    buf[n++] = 0; buf[n++] = 0; buf[n++] = 0x08; buf[n++] = (unsigned char)ndim;
    size_t count = 1;   /* wraps for absurd claims; only the bytes kept are copied */
    for (int d = 0; d < ndim; d++) {
        buf[n++] = (unsigned char)(dims[d] >> 24); buf[n++] = (unsigned char)(dims[d] >> 16);
        buf[n++] = (unsigned char)(dims[d] >> 8); buf[n++] = (unsigned char)dims[d];
        count *= (size_t)dims[d];
    }
    if (keep < n + count) count = keep > n ? keep - n : 0;   /* a header-only file may claim any size */
    if (count) memcpy(buf + n, data, count);
    n += count;
    if (keep < n) n = keep;
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, buf, (unsigned)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(buf, 1, n, f);
        fclose(f);
    }
}

/* 5 images of 2x3 with pixel (s, k) = 10*s + k, labels s % 3. */
static void write_small_set(const char *prefix, int gz)
{
    unsigned char px[5 * 6], lab[5];
    for (int s = 0; s < 5; s++) {
        for (int k = 0; k < 6; k++) px[s * 6 + k] = (unsigned char)(10 * s + k);
        lab[s] = (unsigned char)(s % 3);
    }
    char a[64], b[64];
    snprintf(a, sizeof a, "%s-images-idx3-ubyte%s", prefix, gz ? ".gz" : "");
    snprintf(b, sizeof b, "%s-labels-idx1-ubyte%s", prefix, gz ? ".gz" : "");
    write_idx(a, gz, (int[]){5, 2, 3}, 3, px, (size_t)-1);
    write_idx(b, gz, (int[]){5}, 1, lab, (size_t)-1);
}

static void check_small_set(const dl_dataset *d)
{
    CU_ASSERT_EQUAL(d->n, 5);
    CU_ASSERT_EQUAL(d->x_numel, 6);
    CU_ASSERT_EQUAL(d->x_rank, 3);
    CU_ASSERT(d->x_shape[0] == 1 && d->x_shape[1] == 2 && d->x_shape[2] == 3);
    CU_ASSERT_EQUAL(d->num_classes, 3);
    CU_ASSERT_EQUAL(d->label_kind, DL_LABEL_CLASS);
    CU_ASSERT_DOUBLE_EQUAL(d->x[3 * 6 + 4], 34.0 / 255.0, 1e-7);
    CU_ASSERT_EQUAL(d->y_class[4], 1);
}

static void test_idx_plain_and_gz(void)
{
    dl_dataset d;
    write_small_set("train", 0);   /* plain only */
    CU_ASSERT_EQUAL_FATAL(dl_load_mnist_dir(dir, "train", &d), 0);
    check_small_set(&d);
    dl_dataset_free(&d);
    write_small_set("t10k", 1);    /* gzipped */
    CU_ASSERT_EQUAL_FATAL(dl_load_mnist_dir(dir, "test", &d), 0);
    check_small_set(&d);
    dl_dataset_free(&d);
    char a[128], b[128];
    snprintf(a, sizeof a, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(b, sizeof b, "%s/t10k-labels-idx1-ubyte.gz", dir);
    CU_ASSERT_EQUAL(dl_load_idx(a, b, &d), 0);
    dl_dataset_free(&d);
    CU_ASSERT_EQUAL(dl_load_mnist_dir(dir, "validation", &d), -1);
    CU_ASSERT_EQUAL(dl_load_mnist_dir("/nonexistent", "train", &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "train-images-idx3-ubyte.gz"));
}

static void test_idx_errors(void)
{
    unsigned char px[5 * 6] = {0}, lab[5] = {0};
    char img[128], lbl[128];
    dl_dataset d;
    snprintf(img, sizeof img, "%s/bad-images", dir);
    snprintf(lbl, sizeof lbl, "%s/bad-labels", dir);
    write_idx("bad-labels", 0, (int[]){5}, 1, lab, (size_t)-1);
    /* truncated pixel data, plain and gzipped */
    for (int gz = 0; gz < 2; gz++) {
        write_idx("bad-images", gz, (int[]){5, 2, 3}, 3, px, 16 + 7);
        CU_ASSERT_EQUAL(dl_load_idx(img, lbl, &d), -1);
        char want[256];
        snprintf(want, sizeof want, "%s: truncated: expected 30 bytes of pixel data, got 7", img);
        CU_ASSERT_STRING_EQUAL(dl_last_error(), want);
    }
    /* a gzip stream cut in the middle */
    write_idx("bad-images", 1, (int[]){5, 2, 3}, 3, px, (size_t)-1);
    CU_ASSERT_EQUAL(truncate(img, 20), 0);
    CU_ASSERT_EQUAL(dl_load_idx(img, lbl, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "truncated"));
    /* wrong magic: a label file given as images, garbage, empty */
    CU_ASSERT_EQUAL(dl_load_idx(lbl, lbl, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "not an IDX file"));
    FILE *f = fopen(img, "wb");
    fputs("hello, world", f);
    fclose(f);
    CU_ASSERT_EQUAL(dl_load_idx(img, lbl, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "magic"));
    f = fopen(img, "wb");
    fclose(f);
    CU_ASSERT_EQUAL(dl_load_idx(img, lbl, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "truncated: expected 4 bytes of IDX magic, got 0"));
    /* count mismatch, zero dimension */
    write_idx("bad-images", 0, (int[]){4, 2, 3}, 3, px, (size_t)-1);
    CU_ASSERT_EQUAL(dl_load_idx(img, lbl, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "has 4 images but"));
    write_idx("bad-images", 0, (int[]){5, 0, 3}, 3, px, (size_t)-1);
    CU_ASSERT_EQUAL(dl_load_idx(img, lbl, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "implausible dimension"));
    CU_ASSERT_PTR_NULL(d.x);
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Sizes from the header are multiplied with overflow checks and compared with
 * what the file can hold before anything is allocated. 1 x 256 x 2^28 x 2^28
 * is 2^64 values: the unchecked product wrapped to 0 and this 20-byte file
 * loaded as one sample of no pixels (issue 18, item 5). */
static void test_idx_size_overflow(void)
{
    char img[128], lbl[128];
    dl_dataset d;
    snprintf(img, sizeof img, "%s/huge-images", dir);
    snprintf(lbl, sizeof lbl, "%s/huge-labels", dir);
    unsigned char one = 0;
    write_idx("huge-labels", 0, (int[]){1}, 1, &one, (size_t)-1);
    write_idx("huge-images", 0, (int[]){1, 256, 1 << 28, 1 << 28}, 4, NULL, 20);
    CU_ASSERT_EQUAL(dl_load_idx(img, lbl, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "huge-images: implausibly large"));
    CU_ASSERT_PTR_NULL(d.x);
    /* a plausible claim the file cannot hold: plain files by their size, gzip
     * by deflate's best ratio (1032:1) — refused before allocating 2 GB */
    for (int gz = 0; gz < 2; gz++) {
        write_idx("huge-images", gz, (int[]){8192, 512, 512}, 3, NULL, 16);
        write_idx("huge-labels", gz, (int[]){8192}, 1, NULL, 8);
        CU_ASSERT_EQUAL(dl_load_idx(img, lbl, &d), -1);
        char want[256];
        if (gz) snprintf(want, sizeof want, "%s: truncated or corrupt: the header declares 2147483648 bytes of "
                         "pixel data, more than a %lld-byte gzip file can hold", img, (long long)file_size(img));
        else snprintf(want, sizeof want, "%s: truncated: expected 2147483648 bytes of pixel data, got 0", img);
        CU_ASSERT_STRING_EQUAL(dl_last_error(), want);
    }
}

static void test_fashion_mnist(void)
{
    const char *fm = "/usr/share/datasets/fashion-mnist";
    if (access(fm, R_OK) != 0) return;
    dl_dataset d;
    CU_ASSERT_EQUAL_FATAL(dl_load_mnist_dir(fm, "test", &d), 0);
    CU_ASSERT_EQUAL(d.n, 10000);
    CU_ASSERT_EQUAL(d.num_classes, 10);
    CU_ASSERT_EQUAL(d.x_numel, 784);
    int counts[10] = {0}, in_range = 1;
    for (int64_t i = 0; i < d.n; i++) counts[d.y_class[i]]++;
    for (int64_t i = 0; i < d.n * 784; i++) in_range &= d.x[i] >= 0.0f && d.x[i] <= 1.0f;
    CU_ASSERT(in_range);
    for (int c = 0; c < 10; c++) CU_ASSERT_EQUAL(counts[c], 1000);
    dl_dataset_free(&d);
}

static void spill(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

/* Loads images + labels and expects failure with an error naming `named`. */
static int rejects(const char *img, const char *lbl, const char *named)
{
    dl_dataset d;
    if (dl_load_idx(img, lbl, &d) == 0) { dl_dataset_free(&d); return 0; }
    return strstr(dl_last_error(), named) != NULL;
}

/* The gzip trailer (CRC-32 and length) is checked: the stream is read to its
 * end. Single-bit flips in the real Fashion-MNIST files loaded 4 times in 40
 * and cutting the trailer off went unnoticed, because reading stopped at the
 * last byte the header asked for (issue 18, item 6). Each flip position is
 * in the deflate data or the trailer (the 10-byte header's time stamp and OS
 * byte are not checked by gzip either). */
static void test_idx_gzip_integrity(void)
{
    const char *fm = "/usr/share/datasets/fashion-mnist";
    char src_img[256], src_lbl[256], img[128], lbl[128];
    snprintf(src_img, sizeof src_img, "%s/t10k-images-idx3-ubyte.gz", fm);
    snprintf(src_lbl, sizeof src_lbl, "%s/t10k-labels-idx1-ubyte.gz", fm);
    snprintf(img, sizeof img, "%s/flip-images-idx3-ubyte.gz", dir);
    snprintf(lbl, sizeof lbl, "%s/flip-labels-idx1-ubyte.gz", dir);
    size_t ni, nl;
    unsigned char *bi = test_read_file(src_img, &ni), *bl = test_read_file(src_lbl, &nl);
    if (bi && bl) {
        /* 40 flips spread over the labels file, then each trailer byte,
         * against 10000 tiny images (the real ones would only slow this down) */
        static unsigned char tiny[10000];
        write_idx("flip-images-idx3-ubyte.gz", 1, (int[]){10000, 1, 1}, 3, tiny, (size_t)-1);
        int accepted = 0;
        for (size_t k = 0; k < 48; k++) {
            size_t pos = k < 40 ? 10 + k * (nl - 10) / 40 : nl - 8 + (k - 40);
            bl[pos] ^= (unsigned char)(1u << (k % 8));
            spill(lbl, bl, nl);
            bl[pos] ^= (unsigned char)(1u << (k % 8));
            if (!rejects(img, lbl, lbl)) { accepted++; printf("\nflip at byte %zu of %zu loaded\n", pos, nl); }
        }
        CU_ASSERT_EQUAL(accepted, 0);
        /* 8 flips in the 4.4 MB images file, the last two in its trailer */
        spill(lbl, bl, nl);
        accepted = 0;
        for (size_t k = 0; k < 8; k++) {
            size_t pos = k < 6 ? 10 + k * (ni - 10) / 6 + 12345 : ni - 1 - 4 * (k - 6);
            bi[pos] ^= (unsigned char)(1u << (k % 8));
            spill(img, bi, ni);
            bi[pos] ^= (unsigned char)(1u << (k % 8));
            if (!rejects(img, lbl, img)) { accepted++; printf("\nflip at byte %zu of %zu loaded\n", pos, ni); }
        }
        CU_ASSERT_EQUAL(accepted, 0);
        /* cutting the trailer (or part of it) off is truncation */
        const size_t cuts[] = {1, 4, 8};
        for (size_t k = 0; k < 3; k++) {
            spill(img, bi, ni - cuts[k]);
            CU_ASSERT(rejects(img, lbl, "truncated"));
            CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), img));
        }
        /* the intact copies load */
        spill(img, bi, ni);
        dl_dataset d;
        CU_ASSERT_EQUAL(dl_load_idx(img, lbl, &d), 0);
        dl_dataset_free(&d);
    }
    free(bi);
    free(bl);

    /* Small generated files. A damaged CRC names the file; */
    unsigned char px[30], lab[5] = {0, 1, 2, 0, 1};
    for (int i = 0; i < 30; i++) px[i] = (unsigned char)(7 * i);
    snprintf(img, sizeof img, "%s/gz-images", dir);
    snprintf(lbl, sizeof lbl, "%s/gz-labels", dir);
    write_idx("gz-images", 1, (int[]){5, 2, 3}, 3, px, (size_t)-1);
    write_idx("gz-labels", 1, (int[]){5}, 1, lab, (size_t)-1);
    size_t n;
    unsigned char *b = test_read_file(img, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    b[n - 8] ^= 1;
    spill(img, b, n);
    CU_ASSERT(rejects(img, lbl, img));
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "corrupt"));
    b[n - 8] ^= 1;
    /* data beyond what the header declares is an error, not ignored; */
    gzFile g = gzopen(img, "wb");
    gzwrite(g, "\0\0\x08\x03\0\0\0\x04\0\0\0\x02\0\0\0\x03", 16);   /* 4 images declared, */
    gzwrite(g, px, 30);                                                    /* 5 stored */
    gzclose(g);
    write_idx("gz-labels", 1, (int[]){4}, 1, lab, (size_t)-1);
    CU_ASSERT(rejects(img, lbl, "more data than the header declares"));
    write_idx("gz-labels", 1, (int[]){5}, 1, lab, (size_t)-1);
    /* a multi-member file (gzip a b > c) is the concatenation, as gunzip reads it; */
    g = gzopen(img, "wb");
    gzwrite(g, "\0\0\x08\x03\0\0\0\x05\0\0\0\x02\0\0\0\x03", 16);
    gzclose(g);
    size_t n1;
    unsigned char *m1 = test_read_file(img, &n1);
    g = gzopen(img, "wb");
    gzwrite(g, px, 30);
    gzclose(g);
    size_t n2;
    unsigned char *m2 = test_read_file(img, &n2), *twice = malloc(n1 + n2);
    memcpy(twice, m1, n1);
    memcpy(twice + n1, m2, n2);
    spill(img, twice, n1 + n2);
    dl_dataset d;
    CU_ASSERT_EQUAL(dl_load_idx(img, lbl, &d), 0);
    CU_ASSERT_DOUBLE_EQUAL(d.x[29], 203 / 255.0, 1e-7);
    dl_dataset_free(&d);
    /* and bytes after the last member that do not start another one are
     * ignored, as gzip ignores them (it warns): they hold no data of ours. */
    spill(img, b, n);
    FILE *f = fopen(img, "ab");
    fputs("\n\0\0\0\0", f);
    fclose(f);
    CU_ASSERT_EQUAL(dl_load_idx(img, lbl, &d), 0);
    dl_dataset_free(&d);
    free(b);
    free(twice);
    free(m1);
    free(m2);
}

static const char *write_text(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* weight_col: a column of per-sample weights, not a feature; carried by the
 * validation split and gathered by the batcher with its samples. */
static void test_csv_weights(void)
{
    dl_dataset d, val;
    dl_csv_options o = {.label_col = -1, .header = -1, .classify = 1, .has_weight = 1, .weight_col = 1};
    const char *p = write_text("w.csv", "x1,w,x2,label\n1,0.5,2,0\n3,2,4,1\n5,0,6,1\n7,4,8,0\n");
    CU_ASSERT_EQUAL_FATAL(dl_load_csv(p, &o, &d), 0);
    CU_ASSERT_EQUAL(d.x_numel, 2);
    CU_ASSERT_DOUBLE_EQUAL(d.x[1 * 2 + 1], 4.0, 0);   /* row 1: features 3, 4 around the weight */
    CU_ASSERT_PTR_NOT_NULL_FATAL(d.weight);
    CU_ASSERT_DOUBLE_EQUAL(d.weight[0], 0.5, 0);
    CU_ASSERT_DOUBLE_EQUAL(d.weight[3], 4.0, 0);
    /* the split keeps each weight with its sample: x1 is 2 * weight index + 1, weight is a function of x1 */
    CU_ASSERT_EQUAL_FATAL(dl_dataset_split(&d, 0.5, 3, &val), 0);
    const float by_x1[8] = {0, 0.5f, 0, 2, 0, 0, 0, 4};
    for (int64_t i = 0; i < d.n; i++) CU_ASSERT_DOUBLE_EQUAL(d.weight[i], by_x1[(int)d.x[2 * i]], 0);
    for (int64_t i = 0; i < val.n; i++) CU_ASSERT_DOUBLE_EQUAL(val.weight[i], by_x1[(int)val.x[2 * i]], 0);
    dl_batcher b;
    CU_ASSERT_EQUAL_FATAL(dl_batcher_init(&b, &d, 2, 1, 9), 0);
    const float *x;
    const void *y;
    CU_ASSERT_EQUAL(dl_batcher_next(&b, &x, &y), 2);
    for (int i = 0; i < 2; i++) CU_ASSERT_DOUBLE_EQUAL(b.wbuf[i], by_x1[(int)x[2 * i]], 0);
    dl_batcher_free(&b);
    dl_dataset_free(&d);
    dl_dataset_free(&val);
    /* a negative weight, the label column, a column beyond the row */
    p = write_text("w2.csv", "1,2,0\n1,-1,1\n");
    CU_ASSERT_EQUAL(dl_load_csv(p, &o, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "w2.csv:2: column 2: weight '-1' is negative"));
    dl_csv_options same = {.label_col = -1, .header = -1, .classify = 1, .has_weight = 1, .weight_col = 2};
    CU_ASSERT_EQUAL(dl_load_csv(p, &same, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "is the label column"));
    dl_csv_options far = {.label_col = -1, .header = -1, .classify = 1, .has_weight = 1, .weight_col = 5};
    CU_ASSERT_EQUAL(dl_load_csv(p, &far, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "out of range"));
}

static void test_csv(void)
{
    dl_dataset d;
    dl_csv_options o = {.label_col = -1, .header = -1, .classify = 1};
    const char *p = write_text("a.csv", "x1, x2 ,label\r\n1.5,2,0\r\n\r\n-3,4e1,2\n5,6,1\n");
    CU_ASSERT_EQUAL_FATAL(dl_load_csv(p, &o, &d), 0);
    CU_ASSERT_EQUAL(d.n, 3);
    CU_ASSERT_EQUAL(d.x_numel, 2);
    CU_ASSERT_EQUAL(d.num_classes, 3);
    CU_ASSERT_DOUBLE_EQUAL(d.x[2 * 1 + 1], 40.0, 0);
    CU_ASSERT_EQUAL(d.y_class[1], 2);
    dl_dataset_free(&d);
    /* no header (detected), label first, dense target, ';' delimiter */
    dl_csv_options r = {.label_col = 0, .header = -1, .classify = 0, .delimiter = ';'};
    p = write_text("b.csv", "0.5;1;2\n-1.25;3;4\n");
    CU_ASSERT_EQUAL_FATAL(dl_load_csv(p, &r, &d), 0);
    CU_ASSERT_EQUAL(d.n, 2);
    CU_ASSERT_EQUAL(d.label_kind, DL_LABEL_DENSE);
    CU_ASSERT_EQUAL(d.y_numel, 1);
    CU_ASSERT_DOUBLE_EQUAL(d.y_dense[1], -1.25, 0);
    CU_ASSERT_DOUBLE_EQUAL(d.x[1 * 2 + 0], 3.0, 0);
    dl_dataset_free(&d);
    /* errors, with line numbers */
    p = write_text("c.csv", "a,b,c\n1,2,0\n1,x,1\n");
    CU_ASSERT_EQUAL(dl_load_csv(p, &o, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "c.csv:3: column 2: 'x' is not a number"));
    /* a terminal escape in a field: quoted as \xNN (dl_set_error), never sent raw to the terminal */
    p = write_text("esc.csv", "a,b,c\n1,2,0\n1,\x1b[2J\x7f,1\n");
    CU_ASSERT_EQUAL(dl_load_csv(p, &o, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "esc.csv:3: column 2: '\\x1b[2J\\x7f' is not a number"));
    CU_ASSERT_PTR_NULL(strchr(dl_last_error(), 0x1b));
    p = write_text("d.csv", "1,2,0\n1,2\n");
    CU_ASSERT_EQUAL(dl_load_csv(p, &o, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "d.csv:2: expected 3 fields, got 2"));
    p = write_text("e.csv", "1,2,0\n1,2,1.5\n");
    CU_ASSERT_EQUAL(dl_load_csv(p, &o, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "e.csv:2: column 3: class label '1.5'"));
    p = write_text("f.csv", "1,2,0\n1,,1\n");
    CU_ASSERT_EQUAL(dl_load_csv(p, &o, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "f.csv:2: column 2"));
    dl_csv_options far = {.label_col = 7, .header = 0, .classify = 1};
    CU_ASSERT_EQUAL(dl_load_csv(p, &far, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "out of range"));
    p = write_text("g.csv", "a,b\n");
    CU_ASSERT_EQUAL(dl_load_csv(p, &o, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "no data rows"));
    CU_ASSERT_EQUAL(dl_load_csv("/nonexistent.csv", &o, &d), -1);
}

/* Values beyond float range became +-inf after the finiteness check on the
 * double; a first row holding NaN, or starting with a UTF-8 byte-order mark,
 * was taken for a header and silently dropped (issue 18, item 8). */
static void test_csv_values_and_header_rule(void)
{
    dl_dataset d;
    dl_csv_options o = {.label_col = -1, .header = -1, .classify = 1};
    dl_csv_options r = {.label_col = -1, .header = -1, .classify = 0};
    const char *p = write_text("big.csv", "1,2,0\n3,1e39,1\n");
    CU_ASSERT_EQUAL(dl_load_csv(p, &o, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "big.csv:2: column 2: '1e39' is beyond float range"));
    p = write_text("big.csv", "1,2,0\n-1e39,1,1\n");
    CU_ASSERT_EQUAL(dl_load_csv(p, &o, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "big.csv:2: column 1: '-1e39' is beyond float range"));
    p = write_text("big.csv", "1,2,0.5\n1,2,-4e38\n");   /* a dense target too */
    CU_ASSERT_EQUAL(dl_load_csv(p, &r, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "big.csv:2: column 3: '-4e38' is beyond float range"));
    p = write_text("big.csv", "3.4028234e38,1e-50,0\n");   /* FLT_MAX is fine; underflow to 0 is not an error */
    CU_ASSERT_EQUAL_FATAL(dl_load_csv(p, &o, &d), 0);
    CU_ASSERT_EQUAL(d.x[0], 3.4028234e38f);
    CU_ASSERT_EQUAL(d.x[1], 0.0f);
    dl_dataset_free(&d);
    /* NaN and infinity are numbers to the header rule, then rejected as data */
    p = write_text("nan.csv", "nan,1,0\n2,3,1\n");
    CU_ASSERT_EQUAL(dl_load_csv(p, &o, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "nan.csv:1: column 1: 'nan' is not a finite number"));
    p = write_text("nan.csv", "x,y,label\n2,-inf,1\n");
    CU_ASSERT_EQUAL(dl_load_csv(p, &o, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "nan.csv:2: column 2: '-inf' is not a finite number"));
    /* a byte-order mark is not part of the first field */
    p = write_text("bom.csv", "\xef\xbb\xbf" "1,2,0\n3,4,1\n");
    CU_ASSERT_EQUAL_FATAL(dl_load_csv(p, &o, &d), 0);
    CU_ASSERT_EQUAL(d.n, 2);
    CU_ASSERT_EQUAL(d.x[0], 1.0f);
    dl_dataset_free(&d);
    p = write_text("bom.csv", "\xef\xbb\xbf" "a,b,c\n3,4,1\n");
    CU_ASSERT_EQUAL_FATAL(dl_load_csv(p, &o, &d), 0);
    CU_ASSERT_EQUAL(d.n, 1);
    dl_dataset_free(&d);
}

/* A dataset with x = [i, -i], label i % 4. */
static void make_counting(dl_dataset *d, int64_t n)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->x_numel = 2;
    d->x_rank = 1;
    d->x_shape[0] = 2;
    d->x = malloc((size_t)n * 2 * sizeof(float));
    d->y_class = malloc((size_t)n * sizeof(int32_t));
    for (int64_t i = 0; i < n; i++) {
        d->x[2 * i] = (float)i;
        d->x[2 * i + 1] = (float)-i;
        d->y_class[i] = (int32_t)(i % 4);
    }
    d->label_kind = DL_LABEL_CLASS;
    d->y_numel = 1;
    d->num_classes = 4;
}

static void test_split_and_batcher(void)
{
    dl_dataset d, v, d2, v2, none;
    make_counting(&d, 100);
    make_counting(&d2, 100);
    CU_ASSERT_EQUAL_FATAL(dl_dataset_split(&d, 0.2, 7, &v), 0);
    CU_ASSERT_EQUAL(d.n, 80);
    CU_ASSERT_EQUAL(v.n, 20);
    /* a partition of the samples, consistent rows, reproducible */
    int seen[100] = {0}, consistent = 1;
    for (int64_t i = 0; i < d.n; i++) { int s = (int)d.x[2 * i]; seen[s]++; consistent &= d.x[2 * i + 1] == -s && d.y_class[i] == s % 4; }
    for (int64_t i = 0; i < v.n; i++) { int s = (int)v.x[2 * i]; seen[s]++; consistent &= v.x[2 * i + 1] == -s && v.y_class[i] == s % 4; }
    int all_once = 1;
    for (int i = 0; i < 100; i++) all_once &= seen[i] == 1;
    CU_ASSERT(all_once && consistent);
    CU_ASSERT_EQUAL(dl_dataset_split(&d2, 0.2, 7, &v2), 0);
    CU_ASSERT_EQUAL(memcmp(v.x, v2.x, 40 * sizeof(float)), 0);
    CU_ASSERT_EQUAL(dl_dataset_split(&d2, 1.5, 7, &none), -1);
    dl_dataset_free(&v);
    dl_dataset_free(&d2);
    dl_dataset_free(&v2);

    /* batcher over 80 samples, batch 32: 32, 32, 16, then 0; each epoch a permutation */
    dl_batcher b;
    CU_ASSERT_EQUAL_FATAL(dl_batcher_init(&b, &d, 32, 1, 3), 0);
    int64_t order[2][80], k = 0;
    for (int epoch = 0; epoch < 2; epoch++) {
        int count[100] = {0};
        int64_t sizes[4], m, nb = 0;
        const float *x;
        const void *y;
        while ((m = dl_batcher_next(&b, &x, &y)) > 0) {
            sizes[nb++] = m;
            for (int64_t i = 0; i < m; i++) {
                int s = (int)x[2 * i];
                count[s]++;
                CU_ASSERT_EQUAL(((const int32_t *)y)[i], s % 4);
                order[epoch][k++ % 80] = s;
            }
        }
        CU_ASSERT_EQUAL(nb, 3);
        CU_ASSERT(sizes[0] == 32 && sizes[1] == 32 && sizes[2] == 16);
        int total = 0;
        for (int i = 0; i < 100; i++) total += count[i] == 1;
        CU_ASSERT_EQUAL(total, 80);
        dl_batcher_reset(&b);
    }
    CU_ASSERT_NOT_EQUAL(memcmp(order[0], order[1], sizeof order[0]), 0);   /* reshuffled */
    dl_batcher_free(&b);
    /* unshuffled: in order */
    CU_ASSERT_EQUAL_FATAL(dl_batcher_init(&b, &d, 50, 0, 3), 0);
    const float *x;
    const void *y;
    CU_ASSERT_EQUAL(dl_batcher_next(&b, &x, &y), 50);
    CU_ASSERT_EQUAL(x[2 * 5], d.x[2 * 5]);
    CU_ASSERT_EQUAL(dl_batcher_next(&b, &x, &y), 30);
    CU_ASSERT_EQUAL(dl_batcher_next(&b, &x, &y), 0);
    dl_batcher_free(&b);
    CU_ASSERT_EQUAL(dl_batcher_init(&b, &d, 0, 0, 3), -1);
    dl_dataset_free(&d);
}

void suite_rt_data(void)
{
    CU_pSuite s = CU_add_suite("rt_data", data_setup, data_teardown);
    CU_add_test(s, "IDX plain and gzipped", test_idx_plain_and_gz);
    CU_add_test(s, "IDX truncated/corrupt errors", test_idx_errors);
    CU_add_test(s, "IDX sizes: checked products, bounded by the file", test_idx_size_overflow);
    CU_add_test(s, "IDX gzip: CRC and length checked, read to the end", test_idx_gzip_integrity);
    CU_add_test(s, "Fashion-MNIST test split", test_fashion_mnist);
    CU_add_test(s, "CSV: header, label column, errors", test_csv);
    CU_add_test(s, "CSV: a weight column", test_csv_weights);
    CU_add_test(s, "CSV: float range, NaN and BOM in the first row", test_csv_values_and_header_rule);
    CU_add_test(s, "split and batcher", test_split_and_batcher);
}
