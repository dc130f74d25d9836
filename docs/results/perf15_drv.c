/* perf15 driver: one conv pass of one geometry, repeated; CPU time per call (median of rounds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dlnrt.h"
static double cpu(void){struct timespec t;clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static int cmp(const void*a,const void*b){double x=*(const double*)a,y=*(const double*)b;return (x>y)-(x<y);}
int main(int argc,char**argv){
  if(argc<9){fprintf(stderr,"drv c h oc k stride pad pass(f|d|w) rounds [calls]\n");return 2;}
  dl_conv2d_geom g={0};
  g.n=64;g.c=atoi(argv[1]);g.h=g.w=atoi(argv[2]);g.oc=atoi(argv[3]);g.kh=g.kw=atoi(argv[4]);g.sh=g.sw=atoi(argv[5]);
  g.pt=g.pb=g.pl=g.pr=atoi(argv[6]);g.dh=g.dw=1;g.groups=1;
  g.oh=(g.h+2*g.pt-g.kh)/g.sh+1;g.ow=(g.w+2*g.pl-g.kw)/g.sw+1;
  char pass=argv[7][0];int rounds=atoi(argv[8]);int calls=argc>9?atoi(argv[9]):20;
  size_t nx=g.n*g.c*g.h*g.w,nw=g.oc*g.c*g.kh*g.kw,ny=g.n*g.oc*g.oh*g.ow;
  float*x=malloc(nx*4),*w=malloc(nw*4),*y=malloc(ny*4);
  srand(3);for(size_t i=0;i<nx;i++)x[i]=rand()/(float)RAND_MAX-.5f;for(size_t i=0;i<nw;i++)w[i]=rand()/(float)RAND_MAX-.5f;for(size_t i=0;i<ny;i++)y[i]=rand()/(float)RAND_MAX-.5f;
  double gflop=2e-9*g.n*g.oc*g.oh*g.ow*g.c*g.kh*g.kw; double s[1000];
  for(int r=0;r<rounds+1;r++){double t0=cpu();for(int k=0;k<calls;k++){int rc= pass=='f'?dl_conv2d(&g,x,w,y):pass=='d'?dl_conv2d_bwd_data(&g,y,w,x):dl_conv2d_bwd_weight(&g,x,y,w); if(rc){fprintf(stderr,"fail %s\n",dl_last_error());return 1;} if(pass=='d'){/* keep x finite */} } if(r)s[r-1]=(cpu()-t0)/calls;}
  qsort(s,rounds,sizeof*s,cmp);
  printf("c=%d h=%d oc=%d k=%d s=%d pass=%c ms=%.4f gflops=%.1f\n",g.c,(int)g.h,g.oc,g.kh,g.sh,pass,s[rounds/2]*1e3,gflop/s[rounds/2]);
  return 0;}
