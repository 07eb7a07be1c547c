/*  =========================================================================
    wal - the write-ahead log of one server: segment files on disk

    The WAL makes a server's Raft state durable: the hard state (current
    term and vote) and a window of the log entries. Records are queued in
    memory by zr_wal_set_hard_state, zr_wal_set_start and zr_wal_append
    and made durable together by zr_wal_sync, one pwrite per segment
    touched and one fdatasync per segment (group commit). zr_wal_open
    replays what the directory holds from the newest snapshot on;
    zr_wal_compact deletes whole segments behind a snapshot; a
    zr_wal_reader_t reads entries by index on any other thread.

    This module uses libc and POSIX only: no czmq, no threads, no logging
    (zr_wal_spare_prepare and the reader may run on other threads, see
    below). The persister actor wraps it, owns its thread, and logs the
    one-line errors this module writes into the caller's errmsg buffer.
    It does not write snapshots or decide when to compact: the caller
    says which index a snapshot covers.

    Design notes
    ------------
    Definitions. A segment is a file of a fixed size, preallocated by
    writing zeros, with a sequence number seq. Records are appended in
    place over those zeros. The "current" segment receives appends; the
    "spare" is the next segment (seq + 1), prepared before it is needed.
    The "last data segment" is the highest-numbered segment holding any
    non-zero byte after its header; segments after it are empty spares.
    A "closed" segment is one the WAL switched away from: full, synced,
    never written again. The log is a window: a snapshot (the persister's
    concern) holds what compaction deleted.

    File names (16 lower-case hex digits each):
        wal-<seq>.seg                 current, spare, or not yet renamed
        wal-<seq>-<first>-<last>.seg  closed; first..last bounds the
                                      indexes its records write
        wal-<seq>.seg.tmp             a segment being prepared
        LOCK                          the directory's lock (invariant 8)
    Recovery reads segments in seq order. The name keeps seq because
    indexes alone cannot order segments: after a truncation a later
    segment rewrites lower indexes than an earlier one. A LOGSTART that
    resets the log counts as writing indexes 1..S (it discards them).

    Segment header (32 bytes, at offset 0):

        offset  size  field
        0       8     magic "ZRWAL\0\0\1"
        8       8     u64 sequence number (equals the one in the file name)
        16      4     u32 crc32c of bytes 0..15
        20      8     u64 the file's size when created (0 in segments
                      from before it was recorded: not checked)
        28      4     u32 crc32c of bytes 0..27 (0 with a size of 0)

    Record (8-byte aligned, starting at offset 32; little-endian):

        offset  size  field
        0       4     u32 crc32c of bytes 4 .. 32 + length
        4       4     u32 payload length (0 unless ENTRY)
        8       1     u8 record type: 1 ENTRY, 2 HARDSTATE, 3 LOGSTART
        9       1     u8 entry type (zr_entry_type_t) for ENTRY; for
                      LOGSTART 0 (reset) or 1 (restated by a preamble);
                      0 for HARDSTATE
        10      2     u16 reserved, zero
        12      8     u64 term
        20      8     u64 index (ENTRY, LOGSTART) or vote (HARDSTATE)
        28      4     reserved, zero (keeps the payload 8-byte aligned)
        32      len   payload
        32+len  pad   zeros up to the next multiple of 8 (outside the
                      crc, so a record with non-zero padding is bad)

    A header of 32 zero bytes marks the end of data in a segment.

    Invariants:
    (1) A record never spans segments. One that does not fit in the rest
        of the current segment goes to the next one; the rest stays zero.
    (2) A segment is fdatasync'd before the first byte is written to the
        next one. So every segment before the last data segment is fully
        durable, and a bad record there is corruption, never a torn write.
    (3) Segments are created under a temporary name, zero-filled,
        fdatasync'd, renamed, and the directory fsync'd: a file with a
        final name always has its full size and a valid header. Appends
        overwrite zeros in place, so fdatasync never updates the size.
        A segment whose size is not the one its header records was cut
        short or extended since: refused (ZR_ECORRUPT), never replayed.
    (4) Replay: HARDSTATE sets (term, vote). LOGSTART (S, T) reset
        empties the log and sets last = S (a follower installed a
        snapshot); a restated one (preamble, invariant 9) only sets the
        start when it is the first record of the replay. ENTRY with index
        i requires start < i <= last + 1, truncates the log to i - 1, then
        appends; the first entry replayed sets the log's first index
        (segments before it were compacted), and one below it that
        follows restarts the log there (it truncates into the compacted
        segments, as after a conflict across a segment boundary). The
        recovered log is
        first..last with entries[k].index == first + k, and first must be
        1, S + 1, or covered by the snapshot (ZR_ECORRUPT otherwise).
    (5) Recovery truncates only a torn tail: bad bytes at offset X of the
        last data segment with no valid record after X. Anything else
        that is bad (a non-last segment, valid records after X, a gap in
        sequence numbers or indexes) is refused with ZR_ECORRUPT, because
        dropping it could drop an acknowledged entry (DESIGN.md Storage).
        Known cost: if the disk persisted later pages of an unsynced write
        but not an earlier one, valid records follow the hole and open
        refuses although nothing acknowledged is at stake; the WAL cannot
        tell that case from corruption, so an operator decides.
    (6) After an I/O error the WAL is in a sticky error state: every later
        call fails with ZR_EIO, so nothing is acknowledged after a failed
        write or fdatasync (its outcome on disk is unknown).
    (7) Memory: one record buffer and one chunk array, kept between syncs;
        the append path does no syscall and no allocation beyond their
        amortised growth.
    (8) One process per data directory (DESIGN.md Storage): zr_wal_open
        takes an exclusive flock on dir/LOCK and holds it until
        zr_wal_destroy. flock locks belong to an open file description, so
        a second zr_wal_open of the same directory in the same process is
        refused too. The lock holds only while LOCK names the file locked
        (zr_wal_discard removes it): s_lock checks that after the flock
        and tries again if not.
    (9) Every segment starts with a preamble: the HARDSTATE and, once set,
        the LOGSTART (restated) queued before its first record, so deleting
        older segments never loses the vote or the window's start term. A
        preamble may restate a hard state queued but not yet durable: it is
        synced in the same zr_wal_sync, after the segment holding the
        original (invariant 2), so it is never durable alone.
    (10) At a switch the old segment is renamed to its closed name. The
        rename becomes durable with the next directory fsync (a spare's
        creation, zr_wal_compact, zr_wal_open); a crash before it leaves
        the open name, which recovery accepts and renames (it checks a
        closed name against the records it scans). An open name beside
        a closed one for the same seq (a directory copied over an older
        copy) is the older and is deleted. Compaction and
        zr_wal_open (snap_index) pick files by name without reading them,
        and only a prefix: the oldest closed segments whose indexes are
        all covered. zr_wal_open keeps the newest closed segment: a crash
        right after a switch may have lost the next segment's records,
        preamble included, and then only the closed one holds the latest
        hard state (the next segment becomes current on reopen).
    (11) The reader shares nothing with the writer but the files. Closed
        segments are immutable; an open one is read only up to its first
        zero, torn or half-written record, and only entries <= durable
        are returned, whose bytes were synced before the caller learnt
        durable. Its index (segment -> index range; names give closed
        ones, loading gives open ones) is relisted only when a lookup
        misses, such as a file renamed or compacted under it (a cached
        copy of a deleted segment is not served). The entry
        for index i is the one in the newest segment writing i or below,
        replayed by the rules of invariant 4.
    =========================================================================
*/
#ifndef ZR_WAL_H_INCLUDED
#define ZR_WAL_H_INCLUDED

