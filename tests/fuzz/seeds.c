/*  =========================================================================
    seeds - writes the seed inputs of the fuzz targets from real encoders

    seeds peer_id DIR routing identities, good and bad
    seeds codec DIR   frames of every RPC type made by zr_codec_encode
    seeds wal DIR     segment files written by zr_wal_append,
                      zr_wal_set_hard_state and zr_wal_set_start, zero
                      tails cut, in the input format of fuzz_wal.c
                      (segments split by "ZRSPLIT2", closed names,
                      snap_index), some with a torn last record, log
                      starts, preambles, renamed and compacted segments;
                      each also with a zero byte more (odd length: bigger
                      segments, see fuzz_wal.c)
    seeds snapshot DIR
                      snapshot files written by zr_snapshot_writer_*,
                      whole, cut, misnamed and with a newer version or
                      flag, in fuzz_snapshot.c's format (control byte
                      first)
    seeds kv DIR      key/value commands and snapshots made by
                      bin/lib/kv.c, in fuzz_kv.c's format (control byte
                      first)
    seeds bus DIR     BUS entries made by zr_bus_entry_encode and snapshot
                      sections by zr_bus_section_encode, in fuzz_bus.c's
                      format (control byte first)
    seeds client DIR  client protocol frames made by
                      zr_client_request_encode and zr_client_reply_encode:
                      every request type, every reply type and code,
                      limits reached; and a few the encoders refuse
                      (a key over its limit, ten members, version 2,
                      integers in signed formats)
    seeds bus_wire DIR
                      bus protocol frames made by zr_busmsg_encode: every
                      message type, limits reached, an ERROR of every
                      code, cursors maps; and a few the encoder refuses
                      (a subject over its limit, unsorted cursors,
                      version 2, integers in signed formats)

    Seeds are deterministic (no time, no randomness), named seed-<what>,
    and only start the corpus: make fuzz FUZZ_MERGE=1 replaces them with
    what libFuzzer keeps. Run by make fuzz-seeds.
    =========================================================================
*/
#include "../../actors/actors.h"
#include "../../actors/bus.h"
#include "../../bin/lib/kv.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_SPLIT "ZRSPLIT2"              /* as in fuzz_wal.c */
#define S_HEADER 32                     /* segment and record header (wal.h) */
#define S_FILE_MAX (ZR_WAL_SEGMENT_BYTES_MIN + 4096)

static const char *s_out;               /* the directory seeds go to */

static void
s_write (const char *name, const void *data, size_t size)
{
    char path [512];
    snprintf (path, sizeof path, "%s/seed-%s", s_out, name);
    FILE *file = fopen (path, "wb");
    zr_assert (file);
    zr_assert (fwrite (data, 1, size, file) == size);
    zr_assert (fclose (file) == 0);
}

//  --------------------------------------------------------------------------
//  peer_id

static void
s_peer_id (void)
{
    const char *ids [] = {"n1", "r9", "n09", "r0", "n10", "nx", "q1",
                          "n3-0123456789ABCDEF-fedcba9876543210",
                          "n0-0123456789abcdef-fedcba9876543210"};
    for (size_t i = 0; i < sizeof ids / sizeof ids [0]; i++)
        s_write (ids [i], ids [i], strlen (ids [i]));
    const char kinds [] = {'n', 'r', 'd'};
    for (size_t i = 0; i < sizeof kinds; i++) {
        zr_peer_who_t who = {.id = (zr_id_t) (1 + 4 * i),
                             .cluster = 0x0123456789abcdefULL << i,
                             .instance = zr_random_id ()};
        char text [ZR_PEER_IDENTITY_MAX + 1];
        size_t len = zr_peer_identity (kinds [i], &who, text);
        char name [16];
        snprintf (name, sizeof name, "identity-%c%u", kinds [i], who.id);
        s_write (name, text, len);
    }
}

//  --------------------------------------------------------------------------
//  kv

/* Writes control byte + bytes (freed) as seed name. */
static void
s_kv_write (const char *name, uint8_t control, void *bytes, size_t size)
{
    uint8_t *seed = (uint8_t *) malloc (size + 1);
    zr_assert (seed);
    seed [0] = control;
    memcpy (seed + 1, bytes, size);
    s_write (name, seed, size + 1);
    free (seed);
    free (bytes);
}

/* Applies cmd at index; writes it as an entry seed if name is set. */
static void
s_kv_cmd (zr_kv_t *kv, uint64_t index, const zr_kv_cmd_t *cmd, const char *name)
{
    void *data;
    size_t size;
    zr_assert (zr_kv_cmd_encode (cmd, &data, &size) == 0);
    zr_kv_apply (kv, index, 1, data, size, NULL, NULL);
    if (name)
        s_kv_write (name, 0, data, size);
    else
        free (data);
}

/* Writes kv's snapshot at index (<= 127) as a snapshot seed. */
static void
s_kv_snapshot (zr_kv_t *kv, uint64_t index, const char *name)
{
    void *data;
    size_t size;
    zr_assert (index <= 127 && zr_kv_snapshot (kv, index, &data, &size) == 0);
    s_kv_write (name, (uint8_t) (index << 1 | 1), data, size);
}

static void
s_kv (void)
{
    static char big [300];
    memset (big, 'b', sizeof big);
    zr_kv_t *kv = zr_kv_new (NULL);
    s_kv_snapshot (kv, 0, "kv-snapshot-empty");
    zr_kv_cmd_t cmd = {.type = ZR_KV_PUT, .time_ms = 500, .client_id = 1,
                       .seq = 1, .key = "k", .key_size = 1, .value = "v",
                       .value_size = 1};
    s_kv_cmd (kv, 1, &cmd, "kv-put");
    cmd.seq = 2, cmd.key = big, cmd.key_size = 256, cmd.value_size = 300;
    cmd.value = big, cmd.time_ms = 1ULL << 40;
    s_kv_cmd (kv, 2, &cmd, "kv-put-wide");
    cmd = (zr_kv_cmd_t) {.type = ZR_KV_CAS, .time_ms = 600, .client_id = 2,
                         .seq = 1, .key = "k", .key_size = 1, .old = "v",
                         .old_size = 1, .value = "w", .value_size = 1};
    s_kv_cmd (kv, 3, &cmd, "kv-cas");
    cmd.type = ZR_KV_DEL, cmd.seq = 2, cmd.client_id = 3;
    s_kv_cmd (kv, 4, &cmd, "kv-del-new-client-seq2");
    cmd.client_id = 2;
    s_kv_cmd (kv, 5, &cmd, "kv-del");
    for (uint32_t id = 1; id <= ZR_NODES_MAX; id++) {
        char endpoint [64];
        snprintf (endpoint, sizeof endpoint, "tcp://10.0.0.%u:7000", id);
        cmd = (zr_kv_cmd_t) {.type = ZR_KV_ANNOUNCE, .time_ms = 700,
                             .member = id, .endpoint = endpoint,
                             .endpoint_size = strlen (endpoint)};
        s_kv_cmd (kv, 5 + id, &cmd, id == 1 ? "kv-announce" : NULL);
    }
    s_kv_snapshot (kv, 14, "kv-snapshot");
    s_kv_snapshot (kv, 127, "kv-snapshot-127");
    uint8_t garbage [] = {0x96, 0x01, 0xcf, 0xff, 0xc4, 0x05};
    uint8_t *copy = (uint8_t *) malloc (sizeof garbage);
    zr_assert (copy);
    memcpy (copy, garbage, sizeof garbage);
    s_kv_write ("kv-garbage", 0, copy, sizeof garbage);
    zr_kv_destroy (&kv);
}

