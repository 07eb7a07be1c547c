/*  =========================================================================
    snapshot - snapshot files of one server (design notes in snapshot.h)

    Sections: header codec; file helpers; writer; reader; find and prune.
    =========================================================================
*/
#include "snapshot.h"
#include "wal.h"                        /* zr_wal_crc32c, zr_wal_pwrite_all */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_PREAMBLE 16                   /* magic, version, H: every version */
#define S_FIXED 52                      /* version 1 bytes before the servers */
#define S_SERVER_FIXED 5                /* u32 id, u8 endpoint length */
#define S_CRC 4                         /* the trailing header crc */
#define S_HEADER_MIN (S_PREAMBLE + S_CRC)   /* smallest H of any version */
#define S_NAME_LEN 44                   /* "snap-<16 hex>-<16 hex>.zsnap" */
#define S_NAME_MAX 64                   /* a name, ".tmp" and NUL fit */
#define S_MSG_MAX 200                   /* a decoder's reason */

_Static_assert (S_FIXED + S_CRC
                + ZR_NODES_MAX * (S_SERVER_FIXED + ZR_SNAPSHOT_ENDPOINT_MAX)
                <= ZR_SNAPSHOT_HEADER_MAX, "a version 1 header fits");
_Static_assert (ZR_SNAPSHOT_ENDPOINT_MAX <= UINT8_MAX,
                "an endpoint length fits its u8");

static const uint8_t s_magic [8] = {'Z', 'R', 'S', 'N', 'A', 'P', 0, 0};
static const char s_tmp_suffix [] = ".zsnap.tmp";

struct _zr_snapshot_writer_t {
    int dir_fd;                         /* the directory, fsync'd at commit */
    int fd;                             /* the temp file, read-write */
    zr_snapshot_meta_t meta;            /* the header to be; size and crc
                                           cover the data written so far */
    size_t header_bytes;                /* H: the data starts at this offset */
    char tmp [S_NAME_MAX];              /* temp file name in dir_fd */
    char name [S_NAME_MAX];             /* final name in dir_fd */
    bool failed;                        /* sticky error (invariant 4) */
    bool fail_next;                     /* test hook: next write fails */
    char error [256];                   /* why it failed, "" if it has not */
};

struct _zr_snapshot_reader_t {
    int fd;                             /* the file, read-only */
    zr_snapshot_meta_t meta;            /* its checked header */
    uint64_t header_bytes;              /* H: the data starts at this offset */
    char *path;                         /* for messages */
};

static int s_error (char *errmsg, size_t errlen, int rc, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static int
s_error (char *errmsg, size_t errlen, int rc, const char *fmt, ...)
{
    if (errmsg == NULL || errlen == 0)
        return rc;
    va_list args;
    va_start (args, fmt);
    vsnprintf (errmsg, errlen, fmt, args);
    va_end (args);
    return rc;
}

/*  -------------------------------------------------------------------------
    Header codec
*/

/* Stores v at p as n little-endian bytes. */
static void
s_le_put (uint8_t *p, uint64_t v, size_t n)
{
    zr_assert (n <= 8);
    for (size_t i = 0; i < n; i++, v >>= 8)
        p [i] = (uint8_t) v;
}

/* Loads n little-endian bytes at p. */
static uint64_t
s_le_get (const uint8_t *p, size_t n)
{
    zr_assert (n <= 8);
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--)
        v = (v << 8) | p [i - 1];
    return v;
}

/* Asserts meta describes a snapshot a writer may write (our own code
   built it: a peer's configuration is validated before it comes here). */
static void
s_meta_assert (const zr_snapshot_meta_t *meta)
{
    zr_assert (meta->index >= 1 && meta->term >= 1);
    zr_assert (meta->n_servers >= 1 && meta->n_servers <= ZR_NODES_MAX);
    for (uint32_t i = 0; i < meta->n_servers; i++) {
        size_t len = strnlen (meta->endpoints [i],
                              ZR_SNAPSHOT_ENDPOINT_MAX + 1);
        zr_assert (len >= 1 && len <= ZR_SNAPSHOT_ENDPOINT_MAX);
        zr_assert (meta->ids [i] >= 1 && meta->ids [i] <= ZR_NODES_MAX);
        for (uint32_t j = 0; j < i; j++)
            zr_assert (meta->ids [j] != meta->ids [i]);
    }
}

