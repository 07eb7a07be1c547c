/*  =========================================================================
    test_tokens - unit tests of actors/tokens: the submissions a node
    appended, until their outcome is known

    Each test builds the entries a committed run or a snapshot would
    carry and checks which tokens the record attaches to entries, which
    it answers (ZR_ELOST, ZR_EUNKNOWN, applied) and which it keeps. The
    design notes of tokens.h are cited by number: (1) runs in recorded
    order, terms never decrease, (2) nothing below a committed run,
    (3) one token per committed index.
    =========================================================================
*/
#include "../../actors/actors.h"
#include <check.h>
#include "../lib/check_run.h"

/* Fills entries [0..n) with indexes first.. of term term, commands. */
static void
s_run (zr_entry_t *entries, zr_index_t first, zr_term_t term, uint32_t n)
{
    memset (entries, 0, n * sizeof *entries);
    for (uint32_t i = 0; i < n; i++) {
        entries [i].index = first + i;
        entries [i].term = term;
        entries [i].type = ZR_ENTRY_COMMAND;
    }
}

/* Finds the result for token in results; fails without it. */
static const zr_result_t *
s_result (const zr_results_t *results, uint64_t token)
{
    for (uint32_t i = 0; i < results->n; i++)
        if (results->items [i].token == token)
            return &results->items [i];
    ck_abort_msg ("no result for token %llu", (unsigned long long) token);
    return NULL;
}

/* Tokens recorded at 5..7 in term 2: a committed run 5..7 of term 2
   attaches all three, in index order, and answers none; a BUS entry
   (the middle one) takes its token as a command does. */
START_TEST (tokens_commit_attaches_matching_terms)
{
    zr_tokens_t *tokens = zr_tokens_new ();
    uint64_t mine [3] = {50, 60, 70};
    zr_tokens_add (tokens, 5, 2, mine, 3);
    ck_assert_uint_eq (zr_tokens_size (tokens), 3);
    zr_entry_t run [3];
    s_run (run, 5, 2, 3);
    run [1].type = ZR_ENTRY_BUS;
    zr_token_at_t *attached = NULL;
    uint32_t n = 0;
    zr_results_t lost;
    zr_results_init (&lost);
    zr_tokens_commit (tokens, run, 3, &attached, &n, &lost);
    ck_assert_uint_eq (n, 3);
    ck_assert_uint_eq (lost.n, 0);
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert_uint_eq (attached [i].index, 5 + i);
        ck_assert_uint_eq (attached [i].token, mine [i]);
    }
    ck_assert_uint_eq (zr_tokens_size (tokens), 0);
    free (attached);
    zr_results_clear (&lost);
    zr_tokens_destroy (&tokens);
    ck_assert_ptr_null (tokens);
}
END_TEST

/* A committed run that covers part of a run attaches that part and keeps
   the rest; no-ops of other indexes leave nothing attached. */
START_TEST (tokens_commit_keeps_what_is_beyond)
{
    zr_tokens_t *tokens = zr_tokens_new ();
    uint64_t mine [4] = {1, 2, 3, 4};
    zr_tokens_add (tokens, 10, 3, mine, 4);
    zr_entry_t run [3];
    s_run (run, 9, 3, 3);               /* 9..11: two of ours */
    run [0].type = ZR_ENTRY_NOOP;
    zr_token_at_t *attached = NULL;
    uint32_t n = 0;
    zr_results_t lost;
    zr_results_init (&lost);
    zr_tokens_commit (tokens, run, 3, &attached, &n, &lost);
    ck_assert_uint_eq (n, 2);
    ck_assert_uint_eq (attached [1].index, 11);
    ck_assert_uint_eq (lost.n, 0);
    ck_assert_uint_eq (zr_tokens_size (tokens), 2);
    free (attached);
    zr_results_clear (&lost);
    zr_tokens_destroy (&tokens);
}
END_TEST

/* Figure 8: another leader's entries (term 4) were committed where ours
   (term 2) were: ours are lost, with their index and term; one of ours
   beyond the run is lost too, since a later term is committed below it
   (terms never decrease along a log). */
