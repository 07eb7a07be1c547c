/*  =========================================================================
    wal - the write-ahead log of one server (design notes in wal.h)

    Sections: encoding and crc32c; file helpers; the append path (queue,
    sync, compact); recovery (list, scan, judge, repair, ready); the
    reader (index, load, locate, collect).
    =========================================================================
*/
#include "wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "../transport/hex.h"

#define S_SEG_HEADER 32                 /* segment header bytes */
#define S_REC_HEADER 32                 /* record header bytes */
#define S_REC_ENTRY 1                   /* record type: a log entry */
#define S_REC_HARDSTATE 2               /* record type: term and vote */
#define S_REC_LOGSTART 3                /* record type: the log's start */
#define S_START_RESET 0                 /* LOGSTART: the log restarts here */
#define S_START_CARRIED 1               /* LOGSTART: a preamble restating it */
#define S_PREAMBLE_BYTES (2 * S_REC_HEADER) /* HARDSTATE + LOGSTART */
#define S_NAME_MAX 64                   /* "wal-<seq>-<first>-<last>.seg" */
#define S_LOCK_TRIES 8                  /* s_lock: LOCK removed under it */
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
    zr_index_t first;                   /* index range its records write */
    zr_index_t last;                    /* (s_range_note), 0 if none */
} s_chunk_t;

/* A segment file as its name describes it (invariant 10). */
typedef struct {
    uint64_t seq;                       /* sequence number */
    bool closed;                        /* renamed: full, synced, final */
    zr_index_t first;                   /* closed: lowest index its records
                                           write (s_range_note), 0 if none */
    zr_index_t last;                    /* closed: highest, 0 if none */
} s_listed_t;

struct _zr_wal_t {
    int dir_fd;                         /* directory, fsync'd after renames */
    int lock_fd;                        /* dir/LOCK, flock'd for our life */
    size_t segment_bytes;               /* size of every new segment */
    uint64_t cur_seq;                   /* current segment: receives writes */
    int cur_fd;                         /* its file */
    uint64_t cur_size;                  /* its size */
    uint64_t cur_off;                   /* end of its durable records */
    zr_index_t cur_first;               /* index range of its durable */
    zr_index_t cur_last;                /* records (s_range_note) */
    s_listed_t *closed;                 /* closed segments, seq ascending */
    size_t n_closed;                    /* segments in closed */
    size_t closed_cap;                  /* closed allocated */
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
    zr_term_t hard_term;                /* last term queued or recovered */
    zr_id_t hard_vote;                  /* last vote queued or recovered */
    zr_index_t start_index;             /* last log start queued or
                                           recovered, 0 if none */
    zr_term_t start_term;               /* term of entry start_index */
    zr_wal_stats_t stats;               /* counters */
    bool failed;                        /* sticky error state (invariant 6) */
    bool fail_next;                     /* test hook: next data write fails */
    char error [256];                   /* why the WAL failed */
    /* What open made, for zr_wal_discard: */
    char *made;                         /* the directory's path, if open
                                           made it (mkdir), else NULL */
    bool lock_made;                     /* open made LOCK (O_EXCL) */
    bool lock_held;                     /* its flock is held */
    bool listed_other;                  /* the listing under the lock saw
                                           more than LOCK: not fresh */
};

/* One record as decoded from disk. */
typedef struct {
    uint8_t type;                       /* S_REC_ENTRY, _HARDSTATE, _LOGSTART */
    uint8_t entry_type;                 /* zr_entry_type_t; S_START_* for
                                           LOGSTART; 0 for hard state */
    uint32_t len;                       /* payload bytes */
    uint64_t term;                      /* term */
    uint64_t index;                     /* entry or start index, or vote */
    const uint8_t *payload;             /* len bytes in the read buffer */
    size_t bytes;                       /* footprint in the segment */
} s_record_t;

typedef enum { S_REC_OK, S_REC_END, S_REC_BAD } s_rec_status_t;

