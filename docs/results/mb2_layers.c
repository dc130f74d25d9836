/* docs/results/mb2_layers.c — MobileNetV2's 23 convolutions (bench/workloads/mobilenetv2.dln)
 * at batch 1 through dl_conv2d_affine, each with the epilogue the model passes (affine, ReLU6
 * clamp, residual); best of 7 runs of 200 calls, process CPU time. Run by docs/results/mb2_b1.sh
 * against the old and the new library. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "dlnrt.h"
typedef struct { int c, oc, h, k, s, dw, res, clamp; } L;
static const L ls[] = {
 {3,16,32,3,1,0,0,1},
 {16,96,32,1,1,0,0,1},{96,96,32,3,1,1,0,1},{96,16,32,1,1,0,1,0},
 {16,96,32,1,1,0,0,1},{96,96,32,3,2,1,0,1},{96,24,16,1,1,0,0,0},
 {24,144,16,1,1,0,0,1},{144,144,16,3,1,1,0,1},{144,24,16,1,1,0,1,0},
 {24,144,16,1,1,0,0,1},{144,144,16,3,2,1,0,1},{144,32,8,1,1,0,0,0},
 {32,192,8,1,1,0,0,1},{192,192,8,3,1,1,0,1},{192,32,8,1,1,0,1,0},
 {32,192,8,1,1,0,0,1},{192,192,8,3,2,1,0,1},{192,64,4,1,1,0,0,0},
 {64,384,4,1,1,0,0,1},{384,384,4,3,1,1,0,1},{384,64,4,1,1,0,1,0},
 {64,256,4,1,1,0,0,1}};
static double now(void){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(void){
  double tot=0;
  for (unsigned j=0;j<sizeof ls/sizeof ls[0];j++){
    L l=ls[j]; int p=l.k/2; int64_t oh=(l.h+2*p-l.k)/l.s+1;
    dl_conv2d_geom g={1,l.c,l.h,l.h,l.oc,oh,oh,l.k,l.k,l.s,l.s,p,p,p,p,1,1,l.dw?l.c:1,0};
    int64_t cin=l.dw?1:l.c;
    float *x=malloc(4*l.c*l.h*l.h),*w=malloc(4*l.oc*cin*l.k*l.k),*y=malloc(4*l.oc*oh*oh),*yc=malloc(4*l.oc*oh*oh),*r=malloc(4*l.oc*oh*oh),*sc=malloc(4*l.oc),*sh=malloc(4*l.oc);
    for(int64_t i=0;i<l.c*l.h*l.h;i++)x[i]=(rand()%100)/50.0f-1;
    for(int64_t i=0;i<l.oc*cin*l.k*l.k;i++)w[i]=(rand()%100)/500.0f;
    for(int i=0;i<l.oc;i++)sc[i]=1.1f,sh[i]=0.1f;
    for(int64_t i=0;i<l.oc*oh*oh;i++)r[i]=0.5f;
    dl_conv_affine a={sc,sh,l.res?r:NULL,l.clamp,0.0f,6.0f};
    double best=1e9;
    for(int rep=0;rep<7;rep++){int it=200;double t0=now();for(int i=0;i<it;i++)dl_conv2d_affine(&g,x,w,yc,y,&a);double t=(now()-t0)/it;if(t<best)best=t;}
    double fl=2.0*l.oc*oh*oh*cin*l.k*l.k;
    printf("%2u %3d>%3d %2dx%-2d k%d s%d %s %7.2f us %6.1f GF/s\n",j,l.c,l.oc,l.h,l.h,l.k,l.s,l.dw?"dw":"  ",best*1e6,fl/best*1e-9);
    tot+=best;
  }
  printf("total %.2f us\n",tot*1e6);
}
