/*  =========================================================================
    core - the Raft protocol of one server, pure and single-threaded

    The core is a state machine in the style of etcd-io/raft's
    Step/Ready/Advance: the caller feeds it time (zr_core_tick), messages
    (zr_core_step), proposals (zr_core_propose) and durability reports
    (zr_core_persisted), then collects the effects with zr_core_ready: hard
    state and entries to persist, messages to send, and committed entries
    to apply. It never blocks, sleeps, reads a clock or touches a socket or
    file; the same inputs give the same outputs, which is what lets a
    simulation replay a run from its seed.

    The rules live one per file (election.c, replication.c, commit.c,
    transfer.c, sharing the private state of state.h); core.c keeps
    Step/Tick/Ready and dispatches to them.

    Design notes (the numbers are referred to in code and tests)
    1. Election Safety (Figure 3): at most one vote per term; the vote and
       the term are persisted before any message that depends on them is
       sent (all messages of a Ready with a hard-state change go in
       msgs_synced).
    2. Up-to-date rule (§5.4.1): grant a vote only to a candidate whose
       last term is higher, or equal with a last index at least ours.
    3. Any message with a higher term makes the receiver adopt that term
       and become follower (Figure 2, "Rules for Servers").
    4. Log Matching (§5.3): AppendEntries is accepted only if the entry at
       prev_index has prev_term; a conflicting suffix is truncated, but an
       entry that matches is never cut, so a stale or reordered
       AppendEntries cannot shorten the log.
    5. Followers advance commit to min(leaderCommit, last index verified
       by this AppendEntries), heartbeats included.
    6. Commit rule (§5.4.2, Figure 8): the leader commits by counting
       replicas only an entry of its current term; earlier entries commit
       with it. The leader counts itself only up to what its persister
       confirmed (thesis §10.2.1: it writes in parallel with sending).
    7. Replies (vote and append) are released only after everything the
       server had queued for disk before them is durable: they go in
       msgs_synced, which the caller sends after the persister confirms.
    8. A new leader appends a no-op entry of its term (thesis §6.4).
    9. Pre-vote (thesis §9.6): a server whose election timer fires first
       asks for pre-votes for term + 1 without changing its term; peers
       grant one only to an up-to-date log and only if they have not
       heard from a leader within the minimum election timeout. So a
       server cut off and rejoining never raises the cluster's term.
    10. Check-quorum: a leader that has not heard from a majority within
       an election timeout steps down, so a minority-side leader stops
       accepting proposals it could never commit.
    11. Leadership transfer (thesis §3.10): the leader stops accepting
       proposals, brings the target up to date, then sends TIMEOUT_NOW;
       the target campaigns at once. Without success within an election
       timeout the leader carries on.
    12. Snapshots (Raft §7): a snapshot covers only applied entries, so
       snapshot index <= applied <= commit. After the application took
       one (zr_core_snapshot_taken) the log keeps `snapshot_trailing`
       entries behind it, as far as their payload stays within
       `snapshot_trailing_bytes`, and forgets the rest; the log's window never
       starts after the snapshot's index + 1.
    13. InstallSnapshot (Figure 13): a follower that needs entries the
       leader compacted receives the snapshot in chunks, in order, each
       acknowledged only once written. A snapshot that ends at or before
       the follower's commit index changes nothing (it is stale or a
       duplicate). On the last chunk the follower keeps the entries after
       the snapshot if its log has the snapshot's last entry, or empties
       its log otherwise; it hands nothing more to apply until the caller
       says the snapshot is durable and restored (zr_core_installed), so
       the state machine never goes backwards and never skips.
    14. ReadIndex (thesis §6.4): a linearizable read goes through no log
       entry. The leader records the request (zr_core_read_index) with
       its commit index as read index, once it has committed an entry of
       its own term (the no-op of 8); until then the request waits and
       takes the commit index of that moment. The leader then confirms
       it still leads: every AppendEntries carries its heartbeat round,
       followers echo the round in their replies, and the reads that
       arrived since the last Ready raise the round by one together (one
       round per Ready, whatever the number of reads; sent to every
       follower, or only to the quorum - 1 that echoed the highest
       rounds, and to the others too if a read still waits for it
       heartbeat_ms / 10 later: read.h, "Narrow rounds"). A read is
       confirmed when a majority, leader
       included, echoed its round or a later one: each of them took an
       AppendEntries of this term sent after the read arrived, so no
       newer leader had been elected then. Rounds never decrease and a
       follower echoes one only to an AppendEntries of its own term, so
       no reply from before the request confirms it. Confirmed reads
       leave in ready->reads, in arrival order; the caller serves one
       once it has applied its index. A leader that stops leading fails
       its unconfirmed reads (ready->reads_failed). A leadership
       transfer does not stop reads: the leader still confirms each one.
       Without reads, no message is added to the usual traffic.
    15. Catching up from storage: storage (the WAL) holds more of the log
       than memory (it drops whole segments, and a restarted server
       keeps in memory only what follows its snapshot). A follower whose
       next entry the leader's memory no longer holds is sent, in order
       of preference: entries from memory; entries from storage, when
       storage_catchup is on and storage still holds them and the entry
       before them (or the core knows that entry's term); else the
       snapshot (13). The core names a storage range in an APPEND
       (read_last, message.h) and its sender reads it on its own thread,
       so the leader never waits on the disk. One storage read per
       follower is with the sender at a time; its report
       (zr_core_storage_sent) tells the exact entries and bytes sent,
       which then count in the window like any AppendEntries (progress.h
       invariant 3). Only durable, committed entries are read (the range
       ends at or below the persisted and the compacted index), so they
       can no longer change. storage_first, what the core believes
       storage holds, never decreases: it is set at restore, moves past
       a snapshot installed over the log, and moves past an index
       storage reports it lost (zr_core_storage_lost: compacted while
       the read was on its way); that follower then gets the snapshot.

    Roles:
                 timeout               majority of votes
      FOLLOWER ----------> CANDIDATE -------------------> LEADER
          ^ higher term /      | timeout: new term            |
          | leader seen        +-------+                      |
          +--------------------------------------------------+
                         higher term (Invariant 3)
      s_become_follower, s_become_candidate, s_become_leader.
    =========================================================================
*/
#ifndef ZR_CORE_H_INCLUDED
#define ZR_CORE_H_INCLUDED

