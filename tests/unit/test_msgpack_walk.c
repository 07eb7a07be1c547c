/*  =========================================================================
    test_msgpack_walk - unit tests of transport/msgpack_walk: the
    structural check shared by the peer and client codecs

    test_codec and test_client_codec cover the walk through each codec's
    limits; here the walker's own parameters (depth_max, objects_max,
    version) and zr_msgpack_walk_uints are tested at and past each bound.
    =========================================================================
*/
#include <check.h>
#include "../lib/check_run.h"

#include "transport.h"

#define S_RC(bytes, depth, objects)                                          \
    zr_msgpack_walk ((bytes), sizeof (bytes), (depth), (objects))

/* Nesting at depth_max passes, one more level is ZR_EMALFORMED; an empty
   container opens no level. */
START_TEST (msgpack_walk_checks_depth_max)
{
    static const uint8_t two [] = { 0x91, 0x91, 0xc0 };
    static const uint8_t empty [] = { 0x91, 0x91, 0x90 };
    ck_assert_int_eq (S_RC (two, 2, 10), 0);
    ck_assert_int_eq (S_RC (two, 1, 10), ZR_EMALFORMED);
    ck_assert_int_eq (S_RC (empty, 2, 10), 0);
    uint8_t deep [ZR_MSGPACK_WALK_DEPTH_MAX + 2];
    memset (deep, 0x91, sizeof deep);
    deep [sizeof deep - 1] = 0xc0;
    ck_assert_int_eq (zr_msgpack_walk (deep + 1, sizeof deep - 1,
                                       ZR_MSGPACK_WALK_DEPTH_MAX, 100), 0);
    ck_assert_int_eq (S_RC (deep, ZR_MSGPACK_WALK_DEPTH_MAX, 100),
                      ZR_EMALFORMED);
}
END_TEST

/* Objects claimed by containers, maps counting two per entry, up to
   objects_max pass; one more is ZR_ETOOBIG. */
START_TEST (msgpack_walk_checks_objects_max)
{
    static const uint8_t frame [] = { 0x93, 0x01, 0x92, 0x02, 0x03, 0x81,
                                      0x04, 0x05 };
    ck_assert_int_eq (S_RC (frame, 2, 7), 0);
    ck_assert_int_eq (S_RC (frame, 2, 6), ZR_ETOOBIG);
}
END_TEST

/* Counts and lengths beyond the bytes left are ZR_ECOUNT; cut headers
   ZR_ETRUNCATED; bytes after the object ZR_ETRAILING; 0xc1 ZR_EMALFORMED. */
START_TEST (msgpack_walk_checks_bytes)
{
    static const uint8_t count [] = { 0x93, 0x01, 0x02 };
    static const uint8_t length [] = { 0xc4, 0x03, 0x01, 0x02 };
    static const uint8_t cut [] = { 0x91, 0xcd, 0x01 };
    static const uint8_t trailing [] = { 0x91, 0x01, 0x00 };
    static const uint8_t reserved [] = { 0x91, 0xc1 };
    ck_assert_int_eq (S_RC (count, 1, 10), ZR_ECOUNT);
    ck_assert_int_eq (S_RC (length, 1, 10), ZR_ECOUNT);
    ck_assert_int_eq (S_RC (cut, 1, 10), ZR_ETRUNCATED);
    ck_assert_int_eq (S_RC (trailing, 1, 10), ZR_ETRAILING);
    ck_assert_int_eq (S_RC (reserved, 1, 10), ZR_EMALFORMED);
    ck_assert_int_eq (zr_msgpack_walk (NULL, 0, 1, 10), ZR_ETRUNCATED);
}
END_TEST

/* The version element: another unsigned value is ZR_EVERSION whatever
   follows; anything else (a signed format, no array) is left to others. */
START_TEST (msgpack_walk_version_reads_the_first_element)
{
    static const uint8_t v1 [] = { 0x92, 0x01, 0xc1 };
    static const uint8_t v7 [] = { 0x92, 0x07, 0xc1 };
    static const uint8_t wide [] = { 0x91, 0xcd, 0x01, 0x00 };
    static const uint8_t cut [] = { 0x91, 0xcd, 0x00 };
    static const uint8_t signed_v2 [] = { 0x91, 0xd0, 0x02 };
    static const uint8_t map [] = { 0x81, 0x02, 0x02 };
    static const uint8_t empty [] = { 0x90 };
    ck_assert_int_eq (zr_msgpack_walk_version (v1, sizeof v1, 1), 0);
    ck_assert_int_eq (zr_msgpack_walk_version (v7, sizeof v7, 1), ZR_EVERSION);
    ck_assert_int_eq (zr_msgpack_walk_version (v7, sizeof v7, 7), 0);
    ck_assert_int_eq (zr_msgpack_walk_version (wide, sizeof wide, 256), 0);
    ck_assert_int_eq (zr_msgpack_walk_version (wide, sizeof wide, 1),
                      ZR_EVERSION);
    ck_assert_int_eq (zr_msgpack_walk_version (cut, sizeof cut, 1), 0);
    ck_assert_int_eq (zr_msgpack_walk_version (signed_v2, sizeof signed_v2,
                                               1), 0);
    ck_assert_int_eq (zr_msgpack_walk_version (map, sizeof map, 1), 0);
    ck_assert_int_eq (zr_msgpack_walk_version (empty, sizeof empty, 1), 0);
    ck_assert_int_eq (zr_msgpack_walk_version (NULL, 0, 1), 0);
}
END_TEST

/* Leading unsigned elements are read up to n, the array's end, the
   frame's end or the first other element. */
