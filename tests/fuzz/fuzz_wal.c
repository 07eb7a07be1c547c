/*  =========================================================================
    fuzz_wal - zr_wal_open recovering from arbitrary segment files

    The input is the content of up to S_SEGMENTS_MAX segments of a fresh
    WAL directory, split by S_SPLIT: piece k is segment k + 1. A piece
    that opens with S_CLOSED and two u64 (first, last, little-endian) is
    written under the closed name wal-<seq>-<first>-<last>.seg, the rest
    under wal-<seq>.seg; an empty piece writes no file (a compacted or
    lost segment). An input that ends with S_SNAP and one byte b opens
    the WAL with snap_index b (else 0), the last index of a snapshot the
    caller holds. Each file is padded with zeros to the segment size
    zr_wal_open is given, ZR_WAL_SEGMENT_BYTES_MIN, as zr_wal_append's
    files always are (wal.h invariant 3: a segment has its full size
    from creation), so inputs stay small and the seeds, real WALs
    written by zr_wal_append (tests/fuzz/seeds.c) with their zero tails
    cut, reach the record decoder. That size is 1 KiB in the libFuzzer
    build (Makefile, VARIANT=fuzz) and 64 KiB in the replay test: the
    WAL scans every zero of a segment, instrumented, and 64 KiB made a
    run cost a millisecond; at 1 KiB an input can also fill a segment
    and reach the switch to the next. An input of odd length opens the WAL
    with segment_bytes twice the files' size (the operator raised it
    between two runs) and, after recovery, writes an entry of S_GROWN
    bytes, too big for the old segments. Checks:
    - zr_wal_open returns 0 or ZR_ECORRUPT with a reason in errmsg, and
      on error leaves *wal_p NULL and the state zeroed (ZR_EIO would mean
      the harness's disk failed, ZR_ENOMEM cannot happen here);
    - allocation stays within the bound below (S_ALLOC_*);
    - a recovered log keeps wal.h invariant (4) and the window rule of
      zr_wal_open: its first entry is at most max (snap_index, log
      start) + 1; it holds no more payload than the files;
    - recovery is final: after it the target does what the node does
      (actors/node.c: a log that stops short of the snapshot restarts
      after it, zr_wal_set_start), writes an entry and a hard state,
      and a second open with the same snap_index finds nothing torn,
      the new hard state, and the same log plus that entry, less a
      prefix of entries the snapshot covers (closed segments it deletes
      unread, invariant 10);
    - no file descriptor outlives zr_wal_destroy.
    The directory is tests/fuzz/scratch.c's. Between inputs the LOCK
    the WAL made stays, as in any directory used once, and a segment
    file named as one of the input before is overwritten, not deleted
    and made again (cheaper on tmpfs; the bytes are the same).
    =========================================================================
*/
#include "../../actors/wal.h"
#include "fuzz.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

const char fuzz_target [] = "wal";

/* Separates the segments of an input. */
#define S_SPLIT "ZRSPLIT2"
#define S_SPLIT_BYTES (sizeof S_SPLIT - 1)
/* Opens a segment to be written under a closed name, then u64 first and
   u64 last. */
#define S_CLOSED "ZRCLOSED"
#define S_CLOSED_BYTES (sizeof S_CLOSED - 1 + 16)
/* Then a byte, snap_index: ends the input. */
#define S_SNAP "ZRSNAPIX"
#define S_SNAP_BYTES (sizeof S_SNAP - 1)
/* Segments an input may hold. */
#define S_SEGMENTS_MAX 3

/* Allocation bound: S_ALLOC_FILE_MULTIPLE x the bytes of the segment
   files, for the read buffer (one file at a time, its size + 1 rounded
   up to a power of two by doubling: 4 x) and the payloads, which may be
   the zeros a file is padded with (the payload buffer, doubling, and
   its final blob: 3 x); plus S_ALLOC_MULTIPLE x the input, which holds
   every record header: the entry array (a 40-byte zr_entry_t per record
   of at least 32 bytes, doubling); plus S_ALLOC_CONSTANT for opendir's
   32 KiB buffer and the zr_wal_t. */