START_TEST (tokens_commit_loses_overwritten_and_beyond)
{
    zr_tokens_t *tokens = zr_tokens_new ();
    uint64_t mine [3] = {7, 8, 9};
    zr_tokens_add (tokens, 5, 2, mine, 3);
    zr_entry_t run [2];
    s_run (run, 5, 4, 2);
    zr_token_at_t *attached = NULL;
    uint32_t n = 0;
    zr_results_t lost;
    zr_results_init (&lost);
    zr_tokens_commit (tokens, run, 2, &attached, &n, &lost);
    ck_assert_ptr_null (attached);
    ck_assert_uint_eq (n, 0);
    ck_assert_uint_eq (lost.n, 3);
    for (uint64_t token = 7; token <= 9; token++) {
        const zr_result_t *r = s_result (&lost, token);
        ck_assert_int_eq (r->status, ZR_ELOST);
        ck_assert_uint_eq (r->index, token - 2);
        ck_assert_uint_eq (r->term, 2);
        ck_assert_ptr_null (r->data);
    }
    ck_assert_uint_eq (zr_tokens_size (tokens), 0);
    zr_results_clear (&lost);
    zr_tokens_destroy (&tokens);
}
END_TEST

/* A committed run of the same term below our tokens decides nothing
   about them: they may still commit. */
START_TEST (tokens_commit_same_term_below_keeps)
{
    zr_tokens_t *tokens = zr_tokens_new ();
    uint64_t mine [1] = {1};
    zr_tokens_add (tokens, 20, 3, mine, 1);
    zr_entry_t run [5];
    s_run (run, 10, 3, 5);
    zr_token_at_t *attached = NULL;
    uint32_t n = 0;
    zr_results_t lost;
    zr_results_init (&lost);
    zr_tokens_commit (tokens, run, 5, &attached, &n, &lost);
    ck_assert_uint_eq (n, 0);
    ck_assert_uint_eq (lost.n, 0);
    ck_assert_uint_eq (zr_tokens_size (tokens), 1);
    zr_results_clear (&lost);
    zr_tokens_destroy (&tokens);
}
END_TEST

/* Invariant (1): a deposed leader (term 2, tokens at 5..6) leads again
   in term 5 and appends at 4..6 over its own overwritten entries; one
   committed run 4..6 of term 5 attaches the new tokens and loses the
   old, each index answered once (3). */
START_TEST (tokens_commit_same_index_two_terms)
{
    zr_tokens_t *tokens = zr_tokens_new ();
    uint64_t old [2] = {1, 2}, fresh [3] = {3, 4, 5};
    zr_tokens_add (tokens, 5, 2, old, 2);
    zr_tokens_add (tokens, 4, 5, fresh, 3);
    zr_entry_t run [3];
    s_run (run, 4, 5, 3);
    zr_token_at_t *attached = NULL;
    uint32_t n = 0;
    zr_results_t lost;
    zr_results_init (&lost);
    zr_tokens_commit (tokens, run, 3, &attached, &n, &lost);
    ck_assert_uint_eq (n, 3);
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert_uint_eq (attached [i].index, 4 + i);
        ck_assert_uint_eq (attached [i].token, fresh [i]);
    }
    ck_assert_uint_eq (lost.n, 2);
    ck_assert_int_eq (s_result (&lost, 1)->status, ZR_ELOST);
    ck_assert_int_eq (s_result (&lost, 2)->status, ZR_ELOST);
    ck_assert_uint_eq (zr_tokens_size (tokens), 0);
    free (attached);
    zr_results_clear (&lost);
    zr_tokens_destroy (&tokens);
}
END_TEST

/* Invariant (1) asserted: a run of an earlier term than one recorded is
   a programming error. */
START_TEST (tokens_add_rejects_an_earlier_term)
{
    zr_tokens_t *tokens = zr_tokens_new ();
    uint64_t token = 1;
    zr_tokens_add (tokens, 5, 3, &token, 1);
    zr_tokens_add (tokens, 6, 2, &token, 1);
}
END_TEST

/* A snapshot from a leader covers our tokens: those of the snapshot's
   last term are applied (status 0), the others unknown; a token of an
   earlier term beyond it is lost; one of its term beyond it stays. */