//  --------------------------------------------------------------------------
//  codec

static void
s_frame (const char *name, const zr_message_t *msg)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    zr_assert (zr_codec_encode (msg, &sbuf) == 0);
    s_write (name, sbuf.data, sbuf.size);
    msgpack_sbuffer_destroy (&sbuf);
}

/* An APPEND after (prev_index, prev_term) with n entries (n <= 8) whose
   payloads are sizes [i] bytes of a pattern. */
static void
s_append (const char *name, zr_index_t prev_index, zr_term_t prev_term,
          uint32_t n, const uint32_t *sizes)
{
    static uint8_t payload [300];
    for (size_t i = 0; i < sizeof payload; i++)
        payload [i] = (uint8_t) (i * 7 + 1);
    zr_entry_t entries [8];
    zr_assert (n <= 8);
    for (uint32_t i = 0; i < n; i++)
        entries [i] = (zr_entry_t) {
            .term = prev_term + (i >= n / 2), .index = prev_index + 1 + i,
            .type = i % 3 == 2 ? ZR_ENTRY_NOOP : ZR_ENTRY_COMMAND,
            .size = sizes [i], .data = sizes [i] ? payload : NULL};
    zr_message_t msg = {.type = ZR_MSG_APPEND, .from = 1, .to = 3,
                        .term = prev_term + 1, .prev_index = prev_index,
                        .prev_term = prev_term, .commit = prev_index,
                        .round = prev_index / 3,
                        .n_entries = n, .entries = n ? entries : NULL};
    s_frame (name, &msg);
}

/* InstallSnapshot chunks and replies: first, middle, last and empty
   chunks, wide offsets, every reply flag. */
static void
s_codec_snapshot (void)
{
    static uint8_t chunk [300];
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk [i] = (uint8_t) (i * 11 + 3);
    zr_message_t m = {.type = ZR_MSG_SNAPSHOT, .from = 1, .to = 2, .term = 7,
                      .last_index = 4096, .last_term = 6, .snap_offset = 0,
                      .snap_size = 1000, .chunk_size = 300, .chunk = chunk};
    s_frame ("snapshot-first", &m);
    m.snap_offset = 300;
    m.chunk_size = 17;
    s_frame ("snapshot-middle", &m);
    m.snap_offset = 700;
    m.chunk_size = 300;
    s_frame ("snapshot-last", &m);
    m = (zr_message_t) {.type = ZR_MSG_SNAPSHOT, .from = 3, .to = 1,
                        .term = 1, .last_index = 1, .last_term = 1};
    s_frame ("snapshot-empty", &m);
    m = (zr_message_t) {.type = ZR_MSG_SNAPSHOT, .from = 2, .to = 5,
                        .term = 1ull << 40, .last_index = 1ull << 35,
                        .last_term = 1ull << 40, .snap_offset = 1ull << 33,
                        .snap_size = (1ull << 33) + 8, .chunk_size = 8,
                        .chunk = chunk};
    s_frame ("snapshot-wide", &m);
    m = (zr_message_t) {.type = ZR_MSG_SNAPSHOT_REPLY, .from = 2, .to = 1,
                        .term = 7, .last_index = 4096, .snap_offset = 300,
                        .success = true};
    s_frame ("snapshot-reply", &m);
    m.snap_offset = 1000;
    m.installed = true;
    s_frame ("snapshot-reply-installed", &m);
    m = (zr_message_t) {.type = ZR_MSG_SNAPSHOT_REPLY, .from = 2, .to = 1,
                        .term = 9, .last_index = 1ull << 34,
                        .snap_offset = 1ull << 20};
    s_frame ("snapshot-reply-refused", &m);
}

static void
s_codec (void)
{
    zr_message_t m = {.type = ZR_MSG_VOTE, .from = 2, .to = 1, .term = 5,
                      .last_index = 300, .last_term = 4};
    s_frame ("vote", &m);
    m = (zr_message_t) {.type = ZR_MSG_VOTE, .from = 9, .to = 8, .term = 1};
    s_frame ("vote-empty-log", &m);
    m = (zr_message_t) {.type = ZR_MSG_PREVOTE, .from = 1, .to = 2,
                        .term = 1ull << 40, .last_index = 70000,
                        .last_term = 1ull << 33};
    s_frame ("prevote-wide", &m);
    m = (zr_message_t) {.type = ZR_MSG_VOTE_REPLY, .from = 1, .to = 2,
                        .term = 5, .granted = true};
    s_frame ("vote-reply", &m);
    m = (zr_message_t) {.type = ZR_MSG_PREVOTE_REPLY, .from = 3, .to = 2,
                        .term = 200};
    s_frame ("prevote-reply", &m);
    m = (zr_message_t) {.type = ZR_MSG_TIMEOUT_NOW, .from = 1, .to = 5,
                        .term = 3};
    s_frame ("timeout-now", &m);
    m = (zr_message_t) {.type = ZR_MSG_APPEND_REPLY, .from = 2, .to = 1,
                        .term = 6, .success = true, .match_index = 99,
                        .last_index = 99, .round = 7};
    s_frame ("append-reply", &m);
    m = (zr_message_t) {.type = ZR_MSG_APPEND_REPLY, .from = 2, .to = 1,
                        .term = 6, .match_index = 500, .conflict_term = 4,
                        .conflict_index = 410, .last_index = 800,
                        .round = 1ull << 33};
    s_frame ("append-reply-conflict", &m);
    m = (zr_message_t) {.type = ZR_MSG_APPEND_REPLY, .from = 3, .to = 1,
                        .term = 6, .match_index = 9, .last_index = 4};
    s_frame ("append-reply-stale", &m);
    s_codec_snapshot ();
    s_append ("heartbeat", 41, 6, 0, NULL);
    s_append ("append-first", 0, 0, 1, (const uint32_t []) {3});
    uint32_t sizes [8] = {0, 1, 16, 31, 32, 255, 256, 7};
    s_append ("append-sizes", 41, 6, 8, sizes);
    s_append ("append-noop", 1000, 9, 3, (const uint32_t []) {0, 0, 0});
    /* Message-bus entries (ZR_ENTRY_BUS) beside a command and a no-op. */
    static const uint8_t publish [] = {0x95, 1, 0xa1, 'a', 0xc4, 2, 'h', 'i', 7, 1};
    zr_entry_t bus [3] = {
        {.term = 4, .index = 21, .type = ZR_ENTRY_BUS, .size = sizeof publish,
         .data = publish},
        {.term = 4, .index = 22, .type = ZR_ENTRY_COMMAND},
        {.term = 5, .index = 23, .type = ZR_ENTRY_BUS, .size = sizeof publish,
         .data = publish}};
    m = (zr_message_t) {.type = ZR_MSG_APPEND, .from = 1, .to = 2, .term = 5,
                        .prev_index = 20, .prev_term = 4, .commit = 20,
                        .round = 3, .n_entries = 3, .entries = bus};
    s_frame ("append-bus", &m);
    /* The most entries a frame may carry, all empty: a frame of 20 KiB,
       near the object budget, so mutations reach ZR_ETOOBIG. */
    static zr_entry_t full [ZR_BATCH_ENTRIES_MAX];
    for (uint32_t i = 0; i < ZR_BATCH_ENTRIES_MAX; i++)
        full [i] = (zr_entry_t) {.term = 2, .index = 11 + i,
                                 .type = ZR_ENTRY_COMMAND};
    m = (zr_message_t) {.type = ZR_MSG_APPEND, .from = 4, .to = 2, .term = 2,
                        .prev_index = 10, .prev_term = 1, .commit = 10,
                        .round = UINT64_MAX,
                        .n_entries = ZR_BATCH_ENTRIES_MAX, .entries = full};
    s_frame ("append-max-entries", &m);
    /* One entry too many, which the encoder refuses: the same frame with
       the entry list's array16 count raised and one entry more. */
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    zr_assert (zr_codec_encode (&m, &sbuf) == 0);
    const uint8_t head [] = {0xdc, ZR_BATCH_ENTRIES_MAX >> 8,
                             ZR_BATCH_ENTRIES_MAX & 0xff};
    uint8_t *list = (uint8_t *) memmem (sbuf.data, sbuf.size, head, 3);
    zr_assert (list);
    list [2]++;
    const uint8_t entry [] = {0x93, 2, ZR_ENTRY_COMMAND, 0xc4, 0};
    msgpack_sbuffer_write (&sbuf, (const char *) entry, sizeof entry);
    s_write ("append-too-many-entries", sbuf.data, sbuf.size);
    msgpack_sbuffer_destroy (&sbuf);
}

