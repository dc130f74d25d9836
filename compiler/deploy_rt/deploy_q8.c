/* The int8 weight of a float weight pointer (the table above), or NULL. */
static const deploy_q8 *deploy_q8_find(const float *w)
{
    int k;
    for (k = 0; k < (int)(sizeof deploy_q8_table / sizeof *deploy_q8_table); k++)
        if (w == deploy_q8_base + deploy_q8_table[k].offset) return &deploy_q8_table[k];
    return 0;
}

/* An activation quantized: round(v / xscale), clamped to [-127, 127]. */
static int32_t deploy_q8_x(float v, float inv_xscale)
{
    float r = v * inv_xscale;
    r = r > 127.0f ? 127.0f : (r < -127.0f ? -127.0f : r);
    return (int32_t)(r < 0.0f ? r - 0.5f : r + 0.5f);
}
