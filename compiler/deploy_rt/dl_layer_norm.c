/* Each of `rows` rows of f features normalized with its mean and biased
 * variance, eps inside the root (nn.LayerNorm), then scaled and shifted. */
static void dl_layer_norm(const float *x, const float *w, const float *b, float *y, int64_t rows, int64_t f, float eps)
{
    int64_t r;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * f;
        float *yr = y + r * f, mean = 0.0f, var = 0.0f, rstd;
        int64_t j;
        for (j = 0; j < f; j++) mean += xr[j];
        mean /= (float)f;
        for (j = 0; j < f; j++) var += (xr[j] - mean) * (xr[j] - mean);
        rstd = 1.0f / sqrtf(var / (float)f + eps);
        for (j = 0; j < f; j++) yr[j] = (xr[j] - mean) * rstd * w[j] + b[j];
    }
}
