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
    return check_run (s);
}
