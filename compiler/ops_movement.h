/* ops_movement.h — what the op table, the interpreter, the emitter and the
 * elaborator share about the data-movement ops (concat, slice, pad,
 * upsample and their adjoints): the mode numbers stored in attributes and
 * PyTorch's source-index arithmetic for upsampling.
 *
 * Why the index arithmetic is spelled out in float: nn.Upsample maps an
 * output pixel to its source with float math (scale = (float)(1/s),
 * src = floorf(dst * scale) for nearest), which is not always dst / s. To
 * agree with PyTorch pixel for pixel we repeat that arithmetic exactly —
 * here for the reference interpreter; the emitter writes the same
 * expressions into the generated C (and a test compares the two). */
#ifndef DLNC_OPS_MOVEMENT_H
#define DLNC_OPS_MOVEMENT_H
#include <math.h>
#include <stdint.h>

typedef enum mv_pad_mode { MV_PAD_CONSTANT, MV_PAD_REFLECT, MV_PAD_REPLICATE } mv_pad_mode;
typedef enum mv_up_mode { MV_UP_NEAREST, MV_UP_BILINEAR } mv_up_mode;
typedef enum mv_grid_mode { MV_GRID_BILINEAR, MV_GRID_NEAREST } mv_grid_mode;
typedef enum mv_grid_padding { MV_GRID_ZEROS, MV_GRID_BORDER } mv_grid_padding;

#define MV_PAD_MAX_DIMS 3 /* ir_attrs.pad.pads holds (left, right) for up to 3 dims */

/* The source coordinate of padded coordinate i (0 <= i < left + len + right)
 * along a dimension of length len: -1 when it falls in constant padding. */
static inline int64_t mv_pad_src(int mode, int64_t i, int64_t left, int64_t len) {
    int64_t s = i - left;
    if (mode == MV_PAD_REFLECT) {
        if (s < 0) s = -s;
        if (s >= len) s = 2 * (len - 1) - s;
        return s;
    }
    if (mode == MV_PAD_REPLICATE) return s < 0 ? 0 : s >= len ? len - 1 : s;
    return s >= 0 && s < len ? s : -1;
}

/* An upsampling axis grows from in to in * num / den (num / den in lowest
 * terms; den = 1 for an integer scale factor). torch maps an output index to
 * its source with the float ratio in / out: (float)(1 / scale) for a scale
 * factor, (float)in / (float)out for a size, the same number written from
 * (num, den) here. */
static inline float mv_up_ratio(int64_t num, int64_t den) {
    return den == 1 ? (float)(1.0 / (double)num) : (float)den / (float)num;
}

/* nearest: torch's nearest_idx(). */
static inline int64_t mv_nearest_src(int64_t dst, int64_t in, int64_t num, int64_t den) {
    if (den == 1 && num == 1) return dst;
    if (den == 1 && num == 2) return dst >> 1;
    int64_t src = (int64_t)floorf((float)dst * mv_up_ratio(num, den));
    return src < in - 1 ? src : in - 1;
}

/* bilinear along one axis: the two source indices and the weight of the
 * second (torch's area_pixel_compute_source_index + guard_index_and_lambda). */
static inline void mv_linear_src(int64_t dst, int64_t in, int64_t num, int64_t den, int align_corners, int64_t *i0,
                                 int64_t *i1, float *lambda1) {
    float src;
    int64_t out = in * num / den;
    if (align_corners) {
        float scale = out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
        src = scale * (float)dst;
    } else {
        src = mv_up_ratio(num, den) * ((float)dst + 0.5f) - 0.5f;
        if (src < 0) src = 0;
    }
    int64_t k = (int64_t)floorf(src);
    if (k > in - 1) k = in - 1;
    float l = src - (float)k;
    *i0 = k;
    *i1 = k + (k < in - 1 ? 1 : 0);
    *lambda1 = l < 0 ? 0 : l > 1 ? 1 : l;
}

/* The denominators of an upsample's attributes: den_h, den_w when given (a
 * size that is no multiple of the input), else 1. */
#define MV_UP_DEN_H(a) ((a)->ni >= 6 ? (a)->upsample.den_h : 1)
#define MV_UP_DEN_W(a) ((a)->ni >= 6 ? (a)->upsample.den_w : 1)

#endif