//  --------------------------------------------------------------------------
//  wal

typedef struct {
    char dir [64];                      /* a temp WAL directory */
    zr_wal_t *wal;                      /* open on dir */
} s_wal_t;

static void
s_wal_open (s_wal_t *w)
{
    snprintf (w->dir, sizeof w->dir, "/tmp/zr-seeds-XXXXXX");
    zr_assert (mkdtemp (w->dir));
    zr_wal_state_t state;
    char errmsg [256];
    zr_assert (zr_wal_open (w->dir, ZR_WAL_SEGMENT_BYTES_MIN, 0, &w->wal,
                            &state, errmsg, sizeof errmsg) == 0);
}

/* Appends entries first..last of term, payload (i % 50) bytes. */
static void
s_wal_append (s_wal_t *w, zr_index_t first, zr_index_t last, zr_term_t term)
{
    static uint8_t payload [64];
    for (size_t i = 0; i < sizeof payload; i++)
        payload [i] = (uint8_t) (0xa0 + i);
    for (zr_index_t i = first; i <= last; i++) {
        zr_entry_t e = {.term = term, .index = i, .size = (uint32_t) (i % 50),
                        .type = i % 4 == 0 ? ZR_ENTRY_NOOP : ZR_ENTRY_COMMAND,
                        .data = payload};
        zr_assert (zr_wal_append (w->wal, &e, 1) == 0);
    }
    zr_assert (zr_wal_sync (w->wal, NULL, 0) == 0);
}

/* Returns the bytes of the record at buf [off], 0 at the zero header
   that ends the records (layout in wal.h). */
static size_t
s_record_bytes (const uint8_t *buf, size_t size, size_t off)
{
    static const uint8_t zeros [S_HEADER];
    if (off + S_HEADER > size || memcmp (buf + off, zeros, S_HEADER) == 0)
        return 0;
    uint32_t len = (uint32_t) buf [off + 4] | (uint32_t) buf [off + 5] << 8
                   | (uint32_t) buf [off + 6] << 16
                   | (uint32_t) buf [off + 7] << 24;
    return (S_HEADER + len + 7) & ~(size_t) 7;
}

/* Reads segment seq of w into buf; returns the bytes up to the end of
   its records (the header alone if it has none). */
static size_t
s_wal_segment (s_wal_t *w, uint64_t seq, uint8_t *buf)
{
    char path [128];
    snprintf (path, sizeof path, "%s/wal-%016llx.seg", w->dir,
              (unsigned long long) seq);
    FILE *file = fopen (path, "rb");
    zr_assert (file);
    size_t size = fread (buf, 1, S_FILE_MAX, file);
    fclose (file);
    size_t off = S_HEADER, bytes;
    while ((bytes = s_record_bytes (buf, size, off)) > 0)
        off += bytes;
    return off;
}

/* Writes seed name from segment 1, closes and removes w. With split,
   records from the split-th on go to segment 2 instead (a real spare's
   header first); with torn, the last torn bytes are cut. */
static void
s_wal_seed (s_wal_t *w, const char *name, size_t split, size_t torn)
{
    zr_wal_destroy (&w->wal);
    static uint8_t seg [S_FILE_MAX], spare [S_FILE_MAX], out [2 * S_FILE_MAX];
    size_t size = s_wal_segment (w, 1, seg) - torn;
    size_t off = S_HEADER;
    for (size_t i = 0; i < split; i++)
        off += s_record_bytes (seg, size, off);
    size_t n = split ? off : size;
    memcpy (out, seg, n);
    if (split) {
        zr_assert (s_wal_segment (w, 2, spare) == S_HEADER);
        memcpy (out + n, S_SPLIT, strlen (S_SPLIT));
        n += strlen (S_SPLIT);
        memcpy (out + n, spare, S_HEADER);
        n += S_HEADER;
        memcpy (out + n, seg + off, size - off);
        n += size - off;
    }
    s_write (name, out, n);
    /* Odd length: fuzz_wal.c opens it with bigger segments. */
    char grown [64];
    snprintf (grown, sizeof grown, "%s-grown", name);
    out [n] = 0;
    s_write (grown, out, n + 1);
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -r %s", w->dir);
    zr_assert (system (cmd) == 0);
}

/* Appends entry index of term with a zero payload that fills current
   segment seq but for 8 bytes: the next record goes to seq + 1, and the
   seed of seq ends in zeros, which it does not hold. */
static void
s_wal_fill (s_wal_t *w, uint64_t seq, zr_index_t index, zr_term_t term)
{
    static uint8_t seg [S_FILE_MAX];
    static const uint8_t zeros [ZR_WAL_SEGMENT_BYTES_MIN];
    size_t used = s_wal_segment (w, seq, seg);
    size_t len = (ZR_WAL_SEGMENT_BYTES_MIN - used - 8 - S_HEADER) & ~(size_t) 7;
    zr_entry_t e = {.term = term, .index = index, .size = (uint32_t) len,
                    .type = ZR_ENTRY_COMMAND, .data = zeros};
    zr_assert (zr_wal_append (w->wal, &e, 1) == 0);
    zr_assert (zr_wal_sync (w->wal, NULL, 0) == 0);
}

static int
s_wal_select (const struct dirent *de)
{
    return strncmp (de->d_name, "wal-", 4) == 0
           && strstr (de->d_name, ".tmp") == NULL;
}

/* Writes seed name from every segment of w in fuzz_wal.c's format:
   zero tails cut, closed names as S_CLOSED, seqs missing below the
   highest as empty pieces, and snap_index (when not 0) as the S_SNAP
   tail. Closes and removes w. Also writes name-grown (a byte more). */
