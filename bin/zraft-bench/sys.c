/*  =========================================================================
    sys - signals, clocks and usage of this process

    The process-wide pieces every part of the bench shares: the
    interrupt flag and the signal setup (--procs catches the signals
    itself until it has forked its nodes; a process with ZeroMQ's or
    nodes' threads keeps them off those threads), the monotonic clock,
    and this process's CPU time and peak RSS.
    =========================================================================
*/
#include "bench.h"
#include "sys.h"

/* Set by SIGINT and SIGTERM: the one mutable global (process-wide signal
   setup, which STYLE leaves to bin/). It replaces czmq's handler and
   zsys_interrupted, and the signals are kept off the nodes' threads:
   interrupted actors quit on their own, and then zraft_destroy can hang
   (seen with the library of 2026-11-23); stopping the nodes in our order
   is what ends a run cleanly and removes its data. */
volatile sig_atomic_t zb_interrupted = 0;

/* SIGINT and SIGTERM: sets zb_interrupted. */
void
zb_signal_cb (int signal_value)
{
    (void) signal_value;
    zb_interrupted = 1;
}

/* Blocks or unblocks SIGINT and SIGTERM on this thread. Threads started
   while they are blocked (ZeroMQ's and every node's) inherit the block,
   so the signals reach only this, the main thread. */
void
zb_signals_block (bool block)
{
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGTERM);
    int rc = pthread_sigmask (block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
    assert (rc == 0);
    (void) rc;
}

/* --procs, before it forks its nodes (no threads, no czmq yet): SIGINT
   and SIGTERM set zb_interrupted (no SA_RESTART); SIGPIPE is ignored. */
void
zb_signals_catch (void)
{
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = zb_signal_cb;
    sigemptyset (&action.sa_mask);
    int rc = sigaction (SIGINT, &action, NULL);
    rc |= sigaction (SIGTERM, &action, NULL);
    action.sa_handler = SIG_IGN;
    rc |= sigaction (SIGPIPE, &action, NULL);
    assert (rc == 0);
    (void) rc;
}

/* Microseconds on CLOCK_MONOTONIC. */
int64_t
zb_now_us (void)
{
    struct timespec ts;
    int rc = clock_gettime (CLOCK_MONOTONIC, &ts);
    assert (rc == 0);
    (void) rc;
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* CPU microseconds (user + system) this process used so far. */
int64_t
zb_cpu_us (void)
{
    struct rusage usage;
    int rc = getrusage (RUSAGE_SELF, &usage);
    assert (rc == 0);
    (void) rc;
    return ((int64_t) usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
           * 1000000 + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

/* Peak resident set of this process so far, KiB. */
int64_t
zb_rss_kib (void)
{
    struct rusage usage;
    int rc = getrusage (RUSAGE_SELF, &usage);
    assert (rc == 0);
    (void) rc;
    return usage.ru_maxrss;
}


/* Counts an error and keeps the first one's text; see sys.h. */
void
zb_error_note (uint64_t *count, char *first, size_t size, const char *format,
               ...)
{
    assert (count && first && size);
    (*count)++;
    if (*first)
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (first, size, format, args);
    va_end (args);
}

/* True if argv holds flag; see sys.h. */
bool
zb_argv_has (int argc, char *argv [], const char *flag)
{
    for (int i = 1; i < argc; i++)
        if (streq (argv [i], flag))
            return true;
    return false;
}
