/* conv_winograd4_math.h — F(4x4, 3x3)'s transform formulas on whole
 * vectors of tiles, for conv_winograd4.c (8 tiles a vector) and
 * conv_winograd4_x16.c (16): one text, so both compute the same sums in the
 * same order. Macros, not functions: they serve two vector types. */
#ifndef DLNRT_CONV_WINOGRAD4_MATH_H
#define DLNRT_CONV_WINOGRAD4_MATH_H

/* t = B^T d for six vectors d (one row or column of 6x6 tiles). */
#define WG4_BT6(d, t)                                    \
    do {                                                 \
        (t)[0] = 4 * (d)[0] - 5 * (d)[2] + (d)[4];       \
        (t)[1] = ((d)[3] + (d)[4]) - 4 * ((d)[1] + (d)[2]); \
        (t)[2] = ((d)[4] - (d)[3]) + 4 * ((d)[1] - (d)[2]); \
        (t)[3] = ((d)[4] - (d)[2]) + 2 * ((d)[3] - (d)[1]); \
        (t)[4] = ((d)[4] - (d)[2]) - 2 * ((d)[3] - (d)[1]); \
        (t)[5] = 4 * (d)[1] - 5 * (d)[3] + (d)[5];       \
    } while (0)

/* s = A^T m for six vectors m (four results). */
#define WG4_AT6(m, s)                                                                    \
    do {                                                                                 \
        __typeof__((m)[0]) p12_ = (m)[1] + (m)[2], m12_ = (m)[1] - (m)[2];               \
        __typeof__((m)[0]) p34_ = (m)[3] + (m)[4], m34_ = (m)[3] - (m)[4];               \
        (s)[0] = (m)[0] + p12_ + p34_;                                                   \
        (s)[1] = m12_ + 2 * m34_;                                                        \
        (s)[2] = p12_ + 4 * p34_;                                                        \
        (s)[3] = m12_ + 8 * m34_ + (m)[5];                                               \
    } while (0)

#endif
