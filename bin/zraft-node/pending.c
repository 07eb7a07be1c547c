/*  =========================================================================
    pending - the requests zraft-node has handed to the library, by token

    See pending.h. The free list is a stack of slot numbers.
    =========================================================================
*/
#include "pending.h"

struct _zr_pending_t {
    zr_pending_entry_t *entries;        /* capacity slots; owned */
    uint32_t *free;                     /* free slot numbers, a stack; owned */
    uint32_t n_free;                    /* on the stack; size = capacity - it */
    uint32_t capacity;                  /* 1..ZR_PENDING_CAPACITY_MAX */
    uint64_t sequence;                  /* the last token's high part */
};

zr_pending_t *
zr_pending_new (uint32_t capacity)
{
    assert (capacity >= 1 && capacity <= ZR_PENDING_CAPACITY_MAX);
    zr_pending_t *self = (zr_pending_t *) calloc (1, sizeof *self);
    assert (self);
    self->entries = (zr_pending_entry_t *) calloc (capacity, sizeof *self->entries);
    self->free = (uint32_t *) calloc (capacity, sizeof *self->free);
    assert (self->entries && self->free);
    self->capacity = capacity;
    for (uint32_t i = 0; i < capacity; i++)
        self->free [i] = capacity - 1 - i;     /* slot 0 on top */
    self->n_free = capacity;
    return self;
}

void
zr_pending_destroy (zr_pending_t **self_p)
{
    assert (self_p);
    zr_pending_t *self = *self_p;
    if (!self)
        return;
    for (uint32_t i = 0; i < self->capacity; i++)
        zframe_destroy (&self->entries [i].routing_id);
    free (self->entries);
    free (self->free);
    free (self);
    *self_p = NULL;
}

uint64_t
zr_pending_add (zr_pending_t *self, zframe_t **routing_id_p,
                uint64_t request_id, int type, int64_t started_ms)
{
    assert (self && routing_id_p);
    if (self->n_free == 0)
        return 0;
    uint32_t slot = self->free [--self->n_free];
    zr_pending_entry_t *entry = &self->entries [slot];
    assert (entry->token == 0 && entry->routing_id == NULL);
    entry->token = (++self->sequence << 16) | slot;
    entry->routing_id = *routing_id_p;
    *routing_id_p = NULL;
    entry->request_id = request_id;
    entry->type = type;
    entry->started_ms = started_ms;
    assert (entry->token != 0);
    return entry->token;
}

/* Moves slot's entry out and pushes the slot on the free stack. */
static void
s_release (zr_pending_t *self, uint32_t slot, zr_pending_entry_t *entry)
{
    assert (slot < self->capacity && self->n_free < self->capacity);
    *entry = self->entries [slot];
    self->entries [slot] = (zr_pending_entry_t) {0};
    self->free [self->n_free++] = slot;
}

bool
zr_pending_take (zr_pending_t *self, uint64_t token, zr_pending_entry_t *entry)
{
    assert (self && entry);
    uint32_t slot = (uint32_t) (token & 0xffff);
    if (token == 0 || slot >= self->capacity
        || self->entries [slot].token != token)
        return false;
    s_release (self, slot, entry);
    return true;
}

bool
zr_pending_take_any (zr_pending_t *self, zr_pending_entry_t *entry)
{
    assert (self && entry);
    for (uint32_t slot = 0; slot < self->capacity && self->n_free < self->capacity;
         slot++)
        if (self->entries [slot].token) {
            s_release (self, slot, entry);
            return true;
        }
    return false;
}

uint32_t
zr_pending_size (zr_pending_t *self)
{
    assert (self && self->n_free <= self->capacity);
    return self->capacity - self->n_free;
}
