/* progress_live.c — the line a person watches during an epoch: steps done
 * of the epoch's total, the running loss, samples/s and the epoch's ETA.
 *
 * It goes to stderr, never stdout, so the per-epoch lines that scripts and
 * tests read from stdout stay exactly as they were. On a terminal it is
 * redrawn in place ("\r", then ESC[K to clear what a longer line left) at
 * most ten times a second, and erased before anything else is printed, so
 * the epoch lines never share a row with it. Elsewhere (a pipe, a log file)
 * a redrawn line would be a mess of carriage returns, so it is printed as a
 * plain line every `every` seconds (10 by default): an epoch shorter than
 * that leaves nothing in the log. */
#include "progress_internal.h"
#include "train_internal.h"

#include <unistd.h>

void dl_live_init(dl_live *l, FILE *out, int quiet, double every)
{
    *l = (dl_live){.out = quiet ? NULL : out, .every = every > 0 ? every : 10.0};
    l->tty = l->out && isatty(fileno(l->out));
}

int64_t dl_live_total(int64_t batches, int64_t max_steps, int64_t done)
{
    if (max_steps > 0 && (batches <= 0 || max_steps - done < batches)) return max_steps - done;
    return batches > 0 ? batches : 0;
}

void dl_live_epoch(dl_live *l, int epoch, int epochs, int64_t total)
{
    l->epoch = epoch, l->epochs = epochs, l->total = total;
    l->t0 = dl_now();
    l->last = l->t0;
    l->first = 1;
}

void dl_live_step(dl_live *l, int64_t k, int64_t samples, const char *loss)
{
    if (!l->out) return;
    const double now = dl_now(), el = now - l->t0;
    const int last = l->total > 0 && k >= l->total;
    if (l->tty ? !(l->first || last || now - l->last >= 0.1) : now - l->last < l->every) return;
    l->first = 0, l->last = now;
    char eta[32] = "";
    if (l->total > 0 && k > 0 && !last) {
        char d[24];
        dl_format_duration(el / k * (l->total - k), d, sizeof d);
        snprintf(eta, sizeof eta, "  ETA %s", d);
    }
    char steps[48];
    if (l->total > 0) snprintf(steps, sizeof steps, "%lld/%lld", (long long)k, (long long)l->total);
    else snprintf(steps, sizeof steps, "%lld", (long long)k);
    fprintf(l->out, "%s[epoch %d/%d] %s  %s  %.0f samples/s%s%s", l->tty ? "\r" : "", l->epoch, l->epochs, steps,
            loss, samples / (el > 0 ? el : 1e-9), eta, l->tty ? "\033[K" : "\n");
    fflush(l->out);
    l->drawn = l->tty;
}

void dl_live_clear(dl_live *l)
{
    if (!l->drawn) return;
    fputs("\r\033[K", l->out);
    fflush(l->out);
    l->drawn = 0;
}