static void
s_wal_dir_seed (s_wal_t *w, const char *name, const uint8_t *snaps,
                size_t n_snaps)
{
    zr_wal_destroy (&w->wal);
    static uint8_t file [S_FILE_MAX], out [4 * S_FILE_MAX];
    struct dirent **names;
    int n = scandir (w->dir, &names, s_wal_select, alphasort);
    zr_assert (n > 0);
    size_t len = 0;
    uint64_t next = 1;
    for (int i = 0; i < n; i++) {
        const char *fname = names [i]->d_name;
        uint64_t seq = strtoull (fname + 4, NULL, 16);
        for (; next < seq; next++) {
            memcpy (out + len, S_SPLIT, strlen (S_SPLIT));
            len += strlen (S_SPLIT);
        }
        if (i > 0) {
            memcpy (out + len, S_SPLIT, strlen (S_SPLIT));
            len += strlen (S_SPLIT);
        }
        next = seq + 1;
        if (strlen (fname) > 25) {          /* wal-<seq>-<first>-<last>.seg */
            uint64_t range [2] = {strtoull (fname + 21, NULL, 16),
                                  strtoull (fname + 38, NULL, 16)};
            memcpy (out + len, "ZRCLOSED", 8);
            len += 8;
            for (int k = 0; k < 2; k++)
                for (int b = 0; b < 8; b++)
                    out [len++] = (uint8_t) (range [k] >> (8 * b));
        }
        char path [512];
        snprintf (path, sizeof path, "%s/%s", w->dir, fname);
        FILE *f = fopen (path, "rb");
        zr_assert (f);
        size_t size = fread (file, 1, sizeof file, f);
        fclose (f);
        while (size > 0 && file [size - 1] == 0)
            size--;
        memcpy (out + len, file, size);
        len += size;
        free (names [i]);
    }
    free (names);
    zr_assert (len < 8192);
    for (size_t i = 0; i < n_snaps; i++) {
        char seed [96];
        size_t total = len;
        if (snaps [i]) {
            memcpy (out + total, "ZRSNAPIX", 8);
            out [total + 8] = snaps [i];
            total += 9;
            snprintf (seed, sizeof seed, "%s-snap%u", name, snaps [i]);
        }
        else
            snprintf (seed, sizeof seed, "%s", name);
        /* Odd length: fuzz_wal.c opens it with bigger segments. A zero
           byte more changes only the length. */
        char grown [128];
        snprintf (grown, sizeof grown, "%s-grown", seed);
        out [total] = 0;
        s_write (total % 2 ? grown : seed, out, total);
        s_write (total % 2 ? seed : grown, out, total + 1);
    }
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -r %s", w->dir);
    zr_assert (system (cmd) == 0);
}

/* Opens w and writes three segments: 1..5 and 6..9 closed, 10..11. */
static void
s_wal_three (s_wal_t *w)
{
    s_wal_open (w);
    zr_assert (zr_wal_set_hard_state (w->wal, 2, 1) == 0);
    s_wal_append (w, 1, 4, 1);
    s_wal_fill (w, 1, 5, 1);
    s_wal_append (w, 6, 8, 2);
    s_wal_fill (w, 2, 9, 2);
    s_wal_append (w, 10, 11, 2);
}

/* Seeds of the log window: log starts, preambles, closed (renamed)
   segments, a compacted segment, each opened with a few snap_index. */
static void
s_wal_window (void)
{
    s_wal_t w;
    /* A follower installed a snapshot at 5: LOGSTART, then 6..9. */
    s_wal_open (&w);
    zr_assert (zr_wal_set_hard_state (w.wal, 2, 1) == 0);
    s_wal_append (&w, 1, 3, 1);
    zr_assert (zr_wal_set_start (w.wal, 5, 2) == 0);
    s_wal_append (&w, 6, 9, 2);
    s_wal_dir_seed (&w, "logstart", (const uint8_t []) {0, 5, 7, 12}, 4);
    /* Segment 1 full and renamed, segment 2 opens with the preamble
       (HARDSTATE, LOGSTART restated). */
    s_wal_open (&w);
    zr_assert (zr_wal_set_hard_state (w.wal, 3, 2) == 0);
    zr_assert (zr_wal_set_start (w.wal, 3, 1) == 0);
    s_wal_append (&w, 4, 8, 2);
    s_wal_fill (&w, 1, 9, 2);
    s_wal_append (&w, 10, 13, 3);
    s_wal_dir_seed (&w, "closed", (const uint8_t []) {0, 3, 9, 11, 20}, 5);
    /* Three segments, two closed: a snapshot covering the first lets
       zr_wal_open delete it unread. */
    s_wal_three (&w);
    s_wal_dir_seed (&w, "three", (const uint8_t []) {0, 4, 5, 9, 10}, 5);
    /* The same, the first segment compacted: the window starts at 6. */
    s_wal_three (&w);
    zr_assert (zr_wal_compact (w.wal, 5) == 0);
    s_wal_dir_seed (&w, "compacted", (const uint8_t []) {0, 4, 5, 8}, 4);
}

static void
s_wal (void)
{
    s_wal_window ();
    s_wal_t w;
    s_wal_open (&w);
    s_wal_seed (&w, "empty", 0, 0);
    s_wal_open (&w);
    zr_assert (zr_wal_set_hard_state (w.wal, 3, 2) == 0);
    zr_assert (zr_wal_sync (w.wal, NULL, 0) == 0);
    s_wal_seed (&w, "hardstate", 0, 0);
    s_wal_open (&w);
    zr_assert (zr_wal_set_hard_state (w.wal, 1, 1) == 0);
    s_wal_append (&w, 1, 6, 1);
    zr_assert (zr_wal_set_hard_state (w.wal, 2, 0) == 0);
    s_wal_append (&w, 7, 12, 2);
    s_wal_seed (&w, "entries", 0, 0);
    s_wal_open (&w);
    s_wal_append (&w, 1, 8, 1);
    zr_assert (zr_wal_set_hard_state (w.wal, 4, 3) == 0);
    s_wal_append (&w, 5, 9, 4);     /* truncates 5..8 first */
    s_wal_seed (&w, "truncate", 0, 0);
    s_wal_open (&w);
    s_wal_append (&w, 1, 5, 2);
    s_wal_seed (&w, "torn", 0, 20);
    s_wal_open (&w);
    s_wal_append (&w, 1, 10, 3);
    s_wal_seed (&w, "two-segments", 4, 0);
    s_wal_open (&w);
    s_wal_append (&w, 1, 10, 3);
    s_wal_seed (&w, "two-segments-torn", 6, 12);
    /* Message-bus entries (ZR_ENTRY_BUS) between commands. */
    s_wal_open (&w);
    s_wal_append (&w, 1, 2, 1);
    static const uint8_t cursor [] = {0x93, 2, 0xa1, 'c', 9};
    for (zr_index_t i = 3; i <= 5; i++) {
        zr_entry_t e = {.term = 1, .index = i, .type = ZR_ENTRY_BUS,
                        .size = sizeof cursor, .data = cursor};
        zr_assert (zr_wal_append (w.wal, &e, 1) == 0);
    }
    s_wal_append (&w, 6, 7, 1);
    s_wal_seed (&w, "bus", 0, 0);
}

//  --------------------------------------------------------------------------
//  snapshot

/* Writes snapshot files with zr_snapshot_writer_* and seeds from them,
   in fuzz_snapshot.c's format (a control byte, then the file): whole,
   cut at a few points, and patched where the target's control byte
   repairs the crcs. */
