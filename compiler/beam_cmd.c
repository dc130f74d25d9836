/* beam_cmd.c — the command line of `dlnc sample --beam K` (beam_cmd.h).
 *
 * A beam search is deterministic: it has nothing to sample, so the sampling
 * options are refused with it rather than ignored (a user who gave both
 * expects one of them to matter), and so are the beam's own options
 * without --beam. */
#include "beam_cmd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void beam_cmd_defaults(dl_generate_options *g) {
    g->beam = 0;
    g->length_penalty = 1.0;
    g->all_beams = 0;
    g->end = NULL;
}

static int beam_options_given; /* --length-penalty or --all-beams: refused without --beam */

int beam_cmd_option(int argc, char **argv, int *i, dl_generate_options *g, int *sampling_set) {
    const char *a = argv[*i];
    if (!strcmp(a, "--temperature") || !strcmp(a, "--top-k") || !strcmp(a, "--top-p")) {
        /* their "off" values (temperature 0, top-k 0, top-p 1) agree with a beam search */
        const double off = strcmp(a, "--top-p") ? 0 : 1;
        if (*i + 1 < argc && strtod(argv[*i + 1], NULL) != off) *sampling_set = 1;
        return 0; /* main.c parses the value */
    }
    if (!strcmp(a, "--all-beams")) {
        g->all_beams = beam_options_given = 1;
        return 1;
    }
    if (strcmp(a, "--beam") && strcmp(a, "--length-penalty") && strcmp(a, "--end")) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "dlnc: error: %s needs a value\n", a);
        return -1;
    }
    const char *s = argv[++*i];
    if (!strcmp(a, "--end")) {
        /* "\\n": a newline, hard to pass as an argument otherwise */
        g->end = !strcmp(s, "\\n") ? "\n" : s;
        if (strlen(g->end) != 1) {
            fprintf(stderr, "dlnc: error: --end takes one character (a token of the model's vocabulary), not '%s'\n", s);
            fprintf(stderr, "  hint: --end . ends a beam at its first full stop; --end '\\n' at its first newline\n");
            return -1;
        }
        beam_options_given = 1;
        return 1;
    }
    char *end;
    errno = 0;
    if (!strcmp(a, "--beam")) {
        long k = strtol(s, &end, 10);
        if (errno || *end || end == s || k < 1 || k > DL_BEAM_MAX) {
            fprintf(stderr, "dlnc: error: --beam takes a beam width from 1 to %d, not '%s'\n", DL_BEAM_MAX, s);
            fprintf(stderr, "  hint: the K beams run through the model together at batch K; 1 is greedy decoding\n");
            return -1;
        }
        g->beam = (int)k;
        return 1;
    }
    double alpha = strtod(s, &end);
    if (errno || *end || end == s || !(fabs(alpha) <= 100)) {
        fprintf(stderr, "dlnc: error: --length-penalty takes a number from -100 to 100, not '%s'\n", s);
        return -1;
    }
    g->length_penalty = alpha;
    beam_options_given = 1;
    return 1;
}

int beam_cmd_check(dl_generate_options *g, int sampling_set) {
    if (!g->beam) {
        if (!beam_options_given) return 0;
        fprintf(stderr, "dlnc: error: --length-penalty, --end and --all-beams are for a beam search: give --beam K\n");
        return 1;
    }
    if (sampling_set) {
        fprintf(stderr, "dlnc: error: --beam is a deterministic search: it takes no --temperature above 0, --top-k or --top-p\n");
        fprintf(stderr, "  hint: leave them out (beam search keeps the K likeliest sequences), or drop --beam to sample\n");
        return 1;
    }
    g->temperature = 0;
    return 0;
}
