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

#define MV_PAD_MAX_DIMS 3 /* pad attrs: mode, k, then 2k pads in ir_attrs.i[8] */

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

/* nearest: torch's nearest_idx() for an integer scale factor s. */
static inline int64_t mv_nearest_src(int64_t dst, int64_t in, int64_t s) {
    if (s == 1) return dst;
    if (s == 2) return dst >> 1;
    int64_t src = (int64_t)floorf((float)dst * (float)(1.0 / (double)s));
    return src < in - 1 ? src : in - 1;
}

/* bilinear along one axis: the two source indices and the weight of the
 * second (torch's area_pixel_compute_source_index + guard_index_and_lambda). */
static inline void mv_linear_src(int64_t dst, int64_t in, int64_t s, int align_corners, int64_t *i0, int64_t *i1,
                                 float *lambda1) {
    float src;
    if (align_corners) {
        float scale = in * s > 1 ? (float)(in - 1) / (float)(in * s - 1) : 0.0f;
        src = scale * (float)dst;
    } else {
        float scale = (float)(1.0 / (double)s);
        src = scale * ((float)dst + 0.5f) - 0.5f;
        if (src < 0) src = 0;
    }
    int64_t k = (int64_t)floorf(src);
    if (k > in - 1) k = in - 1;
    float l = src - (float)k;
    *i0 = k;
    *i1 = k + (k < in - 1 ? 1 : 0);
    *lambda1 = l < 0 ? 0 : l > 1 ? 1 : l;
}

#endif
