static int dl_conv2d(const dl_conv2d_geom *g, const float *x, const float *w, float *y)
{
    return dl_conv2d_ep(g, x, w, y, 0, 0);
}