#define S_ALLOC_FILE_MULTIPLE 8
#define S_ALLOC_MULTIPLE 16
#define S_ALLOC_CONSTANT (64 * 1024)

/* Payload bytes of the entry written after a successful recovery: a
   few, or, in S_GROWN mode, more than an old segment holds. */
#define S_PAYLOAD_BYTES 16
#define S_GROWN ZR_WAL_SEGMENT_BYTES_MIN

static const char *s_dir;                /* fuzz_scratch_dir () */
static uint8_t s_payload [S_GROWN];     /* of the entry written after */

static uint64_t
s_le64 (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t) p [i] << (8 * i);
    return v;
}

/* A segment file an input asks for. */
typedef struct {
    char name [64];                     /* its name in the directory */
    const uint8_t *data;                /* its bytes (S_CLOSED's cut off) */
    size_t size;
} s_file_t;

/* Names segment seq from a piece of the input: closed if it opens with
   S_CLOSED (whose bytes are then cut off), else open. Returns false for
   an empty piece, which writes no file. */
static bool
s_file_plan (s_file_t *file, uint64_t seq, const uint8_t *data, size_t size)
{
    if (size == 0)
        return false;
    if (size >= S_CLOSED_BYTES
        && memcmp (data, S_CLOSED, sizeof S_CLOSED - 1) == 0) {
        const uint8_t *range = data + sizeof S_CLOSED - 1;
        snprintf (file->name, sizeof file->name, "wal-%016llx-%016llx-%016llx.seg",
                  (unsigned long long) seq, (unsigned long long) s_le64 (range),
                  (unsigned long long) s_le64 (range + 8));
        data += S_CLOSED_BYTES;
        size -= S_CLOSED_BYTES;
    }
    else
        snprintf (file->name, sizeof file->name, "wal-%016llx.seg",
                  (unsigned long long) seq);
    file->data = data;
    file->size = size;
    return true;
}

/* Splits an input (S_SNAP's tail cut off) into its segment files.
   Returns how many (at most S_SEGMENTS_MAX). */
static size_t
s_files_plan (const uint8_t *data, size_t size, s_file_t *files)
{
    size_t n = 0;
    for (uint64_t seq = 1; seq <= S_SEGMENTS_MAX; seq++) {
        const uint8_t *split = seq < S_SEGMENTS_MAX
            ? (const uint8_t *) memmem (data, size, S_SPLIT, S_SPLIT_BYTES)
            : NULL;
        size_t piece = split ? (size_t) (split - data) : size;
        n += s_file_plan (&files [n], seq, data, piece);
        if (!split)
            break;
        data += piece + S_SPLIT_BYTES;
        size -= piece + S_SPLIT_BYTES;
    }
    return n;
}

/* Writes a segment file: its bytes, then zeros up to a segment. A file of
   that name left by the input before is overwritten, not re-created.
   Returns the file's size. */
