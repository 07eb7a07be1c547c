/*  =========================================================================
    message - log entries and the four Raft RPCs as plain data
    =========================================================================
*/
#include "raft.h"

void
zr_entry_copy (zr_entry_t *dst, const zr_entry_t *src)
{
    zr_assert (dst && src);
    zr_assert (src->size == 0 || src->blob);
    *dst = *src;
    if (src->blob)
        dst->blob = zr_blob_ref (src->blob);
}

void
zr_entries_destroy (zr_entry_t **entries_p, uint32_t n)
{
    zr_assert (entries_p);
    zr_entry_t *entries = *entries_p;
    if (!entries)
        return;
    for (uint32_t i = 0; i < n; i++)
        zr_blob_unref (&entries [i].blob);
    free (entries);
    *entries_p = NULL;
}

zr_message_t *
zr_message_new (zr_msg_type_t type)
{
    zr_assert (type >= ZR_MSG_VOTE && type <= ZR_MSG_TYPE_MAX);
    zr_message_t *self = (zr_message_t *) calloc (1, sizeof (zr_message_t));
    if (self)
        self->type = (uint8_t) type;
    return self;
}

zr_message_t *
zr_message_dup (const zr_message_t *msg)
{
    zr_assert (msg);
    zr_assert (msg->n_entries == 0 || msg->entries);
    zr_message_t *copy = (zr_message_t *) malloc (sizeof (zr_message_t));
    if (!copy)
        return NULL;
    *copy = *msg;
    copy->entries = NULL;
    if (msg->chunk_blob)
        copy->chunk_blob = zr_blob_ref (msg->chunk_blob);
    if (msg->n_entries) {
        copy->entries = (zr_entry_t *) malloc (msg->n_entries * sizeof (zr_entry_t));
        if (!copy->entries) {
            free (copy);
            return NULL;
        }
        for (uint32_t i = 0; i < msg->n_entries; i++)
            zr_entry_copy (&copy->entries [i], &msg->entries [i]);
    }
    return copy;
}

void
zr_message_destroy (zr_message_t **self_p)
{
    zr_assert (self_p);
    zr_message_t *self = *self_p;
    if (!self)
        return;
    zr_entries_destroy (&self->entries, self->n_entries);
    zr_blob_unref (&self->chunk_blob);
    free (self);
    *self_p = NULL;
}

const char *
zr_message_name (uint8_t type)
{
    switch (type) {
    case ZR_MSG_VOTE:
        return "vote";
    case ZR_MSG_VOTE_REPLY:
        return "vote-reply";
    case ZR_MSG_APPEND:
        return "append";
    case ZR_MSG_APPEND_REPLY:
        return "append-reply";
    case ZR_MSG_PREVOTE:
        return "prevote";
    case ZR_MSG_PREVOTE_REPLY:
        return "prevote-reply";
    case ZR_MSG_TIMEOUT_NOW:
        return "timeout-now";
    case ZR_MSG_SNAPSHOT:
        return "snapshot";
    case ZR_MSG_SNAPSHOT_REPLY:
        return "snapshot-reply";
    default:
        return "unknown";
    }
}
