/* generate_internal.h — what dl_generate (generate.c) shares with its beam
 * search (beam_generate.c): the checks and the vocabulary are done once. */
#ifndef DL_GENERATE_INTERNAL_H
#define DL_GENERATE_INTERNAL_H

#include <stdio.h>

#include "dlnrt.h"

#define GEN_MAX_OUTPUTS 8

/* Elements per sample of output o with T = t. */
int64_t dl_gen_output_numel(const dl_io_info *o, int64_t t);

/* The checked request: the model api with logits output lo of V columns,
 * the loaded vocabulary, the prompt's ids, and the window length. */
typedef struct dl_gen_request {
    const dl_model_api *api;
    const dl_generate_options *o;
    const dl_vocab *vocab;
    int lo;
    int64_t V, context;
    const int32_t *prompt_ids;
    int64_t plen;
} dl_gen_request;

int dl_generate_beam(const dl_gen_request *r, FILE *out);

#endif
