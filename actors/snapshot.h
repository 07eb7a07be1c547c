/*  =========================================================================
    snapshot - snapshot files of one server: write, find, verify, read

    A snapshot file holds the state machine's bytes as of a log index,
    with that index, its term and the server configuration as of it. A
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
        8       4     u32 format version (ZR_SNAPSHOT_VERSION, 1)
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
        H       size  data: the state machine's bytes

    Bytes 0..15 and the header crc at H-4 keep their meaning in every
    format version, so a reader can check the crc of a header whose layout
    it does not know and tell a newer file (ZR_EVERSION) from a damaged
    one (ZR_ECORRUPT).

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

#define ZR_SNAPSHOT_VERSION 1                   /* format this build writes */
#define ZR_SNAPSHOT_HEADER_MAX 4096             /* header bytes, any version */
#define ZR_SNAPSHOT_BYTES_MAX (1ull << 40)      /* data bytes in one file */
#define ZR_SNAPSHOT_VERIFY_BYTES (1u << 20)     /* verification buffer */
#define ZR_SNAPSHOT_ENDPOINT_MAX 255            /* endpoint bytes, NUL excluded */

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

#endif
