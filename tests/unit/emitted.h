/* emitted.h — for the unit tests that check the emitted C by running it: an
 * ir_module (or .dln source holding one model) through the verified pass
 * pipeline, emit_c, cc and dlopen.
 *
 * Why one helper: test_emit, test_conv, test_modes, test_regularize and
 * test_split_grad each had grown a copy of these lines, drifting apart (some
 * checked the memory plan, some did not). The generated C is compiled as a
 * user would compile it — -Wall -Wextra -Werror against runtime/dlnrt.h (the
 * tests run from the repository root) and the libdlnrt.a beside the test
 * binary. */
#ifndef DLNC_TESTS_EMITTED_H
#define DLNC_TESTS_EMITTED_H
#include <stddef.h>
#include <stdint.h>

#include "dlnrt.h"
#include "ir.h"

typedef struct emitted {
    void *so;
    const dl_model_api *api;
    char dir[64];       /* a fresh /tmp directory holding <model>.c, .h and .so */
} emitted;

/* Passes with verification and plan_verify on each graph of m, then m's C
 * compiled and loaded. 0, or -1 with the reason on stderr. */
int emitted_build(ir_module *m, emitted *out);
/* The same for source text holding one model (elaborated with the stdlib). */
int emitted_build_source(const char *src, emitted *out);
/* The same as `dlnc --check-numerics` builds it: no fusion, every kernel's
 * output checked in train_step and eval_step. */
int emitted_build_source_checked(const char *src, emitted *out);
/* dlclose and remove the directory (safe after a failed build). */
void emitted_unload(emitted *e);
/* The test binary's directory, where the build put libdlnrt.a and dlnc
 * ("build" if /proc/self/exe cannot be read). */
void emitted_exe_dir(char *out, size_t len);

/* The index of the loaded model's parameter `name` (api->params), -1 if none. */
int emitted_param_index(const emitted *e, const char *name);

/* Test data and comparison shared by the tests that run emitted code: the
 * next uniform [0, 1) double of an LCG state, and whether got matches want
 * within rel_tol * max(1, |want|) everywhere (the first mismatches, named
 * what, go to stderr). */
double emitted_urand(uint64_t *state);
int emitted_close(const float *got, const double *want, int64_t count, double rel_tol, const char *what);

#endif
