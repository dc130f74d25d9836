/* decode.h — can a model's forward pass run incrementally over a sequence?
 *
 * A decoder language model maps tokens i32[N, T] to logits f32[N, T, V],
 * and position t of the output depends on tokens 0..t only. Generating one
 * token at a time by recomputing the whole window costs O(T) forward work
 * per position. The incremental form, <model>_decode, computes only the new
 * positions: every op that treats positions independently runs on the new
 * ones, each causal self-attention appends its new keys and values to a
 * cache and attends over the cache, and an arange over T counts from the
 * first new position. decode_analyze decides whether the forward graph is
 * of that kind, op by op; if it is, it records which nodes need the cache
 * or the position offset, and the emitter writes <model>_decode from the
 * same graph as <model>_forward. */
#ifndef DLNC_DECODE_H
#define DLNC_DECODE_H

#include "ir.h"

typedef enum decode_role {
    DECODE_PLAIN = 0,   /* computed as in forward, over the new positions */
    DECODE_OFFSET,      /* iota along T, or causal attention whose keys do not run over T: counts from `pos` */
    DECODE_CACHED,      /* causal self-attention over T: keys and values appended to its cache */
} decode_role;

typedef struct decode_plan {
    int sym;                /* the sequence symbol (T) */
    unsigned char *role;    /* by node id of the forward graph: a decode_role */
    int64_t *kv_off;        /* by node id, DECODE_CACHED only: the key cache's offset in
                               floats per (max_batch * max_T) */
    int64_t *kv_row_k;      /* ... the key cache's floats per (sample, position); the value cache follows */
    int64_t kv_floats;      /* cache floats per (max_batch * max_T), all caches together */
    int n_cached;
} decode_plan;

/* The plan for m's forward graph, or NULL with the reason in why (the first
 * op that mixes positions, e.g. "mean over T at m.dln:4:9"). Models with
 * exactly one symbol besides N, no carried state and at least one cached
 * attention qualify. */
decode_plan *decode_analyze(const ir_module *m, char *why, int whylen);

#endif
