/* explain_internal.h — the arithmetic of the L-infinity attacks of
 * explain.c and the maps' colours, apart so that unit tests can check them
 * on hand-made numbers; the form both need of the input-gradient model. */
#ifndef DLNRT_EXPLAIN_INTERNAL_H
#define DLNRT_EXPLAIN_INTERNAL_H
#include <stdint.h>

/* x[i] += step * sign(g[i]) (sign(0) = 0, as torch.sign): FGSM's step, and
 * each PGD iteration's. */
void dl_sign_step(float *x, const float *g, int64_t n, float step);
/* Projects x onto {|x - x0| <= eps} and then onto [lo, hi], elementwise (a
 * pixel's box inside the ball stays non-empty since x0 is in [lo, hi]). */
void dl_linf_project(float *x, const float *x0, int64_t n, float eps, float lo, float hi);

/* ig's form: inputs (f32 image of d, i32[N] label), outputs (logits
 * f32[N, K], a gradient shaped like the image) or (logits, an activation
 * f32[N, C, h, w], its gradient); *K, or -1 with an error. */
struct dl_model_api;
struct dl_dataset;
int dl_explain_form(const struct dl_model_api *ig, const struct dl_dataset *d, int64_t *K);
/* ig's logits and gradient of n images x with labels y (m: its instance);
 * with act (Grad-CAM's form) the activation too. -1 with the model's error. */
int dl_explain_eval(const struct dl_model_api *ig, void *m, const float *x, const int32_t *y, int64_t n,
                    float *logits, float *grad, float *act);
/* Grad-CAM's map of one image: A and dA f32[C, h, w] to map f32[H, W]:
 * relu(sum_k mean(dA_k) A_k), resized bilinearly (align_corners = False). */
void dl_gradcam(const float *A, const float *dA, int C, int h, int w, float *map, int H, int W);
/* The colour scale of the maps: v in [0, 1] (clamped) to RGB in [0, 1],
 * blue, cyan, green, yellow, red. */
void dl_heat_rgb(float v, float rgb[3]);

#endif
