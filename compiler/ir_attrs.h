/* ir_attrs.h — the uses of ir_attrs.def beyond the structs (ir.h): the IR
 * dump's attribute text and the equality and hash common subexpression
 * elimination merges by. */
#ifndef DLNC_IR_ATTRS_H
#define DLNC_IR_ATTRS_H
#include <stdio.h>

#include "ir.h"

/* The ir_attrs.def group of op's attributes ("reduce"; "conv": conv_geom), NULL for an op without. */
const char *ir_attrs_group(ir_opcode op);
/* " [axis=1, keepdims]" (or nothing) for n's attribute group; conv ops: conv_geom_str's text. */
void ir_attrs_print(FILE *out, const ir_node *n);
/* Equal attributes: the set slots and the conv geometry. */
int ir_attrs_same(const ir_attrs *a, const ir_attrs *b);
/* h mixed with every set slot and the conv geometry. */
uint64_t ir_attrs_hash(const ir_attrs *a, uint64_t h, uint64_t (*mix)(uint64_t h, uint64_t v));

#endif
