/*  =========================================================================
    busremote - zraft-bench --bus --endpoints: a running cluster's bus,
    through the bus protocol (transport/bus.h)

    Finds the leader by sending CURSORS to every endpoint (only the
    leader answers CURSORS_REPLY; a follower says NOT_LEADER), opens one
    DEALER per producer to it (publishes pipelined, each frame carrying
    its attempt's token as the request id) and one per consumer, consumer
    c on endpoint c mod N, each with one subscription (id 1, from what
    comes next, no cursor). A consumer answers the server's HEARTBEAT
    with its own (its last index), so its session stays open while it
    waits. ACK, NOT_LEADER (retry: a new leader's endpoint is adopted if
    one is named; the bench does not follow it further) and ERROR
    (BUSY, UNKNOWN: retry; others fail the run) go to the load.
    The churn (bus.h: --idle-subscribers, --dropping-subscribers,
    --reading-subscribers) is one DEALER per session, idle ones first
    spread over the endpoints, then the reading ones likewise,
    subscribed with the consumers before the load starts and looked at
    between the load's waits: the idle ones every 50 ms, the reading
    ones every 2 ms (CREDIT given back at half, HEARTBEATs answered). A
    drop destroys the DEALER (linger 0: no UNSUBSCRIBE, what is in
    flight is lost); with --drop-every a new DEALER subscribes at once.
    =========================================================================
*/
#ifndef ZB_BUSREMOTE_H_INCLUDED
#define ZB_BUSREMOTE_H_INCLUDED

/* Runs the load of params (endpoints) on a running cluster. Returns
   zb_bus_run's exit code, or 1 if no endpoint leads or a consumer could
   not subscribe. */
int zb_busremote_main (const zb_bus_params_t *params);

#endif
