/*  =========================================================================
    wal - the write-ahead log of one server (design notes in wal.h)

    Sections: encoding and crc32c; file helpers; the append path (queue,
    sync); recovery (list, scan, judge, repair, ready).
    =========================================================================
*/
#include "wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define S_SEG_HEADER 32                 /* segment header bytes */
#define S_REC_HEADER 32                 /* record header bytes */
#define S_REC_ENTRY 1                   /* record type: a log entry */
#define S_REC_HARDSTATE 2               /* record type: term and vote */
#define S_NAME_MAX 48                   /* "wal-<16 hex>.seg.tmp" and NUL */
#define S_ZEROS 65536                   /* bytes in s_zeros */
#define S_ZERO_IOVS 16                  /* iovecs per zero-filling pwritev */
#define S_LEFTOVER 1                    /* scan result: delete this file */

_Static_assert (S_SEG_HEADER % 8 == 0 && S_REC_HEADER % 8 == 0,
                "records stay 8-byte aligned");
_Static_assert (ZR_WAL_SEGMENT_BYTES_MIN > S_SEG_HEADER + S_REC_HEADER,
                "a segment holds at least one record");

static const uint8_t s_magic [8] = {'Z', 'R', 'W', 'A', 'L', 0, 0, 1};
static const uint8_t s_zeros [S_ZEROS];

/* One pwrite of queued bytes: records for one segment, in order. */
typedef struct {
    uint64_t seq;                       /* segment the bytes go to */
    uint64_t file_off;                  /* offset in that segment */
    size_t buf_off;                     /* offset of the bytes in self->buf */
    size_t len;                         /* bytes */
} s_chunk_t;

struct _zr_wal_t {
    int dir_fd;                         /* directory, fsync'd after renames */
    size_t segment_bytes;               /* size of every new segment */
    uint64_t cur_seq;                   /* current segment: receives writes */
    int cur_fd;                         /* its file */
    uint64_t cur_size;                  /* its size */
    uint64_t cur_off;                   /* end of its durable records */
    int spare_fd;                       /* segment cur_seq + 1, or -1 */
    bool spare_async;                   /* spares come from zr_wal_spare_* */
    bool spare_pending;                 /* a job is out (zr_wal_spare_wanted) */
    bool spare_failed;                  /* the last job failed: no new one
                                           until the next segment switch */
    uint64_t tail_seq;                  /* segment of the next queued record */
    uint64_t tail_size;                 /* its size */
    uint64_t tail_off;                  /* offset of the next queued record */
    uint8_t *buf;                       /* queued records (invariant 7) */
    size_t buf_len;                     /* bytes queued */
    size_t buf_cap;                     /* bytes allocated */
    s_chunk_t *chunks;                  /* queued writes, seq ascending */
    size_t n_chunks;                    /* chunks queued */
    size_t chunks_cap;                  /* chunks allocated */
    uint64_t queued_records;            /* records queued */
    zr_index_t last_index;              /* last entry queued or recovered */
    zr_wal_stats_t stats;               /* counters */
    bool failed;                        /* sticky error state (invariant 6) */
    bool fail_next;                     /* test hook: next data write fails */
    char error [256];                   /* why the WAL failed */
};

/* One record as decoded from disk. */
typedef struct {
    uint8_t type;                       /* S_REC_ENTRY or S_REC_HARDSTATE */
    uint8_t entry_type;                 /* zr_entry_type_t, 0 for hard state */
    uint32_t len;                       /* payload bytes */
    uint64_t term;                      /* term */
    uint64_t index;                     /* entry index, or vote */
    const uint8_t *payload;             /* len bytes in the read buffer */
    size_t bytes;                       /* footprint in the segment */
} s_record_t;

typedef enum { S_REC_OK, S_REC_END, S_REC_BAD } s_rec_status_t;

/* What scanning one segment found. */
typedef struct {
    uint64_t seq;                       /* sequence number */
    uint64_t size;                      /* file size */
    uint64_t end;                       /* offset where valid records stop */
    uint64_t dirty_end;                 /* after last non-zero byte, >= end */
    const char *why;                    /* why the scan stopped at end */
    bool valid_after;                   /* a valid record starts after end */
} s_seg_t;

/* State of zr_wal_open while it recovers. */
typedef struct {
    zr_term_t term;                     /* hard state replayed so far */
    zr_id_t vote;                       /* vote replayed so far */
    zr_entry_t *entries;                /* log replayed so far, data unset */
    uint32_t n;                         /* entries in the log */
    size_t entries_cap;                 /* entries allocated */
    uint8_t *payload;                   /* payloads of entries, concatenated */
    size_t payload_len;                 /* bytes used: sum of entries' sizes */
    size_t payload_cap;                 /* bytes allocated */
    uint8_t *buf;                       /* contents of the segment scanned */
    size_t buf_cap;                     /* bytes allocated */
    uint64_t *seqs;                     /* segments found, ascending */
    size_t n_seqs;                      /* segments in seqs */
    size_t seqs_cap;                    /* seqs allocated */
    s_seg_t last;                       /* last data segment so far */
    bool have_last;                     /* last is set */
    uint64_t empty_seq;                 /* first empty segment after last */
    bool have_empty;                    /* empty_seq is set */
    uint64_t torn_bytes;                /* torn tail zeroed */
} s_recovery_t;

