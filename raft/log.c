/*  =========================================================================
    log - the in-memory Raft log owned by the core (see log.h)
    =========================================================================
*/
#include "raft.h"

void
zr_log_init (zr_log_t *self)
{
    zr_assert (self);
    memset (self, 0, sizeof *self);
}

void
zr_log_clear (zr_log_t *self)
{
    zr_assert (self);
    zr_entries_destroy (&self->entries, (uint32_t) self->count);
    zr_log_init (self);
}

zr_index_t
zr_log_last_index (const zr_log_t *self)
{
    zr_assert (self);
    zr_assert (self->count <= self->capacity);
    return self->count;
}

zr_term_t
zr_log_term (const zr_log_t *self, zr_index_t index)
{
    zr_assert (self);
    if (index == 0 || index > self->count)
        return 0;
    return self->entries [index - 1].term;
}

const zr_entry_t *
zr_log_get (const zr_log_t *self, zr_index_t index)
{
    zr_assert (self);
    zr_assert (index >= 1 && index <= self->count);
    const zr_entry_t *entry = &self->entries [index - 1];
    zr_assert (entry->index == index);
    return entry;
}

int
zr_log_append (zr_log_t *self, const zr_entry_t *entry)
{
    zr_assert (self && entry);
    zr_assert (entry->index == self->count + 1);
    zr_assert (entry->term >= zr_log_term (self, self->count));   /* (2) */
    if (self->count == self->capacity) {
        zr_index_t capacity = self->capacity ? self->capacity * 2 : 1024;
        zr_entry_t *grown = (zr_entry_t *) realloc (
            self->entries, (size_t) capacity * sizeof (zr_entry_t));
        if (!grown)
            return ZR_ENOMEM;
        self->entries = grown;
        self->capacity = capacity;
    }
    zr_entry_copy (&self->entries [self->count], entry);
    self->count++;
    return 0;
}

void
zr_log_truncate (zr_log_t *self, zr_index_t index)
{
    zr_assert (self);
    zr_assert (index >= 1);
    while (self->count >= index) {
        zr_blob_unref (&self->entries [self->count - 1].blob);
        self->count--;
    }
}

zr_index_t
zr_log_term_start (const zr_log_t *self, zr_index_t at)
{
    zr_assert (self);
    zr_assert (at >= 1 && at <= self->count);
    zr_term_t term = zr_log_term (self, at);
    while (at > 1 && zr_log_term (self, at - 1) == term)
        at--;
    return at;
}

zr_index_t
zr_log_term_last (const zr_log_t *self, zr_term_t term)
{
    zr_assert (self);
    /* Terms never decrease (Invariant 2): scan back to the first smaller. */
    for (zr_index_t i = self->count; i >= 1; i--) {
        zr_term_t t = self->entries [i - 1].term;
        if (t == term)
            return i;
        if (t < term)
            return 0;
    }
    return 0;
}
