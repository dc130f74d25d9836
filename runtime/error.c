/* error.c — the runtime's error channel.
 *
 * Every fallible runtime function returns -1 and leaves a message here rather
 * than printing or exiting: the runtime is a library, and only its caller
 * (the `dlnc run` driver, a user's main, a test) knows whether an error should
 * be printed, retried or asserted on. The buffer is thread-local so that
 * OpenMP workers or a user's threads never see each other's messages. */
#include "dlnrt.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char dl_error_buf[1024];

const char *dl_last_error(void) { return dl_error_buf; }

/* Messages quote what readers found in files (a CSV field, a token): a
 * control byte among them (ESC starts a terminal escape sequence) is written
 * as \xNN, so printing a message never drives the user's terminal. Line
 * breaks and tabs are the message's own. */
static void dl_escape_controls(char *buf, size_t cap)
{
    char out[sizeof dl_error_buf];
    size_t o = 0;
    for (size_t i = 0; buf[i] && o + 5 < sizeof out; i++) {
        unsigned char c = (unsigned char)buf[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", c);
        else out[o++] = (char)c;
    }
    out[o] = '\0';
    snprintf(buf, cap, "%s", out);
}

void dl_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dl_error_buf, sizeof dl_error_buf, fmt, ap);
    va_end(ap);
    for (const char *p = dl_error_buf; *p; p++)
        if (((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f) {
            dl_escape_controls(dl_error_buf, sizeof dl_error_buf);
            break;
        }
}

void dl_clear_error(void) { dl_error_buf[0] = '\0'; }
