/*  =========================================================================
    message - log entries and the four Raft RPCs as plain data

    These structs are what the core consumes and produces, what the codec
    (transport/codec.h) encodes for the wire, and what actors hand to each
    other as pointer frames. A message owns its entries array and one blob
    reference per entry (entries of one batch usually share a blob).
    =========================================================================
*/
#ifndef ZR_MESSAGE_H_INCLUDED
#define ZR_MESSAGE_H_INCLUDED

/* Entry types. A NOOP is what a new leader appends in its term (thesis
   §6.4); the state machine never sees it. A BUS entry is a message-bus
   publication or cursor commit (actors/bus.h): the core, the wire and
   the WAL treat it exactly as a command; the applier hands it to the
   bus state instead of the state machine. */
typedef enum {
    ZR_ENTRY_COMMAND = 1,
    ZR_ENTRY_NOOP = 2,
    ZR_ENTRY_BUS = 3
} zr_entry_type_t;

#define ZR_ENTRY_TYPE_MAX ZR_ENTRY_BUS

/* Returns true if type is a zr_entry_type_t (what decoders accept). */
static inline bool
zr_entry_type_valid (uint64_t type)
{
    return type >= ZR_ENTRY_COMMAND && type <= ZR_ENTRY_TYPE_MAX;
}

typedef struct {
    zr_term_t term;                     /* term in which the leader made it */
    zr_index_t index;                   /* position in the log, from 1 */
    uint8_t type;                       /* zr_entry_type_t */
    uint32_t size;                      /* payload bytes, <= ZR_ENTRY_BYTES_MAX */
    const uint8_t *data;                /* payload inside blob, or NULL if 0 */
    zr_blob_t *blob;                    /* reference held on the payload, or NULL */
} zr_entry_t;

/* Copies *src into *dst, taking a new reference on its blob. */
void zr_entry_copy (zr_entry_t *dst, const zr_entry_t *src);

/* Drops the blob reference of each of the n entries, then frees the
   array itself; NULLs *entries_p. Idempotent on NULL. */
void zr_entries_destroy (zr_entry_t **entries_p, uint32_t n);

typedef enum {
    ZR_MSG_VOTE = 1,                    /* RequestVote (Figure 2) */
    ZR_MSG_VOTE_REPLY = 2,              /* its reply */
    ZR_MSG_APPEND = 3,                  /* AppendEntries, a heartbeat if empty */
    ZR_MSG_APPEND_REPLY = 4,            /* its reply, with conflict hints */
    ZR_MSG_PREVOTE = 5,                 /* pre-vote (thesis §9.6): fields of VOTE */
    ZR_MSG_PREVOTE_REPLY = 6,           /* its reply: fields of VOTE_REPLY */
    ZR_MSG_TIMEOUT_NOW = 7,             /* leadership transfer (thesis §3.10) */
    ZR_MSG_SNAPSHOT = 8,                /* InstallSnapshot (Figure 13), one chunk */
    ZR_MSG_SNAPSHOT_REPLY = 9           /* its reply */
} zr_msg_type_t;

#define ZR_MSG_TYPE_MAX ZR_MSG_SNAPSHOT_REPLY

/* One RPC. Fields not used by a type are zero. */
typedef struct {
    uint8_t type;                       /* zr_msg_type_t */
    zr_id_t from;                       /* sender's server id */
    zr_id_t to;                         /* receiver's server id */
    zr_term_t term;                     /* sender's current term */
    /* VOTE, PREVOTE: the candidate's last log entry (§5.4.1). PREVOTE's
       term is the term the candidate would campaign in.
       APPEND_REPLY: the follower's last index (hint when conflict_term 0). */
    zr_index_t last_index;
    zr_term_t last_term;
    bool granted;                       /* (PRE)VOTE_REPLY: vote granted */
    /* APPEND: the entry before entries, and the leader's commit index. */
    zr_index_t prev_index;
    zr_term_t prev_term;
    zr_index_t commit;
    /* APPEND from a leader's core to its sender, never on the wire: with
       read_last > 0 the entries prev_index + 1 .. read_last are in
       storage, not in the core's memory (core.h Invariant 15), and
       n_entries is 0. The sender reads them (at most read_bytes of
       payload, at least one entry), and also prev_term when it is 0
       with prev_index > 0 (the core does not know it); it clears
       read_last, sends, and reports (zr_core_storage_sent, or
       zr_core_storage_lost when storage no longer holds them). */
    zr_index_t read_last;
    uint64_t read_bytes;
    uint32_t n_entries;                 /* APPEND: entries carried */
    zr_entry_t *entries;                /* APPEND: owned array of n_entries */
    /* APPEND_REPLY. On success match_index is the last index verified to
       match the leader's log (prev_index + n_entries of the request); on
       rejection it echoes the request's prev_index. */
    bool success;
    zr_index_t match_index;
    zr_term_t conflict_term;            /* term the follower holds at prev_index */
    zr_index_t conflict_index;          /* first index it holds of that term */
    /* APPEND: the leader's heartbeat round when it sent this message
       (ReadIndex, thesis §6.4; core.h Invariant 14). APPEND_REPLY: the
       round of the APPEND it answers, or 0 when it answers an APPEND of
       another term than its own (a stale leader's). */
    uint64_t round;
    /* SNAPSHOT: last_index and last_term name the snapshot (its last
       included entry); the chunk's bytes go at snap_offset of a snapshot
       of snap_size bytes. The leader's core leaves chunk NULL with
       chunk_size set: the replicator reads the bytes from the file.
       SNAPSHOT_REPLY: last_index names the snapshot; snap_offset is how
       many bytes the follower holds; success says it took the chunk,
       installed that the whole snapshot is installed. */
    uint64_t snap_offset;
    uint64_t snap_size;
    uint32_t chunk_size;                /* <= ZR_CHUNK_BYTES_MAX */
    const uint8_t *chunk;               /* inside chunk_blob, or NULL */
    zr_blob_t *chunk_blob;              /* reference held on the chunk */
    bool installed;
} zr_message_t;

/* Returns a zeroed message of the given type, or NULL when out of memory.
   Caller owns the result and must destroy it. */
zr_message_t *zr_message_new (zr_msg_type_t type);

/* Returns a copy of msg whose entries share msg's blobs (one more
   reference each), or NULL when out of memory. Caller owns the result. */
zr_message_t *zr_message_dup (const zr_message_t *msg);

/* Frees the message, its entries and their blob references; NULLs
   *self_p. Idempotent on NULL. */
void zr_message_destroy (zr_message_t **self_p);

/* Returns a short static name for a message type ("append", ...). */
const char *zr_message_name (uint8_t type);

#endif
