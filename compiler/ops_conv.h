/* ops_conv.h — the attribute layout shared by the convolution and pooling
 * ops (ops_conv.c), their interpreter kernels, emitters and builtins.
 *
 * Why a shared struct: a 2-D convolution has more integer attributes
 * (stride, four paddings, dilation, groups, kernel, output size) than
 * ir_attrs has slots, so each (height, width) pair is packed into one slot,
 * hi * 2^32 + lo. Every op of the family uses the same eight slots, so one
 * decoder (conv_geom_get) serves all of them and the IR dump prints them
 * the same way:
 *
 *   i[0] stride (sh, sw)          i[4] groups
 *   i[1] padding (top, bottom)    i[5] kernel (kh, kw)  — pools, conv2d_bwd_weight
 *   i[2] padding (left, right)    i[6] size (h, w)      — see the op in ops.def
 *   i[3] dilation (dh, dw)        i[7] flag             — avg pools: count_include_pad
 *
 * All values are non-negative and below 2^31; the shape rules check that. */
#ifndef DLNC_OPS_CONV_H
#define DLNC_OPS_CONV_H
#include <stdint.h>

#include "ir.h"

#define CONV_PAIR(hi, lo) ((int64_t)(hi) * 4294967296LL + (int64_t)(lo))

typedef struct conv_geom {
    int64_t sh, sw;            /* stride */
    int64_t pt, pb, pl, pr;    /* padding: top, bottom, left, right */
    int64_t dh, dw;            /* dilation */
    int64_t groups;
    int64_t kh, kw;            /* kernel (when not given by a weight) */
    int64_t size_h, size_w;    /* output size / output padding, per op */
    int64_t flag;
} conv_geom;

/* Defaults: stride 1, no padding, dilation 1, groups 1, everything else 0. */
conv_geom conv_geom_default(void);
/* Packs g into a (all eight slots, ni = 8, no floats). */
void conv_geom_set(ir_attrs *a, const conv_geom *g);
/* Unpacks a; 0 if it does not hold eight slots or a value is out of range. */
int conv_geom_get(const ir_attrs *a, conv_geom *g);
/* Output length of a window sweep: (in + pad_lo + pad_hi - dil*(k-1) - 1) / stride + 1,
 * or <= 0 when the effective kernel does not fit the padded input. */
int64_t conv_out_len(int64_t in, int64_t pad_lo, int64_t pad_hi, int64_t dil, int64_t k, int64_t stride);
/* "[stride=2x2, pad=1,1,1,1, ...]" as the IR dump shows it (buf >= 160 bytes). */
const char *conv_geom_str(char *buf, int len, const ir_node *n);

#endif
