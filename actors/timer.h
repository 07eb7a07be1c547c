/*  =========================================================================
    timer - the election/heartbeat timer of one server

    A one-shot alarm: the node arms it with the absolute time (zclock_mono
    milliseconds) at which the core next has work to do; the timer sends
    TICK when that time comes. Arming again replaces the deadline.

    Protocol (pipe between node and timer):
    | verb   | direction    | frames               | reply |
    |--------|--------------|----------------------|-------|
    | ARM    | node -> timer| "s8": deadline_ms    | none  |
    | TICK   | timer -> node| "s"                  | none; one per ARM that expired |
    | $TERM  | node -> timer| "s"                  | actor ends |
    =========================================================================
*/
#ifndef ZR_TIMER_H_INCLUDED
#define ZR_TIMER_H_INCLUDED

/* zactor body; args unused. */
void zr_timer_actor (zsock_t *pipe, void *args);

#endif