static size_t
s_file_write (const s_file_t *file)
{
    int fd = openat (fuzz_scratch_fd (), file->name,
                     O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK (fd >= 0);
    FUZZ_CHECK (write (fd, file->data, file->size) == (ssize_t) file->size);
    if (file->size < ZR_WAL_SEGMENT_BYTES_MIN)
        FUZZ_CHECK (ftruncate (fd, ZR_WAL_SEGMENT_BYTES_MIN) == 0);
    close (fd);
    return file->size < ZR_WAL_SEGMENT_BYTES_MIN ? ZR_WAL_SEGMENT_BYTES_MIN
                                                 : file->size;
}

/* Makes the directory hold the input's segment files and the WAL's LOCK
   (kept from the input before, as in any directory used once) and
   nothing else. Returns the bytes of the segment files. */
static size_t
s_segments_write (const uint8_t *data, size_t size)
{
    s_file_t files [S_SEGMENTS_MAX];
    size_t n = s_files_plan (data, size, files);
    const char *keep [S_SEGMENTS_MAX + 1] = {"LOCK"};
    for (size_t i = 0; i < n; i++)
        keep [i + 1] = files [i].name;
    fuzz_scratch_clear_except (keep, n + 1);
    size_t disk = 0;
    for (size_t i = 0; i < n; i++)
        disk += s_file_write (&files [i]);
    return disk;
}

/* Checks invariant (4), the window rule and the payload bound on a
   recovered state from disk bytes of files. */
static void
s_check_state (const zr_wal_state_t *state, size_t size, size_t disk,
               zr_index_t snap_index)
{
    FUZZ_CHECK ((state->n_entries > 0) == (state->entries != NULL));
    zr_index_t covered = state->start_index > snap_index
                       ? state->start_index : snap_index;
    FUZZ_CHECK (state->n_entries == 0 || (state->entries [0].index >= 1
                && state->entries [0].index <= covered + 1));
    uint64_t payload = 0;
    for (uint32_t i = 0; i < state->n_entries; i++) {
        const zr_entry_t *e = &state->entries [i];
        /* Invariant (4): consecutive from the first recovered, which
           follows the log start (LOGSTART) when there is one. */
        FUZZ_CHECK (e->index == state->entries [0].index + i);
        FUZZ_CHECK (state->start_index == 0 || state->entries [0].index > state->start_index);
        FUZZ_CHECK (zr_entry_type_valid (e->type));
        FUZZ_CHECK (e->size <= ZR_ENTRY_BYTES_MAX);
        FUZZ_CHECK ((e->size > 0) == (e->data != NULL));
        FUZZ_CHECK ((e->size > 0) == (e->blob != NULL));
        payload += e->size;
    }
    /* Payload bytes come from the files: the input, or the zeros a
       segment is padded with (a seed's entry of zeros is cut from it). */
    FUZZ_CHECK (payload <= disk);
    FUZZ_CHECK (state->torn_bytes <= size);
}

/* After recovery, does what the node does (actors/node.c): a log that
   stops short of the snapshot restarts after it. Then writes one entry
   of size bytes and a hard state, syncs. Returns true if the log was
   restarted. */
static bool
s_append_after (zr_wal_t *wal, const zr_wal_state_t *state,
                zr_index_t snap_index, uint32_t size)
{
    zr_index_t last = state->n_entries
                    ? state->entries [state->n_entries - 1].index : state->start_index;
    zr_term_t last_term = state->n_entries
                        ? state->entries [state->n_entries - 1].term : state->start_term;
    bool restart = last < snap_index;
    FUZZ_CHECK (zr_wal_last_index (wal) == (restart ? snap_index : last));
    if (restart)
        FUZZ_CHECK (zr_wal_set_start (wal, snap_index, last_term + 1) == 0);
    zr_entry_t entry = {.term = last_term + 1, .index = zr_wal_last_index (wal) + 1,
                        .type = ZR_ENTRY_COMMAND, .size = size,
                        .data = s_payload};
    FUZZ_CHECK (zr_wal_append (wal, &entry, 1) == 0);
    FUZZ_CHECK (zr_wal_set_hard_state (wal, state->term, 1) == 0);
    char errmsg [256];
    FUZZ_CHECK (zr_wal_sync (wal, errmsg, sizeof errmsg) == 0);
    return restart;
}

/* Opens the WAL again and checks it holds the hard state, the entry
   s_append_after wrote, nothing torn, and before the entry first's log
   (none if restarted) less a prefix the snapshot covers. */
static void
s_check_reopen (const zr_wal_state_t *first, size_t segment_bytes,
                zr_index_t snap_index, bool restart, uint32_t size)
{
    zr_wal_t *wal = NULL;
    zr_wal_state_t state;
    char errmsg [256];
    int rc = zr_wal_open (s_dir, segment_bytes, snap_index, &wal, &state,
                          errmsg, sizeof errmsg);
    if (rc)
        fprintf (stderr, "fuzz_wal: reopen: %s\n", errmsg);
    FUZZ_CHECK (rc == 0);
    FUZZ_CHECK (state.torn_bytes == 0);
    FUZZ_CHECK (state.term == first->term && state.vote == 1);
    uint32_t kept = restart ? 0 : first->n_entries;
    FUZZ_CHECK (state.n_entries >= 1 && state.n_entries <= kept + 1);
    if (restart)
        FUZZ_CHECK (state.start_index == snap_index);
    uint32_t dropped = kept + 1 - state.n_entries;
    for (uint32_t i = 0; i < dropped; i++)
        FUZZ_CHECK (first->entries [i].index <= snap_index);
    for (uint32_t i = dropped; i < kept; i++) {
        const zr_entry_t *x = &first->entries [i];
        const zr_entry_t *y = &state.entries [i - dropped];
        FUZZ_CHECK (x->index == y->index);
        FUZZ_CHECK (x->term == y->term && x->type == y->type);
        FUZZ_CHECK (x->size == y->size);
        FUZZ_CHECK (x->size == 0 || memcmp (x->data, y->data, x->size) == 0);
    }
    const zr_entry_t *last = &state.entries [state.n_entries - 1];
    FUZZ_CHECK (last->size == size);
    FUZZ_CHECK (memcmp (last->data, s_payload, size) == 0);
    zr_entries_destroy (&state.entries, state.n_entries);
    zr_wal_destroy (&wal);
}

/* Checks what a failed open promises. */
static void
s_check_refused (int rc, const zr_wal_t *wal, const zr_wal_state_t *state,
                 const char *errmsg)
{
    FUZZ_CHECK (rc == ZR_ECORRUPT);
    FUZZ_CHECK (errmsg [0] != '\0');
    FUZZ_CHECK (wal == NULL);
    FUZZ_CHECK (state->entries == NULL && state->n_entries == 0);
    FUZZ_CHECK (state->term == 0 && state->vote == 0);
    FUZZ_CHECK (state->torn_bytes == 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_dir) {
        for (size_t i = 0; i < sizeof s_payload; i++)
            s_payload [i] = (uint8_t) (i * 13 + 5);
        s_dir = fuzz_scratch_dir ();
    }
    const uint8_t *snap = (const uint8_t *) memmem (data, size, S_SNAP,
                                                    S_SNAP_BYTES);
    size_t body = size;
    zr_index_t snap_index = 0;
    if (snap && (size_t) (snap - data) + S_SNAP_BYTES < size) {
        body = (size_t) (snap - data);
        snap_index = snap [S_SNAP_BYTES];
    }
    size_t disk = s_segments_write (data, body);
    bool grown = size % 2 == 1;
    size_t segment_bytes = ZR_WAL_SEGMENT_BYTES_MIN * (grown ? 2 : 1);
    uint32_t payload = grown ? S_GROWN : S_PAYLOAD_BYTES;
    int fds = fuzz_fd_free ();
    zr_wal_t *wal = NULL;
    zr_wal_state_t state;
    char errmsg [256] = "";
    fuzz_alloc_begin ();
    int rc = zr_wal_open (s_dir, segment_bytes, snap_index, &wal, &state,
                          errmsg, sizeof errmsg);
    FUZZ_ALLOC_WITHIN (fuzz_alloc_bytes (), size, S_ALLOC_MULTIPLE,
                       S_ALLOC_FILE_MULTIPLE * disk + S_ALLOC_CONSTANT);
    if (rc) {
        s_check_refused (rc, wal, &state, errmsg);
        FUZZ_CHECK (fuzz_fd_free () == fds);
        return 0;
    }
    FUZZ_CHECK (wal);
    s_check_state (&state, size, disk, snap_index);
    bool restart = s_append_after (wal, &state, snap_index, payload);
    zr_wal_destroy (&wal);
    s_check_reopen (&state, segment_bytes, snap_index, restart, payload);
    zr_entries_destroy (&state.entries, state.n_entries);
    FUZZ_CHECK (fuzz_fd_free () == fds);
    return 0;
}
