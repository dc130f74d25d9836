#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dlnrt.h"
int main(int argc,char**argv){ int op=atoi(argv[1]); int big=argc>2?atoi(argv[2]):0; int k=argc>3?atoi(argv[3]):3;
 dl_conv2d_geom g={0}; g.n=getenv("NIMG")?atoi(getenv("NIMG")):64; g.c=atoi(getenv("C")); g.h=g.w=atoi(getenv("H")); g.oc=atoi(getenv("OC")); g.kh=g.kw=k; g.sh=g.sw=2; int p=k==3;
 g.pt=g.pb=g.pl=g.pr=p; g.dh=g.dw=1; g.groups=1; g.oh=g.ow=g.h/2;
 size_t nx=g.n*g.c*g.h*g.w, ny=g.n*g.oc*g.oh*g.ow, nw=g.oc*g.c*k*k;
 float*x=malloc(nx*4),*y=malloc(ny*4),*w=malloc(nw*4),*gx=malloc(nx*4),*gw=malloc(nw*4);
 for(size_t i=0;i<nx;i++)x[i]=(i%7)*0.1f; for(size_t i=0;i<ny;i++)y[i]=(i%5)*0.1f; for(size_t i=0;i<nw;i++)w[i]=(i%3)*0.1f;
 struct timespec a,b; double best=1e9;
 for(int r=0;r<100;r++){ clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&a);
  if(op==0)dl_conv2d(&g,x,w,y); else if(op==1)dl_conv2d_bwd_data(&g,y,w,gx); else dl_conv2d_bwd_weight(&g,x,y,gw);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&b); double t=(b.tv_sec-a.tv_sec)+1e-9*(b.tv_nsec-a.tv_nsec); if(t<best)best=t;}
 double fl=2.0*g.n*g.oc*g.oh*g.ow*g.c*k*k; printf("op %d big %d: %.3f ms %.1f GF/s\n",op,big,best*1e3,fl/best/1e9); return 0;}
