/* files.h — reading a whole file, for the tests that compare what was
 * written byte for byte (checkpoints, data files, docs). */
#ifndef DLNC_TESTS_FILES_H
#define DLNC_TESTS_FILES_H
#include <stddef.h>

/* The bytes of path in a malloc'd buffer with a NUL after them (so text can
 * be searched), *len their number (len may be NULL); NULL if unreadable. */
unsigned char *test_read_file(const char *path, size_t *len);

#endif
