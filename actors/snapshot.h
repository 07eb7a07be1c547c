/*  =========================================================================
    snapshot - snapshot files of one server: write, find, verify, read

    A snapshot file holds the state as of a log index (the message bus's
    section and the state machine's bytes), with that index, its term
    and the server configuration as of it. A
    writer streams the bytes into a temporary file and commits it
    (fdatasync, rename, directory fsync); zr_snapshot_find picks the
    newest file at startup and verifies every byte of it; a reader serves
    random-access reads (InstallSnapshot chunks, restore); prune deletes
    the files a newer snapshot makes useless.

    This module uses libc and POSIX only: no czmq, no threads, no logging,
    so any actor may call it on its own thread. Errors come back as a
    ZR_E* code and a one-line reason naming the file and offset in the
    caller's errmsg buffer, which the calling actor logs. It does not
    decide when to snapshot or compact the log (the persister and the node
    do), and it does not serialise the state machine (the application
    does: the data is opaque bytes here).

    Design notes
    ------------
    Definitions. A snapshot file is `snap-<index>-<term>.zsnap` (each 16
    lowercase hex digits) in the snapshot directory; while it is written
    it is `snap-<index>-<term>.zsnap.tmp`. Names sort like (index, term),
    so the newest snapshot is found by name alone. The directory may be
    the WAL's: the two modules' names never collide.

    File layout (little-endian):

        offset  size  field
        0       8     magic "ZRSNAP\0\0"
        8       4     u32 format version (ZR_SNAPSHOT_VERSION, 2)
        12      4     u32 header bytes H, both crcs included
        16      4     u32 flags: 0 (any set bit is a feature this build
                      does not know: refused with ZR_EVERSION)
        20      4     u32 n_servers, 1 .. ZR_NODES_MAX
        24      8     u64 index: last log index the snapshot includes, >= 1
        32      8     u64 term of that entry, >= 1
        40      8     u64 data size, <= ZR_SNAPSHOT_BYTES_MAX
        48      4     u32 crc32c of the data
        52      var   n_servers times: u32 id (1 .. ZR_NODES_MAX, distinct),
                      u8 endpoint length L (1 .. 255), L bytes of endpoint
                      (no NUL byte)
        H-4     4     u32 crc32c of bytes 0 .. H-4
        H       size  data

    The data (what InstallSnapshot carries, byte for byte):
        0       8     u64 B, the bus section's bytes (B <= size - 8)
        8       B     the message bus's section (actors/bus.h)
        8+B     rest  the state machine's bytes (fsm.snapshot's)
    This module writes and reads the data as opaque bytes; the applier
    assembles and splits it (zr_snapshot_data_split).

    Bytes 0..15 and the header crc at H-4 keep their meaning in every
    format version, so a reader can check the crc of a header whose layout
    it does not know and tell a newer file (ZR_EVERSION) from a damaged
    one (ZR_ECORRUPT). Version 1 (before the bus section: its data was the
    state machine's bytes alone) has version 2's header; this build
    refuses it (ZR_EVERSION, saying so) rather than guess at its data.

    Invariants:
    (1) A file with a final name is complete: the writer writes data, then
        the header, fdatasyncs, renames and fsyncs the directory. A crash
        at any point before the rename leaves only a temp file, which
        zr_snapshot_find deletes.
    (2) Nothing read from a file is trusted: every field is checked
        against its range, H against the fields, the data size against
        the file's length, before any byte of data is used; no allocation
        depends on a size the file claims. The header is read into a
        fixed buffer of ZR_SNAPSHOT_HEADER_MAX bytes.
    (3) zr_snapshot_find never falls back to an older snapshot when the
        newest is damaged: the log may already be compacted past the
        older one, and restoring it would silently lose committed entries
        (DESIGN.md Storage: refuse with a clear error, an operator
        decides). Prune keeps the newest file, so a snapshot always
        survives pruning.
    (4) After an I/O error a writer is in a sticky error state: every
        later call fails with ZR_EIO and commit refuses, so a file whose
        write failed never gets a final name.
    (5) Memory: a writer and a reader hold a few hundred bytes and no data;
        verification streams the data through one buffer of
        ZR_SNAPSHOT_VERIFY_BYTES.
    =========================================================================
*/
#ifndef ZR_SNAPSHOT_H_INCLUDED
#define ZR_SNAPSHOT_H_INCLUDED

#include "../raft/raft.h"

#define ZR_SNAPSHOT_VERSION 2                   /* format this build writes */
#define ZR_SNAPSHOT_BUS_HEAD 8                  /* data bytes before the section */
#define ZR_SNAPSHOT_HEADER_MAX 4096             /* header bytes, any version */
#define ZR_SNAPSHOT_BYTES_MAX (1ull << 40)      /* data bytes in one file */
#define ZR_SNAPSHOT_VERIFY_BYTES (1u << 20)     /* verification buffer */
#define ZR_SNAPSHOT_ENDPOINT_MAX 255            /* endpoint bytes, NUL excluded */