typedef enum {
    ZR_ROLE_FOLLOWER = 0,
    ZR_ROLE_CANDIDATE = 1,
    ZR_ROLE_LEADER = 2
} zr_role_t;

typedef void (zr_core_trace_fn) (void *arg, const char *line);

typedef struct {
    zr_id_t id;                         /* this server, one of servers */
    zr_id_t servers [ZR_NODES_MAX];     /* every server's id, self included */
    uint32_t n_servers;                 /* 1..ZR_NODES_MAX */
    uint32_t heartbeat_ms;              /* leader's idle AppendEntries period */
    uint32_t election_timeout_ms;       /* min; drawn in [min, 2 * min) */
    uint32_t inflight_max;              /* AppendEntries in flight per follower */
    uint64_t inflight_bytes_max;        /* payload bytes in flight per follower */
    uint64_t batch_bytes;               /* payload bytes per AppendEntries */
    uint64_t seed;                      /* for election timeouts */
    bool pre_vote;                      /* thesis §9.6: poll before campaigning */
    bool check_quorum;                  /* leader steps down without a quorum */
    uint64_t snapshot_trailing;         /* entries kept behind a snapshot (12) */
    uint64_t snapshot_trailing_bytes;   /* ...and at most this much of their
                                           payload; 0: no bound (12) */
    uint32_t snapshot_chunk_bytes;      /* InstallSnapshot chunk, <= ZR_CHUNK_BYTES_MAX */
    uint64_t snapshot_window_bytes;     /* snapshot bytes in flight per follower */
    bool storage_catchup;               /* send followers behind the log entries
                                           read from storage (15) */
    zr_core_trace_fn *trace;            /* optional: role and term changes */
    void *trace_arg;                    /* passed to trace */
} zr_core_config_t;

