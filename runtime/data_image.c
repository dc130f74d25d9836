/* data_image.c — a folder of PNG images, one subfolder per class
 * (torchvision's ImageFolder layout):
 *
 *   root/cat/001.png  root/cat/002.png  root/dog/001.png ...
 *
 * Classes are the subfolders in sorted (byte-wise) order, files within a
 * class sorted too, so the dataset's order — and with it every seeded
 * shuffle and split — is the same on every machine, whatever readdir
 * returns. Decoding is libpng's simplified API (png_image), which converts
 * any PNG (palette, gray, 16-bit, with or without alpha or tRNS) to the
 * 8-bit gray / RGB / RGBA we ask for, compositing a dropped alpha channel on
 * black (segmentation masks excepted: their values are class ids, read
 * as stored by libpng's low-level reader, dl_mask_read). We do not resize:
 * every image must have the first image's size, and the error names the
 * first file that does not. A test folder is read
 * against the training folder's class list, so "dog" is the same label in
 * both even when the test set lacks a class. */
#include "dlnrt.h"
#include "checked_internal.h"
#include "file_open_internal.h"

#include <dirent.h>
#include <errno.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct dl_names {
    char **v;
    int n, cap;
} dl_names;

static void dl_names_free(dl_names *s)
{
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int dl_names_push(dl_names *s, const char *name)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        s->v = v, s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(name))) return -1;
    s->n++;
    return 0;
}

static int dl_cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int dl_is_png_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcasecmp(name + n - 4, ".png") == 0;
}

/* Sorted entries of dir: subfolders (want_dirs) or *.png files. */
static int dl_list(const char *dir, int want_dirs, dl_names *out)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) { dl_set_error("%s: cannot open the image folder: %s", dir, strerror(errno)); return -1; }
    struct dirent *e;
    char path[4608];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;   /* ., .., hidden files */
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        int keep = want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode) && dl_is_png_name(e->d_name);
        if (keep && dl_names_push(out, e->d_name)) {
            closedir(d);
            dl_names_free(out);
            dl_set_error("%s: out of memory listing the folder", dir);
            return -1;
        }
    }
    closedir(d);
    if (out->n) qsort(out->v, (size_t)out->n, sizeof *out->v, dl_cmp_names);
    return 0;
}

static png_uint_32 dl_png_format(int channels)
{
    return channels == 1 ? PNG_FORMAT_GRAY : channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
}

/* Opens path's header into *im (size and format known, pixels not read yet). */
static int dl_png_open(const char *path, png_image *im)
{
    memset(im, 0, sizeof *im);
    im->version = PNG_IMAGE_VERSION;
    if (png_image_begin_read_from_file(im, path)) return 0;
    dl_set_error("%s: not a readable PNG: %s", path, im->message);
    return -1;
}

/* libpng's simplified reader stops after the image data and never reads the
 * IEND chunk, so a file cut anywhere in those last 12 bytes decoded as if
 * whole. They are always the same 12 bytes; anything else there is a
 * truncated file (or data appended after IEND, which we refuse as well). */
static int dl_png_check_end(const char *path)
{
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    int64_t size = 0;
    int fd = dl_open_regular(path, &size);
    if (fd < 0) return -1;
    unsigned char tail[12];
    int ok = size >= 12 && pread(fd, tail, sizeof tail, (off_t)(size - 12)) == (ssize_t)sizeof tail &&
             memcmp(tail, iend, sizeof tail) == 0;
    close(fd);
    if (!ok) dl_set_error("%s: truncated PNG: the file does not end with its IEND chunk", path);
    return ok ? 0 : -1;
}

/* Decodes path into x[channels, h, w] (floats in [0, 1]); pix is h*w*channels bytes of scratch. */
static int dl_png_read(const char *path, int channels, png_uint_32 h, png_uint_32 w, unsigned char *pix, float *x)
{
    png_image im;
    if (dl_png_open(path, &im)) return -1;
    if (im.height != h || im.width != w) {
        dl_set_error("%s: image is %ux%u but the folder's images are %ux%u (width x height); images are not resized, "
                     "so all must share one size", path, (unsigned)im.width, (unsigned)im.height, (unsigned)w, (unsigned)h);
        png_image_free(&im);
        return -1;
    }
    im.format = dl_png_format(channels);
    png_color black = {0, 0, 0};
    if (!png_image_finish_read(&im, &black, pix, 0, NULL)) {
        dl_set_error("%s: corrupt PNG: %s", path, im.message);
        png_image_free(&im);
        return -1;
    }
    if (dl_png_check_end(path)) return -1;
    const size_t hw = (size_t)h * w;
    for (int k = 0; k < channels; k++)   /* interleaved HWC bytes → CHW floats */
        for (size_t i = 0; i < hw; i++) x[k * hw + i] = pix[i * (size_t)channels + (size_t)k] * (1.0f / 255.0f);
    return 0;
}

