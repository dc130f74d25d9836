/* conv_b1_internal.h — the forward of a k x k convolution at batch 1 on
 * planes that fit in cache (runtime only; conv.c dispatches to it). */
#ifndef DLNRT_CONV_B1_INTERNAL_H
#define DLNRT_CONV_B1_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"
#include "gemm_internal.h"

/* True when conv.c should run g's forward here (see conv_b1.c for the
 * measured rule). Depends on the geometry only, never on the thread count. */
int dl_conv_b1_applies(const dl_conv2d_geom *g);

/* Floats of buffer the forward of one image needs. */
int64_t dl_conv_b1_floats(const dl_conv2d_geom *g);

/* y = conv(x, w) for every image of g (any stride-1 geometry, any batch),
 * buf holding dl_conv_b1_floats; ep (may be NULL) runs on each image's
 * output after it is written. The output channels are shared out over the
 * threads (each output computed by one thread in one order, so any thread
 * count gives the same bits). isa: the register-tile variant (tests run
 * each); returns -1, doing nothing, if this CPU cannot run it. */
int dl_conv_b1_forward(dl_gemv_isa isa, const dl_conv2d_geom *g, const float *x, const float *w, float *y,
                       float *buf, dl_conv_epilogue ep, void *ctx);

#endif