static void
s_snapshot_file (const char *name, uint32_t n_servers, uint64_t data_bytes)
{
    char dir [64];
    snprintf (dir, sizeof dir, "/tmp/zr-seeds-XXXXXX");
    zr_assert (mkdtemp (dir));
    zr_snapshot_meta_t meta;
    memset (&meta, 0, sizeof meta);
    meta.index = 40 + data_bytes;
    meta.term = 3;
    meta.n_servers = n_servers;
    for (uint32_t i = 0; i < n_servers; i++) {
        meta.ids [i] = (zr_id_t) (n_servers - i);
        snprintf (meta.endpoints [i], sizeof meta.endpoints [i],
                  "tcp://10.0.0.%u:5%03u", i + 1, i);
    }
    zr_snapshot_writer_t *writer = zr_snapshot_writer_new (dir, &meta, NULL, 0);
    zr_assert (writer);
    for (uint64_t i = 0; i < data_bytes; i++) {
        uint8_t byte = (uint8_t) (i * 29 + 1);
        zr_assert (zr_snapshot_writer_append (writer, &byte, 1) == 0);
    }
    zr_assert (zr_snapshot_writer_commit (&writer, &meta, NULL, 0) == 0);
    char path [256];
    zr_assert (zr_snapshot_path (dir, meta.index, meta.term, path,
                                 sizeof path) == 0);
    static uint8_t file [1 + 8192];
    FILE *f = fopen (path, "rb");
    zr_assert (f);
    size_t len = fread (file + 1, 1, sizeof file - 1, f);
    fclose (f);
    zr_assert (len > 0 && len < sizeof file - 1);
    file [0] = 0;
    s_write (name, file, len + 1);
    size_t header = zr_snapshot_header_bytes (&meta);
    const size_t cuts [] = {10, 40, header - 1, header, header + data_bytes / 2};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts [0]; i++) {
        if (cuts [i] >= len || (i > 0 && cuts [i] == cuts [i - 1]))
            continue;
        char cut [96];
        snprintf (cut, sizeof cut, "%s-cut%zu", name, cuts [i]);
        s_write (cut, file, cuts [i] + 1);
    }
    char other [96];
    file [0] = 0x0c;                    /* another name, a temp leftover */
    snprintf (other, sizeof other, "%s-misnamed", name);
    s_write (other, file, len + 1);
    file [0] = 0x03;                    /* flags set, crcs repaired */
    file [1 + 16] = 1;
    snprintf (other, sizeof other, "%s-flags", name);
    s_write (other, file, len + 1);
    file [1 + 16] = 0;
    file [1 + 8] = ZR_SNAPSHOT_VERSION + 1;     /* a later version,
                                                   crcs repaired */
    snprintf (other, sizeof other, "%s-version3", name);
    s_write (other, file, len + 1);
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -r %s", dir);
    zr_assert (system (cmd) == 0);
}

static void
s_snapshot (void)
{
    s_snapshot_file ("one-server-empty", 1, 0);
    s_snapshot_file ("three-servers", 3, 100);
    s_snapshot_file ("five-servers", 5, 700);
}

//  --------------------------------------------------------------------------
//  client

static void
s_client_request (const char *name, const zr_client_request_t *request)
{
    uint8_t *data;
    size_t size;
    zr_assert (zr_client_request_encode (request, &data, &size) == 0);
    s_write (name, data, size);
    free (data);
}

static void
s_client_reply (const char *name, const zr_client_reply_t *reply)
{
    uint8_t *data;
    size_t size;
    zr_assert (zr_client_reply_encode (reply, &data, &size) == 0);
    s_write (name, data, size);
    free (data);
}

/* Lower-cases name in place (seed names are lower case). */
static void
s_lower (char *name)
{
    for (; *name; name++)
        *name = (char) tolower ((unsigned char) *name);
}

static zr_client_bytes_t
s_client_bytes (const char *text)
{
    return (zr_client_bytes_t) {(const uint8_t *) text, strlen (text)};
}

static void
s_client_requests (void)
{
    static uint8_t key [ZR_CLIENT_KEY_MAX];
    memset (key, 'k', sizeof key);
    zr_client_request_t r = {.type = ZR_CLIENT_PUT, .request_id = 1,
                             .client_id = 0x9f3c1d2e4b5a6978ULL, .seq = 1,
                             .key = s_client_bytes ("k"),
                             .value = s_client_bytes ("v1")};
    s_client_request ("put", &r);
    r.value = s_client_bytes ("");
    r.seq = 70000;
    s_client_request ("put-empty", &r);
    r.key = (zr_client_bytes_t) {key, sizeof key};
    s_client_request ("put-key-max", &r);
    r = (zr_client_request_t) {.type = ZR_CLIENT_GET, .request_id = 2,
                               .key = s_client_bytes ("key")};
    s_client_request ("get", &r);
    r.stale = true;
    s_client_request ("get-stale", &r);
    r = (zr_client_request_t) {.type = ZR_CLIENT_DEL, .request_id = 1ull << 40,
                               .client_id = 7, .seq = 255,
                               .key = s_client_bytes ("key")};
    s_client_request ("del", &r);
    r = (zr_client_request_t) {.type = ZR_CLIENT_CAS, .request_id = 4,
                               .client_id = UINT64_MAX, .seq = 1ull << 33,
                               .key = s_client_bytes ("key"),
                               .old = s_client_bytes ("old value"),
                               .value = s_client_bytes ("new value")};
    s_client_request ("cas", &r);
    r.old = s_client_bytes ("");
    s_client_request ("cas-empty-old", &r);
    r = (zr_client_request_t) {.type = ZR_CLIENT_STATUS, .request_id = 5};
    s_client_request ("status", &r);
    r = (zr_client_request_t) {.type = ZR_CLIENT_TRANSFER, .request_id = 6};
    s_client_request ("transfer-any", &r);
    r.to = 3;
    s_client_request ("transfer", &r);
    r = (zr_client_request_t) {.type = ZR_CLIENT_SNAPSHOT, .request_id = 7};
    s_client_request ("snapshot", &r);
    r = (zr_client_request_t) {.type = ZR_CLIENT_FAULT, .request_id = 8,
                               .peer = 2, .cut = true};
    s_client_request ("fault-cut", &r);
    r = (zr_client_request_t) {.type = ZR_CLIENT_FAULT, .request_id = 9,
                               .peer = 9, .drop_ppm = 1000000,
                               .delay_ms = 60000};
    s_client_request ("fault-drop-delay", &r);
}

/* A STATUS reply of server 1 (the leader) with n members. */
static void
s_client_status (const char *name, uint32_t n)
{
    static char names [ZR_NODES_MAX][16], peers [ZR_NODES_MAX][32],
                clients [ZR_NODES_MAX][32], buses [ZR_NODES_MAX][32];
    zr_client_reply_t p = {.type = ZR_CLIENT_STATUS, .request_id = 5,
                           .name = s_client_bytes ("n1"), .id = 1, .role = 2,
                           .term = 7, .leader = 1, .commit = 70000,
                           .applied = 69999, .first_index = 65000,
                           .last_index = 70001, .snapshot_index = 64999,
                           .n_members = n,
                           .health = s_client_bytes (n % 2 ? "disk failed" : "")};
    for (uint32_t i = 0; i < n; i++) {
        snprintf (names [i], sizeof names [i], "n%u", i + 1);
        snprintf (peers [i], sizeof peers [i], "tcp://127.0.0.1:%u", 7001 + i);
        snprintf (clients [i], sizeof clients [i], i == 2 ? ""
                  : "tcp://127.0.0.1:%u", 7101 + i);
        snprintf (buses [i], sizeof buses [i], i == 1 ? ""
                  : "tcp://127.0.0.1:%u", 7201 + i);
        p.members [i] = (zr_client_member_t) {
            .id = i + 1, .name = s_client_bytes (names [i]),
            .peer_endpoint = s_client_bytes (peers [i]),
            .client_endpoint = s_client_bytes (clients [i]),
            .bus_endpoint = s_client_bytes (buses [i])};
    }
    s_client_reply (name, &p);
}

