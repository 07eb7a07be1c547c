/*  =========================================================================
    test_bus - unit tests of actors/bus: the message bus's entries, its
    replicated state (dedup windows, producers, cursors, the snapshot
    section) and the leader's gate

    Design notes of bus.c are cited by number: (1) every publication a
    leader appends is accepted at apply (bus.h), (2) a producer's seqs
    lie in [low, high] within cap slots, (3) a slot speaks only for its
    seq, (4) rings grow up to the window.
    =========================================================================
*/
#include "../../actors/actors.h"
#include "../../actors/bus.h"
#include <check.h>
#include "../lib/check_run.h"

/* Encodes a publication; caller frees. */
static uint8_t *
s_publish (const char *subject, const char *payload, uint64_t producer,
           uint64_t seq, size_t *size)
{
    zr_bus_entry_t entry = {.op = ZR_BUS_PUBLISH, .subject = subject,
                            .subject_size = (uint32_t) strlen (subject),
                            .payload = payload,
                            .payload_size = payload ? (uint32_t) strlen (payload) : 0,
                            .producer = producer, .seq = seq};
    uint8_t *data = (uint8_t *) zr_bus_entry_encode (&entry, size);
    ck_assert_ptr_nonnull (data);
    return data;
}

/* Encodes a cursor commit; caller frees. */
static uint8_t *
s_cursor (const char *name, uint64_t index, size_t *size)
{
    zr_bus_entry_t entry = {.op = ZR_BUS_CURSOR, .name = name,
                            .name_size = (uint32_t) strlen (name),
                            .index = index};
    uint8_t *data = (uint8_t *) zr_bus_entry_encode (&entry, size);
    ck_assert_ptr_nonnull (data);
    return data;
}

/* ---------------------------------------------------------------- codec */

/* A publication and a cursor commit decode to what was encoded, with
   pointers into the encoded bytes (zero-copy). */
START_TEST (bus_entry_round_trip)
{
    size_t size;
    uint8_t *data = s_publish ("orders.eu", "hello", 7, 1ull << 40, &size);
    zr_bus_entry_t out;
    ck_assert_int_eq (zr_bus_entry_decode (data, size, &out), 0);
    ck_assert_uint_eq (out.op, ZR_BUS_PUBLISH);
    ck_assert_uint_eq (out.subject_size, 9);
    ck_assert_mem_eq (out.subject, "orders.eu", 9);
    ck_assert (out.subject >= (const char *) data
               && out.subject + 9 <= (const char *) data + size);
    ck_assert_uint_eq (out.payload_size, 5);
    ck_assert_mem_eq (out.payload, "hello", 5);
    ck_assert_uint_eq (out.producer, 7);
    ck_assert_uint_eq (out.seq, 1ull << 40);
    free (data);
    data = s_publish ("a", NULL, 0, 0, &size);
    ck_assert_int_eq (zr_bus_entry_decode (data, size, &out), 0);
    ck_assert_ptr_null (out.payload);
    ck_assert_uint_eq (out.payload_size, 0);
    free (data);
    data = s_cursor ("billing", UINT64_MAX, &size);
    ck_assert_int_eq (zr_bus_entry_decode (data, size, &out), 0);
    ck_assert_uint_eq (out.op, ZR_BUS_CURSOR);
    ck_assert_uint_eq (out.name_size, 7);
    ck_assert_mem_eq (out.name, "billing", 7);
    ck_assert_uint_eq (out.index, UINT64_MAX);
    free (data);
}
END_TEST

/* The encoder refuses what the decoder would: empty or long subjects
   and names, a NUL inside one, an unknown op, a payload too big. */
START_TEST (bus_entry_encode_refuses_invalid)
{
    char big [ZRAFT_SUBJECT_MAX + 2];
    memset (big, 'x', sizeof big);
    size_t size = 99;
    zr_bus_entry_t e = {.op = ZR_BUS_PUBLISH, .subject = big,
                        .subject_size = ZRAFT_SUBJECT_MAX};
    void *data = zr_bus_entry_encode (&e, &size);
    ck_assert_ptr_nonnull (data);
    free (data);
    e.subject_size = ZRAFT_SUBJECT_MAX + 1;
    ck_assert_ptr_null (zr_bus_entry_encode (&e, &size));
    ck_assert_uint_eq (size, 0);
    e.subject_size = 0;
    ck_assert_ptr_null (zr_bus_entry_encode (&e, &size));
    e = (zr_bus_entry_t) {.op = ZR_BUS_PUBLISH, .subject = "a\0b", .subject_size = 3};
    ck_assert_ptr_null (zr_bus_entry_encode (&e, &size));
    e = (zr_bus_entry_t) {.op = ZR_BUS_PUBLISH, .subject = "a", .subject_size = 1,
                          .payload = big, .payload_size = ZR_ENTRY_BYTES_MAX + 1};
    ck_assert_ptr_null (zr_bus_entry_encode (&e, &size));
    e = (zr_bus_entry_t) {.op = ZR_BUS_PUBLISH, .subject = "a", .subject_size = 1,
                          .payload_size = 1};
    ck_assert_ptr_null (zr_bus_entry_encode (&e, &size));
    e = (zr_bus_entry_t) {.op = ZR_BUS_CURSOR, .name = big,
                          .name_size = ZRAFT_CURSOR_NAME_MAX + 1};
    ck_assert_ptr_null (zr_bus_entry_encode (&e, &size));
    e = (zr_bus_entry_t) {.op = 3, .name = "n", .name_size = 1};
    ck_assert_ptr_null (zr_bus_entry_encode (&e, &size));
}
END_TEST

