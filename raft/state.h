/*  =========================================================================
    state - the private state of one server's core, shared by its rules

    The core (core.h) is split one Raft rule per file, as canonical/raft
    does: election.c (votes, pre-votes, the up-to-date rule, check-quorum),
    replication.c (AppendEntries and its conflict hints), commit.c (the
    commit rule), transfer.c (leadership transfer), snapshot.c (log
    compaction and InstallSnapshot), read.c (ReadIndex reads). core.c keeps Step/Tick/Ready and the
    accessors. This header is included by those files only: nothing
    outside raft/ sees the struct. The invariants it cites by number are
    the design notes of core.h.
    =========================================================================
*/
#ifndef ZR_STATE_H_INCLUDED
#define ZR_STATE_H_INCLUDED

#include "raft.h"

#define ZR_OUTBOX_MAX 65536             /* messages queued between Readies */
#define ZR_APPLY_BATCH_MAX 256          /* entries handed to apply per Ready */
#define ZR_CORE_CHUNK_BYTES (1u << 20)  /* default InstallSnapshot chunk */

/* A read recorded by zr_core_read_index, until a Ready hands it out. */
typedef struct {
    uint64_t ctx;                       /* the caller's */
    zr_index_t index;                   /* read index; 0 until the leader has
                                           committed an entry of its term (14) */
    uint64_t round;                     /* heartbeat round that confirms it */
    bool failed;                        /* the leader stepped down first */
} zr_read_wait_t;

typedef struct {
    zr_message_t **items;               /* owned messages */
    uint32_t count;                     /* items used */
    uint32_t capacity;                  /* items allocated */
} zr_outbox_t;

struct _zr_core_t {
    zr_core_config_t config;            /* copied at creation */
    zr_rng_t rng;                       /* election timeout draws */
    zr_role_t role;                     /* follower, candidate or leader */
    zr_term_t term;                     /* current term, never decreases */
    zr_id_t vote;                       /* voted for in term, 0 if none (1) */
    zr_id_t leader;                     /* known leader of term, 0 if none */
    zr_log_t log;                       /* the log */
    zr_index_t commit;                  /* highest index known committed */
    zr_index_t applied;                 /* highest index handed to apply */
    zr_index_t persisted;               /* log durable up to here */
    zr_index_t unstable_from;           /* first index not yet handed to persist */
    bool hs_dirty;                      /* term/vote changed since last Ready */
    uint64_t election_deadline_ms;      /* follower/candidate: timeout at */
    uint32_t votes;                     /* (pre-)candidate: bit i = id i granted */
    bool prevoting;                     /* follower polling for pre-votes (9) */
    uint64_t leader_contact_ms;         /* last AppendEntries from the leader (9) */
    uint64_t heard_ms [ZR_NODES_MAX + 1];   /* leader: last reply by peer (10) */
    uint64_t quorum_check_ms;           /* leader: next check-quorum (10) */
    zr_id_t transfer_to;                /* leader: transfer target, 0 if none (11) */
    uint64_t transfer_deadline_ms;      /* leader: give up the transfer then */
    zr_progress_t progress [ZR_NODES_MAX + 1];  /* leader: by follower id */
    zr_outbox_t out;                    /* messages to send now */
    zr_outbox_t out_synced;             /* messages to send after sync (7) */
    zr_index_t snap_index;              /* newest durable snapshot, 0 if none (12) */
    zr_term_t snap_term;                /* its last entry's term */
    uint64_t snap_size;                 /* its size in bytes */
    uint64_t applied_bytes;             /* payload of (snap_index, applied] */
    zr_index_t rx_index;                /* follower: snapshot being received (13) */
    zr_term_t rx_term;                  /* its term */
    uint64_t rx_size;                   /* its size */
    uint64_t rx_offset;                 /* bytes of it received, in order */
    zr_term_t rx_from_term;             /* the term of the leader sending it */
    bool installing;                    /* installed, awaiting zr_core_installed */
    zr_chunk_t *chunks;                 /* received chunks for the next Ready */
    uint32_t n_chunks;                  /* chunks used */
    uint32_t chunks_capacity;           /* chunks allocated */
    zr_index_t compacted;               /* the log forgot up to here: next Ready */
    zr_index_t storage_first;           /* storage holds the log from here, as
                                           far as the core knows; never
                                           decreases, <= log.offset + 1 (15) */
    uint64_t round;                     /* leader: last heartbeat round sent; never
                                           decreases, for the core's life (14) */
    bool round_due;                     /* leader: a read waits for round + 1 */
    uint64_t round_acked [ZR_NODES_MAX + 1];    /* leader: highest round each
                                           follower echoed in this term (14) */
    uint64_t round_sent [ZR_NODES_MAX + 1];     /* leader: round of the last
                                           AppendEntries sent to each follower */
    uint64_t round_widen_ms;            /* leader: the current round went to a
                                           quorum's worth of followers only;
                                           the others get it then if a read
                                           still waits (14); 0: none pending */
    zr_read_wait_t *reads;              /* reads not yet handed out, in arrival
                                           order: failed ones first (14) */
    uint32_t n_reads;                   /* reads used, <= ZR_READS_MAX */
    uint32_t reads_capacity;            /* reads allocated */
};

/* Helpers shared by the rule files (defined in core.c). */

/* Emits a trace line through config.trace, if set. */
void zr_core_trace (zr_core_t *self, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Returns the number of servers that make a majority. */
uint32_t zr_core_quorum (const zr_core_t *self);

/* Returns true if id is another server of the configuration. */
bool zr_core_is_peer (const zr_core_t *self, zr_id_t id);

/* Queues msg (taken) in box: self->out or self->out_synced (7). */
void zr_core_push (zr_core_t *self, zr_outbox_t *box, zr_message_t *msg);

/* Returns a new message of type to `to`, from this server in its term. */
zr_message_t *zr_core_message (zr_core_t *self, zr_msg_type_t type, zr_id_t to);

/* Draws the next election deadline in [timeout, 2 * timeout) from now. */
void zr_core_reset_election_timer (zr_core_t *self, uint64_t now_ms);

/* Adopts term (>= the current one); a higher term clears the vote. */
void zr_core_set_term (zr_core_t *self, zr_term_t term);

/* Becomes (or stays) follower of leader (0 if unknown) in term (3). */
void zr_core_become_follower (zr_core_t *self, zr_term_t term, zr_id_t leader,
                              uint64_t now_ms);

/* A message from a leader (APPEND, SNAPSHOT) with reply prepared: from
   a stale leader, queues the reply (telling it our term) and returns 0;
   from a second leader of our own term, destroys the reply and returns
   ZR_EMALFORMED; otherwise follows the sender (3), resets the election
   timer and returns 1: the caller goes on and owns the reply. */
int zr_core_heard_leader (zr_core_t *self, const zr_message_t *msg,
                          zr_message_t **reply_p, uint64_t now_ms);

#include "election.h"
#include "replication.h"
#include "commit.h"
#include "transfer.h"
#include "snapshot.h"
#include "read.h"

#endif