/* What scanning one segment found. */
typedef struct {
    uint64_t seq;                       /* sequence number */
    bool closed;                        /* has its closed name */
    char name [S_NAME_MAX];             /* file name */
    zr_index_t first;                   /* index range of its records */
    zr_index_t last;                    /* (s_range_note), 0 if none */
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
    zr_index_t start_index;             /* last LOGSTART replayed, 0 if none */
    zr_term_t start_term;               /* its term */
    bool anchored;                      /* base is known: set by the first
                                           entry or a resetting LOGSTART */
    bool guessed;                       /* base came from the first entry:
                                           segments before were compacted */
    zr_index_t base;                    /* index before entries [0] */
    zr_entry_t *entries;                /* log replayed so far, data unset;
                                           entries [i].index == base + 1 + i */
    uint32_t n;                         /* entries in the log */
    size_t entries_cap;                 /* entries allocated */
    uint8_t *payload;                   /* payloads of entries, concatenated */
    size_t payload_len;                 /* bytes used: sum of entries' sizes */
    size_t payload_cap;                 /* bytes allocated */
    uint8_t *buf;                       /* contents of the segment scanned */
    size_t buf_cap;                     /* bytes allocated */
    zr_index_t snap_index;              /* the caller's newest snapshot */
    s_listed_t *segs;                   /* segments found, seq ascending */
    size_t n_segs;                      /* segments in segs */
    size_t segs_cap;                    /* segs allocated */
    bool dir_dirty;                     /* renamed or deleted: fsync dir */
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

/* Writes the name of segment l: open or closed (invariant 10). */
static void
s_listed_name (char *name, const s_listed_t *l)
{
    if (!l->closed)
        s_seg_name (name, l->seq, "");
    else
        snprintf (name, S_NAME_MAX, "wal-%016llx-%016llx-%016llx.seg",
                  (unsigned long long) l->seq, (unsigned long long) l->first,
                  (unsigned long long) l->last);
}

/* Widens [*first, *last] (0, 0: empty) by what one record writes: an
   entry its index; a log start that resets the log every index from 1
   (it discards them all) up to its own. Restatements write nothing. */
static void
s_range_note (zr_index_t *first, zr_index_t *last, uint8_t type,
              uint8_t sub, zr_index_t index)
{
    bool reset = type == S_REC_LOGSTART && sub == S_START_RESET;
    if (type != S_REC_ENTRY && !reset)
        return;
    zr_index_t lo = reset ? 1 : index;
    *first = *first == 0 || lo < *first ? lo : *first;
    *last = index > *last ? index : *last;
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

/* Fills *rec from the record at p, avail bytes before the end of what
   is loaded, without checking it: s_record_decode did. */
static void
s_record_fields (const uint8_t *p, size_t avail, s_record_t *rec)
{
    rec->len = (uint32_t) s_get (p + 4, 4);
    rec->type = p [8];
    rec->entry_type = p [9];
    rec->term = s_get (p + 12, 8);
    rec->index = s_get (p + 20, 8);
    rec->payload = p + S_REC_HEADER;
    rec->bytes = s_record_bytes (rec->len);
    if (rec->bytes > avail)
        rec->bytes = avail;             /* the padding would pass the end */
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
    s_record_fields (p, avail, rec);
    bool entry = rec->type == S_REC_ENTRY && rec->index >= 1
                 && zr_entry_type_valid (rec->entry_type);
    bool hard = rec->type == S_REC_HARDSTATE && rec->entry_type == 0
                && rec->len == 0 && rec->index <= UINT32_MAX;
    bool start = rec->type == S_REC_LOGSTART && rec->len == 0
                 && rec->entry_type <= S_START_CARRIED && rec->index >= 1;
    *why = "bad record type or field";
    if (!(entry || hard || start) || p [10] || p [11] || !s_all_zero (p + 28, 4))
        return S_REC_BAD;
    *why = "non-zero padding";          /* outside the crc: checked here */
    size_t used = S_REC_HEADER + rec->len;
    if (!s_all_zero (p + used, rec->bytes - used))
        return S_REC_BAD;
    return S_REC_OK;
}

/*  -------------------------------------------------------------------------
    File helpers
*/

int
zr_wal_pwrite_all (int fd, const uint8_t *data, size_t len, uint64_t off)
{
    zr_assert (fd >= 0);
    zr_assert (data || len == 0);
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
    s_put (header + 20, segment_bytes, 8);
    s_put (header + 28, zr_wal_crc32c (0, header, 28), 4);
    int fd = openat (dir_fd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
                     0600);
    const char *step = fd < 0 ? "create" : NULL;
    if (!step && zr_wal_pwrite_all (fd, header, S_SEG_HEADER, 0))
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

/* Opens segment file name read-write; 0 with *fd_p and *size_p, or
   ZR_EIO. */
static int
s_segment_open (zr_wal_t *self, const char *name, int *fd_p, uint64_t *size_p,
                char *errmsg, size_t errlen)
{
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

/* Queues one record at the tail, which has room for it. */
static void
s_queue_raw (zr_wal_t *self, uint8_t type, uint8_t entry_type, uint64_t term,
             uint64_t index, const uint8_t *data, uint32_t len)
{
    size_t bytes = s_record_bytes (len);
    zr_assert (self->tail_off + bytes <= self->tail_size);
    s_chunk_t *chunk =
        self->n_chunks ? &self->chunks [self->n_chunks - 1] : NULL;
    if (!chunk || chunk->seq != self->tail_seq) {
        s_grow ((void **) &self->chunks, &self->chunks_cap, self->n_chunks + 1,
                sizeof (s_chunk_t));
        chunk = &self->chunks [self->n_chunks++];
        *chunk = (s_chunk_t) {self->tail_seq, self->tail_off, self->buf_len,
                              0, 0, 0};
    }
    s_range_note (&chunk->first, &chunk->last, type, entry_type, index);
    zr_assert (chunk->file_off + chunk->len == self->tail_off);
    s_grow ((void **) &self->buf, &self->buf_cap, self->buf_len + bytes, 1);
    s_record_encode (self->buf + self->buf_len, type, entry_type, term, index,
                     data, len);
    self->buf_len += bytes;
    chunk->len += bytes;
    self->tail_off += bytes;
    self->queued_records++;
}

/* Queues one record at the tail, moving to the next segment if it does
   not fit in the rest of this one (invariant 1). The first records of a
   segment restate the hard state and the log start queued before them
   (invariant 9), so deleting older segments never loses them. */
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
    if (self->tail_off == S_SEG_HEADER) {
        if (self->hard_term > 0 || self->hard_vote > 0)
            s_queue_raw (self, S_REC_HARDSTATE, 0, self->hard_term,
                         self->hard_vote, NULL, 0);
        if (self->start_index > 0)
            s_queue_raw (self, S_REC_LOGSTART, S_START_CARRIED,
                         self->start_term, self->start_index, NULL, 0);
    }
    s_queue_raw (self, type, entry_type, term, index, data, len);
}

int
zr_wal_set_hard_state (zr_wal_t *self, zr_term_t term, zr_id_t vote)
{
    zr_assert (self);
    if (self->failed)
        return ZR_EIO;
    s_queue_record (self, S_REC_HARDSTATE, 0, term, vote, NULL, 0);
    self->hard_term = term;
    self->hard_vote = vote;
    return 0;
}

int
zr_wal_set_start (zr_wal_t *self, zr_index_t index, zr_term_t term)
{
    zr_assert (self);
    zr_assert (index >= 1);
    if (self->failed)
        return ZR_EIO;
    s_queue_record (self, S_REC_LOGSTART, S_START_RESET, term, index, NULL, 0);
    self->start_index = index;
    self->start_term = term;
    self->last_index = index;
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
    zr_assert (entries [0].index > self->start_index);
    zr_assert (entries [0].index <= self->last_index + 1);
    for (uint32_t i = 0; i < n; i++) {
        const zr_entry_t *e = &entries [i];
        zr_assert (e->index == entries [0].index + i);
        zr_assert (zr_entry_type_valid (e->type));
        zr_assert (e->size == 0 || e->data);
        if (e->size > ZR_ENTRY_BYTES_MAX
            || s_record_bytes (e->size)
                   > self->segment_bytes - S_SEG_HEADER - S_PREAMBLE_BYTES)
            return ZR_ETOOBIG;
    }
    for (uint32_t i = 0; i < n; i++)
        s_queue_record (self, S_REC_ENTRY, entries [i].type, entries [i].term,
                        entries [i].index, entries [i].data, entries [i].size);
    self->last_index = entries [n - 1].index;
    return 0;
}

/* Renames the current segment, full and synced, to its closed name and
   lists it for zr_wal_compact (invariant 10). */
static int
s_segment_close (zr_wal_t *self)
{
    s_listed_t l = {.seq = self->cur_seq, .closed = true,
                    .first = self->cur_first, .last = self->cur_last};
    char from [S_NAME_MAX], to [S_NAME_MAX];
    s_seg_name (from, self->cur_seq, "");
    s_listed_name (to, &l);
    if (renameat (self->dir_fd, from, self->dir_fd, to))
        return s_error (self->error, sizeof self->error, ZR_EIO,
                        "%s: rename to %s: %s", from, to, strerror (errno));
    s_grow ((void **) &self->closed, &self->closed_cap, self->n_closed + 1,
            sizeof (s_listed_t));
    self->closed [self->n_closed++] = l;
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
    int rc = s_segment_close (self);
    if (rc)
        return rc;
    close (self->cur_fd);
    self->cur_fd = self->spare_fd;
    self->spare_fd = -1;
    self->cur_seq++;
    self->cur_size = self->segment_bytes;
    self->cur_off = S_SEG_HEADER;
    self->cur_first = self->cur_last = 0;
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
    else if (zr_wal_pwrite_all (self->cur_fd, self->buf + chunk->buf_off, chunk->len,
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
    if (chunk->first > 0)
        s_range_note (&self->cur_first, &self->cur_last, S_REC_ENTRY, 0,
                      chunk->first);
    if (chunk->last > 0)
        s_range_note (&self->cur_first, &self->cur_last, S_REC_ENTRY, 0,
                      chunk->last);
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

int
zr_wal_compact (zr_wal_t *self, zr_index_t upto)
{
    zr_assert (self);
    if (self->failed)
        return ZR_EIO;
    size_t k = 0;
    const char *step = NULL;
    char name [S_NAME_MAX] = "";
    for (; !step && k < self->n_closed && self->closed [k].last <= upto; k++) {
        s_listed_name (name, &self->closed [k]);
        if (unlinkat (self->dir_fd, name, 0) && errno != ENOENT)
            step = "unlink";
    }
    if (k == 0)
        return 0;
    memmove (self->closed, self->closed + k,
             (self->n_closed - k) * sizeof (s_listed_t));
    self->n_closed -= k;
    if (!step && fsync (self->dir_fd))
        step = "fsync directory after";
    if (step) {
        s_error (self->error, sizeof self->error, ZR_EIO,
                 "compaction: %s %s: %s", step, name, strerror (errno));
        self->failed = true;
        return ZR_EIO;
    }
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
    if (self->lock_fd >= 0)
        close (self->lock_fd);          /* releases the flock */
    free (self->buf);
    free (self->chunks);
    free (self->closed);
    free (self->made);
    free (self);
    *self_p = NULL;
}

void
zr_wal_discard (zr_wal_t **self_p)
{
    zr_assert (self_p);
    zr_wal_t *self = *self_p;
    if (!self)
        return;
    char *made = self->made;
    self->made = NULL;
    if (self->lock_made && self->lock_held && !self->listed_other
        && !self->queued_records && !self->last_index && !self->hard_term
        && !self->hard_vote && !self->start_index && !self->spare_pending) {
        /* The directory held nothing but the LOCK this open made when
           it was listed under the lock, so what is there now is what
           the open made: segments 1 and 2 (s_segments_ready), or their
           temp files if it failed before a rename. They go, then the
           lock (s_lock makes a process that waited on the removed file
           try again). */
        char name [S_NAME_MAX];
        for (uint64_t seq = 1; seq <= 2; seq++) {
            s_seg_name (name, seq, "");
            unlinkat (self->dir_fd, name, 0);
            s_seg_name (name, seq, ".tmp");
            unlinkat (self->dir_fd, name, 0);
        }
        unlinkat (self->dir_fd, "LOCK", 0);
    }
    zr_wal_destroy (self_p);
    if (made)
        rmdir (made);                   /* only if empty: another's stays */
    free (made);
}

/*  -------------------------------------------------------------------------
    Recovery
*/

/* Opens (creating if missing, then fsyncing its parent) the directory. */
static int
s_dir_open (zr_wal_t *self, const char *dir, char *errmsg, size_t errlen)
{
    if (mkdir (dir, 0700) == 0) {
        self->made = strdup (dir);
        zr_assert (self->made);
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

/* True if lock_fd is still the file dir/LOCK names: zr_wal_discard
   removes LOCK while it holds it, so a process that opened the file
   before and locked it after holds a lock nobody else can see. */
static bool
s_lock_current (zr_wal_t *self)
{
    struct stat held, named;
    return fstat (self->lock_fd, &held) == 0
           && fstatat (self->dir_fd, "LOCK", &named, 0) == 0
           && held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

/* Takes the data directory's lock (invariant 8): an exclusive flock on
   dir/LOCK, held until zr_wal_destroy closes it; notes whether it made
   LOCK (zr_wal_discard). */
static int
s_lock (zr_wal_t *self, const char *dir, char *errmsg, size_t errlen)
{
    int rc = -1;
    for (int tries = 0; tries < S_LOCK_TRIES; tries++) {
        if (self->lock_fd >= 0)
            close (self->lock_fd);      /* a removed LOCK's: again */
        self->lock_fd = openat (self->dir_fd, "LOCK", O_RDWR | O_CREAT | O_EXCL
                                | O_CLOEXEC, 0600);
        self->lock_made = self->lock_fd >= 0;
        if (self->lock_fd < 0 && errno == EEXIST)
            self->lock_fd = openat (self->dir_fd, "LOCK", O_RDWR | O_CREAT
                                    | O_CLOEXEC, 0600);
        if (self->lock_fd < 0)
            return s_error (errmsg, errlen, ZR_EIO, "%s/LOCK: open: %s", dir,
                            strerror (errno));
        while ((rc = flock (self->lock_fd, LOCK_EX | LOCK_NB)) < 0
               && errno == EINTR)
            ;
        if (rc != 0 || s_lock_current (self))
            break;
        rc = -1;
        errno = EWOULDBLOCK;            /* if no try is left */
    }
    self->lock_held = rc == 0;
    if (rc == 0)
        return 0;
    if (errno == EWOULDBLOCK)
        return s_error (errmsg, errlen, ZR_ELOCKED, "data directory %s is in "
                        "use by another process (lock %s/LOCK)", dir, dir);
    return s_error (errmsg, errlen, ZR_EIO, "%s/LOCK: flock: %s", dir,
                    strerror (errno));
}

/* Returns true with *l if name is exactly "wal-<seq>.seg" (open) or
   "wal-<seq>-<first>-<last>.seg" (closed), each number 16 hex digits. */
static bool
s_name_parse (const char *name, s_listed_t *l)
{
    size_t len = strlen (name);
    memset (l, 0, sizeof *l);
    if ((len != 24 && len != 58) || strncmp (name, "wal-", 4)
        || strcmp (name + len - 4, ".seg") || !zr_hex16_parse (name + 4, &l->seq))
        return false;
    if (len == 24)
        return true;
    l->closed = true;
    return name [20] == '-' && name [37] == '-'
           && zr_hex16_parse (name + 21, &l->first) && zr_hex16_parse (name + 38, &l->last)
           && l->first <= l->last;
}

static int
s_listed_compare (const void *a, const void *b)
{
    uint64_t x = ((const s_listed_t *) a)->seq;
    uint64_t y = ((const s_listed_t *) b)->seq;
    return x < y ? -1 : x > y;
}

/* Deletes the closed segments that the snapshot covers (every index they
   write < snap_index), oldest first, keeping the newest closed one: a
   segment after it may be empty, and it holds the last preamble
   (invariant 9). The segment holding snap_index itself stays: the
   caller checks that entry's term against the snapshot's (a crash
   between an installed snapshot's rename and its LOGSTART leaves a log
   that differs there, and must restart after the snapshot). */
static void
s_list_drop_covered (zr_wal_t *self, s_recovery_t *rcv)
{
    size_t k = 0;
    while (k + 1 < rcv->n_segs && rcv->segs [k].closed
           && rcv->segs [k + 1].closed && rcv->segs [k].last < rcv->snap_index) {
        char name [S_NAME_MAX];
        s_listed_name (name, &rcv->segs [k++]);
        unlinkat (self->dir_fd, name, 0);
        rcv->dir_dirty = true;
    }
    if (k == 0)
        return;
    memmove (rcv->segs, rcv->segs + k, (rcv->n_segs - k) * sizeof (s_listed_t));
    rcv->n_segs -= k;
}

/* Deletes a segment's open name when it also has a closed one: a crash
   never leaves both (rename is atomic), but copying a directory over an
   older copy of itself does, and the open one is then the older: nothing
   writes a segment once it is renamed (invariant 10). */
static void
s_list_dedup (zr_wal_t *self, s_recovery_t *rcv)
{
    size_t kept = 0;
    for (size_t i = 0; i < rcv->n_segs; i++) {
        s_listed_t *prev = kept > 0 ? &rcv->segs [kept - 1] : NULL;
        s_listed_t *l = &rcv->segs [i];
        if (!prev || prev->seq != l->seq || prev->closed == l->closed) {
            rcv->segs [kept++] = *l;
            continue;
        }
        char name [S_NAME_MAX];
        s_listed_name (name, prev->closed ? l : prev);
        unlinkat (self->dir_fd, name, 0);
        rcv->dir_dirty = true;
        if (!prev->closed)
            *prev = *l;
    }
    rcv->n_segs = kept;
}

/* Lists the segments into rcv->segs, sorted and checked contiguous,
   removes temp files a crash during preparation left behind, and the
   segments the snapshot covers. */
static int
s_list (zr_wal_t *self, const char *dir, s_recovery_t *rcv, char *errmsg,
        size_t errlen)
{
    /* The directory locked, not whatever its path names now. */
    int fd = openat (self->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
    if (!d) {
        int err = errno;
        if (fd >= 0)
            close (fd);
        return s_error (errmsg, errlen, ZR_EIO, "%s: opendir: %s", dir,
                        strerror (err));
    }
    struct dirent *de;
    s_listed_t l;
    while ((errno = 0, de = readdir (d))) {
        size_t len = strlen (de->d_name);
        self->listed_other |= strcmp (de->d_name, ".") && strcmp (de->d_name, "..")
                              && strcmp (de->d_name, "LOCK");
        if (strncmp (de->d_name, "wal-", 4) == 0 && len > 8
            && strcmp (de->d_name + len - 4, ".tmp") == 0)
            unlinkat (self->dir_fd, de->d_name, 0);
        else if (s_name_parse (de->d_name, &l)) {
            s_grow ((void **) &rcv->segs, &rcv->segs_cap, rcv->n_segs + 1,
                    sizeof (s_listed_t));
            rcv->segs [rcv->n_segs++] = l;
        }
    }
    int err = errno;                    /* readdir's, if it failed */
    closedir (d);
    if (err)
        return s_error (errmsg, errlen, ZR_EIO, "%s: readdir: %s", dir,
                        strerror (err));
    if (rcv->n_segs > 1)
        qsort (rcv->segs, rcv->n_segs, sizeof (s_listed_t), s_listed_compare);
    s_list_dedup (self, rcv);
    for (size_t i = 1; i < rcv->n_segs; i++)
        if (rcv->segs [i].seq != rcv->segs [i - 1].seq + 1) {
            char name [S_NAME_MAX];
            bool twice = rcv->segs [i].seq == rcv->segs [i - 1].seq;
            s_seg_name (name, rcv->segs [i - 1].seq + (twice ? 0 : 1), "");
            return s_error (errmsg, errlen, ZR_ECORRUPT,
                            "%s: %s (segments %016llx and %016llx)", name,
                            twice ? "two closed names" : "missing",
                            (unsigned long long) rcv->segs [i - 1].seq,
                            (unsigned long long) rcv->segs [i].seq);
        }
    s_list_drop_covered (self, rcv);
    return 0;
}

/* Replays a LOGSTART (invariant 4): a reset empties the log, which
   resumes after its index; a preamble's restatement only matters when it
   is the first one seen (older segments are gone). */
static void
s_replay_start (s_recovery_t *rcv, const s_record_t *rec)
{
    bool reset = rec->entry_type == S_START_RESET;
    if (!reset && rcv->anchored)
        return;
    rcv->start_index = rec->index;
    rcv->start_term = rec->term;
    if (reset) {
        rcv->n = 0;
        rcv->payload_len = 0;
        rcv->base = rec->index;
        rcv->anchored = true;
        rcv->guessed = false;
    }
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
    if (rec->type == S_REC_LOGSTART) {
        s_replay_start (rcv, rec);
        return 0;
    }
    if (!rcv->anchored) {
        rcv->base = rec->index - 1;     /* older segments were compacted */
        rcv->anchored = true;
        rcv->guessed = true;
    }
    if (rcv->guessed && rec->index <= rcv->base
        && rec->index > rcv->start_index) {
        /* It rewrites indexes of the compacted segments (a truncation
           back across a segment boundary, never below the log start):
           the log resumes before it, and s_window_check decides whether
           the snapshot covers what is gone. */
        rcv->n = 0;
        rcv->payload_len = 0;
        rcv->base = rec->index - 1;
    }
    zr_index_t last = rcv->base + rcv->n;
    if (rec->index <= rcv->base || rec->index > last + 1)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "%s: gap: entry index %llu after last index %llu "
                        "(log start %llu) at offset %llu", name,
                        (unsigned long long) rec->index,
                        (unsigned long long) last,
                        (unsigned long long) rcv->base,
                        (unsigned long long) off);
    if (rec->index - rcv->base > UINT32_MAX)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "%s: log longer than %u entries at offset %llu", name,
                        UINT32_MAX, (unsigned long long) off);
    while (rcv->base + rcv->n >= rec->index)
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
    const char *name = seg->name;
    int fd;
    int rc = s_segment_open (self, name, &fd, &seg->size, errmsg, errlen);
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
                      : s_get (b + 20, 8) != 0
                        && s_get (b + 28, 4) != zr_wal_crc32c (0, b, 28)
                          ? "header size crc mismatch"
                                                    : NULL;
    uint64_t stated = why ? 0 : s_get (b + 20, 8);
    if (stated && stated != seg->size)          /* invariant 3 */
        return s_error (errmsg, errlen, ZR_ECORRUPT, "%s: %llu bytes, but it"
                        " was created with %llu: cut short or extended since"
                        " (segments are preallocated, so no crash does"
                        " that)", name, (unsigned long long) seg->size,
                        (unsigned long long) stated);
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
    const char *name = seg->name;
    const uint8_t *b = rcv->buf;
    uint64_t off = S_SEG_HEADER;
    s_record_t rec;
    s_rec_status_t status;
    while ((status = s_record_decode (b + off, seg->size - off, &rec,
                                      &seg->why)) == S_REC_OK) {
        int rc = s_replay (rcv, &rec, name, off, errmsg, errlen);
        if (rc)
            return rc;
        s_range_note (&seg->first, &seg->last, rec.type, rec.entry_type,
                      rec.index);
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
    /* A closed segment was synced before its rename (invariants 2, 10):
       one without records lost them, and reusing it as the current
       segment would append under a name its records contradict. */
    if (!has_data && seg->closed)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "%s: no records at offset %d under a closed name "
                        "(refusing to drop acknowledged data)", seg->name,
                        S_SEG_HEADER);
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
    if (rcv->have_last && last->dirty_end > last->end)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "%s: %s at offset %llu (%s; refusing to drop "
                        "acknowledged data)", last->name, last->why,
                        (unsigned long long) last->end,
                        last->valid_after ? "valid records follow"
                                          : "later segments hold records");
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
    const char *name = last->name;
    if (last->valid_after)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "%s: %s at offset %llu (valid records follow; "
                        "refusing to drop acknowledged data)", name, last->why,
                        (unsigned long long) last->end);
    /* A closed segment was synced before its rename (invariants 2, 10):
       bad bytes in it are damage, never a torn write, and zeroing them
       could leave a closed name over no records, which the next open
       refuses (s_segment_judge). */
    if (last->closed)
        return s_error (errmsg, errlen, ZR_ECORRUPT,
                        "%s: %s at offset %llu (a closed segment is never "
                        "torn; refusing to drop acknowledged data)", name,
                        last->why, (unsigned long long) last->end);
    int fd;
    uint64_t size;
    int rc = s_segment_open (self, name, &fd, &size, errmsg, errlen);
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
    while (rcv->n_segs > first) {
        char name [S_NAME_MAX];
        s_listed_name (name, &rcv->segs [--rcv->n_segs]);
        unlinkat (self->dir_fd, name, 0);
    }
}

/* Opens segment seq if listed, else creates it. An empty one sized by
   an older run (not segment_bytes) is replaced. */
static int
s_segment_take (zr_wal_t *self, s_recovery_t *rcv, uint64_t seq,
                bool has_data, int *fd_p, uint64_t *size_p, char *errmsg,
                size_t errlen)
{
    size_t i = 0;
    while (i < rcv->n_segs && rcv->segs [i].seq != seq)
        i++;
    if (i < rcv->n_segs) {
        char name [S_NAME_MAX];
        s_listed_name (name, &rcv->segs [i]);
        int rc = s_segment_open (self, name, fd_p, size_p, errmsg, errlen);
        if (rc || has_data || *size_p == self->segment_bytes)
            return rc;
        close (*fd_p);
        *fd_p = -1;
        unlinkat (self->dir_fd, name, 0);
    }
    *size_p = self->segment_bytes;
    return s_segment_create (self, seq, fd_p, errmsg, errlen);
}

/* Opens the current segment and a spare after it, deleting unused empty
   ones. The current one is the last data segment, unless that one has
   its closed name (a crash right after a switch): then the next one. */
static int
s_segments_ready (zr_wal_t *self, s_recovery_t *rcv, char *errmsg,
                  size_t errlen)
{
    bool reuse = rcv->have_last && !rcv->last.closed;
    uint64_t cur = rcv->have_last ? rcv->last.seq + (reuse ? 0 : 1)
                   : rcv->n_segs > 0 ? rcv->segs [0].seq : 1;
    size_t keep = 0;
    while (keep < rcv->n_segs && rcv->segs [keep].seq <= cur + 1)
        keep++;
    s_segments_unlink (self, rcv, keep);
    uint64_t size;
    int rc = s_segment_take (self, rcv, cur, reuse, &self->cur_fd,
                             &self->cur_size, errmsg, errlen);
    if (rc == 0)
        rc = s_segment_take (self, rcv, cur + 1, false, &self->spare_fd, &size,
                             errmsg, errlen);
    self->cur_seq = cur;
    self->cur_off = reuse ? rcv->last.end : S_SEG_HEADER;
    self->cur_first = reuse ? rcv->last.first : 0;
    self->cur_last = reuse ? rcv->last.last : 0;
    return rc;
}

/* Called for each data segment that another data segment follows, and
   for the last one if closed: completes a rename a crash interrupted (or
   checks the closed name against the records) and lists the segment for
   zr_wal_compact (invariant 10). */
static int
s_segment_closed (zr_wal_t *self, s_recovery_t *rcv, const s_seg_t *seg,
                  char *errmsg, size_t errlen)
{
    s_listed_t l = {seg->seq, true, seg->first, seg->last};
    char name [S_NAME_MAX];
    s_listed_name (name, &l);
    if (seg->closed && strcmp (name, seg->name))
        return s_error (errmsg, errlen, ZR_ECORRUPT, "%s: its records write "
                        "indexes %llu..%llu", seg->name,
                        (unsigned long long) seg->first,
                        (unsigned long long) seg->last);
    if (!seg->closed && renameat (self->dir_fd, seg->name, self->dir_fd, name))
        return s_error (errmsg, errlen, ZR_EIO, "%s: rename to %s: %s",
                        seg->name, name, strerror (errno));
    rcv->dir_dirty |= !seg->closed;
    s_grow ((void **) &self->closed, &self->closed_cap, self->n_closed + 1,
            sizeof (s_listed_t));
    self->closed [self->n_closed++] = l;
    return 0;
}

/* Reads every segment in order and decides what each one means. */
static int
s_segments_scan (zr_wal_t *self, s_recovery_t *rcv, char *errmsg,
                 size_t errlen)
{
    for (size_t i = 0; i < rcv->n_segs; i++) {
        s_seg_t seg = {.seq = rcv->segs [i].seq,
                       .closed = rcv->segs [i].closed};
        s_listed_name (seg.name, &rcv->segs [i]);
        int rc = s_segment_read (self, rcv, &seg, i + 1 == rcv->n_segs, errmsg,
                                 errlen);
        if (rc == S_LEFTOVER) {
            s_segments_unlink (self, rcv, i);
            break;
        }
        bool has_data = rc == 0 && seg.size > S_SEG_HEADER
                        && !s_all_zero (rcv->buf + S_SEG_HEADER,
                                        seg.size - S_SEG_HEADER);
        if (rc == 0)
            rc = s_segment_judge (rcv, &seg, has_data, errmsg, errlen);
        if (rc == 0)
            rc = s_segment_scan (rcv, &seg, errmsg, errlen);
        if (rc == 0 && has_data && rcv->have_last)
            rc = s_segment_closed (self, rcv, &rcv->last, errmsg, errlen);
        if (rc)
            return rc;
        if (has_data) {
            rcv->last = seg;
            rcv->have_last = true;
        }
    }
    if (rcv->have_last && rcv->last.closed)
        return s_segment_closed (self, rcv, &rcv->last, errmsg, errlen);
    return 0;
}

/* Checks that the recovered log starts at or before the index after the
   snapshot or the log start (without either, at 1): invariant 4. */
static int
s_window_check (s_recovery_t *rcv, char *errmsg, size_t errlen)
{
    zr_index_t covered = rcv->start_index > rcv->snap_index
                             ? rcv->start_index : rcv->snap_index;
    if (rcv->n == 0 || rcv->base <= covered)
        return 0;
    return s_error (errmsg, errlen, ZR_ECORRUPT,
                    "gap: the snapshot covers indexes up to %llu and the log "
                    "start is %llu, but the first entry recovered is %llu "
                    "(segments missing?)",
                    (unsigned long long) rcv->snap_index,
                    (unsigned long long) rcv->start_index,
                    (unsigned long long) rcv->base + 1);
}

/* Copies payload (the n entries' payloads, concatenated) into one blob
   and points each non-empty entry at its bytes, with a reference. */
static void
s_entries_bind (zr_entry_t *entries, uint32_t n, const uint8_t *payload,
                size_t payload_len)
{
    zr_blob_t *blob = NULL;
    if (payload_len > 0) {
        blob = zr_blob_new (payload_len);
        zr_assert (blob);
        memcpy (blob->data, payload, payload_len);
    }
    size_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        zr_entry_t *e = &entries [i];
        zr_assert (i == 0 || e->index == entries [0].index + i);
        if (e->size > 0) {
            e->data = blob->data + off;
            e->blob = zr_blob_ref (blob);
            off += e->size;
        }
    }
    zr_assert (off == payload_len);
    zr_blob_unref (&blob);
}

/* Moves the rebuilt log into *state: one blob holds every payload and
   each non-empty entry holds a reference on it. */
static void
s_state_build (s_recovery_t *rcv, zr_wal_state_t *state)
{
    state->term = rcv->term;
    state->vote = rcv->vote;
    state->start_index = rcv->start_index;
    state->start_term = rcv->start_term;
    state->torn_bytes = rcv->torn_bytes;
    if (rcv->n == 0)
        return;
    s_entries_bind (rcv->entries, rcv->n, rcv->payload, rcv->payload_len);
    state->entries = rcv->entries;
    state->n_entries = rcv->n;
    rcv->entries = NULL;
    rcv->n = 0;
}

int
zr_wal_open (const char *dir, size_t segment_bytes, zr_index_t snap_index,
             zr_wal_t **wal_p, zr_wal_state_t *state, char *errmsg,
             size_t errlen)
{
    zr_assert (dir && wal_p && state);
    zr_assert (segment_bytes >= ZR_WAL_SEGMENT_BYTES_MIN);
    zr_assert (segment_bytes <= ZR_WAL_SEGMENT_BYTES_MAX);
    *wal_p = NULL;
    memset (state, 0, sizeof *state);
    s_error (errmsg, errlen, 0, "%s", "");
    zr_wal_t *self = (zr_wal_t *) calloc (1, sizeof (zr_wal_t));
    zr_assert (self);
    self->dir_fd = self->lock_fd = self->cur_fd = self->spare_fd = -1;
    self->segment_bytes = segment_bytes;
    s_recovery_t rcv;
    memset (&rcv, 0, sizeof rcv);
    rcv.snap_index = snap_index;
    int rc = s_dir_open (self, dir, errmsg, errlen);
    if (rc == 0)
        rc = s_lock (self, dir, errmsg, errlen);
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
    if (rc == 0 && rcv.dir_dirty && fsync (self->dir_fd))
        rc = s_error (errmsg, errlen, ZR_EIO, "%s: fsync: %s", dir,
                      strerror (errno));
    if (rc == 0)
        rc = s_window_check (&rcv, errmsg, errlen);
    if (rc == 0) {
        self->last_index = (rcv.anchored ? rcv.base : rcv.start_index) + rcv.n;
        if (self->last_index < snap_index)
            self->last_index = snap_index;  /* every entry was compacted */
        s_state_build (&rcv, state);
    }
    free (rcv.entries);
    free (rcv.payload);
    free (rcv.buf);
    free (rcv.segs);
    if (rc) {
        zr_wal_discard (&self);         /* a fresh directory: as found */
        return rc;
    }
    self->hard_term = state->term;
    self->hard_vote = state->vote;
    self->start_index = state->start_index;
    self->start_term = state->start_term;
    self->tail_seq = self->cur_seq;
    self->tail_size = self->cur_size;
    self->tail_off = self->cur_off;
    *wal_p = self;
    return 0;
}

/*  -------------------------------------------------------------------------
    The reader: entries by index, on any thread (invariant 11)
*/

#define S_READ_MIN (64u << 10)          /* first pread of a segment */
#define S_READ_TRIES 3                  /* index refreshes per zr_wal_read */
#define S_SLOTS 3                       /* segments cached: the current,
                                           the spare, one closed */
#define S_MISS 1                        /* collect: refresh the index */

/* One segment loaded: its bytes up to where its valid records stop, and
   where each record starts, so a read walks records without decoding
   them again. */
typedef struct {
    uint64_t seq;                       /* the segment */
    bool valid;                         /* holds seq's records */
    bool complete;                      /* loaded under its closed name:
                                           it never changes again */
    uint64_t used;                      /* the call that last filled or
                                           used it */
    uint8_t *data;                      /* the segment's first len bytes */
    size_t len;                         /* bytes loaded */
    size_t cap;                         /* data allocated */
    size_t end;                         /* where its valid records stop */
    uint32_t *offs;                     /* offset of each valid record */
    size_t n_offs;                      /* records */
    size_t offs_cap;                    /* offs allocated */
    zr_index_t *keys;                   /* per record: the index of the last
                                           entry record up to it, 0 if none */
    size_t keys_cap;                    /* keys allocated */
    bool monotone;                      /* no reset, and each entry record
                                           follows the one before: a read
                                           may skip the records keyed below
                                           its first index */
    zr_index_t first;                   /* index range of its records */
    zr_index_t last;                    /* (s_range_note), 0 if none */
} s_slot_t;

struct _zr_wal_reader_t {
    int dir_fd;                         /* the WAL's directory */
    s_listed_t *segs;                   /* the index, seq ascending: closed
                                           ranges from names, open ones
                                           learned by loading them */
    size_t n_segs;                      /* segments in segs */
    size_t segs_cap;                    /* segs allocated */
    s_slot_t slots [S_SLOTS];           /* segments loaded */
    uint64_t calls;                     /* zr_wal_read calls so far */
    zr_entry_t *entries;                /* collected: entries [i].index ==
                                           from + i */
    uint32_t n;                         /* entries collected */
    size_t entries_cap;                 /* entries allocated */
    uint8_t *payload;                   /* their payloads, concatenated */
    size_t payload_len;                 /* bytes used */
    size_t payload_cap;                 /* bytes allocated */
    bool capped;                        /* bytes_max refused an entry */
    zr_index_t reset_max;               /* highest LOGSTART reset seen */
};

zr_wal_reader_t *
zr_wal_reader_new (const char *dir)
{
    zr_assert (dir);
    zr_wal_reader_t *self = (zr_wal_reader_t *) calloc (1, sizeof *self);
    zr_assert (self);
    self->dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (self->dir_fd < 0) {
        free (self);
        return NULL;
    }
    return self;
}

void
zr_wal_reader_destroy (zr_wal_reader_t **self_p)
{
    zr_assert (self_p);
    zr_wal_reader_t *self = *self_p;
    if (!self)
        return;
    close (self->dir_fd);
    for (int i = 0; i < S_SLOTS; i++) {
        free (self->slots [i].data);
        free (self->slots [i].offs);
        free (self->slots [i].keys);
    }
    free (self->segs);
    free (self->entries);
    free (self->payload);
    free (self);
    *self_p = NULL;
}

/* Lists the directory into the index. Returns 0 or ZR_EIO. */
static int
s_reader_refresh (zr_wal_reader_t *self)
{
    int fd = dup (self->dir_fd);
    DIR *d = fd < 0 ? NULL : fdopendir (fd);
    if (!d) {
        if (fd >= 0)
            close (fd);
        return ZR_EIO;
    }
    rewinddir (d);
    self->n_segs = 0;
    struct dirent *de;
    s_listed_t l;
    while ((de = readdir (d)))
        if (s_name_parse (de->d_name, &l)) {
            s_grow ((void **) &self->segs, &self->segs_cap, self->n_segs + 1,
                    sizeof (s_listed_t));
            self->segs [self->n_segs++] = l;
        }
    closedir (d);
    if (self->n_segs > 1)
        qsort (self->segs, self->n_segs, sizeof (s_listed_t),
               s_listed_compare);
    return 0;
}

/* Decodes the records loaded in slot from its end on, noting each. */
static s_rec_status_t
s_slot_decode (s_slot_t *slot, uint64_t size)
{
    s_rec_status_t status = S_REC_OK;
    s_record_t rec;
    const char *why;
    while (slot->end < slot->len
           && (status = s_record_decode (slot->data + slot->end,
                                         slot->len - slot->end, &rec, &why))
                  == S_REC_OK) {
        if (rec.bytes < s_record_bytes (rec.len) && slot->len < size)
            return S_REC_BAD;           /* its padding is not loaded yet */
        s_grow ((void **) &slot->offs, &slot->offs_cap, slot->n_offs + 1,
                sizeof (uint32_t));
        s_grow ((void **) &slot->keys, &slot->keys_cap, slot->n_offs + 1,
                sizeof (zr_index_t));
        zr_index_t key = slot->n_offs ? slot->keys [slot->n_offs - 1] : 0;
        if (rec.type == S_REC_LOGSTART && rec.entry_type == S_START_RESET)
            slot->monotone = false;
        if (rec.type == S_REC_ENTRY) {
            if (key && rec.index != key + 1)
                slot->monotone = false;
            key = rec.index;
        }
        slot->keys [slot->n_offs] = key;
        slot->offs [slot->n_offs++] = (uint32_t) slot->end;
        s_range_note (&slot->first, &slot->last, rec.type, rec.entry_type,
                      rec.index);
        slot->end += rec.bytes;
    }
    return status;
}

/* Reads the segment in fd into slot from where its valid records stop
   (all of it for a new slot) until they stop again: a zero header, or a
   record torn or still being written. Each pread doubles. */
static int
s_slot_fill (s_slot_t *slot, int fd, uint64_t size)
{
    if (!slot->valid) {
        slot->end = S_SEG_HEADER;
        slot->len = slot->n_offs = 0;
        slot->first = slot->last = 0;
        slot->monotone = true;
    }
    else
        slot->len = slot->end;          /* what follows may have changed */
    size_t start = slot->len;           /* a refill reads what was appended
                                           since: from S_READ_MIN, doubling */
    s_rec_status_t status = S_REC_OK;
    while (status != S_REC_END && slot->len < size) {
        size_t read = slot->len - start;
        size_t want = read > S_READ_MIN ? read : S_READ_MIN;
        want = size - slot->len < want ? (size_t) size - slot->len : want;
        s_grow ((void **) &slot->data, &slot->cap, slot->len + want + 1, 1);
        ssize_t got = pread (fd, slot->data + slot->len, want,
                             (off_t) slot->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return ZR_EIO;
        slot->len += (size_t) got;
        if (slot->len >= S_SEG_HEADER)
            status = s_slot_decode (slot, size);
    }
    const uint8_t *b = slot->data;
    if (slot->len < S_SEG_HEADER || memcmp (b, s_magic, 8)
        || s_get (b + 16, 4) != zr_wal_crc32c (0, b, 16)
        || s_get (b + 8, 8) != slot->seq)
        return ZR_ECORRUPT;
    return 0;
}

/* Returns the slot holding segment seq, else the one to reuse: a free
   one, or the one used longest ago. */
static s_slot_t *
s_slot_find (zr_wal_reader_t *self, uint64_t seq)
{
    s_slot_t *victim = &self->slots [0];
    for (int i = 0; i < S_SLOTS; i++) {
        s_slot_t *slot = &self->slots [i];
        if (slot->valid && slot->seq == seq)
            return slot;
        if (victim->valid && (!slot->valid || slot->used < victim->used))
            victim = slot;
    }
    victim->valid = false;
    return victim;
}

/* Makes *slot_p hold segment l as it is now: a complete slot as is, an
   open one refilled once per call. Returns 0, S_MISS (the file is gone:
   renamed or compacted), or an error. */
static int
s_reader_load (zr_wal_reader_t *self, const s_listed_t *l, s_slot_t **slot_p)
{
    s_slot_t *slot = *slot_p = s_slot_find (self, l->seq);
    bool checked = slot->used == self->calls;
    slot->used = self->calls;
    char name [S_NAME_MAX];
    s_listed_name (name, l);
    struct stat st;
    if (slot->valid && (checked || slot->complete)) {
        /* Its bytes never change, but compaction may delete it: then
           its entries are compacted, however readable the copy here. */
        if (checked || fstatat (self->dir_fd, name, &st, 0) == 0)
            return 0;
        slot->valid = false;
        return errno == ENOENT ? S_MISS : ZR_EIO;
    }
    int fd = openat (self->dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? S_MISS : ZR_EIO;
    slot->seq = l->seq;
    int rc = fstat (fd, &st) ? ZR_EIO
             : st.st_size > ZR_WAL_SEGMENT_BYTES_MAX
                 ? ZR_ECORRUPT
                 : s_slot_fill (slot, fd, (uint64_t) st.st_size);
    close (fd);
    slot->valid = rc == 0;
    slot->complete = l->closed;
    return rc;
}

/* Learns the index range of every open segment (it grows while the
   writer appends) by loading what was appended since the last call. */
static int
s_reader_learn (zr_wal_reader_t *self)
{
    for (size_t i = 0; i < self->n_segs; i++) {
        s_listed_t *l = &self->segs [i];
        if (l->closed)
            continue;
        s_slot_t *slot;
        int rc = s_reader_load (self, l, &slot);
        if (rc)
            return rc;
        l->first = slot->first;
        l->last = slot->last;
    }
    return 0;
}

/* Applies one record to the entries collected from index from, those up
   to limit: replay's rules (invariant 4) on a window of the log. */
static void
s_reader_apply (zr_wal_reader_t *self, const s_record_t *rec, zr_index_t from,
                zr_index_t limit, size_t bytes_max)
{
    if (rec->type == S_REC_LOGSTART && rec->entry_type == S_START_RESET) {
        self->n = 0;                    /* every entry is discarded */
        self->payload_len = 0;
        self->reset_max = rec->index > self->reset_max ? rec->index
                                                       : self->reset_max;
    }
    if (rec->type != S_REC_ENTRY)
        return;
    zr_index_t j = rec->index < from ? from : rec->index;
    while (self->n > 0 && from + self->n > j)
        self->payload_len -= self->entries [--self->n].size;
    if (rec->index < from || rec->index > limit
        || rec->index != from + self->n)
        return;
    if (self->n > 0 && self->payload_len + rec->len > bytes_max) {
        self->capped = true;
        return;
    }
    s_grow ((void **) &self->entries, &self->entries_cap,
            (size_t) self->n + 1, sizeof (zr_entry_t));
    s_grow ((void **) &self->payload, &self->payload_cap,
            self->payload_len + rec->len, 1);
    if (rec->len > 0)
        memcpy (self->payload + self->payload_len, rec->payload, rec->len);
    self->payload_len += rec->len;
    self->entries [self->n++] = (zr_entry_t) {.term = rec->term,
                                              .index = rec->index,
                                              .type = rec->entry_type,
                                              .size = rec->len};
}

/* Returns the newest segment whose records write index x or below (any
   later one writes only higher indexes), or n_segs if none does; sets
   *limit to the index before the lowest one a later segment writes. */
static size_t
s_reader_locate (zr_wal_reader_t *self, zr_index_t x, zr_index_t *limit)
{
    size_t k = self->n_segs;
    while (k > 0 && !(self->segs [k - 1].first > 0
                      && self->segs [k - 1].first <= x))
        k--;
    if (k-- == 0)
        return self->n_segs;
    for (size_t i = k + 1; i < self->n_segs; i++)
        if (self->segs [i].first > 0 && self->segs [i].first - 1 < *limit)
            *limit = self->segs [i].first - 1;
    return k;
}

/* Collects entries from..hi (fewer if bytes_max says so), segment after
   segment. Returns 0 with at least one entry, S_MISS when the index
   looks stale, ZR_ECOMPACTED, or an error. */
static int
s_reader_collect (zr_wal_reader_t *self, zr_index_t from, zr_index_t hi,
                  size_t bytes_max)
{
    self->n = 0;
    self->payload_len = 0;
    self->capped = false;
    self->reset_max = 0;
    int rc = s_reader_learn (self);
    zr_index_t x = from;
    while (rc == 0 && x <= hi && !self->capped) {
        zr_index_t limit = hi;
        size_t k = s_reader_locate (self, x, &limit);
        if (k == self->n_segs)
            break;
        s_slot_t *slot;
        rc = s_reader_load (self, &self->segs [k], &slot);
        s_record_t rec;
        size_t i = 0;
        if (rc == 0 && self->n == 0 && slot->monotone) {
            /* The records keyed below from change nothing (s_reader_apply
               with nothing collected, no reset): start after them. */
            size_t hi_i = slot->n_offs;
            while (i < hi_i) {
                size_t mid = i + (hi_i - i) / 2;
                if (slot->keys [mid] < from)
                    i = mid + 1;
                else
                    hi_i = mid;
            }
        }
        for (; rc == 0 && i < slot->n_offs; i++) {
            size_t off = slot->offs [i];
            s_record_fields (slot->data + off, slot->end - off, &rec);
            s_reader_apply (self, &rec, from, limit, bytes_max);
        }
        if (rc == 0 && from + self->n == x)
            break;                      /* nothing more on disk yet */
        x = from + self->n;
    }
    if (rc == 0 && self->n == 0)
        rc = self->reset_max >= from ? ZR_ECOMPACTED : S_MISS;
    return rc;
}

int
zr_wal_read (zr_wal_reader_t *self, zr_index_t from, zr_index_t to,
             size_t bytes_max, zr_index_t durable, zr_entry_t **entries_p,
             uint32_t *n_p)
{
    zr_assert (self && entries_p && n_p);
    zr_assert (from >= 1);
    *entries_p = NULL;
    *n_p = 0;
    zr_index_t hi = to < durable ? to : durable;
    if (from > hi)
        return 0;
    if (hi - from >= UINT32_MAX)
        hi = from + UINT32_MAX - 1;
    int rc = S_MISS;
    for (int i = 0; rc == S_MISS && i < S_READ_TRIES; i++) {
        if (i > 0 && (rc = s_reader_refresh (self)) != 0)
            break;
        self->calls++;                  /* open segments are refilled */
        rc = s_reader_collect (self, from, hi, bytes_max);
    }
    if (rc == S_MISS) {
        bool older = false;             /* from is below every segment */
        for (size_t i = 0; i < self->n_segs; i++)
            if (self->segs [i].first > 0) {
                older = from < self->segs [i].first;
                break;
            }
        rc = older ? ZR_ECOMPACTED : ZR_ECORRUPT;
    }
    if (rc)
        return rc;
    zr_entry_t *entries = (zr_entry_t *) calloc (self->n, sizeof *entries);
    zr_assert (entries);
    memcpy (entries, self->entries, self->n * sizeof *entries);
    s_entries_bind (entries, self->n, self->payload, self->payload_len);
    *entries_p = entries;
    *n_p = self->n;
    return 0;
}