static void
s_client_replies (void)
{
    static uint8_t value [300];
    for (size_t i = 0; i < sizeof value; i++)
        value [i] = (uint8_t) (i * 13 + 5);
    zr_client_reply_t p = {.type = ZR_CLIENT_PUT, .request_id = 7, .index = 42};
    s_client_reply ("put-ok", &p);
    p.type = ZR_CLIENT_DEL;
    p.index = 1ull << 40;
    s_client_reply ("del-ok", &p);
    p = (zr_client_reply_t) {.type = ZR_CLIENT_GET, .request_id = 2,
                             .found = true, .value = {value, sizeof value}};
    s_client_reply ("get-found", &p);
    p.found = false;
    p.value = s_client_bytes ("");
    s_client_reply ("get-not-found", &p);
    p = (zr_client_reply_t) {.type = ZR_CLIENT_CAS, .request_id = 4,
                             .swapped = true, .index = 70000};
    s_client_reply ("cas-swapped", &p);
    p.swapped = false;
    s_client_reply ("cas-not-swapped", &p);
    for (int t = ZR_CLIENT_TRANSFER; t <= ZR_CLIENT_FAULT; t++) {
        char name [32];
        snprintf (name, sizeof name, "%s-ok", zr_client_type_name (t));
        s_lower (name);
        p = (zr_client_reply_t) {.type = (zr_client_type_t) t,
                                 .request_id = (uint64_t) t};
        s_client_reply (name, &p);
    }
    s_client_status ("status-one", 1);
    s_client_status ("status-three", 3);
    s_client_status ("status-nine", ZR_NODES_MAX);
    for (int c = 1; c <= ZR_CLIENT_CODE_MAX; c++) {
        char name [32];
        snprintf (name, sizeof name, "put-%s", zr_client_code_name (c));
        s_lower (name);
        p = (zr_client_reply_t) {
            .type = ZR_CLIENT_PUT, .request_id = 7, .code = (zr_client_code_t) c,
            .leader = 2, .leader_endpoint = s_client_bytes ("tcp://127.0.0.1:7102"),
            .message = s_client_bytes (zr_client_code_name (c))};
        s_client_reply (name, &p);
    }
    p = (zr_client_reply_t) {.type = ZR_CLIENT_GET, .request_id = 3,
                             .code = ZR_CLIENT_NOT_LEADER,
                             .message = s_client_bytes ("no leader")};
    s_client_reply ("get-no-leader", &p);
    p = (zr_client_reply_t) {.code = ZR_CLIENT_MALFORMED,
                             .message = s_client_bytes ("truncated frame")};
    s_client_reply ("malformed-no-head", &p);
}

/* Frames the encoders refuse, written by hand. */
static void
s_client_refused (void)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    static char key [ZR_CLIENT_KEY_MAX + 1];
    memset (key, 'k', sizeof key);
    msgpack_pack_array (&pk, 5);                /* GET, key one byte over */
    msgpack_pack_uint64 (&pk, ZR_CLIENT_VERSION);
    msgpack_pack_uint64 (&pk, ZR_CLIENT_GET);
    msgpack_pack_uint64 (&pk, 11);
    msgpack_pack_bin_with_body (&pk, key, sizeof key);
    msgpack_pack_false (&pk);
    s_write ("get-key-over", sbuf.data, sbuf.size);
    msgpack_sbuffer_clear (&sbuf);
    msgpack_pack_array (&pk, 15);               /* STATUS, ten members */
    uint64_t head [] = {ZR_CLIENT_VERSION, ZR_CLIENT_STATUS, 5, 0};
    for (size_t i = 0; i < 4; i++)
        msgpack_pack_uint64 (&pk, head [i]);
    msgpack_pack_str_with_body (&pk, "n1", 2);
    for (uint64_t i = 0; i < 9; i++)
        msgpack_pack_uint64 (&pk, i == 0 ? 1 : i);
    msgpack_pack_array (&pk, ZR_NODES_MAX + 1);
    for (uint32_t i = 0; i <= ZR_NODES_MAX; i++)
        msgpack_pack_array (&pk, 0);
    s_write ("status-ten-members", sbuf.data, sbuf.size);
    msgpack_sbuffer_clear (&sbuf);
    static const uint8_t v2 [] = {0x93, 0x02, 0x05, 0x01};
    s_write ("version-2", v2, sizeof v2);
    /* TRANSFER with every integer in a signed format (int8..int64). */
    static const uint8_t signed_ints [] = {0x94, 0xd0, 0x01, 0xd1, 0x00, 0x06,
                                           0xd3, 0, 0, 0, 0, 0, 0, 0, 9,
                                           0xd2, 0, 0, 0, 3};
    s_write ("transfer-signed", signed_ints, sizeof signed_ints);
    msgpack_sbuffer_destroy (&sbuf);
}

static void
s_client (void)
{
    s_client_requests ();
    s_client_replies ();
    s_client_refused ();
}

//  --------------------------------------------------------------------------
//  bus_wire

static void
s_bus_msg (const char *name, const zr_busmsg_t *msg)
{
    uint8_t *data;
    size_t size;
    zr_assert (zr_busmsg_encode (msg, &data, &size) == 0);
    s_write (name, data, size);
    free (data);
}

static zr_busmsg_bytes_t
s_bus_bytes (const char *text)
{
    return (zr_busmsg_bytes_t) {(const uint8_t *) text, strlen (text)};
}

/* One frame of each type, as a client and a server send them. */
static void
s_bus_types (void)
{
    static uint8_t payload [300];
    for (size_t i = 0; i < sizeof payload; i++)
        payload [i] = (uint8_t) (i * 7 + 3);
    zr_busmsg_t m = {.type = ZR_BUSMSG_PUBLISH, .id = 5,
                      .subject = s_bus_bytes ("orders.eu"),
                      .payload = {payload, sizeof payload},
                      .producer = 0x9f3c1d2e4b5a6978ULL, .seq = 70000};
    s_bus_msg ("publish", &m);
    m.producer = m.seq = 0;
    m.payload = s_bus_bytes ("");
    s_bus_msg ("publish-anonymous", &m);
    s_bus_msg ("ack", &(zr_busmsg_t) {.type = ZR_BUSMSG_ACK, .id = 5,
                                       .index = 150, .term = 3,
                                       .duplicate = true});
    s_bus_msg ("not-leader", &(zr_busmsg_t) {
        .type = ZR_BUSMSG_NOT_LEADER, .id = 5,
        .endpoint = s_bus_bytes ("tcp://127.0.0.1:7202")});
    s_bus_msg ("not-leader-unknown", &(zr_busmsg_t) {
        .type = ZR_BUSMSG_NOT_LEADER, .id = 5});
    m = (zr_busmsg_t) {.type = ZR_BUSMSG_SUBSCRIBE, .id = 9,
                        .from_mode = ZR_BUSMSG_FROM_INDEX, .from = 42,
                        .prefix = s_bus_bytes ("orders."), .credit = 256,
                        .name = s_bus_bytes ("billing")};
    s_bus_msg ("subscribe-cursor", &m);
    m = (zr_busmsg_t) {.type = ZR_BUSMSG_SUBSCRIBE, .id = 10,
                        .from_mode = ZR_BUSMSG_FROM_NEXT, .credit = 65536};
    s_bus_msg ("subscribe-next", &m);
    s_bus_msg ("ok", &(zr_busmsg_t) {.type = ZR_BUSMSG_OK, .id = 9,
                                      .first = 1, .last = 70000,
                                      .heartbeat_ms = 1000,
                                      .timeout_ms = 10000});
    s_bus_msg ("out-of-range", &(zr_busmsg_t) {
        .type = ZR_BUSMSG_OUT_OF_RANGE, .id = 9, .first = 65536});
    s_bus_msg ("deliver", &(zr_busmsg_t) {
        .type = ZR_BUSMSG_DELIVER, .id = 9, .index = 70001, .term = 6,
        .subject = s_bus_bytes ("orders.eu"), .payload = {payload, 20}});
    s_bus_msg ("credit", &(zr_busmsg_t) {.type = ZR_BUSMSG_CREDIT, .id = 9,
                                          .credit = 128});
    s_bus_msg ("unsubscribe", &(zr_busmsg_t) {
        .type = ZR_BUSMSG_UNSUBSCRIBE, .id = 9});
    s_bus_msg ("commit-cursor", &(zr_busmsg_t) {
        .type = ZR_BUSMSG_COMMIT_CURSOR, .id = 11,
        .name = s_bus_bytes ("billing"), .index = 70001});
    s_bus_msg ("cursors", &(zr_busmsg_t) {.type = ZR_BUSMSG_CURSORS,
                                           .id = 12});
    s_bus_msg ("heartbeat", &(zr_busmsg_t) {.type = ZR_BUSMSG_HEARTBEAT,
                                             .index = 70000});
}