/* Size and channel count of the first image. */
static int dl_png_probe(const char *path, png_uint_32 *h, png_uint_32 *w, int *color)
{
    png_image im;
    if (dl_png_open(path, &im)) return -1;
    *h = im.height, *w = im.width;
    *color = (im.format & PNG_FORMAT_FLAG_COLOR) != 0;
    png_image_free(&im);
    return 0;
}

/* Every image of the dataset, in order: path and class. Built from one
 * listing of each class folder, so the count we allocate for is the count we
 * decode even if the folders change while we read them (an image added after
 * its folder was listed is not part of this load; one removed is an error). */
typedef struct dl_image_list {
    dl_names paths;
    int *label;                           /* label[i] is the class of paths.v[i] */
    int label_cap;
} dl_image_list;

static void dl_image_list_free(dl_image_list *l)
{
    dl_names_free(&l->paths);
    free(l->label);
    memset(l, 0, sizeof *l);
}

/* Appends the sorted *.png files of folder to l, as class `label`. */
static int dl_image_list_add(dl_image_list *l, const char *folder, int label)
{
    dl_names files;
    if (dl_list(folder, 0, &files)) return -1;
    char path[9300];
    for (int j = 0; j < files.n; j++) {
        if (l->paths.n == l->label_cap) {
            int cap = l->label_cap ? 2 * l->label_cap : 64;
            int *v = realloc(l->label, (size_t)cap * sizeof *v);
            if (!v) goto oom;
            l->label = v, l->label_cap = cap;
        }
        if (snprintf(path, sizeof path, "%s/%s", folder, files.v[j]) >= (int)sizeof path) {
            dl_set_error("%s: the path of '%s' is too long", folder, files.v[j]);
            dl_names_free(&files);
            return -1;
        }
        l->label[l->paths.n] = label;
        if (dl_names_push(&l->paths, path)) goto oom;
    }
    dl_names_free(&files);
    return 0;
oom:
    dl_names_free(&files);
    dl_set_error("%s: out of memory listing the folder", folder);
    return -1;
}

int dl_load_image_folder(const char *dir, const char *classes_from, int channels, dl_dataset *out)
{
    memset(out, 0, sizeof *out);
    if (channels != 0 && channels != 1 && channels != 3 && channels != 4) {
        dl_set_error("dl_load_image_folder: channels must be 1, 3, 4 or 0 (from the first image), not %d", channels);
        return -1;
    }
    dl_names classes = {0}, here = {0};
    dl_image_list images = {0};
    int rc = -1;
    unsigned char *pix = NULL;
    char path[9300];
    if (dl_list(classes_from ? classes_from : dir, 1, &classes)) return -1;
    if (classes.n == 0) {
        dl_set_error("%s: no class subfolders (expected <folder>/<class>/<image>.png)", classes_from ? classes_from : dir);
        goto done;
    }
    if (classes_from) {
        if (dl_list(dir, 1, &here)) goto done;
    } else {
        for (int i = 0; i < classes.n; i++)
            if (dl_names_push(&here, classes.v[i])) { dl_set_error("out of memory"); goto done; }
    }
    /* List every class folder once, mapping each subfolder of dir to its class index. */
    for (int i = 0; i < here.n; i++) {
        char **hit = bsearch(&here.v[i], classes.v, (size_t)classes.n, sizeof *classes.v, dl_cmp_names);
        if (!hit) {
            dl_set_error("%s/%s: class '%s' is not among the %d classes of %s", dir, here.v[i], here.v[i], classes.n,
                         classes_from);
            goto done;
        }
        snprintf(path, sizeof path, "%s/%s", dir, here.v[i]);
        if (dl_image_list_add(&images, path, (int)(hit - classes.v))) goto done;
    }
    const int64_t n = images.paths.n;
    if (n == 0) { dl_set_error("%s: no .png images in the class subfolders", dir); goto done; }

    png_uint_32 h, w;   /* the first image fixes size (and channels when 0) */
    int color;
    if (dl_png_probe(images.paths.v[0], &h, &w, &color)) goto done;
    if (channels == 0) channels = color ? 3 : 1;
    int64_t numel, total;
    if (h == 0 || w == 0 || dl_numel_checked((const int64_t[]){channels, h, w}, 3, (int64_t)1 << 26, &numel) ||
        dl_mul_i64(n, numel, &total) || total > ((int64_t)1 << 34)) {
        dl_set_error("%s: implausible image size %ux%u for %lld images (from %s)", dir, (unsigned)w, (unsigned)h,
                     (long long)n, images.paths.v[0]);
        goto done;
    }
    out->x = malloc((size_t)total * sizeof(float));
    out->y_class = malloc((size_t)n * sizeof(int32_t));
    pix = malloc((size_t)numel);
    if (!out->x || !out->y_class || !pix) { dl_set_error("%s: out of memory for %lld images", dir, (long long)n); goto done; }
    for (int64_t i = 0; i < n; i++) {
        if (dl_png_read(images.paths.v[i], channels, h, w, pix, out->x + i * numel)) goto done;
        out->y_class[i] = images.label[i];
    }
    out->n = n;
    out->x_numel = numel;
    out->x_rank = 3;
    out->x_shape[0] = channels, out->x_shape[1] = h, out->x_shape[2] = w;
    out->label_kind = DL_LABEL_CLASS;
    out->y_numel = 1;
    out->num_classes = classes.n;
    rc = 0;
done:
    if (rc) dl_dataset_free(out);
    dl_names_free(&classes);
    dl_names_free(&here);
    dl_image_list_free(&images);
    free(pix);
    return rc;
}

