/*  =========================================================================
    snapshot - log compaction and InstallSnapshot (Raft §7, Figure 13)

    The leader sends a follower that needs compacted entries its newest
    snapshot in chunks (progress.h, SNAPSHOT state); the follower takes
    them in order, hands each to the caller to write, and installs the
    snapshot with the last one. Invariants (12) and (13) of core.h.

    Internal to raft/: declared for core.c and the other rule files.
    =========================================================================
*/
#ifndef ZR_RAFT_SNAPSHOT_H_INCLUDED
#define ZR_RAFT_SNAPSHOT_H_INCLUDED

/* Leader: true if peer needs the snapshot (its next entry is compacted),
   and the progress moved to (or is in) SNAPSHOT. */
bool zr_snapshot_needed (zr_core_t *self, zr_id_t peer, uint64_t now_ms);

/* Leader: sends peer the chunks its window allows, or a zero-byte chunk
   at the send offset when the link is idle and due (a heartbeat that
   also finds where the follower is). */
void zr_snapshot_send (zr_core_t *self, zr_id_t peer, uint64_t now_ms, bool due);

/* Handlers of SNAPSHOT (follower) and SNAPSHOT_REPLY (leader); 0 or
   ZR_EMALFORMED. */
int zr_snapshot_handle (zr_core_t *self, const zr_message_t *msg,
                        uint64_t now_ms);
int zr_snapshot_handle_reply (zr_core_t *self, const zr_message_t *msg,
                              uint64_t now_ms);

#endif
