/* beam_cmd.h — `dlnc sample --beam K`: its options and their checks, kept
 * out of main.c, which only routes to them; the search itself is the
 * runtime's (runtime/beam_generate.c, through dl_generate). */
#ifndef DLNC_BEAM_CMD_H
#define DLNC_BEAM_CMD_H
#include "dlnrt.h"

/* No beam (sampling); a length penalty of 1.0, Hugging Face's default. */
void beam_cmd_defaults(dl_generate_options *g);
/* If argv[*i] is --beam, --length-penalty, --end or --all-beams, takes it (and its
 * value, advancing *i) and returns 1; -1 after printing a usage error; 0 for
 * another option, noting in *sampling_set whether it is one of sampling's
 * (--temperature, --top-k, --top-p) with a value that is not its "off"
 * (0, 0, 1), which a beam search refuses. */
int beam_cmd_option(int argc, char **argv, int *i, dl_generate_options *g, int *sampling_set);
/* Before sampling: 0 if the beam options fit the request (text, no sampling
 * options with --beam, no beam options without it), else
 * 1 after printing why. Sets the temperature to 0 with --beam. */
int beam_cmd_check(dl_generate_options *g, int sampling_set);

#endif
