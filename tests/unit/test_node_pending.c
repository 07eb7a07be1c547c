/*  =========================================================================
    test_node_pending - unit tests of bin/zraft-node/pending: the table
    from a library token back to the client request it answers

    Each test checks the invariant of pending.h (size counts the live
    entries) through the public calls, and that a token is never 0 and
    never answers for another entry.
    =========================================================================
*/
#include <check.h>

#include "../lib/check_run.h"
#include "../../bin/zraft-node/pending.h"

START_TEST (add_take_round_trip)
{
    /* An entry comes back whole, with its routing id, once. */
    zr_pending_t *pending = zr_pending_new (4);
    zframe_t *id = zframe_new ("abc", 3);
    uint64_t token = zr_pending_add (pending, &id, 42, 1, 1000);
    ck_assert_uint_ne (token, 0);
    ck_assert_ptr_null (id);
    ck_assert_uint_eq (zr_pending_size (pending), 1);
    zr_pending_entry_t entry;
    ck_assert (zr_pending_take (pending, token, &entry));
    ck_assert_uint_eq (entry.token, token);
    ck_assert_uint_eq (entry.request_id, 42);
    ck_assert_int_eq (entry.type, 1);
    ck_assert_int_eq (entry.started_ms, 1000);
    ck_assert (zframe_streq (entry.routing_id, "abc"));
    zframe_destroy (&entry.routing_id);
    ck_assert (!zr_pending_take (pending, token, &entry));
    ck_assert_uint_eq (zr_pending_size (pending), 0);
    zr_pending_destroy (&pending);
    ck_assert_ptr_null (pending);
    zr_pending_destroy (&pending);      /* idempotent */
}
END_TEST

START_TEST (full_refuses_and_keeps_routing_id)
{
    /* At capacity, add returns 0 and the caller keeps its frame. */
    zr_pending_t *pending = zr_pending_new (2);
    uint64_t tokens [2];
    for (int i = 0; i < 2; i++) {
        zframe_t *id = zframe_new ("x", 1);
        tokens [i] = zr_pending_add (pending, &id, (uint64_t) i, 2, 0);
        ck_assert_uint_ne (tokens [i], 0);
    }
    ck_assert_uint_ne (tokens [0], tokens [1]);
    zframe_t *id = zframe_new ("y", 1);
    ck_assert_uint_eq (zr_pending_add (pending, &id, 9, 2, 0), 0);
    ck_assert_ptr_nonnull (id);
    zframe_destroy (&id);
    ck_assert_uint_eq (zr_pending_size (pending), 2);
    zr_pending_destroy (&pending);      /* frees the held ids (leak gate: ASan) */
}
END_TEST

START_TEST (stale_token_never_matches)
{
    /* A slot reused gets a new token: the old one, and made-up ones,
       find nothing; the server's own entries hold no routing id. */
    zr_pending_t *pending = zr_pending_new (1);
    zframe_t *none = NULL;
    uint64_t first = zr_pending_add (pending, &none, 0, 0, 0);
    zr_pending_entry_t entry;
    ck_assert (zr_pending_take (pending, first, &entry));
    ck_assert_ptr_null (entry.routing_id);
    uint64_t second = zr_pending_add (pending, &none, 0, 0, 0);
    ck_assert_uint_ne (first, second);
    ck_assert_uint_eq (first & 0xffff, second & 0xffff);
    ck_assert (!zr_pending_take (pending, first, &entry));
    ck_assert (!zr_pending_take (pending, 0, &entry));
    ck_assert (!zr_pending_take (pending, second + 1, &entry));
    ck_assert (!zr_pending_take (pending, second ^ (1ull << 20), &entry));
    ck_assert_uint_eq (zr_pending_size (pending), 1);
    ck_assert (zr_pending_take (pending, second, &entry));
    zr_pending_destroy (&pending);
}
END_TEST

START_TEST (take_any_drains)
{
    /* Shutdown answers everything: take_any returns each entry once. */
    zr_pending_t *pending = zr_pending_new (8);
    uint64_t sum = 0;
    for (uint64_t i = 1; i <= 5; i++) {
        zframe_t *id = zframe_new ("z", 1);
        ck_assert_uint_ne (zr_pending_add (pending, &id, i, 1, 0), 0);
        sum += i;
    }
    zr_pending_entry_t entry;
    uint32_t n = 0;
    while (zr_pending_take_any (pending, &entry)) {
        sum -= entry.request_id;
        zframe_destroy (&entry.routing_id);
        n++;
    }
    ck_assert_uint_eq (n, 5);
    ck_assert_uint_eq (sum, 0);
    ck_assert_uint_eq (zr_pending_size (pending), 0);
    zr_pending_destroy (&pending);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("node_pending");
    TCase *tc = tcase_create ("pending");
    tcase_add_test (tc, add_take_round_trip);
    tcase_add_test (tc, full_refuses_and_keeps_routing_id);
    tcase_add_test (tc, stale_token_never_matches);
    tcase_add_test (tc, take_any_drains);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return check_run (s_suite ());
}