/* ---- segmentation: images and masks of the same names ---------------------- */

void dl_segment_free(dl_segment_data *d)
{
    free(d->image);
    free(d->label);
    memset(d, 0, sizeof *d);
}

/* libpng's low-level reader reports through these: the message goes to
 * dl_set_error naming the file, then back to dl_mask_read's setjmp. */
static void dl_mask_error(png_structp png, png_const_charp msg)
{
    dl_set_error("%s: corrupt PNG: %s", (const char *)png_get_error_ptr(png), msg);
    png_longjmp(png, 1);
}

static void dl_mask_warning(png_structp png, png_const_charp msg)
{
    (void)png, (void)msg;
}

/* A mask's pixel values as they are stored: class ids. libpng's simplified
 * reader (dl_png_read) is for pictures: it scales 1-, 2- and 4-bit gray to
 * 0..255 (a 1-bit mask's class 1 became 255, the ignore index) and applies a
 * gAMA chunk's gamma (ids 1, 2, 3 became 21, 28, 34). Here the low-level
 * reader unpacks low bit depths without scaling and applies no gamma.
 * The caller has refused every format but gray of 1-8 bits. pix: h*w bytes. */
static int dl_mask_read(const char *path, png_uint_32 h, png_uint_32 w, unsigned char *pix)
{
    FILE *f = dl_fopen_regular(path, NULL);
    if (!f) return -1;
    png_bytep *volatile rows = NULL;
    volatile int rc = -1;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, (png_voidp)path, dl_mask_error, dl_mask_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        dl_set_error("%s: out of memory", path);
        goto done;
    }
    if (setjmp(png_jmpbuf(png))) goto done;   /* dl_mask_error set the message */
    png_init_io(png, f);
    png_read_info(png, info);
    png_uint_32 W, H;
    int depth, type, interlace;
    png_get_IHDR(png, info, &W, &H, &depth, &type, &interlace, NULL, NULL);
    if (type != PNG_COLOR_TYPE_GRAY || depth > 8) {
        dl_set_error("%s: a mask must be an 8-bit grayscale PNG whose pixel values are class ids", path);
        goto done;
    }
    if (W != w || H != h) {   /* the caller names the pair */
        dl_set_error("%s: image is %ux%u but the folder's images are %ux%u (width x height); images are not resized",
                     path, (unsigned)W, (unsigned)H, (unsigned)w, (unsigned)h);
        goto done;
    }
    if (depth < 8) png_set_packing(png);   /* one byte per pixel, the value itself */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != w) {
        dl_set_error("%s: corrupt PNG: unexpected row size", path);
        goto done;
    }
    if (!(rows = malloc((size_t)h * sizeof *rows))) {
        dl_set_error("%s: out of memory", path);
        goto done;
    }
    for (png_uint_32 i = 0; i < h; i++) rows[i] = pix + (size_t)i * w;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    rc = 0;
done:
    png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, NULL);
    free(rows);
    fclose(f);
    return rc;
}

/* Appends dir's images and mdir's masks to d (n pairs so far): the first
 * image of all fixes the size and, with *channels 0, the channels. */
