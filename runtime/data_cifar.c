/* data_cifar.c — CIFAR-10, "binary version" (cifar-10-binary.tar.gz).
 *
 * The archive unpacks to cifar-10-batches-bin/ holding data_batch_1.bin ..
 * data_batch_5.bin (10000 records each) and test_batch.bin. A record is one
 * label byte (0..9) and 3072 pixel bytes: the red, green and blue 32x32
 * planes, each row-major — already the [C, H, W] layout our convolutions
 * take, so loading is a byte-to-float scale. There is no header, so the
 * only integrity checks possible are the ones we make: every file is a whole
 * number of records, and every label is a digit 0..9. Either the unpacked
 * folder itself or its parent may be given. */
#include "dlnrt.h"
#include "checked_internal.h"
#include "file_open_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { DL_CIFAR_PIXELS = 3 * 32 * 32, DL_CIFAR_RECORD = 1 + DL_CIFAR_PIXELS };
#define DL_CIFAR_MAX_VALUES ((int64_t)1 << 36)   /* 22 million images, 256 GB of floats: as IDX's bound */

/* Size of a regular file, or -1 with an error naming it (a FIFO or a device is refused here, not read). */
static long long dl_file_size(const char *path)
{
    int64_t size;
    int fd = dl_open_regular(path, &size);
    if (fd < 0) return -1;
    close(fd);
    return (long long)size;
}

/* Appends the records of one file to out (whose arrays have room). */
static int dl_cifar_read(const char *path, int64_t records, dl_dataset *out)
{
    FILE *f = dl_fopen_regular(path, NULL);
    if (!f) return -1;
    unsigned char rec[DL_CIFAR_RECORD];
    for (int64_t r = 0; r < records; r++) {
        if (fread(rec, 1, sizeof rec, f) != sizeof rec) {
            dl_set_error("%s: truncated: record %lld is incomplete", path, (long long)r);
            fclose(f);
            return -1;
        }
        if (rec[0] > 9) {
            dl_set_error("%s: record %lld has label %d; CIFAR-10 labels are 0..9", path, (long long)r, rec[0]);
            fclose(f);
            return -1;
        }
        out->y_class[out->n] = rec[0];
        float *x = out->x + out->n * DL_CIFAR_PIXELS;
        for (int i = 0; i < DL_CIFAR_PIXELS; i++) x[i] = rec[1 + i] * (1.0f / 255.0f);
        out->n++;
    }
    fclose(f);
    return 0;
}

int dl_load_cifar10_dir(const char *dir, const char *split, dl_dataset *out)
{
    memset(out, 0, sizeof *out);
    static const char *const train_files[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                              "data_batch_4.bin", "data_batch_5.bin"};
    static const char *const test_files[] = {"test_batch.bin"};
    const char *const *files;
    int nfiles;
    if (strcmp(split, "train") == 0) files = train_files, nfiles = 5;
    else if (strcmp(split, "test") == 0) files = test_files, nfiles = 1;
    else { dl_set_error("dl_load_cifar10_dir: split must be \"train\" or \"test\", not \"%s\"", split); return -1; }

    char base[4096], path[4400];
    snprintf(base, sizeof base, "%s/cifar-10-batches-bin", dir);
    snprintf(path, sizeof path, "%s/%s", base, files[0]);
    struct stat st;
    if (stat(path, &st) != 0) snprintf(base, sizeof base, "%s", dir);   /* the unpacked folder itself */

    long long sizes[5];
    int64_t total = 0;
    for (int i = 0; i < nfiles; i++) {
        snprintf(path, sizeof path, "%s/%s", base, files[i]);
        if ((sizes[i] = dl_file_size(path)) < 0) {
            char inner[512];
            snprintf(inner, sizeof inner, "%s", dl_last_error());
            dl_set_error("%s (CIFAR-10 binary version: %s needs %s%s)", inner, split, files[0],
                         nfiles > 1 ? " .. data_batch_5.bin" : "");
            return -1;
        }
        if (sizes[i] == 0 || sizes[i] % DL_CIFAR_RECORD != 0) {
            dl_set_error("%s: truncated or not CIFAR-10: %lld bytes is not a whole number of %d-byte records "
                         "(1 label + 3072 pixels)", path, sizes[i], DL_CIFAR_RECORD);
            return -1;
        }
        total += sizes[i] / DL_CIFAR_RECORD;
    }
    /* A size is only what stat says: a sparse or bogus file of terabytes
     * would otherwise be an allocation that overcommit grants and the reads
     * then fill until the process is killed. CIFAR-10 has 60000 images. */
    int64_t values;
    if (dl_mul_i64(total, DL_CIFAR_PIXELS, &values) || values > DL_CIFAR_MAX_VALUES) {
        dl_set_error("%s: implausibly large for CIFAR-10: %lld records in the %s files", base, (long long)total, split);
        return -1;
    }
    out->x = malloc((size_t)values * sizeof(float));
    out->y_class = malloc((size_t)total * sizeof(int32_t));
    if (!out->x || !out->y_class) {
        dl_dataset_free(out);
        dl_set_error("%s: out of memory for %lld CIFAR-10 images", dir, (long long)total);
        return -1;
    }
    for (int i = 0; i < nfiles; i++) {
        snprintf(path, sizeof path, "%s/%s", base, files[i]);
        if (dl_cifar_read(path, sizes[i] / DL_CIFAR_RECORD, out)) { dl_dataset_free(out); return -1; }
    }
    out->x_numel = DL_CIFAR_PIXELS;
    out->x_rank = 3;
    out->x_shape[0] = 3, out->x_shape[1] = 32, out->x_shape[2] = 32;
    out->label_kind = DL_LABEL_CLASS;
    out->y_numel = 1;
    out->num_classes = 10;
    return 0;
}
