/* wp_product as in conv_winograd_product.c vs U packed [K][12] beforehand, and vs the product with output channels in the lanes (U^T kept [K][OC], M^T [tiles][OC]). */
#pragma GCC optimize("O3", "fp-contract=fast")
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#define WP_MR 12
#define WP_INLINE static inline __attribute__((always_inline, target("avx512f")))
typedef float wp_v16 __attribute__((vector_size(64)));
WP_INLINE void wp_tile(const int MR, int64_t K, const float *restrict u, int64_t rs, const float *restrict v, float *restrict m) {
    wp_v16 acc[WP_MR];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) acc[i] = (wp_v16){0};
    for (int64_t k = 0; k < K; k++) { wp_v16 x; memcpy(&x, v + k * 16, sizeof x);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) acc[i] += u[i * rs + k] * x; }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) memcpy(m + i * 16, &acc[i], sizeof acc[i]);
}
WP_INLINE void wp_tile_p(const int MR, int64_t K, const float *restrict up, const float *restrict v, float *restrict m) {
    wp_v16 acc[WP_MR];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) acc[i] = (wp_v16){0};
    for (int64_t k = 0; k < K; k++) { wp_v16 x; memcpy(&x, v + k * 16, sizeof x);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) acc[i] += up[k * MR + i] * x; }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) memcpy(m + i * 16, &acc[i], sizeof acc[i]);
}
__attribute__((target("avx512f"),noinline)) static void prod(int64_t M, int64_t K, const float *U, const float *V, float *Mo) {
    int64_t i = 0;
    for (; i + WP_MR <= M; i += WP_MR) wp_tile(WP_MR, K, U + i * K, K, V, Mo + i * 16);
    if (i + 8 <= M) wp_tile(8, K, U + i * K, K, V, Mo + i * 16), i += 8;
    if (i + 4 <= M) wp_tile(4, K, U + i * K, K, V, Mo + i * 16), i += 4;
}
/* Up: panels of 12 rows [K][12], then the tail rows as U */
__attribute__((target("avx512f"),noinline)) static void prodp(int64_t M, int64_t K, const float *Up, const float *U, const float *V, float *Mo) {
    int64_t i = 0;
    for (; i + WP_MR <= M; i += WP_MR) wp_tile_p(WP_MR, K, Up + i * K, V, Mo + i * 16);
    if (i + 8 <= M) wp_tile(8, K, U + i * K, K, V, Mo + i * 16), i += 8;
    if (i + 4 <= M) wp_tile(4, K, U + i * K, K, V, Mo + i * 16), i += 4;
}
/* M^T[16 x OC] = V^T @ U^T with U^T [K][OC]: tiles of T tiles x NV vectors of 16 channels. */
WP_INLINE void tr_tile(const int T, const int NV, int64_t K, int64_t OC, const float *restrict ut, const float *restrict v, float *restrict mt) {
    wp_v16 acc[8][4];
    for (int t = 0; t < T; t++) for (int j = 0; j < NV; j++) acc[t][j] = (wp_v16){0};
    for (int64_t k = 0; k < K; k++) {
        wp_v16 u[4];
        for (int j = 0; j < NV; j++) memcpy(&u[j], ut + k * OC + 16 * j, 64);
        for (int t = 0; t < T; t++) { const float b = v[k * 16 + t]; for (int j = 0; j < NV; j++) acc[t][j] += b * u[j]; }
    }
    for (int t = 0; t < T; t++) for (int j = 0; j < NV; j++) memcpy(mt + t * OC + 16 * j, &acc[t][j], 64);
}
__attribute__((target("avx512f"),noinline)) static void prodt(int64_t M, int64_t K, const float *Ut, const float *V, float *Mt) {
    if (M == 64) for (int t = 0; t < 16; t += 4) tr_tile(4, 4, K, M, Ut, V + t, Mt + t * M);
    else for (int t = 0; t < 16; t += 8) tr_tile(8, 2, K, M, Ut, V + t, Mt + t * M);
}
static double now(void){struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t); return t.tv_sec+1e-9*t.tv_nsec;}
int main(void){
  int64_t shapes[2][3]={{64,64,16},{32,32,36}}; /* M=K, positions */
  for(int s=0;s<2;s++){ int64_t M=shapes[s][0],K=shapes[s][1],P=shapes[s][2];
    float *U=aligned_alloc(64,4*P*M*K),*Up=aligned_alloc(64,4*P*M*K),*V=aligned_alloc(64,4*P*K*16),*Mo=aligned_alloc(64,4*P*M*16),*M2=aligned_alloc(64,4*P*M*16);
    for(int64_t i=0;i<P*M*K;i++)U[i]=(float)rand()/RAND_MAX; for(int64_t i=0;i<P*K*16;i++)V[i]=(float)rand()/RAND_MAX;
    float *Ut=aligned_alloc(64,4*P*M*K),*M3=aligned_alloc(64,4*P*M*16);
    for(int64_t e=0;e<P;e++) for(int64_t o=0;o<M;o++) for(int64_t k=0;k<K;k++) Ut[e*M*K+k*M+o]=U[e*M*K+o*K+k];
    for(int64_t e=0;e<P;e++) for(int64_t i=0;i+12<=M;i+=12) for(int64_t k=0;k<K;k++) for(int r=0;r<12;r++) Up[e*M*K+i*K+k*12+r]=U[e*M*K+(i+r)*K+k];
    for(int rep=0;rep<3;rep++){
      double t0=now(); int n=0; while(now()-t0<0.3){ for(int64_t e=0;e<P;e++) prod(M,K,U+e*M*K,V+e*K*16,Mo+e*M*16); n++;} double a=(now()-t0)/n;
      t0=now(); int n2=0; while(now()-t0<0.3){ for(int64_t e=0;e<P;e++) prodp(M,K,Up+e*M*K,U+e*M*K,V+e*K*16,M2+e*M*16); n2++;} double b=(now()-t0)/n2;
      t0=now(); int n3=0; while(now()-t0<0.3){ for(int64_t e=0;e<P;e++) prodt(M,K,Ut+e*M*K,V+e*K*16,M3+e*M*16); n3++;} double c=(now()-t0)/n3;
      double md=0; for(int64_t e=0;e<P;e++) for(int64_t o=0;o<M;o++) for(int t=0;t<16;t++){ double d=Mo[e*M*16+o*16+t]-M3[e*M*16+t*M+o]; if(d<0)d=-d; if(d>md)md=d; }
      printf("M=K=%ld pos=%ld: rows %.2f us (%.0f%% of 269 GF/s), panels %.2f us, same=%d; channels in lanes %.2f us (%.0f%%), max diff %.2g\n",(long)M,(long)P,a*1e6, 100*2.0*M*K*16*P/a/269e9, b*1e6, memcmp(Mo,M2,4*P*M*16)==0, c*1e6, 100*2.0*M*K*16*P/c/269e9, md);
    }
  }
}
