/*  =========================================================================
    snapshot - snapshot files of one server (design notes in snapshot.h)

    Sections: header codec.
    =========================================================================
*/
#include "snapshot.h"
#include "wal.h"                        /* zr_wal_crc32c */

#include <stdarg.h>

#define S_PREAMBLE 16                   /* magic, version, H: every version */
#define S_FIXED 52                      /* version 1 bytes before the servers */
#define S_SERVER_FIXED 5                /* u32 id, u8 endpoint length */
#define S_CRC 4                         /* the trailing header crc */
#define S_HEADER_MIN (S_PREAMBLE + S_CRC)   /* smallest H of any version */

_Static_assert (S_FIXED + S_CRC
                + ZR_NODES_MAX * (S_SERVER_FIXED + ZR_SNAPSHOT_ENDPOINT_MAX)
                <= ZR_SNAPSHOT_HEADER_MAX, "a version 1 header fits");
_Static_assert (ZR_SNAPSHOT_ENDPOINT_MAX <= UINT8_MAX,
                "an endpoint length fits its u8");

static const uint8_t s_magic [8] = {'Z', 'R', 'S', 'N', 'A', 'P', 0, 0};

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
                      "version %d", (unsigned long long) version,
                      ZR_SNAPSHOT_VERSION);
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
