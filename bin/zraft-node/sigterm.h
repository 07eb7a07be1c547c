/*  =========================================================================
    sigterm - SIGTERM and SIGINT for zraft-node: the first asks for an
    orderly stop through a pollable descriptor, the second exits at once

    zr_sigterm_block runs first in main, before any thread exists: it
    blocks SIGTERM and SIGINT, so every thread started later (ZeroMQ's,
    the library's actors) inherits the block and none of them is ever
    interrupted, and returns a signalfd the server polls beside its
    sockets. czmq's own handler (which would set zsys_interrupted and stop
    every actor's poller half-way) is switched off. When the server reads
    the first signal it calls zr_sigterm_arm_second: from then on a
    second SIGTERM or SIGINT reaches the handler, which writes one line
    and calls _exit (1). The server's loop may run on the node's thread
    (zraft_host), so it arms it on whichever thread runs the loop, and
    the main thread arms it again when the loop is back. zraft_destroy
    blocks signals while it stops the node (so that the stop is not cut
    short): a second signal then is taken when it returns. SIGPIPE is
    ignored.
    =========================================================================
*/
#ifndef ZR_SIGTERM_H_INCLUDED
#define ZR_SIGTERM_H_INCLUDED

/* Blocks the signals and returns the signalfd (close-on-exec,
   non-blocking), or -1 if the system refused (errno set). */
int zr_sigterm_block (void);

/* Reads one pending signal from fd; returns its number, or 0 if none. */
int zr_sigterm_read (int fd);

/* Makes the next SIGTERM or SIGINT exit the process at once (status 1),
   and unblocks them on the calling thread only. Idempotent. */
void zr_sigterm_arm_second (void);

#endif