/* ERRORs of every code, cursors replies, and limits reached. */
static void
s_bus_limits (void)
{
    for (int c = 1; c <= ZR_BUSMSG_CODE_MAX; c++) {
        char name [32];
        snprintf (name, sizeof name, "error-%s", zr_busmsg_code_name (c));
        s_lower (name);
        s_bus_msg (name, &(zr_busmsg_t) {
            .type = ZR_BUSMSG_ERROR, .id = c == ZR_BUSMSG_CODE_MALFORMED ? 0 : 5,
            .code = (uint32_t) c, .text = s_bus_bytes (zr_busmsg_code_name (c))});
    }
    static char names [40][8];
    zr_busmsg_cursor_t cursors [40];
    for (uint32_t i = 0; i < 40; i++) {
        snprintf (names [i], sizeof names [i], "c%u", 40 - i);
        cursors [i] = (zr_busmsg_cursor_t) {s_bus_bytes (names [i]),
                                         (uint64_t) 1 << i};
    }
    size_t counts [] = {0, 1, 3, 40};
    for (size_t i = 0; i < sizeof counts / sizeof counts [0]; i++) {
        uint8_t *map;
        size_t size;
        zr_assert (zr_busmsg_cursors_encode (cursors, counts [i], &map,
                                          &size) == 0);
        char name [32];
        snprintf (name, sizeof name, "cursors-reply-%zu", counts [i]);
        s_bus_msg (name, &(zr_busmsg_t) {
            .type = ZR_BUSMSG_CURSORS_REPLY, .id = 12,
            .cursors = {map, size}, .n_cursors = (uint32_t) counts [i]});
        free (map);
    }
    static char subject [ZR_BUSMSG_SUBJECT_MAX + 1];
    memset (subject, 's', ZR_BUSMSG_SUBJECT_MAX);
    s_bus_msg ("publish-subject-max", &(zr_busmsg_t) {
        .type = ZR_BUSMSG_PUBLISH, .id = UINT64_MAX,
        .subject = s_bus_bytes (subject), .producer = 1, .seq = UINT64_MAX});
    s_bus_msg ("subscribe-prefix-max", &(zr_busmsg_t) {
        .type = ZR_BUSMSG_SUBSCRIBE, .id = 3, .from_mode = ZR_BUSMSG_FROM_LAST,
        .prefix = s_bus_bytes (subject), .name = s_bus_bytes (subject)});
}

/* Frames the encoder refuses, written by hand. */
static void
s_bus_refused (void)
{
    static const uint8_t v2 [] = {0x93, 0x02, 0x0c, 0x01};
    s_write ("version-2", v2, sizeof v2);
    static const uint8_t unsorted [] = {0x94, 0x01, 0x0d, 0x05, 0x82, 0xa1,
                                        'b', 0x01, 0xa1, 'a', 0x02};
    s_write ("cursors-unsorted", unsorted, sizeof unsorted);
    static const uint8_t signed_ints [] = {0x94, 0xd0, 0x01, 0xd1, 0x00, 0x09,
                                           0xd3, 0, 0, 0, 0, 0, 0, 0, 9,
                                           0xd2, 0, 0, 0, 3};
    s_write ("credit-signed", signed_ints, sizeof signed_ints);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    static char subject [ZR_BUSMSG_SUBJECT_MAX + 1];
    memset (subject, 's', sizeof subject);
    msgpack_pack_array (&pk, 7);                /* PUBLISH, subject over */
    msgpack_pack_uint64 (&pk, ZR_BUSMSG_VERSION);
    msgpack_pack_uint64 (&pk, ZR_BUSMSG_PUBLISH);
    msgpack_pack_uint64 (&pk, 1);
    msgpack_pack_str_with_body (&pk, subject, sizeof subject);
    msgpack_pack_bin_with_body (&pk, "x", 1);
    msgpack_pack_uint64 (&pk, 0);
    msgpack_pack_uint64 (&pk, 0);
    s_write ("publish-subject-over", sbuf.data, sbuf.size);
    msgpack_sbuffer_destroy (&sbuf);
}

/* Writes a DELIVER of records [0..n) packed by hand (so also runs the
   encoder refuses), and the SUBSCRIBE that asks for runs. */
static void
s_bus_run_frame (const char *name, const zr_busmsg_record_t *records,
                 uint32_t n)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 3 + 4 * n);
    msgpack_pack_uint64 (&pk, ZR_BUSMSG_VERSION);
    msgpack_pack_uint64 (&pk, ZR_BUSMSG_DELIVER);
    msgpack_pack_uint64 (&pk, 9);
    for (uint32_t i = 0; i < n; i++) {
        msgpack_pack_uint64 (&pk, records [i].index);
        msgpack_pack_uint64 (&pk, records [i].term);
        msgpack_pack_str_with_body (&pk, records [i].subject.data,
                                    records [i].subject.size);
        msgpack_pack_bin_with_body (&pk, records [i].payload.data,
                                    records [i].payload.size);
    }
    s_write (name, sbuf.data, sbuf.size);
    msgpack_sbuffer_destroy (&sbuf);
}

/* DELIVER runs (built with zr_busmsg_run_t, as zraft-node does), the
   SUBSCRIBE asking for them, and runs the decoder refuses. */