typedef struct _zr_snapshot_writer_t zr_snapshot_writer_t;
typedef struct _zr_snapshot_reader_t zr_snapshot_reader_t;

/* What a snapshot file says about itself. */
typedef struct {
    zr_index_t index;                   /* last log index included, >= 1 */
    zr_term_t term;                     /* its term, >= 1 */
    uint32_t n_servers;                 /* configuration as of index, 1..max */
    zr_id_t ids [ZR_NODES_MAX];         /* server ids, distinct, 1..max */
    char endpoints [ZR_NODES_MAX][ZR_SNAPSHOT_ENDPOINT_MAX + 1];
                                        /* their endpoints, NUL-terminated */
    uint64_t size;                      /* bytes of state-machine data */
    uint32_t crc;                       /* crc32c of those bytes */
} zr_snapshot_meta_t;

/*  -------------------------------------------------------------------------
    Header codec (for tests and fuzzing)
*/

/* Returns the header bytes H of a file with meta's configuration. */
size_t zr_snapshot_header_bytes (const zr_snapshot_meta_t *meta);

/* Encodes the header for meta (size and crc included) into buf, which
   has room for zr_snapshot_header_bytes (meta) bytes; returns H. */
size_t zr_snapshot_header_encode (const zr_snapshot_meta_t *meta,
                                  uint8_t *buf, size_t len);

/* Decodes a header from the len bytes at buf (the start of a file; data
   may follow). Never trusts the bytes. Returns 0 with *meta filled and
   *header_bytes_p (if not NULL) set to H; ZR_ETRUNCATED when len < H;
   ZR_ECORRUPT when a field or the crc is bad; ZR_EVERSION for an unknown
   version or flag. Writes "<why> at offset N" into errmsg (if not NULL).
   *meta is unspecified on failure. */
int zr_snapshot_header_decode (const uint8_t *buf, size_t len,
                               zr_snapshot_meta_t *meta,
                               size_t *header_bytes_p, char *errmsg,
                               size_t errlen);

/* Splits size bytes of snapshot data (above): 0 with *bus_size (the
   section is data [8 .. 8 + bus_size), the state machine's bytes the
   rest), or ZR_ECORRUPT if size < 8 or B > size - 8. */
int zr_snapshot_data_split (const uint8_t *data, uint64_t size,
                            uint64_t *bus_size);

/* Writes the data's head for a bus section of bus_size bytes into the
   ZR_SNAPSHOT_BUS_HEAD bytes at head. */
void zr_snapshot_data_head (uint8_t *head, uint64_t bus_size);

/*  -------------------------------------------------------------------------
    Writer
*/

/* Starts snapshot (meta->index, meta->term) with meta's configuration in
   directory dir, which must exist: creates its temp file (replacing a
   leftover of the same name; one writer per (index, term) at a time).
   meta->size and meta->crc are ignored. Asserts index >= 1, term >= 1,
   1 <= n_servers <= ZR_NODES_MAX, ids distinct in 1..ZR_NODES_MAX and
   endpoints of 1..ZR_SNAPSHOT_ENDPOINT_MAX bytes: a configuration from a
   peer must be validated before it gets here. Returns the writer (caller
   owns it: commit or abort), or NULL with a reason in errmsg (if not
   NULL) when the directory or file cannot be opened. */
zr_snapshot_writer_t *zr_snapshot_writer_new (const char *dir,
                                              const zr_snapshot_meta_t *meta,
                                              char *errmsg, size_t errlen);

/* Appends size bytes of data. Returns 0; ZR_ETOOBIG (nothing written)
   past ZR_SNAPSHOT_BYTES_MAX; ZR_EIO when the write fails, which is
   sticky (invariant 4): zr_snapshot_writer_error says why. */
int zr_snapshot_writer_append (zr_snapshot_writer_t *self, const void *data,
                               size_t size);

/* Writes size bytes of data that belong at data offset offset, for
   InstallSnapshot chunks, which arrive in order but may be resent. The
   bytes before the current size are taken as already written (a resent
   chunk is accepted, idempotently, and only its new tail is appended):
   chunks of one (index, term) carry the same bytes at the same offset,
   and the data crc checked at find catches a sender that breaks this.
   Returns 0, or ZR_EINVAL (nothing written) when offset is past the
   current size (a gap: a chunk was lost; the sender must resend from
   zr_snapshot_writer_size), or as zr_snapshot_writer_append. */
int zr_snapshot_writer_write (zr_snapshot_writer_t *self, uint64_t offset,
                              const void *data, size_t size);

/* Returns the data bytes written so far. */
uint64_t zr_snapshot_writer_size (zr_snapshot_writer_t *self);

/* Returns why the writer failed ("" while it has not). */
const char *zr_snapshot_writer_error (zr_snapshot_writer_t *self);

/* For tests only: makes the next data write fail as if the disk reported
   EIO, which puts the writer in the sticky error state. */
void zr_snapshot_writer_test_fail (zr_snapshot_writer_t *self);