/* Hand-written frames: every field's type and range is checked, nothing
   may follow, and a failed decode leaves *out zeroed. */
START_TEST (bus_entry_decode_is_strict)
{
    static const struct {
        const char *why;
        uint8_t bytes [16];
        size_t size;
        int rc;
    } cases [] = {
        {"publish", {0x95, 1, 0xa1, 's', 0xc4, 1, 'p', 2, 3}, 9, 0},
        {"cursor", {0x93, 2, 0xa1, 'n', 0xcc, 200}, 6, 0},
        {"empty", {0}, 0, -1},
        {"not an array", {0x81, 1, 2}, 3, -1},
        {"unknown op", {0x93, 3, 0xa1, 'n', 1}, 5, -1},
        {"op 0", {0x93, 0, 0xa1, 'n', 1}, 5, -1},
        {"publish of 3", {0x93, 1, 0xa1, 'n', 1}, 5, -1},
        {"cursor of 5", {0x95, 2, 0xa1, 's', 0xc4, 1, 'p', 2, 3}, 9, -1},
        {"trailing byte", {0x93, 2, 0xa1, 'n', 1, 0}, 6, -1},
        {"truncated", {0x93, 2, 0xa1, 'n'}, 4, -1},
        {"empty subject", {0x95, 1, 0xa0, 0xc4, 1, 'p', 2, 3}, 8, -1},
        {"NUL in name", {0x93, 2, 0xa2, 'n', 0, 1}, 6, -1},
        {"subject as bin", {0x95, 1, 0xc4, 1, 's', 0xc4, 1, 'p', 2, 3}, 10, -1},
        {"payload as str", {0x95, 1, 0xa1, 's', 0xa1, 'p', 2, 3}, 8, -1},
        {"signed seq", {0x95, 1, 0xa1, 's', 0xc4, 1, 'p', 2, 0xd0, 3}, 10, -1},
        {"negative index", {0x93, 2, 0xa1, 'n', 0xff}, 5, -1},
        {"nil producer", {0x95, 1, 0xa1, 's', 0xc4, 1, 'p', 0xc0, 3}, 9, -1},
        {"op as str", {0x93, 0xa1, '2', 0xa1, 'n', 1}, 6, -1},
        {"bin longer than frame", {0x95, 1, 0xa1, 's', 0xc4, 9, 'p', 2, 3}, 9, -1},
        {"reserved byte", {0x93, 2, 0xa1, 'n', 0xc1}, 5, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        zr_bus_entry_t out;
        memset (&out, 0xa5, sizeof out);
        int rc = zr_bus_entry_decode (cases [i].size ? cases [i].bytes : NULL,
                                      cases [i].size, &out);
        ck_assert_msg (rc == cases [i].rc, "%s: %d", cases [i].why, rc);
        if (rc != 0) {
            zr_bus_entry_t zero;
            memset (&zero, 0, sizeof zero);
            ck_assert_msg (memcmp (&out, &zero, sizeof out) == 0, "%s", cases [i].why);
        }
    }
    /* A str of ZRAFT_SUBJECT_MAX + 1 bytes (str16) is refused; one of
       ZRAFT_SUBJECT_MAX (str8) passes. */
    uint8_t frame [300] = {0x95, 1, 0xda, (ZRAFT_SUBJECT_MAX + 1) >> 8,
                           (ZRAFT_SUBJECT_MAX + 1) & 0xff};
    memset (frame + 5, 's', ZRAFT_SUBJECT_MAX + 1);
    size_t n = 5 + ZRAFT_SUBJECT_MAX + 1;
    const uint8_t tail [] = {0xc4, 0, 1, 2};
    memcpy (frame + n, tail, sizeof tail);
    n += sizeof tail;
    zr_bus_entry_t out;
    ck_assert_int_eq (zr_bus_entry_decode (frame, n, &out), -1);
    frame [2] = 0xd9;                   /* str8 of ZRAFT_SUBJECT_MAX bytes */
    frame [3] = ZRAFT_SUBJECT_MAX;
    memmove (frame + 4, frame + 6, ZRAFT_SUBJECT_MAX + sizeof tail);
    ck_assert_int_eq (zr_bus_entry_decode (frame, n - 2, &out), 0);
    ck_assert_uint_eq (out.subject_size, ZRAFT_SUBJECT_MAX);
}
END_TEST

/* Every prefix of a valid entry is refused, and so is the entry with a
   byte more. */
START_TEST (bus_entry_decode_refuses_prefixes)
{
    size_t size;
    uint8_t *data = s_publish ("subject", "payload", 3, 4, &size);
    zr_bus_entry_t out;
    for (size_t cut = 0; cut < size; cut++)
        ck_assert_int_eq (zr_bus_entry_decode (cut ? data : NULL, cut, &out), -1);
    uint8_t *longer = (uint8_t *) malloc (size + 1);
    memcpy (longer, data, size);
    longer [size] = 0;
    ck_assert_int_eq (zr_bus_entry_decode (longer, size + 1, &out), -1);
    free (longer);
    free (data);
}
END_TEST


/* ---------------------------------------------------------------- state */

/* Applies a publication at (index, term); returns the outcome. */
static zr_bus_outcome_t
s_apply_pub (zr_bus_t *bus, zr_index_t index, zr_term_t term, uint64_t producer,
             uint64_t seq)
{
    size_t size;
    uint8_t *data = s_publish ("s", "p", producer, seq, &size);
    zr_bus_outcome_t out;
    zr_bus_apply (bus, index, term, data, size, &out);
    free (data);
    return out;
}

static zr_bus_outcome_t
s_apply_cursor (zr_bus_t *bus, zr_index_t index, const char *name, uint64_t at)
{
    size_t size;
    uint8_t *data = s_cursor (name, at, &size);
    zr_bus_outcome_t out;
    zr_bus_apply (bus, index, 1, data, size, &out);
    free (data);
    return out;
}

/* New seqs are accepted where they sit; a repeat is a duplicate of the
   first's index and term; producer 0 is never deduplicated. */
START_TEST (bus_apply_dedups_repeats)
{
    zr_bus_t *bus = zr_bus_new (16, 8);
    zr_bus_outcome_t out = s_apply_pub (bus, 10, 2, 5, 1);
    ck_assert_int_eq (out.status, 0);
    ck_assert (!out.duplicate);
    ck_assert_uint_eq (out.index, 10);
    ck_assert_uint_eq (out.term, 2);
    out = s_apply_pub (bus, 11, 2, 5, 2);
    ck_assert (!out.duplicate && out.index == 11);
    out = s_apply_pub (bus, 12, 3, 5, 1);
    ck_assert_int_eq (out.status, 0);
    ck_assert (out.duplicate);
    ck_assert_uint_eq (out.index, 10);
    ck_assert_uint_eq (out.term, 2);
    out = s_apply_pub (bus, 13, 3, 0, 1);
    ck_assert (!out.duplicate && out.index == 13);
    out = s_apply_pub (bus, 14, 3, 0, 1);
    ck_assert (!out.duplicate && out.index == 14);
    ck_assert_uint_eq (zr_bus_producers (bus), 1);
    zr_bus_destroy (&bus);
    ck_assert_ptr_null (bus);
}
END_TEST

/* Window 4: after seq 10, seqs 7..10 are remembered; 6 and below are
   stale; out-of-order seqs inside the window are accepted once. */
START_TEST (bus_apply_window_and_out_of_order)
{
    zr_bus_t *bus = zr_bus_new (4, 8);
    zr_index_t index = 1;
    ck_assert (!s_apply_pub (bus, index++, 1, 9, 10).duplicate);
    zr_bus_outcome_t out = s_apply_pub (bus, index++, 1, 9, 8);
    ck_assert (out.status == 0 && !out.duplicate && out.index == 2);
    out = s_apply_pub (bus, index++, 1, 9, 8);
    ck_assert (out.duplicate && out.index == 2);
    ck_assert (!s_apply_pub (bus, index++, 1, 9, 7).duplicate);
    ck_assert_int_eq (s_apply_pub (bus, index++, 1, 9, 6).status, ZR_ESTALE);
    ck_assert_int_eq (s_apply_pub (bus, index++, 1, 9, 0).status, ZR_ESTALE);
    ck_assert (!s_apply_pub (bus, index++, 1, 9, 9).duplicate);
    /* seq 12 moves the window to 9..12: 8 is stale now, 9 still known. */
    ck_assert (!s_apply_pub (bus, index++, 1, 9, 12).duplicate);
    ck_assert_int_eq (s_apply_pub (bus, index++, 1, 9, 8).status, ZR_ESTALE);
    ck_assert (s_apply_pub (bus, index++, 1, 9, 9).duplicate);
    ck_assert (!s_apply_pub (bus, index++, 1, 9, 11).duplicate);
    /* A jump far ahead forgets everything before it (3). */
    ck_assert (!s_apply_pub (bus, index++, 1, 9, 1ull << 50).duplicate);
    ck_assert_int_eq (s_apply_pub (bus, index++, 1, 9, 12).status, ZR_ESTALE);
    ck_assert (!s_apply_pub (bus, index++, 1, 9, (1ull << 50) - 1).duplicate);
    ck_assert (s_apply_pub (bus, index++, 1, 9, (1ull << 50) - 1).duplicate);
    zr_bus_destroy (&bus);
}
END_TEST

/* A ring grows from 16 slots to the window (4) and keeps every seq of
   the window through each growth; passed-over slots never answer for
   a forgotten seq (3). */
START_TEST (bus_apply_ring_grows)
{
    zr_bus_t *bus = zr_bus_new (1000, 8);
    for (uint64_t seq = 1; seq <= 700; seq += 2)
        ck_assert (!s_apply_pub (bus, seq, 1, 3, seq).duplicate);
    for (uint64_t seq = 1; seq <= 700; seq++) {
        zr_bus_outcome_t out = s_apply_pub (bus, 1000 + seq, 1, 3, seq);
        ck_assert_int_eq (out.status, 0);
        ck_assert_msg (out.duplicate == (seq % 2 == 1), "seq %llu",
                       (unsigned long long) seq);
        ck_assert_uint_eq (out.index, seq % 2 ? seq : 1000 + seq);
    }
    /* 1700: the window is 701..1700; 700 is stale, 701 unknown. */
    ck_assert (!s_apply_pub (bus, 2000, 1, 3, 1700).duplicate);
    ck_assert_int_eq (s_apply_pub (bus, 2001, 1, 3, 700).status, ZR_ESTALE);
    ck_assert (!s_apply_pub (bus, 2002, 1, 3, 701).duplicate);
    for (uint64_t seq = 1701; seq < 1701 + 2000; seq++)
        ck_assert (!s_apply_pub (bus, 2002 + seq, 1, 3, seq).duplicate);
    ck_assert (s_apply_pub (bus, 9000, 1, 3, 3700).duplicate);
    ck_assert (s_apply_pub (bus, 9001, 1, 3, 2701).duplicate);
    ck_assert_int_eq (s_apply_pub (bus, 9002, 1, 3, 2700).status, ZR_ESTALE);
    zr_bus_destroy (&bus);
}
END_TEST

/* producers_max 2: a third producer forgets the one least recently
   heard from, in apply order; a duplicate or stale publication counts
   as hearing from its producer. */
START_TEST (bus_apply_forgets_least_recent_producer)
{
    zr_bus_t *bus = zr_bus_new (4, 2);
    s_apply_pub (bus, 1, 1, 1, 1);
    s_apply_pub (bus, 2, 1, 2, 1);
    ck_assert (s_apply_pub (bus, 3, 1, 1, 1).duplicate);  /* 1 is newest */
    s_apply_pub (bus, 4, 1, 3, 1);                        /* forgets 2 */
    ck_assert_uint_eq (zr_bus_producers (bus), 2);
    ck_assert (s_apply_pub (bus, 5, 1, 1, 1).duplicate);  /* forgets 3 next */
    ck_assert (!s_apply_pub (bus, 6, 1, 2, 1).duplicate); /* 2: new again */
    ck_assert (!s_apply_pub (bus, 7, 1, 3, 1).duplicate); /* 3 was forgotten */
    ck_assert (!s_apply_pub (bus, 8, 1, 1, 1).duplicate); /* and then 1 */
    zr_bus_destroy (&bus);
}
END_TEST

/* Cursors only move forward; their map is in name order; a malformed
   entry is refused and changes nothing. */
START_TEST (bus_apply_cursors)
{
    zr_bus_t *bus = zr_bus_new (4, 2);
    ck_assert_int_eq (s_apply_cursor (bus, 1, "b", 7).status, 0);
    ck_assert_int_eq (s_apply_cursor (bus, 2, "a", 5).status, 0);
    ck_assert_int_eq (s_apply_cursor (bus, 3, "a", 3).status, 0);
    uint64_t index = 0;
    ck_assert_int_eq (zr_bus_cursor (bus, "a", 1, &index), 0);
    ck_assert_uint_eq (index, 5);
    ck_assert_int_eq (zr_bus_cursor (bus, "c", 1, &index), -1);
    ck_assert_int_eq (zr_bus_cursor (bus, "", 0, &index), -1);
    s_apply_cursor (bus, 4, "a", 6);
    size_t size;
    uint8_t *map = (uint8_t *) zr_bus_cursors_encode (bus, &size);
    static const uint8_t want [] = {0x82, 0xa1, 'a', 6, 0xa1, 'b', 7};
    ck_assert_uint_eq (size, sizeof want);
    ck_assert_mem_eq (map, want, sizeof want);
    free (map);
    zr_bus_outcome_t out;
    static const uint8_t junk [] = {0x93, 2, 0xa1, 'a'};
    zr_bus_apply (bus, 5, 1, junk, sizeof junk, &out);
    ck_assert_int_eq (out.status, ZR_EINVAL);
    ck_assert_uint_eq (out.index, 5);
    ck_assert_int_eq (zr_bus_cursor (bus, "a", 1, &index), 0);
    ck_assert_uint_eq (index, 6);
    zr_bus_destroy (&bus);
}
END_TEST

/* ZR_BUS_CURSORS_MAX names, then a new one is refused (ZR_EINVAL) while
   the known ones still move; the full map fits a RESULT. */
START_TEST (bus_apply_cursors_max)
{
    zr_bus_t *bus = zr_bus_new (4, 2);
    char name [ZRAFT_CURSOR_NAME_MAX + 1];
    for (uint32_t i = 0; i < ZR_BUS_CURSORS_MAX; i++) {
        memset (name, 'n', ZRAFT_CURSOR_NAME_MAX);
        snprintf (name, sizeof name, "%06u", i);
        name [6] = 'n';                 /* the longest names */
        name [ZRAFT_CURSOR_NAME_MAX] = '\0';
        ck_assert_int_eq (s_apply_cursor (bus, i + 1, name, UINT64_MAX).status, 0);
    }
    ck_assert_int_eq (s_apply_cursor (bus, 1u << 20, "new", 1).status, ZR_EINVAL);
    ck_assert_int_eq (s_apply_cursor (bus, 1u << 20, name, 1).status, 0);
    size_t size;
    void *map = zr_bus_cursors_encode (bus, &size);
    ck_assert_uint_le (size, ZRAFT_RESULT_BYTES_MAX);
    free (map);
    zr_bus_destroy (&bus);
}
END_TEST

/* A reference model of the dedup rules (bus.h), by brute force. */
#define S_MODEL_PRODUCERS 6
#define S_MODEL_SEQS 400
typedef struct {
    uint32_t window, producers_max;
    bool known [S_MODEL_PRODUCERS + 1];
    uint64_t high [S_MODEL_PRODUCERS + 1];
    uint64_t heard [S_MODEL_PRODUCERS + 1];     /* when last heard from */
    zr_index_t seen [S_MODEL_PRODUCERS + 1][S_MODEL_SEQS];
    zr_term_t seen_term [S_MODEL_PRODUCERS + 1][S_MODEL_SEQS];
    uint64_t clock;
} s_model_t;

static zr_bus_outcome_t
s_model_apply (s_model_t *m, zr_index_t index, zr_term_t term, uint64_t p,
               uint64_t seq)
{
    zr_bus_outcome_t out = {.index = index, .term = term};
    if (!m->known [p]) {
        uint32_t n = 0, oldest = 0;
        for (uint32_t q = 1; q <= S_MODEL_PRODUCERS; q++)
            if (m->known [q]) {
                n++;
                if (!oldest || m->heard [q] < m->heard [oldest])
                    oldest = q;
            }
        if (n == m->producers_max) {
            m->known [oldest] = false;
            memset (m->seen [oldest], 0, sizeof m->seen [oldest]);
        }
        m->known [p] = true;
        m->high [p] = seq;
    }
    else
    if (m->high [p] >= m->window && seq <= m->high [p] - m->window) {
        m->heard [p] = ++m->clock;
        out.status = ZR_ESTALE;
        return out;
    }
    else
    if (m->seen [p][seq]) {
        m->heard [p] = ++m->clock;
        out.duplicate = true;
        out.index = m->seen [p][seq];
        out.term = m->seen_term [p][seq];
        return out;
    }
    m->heard [p] = ++m->clock;
    if (seq > m->high [p])
        m->high [p] = seq;
    for (uint64_t s = 0; s < S_MODEL_SEQS; s++)     /* forget below the window */
        if (m->high [p] >= m->window && s <= m->high [p] - m->window)
            m->seen [p][s] = 0;
    m->seen [p][seq] = index;
    m->seen_term [p][seq] = term;
    return out;
}

/* Random publications (random window, cap, producers, seqs mostly
   rising with jumps and stragglers) give the model's outcomes; halfway
   the state goes through a snapshot section and carries on the same. */
START_TEST (bus_apply_matches_model)
{
    uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t) (_i + 1);
    for (int round = 0; round < 40; round++) {
        s_model_t *m = (s_model_t *) calloc (1, sizeof *m);
        m->window = 1 + (uint32_t) ((seed = seed * 6364136223846793005ull + 1) >> 33) % 40;
        m->producers_max = 1 + (uint32_t) ((seed = seed * 6364136223846793005ull + 1) >> 33) % 5;
        zr_bus_t *bus = zr_bus_new (m->window, m->producers_max);
        uint64_t next [S_MODEL_PRODUCERS + 1] = {0};
        for (zr_index_t index = 1; index <= 600; index++) {
            seed = seed * 6364136223846793005ull + 1;
            uint64_t r = seed >> 20;
            uint64_t p = 1 + r % S_MODEL_PRODUCERS;
            uint64_t seq = (r >> 8) % 8 == 0 ? (r >> 12) % S_MODEL_SEQS
                         : next [p] < S_MODEL_SEQS - 1 ? ++next [p]
                         : (r >> 12) % S_MODEL_SEQS;
            if ((r >> 16) % 50 == 0)
                next [p] = (r >> 20) % S_MODEL_SEQS;    /* a jump */
            zr_term_t term = 1 + index / 100;
            zr_bus_outcome_t want = s_model_apply (m, index, term, p, seq);
            zr_bus_outcome_t got = s_apply_pub (bus, index, term, p, seq);
            ck_assert_msg (got.status == want.status && got.duplicate == want.duplicate
                           && got.index == want.index && got.term == want.term,
                           "round %d index %llu p %llu seq %llu: got %d/%d/%llu, "
                           "want %d/%d/%llu", round, (unsigned long long) index,
                           (unsigned long long) p, (unsigned long long) seq,
                           got.status, got.duplicate, (unsigned long long) got.index,
                           want.status, want.duplicate, (unsigned long long) want.index);
            if (index == 300) {
                size_t size;
                void *section = zr_bus_section_encode (bus, &size);
                zr_bus_t *copy = zr_bus_new (m->window, m->producers_max);
                ck_assert_int_eq (zr_bus_section_restore (copy, 300, section, size), 0);
                size_t again_size;
                void *again = zr_bus_section_encode (copy, &again_size);
                ck_assert_uint_eq (again_size, size);
                ck_assert_mem_eq (again, section, size);
                free (again);
                free (section);
                zr_bus_destroy (&bus);
                bus = copy;
            }
        }
        zr_bus_destroy (&bus);
        free (m);
    }
}
END_TEST

