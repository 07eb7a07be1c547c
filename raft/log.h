/*  =========================================================================
    log - the in-memory Raft log owned by the core, a window of the log

    A growable array holding the window of entries first..last, where
    first = offset + 1 and `offset` is the last index compacted away (into
    a snapshot), whose term the log still knows. Each entry holds a
    reference on the blob carrying its payload, so handing entries to other
    threads (persister, replicators, applier) is a reference count, never a
    copy or a lock.

    Design notes
    1. Indexes are dense: entry i sits at slot i - offset - 1. Entries
       at or below offset are gone (compacted into a snapshot); the term
       of entry offset is kept (offset_term), so the entry just before
       the window can still be checked (Figure 13, InstallSnapshot).
    2. Terms never decrease along the log (Raft §5.3: a leader only
       appends entries of its own term after the entries it inherited).
    3. Truncation removes a suffix; it is only called by the core for a
       conflicting suffix (Figure 2, AppendEntries step 3), never for a
       matching entry.
    =========================================================================
*/
#ifndef ZR_LOG_H_INCLUDED
#define ZR_LOG_H_INCLUDED

typedef struct {
    zr_entry_t *entries;                /* slot i holds index offset + 1 + i */
    zr_index_t count;                   /* entries held; last = offset + count */
    zr_index_t offset;                  /* last index compacted away, 0 if none */
    zr_term_t offset_term;              /* term of entry offset, 0 if none */
    uint64_t bytes;                     /* payload bytes of the entries held */
    zr_index_t capacity;                /* slots allocated, >= count */
} zr_log_t;

/* Initialises an empty log. */
void zr_log_init (zr_log_t *self);

/* Frees every entry and reference; the log is empty afterwards. */
void zr_log_clear (zr_log_t *self);

/* Returns the last index (offset when the window is empty). */
zr_index_t zr_log_last_index (const zr_log_t *self);

/* Returns the first index held (offset + 1; last + 1 when empty). */
zr_index_t zr_log_first_index (const zr_log_t *self);

/* Returns the term of entry index: offset_term for index offset, 0 for
   index 0, below offset (unknown: compacted) or beyond the end. */
zr_term_t zr_log_term (const zr_log_t *self, zr_index_t index);

/* Returns the entry at index (first..last), borrowed: valid until the
   log changes. Asserts index is in range. */
const zr_entry_t *zr_log_get (const zr_log_t *self, zr_index_t index);

/* Appends a copy of entry (one more blob reference). entry->index must be
   last + 1 and its term >= the last term (Invariant 2). Returns 0 or
   ZR_ENOMEM, leaving the log unchanged. */
int zr_log_append (zr_log_t *self, const zr_entry_t *entry);

/* Removes entries from index on (index > offset), dropping their refs. */
void zr_log_truncate (zr_log_t *self, zr_index_t index);

/* Removes the entries up to index (offset <= index <= last), keeping
   the term of index as offset_term (Invariant 4). */
void zr_log_compact (zr_log_t *self, zr_index_t index);

/* Removes every entry and restarts the window after index, whose term is
   term (a snapshot was installed). index >= offset (Invariant 4). */
void zr_log_reset (zr_log_t *self, zr_index_t index, zr_term_t term);

/* Returns the payload bytes held in the window. */
uint64_t zr_log_bytes (const zr_log_t *self);

/* Returns the first index holding term in the run of entries of that
   term that ends at or before index `at` (used for conflict hints); the
   run is cut at the window's first index. first <= at <= last. */
zr_index_t zr_log_term_start (const zr_log_t *self, zr_index_t at);

/* Returns the last index whose term is term, or 0 if the log holds no
   entry of that term (used by the leader to back off by whole terms). */
zr_index_t zr_log_term_last (const zr_log_t *self, zr_term_t term);

#endif
