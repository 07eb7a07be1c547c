/*  =========================================================================
    test_log - unit tests of raft/log: the in-memory Raft log

    Dense indexes from 1 (Figure 2), terms that never decrease (Raft §5.3,
    log.h note 2), suffix truncation (Figure 2, AppendEntries step 3) and
    the two term lookups behind the conflict hints (§5.3, "the follower
    can include the term of the conflicting entry and the first index it
    stores for that term"), and the log as a window after compaction
    (Raft §7, Figure 13: offset, offset_term, compact, reset).
    =========================================================================
*/
#include <check.h>
#include <signal.h>

#include "../../raft/raft.h"

/* The leader log of Figure 7: terms of indexes 1..10. */
static const zr_term_t s_figure7 [] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
#define S_FIGURE7_N (sizeof (s_figure7) / sizeof (s_figure7 [0]))

//  --------------------------------------------------------------------------
//  Helpers

/* Returns an entry without payload (a no-op) at index in term. */
static zr_entry_t
s_entry (zr_index_t index, zr_term_t term)
{
    zr_entry_t entry = {.term = term, .index = index, .type = ZR_ENTRY_NOOP};
    return entry;
}

/* Appends entries with the given terms from index 1 to an empty log. */
static void
s_fill (zr_log_t *log, const zr_term_t *terms, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        zr_entry_t entry = s_entry ((zr_index_t) i + 1, terms [i]);
        ck_assert_int_eq (zr_log_append (log, &entry), 0);
    }
}

static unsigned
s_refs (zr_blob_t *blob)
{
    return atomic_load (&blob->refs);
}

//  --------------------------------------------------------------------------
//  zr_log_init, zr_log_last_index, zr_log_term

/* Figure 2: index 0 and term 0 mean "none"; an empty log has last index 0
   and answers term 0 everywhere. */
START_TEST (log_init_is_empty)
{
    zr_log_t log;
    zr_log_init (&log);
    ck_assert_uint_eq (zr_log_last_index (&log), 0);
    ck_assert_uint_eq (zr_log_term (&log, 0), 0);
    ck_assert_uint_eq (zr_log_term (&log, 1), 0);
    ck_assert_uint_eq (zr_log_term_last (&log, 1), 0);
    zr_log_clear (&log);
}
END_TEST

/* Figure 2: the term of index 0 (before the first entry) and of any index
   past the end is 0, which is what makes prevLogIndex 0 always match. */
