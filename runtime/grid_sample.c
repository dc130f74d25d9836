/* grid_sample.c — torch.nn.functional.grid_sample for the grid_sample op of
 * generated code (compiler/emit_movement.c): forward, and the adjoints for x
 * and for the grid.
 *
 * Grid point (gx, gy) in [-1, 1] maps to the pixel coordinate
 *     align_corners: (g + 1) / 2 * (size - 1)    else: ((g + 1) * size - 1) / 2
 * (torch's grid_sampler_unnormalize). Border padding clamps it to
 * [0, size - 1], with zero grid gradient where it clamps (the borders count
 * as clamped, as torch). bilinear mixes the four pixels around it, nearest
 * takes the pixel at nearbyint (halves to even, as torch); with zeros padding
 * a pixel outside the image reads 0 and receives no gradient. A coordinate
 * more than one pixel outside the image (or NaN) touches no pixel at all.
 *
 * Threads never share an output: the forward and the grid adjoint run over
 * the grid points, the x adjoint over (image, channel) planes, each adding
 * in a fixed order, so results do not depend on the thread count. */
#include <math.h>
#include <string.h>

#include "dlnrt.h"

/* Where one grid point lands: the top-left pixel (x0, y0), the fractions
 * (tx, ty) and the derivative of the coordinate with respect to the grid
 * value along each axis (0 where border padding clamps). 0 if it touches
 * no pixel. */
typedef struct gs_at { int64_t x0, y0; float tx, ty, dx, dy; } gs_at;

static float gs_source(float g, int64_t size, const dl_grid_geom *G, float *d)
{
    float s;
    if (G->align_corners) s = (g + 1.0f) / 2.0f * (float)(size - 1), *d = (float)(size - 1) / 2.0f;
    else s = ((g + 1.0f) * (float)size - 1.0f) / 2.0f, *d = (float)size / 2.0f;
    if (G->padding == 1 && s <= 0.0f) s = 0.0f, *d = 0.0f;
    else if (G->padding == 1 && s >= (float)(size - 1)) s = (float)(size - 1), *d = 0.0f;
    return s;
}

static int gs_locate(const float *gp, const dl_grid_geom *G, gs_at *a)
{
    const float ix = gs_source(gp[0], G->W, G, &a->dx), iy = gs_source(gp[1], G->H, G, &a->dy);
    if (!(ix > -2.0f && ix < (float)G->W + 1.0f && iy > -2.0f && iy < (float)G->H + 1.0f)) return 0;
    if (G->mode == 1) {
        a->x0 = (int64_t)nearbyintf(ix), a->y0 = (int64_t)nearbyintf(iy), a->tx = a->ty = 0.0f;
    } else {
        const float fx = floorf(ix), fy = floorf(iy);
        a->x0 = (int64_t)fx, a->y0 = (int64_t)fy, a->tx = ix - fx, a->ty = iy - fy;
    }
    return 1;
}

/* the pixel (x0 + i, y0 + j) of plane p, 0 outside the image */
static float gs_pixel(const float *p, const dl_grid_geom *G, int64_t x, int64_t y)
{
    return x >= 0 && x < G->W && y >= 0 && y < G->H ? p[y * G->W + x] : 0.0f;
}

static float gs_value(const float *p, const dl_grid_geom *G, const gs_at *a)
{
    if (G->mode == 1) return gs_pixel(p, G, a->x0, a->y0);
    const float tx = a->tx, ty = a->ty;
    return (1 - ty) * ((1 - tx) * gs_pixel(p, G, a->x0, a->y0) + tx * gs_pixel(p, G, a->x0 + 1, a->y0)) +
           ty * ((1 - tx) * gs_pixel(p, G, a->x0, a->y0 + 1) + tx * gs_pixel(p, G, a->x0 + 1, a->y0 + 1));
}

static void gs_add(float *p, const dl_grid_geom *G, int64_t x, int64_t y, float v)
{
    if (x >= 0 && x < G->W && y >= 0 && y < G->H) p[y * G->W + x] += v;
}

void dl_grid_sample(const float *x, const float *grid, float *y, int64_t N, const dl_grid_geom *G)
{
    const int64_t P = G->Ho * G->Wo, HW = G->H * G->W;
#pragma omp parallel for schedule(static)
    for (int64_t np = 0; np < N * P; np++) {
        const int64_t n = np / P, p = np % P;
        gs_at a;
        const int in = gs_locate(grid + 2 * np, G, &a);
        for (int64_t c = 0; c < G->C; c++)
            y[(n * G->C + c) * P + p] = in ? gs_value(x + (n * G->C + c) * HW, G, &a) : 0.0f;
    }
}

void dl_grid_sample_grad(const float *gy, const float *grid, float *gx, int64_t N, const dl_grid_geom *G)
{
    const int64_t P = G->Ho * G->Wo, HW = G->H * G->W;
    memset(gx, 0, (size_t)(N * G->C * HW) * sizeof *gx);
#pragma omp parallel for schedule(static)
    for (int64_t nc = 0; nc < N * G->C; nc++) {
        const int64_t n = nc / G->C;
        float *gp = gx + nc * HW;
        for (int64_t p = 0; p < P; p++) {
            gs_at a;
            if (!gs_locate(grid + 2 * (n * P + p), G, &a)) continue;
            const float g = gy[nc * P + p], tx = a.tx, ty = a.ty;
            if (G->mode == 1) {
                gs_add(gp, G, a.x0, a.y0, g);
                continue;
            }
            gs_add(gp, G, a.x0, a.y0, g * (1 - tx) * (1 - ty));
            gs_add(gp, G, a.x0 + 1, a.y0, g * tx * (1 - ty));
            gs_add(gp, G, a.x0, a.y0 + 1, g * (1 - tx) * ty);
            gs_add(gp, G, a.x0 + 1, a.y0 + 1, g * tx * ty);
        }
    }
}

/* bilinear only (nearest has no grid gradient): d value / d ix and d iy from
 * the four pixels, summed over the channels, times d coordinate / d grid */
void dl_grid_sample_grad_grid(const float *gy, const float *x, const float *grid, float *ggrid, int64_t N,
                              const dl_grid_geom *G)
{
    const int64_t P = G->Ho * G->Wo, HW = G->H * G->W;
#pragma omp parallel for schedule(static)
    for (int64_t np = 0; np < N * P; np++) {
        const int64_t n = np / P, p = np % P;
        gs_at a;
        float sx = 0.0f, sy = 0.0f;
        if (gs_locate(grid + 2 * np, G, &a) && G->mode == 0)
            for (int64_t c = 0; c < G->C; c++) {
                const float *xp = x + (n * G->C + c) * HW, g = gy[(n * G->C + c) * P + p];
                const float nw = gs_pixel(xp, G, a.x0, a.y0), ne = gs_pixel(xp, G, a.x0 + 1, a.y0);
                const float sw = gs_pixel(xp, G, a.x0, a.y0 + 1), se = gs_pixel(xp, G, a.x0 + 1, a.y0 + 1);
                sx += g * ((ne - nw) * (1 - a.ty) + (se - sw) * a.ty);
                sy += g * ((sw - nw) * (1 - a.tx) + (se - ne) * a.tx);
            }
        ggrid[2 * np] = sx * a.dx;
        ggrid[2 * np + 1] = sy * a.dy;
    }
}