#include "../raft/raft.h"

/* Smallest and largest segment size accepted by zr_wal_open. The fuzz
   build (Makefile, VARIANT=fuzz) lowers the smallest, so that the WAL
   target's segments are a few records long. */
#ifndef ZR_WAL_SEGMENT_BYTES_MIN
#define ZR_WAL_SEGMENT_BYTES_MIN (64u * 1024u)
#endif
#define ZR_WAL_SEGMENT_BYTES_MAX (1024u * 1024u * 1024u)

typedef struct _zr_wal_t zr_wal_t;

/* What zr_wal_open recovered. */
typedef struct {
    zr_term_t term;                     /* last durable current term */
    zr_id_t vote;                       /* vote in that term, 0 if none */
    zr_index_t start_index;             /* last log start (zr_wal_set_start)
                                           recovered, 0 if never set */
    zr_term_t start_term;               /* term of entry start_index, or 0 */
    /* Recovered log, entries[i].index == first + i, where first is
       start_index + 1 after a log start, else the oldest entry kept (1
       unless segments were compacted). ONE zr_blob_t holds all
       payloads (each entry with size > 0 holds a reference to it; empty
       entries have data and blob NULL). Caller owns: zr_entries_destroy
       (&entries, n_entries). NULL when n_entries is 0. */
    zr_entry_t *entries;
    uint32_t n_entries;                 /* entries in the recovered log */
    uint64_t torn_bytes;                /* torn tail bytes zeroed, 0 if clean */
} zr_wal_state_t;

/* Counters for benchmarks. */
typedef struct {
    uint64_t syncs;                     /* data fdatasyncs by zr_wal_sync */
    uint64_t bytes;                     /* record bytes written, padding too */
    uint64_t records;                   /* records written */
} zr_wal_stats_t;