size_t
zr_snapshot_header_bytes (const zr_snapshot_meta_t *meta)
{
    zr_assert (meta);
    zr_assert (meta->n_servers <= ZR_NODES_MAX);
    size_t bytes = S_FIXED + S_CRC;
    for (uint32_t i = 0; i < meta->n_servers; i++)
        bytes += S_SERVER_FIXED + strnlen (meta->endpoints [i],
                                           ZR_SNAPSHOT_ENDPOINT_MAX + 1);
    zr_assert (bytes <= ZR_SNAPSHOT_HEADER_MAX);
    return bytes;
}

size_t
zr_snapshot_header_encode (const zr_snapshot_meta_t *meta, uint8_t *buf,
                           size_t len)
{
    s_meta_assert (meta);
    size_t bytes = zr_snapshot_header_bytes (meta);
    zr_assert (buf && len >= bytes);
    memcpy (buf, s_magic, sizeof s_magic);
    s_le_put (buf + 8, ZR_SNAPSHOT_VERSION, 4);
    s_le_put (buf + 12, bytes, 4);
    s_le_put (buf + 16, 0, 4);
    s_le_put (buf + 20, meta->n_servers, 4);
    s_le_put (buf + 24, meta->index, 8);
    s_le_put (buf + 32, meta->term, 8);
    zr_assert (meta->size <= ZR_SNAPSHOT_BYTES_MAX);
    s_le_put (buf + 40, meta->size, 8);
    s_le_put (buf + 48, meta->crc, 4);
    size_t off = S_FIXED;
    for (uint32_t i = 0; i < meta->n_servers; i++) {
        size_t ep_len = strlen (meta->endpoints [i]);
        s_le_put (buf + off, meta->ids [i], 4);
        buf [off + 4] = (uint8_t) ep_len;
        memcpy (buf + off + S_SERVER_FIXED, meta->endpoints [i], ep_len);
        off += S_SERVER_FIXED + ep_len;
    }
    zr_assert (off + S_CRC == bytes);
    s_le_put (buf + off, zr_wal_crc32c (0, buf, off), 4);
    return bytes;
}

/* Checks what every version shares: magic, H, length, header crc. */
static int
s_preamble_check (const uint8_t *buf, size_t len, size_t *bytes_p,
                  char *errmsg, size_t errlen)
{
    zr_assert (buf || len == 0);
    zr_assert (bytes_p);
    if (len < S_PREAMBLE)
        return s_error (errmsg, errlen, ZR_ETRUNCATED,
                        "header truncated at offset %zu", len);
    if (memcmp (buf, s_magic, sizeof s_magic) != 0)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "not a snapshot (bad magic) at offset 0");
    uint64_t bytes = s_le_get (buf + 12, 4);
    if (bytes < S_HEADER_MIN || bytes > ZR_SNAPSHOT_HEADER_MAX)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "impossible header length %llu at offset 12",
                        (unsigned long long) bytes);
    if (len < bytes)
        return s_error (errmsg, errlen, ZR_ETRUNCATED,
                        "header truncated at offset %zu (%llu bytes)", len,
                        (unsigned long long) bytes);
    size_t crc_off = (size_t) bytes - S_CRC;
    if (s_le_get (buf + crc_off, 4) != zr_wal_crc32c (0, buf, crc_off))
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "header crc mismatch at offset %zu", crc_off);
    *bytes_p = (size_t) bytes;
    return 0;
}

/* Decodes the servers of a version 1 header of H bytes into *meta,
   whose n_servers is set and checked. */
static int
s_servers_decode (const uint8_t *buf, size_t bytes, zr_snapshot_meta_t *meta,
                  char *errmsg, size_t errlen)
{
    zr_assert (bytes >= S_HEADER_MIN && bytes <= ZR_SNAPSHOT_HEADER_MAX);
    zr_assert (meta->n_servers <= ZR_NODES_MAX);
    size_t off = S_FIXED, end = bytes - S_CRC;
    for (uint32_t i = 0; i < meta->n_servers; i++) {
        if (off + S_SERVER_FIXED > end)
            return s_error (errmsg, errlen, ZR_ECORRUPT,
                            "server %u past the header end at offset %zu",
                            i, off);
        zr_id_t id = (zr_id_t) s_le_get (buf + off, 4);
        bool seen = false;
        for (uint32_t j = 0; j < i; j++)
            seen = seen || meta->ids [j] == id;
        if (id < 1 || id > ZR_NODES_MAX || seen)
            return s_error (errmsg, errlen, ZR_ECORRUPT,
                            "bad or repeated server id %u at offset %zu",
                            id, off);
        size_t ep_len = buf [off + 4];
        const uint8_t *ep = buf + off + S_SERVER_FIXED;
        if (ep_len < 1 || off + S_SERVER_FIXED + ep_len > end
            || memchr (ep, 0, ep_len))
            return s_error (errmsg, errlen, ZR_ECORRUPT,
                            "bad endpoint length %zu at offset %zu", ep_len,
                            off + 4);
        meta->ids [i] = id;
        memcpy (meta->endpoints [i], ep, ep_len);
        meta->endpoints [i][ep_len] = '\0';
        off += S_SERVER_FIXED + ep_len;
    }
    if (off != end)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "header length disagrees with its servers "
                        "at offset %zu", off);
    return 0;
}

