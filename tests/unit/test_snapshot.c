/*  =========================================================================
    test_snapshot - unit tests of actors/snapshot: the header codec
    =========================================================================
*/
#include "../../raft/raft.h"
#include "../../actors/snapshot.h"
#include "../../actors/wal.h"

#include <check.h>
#include "../lib/check_run.h"

/* A configuration of n servers, ids 1..n. */
static zr_snapshot_meta_t
s_meta (zr_index_t index, zr_term_t term, uint32_t n)
{
    zr_snapshot_meta_t meta;
    memset (&meta, 0, sizeof meta);
    meta.index = index;
    meta.term = term;
    meta.n_servers = n;
    for (uint32_t i = 0; i < n; i++) {
        meta.ids [i] = i + 1;
        snprintf (meta.endpoints [i], sizeof meta.endpoints [i],
                  "tcp://127.0.0.1:%u", 7100 + i);
    }
    return meta;
}

static void
s_meta_eq (const zr_snapshot_meta_t *a, const zr_snapshot_meta_t *b)
{
    ck_assert_uint_eq (a->index, b->index);
    ck_assert_uint_eq (a->term, b->term);
    ck_assert_uint_eq (a->size, b->size);
    ck_assert_uint_eq (a->crc, b->crc);
    ck_assert_uint_eq (a->n_servers, b->n_servers);
    for (uint32_t i = 0; i < a->n_servers; i++) {
        ck_assert_uint_eq (a->ids [i], b->ids [i]);
        ck_assert_str_eq (a->endpoints [i], b->endpoints [i]);
    }
}

/* Recomputes the header crc of a header of bytes bytes at buf. */
static void
s_recrc (uint8_t *buf, size_t bytes)
{
    uint32_t crc = zr_wal_crc32c (0, buf, bytes - 4);
    for (int i = 0; i < 4; i++)
        buf [bytes - 4 + (size_t) i] = (uint8_t) (crc >> (8 * i));
}

/*  -------------------------------------------------------------------------
    Header decoder
*/

START_TEST (snapshot_header_decode_checks_fields)
{
    /* Invariant (2): fields are checked even under a good crc (a writer
       bug or a crafted file): counts, ids, endpoint lengths, index. */
    zr_snapshot_meta_t meta = s_meta (12, 3, 2), out;
    meta.size = 5;
    uint8_t buf [ZR_SNAPSHOT_HEADER_MAX], bad [ZR_SNAPSHOT_HEADER_MAX];
    size_t bytes = zr_snapshot_header_encode (&meta, buf, sizeof buf);
    size_t got = 0;
    ck_assert_int_eq (zr_snapshot_header_decode (buf, bytes, &out, &got,
                                                 NULL, 0), 0);
    ck_assert_uint_eq (got, bytes);
    s_meta_eq (&out, &meta);
    struct { size_t off; uint8_t value; const char *why; } cases [] = {
        {20, 0, "server count"},        {20, 10, "server count"},
        {24, 0, "index or term 0"},     {52, 0, "server id"},
        {52, 10, "server id"},          {52 + 5 + 20, 1, "repeated"},
        {56, 0, "endpoint length"},     {56, 200, "endpoint length"},
        {57, 0, "endpoint length"},     {47, 1, "too big"},
        {20, 1, "disagrees"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        memcpy (bad, buf, bytes);
        if (cases [i].off == 24)
            memset (bad + 24, 0, 8);
        bad [cases [i].off] = cases [i].value;
        s_recrc (bad, bytes);
        char errmsg [256];
        int rc = zr_snapshot_header_decode (bad, bytes, &out, NULL, errmsg,
                                            sizeof errmsg);
        ck_assert_msg (rc == ZR_ECORRUPT, "case %zu: rc %d", i, rc);
        ck_assert_msg (strstr (errmsg, cases [i].why)
                           && strstr (errmsg, "offset"),
                       "case %zu: %s", i, errmsg);
    }
    for (size_t len = 0; len < bytes; len++)
        ck_assert_int_eq (zr_snapshot_header_decode (buf, len, &out, NULL,
                                                     NULL, 0),
                          ZR_ETRUNCATED);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("snapshot");
    TCase *tc = tcase_create ("snapshot");
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, snapshot_header_decode_checks_fields);
    suite_add_tcase (s, tc);
    return check_run (s);
}
