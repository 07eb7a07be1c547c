/*  =========================================================================
    transfer - leadership transfer (thesis §3.10)

    The leader stops accepting proposals, brings the target up to date and
    sends it TIMEOUT_NOW. Invariant (11) of core.h.

    Internal to raft/: declared for core.c and the other rule files.
    =========================================================================
*/
#ifndef ZR_TRANSFER_H_INCLUDED
#define ZR_TRANSFER_H_INCLUDED

/* Leader: sends TIMEOUT_NOW once the transfer target is up to date (11). */
void zr_transfer_maybe_send (zr_core_t *self);

/* Leader tick: abandons a transfer past its deadline (11). */
void zr_transfer_tick (zr_core_t *self, uint64_t now_ms);

/* Handler of TIMEOUT_NOW. */
void zr_transfer_handle_timeout_now (zr_core_t *self, const zr_message_t *msg,
                                     uint64_t now_ms);

#endif