/* Decodes the fixed fields of a version 1 header whose crc is good and
   whose length covers them. */
static int
s_fields_decode (const uint8_t *buf, zr_snapshot_meta_t *meta, char *errmsg,
                 size_t errlen)
{
    zr_assert (buf && meta);
    zr_assert (s_le_get (buf + 8, 4) == ZR_SNAPSHOT_VERSION);
    uint64_t flags = s_le_get (buf + 16, 4);
    if (flags != 0)
        return s_error (errmsg, errlen, ZR_EVERSION,
                        "unknown flags 0x%llx at offset 16",
                        (unsigned long long) flags);
    uint64_t n_servers = s_le_get (buf + 20, 4);
    if (n_servers < 1 || n_servers > ZR_NODES_MAX)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "bad server count %llu at offset 20",
                        (unsigned long long) n_servers);
    meta->n_servers = (uint32_t) n_servers;
    meta->index = s_le_get (buf + 24, 8);
    meta->term = s_le_get (buf + 32, 8);
    meta->size = s_le_get (buf + 40, 8);
    meta->crc = (uint32_t) s_le_get (buf + 48, 4);
    if (meta->index == 0 || meta->term == 0)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "index or term 0 at offset %d",
                        meta->index == 0 ? 24 : 32);
    if (meta->size > ZR_SNAPSHOT_BYTES_MAX)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "data size %llu too big at offset 40",
                        (unsigned long long) meta->size);
    zr_assert (meta->n_servers >= 1);
    return 0;
}

int
zr_snapshot_header_decode (const uint8_t *buf, size_t len,
                           zr_snapshot_meta_t *meta, size_t *header_bytes_p,
                           char *errmsg, size_t errlen)
{
    zr_assert (buf || len == 0);
    zr_assert (meta);
    memset (meta, 0, sizeof *meta);
    size_t bytes = 0;
    int rc = s_preamble_check (buf, len, &bytes, errmsg, errlen);
    uint64_t version = rc == 0 ? s_le_get (buf + 8, 4) : 0;
    if (rc == 0 && version != ZR_SNAPSHOT_VERSION)
        rc = s_error (errmsg, errlen, ZR_EVERSION,
                      "format version %llu at offset 8, this build reads "
                      "version %d%s", (unsigned long long) version,
                      ZR_SNAPSHOT_VERSION, version == 1
                      ? " (version 1 predates the message bus's section)" : "");
    if (rc == 0 && bytes < S_FIXED + S_CRC)
        rc = s_error (errmsg, errlen, ZR_ECORRUPT,
                      "header length %zu too short at offset 12", bytes);
    if (rc == 0)
        rc = s_fields_decode (buf, meta, errmsg, errlen);
    if (rc == 0)
        rc = s_servers_decode (buf, bytes, meta, errmsg, errlen);
    if (rc == 0 && header_bytes_p)
        *header_bytes_p = bytes;
    return rc;
}

/*  -------------------------------------------------------------------------
    File helpers
*/

/* Reads up to len bytes at off, retrying short reads; returns the bytes
   read (fewer only at the end of the file) or -1 (errno). */
