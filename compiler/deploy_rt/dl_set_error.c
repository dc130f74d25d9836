/* Kernels report a failure here; the message is kept unformatted (no stdio). */
static const char *dl_error_text;
static void dl_set_error(const char *fmt, ...)
{
    dl_error_text = fmt;
}
