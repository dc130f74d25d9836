#!/bin/sh
# perf15-ab.sh PAIRS "geom pass" ... : alternate $D-base and $D-new (D default /tmp/perf15-drv), print medians and ratio
D=${D:-/tmp/perf15-drv}
P=$1; shift
for a in "$@"; do
  i=1; : > $D-ab.tmp
  while [ $i -le $P ]; do
    for v in base new; do echo "$v $(OMP_NUM_THREADS=1 nice $D-$v $a 7 10)" >> $D-ab.tmp; done
    i=$((i+1))
  done
  awk -v a="$a" '{split($8,m,"=");  t[$1]=t[$1]" "m[2]; if($1=="new"){r[n++]=m[2]/last} else last=m[2]}
   function med(s,  x,k,i,j,tmp){k=split(s,x," ");for(i=1;i<=k;i++)for(j=i+1;j<=k;j++)if(x[j]<x[i]){tmp=x[i];x[i]=x[j];x[j]=tmp} return (k%2)?x[(k+1)/2]:(x[k/2]+x[k/2+1])/2}
   END{s="";for(i=0;i<n;i++)s=s" "r[i]; printf "%s: base %.4f ms new %.4f ms new/base(medians) %.3f median pair ratio %.3f (%d pairs)\n",a,med(t["base"]),med(t["new"]),med(t["new"])/med(t["base"]),med(s),n}' $D-ab.tmp
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