static ssize_t
s_pread_full (int fd, uint8_t *data, size_t len, uint64_t off)
{
    zr_assert (fd >= 0);
    zr_assert (data || len == 0);
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread (fd, data + done, len - done, (off_t) (off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        done += (size_t) n;
    }
    return (ssize_t) done;
}

/* Writes the file name of snapshot (index, term), with suffix. */
static void
s_name (char *name, zr_index_t index, zr_term_t term, const char *suffix)
{
    int n = snprintf (name, S_NAME_MAX, "snap-%016llx-%016llx%s",
                      (unsigned long long) index, (unsigned long long) term,
                      suffix);
    zr_assert (n > 0 && n < S_NAME_MAX);
}

int
zr_snapshot_path (const char *dir, zr_index_t index, zr_term_t term,
                  char *path, size_t path_len)
{
    zr_assert (dir && path && path_len > 0);
    zr_assert (index > 0 && term > 0);
    char name [S_NAME_MAX];
    s_name (name, index, term, ".zsnap");
    int n = snprintf (path, path_len, "%s/%s", dir, name);
    return n > 0 && (size_t) n < path_len ? 0 : ZR_EINVAL;
}

/* Returns true with *index and *term if name is exactly a final name. */
static bool
s_name_parse (const char *name, zr_index_t *index, zr_term_t *term)
{
    zr_assert (name && index && term);
    if (strlen (name) != S_NAME_LEN || strncmp (name, "snap-", 5) != 0
        || name [21] != '-' || strcmp (name + 38, ".zsnap") != 0)
        return false;
    uint64_t v [2] = {0, 0};
    for (int k = 0; k < 2; k++)
        for (int i = 5 + 17 * k; i < 21 + 17 * k; i++) {
            char c = name [i];
            int digit = c >= '0' && c <= '9' ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (digit < 0)
                return false;
            v [k] = (v [k] << 4) | (uint64_t) digit;
        }
    *index = v [0];
    *term = v [1];
    return true;
}

/* True if name is a temp file of this module. */
static bool
s_name_is_tmp (const char *name)
{
    zr_assert (name);
    size_t len = strlen (name), suffix = sizeof s_tmp_suffix - 1;
    return strncmp (name, "snap-", 5) == 0 && len > suffix
           && strcmp (name + len - suffix, s_tmp_suffix) == 0;
}

/*  -------------------------------------------------------------------------
    Writer
*/

zr_snapshot_writer_t *
zr_snapshot_writer_new (const char *dir, const zr_snapshot_meta_t *meta,
                        char *errmsg, size_t errlen)
{
    zr_assert (dir && meta);
    s_meta_assert (meta);
    s_error (errmsg, errlen, 0, "%s", "");
    zr_snapshot_writer_t *self =
        (zr_snapshot_writer_t *) calloc (1, sizeof (zr_snapshot_writer_t));
    zr_assert (self);
    self->meta = *meta;
    self->meta.size = 0;
    self->meta.crc = 0;
    self->header_bytes = zr_snapshot_header_bytes (meta);
    s_name (self->tmp, meta->index, meta->term, s_tmp_suffix);
    s_name (self->name, meta->index, meta->term, ".zsnap");
    self->fd = -1;
    self->dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (self->dir_fd >= 0)
        self->fd = openat (self->dir_fd, self->tmp,
                           O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (self->fd < 0) {
        s_error (errmsg, errlen, ZR_EIO, "%s/%s: %s: %s", dir, self->tmp,
                 self->dir_fd < 0 ? "open directory" : "create",
                 strerror (errno));
        if (self->dir_fd >= 0)
            close (self->dir_fd);
        free (self);
        return NULL;
    }
    return self;
}

int
zr_snapshot_writer_append (zr_snapshot_writer_t *self, const void *data,
                           size_t size)
{
    zr_assert (self);
    zr_assert (data || size == 0);
    if (self->failed)
        return ZR_EIO;
    if (size > ZR_SNAPSHOT_BYTES_MAX - self->meta.size)
        return ZR_ETOOBIG;
    uint64_t off = self->header_bytes + self->meta.size;
    if (self->fail_next)
        errno = EIO;
    if (self->fail_next
        || zr_wal_pwrite_all (self->fd, (const uint8_t *) data, size, off)) {
        self->failed = true;
        s_error (self->error, sizeof self->error, ZR_EIO,
                 "%s: write at offset %llu: %s", self->tmp,
                 (unsigned long long) off, strerror (errno));
        return ZR_EIO;
    }
    self->meta.crc = zr_wal_crc32c (self->meta.crc, data, size);
    self->meta.size += size;
    return 0;
}

int
zr_snapshot_writer_write (zr_snapshot_writer_t *self, uint64_t offset,
                          const void *data, size_t size)
{
    zr_assert (self);
    zr_assert (data || size == 0);
    if (self->failed)
        return ZR_EIO;
    if (offset > self->meta.size)
        return ZR_EINVAL;
    uint64_t known = self->meta.size - offset;
    if (known >= size)
        return 0;
    return zr_snapshot_writer_append (self, (const uint8_t *) data + known,
                                      size - (size_t) known);
}

uint64_t
zr_snapshot_writer_size (zr_snapshot_writer_t *self)
{
    zr_assert (self);
    zr_assert (self->meta.size <= ZR_SNAPSHOT_BYTES_MAX);
    return self->meta.size;
}

const char *
zr_snapshot_writer_error (zr_snapshot_writer_t *self)
{
    zr_assert (self);
    zr_assert (self->failed || self->error [0] == '\0');
    return self->error;
}

void
zr_snapshot_writer_test_fail (zr_snapshot_writer_t *self)
{
    zr_assert (self);
    zr_assert (!self->failed);
    self->fail_next = true;
}

/* Closes the writer's files, removing the temp file if unlink_tmp is
   set, frees it and NULLs *self_p. */
static void
s_writer_free (zr_snapshot_writer_t **self_p, bool unlink_tmp)
{
    zr_snapshot_writer_t *self = *self_p;
    zr_assert (self && self->fd >= 0 && self->dir_fd >= 0);
    if (unlink_tmp)
        unlinkat (self->dir_fd, self->tmp, 0);
    close (self->fd);
    close (self->dir_fd);
    free (self);
    *self_p = NULL;
}

/* Finishes the file (invariant 1). Returns 0, or ZR_EIO with errmsg and
   *renamed telling whether the file already has its final name. */
static int
s_writer_finish (zr_snapshot_writer_t *self, bool *renamed, char *errmsg,
                 size_t errlen)
{
    zr_assert (self->fd >= 0 && self->dir_fd >= 0);
    uint8_t header [ZR_SNAPSHOT_HEADER_MAX];
    size_t bytes = zr_snapshot_header_encode (&self->meta, header,
                                              sizeof header);
    zr_assert (bytes == self->header_bytes);
    *renamed = false;
    const char *step = NULL;
    if (zr_wal_pwrite_all (self->fd, header, bytes, 0))
        step = "write header";
    else if (fdatasync (self->fd))
        step = "fdatasync";
    else if (renameat (self->dir_fd, self->tmp, self->dir_fd, self->name))
        step = "rename";
    else if ((*renamed = true, fsync (self->dir_fd)))
        step = "fsync directory";
    if (step)
        return s_error (errmsg, errlen, ZR_EIO, "%s: %s: %s",
                        *renamed ? self->name : self->tmp, step,
                        strerror (errno));
    return 0;
}

int
zr_snapshot_writer_commit (zr_snapshot_writer_t **self_p,
                           zr_snapshot_meta_t *meta, char *errmsg,
                           size_t errlen)
{
    zr_assert (self_p && *self_p);
    zr_snapshot_writer_t *self = *self_p;
    zr_assert (self->fd >= 0);
    int rc = 0;
    bool renamed = false;
    if (self->failed)
        rc = s_error (errmsg, errlen, ZR_EIO, "%s", self->error);
    else
        rc = s_writer_finish (self, &renamed, errmsg, errlen);
    if (rc == 0 && meta)
        *meta = self->meta;
    /* A failed fsync of the directory leaves a complete, synced file
       whose name may not be durable: it is valid, so it stays. */
    s_writer_free (self_p, rc && !renamed);
    return rc;
}

void
zr_snapshot_writer_abort (zr_snapshot_writer_t **self_p)
{
    zr_assert (self_p);
    if (*self_p)
        s_writer_free (self_p, true);
    zr_assert (*self_p == NULL);
}

/*  -------------------------------------------------------------------------
    Reader
*/

/* Reads and checks the header of the reader's file and its length
   (invariant 2). */
static int
s_reader_check (zr_snapshot_reader_t *self, char *errmsg, size_t errlen)
{
    zr_assert (self && self->fd >= 0);
    struct stat st;
    uint8_t header [ZR_SNAPSHOT_HEADER_MAX];
    ssize_t got = fstat (self->fd, &st) ? -1
                  : s_pread_full (self->fd, header, sizeof header, 0);
    if (got < 0)
        return s_error (errmsg, errlen, ZR_EIO, "%s: read header: %s",
                        self->path, strerror (errno));
    char why [S_MSG_MAX];
    size_t bytes = 0;
    int rc = zr_snapshot_header_decode (header, (size_t) got, &self->meta,
                                        &bytes, why, sizeof why);
    if (rc)
        return s_error (errmsg, errlen,
                        rc == ZR_ETRUNCATED ? ZR_ECORRUPT : rc, "%s: %s",
                        self->path, why);
    /* got <= ZR_SNAPSHOT_HEADER_MAX, and the file may grow after fstat. */
    uint64_t size = (uint64_t) st.st_size;
    uint64_t after = size >= bytes ? size - bytes : 0;
    zr_assert (bytes <= (size_t) got);
    if (size < bytes || after != self->meta.size)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "%s: data size %llu (at offset 40) but %llu bytes "
                        "at offset %zu", self->path,
                        (unsigned long long) self->meta.size,
                        (unsigned long long) after, bytes);
    self->header_bytes = bytes;
    return 0;
}

zr_snapshot_reader_t *
zr_snapshot_reader_new (const char *path, int *rc_p, char *errmsg,
                        size_t errlen)
{
    zr_assert (path);
    s_error (errmsg, errlen, 0, "%s", "");
    zr_snapshot_reader_t *self =
        (zr_snapshot_reader_t *) calloc (1, sizeof (zr_snapshot_reader_t));
    zr_assert (self);
    self->path = strdup (path);
    zr_assert (self->path);
    int rc = 0;
    self->fd = open (path, O_RDONLY | O_CLOEXEC);
    if (self->fd < 0)
        rc = s_error (errmsg, errlen, ZR_EIO, "%s: open: %s", path,
                      strerror (errno));
    else
        rc = s_reader_check (self, errmsg, errlen);
    if (rc_p)
        *rc_p = rc;
    if (rc)
        zr_snapshot_reader_destroy (&self);
    return self;
}

const zr_snapshot_meta_t *
zr_snapshot_reader_meta (zr_snapshot_reader_t *self)
{
    zr_assert (self);
    zr_assert (self->header_bytes >= S_HEADER_MIN);
    return &self->meta;
}

int
zr_snapshot_reader_read (zr_snapshot_reader_t *self, uint64_t offset,
                         void *buf, size_t size, size_t *got)
{
    zr_assert (self && got);
    zr_assert (buf || size == 0);
    *got = 0;
    if (offset > self->meta.size)
        return ZR_EINVAL;
    uint64_t left = self->meta.size - offset;
    size_t want = left < size ? (size_t) left : size;
    ssize_t n = s_pread_full (self->fd, (uint8_t *) buf, want,
                              self->header_bytes + offset);
    if (n < 0)
        return ZR_EIO;
    if ((size_t) n < want)
        return ZR_ECORRUPT;             /* the file shrank since open */
    *got = want;
    return 0;
}

int
zr_snapshot_data_split (const uint8_t *data, uint64_t size, uint64_t *bus_size)
{
    zr_assert (bus_size);
    zr_assert (data || size == 0);
    *bus_size = 0;
    if (size < ZR_SNAPSHOT_BUS_HEAD)
        return ZR_ECORRUPT;
    uint64_t bytes = s_le_get (data, ZR_SNAPSHOT_BUS_HEAD);
    if (bytes > size - ZR_SNAPSHOT_BUS_HEAD)
        return ZR_ECORRUPT;
    *bus_size = bytes;
    return 0;
}

void
zr_snapshot_data_head (uint8_t *head, uint64_t bus_size)
{
    zr_assert (head);
    s_le_put (head, bus_size, ZR_SNAPSHOT_BUS_HEAD);
}

int
zr_snapshot_reader_bus (zr_snapshot_reader_t *self, uint8_t **data_p,
                        uint64_t *size_p)
{
    zr_assert (self && data_p && size_p);
    *data_p = NULL;
    *size_p = 0;
    uint8_t head [ZR_SNAPSHOT_BUS_HEAD];
    size_t got = 0;
    int rc = zr_snapshot_reader_read (self, 0, head, sizeof head, &got);
    uint64_t bytes = 0;
    if (rc == 0 && got < sizeof head)
        rc = ZR_ECORRUPT;
    if (rc == 0)
        bytes = s_le_get (head, sizeof head);
    if (rc == 0 && bytes > self->meta.size - sizeof head)
        rc = ZR_ECORRUPT;               /* more than the file holds */
    uint8_t *data = rc == 0 && bytes ? (uint8_t *) malloc ((size_t) bytes) : NULL;
    zr_assert (rc != 0 || bytes == 0 || data);
    if (data)
        rc = zr_snapshot_reader_read (self, sizeof head, data, (size_t) bytes, &got);
    if (rc == 0 && got < bytes)
        rc = ZR_ECORRUPT;
    if (rc != 0) {
        free (data);
        return rc;
    }
    *data_p = data;
    *size_p = bytes;
    return 0;
}

int
zr_snapshot_reader_verify (zr_snapshot_reader_t *self, char *errmsg,
                           size_t errlen)
{
    zr_assert (self);
    zr_assert (self->fd >= 0);
    uint8_t *buf = (uint8_t *) malloc (ZR_SNAPSHOT_VERIFY_BYTES);
    zr_assert (buf);
    posix_fadvise (self->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    uint32_t crc = 0;
    uint64_t off = 0;
    int rc = 0;
    while (rc == 0 && off < self->meta.size) {
        size_t got = 0;
        rc = zr_snapshot_reader_read (self, off, buf,
                                      ZR_SNAPSHOT_VERIFY_BYTES, &got);
        crc = zr_wal_crc32c (crc, buf, got);
        off += got;
    }
    int err = errno;
    free (buf);
    uint64_t at = self->header_bytes + off;
    if (rc == ZR_EIO)
        return s_error (errmsg, errlen, rc, "%s: read at offset %llu: %s",
                        self->path, (unsigned long long) at, strerror (err));
    if (rc)
        return s_error (errmsg, errlen, rc, "%s: file shrank at offset %llu",
                        self->path, (unsigned long long) at);
    if (crc != self->meta.crc)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "%s: data crc mismatch at offset %llu..%llu",
                        self->path,
                        (unsigned long long) self->header_bytes,
                        (unsigned long long) at);
    return 0;
}

void
zr_snapshot_reader_destroy (zr_snapshot_reader_t **self_p)
{
    zr_assert (self_p);
    zr_snapshot_reader_t *self = *self_p;
    if (!self)
        return;
    zr_assert (self->path);
    if (self->fd >= 0)
        close (self->fd);
    free (self->path);
    free (self);
    *self_p = NULL;
}

/*  -------------------------------------------------------------------------
    Find and prune
*/

/* Opens dir for a scan: returns it, or NULL with *rc 0 if dir is
   missing (no snapshots) or ZR_EIO, with a reason in errmsg. */
static DIR *
s_opendir (const char *dir, int *rc, char *errmsg, size_t errlen)
{
    zr_assert (dir && rc);
    DIR *d = opendir (dir);
    *rc = d || errno == ENOENT ? 0
        : s_error (errmsg, errlen, ZR_EIO, "%s: opendir: %s", dir, strerror (errno));
    return d;
}

/* The newest snapshot a directory scan found. */
typedef struct {
    bool found;                         /* a final name was seen */
    zr_index_t index;                   /* its index, if found */
    zr_term_t term;                     /* its term, if found */
} s_newest_t;

/* Scans directory dir: deletes temp files when clean is set, deletes
   snapshot files older than *below (by index, then term), and reports
   the newest of the others in *newest. A missing dir holds nothing. Returns 0, or
   ZR_EIO with errmsg when dir cannot be read or a file cannot be
   deleted (the scan goes on). */
static int
s_scan (const char *dir, bool clean, const s_newest_t *below,
        s_newest_t *newest, char *errmsg, size_t errlen)
{
    zr_assert (dir && below && newest);
    zr_assert (below != newest);
    memset (newest, 0, sizeof *newest);
    int rc = 0;
    DIR *d = s_opendir (dir, &rc, errmsg, errlen);
    if (!d)
        return rc;
    struct dirent *de;
    while ((de = readdir (d))) {
        zr_index_t i;
        zr_term_t t;
        if (clean && s_name_is_tmp (de->d_name))
            unlinkat (dirfd (d), de->d_name, 0);
        if (!s_name_parse (de->d_name, &i, &t))
            continue;
        if (i < below->index || (i == below->index && t < below->term)) {
            if (unlinkat (dirfd (d), de->d_name, 0) && errno != ENOENT)
                rc = s_error (errmsg, errlen, ZR_EIO, "%s/%s: unlink: %s",
                              dir, de->d_name, strerror (errno));
        }
        else if (!newest->found || i > newest->index
                 || (i == newest->index && t > newest->term))
            *newest = (s_newest_t) {true, i, t};
    }
    closedir (d);
    zr_assert (!newest->found || newest->index >= below->index);
    return rc;
}

/* Opens and verifies file path, the newest, named (index, term). */
static int
s_find_verify (const char *path, zr_index_t index, zr_term_t term,
               zr_snapshot_meta_t *meta, char *errmsg, size_t errlen)
{
    zr_assert (path && path [0] != '\0');
    zr_assert (meta);
    int rc = 0;
    zr_snapshot_reader_t *reader =
        zr_snapshot_reader_new (path, &rc, errmsg, errlen);
    if (!reader)
        return rc;
    rc = zr_snapshot_reader_verify (reader, errmsg, errlen);
    const zr_snapshot_meta_t *m = zr_snapshot_reader_meta (reader);
    if (rc == 0 && (m->index != index || m->term != term))
        rc = s_error (errmsg, errlen, ZR_ECORRUPT,
                      "%s: header says index %llu term %llu, unlike its "
                      "name, at offset 24", path,
                      (unsigned long long) m->index,
                      (unsigned long long) m->term);
    if (rc == 0)
        *meta = *m;
    zr_snapshot_reader_destroy (&reader);
    return rc;
}

int
zr_snapshot_find (const char *dir, zr_snapshot_meta_t *meta, char *path,
                  size_t path_len, char *errmsg, size_t errlen)
{
    zr_assert (dir && meta);
    zr_assert (path && path_len > strlen (dir) + 1 + S_NAME_LEN);
    memset (meta, 0, sizeof *meta);
    path [0] = '\0';
    s_error (errmsg, errlen, 0, "%s", "");
    s_newest_t newest, none = {false, 0, 0};
    int rc = s_scan (dir, true, &none, &newest, errmsg, errlen);
    if (rc || !newest.found)
        return rc;
    char name [S_NAME_MAX];
    s_name (name, newest.index, newest.term, ".zsnap");
    snprintf (path, path_len, "%s/%s", dir, name);
    rc = s_find_verify (path, newest.index, newest.term, meta, errmsg,
                        errlen);
    if (rc) {
        memset (meta, 0, sizeof *meta);
        path [0] = '\0';
    }
    return rc;
}

int
zr_snapshot_prune (const char *dir, zr_index_t keep_index, char *errmsg,
                   size_t errlen)
{
    zr_assert (dir);
    s_error (errmsg, errlen, 0, "%s", "");
    s_newest_t newest, none = {false, 0, 0};
    int rc = s_scan (dir, false, &none, &newest, errmsg, errlen);
    if (rc || !newest.found)
        return rc;
    /* Invariant (3): the newest file stays even below keep_index. */
    s_newest_t below = newest;
    if (keep_index <= newest.index)
        below = (s_newest_t) {true, keep_index, 0};
    zr_assert (below.index <= newest.index);
    return s_scan (dir, false, &below, &newest, errmsg, errlen);
}

/* True if (index a, term a) is newer than b, or b is not found. */
static bool
s_newer (const s_newest_t *a, const s_newest_t *b)
{
    zr_assert (a->found);
    return !b->found || a->index > b->index
           || (a->index == b->index && a->term > b->term);
}

/* Fills top [0] and top [1] with the newest and second newest final
   names in dir (found false where there are fewer). */
static int
s_two_newest (const char *dir, s_newest_t *top, char *errmsg, size_t errlen)
{
    zr_assert (dir && top);
    memset (top, 0, 2 * sizeof *top);
    int rc = 0;
    DIR *d = s_opendir (dir, &rc, errmsg, errlen);
    if (!d)
        return rc;
    struct dirent *de;
    while ((de = readdir (d))) {
        s_newest_t seen = {true, 0, 0};
        if (!s_name_parse (de->d_name, &seen.index, &seen.term))
            continue;
        if (s_newer (&seen, &top [0])) {
            top [1] = top [0];
            top [0] = seen;
        }
        else
        if (s_newer (&seen, &top [1]))
            top [1] = seen;
    }
    closedir (d);
    zr_assert (!top [1].found || s_newer (&top [0], &top [1]));
    return 0;
}

int
zr_snapshot_prune_older (const char *dir, char *errmsg, size_t errlen)
{
    zr_assert (dir);
    s_error (errmsg, errlen, 0, "%s", "");
    s_newest_t top [2], newest;
    int rc = s_two_newest (dir, top, errmsg, errlen);
    if (rc || !top [1].found)
        return rc;                      /* fewer than two: nothing goes */
    return s_scan (dir, false, &top [1], &newest, errmsg, errlen);
}
