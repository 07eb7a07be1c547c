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
    return self->offset + self->count;
}

zr_index_t
zr_log_first_index (const zr_log_t *self)
{
    zr_assert (self);
    zr_assert (self->count <= self->capacity);
    return self->offset + 1;
}

zr_term_t
zr_log_term (const zr_log_t *self, zr_index_t index)
{
    zr_assert (self);
    if (index == self->offset)
        return self->offset_term;
    if (index < self->offset || index > self->offset + self->count)
        return 0;
    return self->entries [index - self->offset - 1].term;
}

const zr_entry_t *
zr_log_get (const zr_log_t *self, zr_index_t index)
{
    zr_assert (self);
    zr_assert (index > self->offset && index <= self->offset + self->count);
    const zr_entry_t *entry = &self->entries [index - self->offset - 1];
    zr_assert (entry->index == index);
    return entry;
}

int
zr_log_append (zr_log_t *self, const zr_entry_t *entry)
{
    zr_assert (self && entry);
    zr_index_t last = zr_log_last_index (self);
    zr_assert (entry->index == last + 1);
    zr_assert (entry->term >= zr_log_term (self, last));         /* (2) */
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
    self->bytes += entry->size;
    return 0;
}

void
zr_log_truncate (zr_log_t *self, zr_index_t index)
{
    zr_assert (self);
    zr_assert (index > self->offset);                             /* (3) */
    while (zr_log_last_index (self) >= index) {
        zr_entry_t *entry = &self->entries [self->count - 1];
        self->bytes -= entry->size;
        zr_blob_unref (&entry->blob);
        self->count--;
    }
}

void
zr_log_compact (zr_log_t *self, zr_index_t index)
{
    zr_assert (self);
    zr_assert (index >= self->offset && index <= zr_log_last_index (self));
    if (index == self->offset)
        return;
    zr_term_t term = zr_log_term (self, index);
    zr_index_t n = index - self->offset;                          /* (4) */
    for (zr_index_t i = 0; i < n; i++) {
        self->bytes -= self->entries [i].size;
        zr_blob_unref (&self->entries [i].blob);
    }
    memmove (self->entries, self->entries + n,
             (size_t) (self->count - n) * sizeof (zr_entry_t));
    self->count -= n;
    self->offset = index;
    self->offset_term = term;
    /* Give back memory once the window is much smaller than the array. */
    if (self->capacity > 4096 && self->count < self->capacity / 4) {
        zr_index_t capacity = self->capacity / 2;
        zr_entry_t *shrunk = (zr_entry_t *) realloc (
            self->entries, (size_t) capacity * sizeof (zr_entry_t));
        if (shrunk) {
            self->entries = shrunk;
            self->capacity = capacity;
        }
    }
}

void
zr_log_reset (zr_log_t *self, zr_index_t index, zr_term_t term)
{
    zr_assert (self);
    zr_assert (index >= self->offset);                            /* (4) */
    zr_entries_destroy (&self->entries, (uint32_t) self->count);
    self->count = 0;
    self->capacity = 0;
    self->bytes = 0;
    self->offset = index;
    self->offset_term = term;
}

uint64_t
zr_log_bytes (const zr_log_t *self)
{
    zr_assert (self);
    zr_assert (self->count > 0 || self->bytes == 0);
    return self->bytes;
}

zr_index_t
zr_log_term_start (const zr_log_t *self, zr_index_t at)
{
    zr_assert (self);
    zr_assert (at > self->offset && at <= zr_log_last_index (self));
    zr_term_t term = zr_log_term (self, at);
    while (at > self->offset + 1 && zr_log_term (self, at - 1) == term)
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
            return self->offset + i;
        if (t < term)
            return 0;
    }
    return self->offset > 0 && self->offset_term == term ? self->offset : 0;
}
