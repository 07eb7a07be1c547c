/*  =========================================================================
    sys - signals, clocks and usage of this process

    The process-wide pieces every part of the bench shares: the
    interrupt flag and the signal setup (a --procs parent catches the
    signals itself; a process with nodes keeps them off their threads),
    the monotonic clock every process of a run agrees on, and this
    process's CPU time and peak RSS.
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

/* The --procs parent, which has no threads and no czmq: SIGINT and
   SIGTERM interrupt its poll (no SA_RESTART); a dead child's socket must
   not kill it with SIGPIPE. */
void zb_signals_catch (void);

/* Microseconds on CLOCK_MONOTONIC: one clock for every process of a
   --procs run, so the parent's window means the same in each child. */
int64_t zb_now_us (void);

/* CPU microseconds (user + system) this process used so far. */
int64_t zb_cpu_us (void);

/* Peak resident set of this process so far, KiB. */
int64_t zb_rss_kib (void);

#endif
