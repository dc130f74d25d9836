static void dl_max_pool2d(const dl_conv2d_geom *g, const float *x, float *y, int32_t *idx) { deploy_pool(g, x, y, idx, 0); }
