/* ops_scan.h — the loop: OP_scan runs a body graph once per step along axis 1
 * of its sequences, carrying state from step to step (JAX's lax.scan, ONNX
 * Scan). The body is elaborated once and stays one graph, so generated code
 * and compile time do not grow with the sequence length.
 *
 * OP_scan inputs: [carry initial values (nc)][sequences (ns), each
 * [N, T, ...], sliced at step t to [N, ...]][captures (the rest): values
 * the body reads unchanged at every step — weights, outer tensors].
 * Attributes (ir_attrs.scan, ir_attrs.def): body (index into
 * ir_module.bodies), carries = nc, sequences = ns, results = ny, reverse
 * (steps run from T-1 down to 0), sums = na; the cost of one step is
 * flops0 + flops_n * N FLOPs.
 *
 * The body graph: inputs [carries][sequence slices][captures] in that order;
 * outputs [new carries (nc)][per-step results (ny), stacked along axis 1]
 * [accumulated results (na), summed over the steps].
 *
 * The scan node itself holds no data (its value is a 1-element token); its
 * results are OP_scan_part nodes, ir_attrs.scan_part.part = the part:
 *   [0, nc)                 the final carries;
 *   [nc, nc+ny)             the stacked per-step results, [N, T, ...];
 *   [nc+ny, 2nc+ny)         the carries before each step, stacked (what the
 *                           reverse loop of the gradient reads);
 *   [2nc+ny, 2nc+ny+na)     the accumulated results.
 * A part nobody uses is not written. The loop kernel writes every part while
 * it runs, so the memory plan gives parts their space from the scan on. */
#ifndef DLNC_OPS_SCAN_H
#define DLNC_OPS_SCAN_H
#include "ir.h"

typedef struct scan_info {
    int body, nc, ns, ny, na, ncap, reverse;
} scan_info;

scan_info scan_info_of(const ir_node *scan);
/* The shape of part p (the table above); 0 if p is out of range. */
int scan_part_shape(const ir_module *m, const ir_node *scan, int p, ir_shape *out);
/* Part p of scan: the existing node, or a new one appended to g. */
ir_node *scan_part(ir_graph *g, ir_node *scan, int p);
/* Appends the scan node over body (outputs already set) with inputs
 * ins[0 .. nc+ns+ncap) to g; computes its per-step cost. */
ir_node *scan_build(ir_graph *g, int body, ir_node *const *ins, int nin, int nc, int ns, int ny, int na, int reverse);

#endif
