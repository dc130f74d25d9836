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

void dl_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dl_error_buf, sizeof dl_error_buf, fmt, ap);
    va_end(ap);
}

void dl_clear_error(void) { dl_error_buf[0] = '\0'; }
