/*  =========================================================================
    results - outcomes for the application, and the events socket

    A result is the outcome of one submission or query, carrying the
    application's token (zraft_event_t). The node (refusals, entries lost
    to another leader's, the node stopping) and the applier (commands
    applied, queries run) batch the results they produce into a
    zr_results_t and send the batch as ONE message on their end of the
    application's events socket, never one per entry. The node also sends
    ROLE events there.

    Events socket: the application's handle binds a PULL socket; the node
    and the applier each connect a PUSH. Every result answers one token
    the handle counts as outstanding (at most config.submit_max), and a
    message carries at least one result, so each pipe holds at most
    submit_max RESULTS messages, plus one ROLE on the node's (the node
    sends the next ROLE only after the handle said RECEIVED, node.h).
    zr_events_hwm gives each end a high-water mark from that bound, and
    sends wait (never in practice) instead of failing. The feed actor
    (feed.h), when there is one, connects a third PUSH for the records of
    subscriptions (FEED), which subscriptions' credit bounds instead.

    Protocol (PUSH of node, applier and feed -> PULL of the application):
    | verb    | direction              | frames | ownership |
    |---------|------------------------|--------|-----------|
    | RESULTS | node, applier -> app   | "sf": n zr_result_t, host order | the data pointers pass to the application's handle (zr_handoff) |
    | ROLE    | node -> app            | "s484": role, term, leader | at most one unread: the next follows RECEIVED |
    | FEED    | feed -> app            | "sfp": n zr_feed_record_t (feed.h), host order; the deliveries' bytes (malloc'd, NULL if none) | subscriptions' SUBSCRIBED, DELIVER, UNSUBSCRIBED; the bytes pass to the handle; bounded by credit, not submit_max (feed.h) |
    Ordering: each sender's messages arrive in order; the senders' are
    interleaved (a token is answered by one of them only).
    =========================================================================
*/
#ifndef ZR_RESULTS_H_INCLUDED
#define ZR_RESULTS_H_INCLUDED

/* One outcome (zraft_event_t's RESULT fields). Fixed layout: it crosses
   threads as bytes. */
typedef struct {
    uint64_t token;                     /* the application's */
    int32_t status;                     /* 0 or a ZR_E* code */
    uint32_t leader;                    /* ENOTLEADER: the leader's id, or 0 */
    uint64_t index;                     /* the entry's, or the read index */
    uint64_t term;                      /* its term */
    void *data;                         /* malloc'd result, or NULL; owned by
                                           whoever holds the result */
    uint32_t size;                      /* bytes at data, <= ZRAFT_RESULT_BYTES_MAX */
    uint32_t flags;                     /* ZR_RESULT_* bits */
} zr_result_t;
_Static_assert (sizeof (zr_result_t) == 48, "a result crosses threads as bytes");
_Static_assert (ZRAFT_RESULT_BYTES_MAX <= UINT32_MAX, "a result's size fits");

/* zr_result_t.flags */
#define ZR_RESULT_DUPLICATE 1u          /* a publication repeated an earlier
                                           (producer, seq): index and term
                                           are the first's (zraft_publish) */

/* A batch being built; one message when sent. */
typedef struct {
    zr_result_t *items;                 /* owned array */
    uint32_t n;                         /* results in it */
    uint32_t capacity;                  /* slots allocated, >= n */
} zr_results_t;

/* The events socket's protocol (actor.h), receiving side. */
#define ZR_EVENTS_PROTOCOL(X)                                                \
    X (EVENTS, RESULTS, "sf", NULL)                                          \
    X (EVENTS, ROLE, "s484", NULL)                                           \
    X (EVENTS, FEED, "sfp", NULL)
ZR_PROTOCOL_DECLARE (events, ZR_EVENTS_PROTOCOL);

/* Makes an empty batch (no allocation until the first add). */
void zr_results_init (zr_results_t *self);

/* Appends one result (flags 0); data (may be NULL, size at most
   ZRAFT_RESULT_BYTES_MAX) is taken. Returns it, valid until the next
   add, send or clear (to set flags). */
zr_result_t *zr_results_add (zr_results_t *self, uint64_t token, int status,
                             uint32_t leader, zr_index_t index, zr_term_t term,
                             void *data, uint64_t size);

/* Sends the batch, if not empty, as one RESULTS message on events (a
   PUSH set up by zr_events_connect), then empties it: the data pointers
   pass to the receiver. Returns 0, or -1 if it could not be sent (the
   application's socket is gone, or a bug broke the bound): the data
   were freed and the failure logged (id: this server, for the log). */
int zr_results_send (zr_results_t *self, zsock_t *events, zr_id_t id);

/* Frees every result's data and the array; the batch is empty after. */
void zr_results_clear (zr_results_t *self);

/* Moves every result of from (their data too) to the end of self, in
   order; from is empty after (its array kept). */
void zr_results_take (zr_results_t *self, zr_results_t *from);

/* The high-water mark, in messages, for each end of an events or api
   pipe that must hold `bound` messages without a sender ever finding it
   full. libzmq adds the two ends' marks on an inproc pipe and tells a
   sender what its reader consumed only every half mark, so a sender may
   see up to half the pipe's mark as still queued. bound is at most
   ZRAFT_SUBMIT_MAX_MAX + 16 (the most a pipe carries). */
int zr_events_hwm (uint32_t bound);

/* Creates the PUSH end of the events socket and connects it. Returns
   NULL (logged) on failure. Caller owns the result. */
zsock_t *zr_events_connect (const char *endpoint, uint32_t submit_max, zr_id_t id);

/* Sends a ROLE event (role, term, leader) on events. Returns 0 or -1. */
int zr_events_send_role (zsock_t *events, int role, zr_term_t term, zr_id_t leader);

#endif