/* Opens the WAL in directory dir (created if missing, mode 0700),
   recovering what it holds (invariants 4, 5), removes temp files left by
   a crash, and makes the current segment and a spare ready for appends.
   snap_index: the last index of the newest valid snapshot, 0 if none;
   closed segments it covers are deleted unread (invariant 10), and the
   recovered entries must start at or before snap_index + 1 (or the log
   start + 1), else ZR_ECORRUPT ("gap: ...").
   segment_bytes: size of each new segment, asserted within
   [ZR_WAL_SEGMENT_BYTES_MIN, ZR_WAL_SEGMENT_BYTES_MAX]. On success
   returns 0, *wal_p is owned by the caller (zr_wal_destroy) and *state is
   filled (the caller owns its entries). A torn tail is zeroed on disk and
   reported in state->torn_bytes. On failure returns ZR_EIO (the errno
   text is in errmsg), ZR_ECORRUPT or ZR_ENOMEM, writes a one-line reason
   naming the file and offset into errmsg (if not NULL), leaves *wal_p
   NULL and *state zeroed. ZR_ELOCKED: another zr_wal_t (in this or
   another process) holds the directory (invariant 8). */
int zr_wal_open (const char *dir, size_t segment_bytes, zr_index_t snap_index,
                 zr_wal_t **wal_p, zr_wal_state_t *state, char *errmsg,
                 size_t errlen);

/* Queues a hard-state record (term, vote). Buffered: durable after
   zr_wal_sync. Returns 0, or ZR_EIO in the sticky error state. */
int zr_wal_set_hard_state (zr_wal_t *self, zr_term_t term, zr_id_t vote);

/* Queues a log start (index, term), index >= 1: the log is now empty
   and resumes at index + 1; entry index (in a snapshot) has term term.
   Written when a follower installs a snapshot. zr_wal_last_index is then
   index. Buffered: durable after zr_wal_sync. Returns 0, or ZR_EIO in the
   sticky error state. */
int zr_wal_set_start (zr_wal_t *self, zr_index_t index, zr_term_t term);

/* Queues n entries (borrowed: payloads are copied). Asserts
   log start < entries[0].index <= last_index + 1, consecutive indexes, known
   entry types, size <= ZR_ENTRY_BYTES_MAX. An entry whose index <= the
   current last index truncates the log from that index first (the
   conflicting suffix). Buffered: durable after zr_wal_sync. Returns 0,
   ZR_ETOOBIG (nothing queued) if an entry is larger than a segment can
   hold, or ZR_EIO in the sticky error state. */
int zr_wal_append (zr_wal_t *self, const zr_entry_t *entries, uint32_t n);

/* Writes everything queued: one pwrite and one fdatasync per segment
   touched, in segment order (invariant 2). A call with nothing queued
   does no syscall. Unless spares come from zr_wal_spare_* (below), also
   prepares the next spare segment once the current one is half full.
   Returns 0, or ZR_EIO with a reason in errmsg
   (if not NULL); after an I/O error every later call returns ZR_EIO
   (invariant 6) and the queued records are dropped. */
int zr_wal_sync (zr_wal_t *self, char *errmsg, size_t errlen);

/* Spare segments prepared on another thread. Creating a segment (zero
   fill, fdatasync, rename, directory fsync) takes tens of milliseconds;
   done inside zr_wal_sync it holds back every acknowledgement queued
   behind it. The owner asks zr_wal_spare_wanted after each sync; when it
   returns true, any thread runs zr_wal_spare_prepare (job), and the
   owner hands the job back with zr_wal_spare_done. Before a zr_wal_sync
   for which zr_wal_spare_awaited is true, the owner must collect the job
   first. The first call to zr_wal_spare_wanted stops zr_wal_sync from
   preparing spares itself; a segment switch without a spare still
   creates one on the spot. */
typedef struct {
    int dir_fd;                         /* the WAL's directory (a dup, the job's) */
    uint64_t seq;                       /* the segment to create */
    size_t segment_bytes;               /* its size */
    int fd;                             /* out: the segment, open, or -1 */
    int rc;                             /* out: 0 or ZR_EIO */
    char error [256];                   /* out: why it failed */
} zr_wal_spare_t;

/* Returns true and fills *job when a spare should be prepared now (the
   current segment is half full and no spare is ready or pending). */
bool zr_wal_spare_wanted (zr_wal_t *self, zr_wal_spare_t *job);

/* Creates the segment job names. Touches no zr_wal_t: safe on any
   thread while the owner goes on using the WAL. */
void zr_wal_spare_prepare (zr_wal_spare_t *job);

/* Releases a job nobody will hand back (its WAL is gone or failed): closes
   its descriptors. A segment it created stays, complete, for the next
   zr_wal_open to use as its spare. */
void zr_wal_spare_discard (zr_wal_spare_t *job);

