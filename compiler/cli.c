/* cli.c — see cli.h. */
#include "cli.h"

#include <stdio.h>

int cli_has_value(int argc, char **argv, int i) {
    if (i + 1 < argc) return 1;
    fprintf(stderr, "dlnc: error: %s needs an argument\n", argv[i]);
    return 0;
}
