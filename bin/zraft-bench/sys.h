/*  =========================================================================
    sys - signals, clocks and usage of this process

    The process-wide pieces every part of the bench shares: the
    interrupt flag and the signal setup (--procs catches the signals
    itself until it has forked its nodes; a process with ZeroMQ's or
    nodes' threads keeps them off those threads), the monotonic clock,
    and this process's CPU time and peak RSS.
    =========================================================================
*/
#ifndef ZB_SYS_H_INCLUDED
#define ZB_SYS_H_INCLUDED

/* Set by SIGINT and SIGTERM: the one mutable global (process-wide
   signal setup, which STYLE leaves to bin/). */
extern volatile sig_atomic_t zb_interrupted;

/* SIGINT and SIGTERM: sets zb_interrupted. */
void zb_signal_cb (int signal_value);

/* Blocks or unblocks SIGINT and SIGTERM on this thread. Threads started
   while they are blocked (ZeroMQ's and every node's) inherit the block,
   so the signals reach only this, the main thread. */
void zb_signals_block (bool block);

/* --procs, before it forks its nodes (no threads, no czmq yet): SIGINT
   and SIGTERM set zb_interrupted (no SA_RESTART); SIGPIPE is ignored. */
void zb_signals_catch (void);

/* Microseconds on CLOCK_MONOTONIC. */
int64_t zb_now_us (void);

/* CPU microseconds (user + system) this process used so far. */
int64_t zb_cpu_us (void);

/* Peak resident set of this process so far, KiB. */
int64_t zb_rss_kib (void);

/* True if argv [1..argc) holds flag (a mode: --kv, --bus). */
bool zb_argv_has (int argc, char *argv [], const char *flag);

/* A load's errors: counts one in *count and keeps the first one's text
   in first (size bytes, "" until then), for the report. */
void zb_error_note (uint64_t *count, char *first, size_t size,
                    const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));
/* zb_error_note on a load with fields errors and first_error. */
#define ZB_ERROR(self, ...)                                                 \
    zb_error_note (&(self)->errors, (self)->first_error,                    \
                   sizeof (self)->first_error, __VA_ARGS__)

#endif
