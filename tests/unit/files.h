/* files.h — reading a whole file, for the tests that compare what was
 * written byte for byte (checkpoints, data files, docs), and a PNG's pixels. */
#ifndef DLNC_TESTS_FILES_H
#define DLNC_TESTS_FILES_H
#include <stddef.h>

/* The bytes of path in a malloc'd buffer with a NUL after them (so text can
 * be searched), *len their number (len may be NULL); NULL if unreadable. */
unsigned char *test_read_file(const char *path, size_t *len);
/* A PNG decoded by libpng's simplified API into `format` (PNG_FORMAT_RGB,
 * PNG_FORMAT_GRAY), its size in *w, *h; NULL if it does not decode. */
unsigned char *test_read_png(const char *path, unsigned format, int *w, int *h);
/* Writes text to dir/name; 0, or -1 when the file cannot be written. */
int test_write_text(const char *dir, const char *name, const char *text);

#endif
