/*  =========================================================================
    test_node_journal - unit tests of bin/zraft-node/journal: the line
    shapes (text and json), the level filter, the node's term and role on
    every line, escaping and the cut of an over-long message

    Lines go to a pipe the test reads back (one write per line, so each
    read of a short line returns it whole).
    =========================================================================
*/
#include <check.h>
#include <string.h>
#include <unistd.h>

#include "../lib/check_run.h"
#include "../../bin/zraft-node/journal.h"
#include "../../bin/zraft-node/options.h"

static int s_pipe [2];

static void
s_setup (void)
{
    ck_assert_int_eq (pipe (s_pipe), 0);
}

static void
s_teardown (void)
{
    close (s_pipe [0]);
    close (s_pipe [1]);
}

/* Reads what the journal wrote since the last call (at most size - 1
   bytes) into buf; returns its length (0 if nothing was written). */
static size_t
s_read (char *buf, size_t size)
{
    close (s_pipe [1]);
    ssize_t total = 0, n;
    while ((n = read (s_pipe [0], buf + total, size - 1 - (size_t) total)) > 0)
        total += n;
    buf [total] = 0;
    close (s_pipe [0]);
    ck_assert_int_eq (pipe (s_pipe), 0);
    return (size_t) total;
}

START_TEST (text_line_carries_node_term_role)
{
    /* One event, one line: time, level, node, term, role, message. */
    zr_journal_setup ("n2", ZR_OPTIONS_LOG_NOTICE, false, s_pipe [1]);
    zr_journal_set_state (7, ZR_JOURNAL_LEADER);
    zr_journal_log (ZR_OPTIONS_LOG_NOTICE, "became %s", "leader");
    char buf [4096];
    s_read (buf, sizeof buf);
    ck_assert_msg (strstr (buf, " notice n2 term=7 role=leader: became leader\n"),
                   "%s", buf);
    ck_assert_int_eq (buf [4], '-');    /* 2026-... */
    ck_assert_int_eq (buf [10], 'T');
    ck_assert_ptr_eq (strchr (buf, '\n'), buf + strlen (buf) - 1);
}
END_TEST

START_TEST (json_line_is_one_object)
{
    zr_journal_setup ("n1", ZR_OPTIONS_LOG_DEBUG, true, s_pipe [1]);
    zr_journal_set_state (3, ZR_JOURNAL_FOLLOWER);
    zr_journal_line (NULL, ZR_OPTIONS_LOG_INFO, "a \"quoted\" \\ tab\there \x81");
    char buf [4096];
    s_read (buf, sizeof buf);
    ck_assert_msg (!strncmp (buf, "{\"time\":\"", 9), "%s", buf);
    ck_assert_msg (strstr (buf, "\"level\":\"info\",\"node\":\"n1\",\"term\":3,"
                           "\"role\":\"follower\",\"msg\":\"a \\\"quoted\\\" "
                           "\\\\ tab\\u0009here \\u0081\"}\n"), "%s", buf);
}
END_TEST

START_TEST (level_filter_drops_lower)
{
    /* At warning, notice and below are dropped, error and warning kept;
       the library's out-of-range levels are clamped. */
    zr_journal_setup ("n1", ZR_OPTIONS_LOG_WARNING, false, s_pipe [1]);
    ck_assert (!zr_journal_enabled (ZR_OPTIONS_LOG_NOTICE));
    zr_journal_log (ZR_OPTIONS_LOG_NOTICE, "dropped");
    zr_journal_line (NULL, ZR_OPTIONS_LOG_DEBUG, "dropped too");
    zr_journal_line (NULL, 99, "clamped to debug, dropped");
    zr_journal_log (ZR_OPTIONS_LOG_WARNING, "kept");
    zr_journal_line (NULL, -5, "clamped to error");
    char buf [4096];
    s_read (buf, sizeof buf);
    ck_assert_ptr_null (strstr (buf, "dropped"));
    ck_assert_ptr_nonnull (strstr (buf, "warning n1 term=0 role=starting: kept"));
    ck_assert_ptr_nonnull (strstr (buf, "error n1 term=0 role=starting: clamped"));
}
END_TEST

START_TEST (long_message_is_cut)
{
    /* A message over the line's bound is cut with "...", the line still
       ends as it should, in both formats. */
    char big [8192];
    memset (big, 'x', sizeof big - 1);
    big [sizeof big - 1] = 0;
    for (int json = 0; json <= 1; json++) {
        zr_journal_setup ("n1", ZR_OPTIONS_LOG_NOTICE, json, s_pipe [1]);
        zr_journal_line (NULL, ZR_OPTIONS_LOG_ERROR, big);
        char buf [8192];
        size_t n = s_read (buf, sizeof buf);
        ck_assert_uint_le (n, ZR_JOURNAL_LINE_MAX);
        ck_assert_str_eq (buf + n - (json ? 6 : 4), json ? "...\"}\n" : "...\n");
        zr_journal_line (NULL, ZR_OPTIONS_LOG_ERROR, "two\nlines");
        n = s_read (buf, sizeof buf);
        ck_assert_ptr_eq (strchr (buf, '\n'), buf + n - 1);
    }
}
END_TEST

START_TEST (malformed_lines_are_rate_limited)
{
    /* The first malformed input is logged with a hex sample; the next
       ones within ZR_JOURNAL_MALFORMED_MS are only counted; the first
       after it says how many were not logged. */
    zr_journal_setup ("n1", ZR_OPTIONS_LOG_NOTICE, false, s_pipe [1]);
    zr_journal_limit_t limit = {0};
    static const uint8_t frame [] = {0x93, 0x02, 0xc1};
    zr_journal_malformed (&limit, 5000, "bus", "message", frame,
                          sizeof frame, "truncated frame");
    zr_journal_malformed (&limit, 5999, "bus", "message", NULL, 0, "x");
    zr_journal_malformed (&limit, 5999, "bus", "message", NULL, 0, "x");
    zr_journal_malformed (&limit, 6000, "client", "request", NULL, 0,
                          "not one frame");
    char buf [4096];
    s_read (buf, sizeof buf);
    ck_assert_msg (strstr (buf, "bus: malformed message (truncated frame): 3"
                           " bytes, starting 9302c1; 1 malformed so far, 0 not"
                           " logged\n"), "%s", buf);
    ck_assert_msg (strstr (buf, "client: malformed request (not one frame): 0"
                           " bytes, starting ; 4 malformed so far, 2 not"
                           " logged\n"), "%s", buf);
    ck_assert_uint_eq (limit.count, 4);
    ck_assert_uint_eq (limit.quiet, 0);
    int lines = 0;
    for (const char *at = buf; (at = strchr (at, '\n')); at++)
        lines++;
    ck_assert_int_eq (lines, 2);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("node_journal");
    TCase *tc = tcase_create ("journal");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, text_line_carries_node_term_role);
    tcase_add_test (tc, json_line_is_one_object);
    tcase_add_test (tc, malformed_lines_are_rate_limited);
    tcase_add_test (tc, level_filter_drops_lower);
    tcase_add_test (tc, long_message_is_cut);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return check_run (s_suite ());
}