/* One InstallSnapshot chunk a follower received, to write at offset of
   the snapshot (index, term) of size bytes. The last chunk completes it. */
typedef struct {
    zr_index_t index;                   /* the snapshot's last included index */
    zr_term_t term;                     /* its term */
    uint64_t size;                      /* the whole snapshot, bytes */
    uint64_t offset;                    /* where these bytes go */
    uint32_t n;                         /* bytes in this chunk (may be 0) */
    const uint8_t *data;                /* inside blob, or NULL if n == 0 */
    zr_blob_t *blob;                    /* reference held on data, or NULL */
    bool last;                          /* completes the snapshot: install it */
    bool reset;                         /* last: the log was emptied (13) */
} zr_chunk_t;

/* A read confirmed by ReadIndex (Invariant 14). */
typedef struct {
    uint64_t ctx;                       /* the caller's, from zr_core_read_index */
    zr_index_t index;                   /* the read index: serve the read
                                           once applied >= index */
} zr_read_t;

/* Reads pending on one leader, confirmed or not (Invariant 14). */
#define ZR_READS_MAX 65536

/* Effects collected by zr_core_ready. Every array is owned by the caller,
   who moves what it uses out (NULLing the field) and releases the rest
   with zr_ready_release. */
typedef struct {
    bool hs_changed;                    /* term or vote must be persisted */
    zr_term_t term;                     /* current term */
    zr_id_t vote;                       /* vote in that term, 0 if none */
    zr_entry_t *entries;                /* to persist, in order; an index <= the
                                           previous last truncates from there */
    uint32_t n_entries;
    zr_message_t **msgs;                /* to send now */
    uint32_t n_msgs;
    zr_message_t **msgs_synced;         /* to send once all the above is durable (7) */
    uint32_t n_msgs_synced;
    zr_entry_t *committed;              /* to apply, in index order */
    uint32_t n_committed;
    zr_chunk_t *chunks;                 /* snapshot bytes to write, before the
                                           entries, in order (13) */
    uint32_t n_chunks;
    zr_index_t compact;                 /* the log forgot entries up to here:
                                           storage may drop them (0: no news) */
    zr_read_t *reads;                   /* reads confirmed, in arrival order:
                                           serve each once applied >= index (14) */
    uint32_t n_reads;
    uint64_t *reads_failed;             /* ctxs of reads that will never be
                                           confirmed: this server stopped
                                           leading first (answer ZR_ENOTLEADER) */
    uint32_t n_reads_failed;
} zr_ready_t;

/* Frees whatever zr_ready_t still holds and zeroes it. */
void zr_ready_release (zr_ready_t *ready);

typedef struct _zr_core_t zr_core_t;

/* Creates a follower in term 0 with an empty log. The config is copied;
   it must be valid (asserted: id among servers, timeouts > 0, heartbeat
   < election timeout, window within ZR_INFLIGHT_MAX). Returns NULL when
   out of memory. Caller owns the result. */
zr_core_t *zr_core_new (const zr_core_config_t *config, uint64_t now_ms);

/* Destroys the core and everything it holds; NULLs *self_p. */
void zr_core_destroy (zr_core_t **self_p);

/* What a server recovered from disk: its hard state, its newest
   snapshot (index 0 if none) and the log entries it holds, consecutive
   (entries[i].index == entries[0].index + i), the first at or before
   snap_index + 1 (entries up to snap_index are dropped: the snapshot
   holds them). */
typedef struct {
    zr_term_t term;                     /* current term */
    zr_id_t vote;                       /* vote in that term, 0 if none */
    zr_index_t snap_index;              /* newest snapshot's last index, or 0 */
    zr_term_t snap_term;                /* its term */
    uint64_t snap_size;                 /* its size in bytes */
    const zr_entry_t *entries;          /* borrowed: copied by reference */
    uint32_t n_entries;
} zr_core_restore_t;

