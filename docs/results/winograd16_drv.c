/* winograd16_drv.c — dl_conv2d forward CPU time (best of 7 rounds of ITERS calls) for one 3x3 pad-1 stride-1
 * geometry N C H (OC = C, W = H). Built against the base libdlnrt.a (old) and the new one:
 *   cc -std=c11 -O2 -fopenmp -Iruntime docs/results/winograd16_drv.c LIB/libdlnrt.a -o drv -lpng -lz -lm
 *   OMP_NUM_THREADS=1 drv N C H ITERS */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "dlnrt.h"
int main(int argc, char **argv) {
    int n = atoi(argv[1]), c = atoi(argv[2]), h = atoi(argv[3]), iters = atoi(argv[4]);
    dl_conv2d_geom g = {.n=n,.c=c,.h=h,.w=h,.oc=c,.oh=h,.ow=h,.kh=3,.kw=3,.sh=1,.sw=1,.pt=1,.pb=1,.pl=1,.pr=1,.dh=1,.dw=1,.groups=1};
    float *x = calloc(n*c*h*h,4), *w = calloc(c*c*9,4), *y = calloc(n*c*h*h,4);
    for (int i=0;i<n*c*h*h;i++) x[i]=(float)rand()/RAND_MAX;
    for (int i=0;i<c*c*9;i++) w[i]=(float)rand()/RAND_MAX;
    double t=1e9;
    for (int r=0;r<7;r++){
    struct timespec a,b; clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&a);
    for (int i=0;i<iters;i++) dl_conv2d(&g,x,w,y);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&b);
    double tt=(b.tv_sec-a.tv_sec+1e-9*(b.tv_nsec-a.tv_nsec))/iters; if(tt<t)t=tt;}
    printf("%.3f ms %.1f GF/s\n", t*1e3, 2.0*n*c*c*9*h*h/t*1e-9);
}
