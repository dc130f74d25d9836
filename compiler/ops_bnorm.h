/* ops_bnorm.h — what the passes need from the batch norm ops (ops_bnorm.c). */
#ifndef DLNC_OPS_BNORM_H
#define DLNC_OPS_BNORM_H
#include "ir.h"

/* The elementwise form of batch_normalize node n, appended to n's graph
 * (pass_bnorm places it): (x - stats[0]) * (w / sqrt(stats[1] + eps)) + b,
 * the runtime kernel's float operations in its order. Returns its last
 * node, the value. */
ir_node *bnorm_lower(ir_graph *g, const ir_node *n);

#endif
