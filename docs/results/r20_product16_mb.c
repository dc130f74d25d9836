#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
void dl_wg_product16(int64_t M, int64_t K, const float *U, const float *V, float *Mo);
static double cpu(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(void) {
    static float U[36 * 64 * 64], V[36 * 64 * 16], M[36 * 64 * 16];
    for (int i = 0; i < 36 * 64 * 64; i++) U[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int i = 0; i < 36 * 64 * 16; i++) V[i] = (float)rand() / RAND_MAX - 0.5f;
    int shapes[2][2] = {{64, 16}, {32, 36}}; /* channels, positions */
    for (int s = 0; s < 2; s++) {
        int c = shapes[s][0], P = shapes[s][1];
        double best = 1e9;
        for (int round = 0; round < 15; round++) {
            double t0 = cpu();
            for (int rep = 0; rep < 200; rep++)
                for (int e = 0; e < P; e++) dl_wg_product16(c, c, U + e * c * c, V + e * c * 16, M + e * c * 16);
            double t = (cpu() - t0) / 200 * 1e6;
            if (t < best) best = t;
        }
        printf("C=%d positions=%d: %.2f us per layer (best of 15)\n", c, P, best);
    }
    return 0;
}