/* ---------------------------------------------------------------- section */

/* A section restores the producers (LRU order included) and cursors;
   every strict prefix and a byte more are refused, leaving the state
   as it was; an empty section is the empty state. */
START_TEST (bus_section_round_trip_and_prefixes)
{
    zr_bus_t *bus = zr_bus_new (8, 3);
    s_apply_pub (bus, 1, 1, 1, 5);
    s_apply_pub (bus, 2, 1, 2, 1);
    s_apply_pub (bus, 3, 1, 1, 3);
    s_apply_cursor (bus, 4, "c1", 2);
    size_t size;
    uint8_t *section = (uint8_t *) zr_bus_section_encode (bus, &size);
    /* [1, [[2, 1, 2, 1], [1, 3, 3, 1, 5, 1, 1]], {"c1": 2}]: 2 is older. */
    static const uint8_t want [] = {0x93, 1, 0x92, 0x94, 2, 1, 2, 1,
                                    0x97, 1, 3, 3, 1, 5, 1, 1,
                                    0x81, 0xa2, 'c', '1', 2};
    ck_assert_uint_eq (size, sizeof want);
    ck_assert_mem_eq (section, want, sizeof want);
    zr_bus_t *other = zr_bus_new (8, 3);
    s_apply_cursor (other, 1, "mine", 9);
    for (size_t cut = 1; cut < size; cut++)
        ck_assert_int_eq (zr_bus_section_restore (other, 4, section, cut), -1);
    uint8_t longer [sizeof want + 1];
    memcpy (longer, section, size);
    longer [size] = 0;
    ck_assert_int_eq (zr_bus_section_restore (other, 4, longer, size + 1), -1);
    uint64_t index;
    ck_assert_int_eq (zr_bus_cursor (other, "mine", 4, &index), 0);
    ck_assert_int_eq (zr_bus_section_restore (other, 4, section, size), 0);
    ck_assert_int_eq (zr_bus_cursor (other, "mine", 4, &index), -1);
    ck_assert_int_eq (zr_bus_cursor (other, "c1", 2, &index), 0);
    ck_assert_uint_eq (index, 2);
    ck_assert (s_apply_pub (other, 5, 2, 1, 3).duplicate);
    ck_assert_uint_eq (s_apply_pub (other, 6, 2, 1, 5).index, 1);
    /* LRU: producer 2 is the oldest; two new ones forget it first. */
    s_apply_pub (other, 7, 2, 3, 1);
    s_apply_pub (other, 8, 2, 4, 1);
    ck_assert (!s_apply_pub (other, 9, 2, 2, 1).duplicate);
    ck_assert_int_eq (zr_bus_section_restore (other, 9, NULL, 0), 0);
    ck_assert_uint_eq (zr_bus_producers (other), 0);
    free (section);
    zr_bus_destroy (&other);
    zr_bus_destroy (&bus);
}
END_TEST