static void
s_bus_runs (void)
{
    static uint8_t payload [128];
    for (size_t i = 0; i < sizeof payload; i++)
        payload [i] = (uint8_t) (i * 5 + 1);
    static const char *subjects [] = {"orders.eu", "orders.us", "o", "bench.x"};
    static zr_busmsg_record_t records [ZR_BUSMSG_RUN_MAX + 1];
    uint64_t index = 70000;
    for (uint32_t i = 0; i <= ZR_BUSMSG_RUN_MAX; i++) {
        index += i % 3 + 1;             /* gaps: what a filter leaves */
        records [i] = (zr_busmsg_record_t) {
            .index = index, .term = 6 + i / 100,
            .subject = s_bus_bytes (subjects [i % 4]),
            .payload = {i % 4 ? payload : NULL, i % 4 ? i % 129 : 0}};
    }
    uint32_t sizes [] = {2, 5, 64, ZR_BUSMSG_RUN_MAX};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes [0]; k++) {
        zr_busmsg_run_t run = {0};
        for (uint32_t i = 0; i < sizes [k]; i++)
            zr_assert (zr_busmsg_run_add (&run, &records [i],
                                          ZR_BUSMSG_RUN_MAX) == 0);
        char name [32];
        snprintf (name, sizeof name, "deliver-run-%u", sizes [k]);
        s_bus_msg (name, &(zr_busmsg_t) {
            .type = ZR_BUSMSG_DELIVER, .id = 9, .n_records = run.n,
            .records = {run.data, run.size}});
        zr_busmsg_run_free (&run);
    }
    s_bus_msg ("subscribe-runs", &(zr_busmsg_t) {
        .type = ZR_BUSMSG_SUBSCRIBE, .id = 11,
        .from_mode = ZR_BUSMSG_FROM_FIRST, .credit = 256,
        .run_max = ZR_BUSMSG_RUN_MAX});
    s_bus_run_frame ("deliver-run-over", records, ZR_BUSMSG_RUN_MAX + 1);
    zr_busmsg_record_t bad [3] = {records [0], records [1], records [2]};
    bad [2].index = bad [1].index;
    s_bus_run_frame ("deliver-run-repeat", bad, 3);
    bad [2].index = bad [0].index;
    s_bus_run_frame ("deliver-run-back", bad, 3);
    bad [2] = records [2];
    bad [1].term = 0;
    s_bus_run_frame ("deliver-run-term-0", bad, 3);
    /* PUBLISH and ACK runs, as zraft-bench and zraft-node build them. */
    zr_busmsg_run_t publish = {.type = ZR_BUSMSG_PUBLISH};
    zr_busmsg_run_t ack = {.type = ZR_BUSMSG_ACK};
    for (uint32_t i = 0; i < 16; i++) {
        zr_busmsg_record_t p = {.subject = records [i].subject,
                                .payload = records [i].payload,
                                .producer = i % 4 ? 7 : 0,
                                .seq = i % 4 ? 1000 + i : 0};
        zr_busmsg_record_t a = {.index = i % 5 ? records [i].index : 3,
                                .term = 6, .duplicate = i % 5 == 0};
        zr_assert (zr_busmsg_run_add (&publish, &p, ZR_BUSMSG_RUN_MAX) == 0);
        zr_assert (zr_busmsg_run_add (&ack, &a, ZR_BUSMSG_RUN_MAX) == 0);
    }
    s_bus_msg ("publish-run-16", &(zr_busmsg_t) {
        .type = ZR_BUSMSG_PUBLISH, .id = 500, .n_records = publish.n,
        .records = {publish.data, publish.size}});
    s_bus_msg ("ack-run-16", &(zr_busmsg_t) {
        .type = ZR_BUSMSG_ACK, .id = 500, .n_records = ack.n,
        .records = {ack.data, ack.size}});
    s_bus_msg ("ack-run-last-ids", &(zr_busmsg_t) {
        .type = ZR_BUSMSG_ACK, .id = UINT64_MAX - 15, .n_records = ack.n,
        .records = {ack.data, ack.size}});
    zr_busmsg_run_free (&publish);
    zr_busmsg_run_free (&ack);
}

static void
s_bus_wire (void)
{
    s_bus_types ();
    s_bus_limits ();
    s_bus_refused ();
    s_bus_runs ();
}

//  --------------------------------------------------------------------------
//  bus

/* Writes control byte then size bytes as seed name. */
static void
s_bus_write (const char *name, uint8_t control, const void *data, size_t size)
{
    uint8_t *input = (uint8_t *) malloc (size + 1);
    zr_assert (input);
    input [0] = control;
    if (size)
        memcpy (input + 1, data, size);
    s_write (name, input, size + 1);
    free (input);
}

static void
s_bus_entry (const char *name, const zr_bus_entry_t *entry)
{
    size_t size;
    void *data = zr_bus_entry_encode (entry, &size);
    zr_assert (data);
    s_bus_write (name, 0, data, size);
    free (data);
}

/* Applies a publication or (name not NULL) a cursor commit to bus. */
static void
s_bus_apply (zr_bus_t *bus, zr_index_t index, uint64_t producer, uint64_t seq,
             const char *name)
{
    zr_bus_entry_t e = {.op = ZR_BUS_PUBLISH, .subject = "orders",
                        .subject_size = 6, .producer = producer, .seq = seq};
    if (name)
        e = (zr_bus_entry_t) {.op = ZR_BUS_CURSOR, .name = name,
                              .name_size = (uint32_t) strlen (name), .index = seq};
    size_t size;
    void *data = zr_bus_entry_encode (&e, &size);
    zr_assert (data);
    zr_bus_outcome_t out;
    zr_bus_apply (bus, index, 1 + index / 10, data, size, &out);
    free (data);
}

static void
s_bus_section (const char *name, const zr_bus_t *bus, uint8_t control)
{
    size_t size;
    void *data = zr_bus_section_encode (bus, &size);
    s_bus_write (name, control, data, size);
    free (data);
}

static void
s_bus (void)
{
    char subject [ZRAFT_SUBJECT_MAX];
    memset (subject, 's', sizeof subject);
    zr_bus_entry_t e = {.op = ZR_BUS_PUBLISH, .subject = "orders.eu",
                        .subject_size = 9, .payload = "hello", .payload_size = 5,
                        .producer = 7, .seq = 42};
    s_bus_entry ("publish", &e);
    e = (zr_bus_entry_t) {.op = ZR_BUS_PUBLISH, .subject = subject,
                          .subject_size = sizeof subject,
                          .producer = UINT64_MAX, .seq = 1ull << 40};
    s_bus_entry ("publish-long-subject", &e);
    e = (zr_bus_entry_t) {.op = ZR_BUS_PUBLISH, .subject = "a", .subject_size = 1};
    s_bus_entry ("publish-bare", &e);
    e = (zr_bus_entry_t) {.op = ZR_BUS_CURSOR, .name = "billing", .name_size = 7,
                          .index = UINT64_MAX};
    s_bus_entry ("cursor", &e);
    static const uint8_t unknown_op [] = {0x93, 3, 0xa1, 'n', 1};
    s_bus_write ("unknown-op", 0, unknown_op, sizeof unknown_op);
    zr_bus_t *bus = zr_bus_new (8, 4);
    s_bus_section ("section-empty", bus, 1);
    for (zr_index_t i = 1; i <= 40; i++)
        s_bus_apply (bus, i, 1 + i % 3, i % 7 == 0 ? i / 2 : i, NULL);
    s_bus_apply (bus, 41, 0, 17, "alpha");
    s_bus_apply (bus, 42, 0, 40, "beta");
    s_bus_section ("section", bus, 2 * 60 + 1);
    s_bus_section ("section-index-too-low", bus, 2 * 20 + 1);
    zr_bus_destroy (&bus);
    bus = zr_bus_new (100, 10);         /* wider than the target's: trimmed */
    for (zr_index_t i = 1; i <= 120; i++)
        s_bus_apply (bus, i, 1 + i % 6, i, NULL);
    s_bus_section ("section-trimmed", bus, 2 * 127 + 1);
    zr_bus_destroy (&bus);
}

int
main (int argc, char **argv)
{
    static const struct {
        const char *name;               /* the target */
        void (*write) (void);           /* writes its seeds */
    } targets [] = {{"peer_id", s_peer_id}, {"codec", s_codec}, {"wal", s_wal},
                   {"snapshot", s_snapshot}, {"client", s_client}, {"kv", s_kv},
                   {"bus_wire", s_bus_wire}, {"bus", s_bus}};
    for (size_t i = 0; argc == 3 && i < sizeof targets / sizeof targets [0];
         i++)
        if (strcmp (argv [1], targets [i].name) == 0) {
            s_out = argv [2];
            mkdir (s_out, 0755);
            targets [i].write ();
            return 0;
        }
    fprintf (stderr, "usage: seeds peer_id|codec|wal|snapshot|client|kv|bus_wire|bus DIR\n");
    return 64;
}