static int s_error (char *errmsg, size_t errlen, int rc, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static int
s_error (char *errmsg, size_t errlen, int rc, const char *fmt, ...)
{
    if (errmsg && errlen > 0) {
        va_list args;
        va_start (args, fmt);
        vsnprintf (errmsg, errlen, fmt, args);
        va_end (args);
    }
    return rc;
}

/*  -------------------------------------------------------------------------
    Encoding and crc32c
*/

static const uint32_t s_crc_table [256] = {
    0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c,
    0x26a1e7e8, 0xd4ca64eb, 0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
    0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24, 0x105ec76f, 0xe235446c,
    0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
    0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc,
    0xbc267848, 0x4e4dfb4b, 0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
    0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35, 0xaa64d611, 0x580f5512,
    0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
    0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad,
    0x1642ae59, 0xe4292d5a, 0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
    0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595, 0x417b1dbc, 0xb3109ebf,
    0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
    0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f,
    0xed03a29b, 0x1f682198, 0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
    0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38, 0xdbfc821c, 0x2997011f,
    0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
    0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e,
    0x4767748a, 0xb50cf789, 0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
    0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46, 0x7198540d, 0x83f3d70e,
    0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
    0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de,
    0xdde0eb2a, 0x2f8b6829, 0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
    0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93, 0x082f63b7, 0xfa44e0b4,
    0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
    0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b,
    0xb4091bff, 0x466298fc, 0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
    0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033, 0xa24bb5a6, 0x502036a5,
    0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
    0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975,
    0x0e330a81, 0xfc588982, 0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
    0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622, 0x38cc2a06, 0xcaa7a905,
    0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
    0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8,
    0xe52cc12c, 0x1747422f, 0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
    0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0, 0xd3d3e1ab, 0x21b862a8,
    0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
    0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78,
    0x7fab5e8c, 0x8dc0dd8f, 0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
    0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1, 0x69e9f0d5, 0x9b8273d6,
    0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
    0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69,
    0xd5cf889d, 0x27a40b9e, 0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
    0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351};

#if defined(__x86_64__)
__attribute__ ((target ("sse4.2"))) static uint32_t
s_crc32c_sse42 (uint32_t crc, const uint8_t *p, size_t size)
{
    uint64_t c = ~crc;
    for (; size >= 8; p += 8, size -= 8) {
        uint64_t word;
        memcpy (&word, p, 8);
        c = __builtin_ia32_crc32di (c, word);
    }
    uint32_t c32 = (uint32_t) c;
    for (; size > 0; p++, size--)
        c32 = __builtin_ia32_crc32qi (c32, *p);
    return ~c32;
}
#endif

uint32_t
zr_wal_crc32c (uint32_t crc, const void *data, size_t size)
{
    zr_assert (data || size == 0);
    const uint8_t *p = (const uint8_t *) data;
#if defined(__x86_64__)
    /* The SSE4.2 crc32 instruction computes this very polynomial, 8 bytes
       at a time: the table loop below was a fifth of the CPU of a busy
       node (perf, docs/PERFORMANCE.md). */
    if (__builtin_cpu_supports ("sse4.2"))
        return s_crc32c_sse42 (crc, p, size);
#endif
    crc = ~crc;
    for (size_t i = 0; i < size; i++)
        crc = s_crc_table [(crc ^ p [i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* Writes the n low bytes of v at p, little-endian. */
static void
s_put (uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p [i] = (uint8_t) (v >> (8 * i));
}

/* Returns the n bytes at p as a little-endian number. */
static uint64_t
s_get (const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p [i];
    return v;
}

static bool
s_all_zero (const uint8_t *p, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (p [i])
            return false;
    return true;
}

/* Returns the bytes a record with len payload bytes occupies. */
static size_t
s_record_bytes (uint32_t len)
{
    return (S_REC_HEADER + (size_t) len + 7) & ~(size_t) 7;
}

static void
s_seg_name (char *name, uint64_t seq, const char *suffix)
{
    snprintf (name, S_NAME_MAX, "wal-%016llx.seg%s", (unsigned long long) seq,
              suffix);
}

/* Writes one record at p, which has s_record_bytes (len) bytes. */
static void
s_record_encode (uint8_t *p, uint8_t type, uint8_t entry_type, uint64_t term,
                 uint64_t index, const uint8_t *data, uint32_t len)
{
    size_t bytes = s_record_bytes (len);
    memset (p, 0, S_REC_HEADER);
    memset (p + bytes - 8, 0, 8);       /* the padding, if any */
    s_put (p + 4, len, 4);
    p [8] = type;
    p [9] = entry_type;
    s_put (p + 12, term, 8);
    s_put (p + 20, index, 8);
    if (len > 0)
        memcpy (p + S_REC_HEADER, data, len);
    s_put (p, zr_wal_crc32c (0, p + 4, S_REC_HEADER - 4 + (size_t) len), 4);
}

/* Decodes the record at p, avail bytes before the segment's end. Never
   trusts the bytes: returns S_REC_END on an all-zero header, S_REC_BAD
   with a reason in *why, or S_REC_OK with *rec filled. */
static s_rec_status_t
s_record_decode (const uint8_t *p, size_t avail, s_record_t *rec,
                 const char **why)
{
    size_t head = avail < S_REC_HEADER ? avail : S_REC_HEADER;
    if (s_all_zero (p, head))
        return S_REC_END;
    *why = "truncated record header";
    if (avail < S_REC_HEADER)
        return S_REC_BAD;
    rec->len = (uint32_t) s_get (p + 4, 4);
    *why = "impossible length";
    if (rec->len > ZR_ENTRY_BYTES_MAX
        || S_REC_HEADER + (size_t) rec->len > avail)
        return S_REC_BAD;
    *why = "crc mismatch";
    if (s_get (p, 4) != zr_wal_crc32c (0, p + 4, S_REC_HEADER - 4 + rec->len))
        return S_REC_BAD;
    rec->type = p [8];
    rec->entry_type = p [9];
    rec->term = s_get (p + 12, 8);
    rec->index = s_get (p + 20, 8);
    rec->payload = p + S_REC_HEADER;
    rec->bytes = s_record_bytes (rec->len);
    if (rec->bytes > avail)
        rec->bytes = avail;             /* the padding would pass the end */
    bool entry = rec->type == S_REC_ENTRY && rec->index >= 1
                 && (rec->entry_type == ZR_ENTRY_COMMAND
                     || rec->entry_type == ZR_ENTRY_NOOP);
    bool hard = rec->type == S_REC_HARDSTATE && rec->entry_type == 0
                && rec->len == 0 && rec->index <= UINT32_MAX;
    *why = "bad record type or field";
    if (!(entry || hard) || p [10] || p [11] || !s_all_zero (p + 28, 4))
        return S_REC_BAD;
    return S_REC_OK;
}

/*  -------------------------------------------------------------------------
    File helpers
*/

/* Writes all of data at off, retrying short writes. 0 or -1 (errno). */
static int
s_pwrite_all (int fd, const uint8_t *data, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pwrite (fd, data, len, (off_t) off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -1 : (errno = EIO, -1);
        data += n;
        len -= (size_t) n;
        off += (uint64_t) n;
    }
    return 0;
}

/* Writes len zero bytes at off. 0 or -1 (errno). */
static int
s_write_zeros (int fd, uint64_t off, uint64_t len)
{
    struct iovec iov [S_ZERO_IOVS];
    while (len > 0) {
        int n_iov = 0;
        uint64_t batch = 0;
        for (; n_iov < S_ZERO_IOVS && batch < len; n_iov++) {
            uint64_t part = len - batch < S_ZEROS ? len - batch : S_ZEROS;
            iov [n_iov].iov_base = (void *) s_zeros;
            iov [n_iov].iov_len = (size_t) part;
            batch += part;
        }
        ssize_t n = pwritev (fd, iov, n_iov, (off_t) off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -1 : (errno = EIO, -1);
        off += (uint64_t) n;
        len -= (uint64_t) n;
    }
    return 0;
}

/* Grows *p (elements of elem bytes, *cap allocated) to hold need. An
   actor treats running out of memory as fatal (STYLE.md). */
static void
s_grow (void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return;
    size_t cap_new = *cap ? *cap : 16;
    while (cap_new < need)
        cap_new *= 2;
    void *p_new = realloc (*p, cap_new * elem);
    zr_assert (p_new);
    *p = p_new;
    *cap = cap_new;
}

/* Creates segment seq in dir_fd: temp name, header, zero-filled,
   fdatasync'd, renamed, directory fsync'd (invariant 3). Touches no WAL
   state, so zr_wal_spare_prepare can run it on another thread. Returns 0
   with *fd_p open read-write, or ZR_EIO with errmsg. */
static int
s_segment_create_at (int dir_fd, size_t segment_bytes, uint64_t seq,
                     int *fd_p, char *errmsg, size_t errlen)
{
    char tmp [S_NAME_MAX], name [S_NAME_MAX];
    s_seg_name (tmp, seq, ".tmp");
    s_seg_name (name, seq, "");
    uint8_t header [S_SEG_HEADER] = {0};
    memcpy (header, s_magic, sizeof s_magic);
    s_put (header + 8, seq, 8);
    s_put (header + 16, zr_wal_crc32c (0, header, 16), 4);
    int fd = openat (dir_fd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
                     0600);
    const char *step = fd < 0 ? "create" : NULL;
    if (!step && s_pwrite_all (fd, header, S_SEG_HEADER, 0))
        step = "write header";
    else if (!step && s_write_zeros (fd, S_SEG_HEADER,
                                     segment_bytes - S_SEG_HEADER))
        step = "zero-fill";
    else if (!step && fdatasync (fd))
        step = "fdatasync";
    else if (!step && renameat (dir_fd, tmp, dir_fd, name))
        step = "rename";
    else if (!step && fsync (dir_fd))
        step = "fsync directory";
    if (step) {
        int err = errno;
        if (fd >= 0)
            close (fd);
        unlinkat (dir_fd, tmp, 0);
        return s_error (errmsg, errlen, ZR_EIO, "%s: %s: %s", tmp, step,
                        strerror (err));
    }
    *fd_p = fd;
    return 0;
}

/* Creates segment seq of this WAL on the calling thread. */
static int
s_segment_create (zr_wal_t *self, uint64_t seq, int *fd_p, char *errmsg,
                  size_t errlen)
{
    return s_segment_create_at (self->dir_fd, self->segment_bytes, seq, fd_p,
                                errmsg, errlen);
}

/* Opens segment seq read-write; 0 with *fd_p and *size_p, or ZR_EIO. */
static int
s_segment_open (zr_wal_t *self, uint64_t seq, int *fd_p, uint64_t *size_p,
                char *errmsg, size_t errlen)
{
    char name [S_NAME_MAX];
    s_seg_name (name, seq, "");
    struct stat st;
    int fd = openat (self->dir_fd, name, O_RDWR | O_CLOEXEC);
    if (fd < 0 || fstat (fd, &st)) {
        int err = errno;
        if (fd >= 0)
            close (fd);
        return s_error (errmsg, errlen, ZR_EIO, "%s: open: %s", name,
                        strerror (err));
    }
    *fd_p = fd;
    *size_p = (uint64_t) st.st_size;
    return 0;
}

/*  -------------------------------------------------------------------------
    The append path
*/

/* Queues one record at the tail, moving to the next segment if it does
   not fit in the rest of this one (invariant 1). */
static void
s_queue_record (zr_wal_t *self, uint8_t type, uint8_t entry_type,
                uint64_t term, uint64_t index, const uint8_t *data,
                uint32_t len)
{
    size_t bytes = s_record_bytes (len);
    if (self->tail_off + bytes > self->tail_size) {
        self->tail_seq++;
        self->tail_off = S_SEG_HEADER;
        self->tail_size = self->segment_bytes;
    }
    zr_assert (self->tail_off + bytes <= self->tail_size);
    s_chunk_t *chunk =
        self->n_chunks ? &self->chunks [self->n_chunks - 1] : NULL;
    if (!chunk || chunk->seq != self->tail_seq) {
        s_grow ((void **) &self->chunks, &self->chunks_cap, self->n_chunks + 1,
                sizeof (s_chunk_t));
        chunk = &self->chunks [self->n_chunks++];
        *chunk = (s_chunk_t) {self->tail_seq, self->tail_off, self->buf_len, 0};
    }
    zr_assert (chunk->file_off + chunk->len == self->tail_off);
    s_grow ((void **) &self->buf, &self->buf_cap, self->buf_len + bytes, 1);
    s_record_encode (self->buf + self->buf_len, type, entry_type, term, index,
                     data, len);
    self->buf_len += bytes;
    chunk->len += bytes;
    self->tail_off += bytes;
    self->queued_records++;
}

int
zr_wal_set_hard_state (zr_wal_t *self, zr_term_t term, zr_id_t vote)
{
    zr_assert (self);
    if (self->failed)
        return ZR_EIO;
    s_queue_record (self, S_REC_HARDSTATE, 0, term, vote, NULL, 0);
    return 0;
}

int
zr_wal_append (zr_wal_t *self, const zr_entry_t *entries, uint32_t n)
{
    zr_assert (self);
    zr_assert (n == 0 || entries);
    if (self->failed)
        return ZR_EIO;
    if (n == 0)
        return 0;
    zr_assert (entries [0].index >= 1);
    zr_assert (entries [0].index <= self->last_index + 1);
    for (uint32_t i = 0; i < n; i++) {
        const zr_entry_t *e = &entries [i];
        zr_assert (e->index == entries [0].index + i);
        zr_assert (e->type == ZR_ENTRY_COMMAND || e->type == ZR_ENTRY_NOOP);
        zr_assert (e->size == 0 || e->data);
        if (e->size > ZR_ENTRY_BYTES_MAX
            || s_record_bytes (e->size) > self->segment_bytes - S_SEG_HEADER)
            return ZR_ETOOBIG;
    }
    for (uint32_t i = 0; i < n; i++)
        s_queue_record (self, S_REC_ENTRY, entries [i].type, entries [i].term,
                        entries [i].index, entries [i].data, entries [i].size);
    self->last_index = entries [n - 1].index;
    return 0;
}

/* Makes the spare the current segment, preparing it first if needed. */
static int
s_segment_switch (zr_wal_t *self)
{
    /* The caller collects a pending job first (zr_wal_spare_awaited), so
       two threads never create the same segment. */
    zr_assert (self->spare_fd >= 0 || !self->spare_pending);
    self->spare_failed = false;
    if (self->spare_fd < 0) {
        int rc = s_segment_create (self, self->cur_seq + 1, &self->spare_fd,
                                   self->error, sizeof self->error);
        if (rc)
            return rc;
    }
    close (self->cur_fd);
    self->cur_fd = self->spare_fd;
    self->spare_fd = -1;
    self->cur_seq++;
    self->cur_size = self->segment_bytes;
    self->cur_off = S_SEG_HEADER;
    return 0;
}

/* Writes one chunk and fdatasyncs its segment (invariant 2). */
static int
s_chunk_write (zr_wal_t *self, const s_chunk_t *chunk)
{
    if (chunk->seq != self->cur_seq) {
        zr_assert (chunk->seq == self->cur_seq + 1);
        int rc = s_segment_switch (self);
        if (rc)
            return rc;
    }
    zr_assert (chunk->file_off == self->cur_off);
    zr_assert (chunk->file_off + chunk->len <= self->cur_size);
    const char *step = NULL;
    if (self->fail_next) {
        self->fail_next = false;
        errno = EIO;
        step = "pwrite (test hook)";
    }
    else if (s_pwrite_all (self->cur_fd, self->buf + chunk->buf_off, chunk->len,
                           chunk->file_off))
        step = "pwrite";
    else if (fdatasync (self->cur_fd))
        step = "fdatasync";
    if (step) {
        int err = errno;
        char name [S_NAME_MAX];
        s_seg_name (name, chunk->seq, "");
        return s_error (self->error, sizeof self->error, ZR_EIO,
                        "%s: %s at offset %llu: %s", name, step,
                        (unsigned long long) chunk->file_off, strerror (err));
    }
    self->stats.syncs++;
    self->cur_off += chunk->len;
    return 0;
}

int
zr_wal_sync (zr_wal_t *self, char *errmsg, size_t errlen)
{
    zr_assert (self);
    if (!self->failed && self->n_chunks > 0) {
        int rc = 0;
        for (size_t i = 0; rc == 0 && i < self->n_chunks; i++)
            rc = s_chunk_write (self, &self->chunks [i]);
        if (rc == 0) {
            zr_assert (self->cur_seq == self->tail_seq);
            zr_assert (self->cur_off == self->tail_off);
            self->stats.bytes += self->buf_len;
            self->stats.records += self->queued_records;
        }
        self->buf_len = 0;
        self->n_chunks = 0;
        self->queued_records = 0;
        /* Prepared after the data above is durable; with async spares
           the caller prepares them on another thread instead. */
        if (rc == 0 && !self->spare_async && self->spare_fd < 0
            && self->cur_off >= self->cur_size / 2)
            rc = s_segment_create (self, self->cur_seq + 1, &self->spare_fd,
                                   self->error, sizeof self->error);
        self->failed = rc != 0;
    }
    if (self->failed)
        return s_error (errmsg, errlen, ZR_EIO, "%s", self->error);
    return 0;
}

zr_index_t
zr_wal_last_index (zr_wal_t *self)
{
    zr_assert (self);
    return self->last_index;
}

void
zr_wal_stats (zr_wal_t *self, zr_wal_stats_t *stats)
{
    zr_assert (self && stats);
    *stats = self->stats;
}

bool
zr_wal_spare_wanted (zr_wal_t *self, zr_wal_spare_t *job)
{
    zr_assert (self && job);
    self->spare_async = true;
    if (self->failed || self->spare_pending || self->spare_failed
        || self->spare_fd >= 0 || self->cur_off < self->cur_size / 2)
        return false;
    memset (job, 0, sizeof *job);
    /* The job's own descriptor: it may outlive this WAL (see discard). */
    job->dir_fd = fcntl (self->dir_fd, F_DUPFD_CLOEXEC, 0);
    if (job->dir_fd < 0)
        return false;                   /* the switch will create it */
    job->seq = self->cur_seq + 1;
    job->segment_bytes = self->segment_bytes;
    job->fd = -1;
    self->spare_pending = true;
    return true;
}

void
zr_wal_spare_prepare (zr_wal_spare_t *job)
{
    zr_assert (job && job->dir_fd >= 0 && job->fd < 0);
    job->rc = s_segment_create_at (job->dir_fd, job->segment_bytes, job->seq,
                                   &job->fd, job->error, sizeof job->error);
}

void
zr_wal_spare_discard (zr_wal_spare_t *job)
{
    zr_assert (job);
    if (job->fd >= 0)
        close (job->fd);                /* the file stays: a valid spare */
    if (job->dir_fd >= 0)
        close (job->dir_fd);
    job->fd = job->dir_fd = -1;
}

bool
zr_wal_spare_awaited (zr_wal_t *self)
{
    zr_assert (self);
    return self->spare_pending && self->tail_seq > self->cur_seq;
}

int
zr_wal_spare_done (zr_wal_t *self, zr_wal_spare_t *job)
{
    zr_assert (self && job && self->spare_pending);
    zr_assert (job->seq == self->cur_seq + 1 && self->spare_fd < 0);
    self->spare_pending = false;
    close (job->dir_fd);
    job->dir_fd = -1;
    if (job->rc == 0) {
        self->spare_fd = job->fd;
        job->fd = -1;
        return 0;
    }
    self->spare_failed = true;          /* the switch retries on its own */
    return job->rc;
}

void
zr_wal_test_fail (zr_wal_t *self)
{
    zr_assert (self);
    self->fail_next = true;
}

void
zr_wal_destroy (zr_wal_t **self_p)
{
    zr_assert (self_p);
    zr_wal_t *self = *self_p;
    if (!self)
        return;
    if (self->cur_fd >= 0)
        close (self->cur_fd);
    if (self->spare_fd >= 0)
        close (self->spare_fd);
    if (self->dir_fd >= 0)
        close (self->dir_fd);
    free (self->buf);
    free (self->chunks);
    free (self);
    *self_p = NULL;
}

/*  -------------------------------------------------------------------------
    Recovery
*/

/* Opens (creating if missing, then fsyncing its parent) the directory. */
static int
s_dir_open (zr_wal_t *self, const char *dir, char *errmsg, size_t errlen)
{
    if (mkdir (dir, 0700) == 0) {
        char *copy = strdup (dir);
        zr_assert (copy);
        int parent = open (dirname (copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int failed = parent < 0 || fsync (parent);
        int err = errno;
        if (parent >= 0)
            close (parent);
        free (copy);
        if (failed)
            return s_error (errmsg, errlen, ZR_EIO, "%s: fsync parent: %s",
                            dir, strerror (err));
    }
    else if (errno != EEXIST)
        return s_error (errmsg, errlen, ZR_EIO, "%s: mkdir: %s", dir,
                        strerror (errno));
    self->dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (self->dir_fd < 0)
        return s_error (errmsg, errlen, ZR_EIO, "%s: open: %s", dir,
                        strerror (errno));
    return 0;
}

/* Returns true with *seq if name is exactly "wal-<16 hex>.seg". */
static bool
s_name_parse (const char *name, uint64_t *seq)
{
    if (strlen (name) != 24 || strncmp (name, "wal-", 4)
        || strcmp (name + 20, ".seg"))
        return false;
    *seq = 0;
    for (int i = 4; i < 20; i++) {
        char c = name [i];
        int digit = c >= '0' && c <= '9' ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (digit < 0)
            return false;
        *seq = *seq << 4 | (uint64_t) digit;
    }
    return true;
}

static int
s_seq_compare (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* Lists the segments into rcv->seqs, sorted and checked contiguous, and
   removes temp files a crash during preparation left behind. */
static int
s_list (zr_wal_t *self, const char *dir, s_recovery_t *rcv, char *errmsg,
        size_t errlen)
{
    DIR *d = opendir (dir);
    if (!d)
        return s_error (errmsg, errlen, ZR_EIO, "%s: opendir: %s", dir,
                        strerror (errno));
    struct dirent *de;
    uint64_t seq;
    while ((de = readdir (d))) {
        size_t len = strlen (de->d_name);
        if (strncmp (de->d_name, "wal-", 4) == 0 && len > 8
            && strcmp (de->d_name + len - 4, ".tmp") == 0)
            unlinkat (self->dir_fd, de->d_name, 0);
        else if (s_name_parse (de->d_name, &seq)) {
            s_grow ((void **) &rcv->seqs, &rcv->seqs_cap, rcv->n_seqs + 1,
                    sizeof (uint64_t));
            rcv->seqs [rcv->n_seqs++] = seq;
        }
    }
    closedir (d);
    if (rcv->n_seqs > 1)
        qsort (rcv->seqs, rcv->n_seqs, sizeof (uint64_t), s_seq_compare);
    for (size_t i = 1; i < rcv->n_seqs; i++)
        if (rcv->seqs [i] != rcv->seqs [i - 1] + 1) {
            char name [S_NAME_MAX];
            s_seg_name (name, rcv->seqs [i - 1] + 1, "");
            return s_error (errmsg, errlen, ZR_ECORRUPT,
                            "%s: missing between segments %016llx and %016llx",
                            name, (unsigned long long) rcv->seqs [i - 1],
                            (unsigned long long) rcv->seqs [i]);
        }
    return 0;
}

/* Applies one valid record to the log being rebuilt (invariant 4). */
static int
s_replay (s_recovery_t *rcv, const s_record_t *rec, const char *name,
          uint64_t off, char *errmsg, size_t errlen)
{
    if (rec->type == S_REC_HARDSTATE) {
        rcv->term = rec->term;
        rcv->vote = (zr_id_t) rec->index;
        return 0;
    }
    if (rec->index > (uint64_t) rcv->n + 1)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "%s: gap: entry index %llu after last index %llu at "
                        "offset %llu", name, (unsigned long long) rec->index,
                        (unsigned long long) rcv->n, (unsigned long long) off);
    if (rec->index > UINT32_MAX)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "%s: log longer than %u entries at offset %llu", name,
                        UINT32_MAX, (unsigned long long) off);
    while (rcv->n >= rec->index)
        rcv->payload_len -= rcv->entries [--rcv->n].size;
    s_grow ((void **) &rcv->entries, &rcv->entries_cap, (size_t) rcv->n + 1,
            sizeof (zr_entry_t));
    s_grow ((void **) &rcv->payload, &rcv->payload_cap,
            rcv->payload_len + rec->len, 1);
    if (rec->len > 0)
        memcpy (rcv->payload + rcv->payload_len, rec->payload, rec->len);
    rcv->payload_len += rec->len;
    rcv->entries [rcv->n++] = (zr_entry_t) {.term = rec->term,
                                            .index = rec->index,
                                            .type = rec->entry_type,
                                            .size = rec->len};
    return 0;
}

/* Reads segment seq into rcv->buf and checks its header. Returns 0,
   S_LEFTOVER (a bad header on an otherwise empty last file), or an
   error. */
static int
s_segment_read (zr_wal_t *self, s_recovery_t *rcv, s_seg_t *seg, bool is_last,
                char *errmsg, size_t errlen)
{
    char name [S_NAME_MAX];
    s_seg_name (name, seg->seq, "");
    int fd;
    int rc = s_segment_open (self, seg->seq, &fd, &seg->size, errmsg, errlen);
    if (rc)
        return rc;
    if (seg->size > ZR_WAL_SEGMENT_BYTES_MAX) {
        close (fd);
        return s_error (errmsg, errlen, ZR_ECORRUPT, "%s: size %llu too big",
                        name, (unsigned long long) seg->size);
    }
    s_grow ((void **) &rcv->buf, &rcv->buf_cap, (size_t) seg->size + 1, 1);
    ssize_t n = 0;
    for (size_t got = 0; got < seg->size; got += (size_t) n) {
        n = pread (fd, rcv->buf + got, (size_t) seg->size - got, (off_t) got);
        if (n <= 0 && !(n < 0 && errno == EINTR)) {
            int err = n < 0 ? errno : EIO;
            close (fd);
            return s_error (errmsg, errlen, ZR_EIO,
                            "%s: read at offset %zu: %s", name, got,
                            strerror (err));
        }
        n = n < 0 ? 0 : n;
    }
    close (fd);
    const uint8_t *b = rcv->buf;
    const char *why = seg->size < S_SEG_HEADER ? "short header"
                      : memcmp (b, s_magic, 8) ? "bad magic"
                      : s_get (b + 16, 4) != zr_wal_crc32c (0, b, 16)
                          ? "header crc mismatch"
                      : s_get (b + 8, 8) != seg->seq ? "sequence mismatch"
                                                    : NULL;
    if (!why)
        return 0;
    if (is_last && (seg->size <= S_SEG_HEADER
                    || s_all_zero (b + S_SEG_HEADER, seg->size - S_SEG_HEADER)))
        return S_LEFTOVER;
    return s_error (errmsg, errlen, ZR_ECORRUPT, "%s: %s at offset 0", name,
                    why);
}

/* Scans and replays the records of the segment in rcv->buf, then looks
   past where they stop for non-zero bytes and valid records. */
static int
s_segment_scan (s_recovery_t *rcv, s_seg_t *seg, char *errmsg, size_t errlen)
{
    char name [S_NAME_MAX];
    s_seg_name (name, seg->seq, "");
    const uint8_t *b = rcv->buf;
    uint64_t off = S_SEG_HEADER;
    s_record_t rec;
    s_rec_status_t status;
    while ((status = s_record_decode (b + off, seg->size - off, &rec,
                                      &seg->why)) == S_REC_OK) {
        int rc = s_replay (rcv, &rec, name, off, errmsg, errlen);
        if (rc)
            return rc;
        off += rec.bytes;
    }
    if (status == S_REC_END)
        seg->why = "zero record header";
    seg->end = off;
    seg->dirty_end = seg->size;
    while (seg->dirty_end > off && b [seg->dirty_end - 1] == 0)
        seg->dirty_end--;
    const char *why;
    for (off = seg->end + 8; off < seg->dirty_end && !seg->valid_after;
         off += 8)
        seg->valid_after =
            s_record_decode (b + off, seg->size - off, &rec, &why) == S_REC_OK;
    return 0;
}

/* Decides, before replaying segment seg, whether it may follow those
   before it (invariant 5): data after an empty or damaged segment is
   refused. has_data: seg holds a non-zero byte after its header. */
static int
s_segment_judge (s_recovery_t *rcv, const s_seg_t *seg, bool has_data,
                 char *errmsg, size_t errlen)
{
    char name [S_NAME_MAX];
    if (!has_data) {
        if (!rcv->have_empty)
            rcv->empty_seq = seg->seq;
        rcv->have_empty = true;
        return 0;
    }
    if (rcv->have_empty) {
        s_seg_name (name, rcv->empty_seq, "");
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "%s: no records at offset %d but segment %016llx has "
                        "some (refusing to drop acknowledged data)", name,
                        S_SEG_HEADER, (unsigned long long) seg->seq);
    }
    const s_seg_t *last = &rcv->last;
    if (rcv->have_last && last->dirty_end > last->end) {
        s_seg_name (name, last->seq, "");
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "%s: %s at offset %llu (%s; refusing to drop "
                        "acknowledged data)", name, last->why,
                        (unsigned long long) last->end,
                        last->valid_after ? "valid records follow"
                                          : "later segments hold records");
    }
    return 0;
}

/* Zeroes the torn tail of the last data segment, or refuses a damaged
   one that valid records follow (invariant 5). */
static int
s_tail_repair (zr_wal_t *self, s_recovery_t *rcv, char *errmsg, size_t errlen)
{
    const s_seg_t *last = &rcv->last;
    if (!rcv->have_last || last->dirty_end == last->end)
        return 0;
    char name [S_NAME_MAX];
    s_seg_name (name, last->seq, "");
    if (last->valid_after)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "%s: %s at offset %llu (valid records follow; "
                        "refusing to drop acknowledged data)", name, last->why,
                        (unsigned long long) last->end);
    int fd;
    uint64_t size;
    int rc = s_segment_open (self, last->seq, &fd, &size, errmsg, errlen);
    if (rc)
        return rc;
    if (s_write_zeros (fd, last->end, last->dirty_end - last->end)
        || fdatasync (fd)) {
        int err = errno;
        close (fd);
        return s_error (errmsg, errlen, ZR_EIO, "%s: zeroing torn tail at "
                        "offset %llu: %s", name,
                        (unsigned long long) last->end, strerror (err));
    }
    close (fd);
    rcv->torn_bytes = last->dirty_end - last->end;
    return 0;
}

/* Makes the last data segment again at segment_bytes when the repair
   left no record in it and an older run sized it differently. Else a
   record too big for its old size would go to the next segment, after
   an empty one, and the next open would refuse that (invariant 5). */
static int
s_segment_refit (zr_wal_t *self, s_recovery_t *rcv, char *errmsg,
                 size_t errlen)
{
    if (!rcv->have_last || rcv->last.end != S_SEG_HEADER
        || rcv->last.size == self->segment_bytes)
        return 0;
    int fd;
    int rc = s_segment_create (self, rcv->last.seq, &fd, errmsg, errlen);
    if (rc)
        return rc;
    close (fd);
    rcv->last.size = self->segment_bytes;
    return 0;
}

/* Deletes segments from index first on, highest first. */
static void
s_segments_unlink (zr_wal_t *self, s_recovery_t *rcv, size_t first)
{
    while (rcv->n_seqs > first) {
        char name [S_NAME_MAX];
        s_seg_name (name, rcv->seqs [--rcv->n_seqs], "");
        unlinkat (self->dir_fd, name, 0);
    }
}

/* Opens the current segment (the last data segment, else the first) and
   a spare of segment_bytes, deleting unused or odd-sized empty ones. */
static int
s_segments_ready (zr_wal_t *self, s_recovery_t *rcv, char *errmsg,
                  size_t errlen)
{
    size_t ci = rcv->have_last ? (size_t) (rcv->last.seq - rcv->seqs [0]) : 0;
    s_segments_unlink (self, rcv, ci + 2);
    int rc = 0;
    uint64_t size = 0;
    if (rcv->n_seqs > 0)
        rc = s_segment_open (self, rcv->seqs [ci], &self->cur_fd,
                             &self->cur_size, errmsg, errlen);
    if (rc == 0 && rcv->n_seqs > 0 && !rcv->have_last
        && self->cur_size != self->segment_bytes) {
        close (self->cur_fd);           /* empty, but sized by an older run */
        self->cur_fd = -1;
        s_segments_unlink (self, rcv, 0);
    }
    if (rc == 0 && rcv->n_seqs == 0) {
        rc = s_segment_create (self, 1, &self->cur_fd, errmsg, errlen);
        self->cur_seq = 1;
        self->cur_size = self->segment_bytes;
    }
    else if (rc == 0)
        self->cur_seq = rcv->seqs [ci];
    self->cur_off = rcv->have_last ? rcv->last.end : S_SEG_HEADER;
    if (rc == 0 && rcv->n_seqs == ci + 2) {
        rc = s_segment_open (self, rcv->seqs [ci + 1], &self->spare_fd, &size,
                             errmsg, errlen);
        if (rc == 0 && size != self->segment_bytes) {
            close (self->spare_fd);
            self->spare_fd = -1;
            s_segments_unlink (self, rcv, ci + 1);
        }
    }
    if (rc == 0 && self->spare_fd < 0)
        rc = s_segment_create (self, self->cur_seq + 1, &self->spare_fd, errmsg,
                               errlen);
    return rc;
}

/* Reads every segment in order and decides what each one means. */
static int
s_segments_scan (zr_wal_t *self, s_recovery_t *rcv, char *errmsg,
                 size_t errlen)
{
    for (size_t i = 0; i < rcv->n_seqs; i++) {
        s_seg_t seg = {.seq = rcv->seqs [i]};
        int rc = s_segment_read (self, rcv, &seg, i + 1 == rcv->n_seqs, errmsg,
                                 errlen);
        if (rc == S_LEFTOVER) {
            s_segments_unlink (self, rcv, i);
            return 0;
        }
        bool has_data = rc == 0 && seg.size > S_SEG_HEADER
                        && !s_all_zero (rcv->buf + S_SEG_HEADER,
                                        seg.size - S_SEG_HEADER);
        if (rc == 0)
            rc = s_segment_judge (rcv, &seg, has_data, errmsg, errlen);
        if (rc == 0)
            rc = s_segment_scan (rcv, &seg, errmsg, errlen);
        if (rc)
            return rc;
        if (has_data) {
            rcv->last = seg;
            rcv->have_last = true;
        }
    }
    return 0;
}

/* Moves the rebuilt log into *state: one blob holds every payload and
   each non-empty entry holds a reference on it. */
static void
s_state_build (s_recovery_t *rcv, zr_wal_state_t *state)
{
    state->term = rcv->term;
    state->vote = rcv->vote;
    state->torn_bytes = rcv->torn_bytes;
    if (rcv->n == 0)
        return;
    zr_blob_t *blob = NULL;
    if (rcv->payload_len > 0) {
        blob = zr_blob_new (rcv->payload_len);
        zr_assert (blob);
        memcpy (blob->data, rcv->payload, rcv->payload_len);
    }
    size_t off = 0;
    for (uint32_t i = 0; i < rcv->n; i++) {
        zr_entry_t *e = &rcv->entries [i];
        zr_assert (e->index == (zr_index_t) i + 1);
        if (e->size > 0) {
            e->data = blob->data + off;
            e->blob = zr_blob_ref (blob);
            off += e->size;
        }
    }
    zr_assert (off == rcv->payload_len);
    zr_blob_unref (&blob);
    state->entries = rcv->entries;
    state->n_entries = rcv->n;
    rcv->entries = NULL;
    rcv->n = 0;
}

int
zr_wal_open (const char *dir, size_t segment_bytes, zr_wal_t **wal_p,
             zr_wal_state_t *state, char *errmsg, size_t errlen)
{
    zr_assert (dir && wal_p && state);
    zr_assert (segment_bytes >= ZR_WAL_SEGMENT_BYTES_MIN);
    zr_assert (segment_bytes <= ZR_WAL_SEGMENT_BYTES_MAX);
    *wal_p = NULL;
    memset (state, 0, sizeof *state);
    s_error (errmsg, errlen, 0, "%s", "");
    zr_wal_t *self = (zr_wal_t *) calloc (1, sizeof (zr_wal_t));
    zr_assert (self);
    self->dir_fd = self->cur_fd = self->spare_fd = -1;
    self->segment_bytes = segment_bytes;
    s_recovery_t rcv;
    memset (&rcv, 0, sizeof rcv);
    int rc = s_dir_open (self, dir, errmsg, errlen);
    if (rc == 0)
        rc = s_list (self, dir, &rcv, errmsg, errlen);
    if (rc == 0)
        rc = s_segments_scan (self, &rcv, errmsg, errlen);
    if (rc == 0)
        rc = s_tail_repair (self, &rcv, errmsg, errlen);
    if (rc == 0)
        rc = s_segment_refit (self, &rcv, errmsg, errlen);
    if (rc == 0)
        rc = s_segments_ready (self, &rcv, errmsg, errlen);
    if (rc == 0)
        s_state_build (&rcv, state);
    free (rcv.entries);
    free (rcv.payload);
    free (rcv.buf);
    free (rcv.seqs);
    if (rc) {
        zr_wal_destroy (&self);
        return rc;
    }
    self->last_index = state->n_entries;
    self->tail_seq = self->cur_seq;
    self->tail_size = self->cur_size;
    self->tail_off = self->cur_off;
    *wal_p = self;
    return 0;
}
