/* The geometry the emitted conv and pool kernels fill in (runtime/dlnrt.h's layout). */
typedef struct dl_conv2d_geom {
    int64_t n, c, h, w;     /* input */
    int64_t oc, oh, ow;     /* output (oc = c for pools) */
    int64_t kh, kw;         /* kernel; a conv's weight is [oc, c/groups, kh, kw] */
    int64_t sh, sw;         /* stride */
    int64_t pt, pb, pl, pr; /* padding: top, bottom, left, right */
    int64_t dh, dw;         /* dilation */
    int64_t groups;
    int count_include_pad;  /* avg pools */
} dl_conv2d_geom;
typedef void (*dl_conv_epilogue)(void *ctx, int64_t image, float *y_image);