/* Every rule of the section is checked (bus.h). */
START_TEST (bus_section_restore_is_strict)
{
    static const struct {
        const char *why;
        uint8_t bytes [24];
        size_t size;
        int rc;
    } cases [] = {
        {"valid", {0x93, 1, 0x91, 0x94, 7, 1, 2, 3, 0x81, 0xa1, 'c', 4}, 12, 0},
        {"version 2", {0x93, 2, 0x90, 0x80}, 4, -1},
        {"two fields", {0x92, 1, 0x90}, 3, -1},
        {"producer 0", {0x93, 1, 0x91, 0x94, 0, 1, 2, 3, 0x80}, 9, -1},
        {"no triple", {0x93, 1, 0x91, 0x91, 7, 0x80}, 6, -1},
        {"half a triple", {0x93, 1, 0x91, 0x96, 7, 1, 2, 3, 4, 5, 0x80}, 11, -1},
        {"seqs not rising", {0x93, 1, 0x91, 0x97, 7, 2, 2, 3, 2, 3, 3, 0x80}, 12, -1},
        {"index 0", {0x93, 1, 0x91, 0x94, 7, 1, 0, 3, 0x80}, 9, -1},
        {"index past snapshot", {0x93, 1, 0x91, 0x94, 7, 1, 11, 3, 0x80}, 9, -1},
        {"term 0", {0x93, 1, 0x91, 0x94, 7, 1, 2, 0, 0x80}, 9, -1},
        {"producer twice", {0x93, 1, 0x92, 0x94, 7, 1, 2, 3, 0x94, 7, 2, 2, 3,
                            0x80}, 14, -1},
        {"cursor twice", {0x93, 1, 0x90, 0x82, 0xa1, 'c', 4, 0xa1, 'c', 5}, 10, -1},
        {"empty name", {0x93, 1, 0x90, 0x81, 0xa0, 4}, 6, -1},
        {"cursors as array", {0x93, 1, 0x90, 0x92, 0xa1, 'c', 4}, 7, -1},
        {"signed seq", {0x93, 1, 0x91, 0x94, 7, 0xd0, 1, 2, 3, 0x80}, 10, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        zr_bus_t *bus = zr_bus_new (4, 4);
        int rc = zr_bus_section_restore (bus, 10, cases [i].bytes, cases [i].size);
        ck_assert_msg (rc == cases [i].rc, "%s: %d", cases [i].why, rc);
        ck_assert_uint_eq (zr_bus_producers (bus), rc == 0 ? 1 : 0);
        zr_bus_destroy (&bus);
    }
}
END_TEST

/* Restored with a smaller window and producers_max, a section keeps
   the newest seqs and the most recent producers that fit. */
START_TEST (bus_section_restore_trims)
{
    zr_bus_t *bus = zr_bus_new (100, 10);
    zr_index_t index = 1;
    for (uint64_t p = 1; p <= 5; p++)
        for (uint64_t seq = 1; seq <= 50; seq++)
            s_apply_pub (bus, index++, 1, p, seq);
    size_t size;
    void *section = zr_bus_section_encode (bus, &size);
    zr_bus_t *small = zr_bus_new (10, 2);
    ck_assert_int_eq (zr_bus_section_restore (small, index, section, size), 0);
    ck_assert_uint_eq (zr_bus_producers (small), 2);
    ck_assert (s_apply_pub (small, index++, 1, 5, 41).duplicate);
    ck_assert_int_eq (s_apply_pub (small, index++, 1, 5, 40).status, ZR_ESTALE);
    ck_assert (s_apply_pub (small, index++, 1, 4, 50).duplicate);
    ck_assert (!s_apply_pub (small, index++, 1, 3, 50).duplicate);  /* forgotten */
    free (section);
    zr_bus_destroy (&small);
    zr_bus_destroy (&bus);
}
END_TEST

/* ---------------------------------------------------------------- gate */

static zr_bus_entry_t
s_entry (uint64_t producer, uint64_t seq)
{
    zr_bus_entry_t e = {.op = ZR_BUS_PUBLISH, .subject = "s", .subject_size = 1,
                        .producer = producer, .seq = seq};
    return e;
}

/* Fills entry e at index (term) with a publication; the payload is
   kept in *data (caller frees). */
static void
s_log_entry (zr_entry_t *e, zr_index_t index, zr_term_t term, uint64_t producer,
             uint64_t seq, uint8_t **data)
{
    size_t size;
    *data = s_publish ("s", "p", producer, seq, &size);
    *e = (zr_entry_t) {.term = term, .index = index, .type = ZR_ENTRY_BUS,
                       .size = (uint32_t) size, .data = *data};
}

/* The gate waits before the term is ready and while a first copy is
   pending; answers a committed repeat at once with the original's
   index; refuses a seq below what the copy and pending know. */
START_TEST (bus_gate_judges)
{
    zr_bus_gate_t *gate = zr_bus_gate_new (4, 8);
    zr_bus_outcome_t out;
    zr_bus_entry_t e = s_entry (7, 1);
    ck_assert_int_eq (zr_bus_gate_judge (gate, &e, false, &out), ZR_BUS_WAIT);
    ck_assert_int_eq (zr_bus_gate_judge (gate, &e, true, &out), ZR_BUS_ADMIT);
    zr_bus_gate_appended (gate, 7, 1, 20);
    ck_assert_uint_eq (zr_bus_gate_pending (gate), 1);
    ck_assert_int_eq (zr_bus_gate_judge (gate, &e, true, &out), ZR_BUS_WAIT);
    zr_bus_entry_t later = s_entry (7, 9);
    ck_assert_int_eq (zr_bus_gate_judge (gate, &later, true, &out), ZR_BUS_ADMIT);
    zr_bus_gate_appended (gate, 7, 9, 21);
    zr_bus_entry_t old = s_entry (7, 4);    /* 9 - 4: below the window */
    ck_assert_int_eq (zr_bus_gate_judge (gate, &old, true, &out), ZR_BUS_ANSWERED);
    ck_assert_int_eq (out.status, ZR_ESTALE);
    zr_bus_entry_t none = s_entry (0, 1);
    ck_assert_int_eq (zr_bus_gate_judge (gate, &none, false, &out), ZR_BUS_ADMIT);
    zr_entry_t run [2];
    uint8_t *data [2];
    s_log_entry (&run [0], 20, 3, 7, 1, &data [0]);
    s_log_entry (&run [1], 21, 3, 7, 9, &data [1]);
    zr_bus_gate_committed (gate, run, 1);
    ck_assert_uint_eq (zr_bus_gate_pending (gate), 1);
    ck_assert_int_eq (zr_bus_gate_judge (gate, &e, true, &out), ZR_BUS_ANSWERED);
    ck_assert_int_eq (out.status, 0);
    ck_assert (out.duplicate);
    ck_assert_uint_eq (out.index, 20);
    ck_assert_uint_eq (out.term, 3);
    zr_bus_gate_committed (gate, run + 1, 1);
    ck_assert_uint_eq (zr_bus_gate_pending (gate), 0);
    zr_bus_gate_appended (gate, 7, 10, 22);
    zr_bus_gate_step_down (gate);
    ck_assert_uint_eq (zr_bus_gate_pending (gate), 0);
    free (data [0]);
    free (data [1]);
    zr_bus_gate_destroy (&gate);
    ck_assert_ptr_null (gate);
}
END_TEST

/* A cursor commit is admitted, a new name too, until the copy holds
   ZR_BUS_CURSORS_MAX names: then a new name is answered ZR_EINVAL (as
   apply would) without being appended; known names still move. */
START_TEST (bus_gate_refuses_cursor_past_max)
{
    zr_bus_gate_t *gate = zr_bus_gate_new (4, 8);
    zr_bus_outcome_t out;
    zr_bus_entry_t fresh = {.op = ZR_BUS_CURSOR, .name = "fresh",
                            .name_size = 5, .index = 1};
    ck_assert_int_eq (zr_bus_gate_judge (gate, &fresh, false, &out), ZR_BUS_ADMIT);
    char name [16];
    for (uint32_t i = 0; i < ZR_BUS_CURSORS_MAX; i++) {
        snprintf (name, sizeof name, "c%u", i);
        zr_bus_entry_t e = {.op = ZR_BUS_CURSOR, .name = name,
                            .name_size = (uint32_t) strlen (name), .index = 7};
        ck_assert_int_eq (zr_bus_gate_judge (gate, &e, true, &out), ZR_BUS_ADMIT);
        size_t size;
        uint8_t *data = s_cursor (name, 7, &size);
        zr_entry_t entry = {.term = 1, .index = i + 1, .type = ZR_ENTRY_BUS,
                            .size = (uint32_t) size, .data = data};
        zr_bus_gate_committed (gate, &entry, 1);
        free (data);
    }
    ck_assert_int_eq (zr_bus_gate_judge (gate, &fresh, true, &out), ZR_BUS_ANSWERED);
    ck_assert_int_eq (out.status, ZR_EINVAL);
    zr_bus_entry_t known = {.op = ZR_BUS_CURSOR, .name = "c0", .name_size = 2,
                            .index = 9};
    ck_assert_int_eq (zr_bus_gate_judge (gate, &known, true, &out), ZR_BUS_ADMIT);
    zr_bus_gate_destroy (&gate);
}
END_TEST

/* Invariant (1): a leader appends only what its gate admits, commits
   in random chunks; the applier's state accepts every publication it
   applies, however producers repeat and reorder their seqs. */
START_TEST (bus_gate_admits_only_what_apply_accepts)
{
    uint64_t seed = 0x2545f4914f6cdd1dull * (uint64_t) (_i + 1);
    zr_bus_gate_t *gate = zr_bus_gate_new (8, 3);
    zr_bus_t *applier = zr_bus_new (8, 3);
    enum { LOG_MAX = 4000 };
    zr_entry_t *log = (zr_entry_t *) calloc (LOG_MAX, sizeof *log);
    uint8_t **datas = (uint8_t **) calloc (LOG_MAX, sizeof *datas);
    zr_index_t last = 0, commit = 0;
    uint64_t next [6] = {0};
    uint32_t admitted = 0, answered = 0, waited = 0;
    for (int step = 0; step < 20000 && last < LOG_MAX; step++) {
        seed = seed * 6364136223846793005ull + 1;
        uint64_t r = seed >> 17;
        if (r % 5 == 0 && commit < last) {          /* commit a chunk */
            zr_index_t upto = commit + 1 + (r >> 4) % (last - commit);
            zr_bus_gate_committed (gate, log + commit, (uint32_t) (upto - commit));
            for (zr_index_t i = commit; i < upto; i++) {
                zr_bus_outcome_t out;
                zr_bus_apply (applier, log [i].index, log [i].term, log [i].data,
                              log [i].size, &out);
                ck_assert_int_eq (out.status, 0);
                ck_assert (!out.duplicate);
            }
            commit = upto;
            continue;
        }
        uint64_t p = 1 + (r >> 4) % 5;
        uint64_t seq = (r >> 8) % 3 == 0 ? (r >> 12) % (next [p] + 2) : ++next [p];
        zr_bus_entry_t e = s_entry (p, seq);
        zr_bus_outcome_t out;
        zr_bus_verdict_t verdict = zr_bus_gate_judge (gate, &e, true, &out);
        if (verdict == ZR_BUS_ADMIT) {
            s_log_entry (&log [last], last + 1, 1, p, seq, &datas [last]);
            zr_bus_gate_appended (gate, p, seq, last + 1);
            last++;
            admitted++;
        }
        else
        if (verdict == ZR_BUS_ANSWERED)
            answered++;
        else
            waited++;
    }
    ck_assert_uint_gt (admitted, 100);
    ck_assert_uint_gt (answered, 100);
    ck_assert_uint_gt (waited, 10);
    for (zr_index_t i = 0; i < last; i++)
        free (datas [i]);
    free (datas);
    free (log);
    zr_bus_destroy (&applier);
    zr_bus_gate_destroy (&gate);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("bus");
    TCase *tc = tcase_create ("zr_bus_entry");
    tcase_add_test (tc, bus_entry_round_trip);
    tcase_add_test (tc, bus_entry_encode_refuses_invalid);
    tcase_add_test (tc, bus_entry_decode_is_strict);
    tcase_add_test (tc, bus_entry_decode_refuses_prefixes);
    suite_add_tcase (s, tc);
    tc = tcase_create ("zr_bus_apply");
    tcase_add_test (tc, bus_apply_dedups_repeats);
    tcase_add_test (tc, bus_apply_window_and_out_of_order);
    tcase_add_test (tc, bus_apply_ring_grows);
    tcase_add_test (tc, bus_apply_forgets_least_recent_producer);
    tcase_add_test (tc, bus_apply_cursors);
    tcase_add_test (tc, bus_apply_cursors_max);
    tcase_add_loop_test (tc, bus_apply_matches_model, 0, 4);
    suite_add_tcase (s, tc);
    tc = tcase_create ("zr_bus_section");
    tcase_add_test (tc, bus_section_round_trip_and_prefixes);
    tcase_add_test (tc, bus_section_restore_is_strict);
    tcase_add_test (tc, bus_section_restore_trims);
    suite_add_tcase (s, tc);
    tc = tcase_create ("zr_bus_gate");
    tcase_add_test (tc, bus_gate_judges);
    tcase_add_test (tc, bus_gate_refuses_cursor_past_max);
    tcase_add_loop_test (tc, bus_gate_admits_only_what_apply_accepts, 0, 4);
    suite_add_tcase (s, tc);
    return check_run (s);
}
