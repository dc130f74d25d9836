/* rng.c — counter-based random numbers.
 *
 * Two interfaces over one mixing function (SplitMix64's finalizer):
 *   - dl_rng: a sequential generator, state += golden gamma, output = mix(state);
 *   - dl_fill_*: element i of stream (seed, stream) is mix(key + i * gamma),
 *     where key = mix(seed ^ mix(stream)). Because every element is a pure
 *     function of (seed, stream, i), an OpenMP loop over i gives the same
 *     values for any thread count and schedule — dropout masks and random
 *     initializations are reproducible across machines and thread counts.
 * Uniforms take the top 24 bits (exactly representable floats in [0, 1));
 * normals use Box–Muller on two uniforms, keeping only the cosine branch so
 * that each element stays independent of its neighbours. */
#include "dlnrt.h"

#include <math.h>

#define DL_GOLDEN_GAMMA 0x9E3779B97F4A7C15ULL

static inline uint64_t dl_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* [0, 1) with 24 random bits. */
static inline float dl_bits_to_uniform(uint64_t bits) { return (float)(bits >> 40) * (1.0f / 16777216.0f); }

/* N(0, 1) from two independent 64-bit words (Box–Muller, cosine branch).
 * u1 is taken in (0, 1] so that log(u1) is finite. */
static inline float dl_bits_to_normal(uint64_t b1, uint64_t b2)
{
    double u1 = ((double)(b1 >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(b2 >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void dl_rng_seed(dl_rng *r, uint64_t seed) { r->state = dl_mix64(seed + DL_GOLDEN_GAMMA); }

uint64_t dl_rng_next(dl_rng *r)
{
    r->state += DL_GOLDEN_GAMMA;
    return dl_mix64(r->state);
}

float dl_rng_uniform(dl_rng *r) { return dl_bits_to_uniform(dl_rng_next(r)); }

float dl_rng_normal(dl_rng *r)
{
    uint64_t b1 = dl_rng_next(r);
    return dl_bits_to_normal(b1, dl_rng_next(r));
}

static uint64_t dl_stream_key(uint64_t seed, uint64_t stream)
{
    return dl_mix64(seed ^ dl_mix64(stream + 0x632BE59BD9B4E019ULL));
}

void dl_fill_uniform(float *out, int64_t n, uint64_t seed, uint64_t stream)
{
    uint64_t key = dl_stream_key(seed, stream);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++)
        out[i] = dl_bits_to_uniform(dl_mix64(key + (uint64_t)i * DL_GOLDEN_GAMMA));
}

void dl_fill_normal(float *out, int64_t n, uint64_t seed, uint64_t stream)
{
    uint64_t key = dl_stream_key(seed, stream);
#pragma omp parallel for schedule(static) if (n > 16384)
    for (int64_t i = 0; i < n; i++) {
        uint64_t c = key + (uint64_t)(2 * i) * DL_GOLDEN_GAMMA;
        out[i] = dl_bits_to_normal(dl_mix64(c), dl_mix64(c + DL_GOLDEN_GAMMA));
    }
}

/* Multiply-shift on the top 32 bits (Lemire): no division, no float
 * rounding that could reach `high`; the bias is below (high - low) / 2^32,
 * under 2.4e-7 for 1000 values. */
void dl_fill_randint(int32_t *out, int64_t n, uint64_t seed, uint64_t stream, int32_t low, int32_t high)
{
    uint64_t key = dl_stream_key(seed, stream), range = (uint64_t)((int64_t)high - low);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++)
        out[i] = (int32_t)((int64_t)low + (int64_t)(((dl_mix64(key + (uint64_t)i * DL_GOLDEN_GAMMA) >> 32) * range) >> 32));
}
