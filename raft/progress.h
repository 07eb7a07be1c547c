/*  =========================================================================
    progress - what the leader knows of one follower's log

    The leader keeps one progress per follower: the next index to send,
    the highest index known to match, and the AppendEntries in flight.

    State machine:

          +--------+  acked (first success)   +-----------+
          | PROBE  | -----------------------> | REPLICATE |
          |        | <----------------------- |           |
          +--------+  rejected / timed out /  +-----------+
            ^   |     unreachable
            |   | next entry compacted away (the leader's log starts later)
    installed   v
          +----------+
          | SNAPSHOT |  chunks of the snapshot, a window at a time
          +----------+

      PROBE      one AppendEntries at a time (probe_sent), next not moved
                 until the follower answers: finds where the logs match.
                 zr_progress_sent, zr_progress_acked, zr_progress_rejected.
      REPLICATE  pipelining: send optimistically, next advances on send,
                 up to inflight_max messages and inflight_bytes_max bytes.
                 zr_progress_sent, zr_progress_acked, zr_progress_timeout.

    In PROBE and REPLICATE, entries the leader's memory no longer holds
    may come from storage (core.h Invariant 15): the sender reads them,
    so the core learns what an AppendEntries carried only from the
    sender's report. While such a read is out (read_pending) nothing
    else with entries goes to that follower; the report
    (zr_progress_read_done) records it as sent, with its exact last
    index and bytes, and a read unreported for retry_ms is lost
    (zr_progress_timeout). zr_progress_read_start, zr_progress_read_done.
      SNAPSHOT   InstallSnapshot (Raft §7): the follower needs entries the
                 leader compacted. Chunks go out in order, up to a window of
                 bytes beyond the last offset the follower confirmed; a
                 rejected chunk rewinds to the follower's offset, a silent
                 one (timeout) to the last confirmed offset. Each timeout
                 of a transfer doubles the next one's wait, up to
                 2^ZR_PROGRESS_SNAP_BACKOFF_MAX times retry_ms: a
                 follower slower than retry_ms per chunk is not sent its
                 window again and again while the first copy is still
                 queued for it (each copy adds to its backlog). Installed:
                 match = snapshot index, back to PROBE after it.
                 zr_progress_snapshot_*, zr_progress_timeout.

    Invariants
    1. 0 <= match < next (etcd Progress).
    2. match never moves backwards: a late or duplicated reply is ignored
       (Raft §5.3, replies may be reordered by the network).
    3. In REPLICATE, inflight entries are ordered by last index, each
       > match, and their bytes add up to `bytes`.
    4. In SNAPSHOT, snap_acked <= snap_sent <= snap_size, and match <
       snap_index (or the follower would not need it). snap_acked moves
       back only when the follower says it holds less (it restarted).
    5. read_pending only in PROBE or REPLICATE, with read_from == next:
       next moves only when the read is reported (or abandoned).
    =========================================================================
*/
#ifndef ZR_PROGRESS_H_INCLUDED
#define ZR_PROGRESS_H_INCLUDED

/* A snapshot transfer's silences wait at most retry_ms << this. */
#define ZR_PROGRESS_SNAP_BACKOFF_MAX 3

typedef enum {
    ZR_PROGRESS_PROBE = 0,
    ZR_PROGRESS_REPLICATE = 1,
    ZR_PROGRESS_SNAPSHOT = 2
} zr_progress_state_t;

typedef struct {
    zr_index_t last;                    /* last index the message carried */
    uint64_t bytes;                     /* payload bytes it carried */
    uint64_t sent_ms;                   /* when it was sent */
} zr_inflight_t;

typedef struct {
    zr_progress_state_t state;          /* PROBE or REPLICATE */
    zr_index_t next;                    /* next index to send; > match (1) */
    zr_index_t match;                   /* highest index known to match (2) */
    bool probe_sent;                    /* PROBE: a probe awaits its reply */
    uint64_t probe_sent_ms;             /* PROBE: when it was sent */
    uint64_t last_send_ms;              /* last time anything was sent */
    zr_inflight_t ring [ZR_INFLIGHT_MAX];   /* REPLICATE: in flight (3) */
    uint32_t head;                      /* ring slot of the oldest */
    uint32_t count;                     /* messages in flight */
    uint64_t bytes;                     /* payload bytes in flight */
    uint32_t inflight_max;              /* window in messages, <= RING */
    uint64_t inflight_bytes_max;        /* window in bytes */
    zr_index_t snap_index;              /* SNAPSHOT: the snapshot being sent */
    zr_term_t snap_term;                /* SNAPSHOT: its last entry's term */
    uint64_t snap_size;                 /* SNAPSHOT: its size in bytes */
    uint64_t snap_sent;                 /* SNAPSHOT: bytes sent, in order (4) */
    uint64_t snap_acked;                /* SNAPSHOT: bytes the follower holds (4) */
    uint64_t snap_acked_ms;             /* SNAPSHOT: last progress seen */
    bool snap_rewound;                  /* SNAPSHOT: rewound, no progress since */
    uint32_t snap_backoff;              /* SNAPSHOT: a silence is waited for
                                           retry_ms << snap_backoff; one more
                                           per timeout, at most
                                           ZR_PROGRESS_SNAP_BACKOFF_MAX */
    bool read_pending;                  /* a storage read is with the sender (5) */
    zr_index_t read_from;               /* its first index, == next (5) */
    uint64_t read_sent_ms;              /* when the core asked for it */
} zr_progress_t;

