/*  =========================================================================
    persister - makes one server's Raft state durable, with group commit

    The persister owns the write-ahead log (wal.h) and one DEALER per peer
    (kind 'r', see transport/peer.h). The node hands it write
    requests; the persister takes every request already queued (up to
    ZR_PERSIST_BATCH_MAX), writes them all (snapshot chunks a leader sent
    go to a snapshot file, completed with fsync and rename on the last
    one, and the log restarts after it when the core says so), calls
    fdatasync ONCE, drops the WAL segments the core compacted, then
    sends the messages the requests carry (vote and append replies,
    anything produced after a term change) straight to the peers, and
    hands the requests back in order. Durability gates acknowledgement,
    and the acknowledgement leaves from the thread that knows it is
    durable: no hop back through the node.

    Protocol (pipe between node and persister):
    | verb      | direction         | frames                  | ownership / reply |
    |-----------|-------------------|-------------------------|-------------------|
    | WRITE     | node -> persister | "sp": zr_persist_req_t* | persister owns the request until PERSISTED; a request may carry only messages |
    | PERSISTED | persister -> node | "sp": zr_persist_batch_t* | node owns the batch (zr_persist_batch_destroy); requests in order, their messages already sent |
    | FAILED    | persister -> node | "ss": reason            | sent once; from then on nothing is written or sent, requests come back with failed set |
    | STOP      | node -> persister | "s"                     | STOPPED after the last PERSISTED |
    | STOPPED   | persister -> node | "s"                     | nothing follows it |
    | $TERM     | node -> persister | "s"                     | actor ends; queued requests are freed |
    Ordering: requests come back in the order they were sent.
    =========================================================================
*/
#ifndef ZR_PERSISTER_H_INCLUDED
#define ZR_PERSISTER_H_INCLUDED

#define ZR_PERSIST_BATCH_MAX 1024       /* requests per fdatasync */

typedef struct {
    bool hs_changed;                    /* write term and vote */
    zr_term_t term;                     /* current term */
    zr_id_t vote;                       /* vote in term */
    zr_entry_t *entries;                /* owned; may be NULL */
    uint32_t n_entries;
    zr_message_t **msgs;                /* owned; sent by the persister after sync */
    uint32_t n_msgs;
    zr_chunk_t *chunks;                 /* owned; snapshot bytes received, written
                                           before the entries (raft/core.h) */
    uint32_t n_chunks;
    zr_index_t compact;                 /* > 0: drop WAL segments up to here,
                                           after the sync */
} zr_persist_req_t;

typedef struct {
    zr_persist_req_t **reqs;            /* owned requests, in order */
    uint32_t n_reqs;
    bool failed;                        /* nothing in it is durable */
    zr_wal_stats_t wal;                 /* WAL counters after this batch */
} zr_persist_batch_t;

/* Frees a request: its entries, blob references and messages. */
void zr_persist_req_destroy (zr_persist_req_t **self_p);

/* Frees a batch and every request left in it. */
void zr_persist_batch_destroy (zr_persist_batch_t **self_p);

/* The table above, which both ends use (actor.h). */
#define ZR_PERSISTER_PROTOCOL(X)                                             \
    X (PERSISTER, WRITE, "sp", NULL)                                         \
    X (PERSISTER, PERSISTED, "sp", NULL)                                     \
    X (PERSISTER, FAILED, "ss", NULL)                                        \
    X (PERSISTER, STOP, "s", NULL)                                           \
    X (PERSISTER, STOPPED, "s", NULL)
ZR_PROTOCOL_DECLARE (persister, ZR_PERSISTER_PROTOCOL);

/* Hands a write request to the persister, taking *req_p (NULLed).
   Returns 0, or -1 if the pipe is full or gone: the request (and the
   replies it carries) is then destroyed. */
static inline int
zr_persister_send_write (zsock_t *pipe, zr_persist_req_t **req_p)
{
    zr_persist_req_t *req = *req_p;
    *req_p = NULL;
    zr_handoff_send (req);
    int rc = zr_verb_send (pipe, zr_persister_verbs, ZR_PERSISTER_WRITE, req);
    if (rc != 0)
        zr_persist_req_destroy (&req);
    return rc;
}

typedef struct {
    zr_wal_t *wal;                      /* passes to the actor, which destroys it */
    zr_id_t self_id;                    /* this server */
    zr_peer_who_t who;                  /* ...and its link identity */
    uint32_t n_peers;                   /* peers below */
    zr_id_t peer_ids [ZR_NODES_MAX];    /* every other server */
    char endpoints [ZR_NODES_MAX][256]; /* their ROUTER endpoints */
    atomic_uint_fast64_t *bytes_out;    /* shared counter of bytes sent */
    char data_dir [1024];               /* where installed snapshots go */
    zr_snapshot_meta_t config;          /* servers, for snapshot files */
} zr_persister_args_t;

/* zactor body; args is a zr_persister_args_t * (copied during start). */
void zr_persister_actor (zsock_t *pipe, void *args);

#endif
