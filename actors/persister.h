/*  =========================================================================
    persister - makes one server's Raft state durable, with group commit

    The persister owns the write-ahead log (wal.h). The node hands it write
    requests; the persister takes every request already queued (up to
    ZR_PERSIST_BATCH_MAX), writes them all, calls fdatasync ONCE, and hands
    them back in order. The messages a request carries (vote and append
    replies, anything sent after a term change) are released by the node
    only when the request comes back: durability gates acknowledgement.

    Protocol (pipe between node and persister):
    | verb      | direction         | frames                  | ownership / reply |
    |-----------|-------------------|-------------------------|-------------------|
    | WRITE     | node -> persister | "sp": zr_persist_req_t* | persister owns the request until PERSISTED |
    | PERSISTED | persister -> node | "sp": zr_persist_batch_t* | node owns the batch (zr_persist_batch_destroy); requests in order |
    | FAILED    | persister -> node | "ss": reason            | sent once; from then on requests come back with failed set and are not durable |
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
    zr_message_t **msgs;                /* owned; released after sync */
    uint32_t n_msgs;
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

/* zactor body; args is a zr_wal_t * whose ownership passes to the actor
   (it destroys the WAL when it ends). */
void zr_persister_actor (zsock_t *pipe, void *args);

#endif
