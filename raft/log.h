/*  =========================================================================
    log - the in-memory Raft log owned by the core

    A growable array of entries with indexes 1..last. Each entry holds a
    reference on the blob carrying its payload, so handing entries to other
    threads (persister, replicators, applier) is a reference count, never a
    copy or a lock.

    Design notes
    1. Indexes are dense: entry i sits at slot i - 1 (no compaction yet;
       snapshots will add an offset).
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
    zr_entry_t *entries;                /* slots 0..count-1 hold index 1..count */
    zr_index_t count;                   /* entries held; last index */
    zr_index_t capacity;                /* slots allocated, >= count */
} zr_log_t;

/* Initialises an empty log. */
void zr_log_init (zr_log_t *self);

/* Frees every entry and reference; the log is empty afterwards. */
void zr_log_clear (zr_log_t *self);

/* Returns the last index (0 when empty). */
zr_index_t zr_log_last_index (const zr_log_t *self);

/* Returns the term of entry index, or 0 for index 0 or beyond the end. */
zr_term_t zr_log_term (const zr_log_t *self, zr_index_t index);

/* Returns the entry at index (1..last), borrowed: valid until the log
   changes. Asserts index is in range. */
const zr_entry_t *zr_log_get (const zr_log_t *self, zr_index_t index);

/* Appends a copy of entry (one more blob reference). entry->index must be
   last + 1 and its term >= the last term (Invariant 2). Returns 0 or
   ZR_ENOMEM, leaving the log unchanged. */
int zr_log_append (zr_log_t *self, const zr_entry_t *entry);

/* Removes entries from index on (index >= 1), dropping their refs. */
void zr_log_truncate (zr_log_t *self, zr_index_t index);

/* Returns the first index holding term in the run of entries of that
   term that ends at or before index `at` (used for conflict hints). */
zr_index_t zr_log_term_start (const zr_log_t *self, zr_index_t at);

/* Returns the last index whose term is term, or 0 if the log holds no
   entry of that term (used by the leader to back off by whole terms). */
zr_index_t zr_log_term_last (const zr_log_t *self, zr_term_t term);

#endif
