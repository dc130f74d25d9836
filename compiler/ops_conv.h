/* ops_conv.h — the geometry shared by the convolution and pooling ops
 * (ops_conv.c), their interpreter kernels, emitters and builtins.
 *
 * Every op of the family keeps its geometry in ir_attrs.conv (a conv_geom,
 * described by ATTRS_conv in ir_attrs.def), a typed struct rather than packed
 * integer slots: stride, padding
 * (top, bottom, left, right), dilation, groups; kernel (kh, kw) for the pools
 * and conv2d_bwd_weight; size (h, w), whose meaning each op states in
 * ops.def; flag (avg pools: count_include_pad). All values are non-negative
 * and below 2^31; conv_geom_get checks that, the shape rules the rest. */
#ifndef DLNC_OPS_CONV_H
#define DLNC_OPS_CONV_H
#include <stdint.h>

#include "ir.h"

/* Defaults: stride 1, no padding, dilation 1, groups 1, everything else 0. */
conv_geom conv_geom_default(void);
/* a = attributes holding geometry g and nothing else. */
void conv_geom_set(ir_attrs *a, const conv_geom *g);
/* g = a's geometry; 0 if a value is out of range (negative or >= 2^31). */
int conv_geom_get(const ir_attrs *a, conv_geom *g);
/* Output length of a window sweep: (in + pad_lo + pad_hi - dil*(k-1) - 1) / stride + 1,
 * or <= 0 when the effective kernel does not fit the padded input. */
int64_t conv_out_len(int64_t in, int64_t pad_lo, int64_t pad_hi, int64_t dil, int64_t k, int64_t stride);
/* "[stride=2x2, pad=1,1,1,1, ...]" as the IR dump shows it (buf >= 160 bytes). */
const char *conv_geom_str(char *buf, int len, const ir_node *n);

#endif
