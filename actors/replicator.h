/*  =========================================================================
    replicator - one server's link to one peer

    The node decides what to send (the core packs entries, within the
    window and byte budget); the replicator encodes it with the codec on
    its own thread and writes it to the peer's ROUTER through a DEALER it
    owns, never blocking: a full link is reported as UNREACHABLE and the
    frame dropped (the core goes back to probing that follower). Replies
    from the peer come back on the same DEALER; the replicator decodes and
    validates them and hands them to the node.

    Protocol (pipe between node and replicator):
    | verb        | direction          | frames               | ownership / reply |
    |-------------|--------------------|----------------------|-------------------|
    | SEND        | node -> replicator | "sp": zr_message_t*  | replicator owns and frees it |
    | UNREACHABLE | replicator -> node | "s4": peer id        | none; once per full-link episode |
    | STOP        | node -> replicator | "s"                  | STOPPED; then nothing is sent |
    | STOPPED     | replicator -> node | "s"                  | nothing follows it |
    | $TERM       | node -> replicator | "s"                  | actor ends |
    =========================================================================
*/
#ifndef ZR_REPLICATOR_H_INCLUDED
#define ZR_REPLICATOR_H_INCLUDED

typedef struct {
    zr_id_t self_id;                    /* this server */
    zr_id_t peer_id;                    /* the peer this replicator serves */
    char endpoint [256];                /* the peer's ROUTER endpoint */
    /* Counters shared with the node (atomics, read for status). */
    atomic_uint_fast64_t *bytes_out;    /* bytes written to the peer */
} zr_replicator_args_t;

/* zactor body; args is a zr_replicator_args_t * (copied during start). */
void zr_replicator_actor (zsock_t *pipe, void *args);

#endif