static int dl_segment_pairs(dl_segment_data *d, const char *dir, const char *mdir, int *channels, int64_t *n,
                            int ignore)
{
    dl_names files;
    if (dl_list(dir, 0, &files)) return -1;
    int rc = -1;
    unsigned char *pix = NULL;
    char path[9300], mpath[9300];
    if (files.n == 0) { dl_set_error("%s: no .png images", dir); goto done; }
    for (int j = 0; j < files.n; j++) {
        snprintf(path, sizeof path, "%s/%s", dir, files.v[j]);
        snprintf(mpath, sizeof mpath, "%s/%s", mdir, files.v[j]);
        if (*n == 0) {
            png_uint_32 h, w;
            int color;
            if (dl_png_probe(path, &h, &w, &color)) goto done;
            if (*channels == 0) *channels = color ? 3 : 1;
            if (h == 0 || w == 0 || (int64_t)h * w > ((int64_t)1 << 24)) {
                dl_set_error("%s: implausible image size %ux%u", path, (unsigned)w, (unsigned)h);
                goto done;
            }
            d->C = *channels, d->H = h, d->W = w;
        }
        const int64_t hw = d->H * d->W, k = *n;
        if (k + 1 > ((int64_t)1 << 34) / (hw * (d->C + 1))) { dl_set_error("%s: too many images", dir); goto done; }
        float *x = realloc(d->image, (size_t)((k + 1) * d->C * hw) * sizeof *x);
        if (x) d->image = x;
        int32_t *y = realloc(d->label, (size_t)((k + 1) * hw) * sizeof *y);
        if (y) d->label = y;
        if (!pix) pix = malloc((size_t)(hw * d->C));
        if (!x || !y || !pix) { dl_set_error("%s: out of memory for %lld images", dir, (long long)(k + 1)); goto done; }
        if (dl_png_read(path, (int)d->C, (png_uint_32)d->H, (png_uint_32)d->W, pix, d->image + k * d->C * hw)) goto done;
        /* the mask: gray 8 bits, its pixel values the class ids, never interpolated or converted */
        png_image im;
        struct stat st;
        if (stat(mpath, &st) != 0) {
            dl_set_error("%s: no mask for the image %s (a mask has its image's file name in the mask folder)", mpath, path);
            goto done;
        }
        if (!S_ISREG(st.st_mode)) {   /* a FIFO would block the reader, a device never end */
            dl_set_error("%s: the mask of %s is not a regular file", mpath, path);
            goto done;
        }
        if (dl_png_open(mpath, &im)) goto done;
        const png_uint_32 fmt = im.format;
        png_image_free(&im);
        if (fmt & (PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_COLORMAP | PNG_FORMAT_FLAG_ALPHA | PNG_FORMAT_FLAG_LINEAR)) {
            dl_set_error("%s: a mask must be an 8-bit grayscale PNG whose pixel values are class ids; this one is %s",
                         mpath, fmt & PNG_FORMAT_FLAG_COLORMAP ? "a palette image (save its indices as gray)"
                                : fmt & PNG_FORMAT_FLAG_COLOR ? "in color" : fmt & PNG_FORMAT_FLAG_ALPHA ? "with alpha"
                                                                : "16-bit");
            goto done;
        }
        int bad = dl_mask_read(mpath, (png_uint_32)d->H, (png_uint_32)d->W, pix) || dl_png_check_end(mpath);
        for (int64_t i = 0; !bad && i < hw; i++) {
            const int v = pix[i];
            d->label[k * hw + i] = v;
            if (v != ignore && v > d->max_label) {
                d->max_label = v;
                snprintf(d->max_where, sizeof d->max_where, "%.500s", mpath);
            }
        }
        if (bad) {
            /* name the pair when the mask's size is the fault */
            if (strstr(dl_last_error(), "images are not resized"))
                dl_set_error("%s: the mask's size differs from its image %s (%lldx%lld): a mask has one class id per pixel "
                             "of its image", mpath, path, (long long)d->W, (long long)d->H);
            goto done;
        }
        (*n)++;
    }
    rc = 0;
done:
    dl_names_free(&files);
    free(pix);
    return rc;
}

int dl_segment_load(const struct dl_data_config *dc, dl_segment_data *out)
{
    memset(out, 0, sizeof *out);
    int channels = dc->channels;
    int64_t n = 0;
    if (!dc->masks_path) { dl_set_error("images: no mask folder (masks = ...)"); return -1; }
    if (dl_segment_pairs(out, dc->path, dc->masks_path, &channels, &n, dc->ignore_index)) goto fail;
    out->n_train = n;
    if (dc->test_path) {
        if (!dc->test_masks_path) { dl_set_error("images: a test folder needs its masks (test_masks = ...)"); goto fail; }
        if (dl_segment_pairs(out, dc->test_path, dc->test_masks_path, &channels, &n, dc->ignore_index)) goto fail;
    }
    out->n_test = n - out->n_train;
    return 0;
fail:
    dl_segment_free(out);
    return -1;
}
