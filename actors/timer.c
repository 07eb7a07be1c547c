/*  =========================================================================
    timer - the election/heartbeat timer of one server (see timer.h)
    =========================================================================
*/
#include "actors.h"
#include "timer.h"

void
zr_timer_actor (zsock_t *pipe, void *args)
{
    (void) args;
    int64_t deadline = -1;              /* armed deadline, -1 if none */
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    zr_assert (poller);
    zpoller_set_nonstop (poller, true); /* ended by $TERM only */
    bool terminated = false;
    while (!terminated) {
        int timeout = -1;
        if (deadline >= 0) {
            int64_t left = deadline - zclock_mono ();
            timeout = left > 0 ? (int) left : 0;
        }
        void *which = zpoller_wait (poller, timeout);
        if (which == pipe) {
            char *verb = NULL;
            uint64_t at = 0;
            if (zsock_recv (pipe, "s8", &verb, &at) < 0)
                break;
            zr_assert (verb);
            if (streq (verb, "$TERM"))
                terminated = true;
            else {
                zr_assert (streq (verb, "ARM"));
                deadline = (int64_t) at;
            }
            zstr_free (&verb);
        }
        else
        if (zpoller_terminated (poller))
            break;
        else
        if (deadline >= 0 && zclock_mono () >= deadline) {
            deadline = -1;
            zsock_send (pipe, "s", "TICK");
        }
    }
    zpoller_destroy (&poller);
}
