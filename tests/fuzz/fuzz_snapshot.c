/*  =========================================================================
    fuzz_snapshot - snapshot headers and whole snapshot files from
    arbitrary bytes

    The input is one control byte, then the bytes of a snapshot file. The
    control byte's bits patch the file before use, so mutations get past
    the crcs to the fields they guard:
        S_FIX_DATA_CRC    the data crc field (offset 48) is set to the
                          crc32c of the bytes after H (H read at 12)
        S_FIX_HEADER_CRC  the header crc at H - 4 is set to the crc32c of
                          bytes 0 .. H - 4 (after the data crc)
        S_NAME_OTHER      the file's name says term + 1: not its header's
        S_LEFTOVER        a writer's temp file lies beside it
    Two decoders run on the patched bytes:
    (a) zr_snapshot_header_decode (actors/snapshot.h), which allocates
        nothing (S_HEADER_ALLOC_*). It returns 0 or ZR_ETRUNCATED,
        ZR_ECORRUPT, ZR_EVERSION with a reason; on success the fields
        keep their limits, H <= the bytes given, the header re-encodes
        to exactly its H bytes, and H - 1 bytes are ZR_ETRUNCATED.
    (b) zr_snapshot_find on a directory holding the bytes as the file
        snap-<index>-<term>.zsnap, index and term read from offsets 24
        and 32 (1 and 1 if the input is shorter). Its result must be
        the one the header decoder, the file's length, its data crc and
        the name predict: 0 with the decoded meta, or ZR_ECORRUPT /
        ZR_EVERSION with the file's name in errmsg, meta zeroed and path
        "". Allocation stays within S_FIND_ALLOC_* (a constant: the
        verification buffer, the reader, opendir's buffer); no file
        descriptor stays open; the temp file is gone.
    The directory is tests/fuzz/scratch.c's.
    =========================================================================
*/
#include "../../actors/snapshot.h"
#include "../../actors/wal.h"
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

const char fuzz_target [] = "snapshot";

/* Control byte bits (the first input byte). */
#define S_FIX_DATA_CRC   0x01
#define S_FIX_HEADER_CRC 0x02
#define S_NAME_OTHER     0x04
#define S_LEFTOVER       0x08

/* Header layout offsets (snapshot.h). */
#define S_OFF_BYTES 12
#define S_OFF_INDEX 24
#define S_OFF_TERM  32
#define S_OFF_DATA_CRC 48
#define S_FIXED 52                      /* version 1 bytes before servers */

/* Allocation bounds: the header decoder allocates nothing; find
   allocates ZR_SNAPSHOT_VERIFY_BYTES, a reader, a path and opendir's
   32 KiB buffer, whatever the file holds. */
#define S_HEADER_ALLOC_MULTIPLE 0
#define S_HEADER_ALLOC_CONSTANT 0
#define S_FIND_ALLOC_MULTIPLE 0
#define S_FIND_ALLOC_CONSTANT (ZR_SNAPSHOT_VERIFY_BYTES + 64 * 1024)

static const char *s_dir;                /* fuzz_scratch_dir () */

static uint64_t
s_le_get (const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t) p [i] << (8 * i);
    return v;
}

static void
s_le_put (uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p [i] = (uint8_t) (v >> (8 * i));
}

/* Applies the control byte's crc fixes to the file bytes. */
static void
s_patch (uint8_t *file, size_t len, uint8_t control)
{
    uint64_t bytes = len >= S_OFF_BYTES + 4
                   ? s_le_get (file + S_OFF_BYTES, 4) : 0;
    if ((control & S_FIX_DATA_CRC) && bytes >= S_FIXED && bytes <= len)
        s_le_put (file + S_OFF_DATA_CRC,
                  zr_wal_crc32c (0, file + bytes, len - bytes), 4);
    if ((control & S_FIX_HEADER_CRC) && bytes >= 4 && bytes <= len)
        s_le_put (file + bytes - 4, zr_wal_crc32c (0, file, bytes - 4), 4);
}

/* Checks a decoded header: limits, canonical re-encoding, H - 1 bytes
   truncated. */
static void
s_check_header (const uint8_t *file, size_t len,
                const zr_snapshot_meta_t *meta, size_t bytes)
{
    FUZZ_CHECK (bytes <= len && bytes <= ZR_SNAPSHOT_HEADER_MAX);
    FUZZ_CHECK (meta->index >= 1 && meta->term >= 1);
    FUZZ_CHECK (meta->size <= ZR_SNAPSHOT_BYTES_MAX);
    FUZZ_CHECK (meta->n_servers >= 1 && meta->n_servers <= ZR_NODES_MAX);
    for (uint32_t i = 0; i < meta->n_servers; i++) {
        FUZZ_CHECK (meta->ids [i] >= 1 && meta->ids [i] <= ZR_NODES_MAX);
        for (uint32_t j = 0; j < i; j++)
            FUZZ_CHECK (meta->ids [j] != meta->ids [i]);
        size_t ep = strnlen (meta->endpoints [i], ZR_SNAPSHOT_ENDPOINT_MAX + 1);
        FUZZ_CHECK (ep >= 1 && ep <= ZR_SNAPSHOT_ENDPOINT_MAX);
    }
    FUZZ_CHECK (zr_snapshot_header_bytes (meta) == bytes);
    uint8_t again [ZR_SNAPSHOT_HEADER_MAX];
    FUZZ_CHECK (zr_snapshot_header_encode (meta, again, sizeof again) == bytes);
    FUZZ_CHECK (memcmp (again, file, bytes) == 0);
    zr_snapshot_meta_t cut;
    FUZZ_CHECK (zr_snapshot_header_decode (file, bytes - 1, &cut, NULL, NULL,
                                           0) == ZR_ETRUNCATED);
}

