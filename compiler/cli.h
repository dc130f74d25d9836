/* cli.h — what the option parsers of dlnc's subcommands share (main.c and
 * the *_cmd.c files), so an option's missing value reads the same whichever
 * parser met it. */
#ifndef DLNC_CLI_H
#define DLNC_CLI_H

/* 1 if option argv[i] has a value after it; else 0, with
 * "dlnc: error: OPTION needs an argument" on stderr. */
int cli_has_value(int argc, char **argv, int i);

#endif
