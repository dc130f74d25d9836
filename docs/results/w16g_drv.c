/* w16g_drv.c — ResNet-20's 16->16, 32x32 weight gradient (dl_conv2d_bwd_weight, batch N) on the
 * old path (the direct row kernels: dl_wg_wgrad16_c16_enable(0)) and the new (Winograd, channels in
 * the lanes), single calls alternating in one process, in process CPU time (docs/performance.md,
 * "ResNet-20's 16-channel weight gradient ... (branch w16g)"). Prints each side's minimum and
 * median and the median of the per-pair ratios old/new.
 *   w16g_drv N PAIRS */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dlnrt.h"
#include "conv_winograd_internal.h"
static double now(void){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+1e-9*t.tv_nsec;}
static int cmp(const void*a,const void*b){double x=*(const double*)a,y=*(const double*)b;return (x>y)-(x<y);}
int main(int argc,char**argv){
  int N=argc>1?atoi(argv[1]):64, pairs=argc>2?atoi(argv[2]):200, H=32, C=16;
  dl_conv2d_geom g; memset(&g,0,sizeof g);
  g.n=N;g.c=C;g.h=H;g.w=H;g.oc=C;g.oh=H;g.ow=H;g.kh=3;g.kw=3;g.sh=1;g.sw=1;g.pt=g.pb=g.pl=g.pr=1;g.dh=1;g.dw=1;g.groups=1;
  size_t nx=(size_t)N*C*H*H, nw=(size_t)C*C*9;
  float*x=malloc(nx*4),*gy=malloc(nx*4),*gw=malloc(nw*4);
  double *t[2]={malloc(sizeof(double)*pairs),malloc(sizeof(double)*pairs)},*r=malloc(sizeof(double)*pairs);
  srand(1); for(size_t i=0;i<nx;i++)x[i]=rand()/(float)RAND_MAX-0.5f,gy[i]=rand()/(float)RAND_MAX-0.5f;
  if(!dl_wg_wgrad16_pays(&g)){printf("the new path does not apply here (no AVX-512?)\n");return 0;}
  for(int v=0;v<2;v++){dl_wg_wgrad16_c16_enable(v);dl_conv2d_bwd_weight(&g,x,gy,gw);}
  for(int p=0;p<pairs;p++) for(int v=0;v<2;v++){
    dl_wg_wgrad16_c16_enable(v); double t0=now(); dl_conv2d_bwd_weight(&g,x,gy,gw); t[v][p]=now()-t0;}
  for(int p=0;p<pairs;p++) r[p]=t[0][p]/t[1][p];
  qsort(t[0],pairs,sizeof(double),cmp); qsort(t[1],pairs,sizeof(double),cmp); qsort(r,pairs,sizeof(double),cmp);
  int faster=0; for(int p=0;p<pairs;p++) faster+=r[p]>1;
  printf("16->16 32x32 wgrad N=%d, %d pairs: old min %.3f median %.3f ms, new min %.3f median %.3f ms, "
         "old/new min %.3f, per pair median %.3f (p25 %.3f, p75 %.3f), new faster in %d\n",N,pairs,
         1e3*t[0][0],1e3*t[0][pairs/2],1e3*t[1][0],1e3*t[1][pairs/2],t[0][0]/t[1][0],r[pairs/2],r[pairs/4],r[3*pairs/4],faster);
  return 0;}
