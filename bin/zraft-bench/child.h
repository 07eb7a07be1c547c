/*  =========================================================================
    child - a --procs child: one server, driven by its parent

    --procs: the parent re-executes itself once per server with the
    hidden --child-* flags. Each child runs one server (zb_server_start)
    and talks to the parent in text lines over a socketpair: it reports
    its status, loads its server when told that it leads, measures the
    window the parent set, sends its figures and histogram, answers
    VERIFY, and quits on EXIT or EOF. The protocol is below.
    =========================================================================
*/
#ifndef ZB_CHILD_H_INCLUDED
#define ZB_CHILD_H_INCLUDED

#define ZB_STATUS_MS 100                /* a child reports this often */
#define ZB_CMD_MAX 256                  /* a parent -> child line */
#define ZB_LINE_MAX (ZR_HISTOGRAM_ENCODED_MAX + 64)  /* child -> parent */

_Static_assert (ZB_LINE_MAX > ZB_CMD_MAX, "HIST is the longest line");

/*  A --procs child runs server --child-id and talks to its parent over
    --child-fd, one text line per message (numbers in decimal):

    child -> parent                 when
    READY                           its server started
    STATUS role term leader loading done next_k commit
                                    every ZB_STATUS_MS, and at once when it
                                    starts or stops loading
    NODE syncs wal_entries appends entries_out bytes_out cpu_us rss_kib
         fault_dropped fault_delayed fault_duplicated
                                    after the window: its counters' deltas
    HIST <zr_histogram_encode>      then: the latencies it measured
    FINAL committed lost last_index cap_hits outstanding_peak
                                    then: its load's totals; always last
    VERIFIED 0|1                    answers VERIFY
    FAIL <message>                  it cannot go on; it exits 1

    parent -> child
    WINDOW start_us end_us          measure between these CLOCK_MONOTONIC
                                    times (once)
    LOAD t0_us next_k               its server leads: load it; the open
                                    loop's proposal k is due at t0 + k / R
    VERIFY index                    answer once applied through index
    EXIT                            stop the server, exit 0 (EOF: same)
*/

/* Sends len bytes on fd, a socketpair between parent and child, whole
   and without SIGPIPE. Returns 0, or -1 if the other end is gone. */
int zb_fd_send (int fd, const char *data, size_t len);

/* Runs a --procs child: one server, driven by the parent over
   --child-fd. Returns the exit code. */
int zb_child_main (const zb_opts_t *opts);

#endif