START_TEST (tokens_covered_decides_by_term)
{
    zr_tokens_t *tokens = zr_tokens_new ();
    uint64_t old [2] = {1, 2}, same [3] = {3, 4, 5};
    zr_tokens_add (tokens, 10, 2, old, 2);      /* 10, 11 */
    zr_tokens_add (tokens, 12, 6, same, 3);     /* 12, 13, 14 */
    zr_results_t out;
    zr_results_init (&out);
    zr_tokens_covered (tokens, 13, 6, &out);
    ck_assert_uint_eq (out.n, 4);
    ck_assert_int_eq (s_result (&out, 1)->status, ZR_EUNKNOWN);
    ck_assert_int_eq (s_result (&out, 2)->status, ZR_EUNKNOWN);
    ck_assert_int_eq (s_result (&out, 3)->status, 0);
    ck_assert_int_eq (s_result (&out, 4)->status, 0);
    ck_assert_uint_eq (s_result (&out, 4)->index, 13);
    ck_assert_uint_eq (zr_tokens_size (tokens), 1);
    zr_results_clear (&out);
    zr_tokens_covered (tokens, 20, 7, &out);
    ck_assert_uint_eq (out.n, 1);
    ck_assert_int_eq (s_result (&out, 5)->status, ZR_EUNKNOWN);
    zr_results_clear (&out);
    uint64_t later = 9;
    zr_tokens_add (tokens, 30, 7, &later, 1);
    zr_tokens_covered (tokens, 25, 6, &out);    /* an earlier term below */
    ck_assert_uint_eq (out.n, 0);
    zr_results_clear (&out);
    zr_tokens_destroy (&tokens);
}
END_TEST

/* The node stops: every token left is answered with the status given. */
START_TEST (tokens_drain_answers_all)
{
    zr_tokens_t *tokens = zr_tokens_new ();
    uint64_t mine [3] = {1, 2, 3};
    zr_tokens_add (tokens, 5, 2, mine, 2);
    zr_tokens_add (tokens, 9, 3, mine + 2, 1);
    zr_results_t out;
    zr_results_init (&out);
    zr_tokens_drain (tokens, ZR_ESHUTDOWN, 0, &out);
    ck_assert_uint_eq (out.n, 3);
    for (uint64_t token = 1; token <= 3; token++)
        ck_assert_int_eq (s_result (&out, token)->status, ZR_ESHUTDOWN);
    ck_assert_uint_eq (s_result (&out, 3)->index, 9);
    ck_assert_uint_eq (zr_tokens_size (tokens), 0);
    zr_results_clear (&out);
    zr_tokens_destroy (&tokens);
}
END_TEST

/* zr_results_t: results keep their data until sent or cleared; clearing
   frees them (the ASan build checks it). */
START_TEST (results_clear_frees_data)
{
    zr_results_t results;
    zr_results_init (&results);
    for (uint64_t token = 1; token <= 100; token++)
        zr_results_add (&results, token, 0, 0, token, 1, malloc (8), 8);
    ck_assert_uint_eq (results.n, 100);
    ck_assert_uint_ge (results.capacity, 100);
    ck_assert_uint_eq (s_result (&results, 77)->index, 77);
    zr_results_clear (&results);
    ck_assert_uint_eq (results.n, 0);
    ck_assert_ptr_null (results.items);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("tokens");
    TCase *tc = tcase_create ("zr_tokens_commit");
    tcase_add_test (tc, tokens_commit_attaches_matching_terms);
    tcase_add_test (tc, tokens_commit_keeps_what_is_beyond);
    tcase_add_test (tc, tokens_commit_loses_overwritten_and_beyond);
    tcase_add_test (tc, tokens_commit_same_term_below_keeps);
    tcase_add_test (tc, tokens_commit_same_index_two_terms);
    tcase_add_test_raise_signal (tc, tokens_add_rejects_an_earlier_term, SIGABRT);
    suite_add_tcase (s, tc);
    tc = tcase_create ("zr_tokens_covered");
    tcase_add_test (tc, tokens_covered_decides_by_term);
    tcase_add_test (tc, tokens_drain_answers_all);
    tcase_add_test (tc, results_clear_frees_data);
    suite_add_tcase (s, tc);
    return check_run (s);
}
