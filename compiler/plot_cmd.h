/* plot_cmd.h — `dlnc plot`: redraw the pictures of a training run from its CSV. */
#ifndef DLNC_PLOT_CMD_H
#define DLNC_PLOT_CMD_H
#include <stdio.h>

/* argv[0] is "plot". Returns the exit status: 0, 1 (the CSV could not be
 * drawn) or 2 (usage). */
int plot_cmd_main(int argc, char **argv);
void plot_cmd_usage(FILE *out);

#endif