/* Runs the header decoder on the file; returns its result, with *meta
   and *bytes_p filled on success. */
static int
s_header (const uint8_t *file, size_t len, zr_snapshot_meta_t *meta,
          size_t *bytes_p)
{
    char errmsg [256] = "";
    *bytes_p = 0;
    fuzz_alloc_begin ();
    int rc = zr_snapshot_header_decode (file, len, meta, bytes_p, errmsg,
                                        sizeof errmsg);
    FUZZ_ALLOC_WITHIN (fuzz_alloc_bytes (), len, S_HEADER_ALLOC_MULTIPLE,
                       S_HEADER_ALLOC_CONSTANT);
    if (rc) {
        FUZZ_CHECK (rc == ZR_ETRUNCATED || rc == ZR_ECORRUPT
                    || rc == ZR_EVERSION);
        FUZZ_CHECK (errmsg [0] != '\0');
        return rc;
    }
    s_check_header (file, len, meta, *bytes_p);
    return 0;
}

/* Returns what zr_snapshot_find must return for the file, named
   (index, term): header, length, data crc, name, in that order. */
static int
s_expected (const uint8_t *file, size_t len, zr_index_t index,
            zr_term_t term, zr_snapshot_meta_t *meta)
{
    size_t bytes = 0;
    size_t head = len < ZR_SNAPSHOT_HEADER_MAX ? len : ZR_SNAPSHOT_HEADER_MAX;
    int rc = zr_snapshot_header_decode (file, head, meta, &bytes, NULL, 0);
    if (rc)
        return rc == ZR_ETRUNCATED ? ZR_ECORRUPT : rc;
    if (len - bytes != meta->size
        || zr_wal_crc32c (0, file + bytes, len - bytes) != meta->crc
        || meta->index != index || meta->term != term)
        return ZR_ECORRUPT;
    return 0;
}

/* Writes the file as snapshot (index, term) in the directory, and the
   temp leftover if asked. Writes the file's path into path. */
static void
s_files_write (const uint8_t *file, size_t len, zr_index_t index,
               zr_term_t term, bool leftover, char *path, size_t path_len)
{
    /* Not zr_snapshot_path, which asserts index and term >= 1: a name
       of 0 is still a snapshot's name to zr_snapshot_find. */
    int n = snprintf (path, path_len, "%s/snap-%016llx-%016llx.zsnap", s_dir,
                      (unsigned long long) index, (unsigned long long) term);
    FUZZ_CHECK (n > 0 && (size_t) n < path_len);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK (fd >= 0);
    FUZZ_CHECK (write (fd, file, len) == (ssize_t) len);
    close (fd);
    if (leftover) {
        char tmp [400];
        snprintf (tmp, sizeof tmp, "%s.tmp", path);
        fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        FUZZ_CHECK (fd >= 0);
        close (fd);
    }
}

/* Runs zr_snapshot_find on the file and checks it against s_expected. */
static void
s_find (const uint8_t *file, size_t len, uint8_t control)
{
    zr_index_t index = len >= S_OFF_TERM + 8 ? s_le_get (file + S_OFF_INDEX, 8) : 1;
    zr_term_t term = len >= S_OFF_TERM + 8 ? s_le_get (file + S_OFF_TERM, 8) : 1;
    if (control & S_NAME_OTHER)
        term++;
    char name [320], tmp [400];
    s_files_write (file, len, index, term, control & S_LEFTOVER, name,
                   sizeof name);
    zr_snapshot_meta_t want, got;
    int expect = s_expected (file, len, index, term, &want);
    int fds = fuzz_fd_free ();
    char path [400] = "x", errmsg [512] = "";
    fuzz_alloc_begin ();
    int rc = zr_snapshot_find (s_dir, &got, path, sizeof path, errmsg,
                               sizeof errmsg);
    FUZZ_ALLOC_WITHIN (fuzz_alloc_bytes (), len, S_FIND_ALLOC_MULTIPLE,
                       S_FIND_ALLOC_CONSTANT);
    FUZZ_CHECK (fuzz_fd_free () == fds);
    if (rc != expect)
        fprintf (stderr, "fuzz_snapshot: find %d, expected %d: %s\n", rc,
                 expect, errmsg);
    FUZZ_CHECK (rc == expect);
    if (rc == 0) {
        FUZZ_CHECK (strcmp (path, name) == 0);
        FUZZ_CHECK (memcmp (&got, &want, sizeof got) == 0);
    }
    else {
        FUZZ_CHECK (strstr (errmsg, name) != NULL);
        FUZZ_CHECK (path [0] == '\0' && got.index == 0);
    }
    snprintf (tmp, sizeof tmp, "%s.tmp", name);
    FUZZ_CHECK (access (tmp, F_OK) != 0 && errno == ENOENT);
    /* The directory holds only the file now: remove it by name, which
       costs less than fuzz_scratch_clear's listing. */
    FUZZ_CHECK (unlink (name) == 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (!s_dir) {
        s_dir = fuzz_scratch_dir ();
        fuzz_scratch_clear ();
    }
    uint8_t control = data [0];
    size_t len = size - 1;
    /* One byte more, so an empty file has a buffer too. */
    uint8_t *file = (uint8_t *) malloc (len + 1);
    FUZZ_CHECK (file);
    memcpy (file, data + 1, len);
    s_patch (file, len, control);
    zr_snapshot_meta_t meta;
    size_t bytes;
    s_header (file, len, &meta, &bytes);
    s_find (file, len, control);
    free (file);
    return 0;
}
