/*  =========================================================================
    test_filter - the fault-injecting filter (transport/filter.h)
    =========================================================================
*/
#include <check.h>
#include "../lib/check_run.h"
#include "../../transport/transport.h"

static zr_message_t *
s_msg (zr_id_t from, zr_term_t term)
{
    zr_message_t *msg = zr_message_new (ZR_MSG_APPEND);
    ck_assert_ptr_nonnull (msg);
    msg->from = from;
    msg->to = 1;
    msg->term = term;
    return msg;
}

/* A filter with no fault passes every message at once, untouched. */
START_TEST (filter_pass_healthy_link_is_identity)
{
    zr_filter_t *f = zr_filter_new (1);
    ck_assert (!zr_filter_active (f));
    zr_message_t *dup = NULL, *in = s_msg (2, 7);
    zr_message_t *out = zr_filter_pass (f, in, 100, &dup);
    ck_assert_ptr_eq (out, in);
    ck_assert_ptr_null (dup);
    zr_message_destroy (&out);
    zr_filter_destroy (&f);
    ck_assert_ptr_null (f);
}
END_TEST

/* A cut link drops everything from that peer, and only that peer. */
START_TEST (filter_pass_cut_drops_one_peer)
{
    zr_filter_t *f = zr_filter_new (1);
    zr_link_fault_t cut = {.cut = true};
    ck_assert_int_eq (zr_filter_set (f, 2, &cut), 0);
    ck_assert (zr_filter_active (f));
    zr_message_t *dup = NULL;
    ck_assert_ptr_null (zr_filter_pass (f, s_msg (2, 1), 0, &dup));
    zr_message_t *out = zr_filter_pass (f, s_msg (3, 1), 0, &dup);
    ck_assert_ptr_nonnull (out);
    zr_message_destroy (&out);
    zr_filter_stats_t st;
    zr_filter_stats (f, &st);
    ck_assert_uint_eq (st.dropped, 1);
    zr_link_fault_t healthy = {0};
    ck_assert_int_eq (zr_filter_set (f, 2, &healthy), 0);
    ck_assert (!zr_filter_active (f));
    zr_filter_destroy (&f);
}
END_TEST

/* Drop probability: 1,000,000 ppm drops all, 250,000 ppm about a quarter. */
START_TEST (filter_pass_drop_probability)
{
    zr_filter_t *f = zr_filter_new (42);
    zr_link_fault_t quarter = {.drop_ppm = 250000};
    ck_assert_int_eq (zr_filter_set (f, 2, &quarter), 0);
    uint32_t passed = 0;
    for (int i = 0; i < 10000; i++) {
        zr_message_t *dup = NULL, *out = zr_filter_pass (f, s_msg (2, 1), 0, &dup);
        passed += out != NULL;
        zr_message_destroy (&out);
    }
    ck_assert_uint_gt (passed, 7000);
    ck_assert_uint_lt (passed, 8000);
    zr_link_fault_t all = {.drop_ppm = ZR_FILTER_PPM};
    ck_assert_int_eq (zr_filter_set (f, 2, &all), 0);
    zr_message_t *dup = NULL;
    ck_assert_ptr_null (zr_filter_pass (f, s_msg (2, 1), 0, &dup));
    zr_filter_destroy (&f);
}
END_TEST

/* Duplication hands two equal copies that own their entries. */
START_TEST (filter_pass_duplicates)
{
    zr_filter_t *f = zr_filter_new (1);
    zr_link_fault_t dup_all = {.dup_ppm = ZR_FILTER_PPM};
    ck_assert_int_eq (zr_filter_set (f, 2, &dup_all), 0);
    zr_message_t *in = s_msg (2, 9);
    zr_blob_t *blob = zr_blob_new (4);
    memcpy (blob->data, "abcd", 4);
    in->n_entries = 1;
    in->entries = (zr_entry_t *) calloc (1, sizeof (zr_entry_t));
    in->entries [0] = (zr_entry_t) {.term = 9, .index = 1, .type = ZR_ENTRY_COMMAND,
                                    .size = 4, .data = blob->data, .blob = blob};
    zr_message_t *dup = NULL, *out = zr_filter_pass (f, in, 0, &dup);
    ck_assert_ptr_nonnull (out);
    ck_assert_ptr_nonnull (dup);
    ck_assert_ptr_ne (out, dup);
    ck_assert_ptr_ne (out->entries, dup->entries);
    ck_assert_uint_eq (dup->term, 9);
    ck_assert_mem_eq (dup->entries [0].data, "abcd", 4);
    ck_assert_uint_eq (atomic_load (&blob->refs), 2);
    zr_message_destroy (&out);
    zr_message_destroy (&dup);
    zr_filter_destroy (&f);
}
END_TEST

