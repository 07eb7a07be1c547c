/*  =========================================================================
    election - votes, pre-votes, the up-to-date rule and check-quorum

    Raft §5.2 (leader election), §5.4.1 (the up-to-date rule: written
    once, for votes and pre-votes), thesis §9.6 (pre-vote) and check-quorum.
    Invariants (1), (2), (9), (10) of core.h.

    Internal to raft/: declared for core.c and the other rule files.
    =========================================================================
*/
#ifndef ZR_ELECTION_H_INCLUDED
#define ZR_ELECTION_H_INCLUDED

/* The election timer fired: pre-vote (9) or campaign. */
void zr_election_timeout (zr_core_t *self, uint64_t now_ms);

/* Campaigns now: term + 1, vote for self, ask the others (1). */
void zr_election_start (zr_core_t *self, uint64_t now_ms);

/* Handlers of VOTE, VOTE_REPLY, PREVOTE and PREVOTE_REPLY. */
void zr_election_handle_vote (zr_core_t *self, const zr_message_t *msg,
                              uint64_t now_ms);
void zr_election_handle_vote_reply (zr_core_t *self, const zr_message_t *msg,
                                    uint64_t now_ms);
void zr_election_handle_prevote (zr_core_t *self, const zr_message_t *msg,
                                 uint64_t now_ms);
void zr_election_handle_prevote_reply (zr_core_t *self, const zr_message_t *msg,
                                       uint64_t now_ms);

/* Check-quorum (10): returns false (and steps down) if a leader has not
   heard from a majority within an election timeout. */
bool zr_election_check_quorum (zr_core_t *self, uint64_t now_ms);

#endif
