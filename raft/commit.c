/*  =========================================================================
    commit - the commit rule (see commit.h)
    =========================================================================
*/
#include "state.h"

/* Invariant (6): commit the highest index replicated on a quorum, if it
   belongs to the current term; the leader's own copy counts once durable. */
void
zr_commit_maybe_advance (zr_core_t *self)
{
    zr_assert (self->role == ZR_ROLE_LEADER);
    zr_index_t matches [ZR_NODES_MAX];
    uint32_t n = self->config.n_servers;
    zr_assert (n >= 1 && n <= ZR_NODES_MAX);
    for (uint32_t i = 0; i < n; i++) {
        zr_id_t id = self->config.servers [i];
        matches [i] = id == self->config.id ? self->persisted
                                            : self->progress [id].match;
    }
    /* Sort descending (n <= 9): the quorum-th value is on a majority. */
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = i; j > 0 && matches [j] > matches [j - 1]; j--) {
            zr_index_t t = matches [j];
            matches [j] = matches [j - 1];
            matches [j - 1] = t;
        }
    zr_index_t candidate = matches [zr_core_quorum (self) - 1];
#ifdef ZR_PLANT_BUG_COMMIT_OLD_TERM
    /* Planted bug for the simulation's self-test: Figure 8 ignored. */
    if (candidate > self->commit) {
#else
    if (candidate > self->commit
        && zr_log_term (&self->log, candidate) == self->term) {
#endif
        zr_assert (candidate <= zr_log_last_index (&self->log));
        self->commit = candidate;
    }
}

/* Invariant (5): a follower knows an entry is committed only if the
   leader says so AND it verified that its own copy matches the leader's
   (this AppendEntries checked prev and carried the rest). */
void
zr_commit_follow (zr_core_t *self, zr_index_t leader_commit,
                  zr_index_t verified)
{
    zr_assert (self->role == ZR_ROLE_FOLLOWER);
    zr_assert (verified <= zr_log_last_index (&self->log));
    zr_index_t commit = leader_commit < verified ? leader_commit : verified;
    if (commit > self->commit)
        self->commit = commit;
}
