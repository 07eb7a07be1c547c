/*  =========================================================================
    commit - the commit rule

    Raft §5.4.2 and Figure 8: a leader commits by counting replicas only
    an entry of its own term; followers follow the leader's commit only
    up to what they verified. Invariants (5) and (6) of core.h.

    Internal to raft/: declared for core.c and the other rule files.
    =========================================================================
*/
#ifndef ZR_COMMIT_H_INCLUDED
#define ZR_COMMIT_H_INCLUDED

/* Leader: commits the highest index a quorum holds, if of this term (6). */
void zr_commit_maybe_advance (zr_core_t *self);

/* Follower: raises commit to min(leader_commit, verified) (5). */
void zr_commit_follow (zr_core_t *self, zr_index_t leader_commit,
                       zr_index_t verified);

#endif