/* Starts tracking a follower when this server becomes leader: PROBE,
   next = last_index + 1, match = 0, nothing in flight. */
void zr_progress_reset (zr_progress_t *self, zr_index_t last_index,
                        uint32_t inflight_max, uint64_t inflight_bytes_max);

/* Returns true if the window allows another AppendEntries with entries. */
bool zr_progress_can_send (const zr_progress_t *self);

/* Records an AppendEntries carrying entries up to `last` (bytes of
   payload) sent at now_ms. REPLICATE moves next past it. */
void zr_progress_sent (zr_progress_t *self, zr_index_t last, uint64_t bytes,
                       uint64_t now_ms);

/* Records that an AppendEntries from next, whose entries storage must
   supply, was asked of the sender at now_ms (in PROBE it is the probe).
   Asserts zr_progress_can_send. Nothing else with entries is sent until
   zr_progress_read_done, a rejection, a timeout or unreachable. */
void zr_progress_read_start (zr_progress_t *self, uint64_t now_ms);

/* The sender reports the storage read from `from` sent: entries up to
   last, bytes of payload, at now_ms. REPLICATE records it as
   zr_progress_sent does. Returns false (ignored) if no read from `from`
   is pending: it was abandoned, and the reply to what was sent is
   handled like any late reply. */
bool zr_progress_read_done (zr_progress_t *self, zr_index_t from,
                            zr_index_t last, uint64_t bytes, uint64_t now_ms);

/* PROBE, a heartbeat interval after the last send: the probe is sent
   again, and so is a storage read unreported for after_ms (the node may
   have dropped it before the sender, as a cut link does; a late report
   of a slow one then matches the new read, which is harmless: both
   messages did leave). */
void zr_progress_probe_again (zr_progress_t *self, uint64_t now_ms,
                              uint64_t after_ms);

/* The sender reports that storage could not serve the read from
   `from`: the read is abandoned and the follower probed again from
   match + 1. Returns false (ignored) if no read from `from` is pending. */
bool zr_progress_read_failed (zr_progress_t *self, zr_index_t from);

/* Records a heartbeat sent at now_ms (no entries, not in the window). */
void zr_progress_heartbeat_sent (zr_progress_t *self, uint64_t now_ms);

/* A success reply says the follower's log matches up to match_index.
   Returns true if match advanced (Invariant 2: never moves back). */
bool zr_progress_acked (zr_progress_t *self, zr_index_t match_index);

/* A rejection of the AppendEntries whose prev_index was rejected_prev;
   hint_next is where the conflict hints say to resume. Returns false if
   the reply is stale and was ignored, true if the progress backed off. */
bool zr_progress_rejected (zr_progress_t *self, zr_index_t rejected_prev,
                           zr_index_t hint_next);

/* Treats messages in flight for longer than retry_ms as lost: back to
   PROBE from match + 1 (ZeroMQ may drop frames on a reconnect). So is a
   storage read unreported for retry_ms. In SNAPSHOT, chunks unconfirmed
   for retry_ms << snap_backoff are: sending resumes from the last
   confirmed offset, and the next wait doubles (up to the maximum).
   Returns true if it changed anything. */
bool zr_progress_timeout (zr_progress_t *self, uint64_t now_ms,
                          uint64_t retry_ms);

/* The link to the follower is full or down: PROBE from match + 1
   (SNAPSHOT: resend from the last confirmed offset). */
void zr_progress_unreachable (zr_progress_t *self);

/* The follower needs entries before the leader's window: starts sending
   the snapshot that ends at index (size bytes) from offset 0. */
void zr_progress_snapshot_start (zr_progress_t *self, zr_index_t index,
                                 zr_term_t term, uint64_t size, uint64_t now_ms);

/* Returns the number of bytes the next chunk may carry (0: the window of
   window_bytes beyond snap_acked is full or everything is sent), at most
   chunk_bytes. */
uint64_t zr_progress_snapshot_next (const zr_progress_t *self,
                                    uint64_t chunk_bytes, uint64_t window_bytes);

/* Records a chunk of size bytes sent at snap_sent. */
void zr_progress_snapshot_sent (zr_progress_t *self, uint64_t size,
                                uint64_t now_ms);

/* A reply to a chunk of snapshot index: the follower holds offset bytes
   (accepted: it took the chunk; installed: the whole snapshot). Returns
   true if the progress changed. A reply for another snapshot is stale. */
bool zr_progress_snapshot_reply (zr_progress_t *self, zr_index_t index,
                                 uint64_t offset, bool accepted,
                                 bool installed, uint64_t now_ms);

#endif