/* Loads durable state recovered from disk. Only before the first step or
   tick. commit and applied start at snap_index: the caller restores the
   state machine from the snapshot itself. Entries from one whose term
   differs from the snapshot's at snap_index on are dropped (a crash
   between an installed snapshot and its log restart leaves them; none
   can be committed), and storage must then restart its log after the
   snapshot before it appends. The entries are what storage holds: those
   before the snapshot stay out of memory, but a follower behind may be
   sent them from storage (Invariant 15) if the log holds the snapshot's
   last entry. Returns 0, ZR_ENOMEM, or ZR_ECORRUPT when the entries
   leave a gap after the snapshot or their terms go back. */
int zr_core_restore (zr_core_t *self, const zr_core_restore_t *restore);

/* Advances time: election timeouts, heartbeats, retransmissions. */
void zr_core_tick (zr_core_t *self, uint64_t now_ms);

/* Returns the earliest time at which zr_core_tick has work to do. */
uint64_t zr_core_deadline (const zr_core_t *self);

/* Processes one message (borrowed; entries are copied by reference).
   Messages not addressed to this server are ignored. Returns 0, or
   ZR_EMALFORMED when the message is inconsistent with this server's
   state (counted, ignored), or ZR_ENOMEM. */
int zr_core_step (zr_core_t *self, const zr_message_t *msg, uint64_t now_ms);

/* Appends a command to the leader's log. The payload is size bytes at
   data inside blob (a reference is taken; the caller keeps its own).
   On success returns 0 and sets *index and *term. Returns ZR_ENOTLEADER
   when this server is not the leader (see zr_core_leader), ZR_EBUSY while
   a leadership transfer is under way, ZR_ETOOBIG for a payload over
   ZR_ENTRY_BYTES_MAX, or ZR_ENOMEM. */
int zr_core_propose (zr_core_t *self, zr_blob_t *blob, const uint8_t *data,
                     uint32_t size, zr_index_t *index, zr_term_t *term);

/* zr_core_propose for an entry of type ZR_ENTRY_COMMAND or ZR_ENTRY_BUS
   (asserted): the core treats both alike. */
int zr_core_propose_type (zr_core_t *self, uint8_t type, zr_blob_t *blob,
                          const uint8_t *data, uint32_t size,
                          zr_index_t *index, zr_term_t *term);

/* Records a linearizable read, ReadIndex (Invariant 14): the leader
   confirms it still leads with a heartbeat round sent after this call
   (one round for every read recorded before the next zr_core_ready),
   then a Ready returns {ctx, index} in ready->reads: the caller runs the
   read once its state machine has applied index. If this server stops
   leading before that, ctx comes back in ready->reads_failed instead;
   either way exactly once (zr_core_destroy drops pending reads: the
   caller answers them). ctx is the caller's and is not interpreted.
   Accepted during a leadership transfer. Returns 0; ZR_ENOTLEADER when
   this server is not the leader (no forwarding; see zr_core_leader);
   ZR_EBUSY when ZR_READS_MAX reads are pending (confirmed ones count
   until the next Ready hands them out); ZR_ENOMEM. now_ms is the time
   of the request (traces). */
int zr_core_read_index (zr_core_t *self, uint64_t ctx, uint64_t now_ms);

/* The persister made the log durable up to entry index of term term (and
   every hard state queued before it). Ignored if the log no longer holds
   that entry (it was truncated meanwhile). */
void zr_core_persisted (zr_core_t *self, zr_index_t index, zr_term_t term);

/* Starts a leadership transfer to peer (Invariant 11); peer 0 lets the
   leader pick the follower most up to date: the highest match index
   among the followers heard from within the last election timeout
   (Invariant 10's clock), the lowest id among equals. Returns 0,
   ZR_ENOTLEADER, ZR_EINVAL (not a peer; peer 0: no follower heard from
   recently, or none at all) or ZR_EBUSY (one under way). The target is
   zr_core_transferring's. */
