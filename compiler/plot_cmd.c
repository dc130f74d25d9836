/* plot_cmd.c — `dlnc plot FILE.csv [-o OUT.png|OUT.svg]`.
 *
 * The drawing is the runtime's (dl_plot_csv): `dlnc run --history` draws its
 * pictures through the same function, so a redrawn picture is the one the
 * run made. This file is only the command line. */
#include "plot_cmd.h"

#include <string.h>

#include "cli.h"
#include "dlnrt.h"

void plot_cmd_usage(FILE *out)
{
    fprintf(out, "usage: dlnc plot [-o OUT.png|OUT.svg] FILE.csv\n"
                 "  FILE.csv  a history written by `dlnc run --history` (the loss and accuracy\n"
                 "            curves; the per-step losses come from FILE.steps.csv beside it) or\n"
                 "            its FILE.confusion.csv (the confusion matrix)\n"
                 "  -o OUT    write this .png or .svg; without -o, FILE.png and FILE.svg\n");
}

int plot_cmd_main(int argc, char **argv)
{
    const char *csv = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            plot_cmd_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "-o")) {
            if (!cli_has_value(argc, argv, i)) return 2;
            out = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "dlnc: error: unknown option '%s' for dlnc plot\n", argv[i]);
            plot_cmd_usage(stderr);
            return 2;
        } else if (csv) {
            fprintf(stderr, "dlnc: error: dlnc plot takes one CSV file ('%s' and '%s')\n", csv, argv[i]);
            return 2;
        } else {
            csv = argv[i];
        }
    }
    if (!csv) {
        fprintf(stderr, "dlnc: error: dlnc plot: no CSV file\n");
        plot_cmd_usage(stderr);
        return 2;
    }
    if (dl_plot_csv(csv, out)) {
        fprintf(stderr, "dlnc: error: %s\n", dl_last_error());
        return 1;
    }
    return 0;
}
