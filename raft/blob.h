/*  =========================================================================
    blob - an immutable, reference-counted byte buffer

    Entry payloads live in blobs. A blob is filled once by its creator and
    then only read, so any number of threads may hold references to it: the
    node's log, a replicator encoding an AppendEntries, the persister
    writing it, the applier applying it. This is how zraft shares the log
    without a lock: what is shared is immutable. One blob may carry many
    entries (a decoded AppendEntries batch is one blob), so there is no
    allocation per entry on the replication path.
    =========================================================================
*/
#ifndef ZR_BLOB_H_INCLUDED
#define ZR_BLOB_H_INCLUDED

typedef struct {
    atomic_uint refs;                   /* references held; freed at 0 */
    size_t size;                        /* bytes in data */
    uint8_t data[];                     /* the bytes */
} zr_blob_t;

/* Allocates a blob of size bytes with one reference held by the caller,
   who fills data before sharing it. Returns NULL when out of memory. */
zr_blob_t *zr_blob_new (size_t size);

/* Takes one more reference and returns blob. blob must not be NULL. */
zr_blob_t *zr_blob_ref (zr_blob_t *blob);

/* Drops the reference held in *blob_p and NULLs it; frees the blob when
   that was the last. Idempotent on a NULL *blob_p. */
void zr_blob_unref (zr_blob_t **blob_p);

#endif
