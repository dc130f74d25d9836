/* bnb_stats_in_cache.c — would batch statistics computed in a convolution's
 * per-image epilogue be cheaper than batch_stats' pass? Times dl_batch_stats
 * over [64, C, P] (x touched first, so it sits in L3 as after a convolution)
 * against per-image sums and squared deviations of each image while it is in
 * cache (the image touched just before, as the epilogue would see it).
 * Build: cc -O3 -march=native -fno-trapping-math -fopenmp -Iruntime
 *   docs/results/bnb_stats_in_cache.c build/libdlnrt.a -lpng -lz -lm
 * Run: OMP_NUM_THREADS=1 ./a.out C P (minimum of 20). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "dlnrt.h"
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static void parts(const float*x,float*pt,long c,long p){ /* one image: per channel sum, then sum of squared deviations */
  for(long ch=0;ch<c;ch++){const float*r=x+ch*p;float s=0;
    #pragma omp simd reduction(+:s)
    for(long j=0;j<p;j++)s+=r[j];
    float m=s/(float)p,q=0;
    #pragma omp simd reduction(+:q)
    for(long j=0;j<p;j++){float d=r[j]-m;q+=d*d;}
    pt[ch]=s;pt[c+ch]=q;}
}
int main(int argc,char**argv){
  long n=64,c=atoi(argv[1]),p=atoi(argv[2]); long T=n*c*p;
  float *x=malloc(4*T),*st=malloc(8*c),*pt=malloc(8*c*n);
  float *junk=malloc(4*16*1024*1024);
  for(long i=0;i<T;i++)x[i]=(float)(i%97)*0.01f;
  double best[2]={1e9,1e9};
  for(int r=0;r<20;r++){
    for(long i=0;i<16*1024*1024;i+=16) junk[i]+=1;
    for(long i=0;i<T;i+=16) x[i]+=0;
    double t=now(); dl_batch_stats(x,st,n,c,p); t=now()-t; if(t<best[0])best[0]=t;
    /* per image, hot in cache: touch the image first (as the conv just wrote it), time only the parts */
    double tt=0;
    for(long i=0;i<n;i++){ float*xi=x+i*c*p; for(long j=0;j<c*p;j+=16) xi[j]+=0; double t0=now(); parts(xi,pt+i*2*c,c,p); tt+=now()-t0;}
    if(tt<best[1])best[1]=tt;
  }
  printf("c=%ld p=%ld batch_stats pass %.3f ms, per-image parts in cache %.3f ms\n",c,p,best[0]*1e3,best[1]*1e3);
}
