/* scratch.h — where the reader harnesses put the fuzzer's bytes.
 *
 * The runtime's readers take paths (and the dataset loaders, directories),
 * so every input is written to a file first. Each process gets one scratch
 * directory, made on first use and removed at exit; the harness writes the
 * same file names every time, so one input's result never depends on the
 * ones before it. */
#ifndef DLNC_FUZZ_SCRATCH_H
#define DLNC_FUZZ_SCRATCH_H
#include <stddef.h>
#include <stdint.h>

/* "<scratch>/<rel>" (rel may contain '/'); the string lives until the next call. */
const char *scratch_path(const char *rel);

/* Writes size bytes to scratch_path(rel), making its directories; returns the
 * path. Aborts if it cannot: a harness that fails to set up must not pass. */
const char *scratch_write(const char *rel, const uint8_t *data, size_t size);

#endif
