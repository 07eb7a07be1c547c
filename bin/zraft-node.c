/*  =========================================================================
    zraft-node - a replicated key/value server: one member of a zraft
    cluster, reached by clients over the client protocol

    main does the process-wide set-up in an order that keeps every
    failure clean: signals first (blocked before any thread exists, see
    sigterm.h), then the options (a usage error exits 64 before anything
    starts), then the log (journal.h; the library's lines and czmq's go
    to stderr too, stdout stays empty), then the scheduling class
    (--sched, before any thread exists, so that every thread the server
    starts inherits it), then the server (server.h): if it
    cannot start, nothing is left running and the exit status is 1. The
    server runs until SIGTERM or SIGINT and its orderly stop (exit 0); a
    second signal exits at once with status 1.

    Modules: bin/zraft-node/options (flags, environment, config file),
    journal (the log), sigterm, pending (tokens to requests), server. The user's
    documentation is --help (options.c) and docs/man/zraft-node.1.
    =========================================================================
*/
#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/zraft.h"
#include "zraft-node/journal.h"
#include "zraft-node/options.h"
#include "zraft-node/server.h"
#include "zraft-node/sigterm.h"

#define S_EXIT_USAGE 64                 /* EX_USAGE, sysexits.h */

extern char **environ;

/* --sched batch: puts the calling thread, and so every thread it starts
   later, in SCHED_BATCH (Linux). A woken thread then waits for the one
   running to block or use up its slice instead of preempting it: the
   node, persister, replicator and applier threads hand each batch on to
   the next, and with preemption each hand-off cut into the sender's
   batch. Measured on 2 vCPUs, 3 servers (docs/PERFORMANCE.md): more
   publishes per second and a lower W=1 latency. Refused (a seccomp
   filter, another OS): logged, and the server runs in its class.
   (czmq's zsys_set_thread_sched_policy would reach libzmq's I/O threads
   only, not the actors' threads; the main thread's class reaches all.) */
static void
s_sched_batch (void)
{
#if defined (SCHED_BATCH)
    /* pthread_setschedparam, not sched_setscheduler: glibc keeps the
       thread's policy, and threads created with explicit scheduling
       attributes would copy a stale one. */
    struct sched_param param = {.sched_priority = 0};
    int rc = pthread_setschedparam (pthread_self (), SCHED_BATCH, &param);
    if (rc == 0)
        return;
    zr_journal_log (ZR_OPTIONS_LOG_WARNING, "--sched batch: refused (%s); "
                    "running in the normal class", strerror (rc));
#else
    zr_journal_log (ZR_OPTIONS_LOG_WARNING, "--sched batch: not on this "
                    "system; running in the normal class");
#endif
}

int
main (int argc, char *argv [])
{
    int signal_fd = zr_sigterm_block ();
    if (signal_fd < 0) {
        fprintf (stderr, "zraft-node: cannot set up signals: %s\n",
                 strerror (errno));
        return 1;
    }
    zsys_set_logstream (stderr);        /* czmq's own lines, if any */
    zsys_set_logident ("zraft-node");
    zr_options_t options;
    char why [ZR_OPTIONS_WHY_MAX];
    int action = zr_options_parse (&options, argc, argv, environ, why,
                                   sizeof why);
    if (action == ZR_OPTIONS_HELP) {
        zr_options_usage (stdout);
        return 0;
    }
    if (action == ZR_OPTIONS_SHOW_VERSION) {
        printf ("zraft-node %s\n", ZR_OPTIONS_VERSION);
        return 0;
    }
    if (action != ZR_OPTIONS_RUN) {
        fprintf (stderr, "zraft-node: %s\n", why);
        return S_EXIT_USAGE;
    }
    zr_journal_setup (options.name, options.log_level,
                     options.log_format == ZR_OPTIONS_JSON, 2);
    zraft_log_set (options.log_level, zr_journal_line, NULL);
    if (*options.unknown_env)
        zr_journal_log (ZR_OPTIONS_LOG_WARNING, "ignored: %s: not zraft-node "
                        "settings (see --help for their names)",
                        options.unknown_env);
    if (options.sched_batch)
        s_sched_batch ();
    zr_server_t *server = zr_server_new (&options);
    int status = 1;
    if (server) {
        status = zr_server_run (server, signal_fd);
        zr_server_destroy (&server);
    }
    zsys_shutdown ();
    close (signal_fd);
    zr_journal_log (ZR_OPTIONS_LOG_NOTICE, "exit: status %d", status);
    return status;
}
