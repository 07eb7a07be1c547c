/*  =========================================================================
    read - linearizable reads by ReadIndex (Raft thesis §6.4)

    The leader answers a read without a log entry: it takes its commit
    index as the read index (once it has committed an entry of its own
    term), confirms with one heartbeat round that a majority still
    follows it, then hands {ctx, index} to the caller, who serves the
    read once it has applied that index. Invariant (14) of core.h.

    Heartbeat rounds. The leader numbers its rounds: `round` is carried
    by every AppendEntries it sends and echoed by the follower's reply
    (message.h). The reads recorded between two Readies wait for round
    + 1; the next Ready starts that round (one AppendEntries to each
    follower it goes to, piggy-backed on entries when there are some, a
    heartbeat otherwise; none to a follower receiving a snapshot; only
    quorum - 1 followers get a heartbeat once they have echoed rounds:
    "Narrow rounds" below) and a read is
    confirmed once the quorum-th highest round acknowledged (the leader
    counts its own current round) reaches it.

      recorded --(own-term entry committed: index set)--+
         |                                               v
         +--(majority echoed its round)--> confirmed --(Ready)--> ready->reads
         |
         +--(leader steps down first)--> failed --(Ready)--> ready->reads_failed

      zr_core_read_index, zr_read_ready (index, confirmation and hand
      out), zr_read_step_down (failure).

    Internal to raft/: declared for core.c and the other rule files.
    =========================================================================
*/
#ifndef ZR_READ_H_INCLUDED
#define ZR_READ_H_INCLUDED

/* The server became leader: no follower has acknowledged a round of its
   term yet. Reads from an earlier leadership are all failed already. */
void zr_read_lead (zr_core_t *self);

/* The leader stops leading: every read it has not handed out fails. */
void zr_read_step_down (zr_core_t *self);

/* A reply of this term from follower `from` echoed round. Returns 0, or
   ZR_EMALFORMED (ignored) when it echoes a round never sent. */
int zr_read_acked (zr_core_t *self, zr_id_t from, uint64_t round);

/* Leader, at Ready: starts the round that reads recorded since the last
   one wait for, if any. Returns true if it did: the caller then sends
   what it has for the followers, then zr_read_round_send. */
bool zr_read_round_start (zr_core_t *self);

/* Leader, after the Ready's AppendEntries are built: sends an empty one
   (a heartbeat) with the new round to the followers that got none in
   this Ready, except those receiving a snapshot (their replies carry no
   round: they join confirmations once it is installed). So a round
   costs at most one small message per follower, and none to a follower
   that gets entries anyway.
   Narrow rounds. Only a majority must echo a round, and the leader is
   one of it: so when quorum - 1 followers have echoed rounds in this
   term, the heartbeats go to those that echoed the highest ones (the
   most recently responsive) and to no other; the others still see the
   round on the next AppendEntries they get. If a read still waits for
   the round heartbeat_ms / 10 later (at least 1 ms: a chosen follower
   died or stalls), zr_read_tick sends it to every follower
   (zr_core_deadline includes that moment). In a 3-server cluster a read so costs one
   heartbeat and one reply instead of two each. Safety is untouched: a
   read is confirmed by a majority's echoes, whoever was sent the round. */
void zr_read_round_send (zr_core_t *self, uint64_t now_ms);

/* Leader, at a tick: a narrow round a read still waits for once its time
   is up (round_widen_ms) goes to every follower that has not had it. */
void zr_read_tick (zr_core_t *self, uint64_t now_ms);

/* Moves failed reads into ready->reads_failed and confirmed ones into
   ready->reads, in arrival order. */
void zr_read_ready (zr_core_t *self, zr_ready_t *ready);

/* Frees the reads still held (zr_core_destroy). */
void zr_read_clear (zr_core_t *self);

/* Asserts the invariants of the reads held (zr_core_check). */
void zr_read_check (const zr_core_t *self);

#endif