int zr_core_transfer (zr_core_t *self, zr_id_t peer, uint64_t now_ms);

/* Returns the target of the transfer under way, or 0. */
zr_id_t zr_core_transferring (const zr_core_t *self);

/* The link to peer is full or down: its progress goes back to probing. */
void zr_core_unreachable (zr_core_t *self, zr_id_t peer);

/* The sender of an APPEND that named a storage read (read_last,
   Invariant 15) to peer in term term, from index from, sent the entries
   from..last (bytes of payload) it read. A report for a term, follower
   or read this leader no longer waits for is ignored. */
void zr_core_storage_sent (zr_core_t *self, zr_id_t peer, zr_term_t term,
                           zr_index_t from, zr_index_t last, uint64_t bytes,
                           uint64_t now_ms);

/* The sender of a storage read to peer in term term, from index from,
   found that storage no longer holds entry index (from - 1 or from;
   compacted meanwhile, or unreadable): the core never asks storage for
   index or below again (15), and that follower gets the snapshot. */
void zr_core_storage_lost (zr_core_t *self, zr_id_t peer, zr_term_t term,
                           zr_index_t from, zr_index_t index, uint64_t now_ms);

/* The application took a snapshot covering entries up to index (<=
   applied), of size bytes, and it is durable: the log forgets entries
   up to index - snapshot_trailing, or further while the payload kept
   behind index would pass snapshot_trailing_bytes (12), and
   ready->compact says so. A snapshot older than the newest known is
   ignored. */
void zr_core_snapshot_taken (zr_core_t *self, zr_index_t index, uint64_t size);

/* The sender cannot read the snapshot a transfer to peer is sending
   (its file is gone): the transfer restarts with the newest snapshot. */
void zr_core_snapshot_lost (zr_core_t *self, zr_id_t peer, uint64_t now_ms);

/* The snapshot installed from a leader (the last chunk of a Ready) is
   durable and the state machine was restored from it: applying resumes
   after it (13). */
void zr_core_installed (zr_core_t *self, zr_index_t index);

/* Moves all pending effects into *ready (which must be zeroed or
   released). The leader packs new entries into AppendEntries here, so
   entries proposed between two calls travel in the same batch, and the
   reads recorded between two calls share one heartbeat round (14). */
void zr_core_ready (zr_core_t *self, zr_ready_t *ready, uint64_t now_ms);

/* Read-only state. */
zr_role_t zr_core_role (const zr_core_t *self);
zr_term_t zr_core_term (const zr_core_t *self);
zr_id_t zr_core_vote (const zr_core_t *self);
zr_id_t zr_core_leader (const zr_core_t *self);         /* 0 if unknown */
zr_index_t zr_core_commit (const zr_core_t *self);
zr_index_t zr_core_last_index (const zr_core_t *self);
zr_index_t zr_core_persisted_index (const zr_core_t *self);
zr_index_t zr_core_applied (const zr_core_t *self);     /* handed to apply */
zr_index_t zr_core_snapshot_index (const zr_core_t *self);   /* 0 if none */
zr_term_t zr_core_snapshot_term (const zr_core_t *self);
bool zr_core_installing (const zr_core_t *self);        /* awaiting installed */
zr_index_t zr_core_storage_first (const zr_core_t *self);  /* storage holds from (15) */
const zr_log_t *zr_core_log (const zr_core_t *self);
/* Payload bytes of the entries after the newest snapshot's index that
   were handed to the applier (ready->committed): what a size trigger for
   the next snapshot counts. */
uint64_t zr_core_bytes_since_snapshot (const zr_core_t *self);
/* Returns the progress of follower peer (leader only), or NULL. */
const zr_progress_t *zr_core_progress (const zr_core_t *self, zr_id_t peer);

/* Debug checker of the core's invariants; asserts on a violation. */
void zr_core_check (const zr_core_t *self);

#endif