START_TEST (msgpack_walk_uints_reads_the_head)
{
    static const uint8_t frame [] = { 0x95, 0x01, 0xcc, 0xff, 0xcf, 1, 2, 3,
                                      4, 5, 6, 7, 8, 0xc0, 0x05 };
    uint64_t values [5] = { 0 };
    ck_assert_uint_eq (zr_msgpack_walk_uints (frame, sizeof frame, values, 5),
                       3);
    ck_assert_uint_eq (values [0], 1);
    ck_assert_uint_eq (values [1], 255);
    ck_assert_uint_eq (values [2], 0x0102030405060708ULL);
    ck_assert_uint_eq (zr_msgpack_walk_uints (frame, sizeof frame, values, 2),
                       2);
    ck_assert_uint_eq (zr_msgpack_walk_uints (frame, 12, values, 5), 2);
    ck_assert_uint_eq (zr_msgpack_walk_uints (frame, 1, values, 5), 0);
    static const uint8_t short_array [] = { 0x91, 0x01, 0x02 };
    ck_assert_uint_eq (zr_msgpack_walk_uints (short_array, sizeof short_array,
                                              values, 5), 1);
    ck_assert_uint_eq (zr_msgpack_walk_uints (frame + 1, sizeof frame - 1,
                                              values, 5), 0);
    ck_assert_uint_eq (zr_msgpack_walk_uints (NULL, 0, NULL, 0), 0);
}
END_TEST

/* zr_msgpack_walk_item reads one header at a time: scalars whole, str
   and bin with their body, containers' headers only; lengths and counts
   beyond the bytes left, cut headers and 0xc1 are refused and leave
   the position where it was. */
START_TEST (msgpack_walk_item_reads_one_header)
{
    static const uint8_t frame [] = { 0x94, 0xcd, 0x01, 0x02, 0xa2, 'h', 'i',
                                      0xc4, 0x01, 0x07, 0x81, 0xd0, 0x05, 0xc0 };
    size_t pos = 0;
    zr_msgpack_item_t item;
    ck_assert_int_eq (zr_msgpack_walk_item (frame, sizeof frame, &pos, &item), 0);
    ck_assert_int_eq (item.kind, ZR_MSGPACK_ARRAY);
    ck_assert_uint_eq (item.value, 4);
    ck_assert_uint_eq (pos, 1);
    ck_assert_int_eq (zr_msgpack_walk_item (frame, sizeof frame, &pos, &item), 0);
    ck_assert_int_eq (item.kind, ZR_MSGPACK_UINT);
    ck_assert_uint_eq (item.value, 0x102);
    ck_assert_int_eq (zr_msgpack_walk_item (frame, sizeof frame, &pos, &item), 0);
    ck_assert_int_eq (item.kind, ZR_MSGPACK_STR);
    ck_assert_uint_eq (item.value, 2);
    ck_assert_ptr_eq (item.body, frame + 5);
    ck_assert_int_eq (zr_msgpack_walk_item (frame, sizeof frame, &pos, &item), 0);
    ck_assert_int_eq (item.kind, ZR_MSGPACK_BIN);
    ck_assert_ptr_eq (item.body, frame + 9);
    ck_assert_int_eq (zr_msgpack_walk_item (frame, sizeof frame, &pos, &item), 0);
    ck_assert_int_eq (item.kind, ZR_MSGPACK_MAP);
    ck_assert_uint_eq (item.value, 1);
    ck_assert_int_eq (zr_msgpack_walk_item (frame, sizeof frame, &pos, &item), 0);
    ck_assert_int_eq (item.kind, ZR_MSGPACK_OTHER);     /* int8 5 */
    ck_assert_int_eq (zr_msgpack_walk_item (frame, sizeof frame, &pos, &item), 0);
    ck_assert_int_eq (item.kind, ZR_MSGPACK_OTHER);     /* nil */
    ck_assert_uint_eq (pos, sizeof frame);
    ck_assert_int_eq (zr_msgpack_walk_item (frame, sizeof frame, &pos, &item),
                      ZR_ETRUNCATED);
    static const uint8_t bad [][3] = {
        { 0xa3, 'a', 'b' }, { 0xc4, 0x05, 0 }, { 0x92, 0x01, 0x02 },
        { 0x82, 0x01, 0x02 }, { 0xcd, 0x01, 0 }, { 0xc1, 0, 0 } };
    static const int rc [] = { ZR_ECOUNT, ZR_ECOUNT, 0, ZR_ECOUNT, 0,
                               ZR_EMALFORMED };
    for (size_t i = 0; i < sizeof rc / sizeof rc [0]; i++) {
        pos = 0;
        size_t size = i == 4 ? 2 : 3;   /* uint16 cut short */
        int got = zr_msgpack_walk_item (bad [i], size, &pos, &item);
        ck_assert_int_eq (got, i == 4 ? ZR_ETRUNCATED : rc [i]);
        ck_assert_uint_eq (pos, got ? 0 : 1);
    }
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("msgpack_walk");
    TCase *walk = tcase_create ("msgpack_walk");
    tcase_add_test (walk, msgpack_walk_checks_depth_max);
    tcase_add_test (walk, msgpack_walk_checks_objects_max);
    tcase_add_test (walk, msgpack_walk_checks_bytes);
    suite_add_tcase (suite, walk);
    TCase *version = tcase_create ("msgpack_walk_version");
    tcase_add_test (version, msgpack_walk_version_reads_the_first_element);
    suite_add_tcase (suite, version);
    TCase *uints = tcase_create ("msgpack_walk_uints");
    tcase_add_test (uints, msgpack_walk_uints_reads_the_head);
    suite_add_tcase (suite, uints);
    TCase *items = tcase_create ("msgpack_walk_item");
    tcase_add_test (items, msgpack_walk_item_reads_one_header);
    suite_add_tcase (suite, items);
    return check_run (suite);
}
