/*  =========================================================================
    replicator - one server's link to one peer

    The node decides what to send (the core packs entries, within the
    window and byte budget); the replicator encodes it with the codec on
    its own thread and writes it to the peer's ROUTER through a DEALER it
    owns (heartbeats, and small AppendEntries while the replicator is
    idle, the node writes itself: node.h, "Direct sends"; the replicator
    counts every SEND it is done with in `handled` for that), never
    blocking: a full link is reported as UNREACHABLE and the
    frame dropped (the core goes back to probing that follower). Replies
    from the peer come back on the same DEALER; the replicator decodes and
    validates them and hands them to the node. An InstallSnapshot chunk
    arrives named, not filled (raft/core.h): the replicator reads its
    bytes from the snapshot file, keeping that file open while it sends
    it, and reports LOST if the file is gone (the transfer restarts with
    the newest snapshot). An AppendEntries whose entries the leader's
    memory no longer holds arrives the same way, naming a storage range
    (read_last, raft/core.h Invariant 15): the replicator reads the
    entries (and the term of the entry before them, when the core did
    not know it) from the WAL with a zr_wal_reader_t of its own, at most
    read_bytes of payload, sends them, and reports FILLED with what it
    sent; if the WAL no longer holds them (compacted meanwhile:
    ZR_ECOMPACTED, or unreadable) it sends nothing and reports UNFILLED,
    and the core falls back to the snapshot. The reader (up to three
    segments cached) is dropped once entries come from memory again.

    Protocol (pipe between node and replicator):
    | verb        | direction          | frames               | ownership / reply |
    |-------------|--------------------|----------------------|-------------------|
    | SEND        | node -> replicator | "sp": zr_message_t*  | replicator owns and frees it |
    | UNREACHABLE | replicator -> node | "s4": peer id        | none; once per full-link episode |
    | LOST        | replicator -> node | "s4": peer id        | none; the snapshot being sent cannot be read |
    | FILLED      | replicator -> node | "s48888": peer id, term, from, last, bytes | none; a storage read was sent: entries from..last, bytes of payload (zr_core_storage_sent) |
    | UNFILLED    | replicator -> node | "s4888": peer id, term, from, index | none; the storage read from `from` was not sent: the WAL no longer holds index (zr_core_storage_lost) |
    | STOP        | node -> replicator | "s"                  | STOPPED; then nothing is sent |
    | STOPPED     | replicator -> node | "s"                  | nothing follows it |
    | $TERM       | node -> replicator | "s"                  | actor ends |
    =========================================================================
*/
#ifndef ZR_REPLICATOR_H_INCLUDED
#define ZR_REPLICATOR_H_INCLUDED

typedef struct {
    zr_id_t self_id;                    /* this server */
    zr_peer_who_t who;                  /* ...and its link identity */
    zr_id_t peer_id;                    /* the peer this replicator serves */
    char endpoint [256];                /* the peer's ROUTER endpoint */
    /* Counters shared with the node (atomics, read for status). */
    atomic_uint_fast64_t *bytes_out;    /* bytes written to the peer */
    atomic_uint_fast64_t *handled;      /* SENDs done with (sent, dropped or
                                           reported), counted after each */
    char data_dir [1024];               /* where the snapshot files are */
} zr_replicator_args_t;

/* The table above, which both ends use (actor.h). */
#define ZR_REPLICATOR_PROTOCOL(X)                                            \
    X (REPLICATOR, SEND, "sp", NULL)                                         \
    X (REPLICATOR, UNREACHABLE, "s4", NULL)                                  \
    X (REPLICATOR, LOST, "s4", NULL)                                         \
    X (REPLICATOR, FILLED, "s48888", NULL)                                   \
    X (REPLICATOR, UNFILLED, "s4888", NULL)                                  \
    X (REPLICATOR, STOP, "s", NULL)                                          \
    X (REPLICATOR, STOPPED, "s", NULL)
ZR_PROTOCOL_DECLARE (replicator, ZR_REPLICATOR_PROTOCOL);

/* Hands a message to the replicator, taking *msg_p (NULLed). Returns 0,
   or -1 if the pipe is full or gone: the message is then destroyed (as
   a full link would drop it). */
static inline int
zr_replicator_send_send (zsock_t *pipe, zr_message_t **msg_p)
{
    zr_message_t *msg = *msg_p;
    *msg_p = NULL;
    zr_handoff_send (msg);
    int rc = zr_verb_send (pipe, zr_replicator_verbs, ZR_REPLICATOR_SEND, msg);
    if (rc != 0)
        zr_message_destroy (&msg);
    return rc;
}

/* zactor body; args is a zr_replicator_args_t * (copied during start). */
void zr_replicator_actor (zsock_t *pipe, void *args);

#endif