/* Delay holds a message until its due time, then releases it. */
START_TEST (filter_due_releases_after_delay)
{
    zr_filter_t *f = zr_filter_new (1);
    zr_link_fault_t slow = {.delay_ms = 50};
    ck_assert_int_eq (zr_filter_set (f, 2, &slow), 0);
    zr_message_t *dup = NULL;
    ck_assert_ptr_null (zr_filter_pass (f, s_msg (2, 1), 1000, &dup));
    ck_assert_uint_eq (zr_filter_next_ms (f), 1050);
    ck_assert_ptr_null (zr_filter_due (f, 1049));
    zr_message_t *out = zr_filter_due (f, 1050);
    ck_assert_ptr_nonnull (out);
    ck_assert_uint_eq (out->term, 1);
    zr_message_destroy (&out);
    ck_assert_uint_eq (zr_filter_next_ms (f), UINT64_MAX);
    zr_filter_destroy (&f);
}
END_TEST

/* Jitter reorders, but every message comes out exactly once, in order
   of due time (ties in arrival order). */
START_TEST (filter_due_jitter_reorders_loses_nothing)
{
    zr_filter_t *f = zr_filter_new (7);
    zr_link_fault_t jitter = {.delay_ms = 1, .jitter_ms = 100};
    ck_assert_int_eq (zr_filter_set (f, 2, &jitter), 0);
    zr_message_t *dup = NULL;
    for (zr_term_t t = 1; t <= 500; t++)
        ck_assert_ptr_null (zr_filter_pass (f, s_msg (2, t), 0, &dup));
    bool seen [501] = {false};
    uint32_t out_of_order = 0, count = 0;
    zr_term_t prev = 0;
    zr_message_t *msg;
    while ((msg = zr_filter_due (f, 1000))) {
        ck_assert (!seen [msg->term]);
        seen [msg->term] = true;
        out_of_order += msg->term < prev;
        prev = msg->term;
        count++;
        zr_message_destroy (&msg);
    }
    ck_assert_uint_eq (count, 500);
    ck_assert_uint_gt (out_of_order, 50);
    zr_filter_destroy (&f);
}
END_TEST

/* Bad settings are refused and leave the link as it was. */
START_TEST (filter_set_rejects_bad_fault)
{
    zr_filter_t *f = zr_filter_new (1);
    zr_link_fault_t bad = {.drop_ppm = ZR_FILTER_PPM + 1};
    ck_assert_int_eq (zr_filter_set (f, 2, &bad), ZR_EINVAL);
    zr_link_fault_t slow = {.delay_ms = ZR_FILTER_DELAY_MAX_MS, .jitter_ms = 1};
    ck_assert_int_eq (zr_filter_set (f, 2, &slow), ZR_EINVAL);
    zr_link_fault_t ok = {.cut = true};
    ck_assert_int_eq (zr_filter_set (f, 0, &ok), ZR_EINVAL);
    ck_assert_int_eq (zr_filter_set (f, ZR_NODES_MAX + 1, &ok), ZR_EINVAL);
    ck_assert (!zr_filter_active (f));
    zr_filter_destroy (&f);
}
END_TEST

/* Destroying a filter frees the messages it still holds (ASan checks). */
START_TEST (filter_destroy_frees_held)
{
    zr_filter_t *f = zr_filter_new (1);
    zr_link_fault_t slow = {.delay_ms = 1000};
    ck_assert_int_eq (zr_filter_set (f, 3, &slow), 0);
    zr_message_t *dup = NULL;
    for (int i = 0; i < 100; i++)
        ck_assert_ptr_null (zr_filter_pass (f, s_msg (3, 1), 0, &dup));
    zr_filter_stats_t st;
    zr_filter_stats (f, &st);
    ck_assert_uint_eq (st.delayed, 100);
    zr_filter_destroy (&f);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("filter");
    TCase *tc = tcase_create ("filter_pass");
    tcase_add_test (tc, filter_pass_healthy_link_is_identity);
    tcase_add_test (tc, filter_pass_cut_drops_one_peer);
    tcase_add_test (tc, filter_pass_drop_probability);
    tcase_add_test (tc, filter_pass_duplicates);
    suite_add_tcase (s, tc);
    tc = tcase_create ("filter_due");
    tcase_add_test (tc, filter_due_releases_after_delay);
    tcase_add_test (tc, filter_due_jitter_reorders_loses_nothing);
    suite_add_tcase (s, tc);
    tc = tcase_create ("filter_set");
    tcase_add_test (tc, filter_set_rejects_bad_fault);
    tcase_add_test (tc, filter_destroy_frees_held);
    suite_add_tcase (s, tc);
    return check_run (s);
}