START_TEST (log_term_zero_and_beyond_end)
{
    zr_log_t log;
    zr_log_init (&log);
    s_fill (&log, s_figure7, S_FIGURE7_N);
    ck_assert_uint_eq (zr_log_term (&log, 0), 0);
    ck_assert_uint_eq (zr_log_term (&log, 10), 6);
    ck_assert_uint_eq (zr_log_term (&log, 11), 0);
    ck_assert_uint_eq (zr_log_term (&log, UINT64_MAX), 0);
    zr_log_clear (&log);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_log_append, zr_log_get

/* Figure 2: entries are appended at last + 1 and read back by index with
   their term, type and payload. */
START_TEST (log_append_then_get)
{
    zr_blob_t *blob = zr_blob_new (6);
    ck_assert_ptr_nonnull (blob);
    memcpy (blob->data, "abcdef", 6);
    zr_log_t log;
    zr_log_init (&log);
    zr_entry_t noop = s_entry (1, 1);
    zr_entry_t cmd = {.term = 1, .index = 2, .type = ZR_ENTRY_COMMAND,
                      .size = 3, .data = blob->data, .blob = blob};
    zr_entry_t cmd2 = {.term = 2, .index = 3, .type = ZR_ENTRY_COMMAND,
                       .size = 3, .data = blob->data + 3, .blob = blob};
    ck_assert_int_eq (zr_log_append (&log, &noop), 0);
    ck_assert_int_eq (zr_log_append (&log, &cmd), 0);
    ck_assert_int_eq (zr_log_append (&log, &cmd2), 0);
    ck_assert_uint_eq (zr_log_last_index (&log), 3);

    const zr_entry_t *e = zr_log_get (&log, 1);
    ck_assert_uint_eq (e->index, 1);
    ck_assert_uint_eq (e->term, 1);
    ck_assert_uint_eq (e->type, ZR_ENTRY_NOOP);
    ck_assert_uint_eq (e->size, 0);
    ck_assert_ptr_null (e->blob);
    e = zr_log_get (&log, 2);
    ck_assert_uint_eq (e->index, 2);
    ck_assert_uint_eq (e->term, 1);
    ck_assert_uint_eq (e->type, ZR_ENTRY_COMMAND);
    ck_assert_uint_eq (e->size, 3);
    ck_assert_mem_eq (e->data, "abc", 3);
    ck_assert_ptr_eq (e->blob, blob);
    e = zr_log_get (&log, 3);
    ck_assert_uint_eq (e->index, 3);
    ck_assert_uint_eq (e->term, 2);
    ck_assert_mem_eq (e->data, "def", 3);
    ck_assert_uint_eq (zr_log_term (&log, 1), 1);
    ck_assert_uint_eq (zr_log_term (&log, 2), 1);
    ck_assert_uint_eq (zr_log_term (&log, 3), 2);
    zr_log_clear (&log);
    zr_blob_unref (&blob);
}
END_TEST

/* Raft §5.3 (log.h): each entry holds its own reference on the blob, so
   the log can be shared by reference count; clearing drops every one of
   them. */
START_TEST (log_append_takes_blob_reference)
{
    zr_blob_t *blob = zr_blob_new (4);
    ck_assert_ptr_nonnull (blob);
    memcpy (blob->data, "wxyz", 4);
    zr_log_t log;
    zr_log_init (&log);
    for (zr_index_t i = 1; i <= 4; i++) {
        zr_entry_t entry = {.term = 1, .index = i, .type = ZR_ENTRY_COMMAND,
                            .size = 1, .data = blob->data + i - 1,
                            .blob = blob};
        ck_assert_int_eq (zr_log_append (&log, &entry), 0);
        ck_assert_uint_eq (s_refs (blob), 1 + i);
    }
    zr_log_clear (&log);
    ck_assert_uint_eq (s_refs (blob), 1);
    ck_assert_uint_eq (zr_log_last_index (&log), 0);
    zr_blob_unref (&blob);
}
END_TEST

/* Raft §5.3: terms never decrease along the log; equal terms are fine. */
START_TEST (log_append_accepts_equal_and_higher_terms)
{
    zr_log_t log;
    zr_log_init (&log);
    s_fill (&log, s_figure7, S_FIGURE7_N);
    ck_assert_uint_eq (zr_log_last_index (&log), 10);
    for (zr_index_t i = 1; i <= 10; i++)
        ck_assert_uint_eq (zr_log_term (&log, i), s_figure7 [i - 1]);
    zr_log_clear (&log);
}
END_TEST

/* Log Matching (§5.3): the log grows past its first allocation and keeps
   every index and term in place. */
START_TEST (log_append_grows_past_capacity)
{
    zr_log_t log;
    zr_log_init (&log);
    for (zr_index_t i = 1; i <= 5000; i++) {
        zr_entry_t entry = s_entry (i, 1 + i / 1000);
        ck_assert_int_eq (zr_log_append (&log, &entry), 0);
    }
    ck_assert_uint_eq (zr_log_last_index (&log), 5000);
    ck_assert_uint_ge (log.capacity, 5000);
    for (zr_index_t i = 1; i <= 5000; i++) {
        ck_assert_uint_eq (zr_log_get (&log, i)->index, i);
        ck_assert_uint_eq (zr_log_term (&log, i), 1 + i / 1000);
    }
    zr_log_clear (&log);
}
END_TEST

/* Raft §5.3 (log.h note 2): appending an entry whose term is lower than
   the last term is a contract violation: asserted. */
START_TEST (log_append_decreasing_term_aborts)
{
    zr_log_t log;
    zr_log_init (&log);
    s_fill (&log, s_figure7, S_FIGURE7_N);
    zr_entry_t entry = s_entry (11, 5);
    (void) zr_log_append (&log, &entry);
}
END_TEST

/* Figure 2 (log.h note 1): indexes are dense, an append anywhere but at
   last + 1 is a contract violation: asserted. */
START_TEST (log_append_wrong_index_aborts)
{
    zr_log_t log;
    zr_log_init (&log);
    s_fill (&log, s_figure7, 3);
    zr_entry_t entry = s_entry (5, 1);
    (void) zr_log_append (&log, &entry);
}
END_TEST

/* Figure 2: there is no entry at index 0; reading it is asserted. */
START_TEST (log_get_index_zero_aborts)
{
    zr_log_t log;
    zr_log_init (&log);
    s_fill (&log, s_figure7, 3);
    (void) zr_log_get (&log, 0);
}
END_TEST

/* Figure 2: reading past the last index is asserted. */
START_TEST (log_get_beyond_end_aborts)
{
    zr_log_t log;
    zr_log_init (&log);
    s_fill (&log, s_figure7, 3);
    (void) zr_log_get (&log, 4);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_log_truncate

/* Figure 2, AppendEntries step 3: truncation removes the suffix from the
   given index on, and the log accepts a new entry of a higher term there. */
START_TEST (log_truncate_removes_suffix)
{
    zr_log_t log;
    zr_log_init (&log);
    s_fill (&log, s_figure7, S_FIGURE7_N);
    zr_log_truncate (&log, 6);
    ck_assert_uint_eq (zr_log_last_index (&log), 5);
    ck_assert_uint_eq (zr_log_term (&log, 5), 4);
    ck_assert_uint_eq (zr_log_term (&log, 6), 0);
    zr_entry_t entry = s_entry (6, 8);
    ck_assert_int_eq (zr_log_append (&log, &entry), 0);
    ck_assert_uint_eq (zr_log_last_index (&log), 6);
    ck_assert_uint_eq (zr_log_term (&log, 6), 8);
    zr_log_clear (&log);
}
END_TEST

/* Figure 2, AppendEntries step 3: truncating drops the blob reference of
   each removed entry and only those. */
START_TEST (log_truncate_drops_blob_references)
{
    zr_blob_t *blob = zr_blob_new (5);
    ck_assert_ptr_nonnull (blob);
    memcpy (blob->data, "12345", 5);
    zr_log_t log;
    zr_log_init (&log);
    for (zr_index_t i = 1; i <= 5; i++) {
        zr_entry_t entry = {.term = 2, .index = i, .type = ZR_ENTRY_COMMAND,
                            .size = 1, .data = blob->data + i - 1,
                            .blob = blob};
        ck_assert_int_eq (zr_log_append (&log, &entry), 0);
    }
    ck_assert_uint_eq (s_refs (blob), 6);
    zr_log_truncate (&log, 4);
    ck_assert_uint_eq (s_refs (blob), 4);
    ck_assert_uint_eq (zr_log_last_index (&log), 3);
    ck_assert_mem_eq (zr_log_get (&log, 3)->data, "3", 1);
    zr_log_clear (&log);
    ck_assert_uint_eq (s_refs (blob), 1);
    zr_blob_unref (&blob);
}
END_TEST

/* Figure 2: truncating from index 1 empties the log. */
START_TEST (log_truncate_from_first_empties)
{
    zr_log_t log;
    zr_log_init (&log);
    s_fill (&log, s_figure7, S_FIGURE7_N);
    zr_log_truncate (&log, 1);
    ck_assert_uint_eq (zr_log_last_index (&log), 0);
    ck_assert_uint_eq (zr_log_term (&log, 1), 0);
    zr_entry_t entry = s_entry (1, 1);
    ck_assert_int_eq (zr_log_append (&log, &entry), 0);
    ck_assert_uint_eq (zr_log_last_index (&log), 1);
    zr_log_clear (&log);
}
END_TEST

/* Figure 2: truncating past the last index removes nothing. */
START_TEST (log_truncate_beyond_end_keeps_log)
{
    zr_log_t log;
    zr_log_init (&log);
    s_fill (&log, s_figure7, S_FIGURE7_N);
    zr_log_truncate (&log, 11);
    ck_assert_uint_eq (zr_log_last_index (&log), 10);
    ck_assert_uint_eq (zr_log_term (&log, 10), 6);
    zr_log_clear (&log);
}
END_TEST

/* Figure 2: index 0 is never an entry, so truncating from it is asserted. */
START_TEST (log_truncate_index_zero_aborts)
{
    zr_log_t log;
    zr_log_init (&log);
    s_fill (&log, s_figure7, 3);
    zr_log_truncate (&log, 0);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_log_term_start

/* Raft §5.3 (conflict hint): the first index of the run of the term held
   at `at`, on the leader log of Figure 7. */
START_TEST (log_term_start_finds_first_index_of_term)
{
    zr_log_t log;
    zr_log_init (&log);
    s_fill (&log, s_figure7, S_FIGURE7_N);
    ck_assert_uint_eq (zr_log_term_start (&log, 10), 8);
    ck_assert_uint_eq (zr_log_term_start (&log, 9), 8);
    ck_assert_uint_eq (zr_log_term_start (&log, 8), 8);
    ck_assert_uint_eq (zr_log_term_start (&log, 7), 6);
    ck_assert_uint_eq (zr_log_term_start (&log, 5), 4);
    ck_assert_uint_eq (zr_log_term_start (&log, 3), 1);
    ck_assert_uint_eq (zr_log_term_start (&log, 1), 1);
    zr_log_clear (&log);
}
END_TEST

/* Figure 7 (f): the follower's term-3 run starts at 7 and its term-2 run
   at 4, which is what it reports to the leader. */
START_TEST (log_term_start_figure7_f)
{
    static const zr_term_t f [] = {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3};
    zr_log_t log;
    zr_log_init (&log);
    s_fill (&log, f, sizeof f / sizeof f [0]);
    ck_assert_uint_eq (zr_log_term_start (&log, 10), 7);
    ck_assert_uint_eq (zr_log_term_start (&log, 6), 4);
    zr_log_clear (&log);
}
END_TEST

/* Raft §5.3: the hint is only computed for an entry we hold; asking about
   index 0 is asserted. */
START_TEST (log_term_start_index_zero_aborts)
{
    zr_log_t log;
    zr_log_init (&log);
    s_fill (&log, s_figure7, 3);
    (void) zr_log_term_start (&log, 0);
}
END_TEST

//  --------------------------------------------------------------------------
//  zr_log_term_last

/* Raft §5.3 (leader back-off by terms): the last index holding a term the
   log has, on the leader log of Figure 7. */
START_TEST (log_term_last_finds_last_index_of_term)
{
    zr_log_t log;
    zr_log_init (&log);
    s_fill (&log, s_figure7, S_FIGURE7_N);
    ck_assert_uint_eq (zr_log_term_last (&log, 6), 10);
    ck_assert_uint_eq (zr_log_term_last (&log, 5), 7);
    ck_assert_uint_eq (zr_log_term_last (&log, 4), 5);
    ck_assert_uint_eq (zr_log_term_last (&log, 1), 3);
    zr_log_clear (&log);
}
END_TEST

/* Figure 7 (f): the leader holds no entry of terms 2, 3 (between its
   runs), 7 or 8 (after its last), nor 0, so it answers 0 for each. */
START_TEST (log_term_last_absent_term_is_zero)
{
    zr_log_t log;
    zr_log_init (&log);
    s_fill (&log, s_figure7, S_FIGURE7_N);
    ck_assert_uint_eq (zr_log_term_last (&log, 2), 0);
    ck_assert_uint_eq (zr_log_term_last (&log, 3), 0);
    ck_assert_uint_eq (zr_log_term_last (&log, 7), 0);
    ck_assert_uint_eq (zr_log_term_last (&log, 8), 0);
    ck_assert_uint_eq (zr_log_term_last (&log, 0), 0);
    zr_log_clear (&log);
}
END_TEST

//  --------------------------------------------------------------------------
//  The log as a window: zr_log_compact, zr_log_reset, zr_log_first_index,
//  zr_log_bytes (log.h note 1, Raft §7)

/* Appends count one-byte commands of term term after the last index,
   each holding a reference on blob. */
static void
s_fill_blob (zr_log_t *log, zr_blob_t *blob, zr_term_t term, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        zr_entry_t entry = {.term = term,
                            .index = zr_log_last_index (log) + 1,
                            .type = ZR_ENTRY_COMMAND, .size = 1,
                            .data = blob->data, .blob = blob};
        ck_assert_int_eq (zr_log_append (log, &entry), 0);
    }
}

/* Initialises log with the leader log of Figure 7, compacted up to
   offset (a window offset + 1..10). */
static void
s_figure7_window (zr_log_t *log, zr_index_t offset)
{
    zr_log_init (log);
    s_fill (log, s_figure7, S_FIGURE7_N);
    zr_log_compact (log, offset);
    ck_assert_uint_eq (zr_log_first_index (log), offset + 1);
}

/* Raft §7 (log.h note 1): after compaction the term of the last
   compacted entry is still known (the check before the window), entries
   below it answer 0 (unknown), and the window answers as before. */
START_TEST (log_term_at_below_and_above_offset)
{
    zr_log_t log;
    s_figure7_window (&log, 5);
    ck_assert_uint_eq (log.offset, 5);
    ck_assert_uint_eq (log.offset_term, 4);
    ck_assert_uint_eq (zr_log_term (&log, 5), 4);
    ck_assert_uint_eq (zr_log_term (&log, 4), 0);
    ck_assert_uint_eq (zr_log_term (&log, 1), 0);
    ck_assert_uint_eq (zr_log_term (&log, 0), 0);
    ck_assert_uint_eq (zr_log_term (&log, 6), 5);
    ck_assert_uint_eq (zr_log_term (&log, 10), 6);
    ck_assert_uint_eq (zr_log_term (&log, 11), 0);
    ck_assert_uint_eq (zr_log_get (&log, 6)->index, 6);
    zr_log_clear (&log);
}
END_TEST

/* Raft §7: compacting up to index drops the entries first..index and
   their blob references and payload bytes; the window then starts at
   index + 1 and the last index does not move. */
START_TEST (log_compact_drops_prefix_bytes_and_references)
{
    zr_blob_t *blob = zr_blob_new (1);
    ck_assert_ptr_nonnull (blob);
    zr_log_t log;
    zr_log_init (&log);
    s_fill_blob (&log, blob, 1, 6);
    s_fill_blob (&log, blob, 2, 4);
    ck_assert_uint_eq (zr_log_bytes (&log), 10);
    ck_assert_uint_eq (s_refs (blob), 11);
    ck_assert_uint_eq (zr_log_first_index (&log), 1);
    zr_log_compact (&log, 7);
    ck_assert_uint_eq (zr_log_first_index (&log), 8);
    ck_assert_uint_eq (zr_log_last_index (&log), 10);
    ck_assert_uint_eq (zr_log_bytes (&log), 3);
    ck_assert_uint_eq (s_refs (blob), 4);
    ck_assert_uint_eq (log.offset_term, 2);
    ck_assert_uint_eq (zr_log_get (&log, 8)->term, 2);
    zr_log_clear (&log);
    ck_assert_uint_eq (s_refs (blob), 1);
    zr_blob_unref (&blob);
}
END_TEST

/* Raft §7: compacting every entry leaves an empty window after the last
   index (first = last + 1) that still knows the last term; compacting at
   the offset again changes nothing. */
START_TEST (log_compact_whole_log_leaves_empty_window)
{
    zr_log_t log;
    s_figure7_window (&log, 10);
    ck_assert_uint_eq (zr_log_last_index (&log), 10);
    ck_assert_uint_eq (zr_log_first_index (&log), 11);
    ck_assert_uint_eq (zr_log_term (&log, 10), 6);
    ck_assert_uint_eq (zr_log_bytes (&log), 0);
    zr_log_compact (&log, 10);
    ck_assert_uint_eq (log.offset, 10);
    ck_assert_uint_eq (log.offset_term, 6);
    zr_entry_t entry = s_entry (11, 6);
    ck_assert_int_eq (zr_log_append (&log, &entry), 0);
    ck_assert_uint_eq (zr_log_get (&log, 11)->term, 6);
    zr_log_clear (&log);
}
END_TEST

/* TigerStyle limits (log.c): a window much smaller than its array gives
   memory back (capacity halves) and keeps every entry in place. */
START_TEST (log_compact_shrinks_array)
{
    zr_log_t log;
    zr_log_init (&log);
    for (zr_index_t i = 1; i <= 5000; i++) {
        zr_entry_t entry = s_entry (i, 1 + i / 1000);
        ck_assert_int_eq (zr_log_append (&log, &entry), 0);
    }
    ck_assert_uint_eq (log.capacity, 8192);
    zr_log_compact (&log, 4000);
    ck_assert_uint_eq (log.capacity, 4096);
    ck_assert_uint_eq (zr_log_first_index (&log), 4001);
    ck_assert_uint_eq (zr_log_last_index (&log), 5000);
    for (zr_index_t i = 4001; i <= 5000; i++) {
        ck_assert_uint_eq (zr_log_get (&log, i)->index, i);
        ck_assert_uint_eq (zr_log_term (&log, i), 1 + i / 1000);
    }
    zr_log_clear (&log);
}
END_TEST

/* Raft §7 (log.h note 4): compacting behind the window (below offset) is
   a contract violation: asserted. */
START_TEST (log_compact_below_offset_aborts)
{
    zr_log_t log;
    s_figure7_window (&log, 5);
    zr_log_compact (&log, 4);
}
END_TEST

/* Figure 13 (step 7, "discard the entire log"): reset empties the log,
   drops every reference and restarts the window after the snapshot,
   whose term is kept for the consistency check. */
START_TEST (log_reset_restarts_window_after_index)
{
    zr_blob_t *blob = zr_blob_new (1);
    ck_assert_ptr_nonnull (blob);
    zr_log_t log;
    zr_log_init (&log);
    s_fill_blob (&log, blob, 1, 5);
    zr_log_reset (&log, 20, 7);
    ck_assert_uint_eq (s_refs (blob), 1);
    ck_assert_uint_eq (zr_log_last_index (&log), 20);
    ck_assert_uint_eq (zr_log_first_index (&log), 21);
    ck_assert_uint_eq (zr_log_bytes (&log), 0);
    ck_assert_uint_eq (zr_log_term (&log, 20), 7);
    ck_assert_uint_eq (zr_log_term (&log, 5), 0);
    ck_assert_uint_eq (zr_log_term_last (&log, 7), 20);
    ck_assert_uint_eq (zr_log_term_last (&log, 1), 0);
    zr_log_clear (&log);
    zr_blob_unref (&blob);
}
END_TEST

/* Figure 13 then Figure 2: after a reset the log grows again from the
   snapshot's index + 1, with terms not below the snapshot's. */
START_TEST (log_reset_then_append)
{
    zr_log_t log;
    zr_log_init (&log);
    s_fill (&log, s_figure7, 3);
    zr_log_reset (&log, 20, 7);
    zr_entry_t entry = s_entry (21, 7);
    ck_assert_int_eq (zr_log_append (&log, &entry), 0);
    entry = s_entry (22, 8);
    ck_assert_int_eq (zr_log_append (&log, &entry), 0);
    ck_assert_uint_eq (zr_log_last_index (&log), 22);
    ck_assert_uint_eq (zr_log_first_index (&log), 21);
    ck_assert_uint_eq (zr_log_get (&log, 21)->term, 7);
    ck_assert_uint_eq (zr_log_term (&log, 22), 8);
    ck_assert_uint_eq (zr_log_term_start (&log, 21), 21);
    zr_log_clear (&log);
}
END_TEST

/* Raft §5.3 (log.h note 2): after a reset the first entry may not have a
   term below the snapshot's: asserted. */
START_TEST (log_reset_append_lower_term_aborts)
{
    zr_log_t log;
    zr_log_init (&log);
    zr_log_reset (&log, 20, 7);
    zr_entry_t entry = s_entry (21, 6);
    (void) zr_log_append (&log, &entry);
}
END_TEST

/* Raft §7 (log.h note 4): the window never moves back: a reset to an
   index below the offset is asserted. */
START_TEST (log_reset_below_offset_aborts)
{
    zr_log_t log;
    s_figure7_window (&log, 5);
    zr_log_reset (&log, 4, 4);
}
END_TEST

/* Raft §7 (log.h note 3): a compacted entry is committed and is never
   truncated: truncating at the offset is asserted. */
START_TEST (log_truncate_at_offset_aborts)
{
    zr_log_t log;
    s_figure7_window (&log, 5);
    zr_log_truncate (&log, 5);
}
END_TEST

/* Raft §5.3 then §7: truncating at the window's first index empties the
   window but keeps the offset and its term. */
START_TEST (log_truncate_at_first_index_keeps_offset)
{
    zr_log_t log;
    s_figure7_window (&log, 5);
    zr_log_truncate (&log, 6);
    ck_assert_uint_eq (zr_log_last_index (&log), 5);
    ck_assert_uint_eq (zr_log_first_index (&log), 6);
    ck_assert_uint_eq (zr_log_term (&log, 5), 4);
    ck_assert_uint_eq (zr_log_bytes (&log), 0);
    zr_log_clear (&log);
}
END_TEST

/* Raft §5.3 (conflict hint) at the window's edge: the run of a term is
   cut at the first index held, even if it began before the offset. */
START_TEST (log_term_start_cut_at_window_edge)
{
    zr_log_t log;
    s_figure7_window (&log, 8);
    ck_assert_uint_eq (zr_log_term_start (&log, 10), 9);
    ck_assert_uint_eq (zr_log_term_start (&log, 9), 9);
    zr_log_compact (&log, 9);
    ck_assert_uint_eq (zr_log_term_start (&log, 10), 10);
    zr_log_clear (&log);
}
END_TEST

/* Raft §5.3 (leader back-off by terms) at the window's edge: a term
   whose last entry is the offset answers the offset; a term whose
   entries all were compacted answers 0. */
START_TEST (log_term_last_at_window_edge)
{
    zr_log_t log;
    s_figure7_window (&log, 7);
    ck_assert_uint_eq (zr_log_term_last (&log, 6), 10);
    ck_assert_uint_eq (zr_log_term_last (&log, 5), 7);
    ck_assert_uint_eq (zr_log_term_last (&log, 4), 0);
    ck_assert_uint_eq (zr_log_term_last (&log, 1), 0);
    zr_log_compact (&log, 10);
    ck_assert_uint_eq (zr_log_term_last (&log, 6), 10);
    ck_assert_uint_eq (zr_log_term_last (&log, 5), 0);
    zr_log_clear (&log);
}
END_TEST

//  --------------------------------------------------------------------------

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("log");
    TCase *tc = tcase_create ("log_term");
    tcase_add_test (tc, log_init_is_empty);
    tcase_add_test (tc, log_term_zero_and_beyond_end);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("log_append");
    tcase_add_test (tc, log_append_then_get);
    tcase_add_test (tc, log_append_takes_blob_reference);
    tcase_add_test (tc, log_append_accepts_equal_and_higher_terms);
    tcase_add_test (tc, log_append_grows_past_capacity);
    tcase_add_test_raise_signal (tc, log_append_decreasing_term_aborts,
                                 SIGABRT);
    tcase_add_test_raise_signal (tc, log_append_wrong_index_aborts, SIGABRT);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("log_get");
    tcase_add_test_raise_signal (tc, log_get_index_zero_aborts, SIGABRT);
    tcase_add_test_raise_signal (tc, log_get_beyond_end_aborts, SIGABRT);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("log_truncate");
    tcase_add_test (tc, log_truncate_removes_suffix);
    tcase_add_test (tc, log_truncate_drops_blob_references);
    tcase_add_test (tc, log_truncate_from_first_empties);
    tcase_add_test (tc, log_truncate_beyond_end_keeps_log);
    tcase_add_test_raise_signal (tc, log_truncate_index_zero_aborts, SIGABRT);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("log_term_start");
    tcase_add_test (tc, log_term_start_finds_first_index_of_term);
    tcase_add_test (tc, log_term_start_figure7_f);
    tcase_add_test_raise_signal (tc, log_term_start_index_zero_aborts, SIGABRT);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("log_term_last");
    tcase_add_test (tc, log_term_last_finds_last_index_of_term);
    tcase_add_test (tc, log_term_last_absent_term_is_zero);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("log_window");
    tcase_add_test (tc, log_term_at_below_and_above_offset);
    tcase_add_test (tc, log_compact_drops_prefix_bytes_and_references);
    tcase_add_test (tc, log_compact_whole_log_leaves_empty_window);
    tcase_add_test (tc, log_compact_shrinks_array);
    tcase_add_test_raise_signal (tc, log_compact_below_offset_aborts, SIGABRT);
    tcase_add_test (tc, log_reset_restarts_window_after_index);
    tcase_add_test (tc, log_reset_then_append);
    tcase_add_test_raise_signal (tc, log_reset_append_lower_term_aborts,
                                 SIGABRT);
    tcase_add_test_raise_signal (tc, log_reset_below_offset_aborts, SIGABRT);
    tcase_add_test_raise_signal (tc, log_truncate_at_offset_aborts, SIGABRT);
    tcase_add_test (tc, log_truncate_at_first_index_keeps_offset);
    tcase_add_test (tc, log_term_start_cut_at_window_edge);
    tcase_add_test (tc, log_term_last_at_window_edge);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    SRunner *runner = srunner_create (s_suite ());
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
