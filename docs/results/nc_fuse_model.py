# nc_fuse_model.py IN.c OUT.c — docs/performance.md, section "branch nc": in a generated ResNet-20
# (build/dlnc bench/workloads/resnet20.dln -o IN.c), each block end's ReLU backward with the residual
# add (add_step_mul) and the batch_norm_sums reading its output become one call of the prototype
# dl_batch_norm_sums_resid (nc_resid_sums.patch). A measurement prototype, not a compiler pass.
import re, sys
src = open(sys.argv[1]).read()
# C, P per sums kernel from its definition line
defs = dict(re.findall(r'static void (resnet20_train_k\d+_batch_norm_sums)\(.*?\n\{\n    dl_batch_norm_sums\(x0, x1, x2, NULL, 0.0f, y, n, (\d+, \d+), 1e-05f\)', src))
pat = re.compile(r'    (resnet20_train_k\d+_add_step_mul)\(n, (t\d+), (t\d+), (t\d+), (t\d+)\);\n    (resnet20_train_k\d+_batch_norm_sums)\(n, (t\d+), (t\d+), (t\d+), (t\d+)\);\n')
cnt = 0
def rep(m):
    global cnt
    asm, g, y, a, b, sk, s, x, st, g2 = m.groups()
    if g2 != g or sk not in defs: return m.group(0)
    cnt += 1
    return f'    dl_batch_norm_sums_resid({x}, {st}, {a}, {b}, {y}, {g}, {s}, n, {defs[sk]}, 1e-05f);\n'
out = pat.sub(rep, src)
decl = ('void dl_batch_norm_sums_resid(const float *x, const float *stats, const float *gya, const float *gyb, '
        'const float *y, float *g, float *sums, int64_t n, int64_t c, int64_t p, float eps);')
out = out.replace('#include "dlnrt.h"', '#include "dlnrt.h"\n' + decl, 1)
open(sys.argv[2], 'w').write(out)
print('fused', cnt, file=sys.stderr)