/* Takes the writer: writes the header (data size and crc), fdatasyncs,
   renames the temp file to its final name and fsyncs the directory
   (invariant 1). Fills *meta (if not NULL) with what the file now says.
   Returns 0, or ZR_EIO with a reason in errmsg (if not NULL): the temp
   file is removed, except when only the directory fsync failed (the
   file is then complete under its final name, and valid). Either way
   frees the writer and NULLs *self_p. */
int zr_snapshot_writer_commit (zr_snapshot_writer_t **self_p,
                               zr_snapshot_meta_t *meta, char *errmsg,
                               size_t errlen);

/* Removes the temp file, frees the writer and NULLs *self_p. Idempotent
   on a NULL *self_p. */
void zr_snapshot_writer_abort (zr_snapshot_writer_t **self_p);

/*  -------------------------------------------------------------------------
    Reading, finding, pruning
*/

/* Writes into path the file name of the committed snapshot (index,
   term) in dir. Returns 0, or ZR_EINVAL if it does not fit path_len. */
int zr_snapshot_path (const char *dir, zr_index_t index, zr_term_t term,
                      char *path, size_t path_len);

/* Opens the snapshot file path and checks its header and that the file
   holds exactly the data size it claims (invariant 2); the data crc is
   checked only by zr_snapshot_reader_verify (find calls it). Returns
   the reader (caller owns it: zr_snapshot_reader_destroy), or NULL with
   a reason in errmsg (if not NULL) and, if rc_p is not NULL, *rc_p set
   to ZR_EIO, ZR_ECORRUPT or ZR_EVERSION. A reader keeps reading its file
   after prune unlinks it. */
zr_snapshot_reader_t *zr_snapshot_reader_new (const char *path, int *rc_p,
                                              char *errmsg, size_t errlen);

/* Returns the reader's metadata, valid until the reader is destroyed. */
const zr_snapshot_meta_t *zr_snapshot_reader_meta (zr_snapshot_reader_t *self);

/* Reads up to size bytes of data from data offset offset into buf; *got
   is the bytes read, fewer than size only at the end of the data (0 at
   offset == data size). Returns 0, ZR_EINVAL when offset is past the
   data size, ZR_ECORRUPT when the file is shorter than at open, or
   ZR_EIO. */
int zr_snapshot_reader_read (zr_snapshot_reader_t *self, uint64_t offset,
                             void *buf, size_t size, size_t *got);

/* Reads the bus section of the reader's data into *data_p (malloc,
   caller frees; NULL when empty) and *size_p. Returns 0, ZR_ECORRUPT
   when the data is too short for its head or the size it says, or as
   zr_snapshot_reader_read. Allocates at most the file's data size. */
int zr_snapshot_reader_bus (zr_snapshot_reader_t *self, uint8_t **data_p,
                            uint64_t *size_p);

/* Reads all the data and checks its crc. Returns 0, or ZR_ECORRUPT or
   ZR_EIO with "<path>: <why> at offset N" in errmsg (if not NULL). */
int zr_snapshot_reader_verify (zr_snapshot_reader_t *self, char *errmsg,
                               size_t errlen);

/* Closes the file, frees the reader and NULLs *self_p. Idempotent on a
   NULL *self_p. */
void zr_snapshot_reader_destroy (zr_snapshot_reader_t **self_p);

/* Finds the newest snapshot in dir (by name) and verifies it completely:
   header, data length and data crc, reading the data once through a
   bounded buffer (invariant 5), and that the header agrees with the
   name. Deletes leftover temp files, so call it when no writer is open
   in dir (at startup). Returns 0 with *meta and path (dir/name, path_len
   bytes, asserted large enough) filled; 0 with meta->index == 0 and path
   "" when there is no snapshot (or no dir): "index 0 means none", as in
   raft.h. Returns ZR_ECORRUPT or ZR_EVERSION with "<path>: <why> at
   offset N" in errmsg (if not NULL) when the newest file is bad, without
   looking at older ones (invariant 3); ZR_EIO when dir cannot be read. */
int zr_snapshot_find (const char *dir, zr_snapshot_meta_t *meta, char *path,
                      size_t path_len, char *errmsg, size_t errlen);

/* Deletes the snapshot files in dir whose index is below keep_index,
   except the newest file, which always stays (invariant 3): when
   keep_index is past the newest, deletes every file older than it (by
   index, then term). Readers open on a deleted file keep reading it.
   Returns 0 (also when dir is missing), or ZR_EIO with a reason in
   errmsg (if not NULL) when dir cannot be read or a file cannot be
   deleted (the others are still tried). */
int zr_snapshot_prune (const char *dir, zr_index_t keep_index, char *errmsg,
                       size_t errlen);

/* Deletes every snapshot file in dir but the two newest (by index, then
   term), whoever wrote them: the server's own snapshots (the applier's
   writer) and those a leader sent (the persister) share the directory,
   and a restart forgets what either wrote before, so "older than the
   previous one I wrote" would let files pile up. The newest is what a
   restart restores; the one before may still be sent to a follower.
   Files being written (.tmp) are left alone. Returns as
   zr_snapshot_prune. */
int zr_snapshot_prune_older (const char *dir, char *errmsg, size_t errlen);

#endif
