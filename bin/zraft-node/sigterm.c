/*  =========================================================================
    sigterm - SIGTERM and SIGINT for zraft-node (see sigterm.h)
    =========================================================================
*/
#include "sigterm.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* The set this module handles: SIGTERM and SIGINT. */
static void
s_set (sigset_t *set)
{
    sigemptyset (set);
    sigaddset (set, SIGTERM);
    sigaddset (set, SIGINT);
}

int
zr_sigterm_block (void)
{
    zsys_handler_set (NULL);            /* czmq must not catch them */
    struct sigaction ignore;
    memset (&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset (&ignore.sa_mask);
    int rc = sigaction (SIGPIPE, &ignore, NULL);
    assert (rc == 0);
    sigset_t set;
    s_set (&set);
    if (pthread_sigmask (SIG_BLOCK, &set, NULL) != 0)
        return -1;
    return signalfd (-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int
zr_sigterm_read (int fd)
{
    assert (fd >= 0);
    struct signalfd_siginfo info;
    ssize_t n;
    do
        n = read (fd, &info, sizeof info);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t) sizeof info ? (int) info.ssi_signo : 0;
}

/* The second signal: one line on stderr, then exit, without touching
   anything a signal handler must not. */
static void
s_second_cb (int signal_value)
{
    (void) signal_value;
    static const char line [] =
        "zraft-node: second signal, exiting at once (status 1)\n";
    ssize_t rc = write (2, line, sizeof line - 1);
    (void) rc;
    _exit (1);
}

void
zr_sigterm_arm_second (void)
{
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_second_cb;
    sigemptyset (&action.sa_mask);
    int rc = sigaction (SIGTERM, &action, NULL);
    rc |= sigaction (SIGINT, &action, NULL);
    assert (rc == 0);
    sigset_t set;
    s_set (&set);
    rc = pthread_sigmask (SIG_UNBLOCK, &set, NULL);
    assert (rc == 0);
    (void) rc;
}
