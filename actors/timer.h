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

/* The table above, which both ends use (actor.h). */
#define ZR_TIMER_PROTOCOL(X)                                                 \
    X (TIMER, ARM, "s8", NULL)                                               \
    X (TIMER, TICK, "s", NULL)
ZR_PROTOCOL_DECLARE (timer, ZR_TIMER_PROTOCOL);

/* Arms the timer for deadline_ms (zclock_mono). Returns 0, or -1 if the
   pipe is full (the timer is stuck) or gone. */
static inline int
zr_timer_send_arm (zsock_t *pipe, uint64_t deadline_ms)
{
    return zr_verb_send (pipe, zr_timer_verbs, ZR_TIMER_ARM, deadline_ms);
}

/* zactor body; args unused. */
void zr_timer_actor (zsock_t *pipe, void *args);

#endif
