/*  =========================================================================
    replication - AppendEntries, its replies and conflict hints

    Raft §5.3 (log replication, Figure 2), the follower's conflict hints
    and the leader's back-off by whole terms; pipelining within the
    progress window (progress.h). Invariants (4), (5), (7) of core.h.

    Internal to raft/: declared for core.c and the other rule files.
    =========================================================================
*/
#ifndef ZR_REPLICATION_H_INCLUDED
#define ZR_REPLICATION_H_INCLUDED

/* Sends each follower what its window allows, and heartbeats when idle
   (or all at once if force). Leader only. */
void zr_replication_all (zr_core_t *self, uint64_t now_ms, bool force);

/* Sends peer (not in SNAPSHOT) an AppendEntries without entries, after
   the entry it is known to hold (REPLICATE: match) or the one a probe
   checks (PROBE: next - 1), with the commit index and the heartbeat
   round (14). */
void zr_replication_heartbeat (zr_core_t *self, zr_id_t peer, uint64_t now_ms);

/* Leader: true if the entries from next on can come from storage
   (core.h Invariant 15): storage_catchup is on, memory no longer holds
   next, storage still does, and the term of next - 1 is known or in
   storage too. */
bool zr_replication_from_storage (const zr_core_t *self, zr_index_t next);

/* Times out lost AppendEntries and sends heartbeats (leader tick). */
void zr_replication_tick (zr_core_t *self, uint64_t now_ms);

/* Handlers of APPEND and APPEND_REPLY; 0 or ZR_EMALFORMED. */
int zr_replication_handle_append (zr_core_t *self, const zr_message_t *msg,
                                  uint64_t now_ms);
int zr_replication_handle_append_reply (zr_core_t *self, const zr_message_t *msg,
                                        uint64_t now_ms);

#endif