/* True when records queued for the next zr_wal_sync need the segment a
   pending job is creating: collect the job before syncing. */
bool zr_wal_spare_awaited (zr_wal_t *self);

/* Takes a prepared job back: installs its segment as the spare and
   returns 0, or returns the job's error (the WAL then creates the spare
   itself at the switch, where a real disk error becomes sticky). Closes
   the job's descriptors either way. */
int zr_wal_spare_done (zr_wal_t *self, zr_wal_spare_t *job);

/* Deletes, oldest first, the closed segments (invariant 10) whose
   records write only indexes <= upto, stopping at the first that writes
   a higher one (a later segment never replays without the ones before
   it), then fsyncs the directory once. Never deletes the current
   segment; a deleted segment's hard state and log start live on in the
   preambles after it (invariant 9). The caller holds a snapshot covering
   upto. Unlinks only: no data is read or written. Returns 0, or ZR_EIO
   (the WAL enters the sticky error state; the reason is reported by the
   next zr_wal_sync). */
int zr_wal_compact (zr_wal_t *self, zr_index_t upto);

/* Returns the index of the last entry queued or recovered, the log
   start if higher, or after zr_wal_open the snap_index if higher still
   (all entries compacted); 0 if none. */
zr_index_t zr_wal_last_index (zr_wal_t *self);

/* Copies the counters into *stats. */
void zr_wal_stats (zr_wal_t *self, zr_wal_stats_t *stats);

/* Closes files (syncing nothing further: queued records are lost), frees
   everything and NULLs *self_p. Idempotent on a NULL *self_p. */
void zr_wal_destroy (zr_wal_t **self_p);

/* For a start that failed after zr_wal_open: if that open made LOCK
   and, under the lock, found nothing else in the directory, and nothing
   was queued or recovered since (a fresh, empty log), removes the two
   segments the open made, then LOCK, then the directory if the open
   made it and nothing else is in it, so that a failed first start
   leaves no preallocated files behind; then destroys. Otherwise
   zr_wal_destroy. zr_wal_open does the same when it fails. A process
   that opened LOCK before it was removed and locks it after finds that
   LOCK names another file (or none) and tries again. */
void zr_wal_discard (zr_wal_t **self_p);

/* A reader of entries by index, for a thread other than the writer's
   (invariant 11): followers far behind, InstallSnapshot, bus
   subscribers catching up. */
typedef struct _zr_wal_reader_t zr_wal_reader_t;

/* Creates a reader of the WAL in dir. Opens the directory only: the
   index of segments is listed by the first zr_wal_read. Takes no lock;
   any number of readers may run beside the one writer. Returns NULL if
   dir cannot be opened. Caller owns it (zr_wal_reader_destroy). */
zr_wal_reader_t *zr_wal_reader_new (const char *dir);

/* Reads entries from..min (to, durable), as many as fit in bytes_max
   payload bytes but at least one, into *entries_p (caller owns:
   zr_entries_destroy (entries_p, *n_p)); ONE zr_blob_t holds their
   payloads, as for zr_wal_open, and entries[i].index == from + i.
   durable: an index the writer reported synced, so its records are
   complete on disk; nothing above it is returned. Returns 0 (with
   *n_p == 0 only if from > min (to, durable)), ZR_ECOMPACTED if from is
   no longer in the log (compacted, or before a log start), ZR_ECORRUPT
   if the entries cannot be found or a segment is damaged, or ZR_EIO.
   The reader keeps three segments loaded, with where each record
   starts: a closed one is read once (then one fstatat a call checks it
   was not compacted), an open one is read on from where its records
   stopped. A read racing a truncation of the range (entries above the
   commit index only) may return either version. */
int zr_wal_read (zr_wal_reader_t *self, zr_index_t from, zr_index_t to,
                 size_t bytes_max, zr_index_t durable, zr_entry_t **entries_p,
                 uint32_t *n_p);

/* Frees the reader and NULLs *self_p. Idempotent on a NULL *self_p. */
void zr_wal_reader_destroy (zr_wal_reader_t **self_p);

/* Writes all len bytes of data at offset off of fd, retrying short
   writes and EINTR. Returns 0, or -1 with errno set (EIO for a write
   that made no progress). Shared by the snapshot files. */
int zr_wal_pwrite_all (int fd, const uint8_t *data, size_t len, uint64_t off);

/* Returns crc32c (Castagnoli) of size bytes at data, continuing from
   crc (0 to start). crc32c ("123456789") == 0xE3069283. */
uint32_t zr_wal_crc32c (uint32_t crc, const void *data, size_t size);

/* For tests only: makes the next zr_wal_sync with data fail as if the
   disk reported EIO, which puts the WAL in the sticky error state. */
void zr_wal_test_fail (zr_wal_t *self);

#endif
