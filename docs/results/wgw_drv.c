/* wgw_drv.c — dl_conv2d_bwd_weight of one 3x3 stride-1 pad-1 layer, best of 5 in process CPU time
 * (docs/performance.md, "ResNet-20's 32-channel weight gradient with channels in the lanes").
 *   wgw_drv C OC H N REPS   (CHECK=1 in the environment: also the error against a double direct sum) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>
#include "dlnrt.h"
static double now(void){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+1e-9*t.tv_nsec;}
int main(int argc,char**argv){
  int C=argc>1?atoi(argv[1]):32, OC=argc>2?atoi(argv[2]):32, H=argc>3?atoi(argv[3]):16, N=argc>4?atoi(argv[4]):64, reps=argc>5?atoi(argv[5]):50;
  dl_conv2d_geom g; memset(&g,0,sizeof g);
  g.n=N;g.c=C;g.h=H;g.w=H;g.oc=OC;g.oh=H;g.ow=H;g.kh=3;g.kw=3;g.sh=1;g.sw=1;g.pt=g.pb=g.pl=g.pr=1;g.dh=1;g.dw=1;g.groups=1;
  size_t nx=(size_t)N*C*H*H, ny=(size_t)N*OC*H*H, nw=(size_t)OC*C*9;
  float*x=malloc(nx*4),*gy=malloc(ny*4),*gw=malloc(nw*4);
  srand(1); for(size_t i=0;i<nx;i++)x[i]=rand()/(float)RAND_MAX-0.5f; for(size_t i=0;i<ny;i++)gy[i]=rand()/(float)RAND_MAX-0.5f;
  dl_conv2d_bwd_weight(&g,x,gy,gw);
  double best=1e9;
  for(int r=0;r<5;r++){double t0=now(); for(int i=0;i<reps;i++) dl_conv2d_bwd_weight(&g,x,gy,gw); double t=(now()-t0)/reps; if(t<best)best=t;}
  double fl=2.0*N*OC*C*9*H*H;
  printf("wgrad C=%d OC=%d H=%d N=%d: %.4f ms %.1f GF/s\n",C,OC,H,N,best*1e3,fl/best*1e-9);
  if(getenv("CHECK")){ double maxe=0,maxv=0; for(int o=0;o<OC;o++)for(int c=0;c<C;c++)for(int ky=0;ky<3;ky++)for(int kx=0;kx<3;kx++){double s=0;
    for(int n=0;n<N;n++)for(int i=0;i<H;i++)for(int j=0;j<H;j++){int yy=i+ky-1,xx=j+kx-1; if(yy<0||xx<0||yy>=H||xx>=H)continue; s+=(double)gy[((size_t)(n*OC+o)*H+i)*H+j]*x[((size_t)(n*C+c)*H+yy)*H+xx];}
    double e=fabs(s-gw[((o*C+c)*3+ky)*3+kx]); if(e>maxe)maxe=e; if(fabs(s)>maxv)maxv=fabs(s);}
    printf("max err %.3g, max |gw| %.3g, rel %.3g\n",maxe,maxv,maxe/maxv);}
  return 0;}
